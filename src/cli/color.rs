//! Whether output may be coloured: `NO_COLOR` (any non-empty value) turns colour off,
//! `CLICOLOR_FORCE` (any value but `0`) turns it on even when stderr is not a terminal, else a
//! terminal gets colour. NO_COLOR wins when both are set (<https://no-color.org>,
//! <https://bixense.com/clicolors/>). The choice is applied to clap's help and errors, the live
//! progress lines and the `error:` / `warning:` prefixes.

use std::io::IsTerminal;

/// Decides from the environment (`env` looks a variable up) and whether stderr is a terminal.
pub fn enabled(env: &dyn Fn(&str) -> Option<String>, terminal: bool) -> bool {
    if env("NO_COLOR").is_some_and(|v| !v.is_empty()) {
        return false;
    }
    if env("CLICOLOR_FORCE").is_some_and(|v| !v.is_empty() && v != "0") {
        return true;
    }
    terminal && env("TERM").as_deref() != Some("dumb")
}

/// The decision for this process, from its environment and stderr.
pub fn for_process() -> bool {
    enabled(
        &|name| std::env::var(name).ok(),
        std::io::stderr().is_terminal(),
    )
}

/// Makes the progress lines follow the decision (indicatif draws through `console`).
pub fn apply(enabled: bool) {
    console::set_colors_enabled(enabled);
    console::set_colors_enabled_stderr(enabled);
}

/// `error:` in bold red when colour is on.
pub fn error_prefix(enabled: bool) -> &'static str {
    if enabled {
        "\x1b[1;31merror\x1b[0m:"
    } else {
        "error:"
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env<'a>(pairs: &'a [(&'a str, &'a str)]) -> impl Fn(&str) -> Option<String> + 'a {
        move |name| {
            pairs
                .iter()
                .find(|(k, _)| *k == name)
                .map(|(_, v)| v.to_string())
        }
    }

    /// An environment, whether stderr is a terminal, and whether colour is wanted.
    type Case<'a> = (&'a [(&'a str, &'a str)], bool, bool);

    #[test]
    fn the_conventions() {
        let cases: &[Case] = &[
            (&[], true, true),
            (&[], false, false),
            (&[("TERM", "dumb")], true, false),
            (&[("NO_COLOR", "1")], true, false),
            (&[("NO_COLOR", "")], true, true),
            (&[("CLICOLOR_FORCE", "1")], false, true),
            (&[("CLICOLOR_FORCE", "0")], false, false),
            (&[("CLICOLOR_FORCE", "1"), ("NO_COLOR", "1")], false, false),
        ];
        for (pairs, terminal, want) in cases {
            assert_eq!(
                enabled(&env(pairs), *terminal),
                *want,
                "{pairs:?} {terminal}"
            );
        }
    }
}
