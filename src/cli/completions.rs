//! Shell completions (`clap_complete`) and the man page (`clap_mangen`), both generated from the
//! same clap definition the parser uses, so they cannot drift from the real options.

use std::io::Write;

use clap::CommandFactory;

use super::args::{Cli, Shell};

/// Writes the completion script for `shell`.
pub fn completions(shell: Shell, out: &mut dyn Write) {
    let mut command = Cli::command();
    let name = command.get_name().to_string();
    match shell {
        Shell::Bash => {
            let mut script = Vec::new();
            clap_complete::generate(clap_complete::Shell::Bash, &mut command, name, &mut script);
            // clap_complete 4.6 spells the state of a hyphenated binary two ways (the loop says
            // `fleet__images__subcmd__build`, the case arms `fleet__subcmd__images__subcmd__build`),
            // so no subcommand option would ever complete (clap-rs/clap#6421). Spell the arms as
            // the loop does.
            let script =
                String::from_utf8_lossy(&script).replace("fleet__subcmd__images", "fleet__images");
            let _ = out.write_all(script.as_bytes());
        }
        // Generated into memory first: `clap_complete::generate` panics when its writer fails,
        // and `completions zsh | head -1` closes the pipe early.
        Shell::Zsh | Shell::Fish => {
            let target = match shell {
                Shell::Zsh => clap_complete::Shell::Zsh,
                _ => clap_complete::Shell::Fish,
            };
            let mut script = Vec::new();
            clap_complete::generate(target, &mut command, name, &mut script);
            let _ = out.write_all(&script);
        }
    }
}

/// Writes the man page (section 1, roff): the tool with every subcommand's options.
pub fn man(out: &mut dyn Write) -> std::io::Result<()> {
    let command = Cli::command();
    clap_mangen::Man::new(command.clone()).render(out)?;
    // One section per subcommand, so `man fleet-images` documents `build --push` too.
    for sub in command.get_subcommands() {
        if sub.get_name() == "help" {
            continue;
        }
        let name = format!("fleet-images {}", sub.get_name());
        writeln!(out, ".SH \"{}\"", name.to_uppercase())?;
        let sub = sub.clone().bin_name(name);
        let mut text = Vec::new();
        let man = clap_mangen::Man::new(sub);
        man.render_description_section(&mut text)?;
        man.render_synopsis_section(&mut text)?;
        man.render_options_section(&mut text)?;
        // Lower the sub-page's sections to subsections of this one.
        let text = String::from_utf8_lossy(&text).replace(".SH ", ".SS ");
        out.write_all(text.as_bytes())?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn script(shell: Shell) -> String {
        let mut out = Vec::new();
        completions(shell, &mut out);
        String::from_utf8(out).unwrap()
    }

    #[test]
    fn every_shell_completes_the_subcommands_and_their_options() {
        for shell in [Shell::Bash, Shell::Zsh, Shell::Fish] {
            let text = script(shell);
            for word in ["release", "no-release", "completions", "state-dir"] {
                assert!(text.contains(word), "{shell:?} lacks {word}");
            }
        }
        assert!(script(Shell::Bash).contains("-o bashdefault -o default fleet-images"));
        assert!(script(Shell::Zsh).starts_with("#compdef fleet-images"));
        assert!(script(Shell::Fish).contains("complete -c fleet-images"));
    }

    /// What bash completes for `words` (the last one being completed), through the script.
    fn bash_completes(words: &[&str]) -> Vec<String> {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("fleet-images.bash");
        std::fs::write(&path, script(Shell::Bash)).unwrap();
        let quoted: Vec<String> = words.iter().map(|w| format!("'{w}'")).collect();
        let program = format!(
            "source '{}'; COMP_WORDS=({}); COMP_CWORD={}; _fleet__images fleet-images '{}' '{}'; printf '%s\\n' \"${{COMPREPLY[@]}}\"",
            path.display(),
            quoted.join(" "),
            words.len() - 1,
            words[words.len() - 1],
            words[words.len() - 2],
        );
        let output = std::process::Command::new("bash")
            .args(["-c", &program])
            .output()
            .unwrap();
        assert!(
            output.status.success(),
            "{}",
            String::from_utf8_lossy(&output.stderr)
        );
        String::from_utf8(output.stdout)
            .unwrap()
            .lines()
            .map(str::to_string)
            .collect()
    }

    #[test]
    fn bash_completes_subcommands_their_options_and_values() {
        assert_eq!(bash_completes(&["fleet-images", "rel"]), ["release"]);
        assert_eq!(
            bash_completes(&["fleet-images", "build", "--no-r"]),
            ["--no-release"]
        );
        assert!(
            bash_completes(&["fleet-images", "completions", ""]).ends_with(&[
                "bash".to_string(),
                "zsh".into(),
                "fish".into()
            ])
        );
    }

    #[test]
    fn the_man_page_documents_every_subcommand() {
        let mut out = Vec::new();
        man(&mut out).unwrap();
        let text = String::from_utf8(out).unwrap();
        assert!(text.starts_with(".ie \\n(.g .ds Aq") || text.contains(".TH fleet-images 1"));
        for section in [
            "FLEET-IMAGES BUILD",
            "FLEET-IMAGES RELEASE",
            "FLEET-IMAGES PLAN",
        ] {
            assert!(text.contains(section), "no {section}");
        }
        assert!(text.contains("no\\-release"));
    }
}
