//! How a command's run ends: reported (the summary, the step summary, `--json-out`), or
//! interrupted by Ctrl+C or SIGTERM (still writing `--json-out`).

use std::future::Future;
use std::path::Path;

use super::failure::Failure;
use crate::cli::Session;
use crate::error::Exit;
use crate::execute::moving_tags;
use crate::report::summary::{self, Console, Summary};

/// Runs a command's work until it ends or the run is interrupted (Ctrl+C, or SIGTERM as CI
/// runners send). An interruption drops the work, except while a phase that stops by itself is
/// under way (moving tags put back, a deploy's wait): that phase ends the work with exit 130.
/// Either way `--json-out` is written, so that an older file never stays in place looking
/// current.
pub(super) async fn until_interrupted(
    session: &Session,
    json_out: Option<std::path::PathBuf>,
    work: impl Future<Output = Result<Exit, Failure>>,
) -> Result<Exit, Failure> {
    let keep_going = || moving_tags::being_written() || crate::cli::signal::settling();
    match unless_interrupted(work, keep_going).await {
        Some(done) => done,
        None => Ok(summary::interrupted(
            session.reporter.as_ref(),
            "interrupted: the run was cancelled; nothing was left half-changed",
            json_out.as_deref(),
        )),
    }
}

/// `work`'s output, or `None` when the run was interrupted while `keep_going` said the work may
/// be dropped.
pub(super) async fn unless_interrupted<T>(
    work: impl Future<Output = T>,
    keep_going: impl Fn() -> bool,
) -> Option<T> {
    tokio::pin!(work);
    loop {
        tokio::select! {
            done = &mut work => return Some(done),
            _ = crate::cli::signal::interrupted() => {
                if !keep_going() {
                    return None;
                }
            }
        }
    }
}

/// Prints a finished run's summary, writes `--json-out` and the step summary; returns the exit
/// code (see [`summary::finish`]).
pub(super) fn report(session: &Session, summary: Summary<'_>, exit: Exit) -> Exit {
    let console = Console {
        reporter: session.reporter.as_ref(),
        quiet: session.quiet,
        json_progress: session.json_progress,
    };
    summary::finish(console, summary, exit)
}

/// Writes a `--json-out` that is not an image summary (`deploy`, `rollback`); exit 2 when it
/// cannot be written.
pub(super) fn write_json_out(path: &Path, value: &serde_json::Value, exit: Exit) -> Exit {
    match summary::write_json(path, value) {
        Ok(()) => exit,
        Err(error) => {
            crate::errln!("error: cannot write {}: {error}", path.display());
            exit.worst(Exit::BadInput)
        }
    }
}
