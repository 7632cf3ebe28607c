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

/// A bug in the tool that was caught instead of crashing it: a task that panicked. Exit 1, never
/// the 101 of an uncaught panic.
#[derive(Debug, thiserror::Error)]
#[error("internal error: {what} stopped unexpectedly: {message}")]
pub struct Internal {
    /// What was running (`hashing the contexts`).
    pub what: &'static str,
    /// The panic's message, when it had one.
    pub message: String,
}

impl Internal {
    /// The error for a task that ended without finishing (it panicked or was cancelled).
    pub fn from_join(what: &'static str, error: tokio::task::JoinError) -> Self {
        let message = if error.is_panic() {
            panic_message(error.into_panic().as_ref())
        } else {
            "cancelled".to_string()
        };
        Self { what, message }
    }
}

/// The text of a panic's payload (`panic!("…")` gives a `&str` or a `String`).
pub fn panic_message(payload: &(dyn std::any::Any + Send)) -> String {
    if let Some(text) = payload.downcast_ref::<&str>() {
        text.to_string()
    } else if let Some(text) = payload.downcast_ref::<String>() {
        text.clone()
    } else {
        "a panic without a message".to_string()
    }
}

impl Diagnostic for Internal {
    fn exit(&self) -> Exit {
        Exit::Failed
    }

    fn hint(&self) -> Option<String> {
        Some("this is a bug in fleet-images; please report it with the command that was run".into())
    }
}

/// `println!` that does not panic when stdout is closed (`plan --json | head -c 10`): a CLI in a
/// pipeline whose reader left goes on quietly. Use it (and [`errln!`]) instead of the std macros.
#[macro_export]
macro_rules! outln {
    ($($arg:tt)*) => {{
        use std::io::Write as _;
        let _ = writeln!(std::io::stdout().lock(), $($arg)*);
    }};
}

/// `print!` that does not panic when stdout is closed; see [`outln!`].
#[macro_export]
macro_rules! out {
    ($($arg:tt)*) => {{
        use std::io::Write as _;
        let _ = write!(std::io::stdout().lock(), $($arg)*);
    }};
}

/// `eprintln!` that does not panic when stderr is closed (`build 2>&1 | head -1`).
#[macro_export]
macro_rules! errln {
    ($($arg:tt)*) => {{
        use std::io::Write as _;
        let _ = writeln!(std::io::stderr().lock(), $($arg)*);
    }};
}

/// `eprint!` that does not panic when stderr is closed; see [`errln!`].
#[macro_export]
macro_rules! errout {
    ($($arg:tt)*) => {{
        use std::io::Write as _;
        let _ = write!(std::io::stderr().lock(), $($arg)*);
    }};
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
