//! Meeting the shell: completions and the man page from the real binary, and colour as
//! `NO_COLOR` and `CLICOLOR_FORCE` ask.

use crate::support::Fleet;

const RED_ERROR: &str = "\x1b[1;31merror\x1b[0m: cannot read manifest `nope.toml`";

fn fleet_with(env: &[(&str, &str)]) -> Fleet {
    let mut fleet = Fleet::new();
    fleet.env_remove("NO_COLOR").env_remove("CLICOLOR_FORCE");
    for (name, value) in env {
        fleet.env(name, value);
    }
    fleet
}

#[test]
fn clicolor_force_colours_errors_and_no_color_wins() {
    let forced = fleet_with(&[("CLICOLOR_FORCE", "1")]);
    let run = forced.run(&["--manifest", "nope.toml", "plan"]);
    run.expect_code(2);
    assert!(run.stderr.starts_with(RED_ERROR), "{:?}", run.stderr);
    // clap's own errors follow the same choice.
    let run = forced.run(&["bogus"]);
    run.expect_code(2);
    assert!(run.stderr.contains("\x1b["), "{:?}", run.stderr);

    for env in [
        &[("NO_COLOR", "1"), ("CLICOLOR_FORCE", "1")][..],
        &[][..], // stderr is a pipe here
    ] {
        let fleet = fleet_with(env);
        let run = fleet.run(&["--manifest", "nope.toml", "plan"]);
        run.expect_code(2);
        assert!(
            run.stderr
                .starts_with("error: cannot read manifest `nope.toml`"),
            "{env:?}: {:?}",
            run.stderr
        );
        let run = fleet.run(&["bogus"]);
        assert!(!run.stderr.contains('\x1b'), "{env:?}: {:?}", run.stderr);
    }
}

#[test]
fn completions_and_the_man_page_come_from_the_binary() {
    let fleet = Fleet::new();
    let bash = fleet.run(&["completions", "bash"]);
    assert!(bash.ok().stdout.starts_with("_fleet__images() {"));
    assert!(bash.stdout.contains("--no-release"));
    let zsh = fleet.run(&["completions", "zsh"]);
    assert!(zsh.ok().stdout.starts_with("#compdef fleet-images"));
    let fish = fleet.run(&["completions", "fish"]);
    assert!(fish.ok().stdout.contains("complete -c fleet-images"));
    let bad = fleet.run(&["completions", "tcsh"]);
    bad.expect_code(2);
    assert!(
        bad.stderr.contains("possible values: bash, zsh, fish"),
        "{}",
        bad.stderr
    );

    let man = fleet.run(&["man"]);
    assert!(man.ok().stdout.contains(".TH fleet-images 1"));
    // The page renders: `man -l` reads it back without complaint.
    let path = fleet.file("fleet-images.1");
    std::fs::write(&path, &man.stdout).unwrap();
    let rendered = std::process::Command::new("man")
        .arg("-l")
        .arg(&path)
        .env("MANWIDTH", "100")
        .env("MANPAGER", "cat")
        .env("LC_ALL", "C")
        .output()
        .expect("man is installed");
    let text = String::from_utf8_lossy(&rendered.stdout);
    assert!(
        rendered.status.success(),
        "{}",
        String::from_utf8_lossy(&rendered.stderr)
    );
    assert!(text.contains("FLEET-IMAGES RELEASE"), "{text}");
    assert!(text.contains("--no-release"), "{text}");
}
