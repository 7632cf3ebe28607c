//! Progress reporting: library code describes what happens through [`Reporter`]; the binary picks
//! an implementation: live lines on a terminal (indicatif), prefixed plain lines in CI, or one JSON
//! object per line. The end of a run (what happened to each image, the summary table, the step
//! summary and `--json-out`) is reported by [`summary`] from the [`outcome`] records.

mod json;
pub mod outcome;
mod plain;
pub mod summary;
mod tty;

use std::sync::Arc;
use std::time::Duration;

pub use json::JsonReporter;
pub use outcome::{ImageResult, Outcome};
pub use plain::PlainReporter;
pub use tty::TtyReporter;

/// How important a note is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Level {
    /// Shown with `-v` only.
    Debug,
    /// Normal progress.
    Info,
    /// Something the user should look at; the run goes on.
    Warn,
    /// Something failed.
    Error,
}

/// One thing that happened. `subject` names what it concerns: an image (`element`), a service
/// (`fleet/element`), or empty for the run as a whole.
#[derive(Debug, Clone)]
pub enum Event<'a> {
    /// Work on a subject started (`action` is `build`, `push`, `test`, `deploy`, …).
    Started {
        /// Image or service.
        subject: &'a str,
        /// What is being done.
        action: &'a str,
    },
    /// The subject reached a new step (`Step 4/9 : RUN npm ci`, `waiting for rollout`).
    Step {
        /// Image or service.
        subject: &'a str,
        /// The step.
        text: &'a str,
    },
    /// A line of output (build log); shown with `-v` or in plain mode, always logged.
    Line {
        /// Image or service.
        subject: &'a str,
        /// The line.
        text: &'a str,
    },
    /// Work on a subject finished.
    Finished {
        /// Image or service.
        subject: &'a str,
        /// Whether it succeeded.
        ok: bool,
        /// One line: `built in 12.3s`, `failed: …`.
        summary: &'a str,
        /// How long it took.
        duration: Duration,
    },
    /// A note.
    Note {
        /// Image or service, or empty.
        subject: &'a str,
        /// How important.
        level: Level,
        /// The text.
        text: &'a str,
    },
}

/// Receives events. Implementations are cheap to call from many tasks at once.
pub trait Reporter: Send + Sync {
    /// Handles one event.
    fn event(&self, event: Event<'_>);
    /// Prints a finished block of text (the summary table) above any live lines.
    fn print(&self, text: &str);
    /// Stops live output (clears bars) before the program prints its last lines.
    fn finish(&self) {}
}

/// A shared reporter.
pub type SharedReporter = Arc<dyn Reporter>;

/// A reporter that drops everything, for tests and quiet runs.
#[derive(Debug, Default)]
pub struct NullReporter;

impl Reporter for NullReporter {
    fn event(&self, _: Event<'_>) {}
    fn print(&self, _: &str) {}
}

/// Whether a note of `level` is shown under `-v`/`-q`, and the prefix it is shown with.
pub(crate) fn note_prefix(level: Level, verbose: bool, quiet: bool) -> Option<&'static str> {
    match level {
        Level::Debug if verbose => Some(""),
        Level::Info if !quiet => Some(""),
        Level::Warn => Some("warning: "),
        Level::Error => Some("error: "),
        _ => None,
    }
}

/// How durations appear in output: `0.4s`, `12.3s`, `2m05s`.
pub fn format_duration(d: Duration) -> String {
    let secs = d.as_secs_f64();
    if secs < 60.0 {
        format!("{secs:.1}s")
    } else {
        format!("{}m{:02}s", d.as_secs() / 60, d.as_secs() % 60)
    }
}
