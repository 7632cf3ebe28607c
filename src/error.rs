//! The tool's exit codes and the shape every user-facing error shares: a message, where it
//! happened, and a hint on how to fix it.

use std::fmt;

/// The documented exit codes (README, "Exit codes").
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Exit {
    /// 0: everything asked for was done.
    Success,
    /// 1: the work failed: a build, push, test, check or deploy.
    Failed,
    /// 2: bad input: manifest, arguments, files.
    BadInput,
    /// 3: a service could not be reached or refused: engine, registry, AWS.
    Unavailable,
    /// 4: a deploy did not complete.
    DeployIncomplete,
    /// 130: interrupted (Ctrl+C).
    Interrupted,
}

impl Exit {
    /// The process exit status.
    pub fn code(self) -> u8 {
        match self {
            Exit::Success => 0,
            Exit::Failed => 1,
            Exit::BadInput => 2,
            Exit::Unavailable => 3,
            Exit::DeployIncomplete => 4,
            Exit::Interrupted => 130,
        }
    }

    /// The more severe of two outcomes, so a run can keep going and still exit with the worst.
    pub fn worst(self, other: Exit) -> Exit {
        fn rank(e: Exit) -> u8 {
            match e {
                Exit::Success => 0,
                Exit::Failed => 1,
                Exit::DeployIncomplete => 2,
                Exit::Unavailable => 3,
                Exit::BadInput => 4,
                Exit::Interrupted => 5,
            }
        }
        if rank(other) > rank(self) {
            other
        } else {
            self
        }
    }
}

/// Where in the user's files an error was found: `file:line (key)`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Location {
    /// The file, as the user named it (relative paths stay relative).
    pub file: String,
    /// 1-based line, when known.
    pub line: Option<usize>,
    /// The dotted key path (`images.element.context`) or other detail, when known.
    pub key: Option<String>,
}

impl fmt::Display for Location {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.file)?;
        if let Some(line) = self.line {
            write!(f, ":{line}")?;
        }
        if let Some(key) = &self.key {
            write!(f, " ({key})")?;
        }
        Ok(())
    }
}

/// What every error a user can see offers besides its message.
pub trait Diagnostic: std::error::Error {
    /// The exit code this error leads to.
    fn exit(&self) -> Exit;
    /// Where the problem is, when it is in a file the user wrote.
    fn location(&self) -> Option<Location> {
        None
    }
    /// How to fix it.
    fn hint(&self) -> Option<String> {
        None
    }
}

/// Renders an error as the CLI prints it:
///
/// ```text
/// error: build context `../open-claw-fleet` of image `fleet-manager` does not exist
///   --> images/fleet.toml:31 (images.fleet-manager.context)
///   hint: set it with `--var source=PATH` to a checkout of the fleet's sources
/// ```
pub fn render(error: &dyn Diagnostic) -> String {
    let mut out = format!("error: {error}");
    let mut source = error.source();
    while let Some(cause) = source {
        let text = cause.to_string();
        if !out.contains(&text) {
            out.push_str(&format!(": {text}"));
        }
        source = cause.source();
    }
    if let Some(location) = error.location() {
        out.push_str(&format!("\n  --> {location}"));
    }
    if let Some(hint) = error.hint() {
        out.push_str(&format!("\n  hint: {hint}"));
    }
    out
}

/// The closest candidate to `word` by edit distance, when it is close enough to be a likely typo.
pub fn did_you_mean<'a>(
    word: &str,
    candidates: impl IntoIterator<Item = &'a str>,
) -> Option<&'a str> {
    candidates
        .into_iter()
        .map(|c| (edit_distance(word, c), c))
        .filter(|(d, c)| *d <= 2.max(c.len() / 3))
        .min_by_key(|(d, _)| *d)
        .map(|(_, c)| c)
}

fn edit_distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut row: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut prev = row[0];
        row[0] = i + 1;
        for (j, cb) in b.iter().enumerate() {
            let cur = row[j + 1];
            row[j + 1] = if ca == *cb {
                prev
            } else {
                1 + prev.min(row[j]).min(cur)
            };
            prev = cur;
        }
    }
    row[b.len()]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn suggests_close_words_only() {
        assert_eq!(
            did_you_mean("contxt", ["context", "dockerfile"]),
            Some("context")
        );
        assert_eq!(did_you_mean("zzzzzz", ["context", "dockerfile"]), None);
    }

    #[test]
    fn worst_exit_wins() {
        assert_eq!(Exit::Success.worst(Exit::Failed), Exit::Failed);
        assert_eq!(Exit::BadInput.worst(Exit::Failed), Exit::BadInput);
    }
}
