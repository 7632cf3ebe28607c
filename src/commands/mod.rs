//! The subcommands. Each file is wiring: load, hash, observe, plan, execute, report.

mod boundary;
mod build;
mod check;
mod deploy;
mod hash;
mod inputs;
mod plan;
mod prepare;
mod push;
mod registry;
mod release;
mod rollback;
mod test;

use std::future::Future;
use std::path::Path;

use crate::cli::args::Command;
use crate::cli::{Cli, Session};
use crate::error::{Diagnostic, Exit};
use crate::execute::moving_tags;
use crate::names::Tag;
use crate::report::summary::{self, Console, Summary};

/// A command's failure: any subsystem's error, rendered by `main`.
pub type Failure = Box<dyn Diagnostic + Send + Sync>;

impl<E: Diagnostic + Send + Sync + 'static> From<E> for Box<dyn Diagnostic + Send + Sync> {
    fn from(error: E) -> Self {
        Box::new(error)
    }
}

/// Runs the command the command line names. `Ok` carries the exit code of a run that went to its
/// end (possibly with failed images); `Err` a failure that stopped it.
pub async fn run(cli: Cli) -> Result<Exit, Failure> {
    let session = Session::from_cli(&cli)?;
    check_outputs(&cli)?;
    let result = match cli.command {
        Command::Plan(args) => plan::run(&session, args).await,
        Command::Inputs(args) => inputs::run(&session, args).await,
        Command::Hash(args) => hash::run(&session, args).await,
        Command::Build(args) => build::run(&session, args).await,
        Command::Push(args) => {
            let json_out = args.push_options.json_out.clone();
            until_interrupted(&session, json_out, push::run(&session, args)).await
        }
        Command::Deploy(args) => {
            let json_out = args.json_out.clone();
            until_interrupted(&session, json_out, deploy::run(&session, args)).await
        }
        Command::Rollback(args) => {
            let json_out = args.json_out.clone();
            until_interrupted(&session, json_out, rollback::run(&session, args)).await
        }
        Command::Check(args) => check::run(&session, args).await,
        Command::Test(args) => test::run(&session, args).await,
        Command::Release(args) => {
            let json_out = args.push_options.json_out.clone();
            until_interrupted(&session, json_out, release::run(&session, args)).await
        }
        Command::Completions(args) => {
            crate::cli::completions::completions(args.shell, &mut std::io::stdout());
            Ok(Exit::Success)
        }
        Command::Man => match crate::cli::completions::man(&mut std::io::stdout()) {
            // `fleet-images man | head` is not a failure.
            Ok(()) => Ok(Exit::Success),
            Err(error) if error.kind() == std::io::ErrorKind::BrokenPipe => Ok(Exit::Success),
            Err(error) => Err(ArgumentError {
                message: format!("cannot write the man page: {error}"),
            }
            .into()),
        },
    };
    session.reporter.finish();
    result
}

/// Runs a command's work until it ends or the run is interrupted (Ctrl+C, or SIGTERM as CI
/// runners send). An interruption drops the work, except while a phase that stops by itself is
/// under way (moving tags put back, a deploy's wait): that phase ends the work with exit 130.
/// Either way `--json-out` is written, so that an older file never stays in place looking
/// current.
async fn until_interrupted(
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
async fn unless_interrupted<T>(
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
fn report(session: &Session, summary: Summary<'_>, exit: Exit) -> Exit {
    let console = Console {
        reporter: session.reporter.as_ref(),
        quiet: session.quiet,
        json_progress: session.json_progress,
    };
    summary::finish(console, summary, exit)
}

/// Writes a `--json-out` that is not an image summary (`deploy`, `rollback`); exit 2 when it
/// cannot be written.
fn write_json_out(path: &Path, value: &serde_json::Value, exit: Exit) -> Exit {
    match summary::write_json(path, value) {
        Ok(()) => exit,
        Err(error) => {
            crate::errln!("error: cannot write {}: {error}", path.display());
            exit.worst(Exit::BadInput)
        }
    }
}

/// Parses `--tag` values.
fn parse_tags(tags: &[String]) -> Result<Vec<Tag>, Failure> {
    let mut out = Vec::new();
    for text in tags {
        out.push(text.parse::<Tag>().map_err(|e| ArgumentError {
            message: format!("--tag {text}: {e}"),
        })?);
    }
    Ok(out)
}

/// Checks, before any work, that what the run will write can be written: `--json-out` (a file in
/// an existing, writable directory) and the state directory (writable, or creatable). A failure
/// found only after a build has run loses the build's report.
fn check_outputs(cli: &Cli) -> Result<(), ArgumentError> {
    use rustix::fs::{access, Access};
    let json_out = match &cli.command {
        Command::Build(args) => args.push_options.json_out.as_deref(),
        Command::Push(args) => args.push_options.json_out.as_deref(),
        Command::Release(args) => args.push_options.json_out.as_deref(),
        Command::Deploy(args) => args.json_out.as_deref(),
        Command::Rollback(args) => args.json_out.as_deref(),
        _ => None,
    };
    if let Some(path) = json_out {
        let dir = match path.parent() {
            Some(dir) if !dir.as_os_str().is_empty() => dir,
            _ => std::path::Path::new("."),
        };
        let why = if path.is_dir() {
            Some("it is a directory")
        } else if !dir.is_dir() {
            Some("its directory does not exist")
        } else if access(dir, Access::WRITE_OK).is_err() {
            Some("its directory is not writable")
        } else {
            None
        };
        if let Some(why) = why {
            return Err(ArgumentError {
                message: format!(
                    "--json-out {}: {why}; name a file in a writable directory",
                    path.display()
                ),
            });
        }
    }
    if !matches!(cli.command, Command::Completions(_) | Command::Man) {
        // The state directory, or the nearest directory above it that exists, must be writable.
        let state = &cli.state_dir;
        let existing = state
            .ancestors()
            .find(|p| p.as_os_str().is_empty() || p.exists());
        let existing = match existing {
            Some(p) if p.as_os_str().is_empty() => std::path::Path::new("."),
            Some(p) => p,
            None => std::path::Path::new("."),
        };
        let why = if existing == state.as_path() && !state.is_dir() {
            Some("it is not a directory")
        } else if access(existing, Access::WRITE_OK).is_err() {
            Some("it is not writable")
        } else {
            None
        };
        if let Some(why) = why {
            return Err(ArgumentError {
                message: format!(
                    "state directory {}: {why}; the content cache, input records and build logs are kept there (set it with --state-dir or FLEET_IMAGES_STATE_DIR)",
                    state.display()
                ),
            });
        }
    }
    Ok(())
}

/// A command-line value that does not parse (beyond what clap checks).
#[derive(Debug, thiserror::Error)]
#[error("{message}")]
pub struct ArgumentError {
    /// What is wrong and how to write it.
    pub message: String,
}

impl Diagnostic for ArgumentError {
    fn exit(&self) -> Exit {
        Exit::BadInput
    }
}
