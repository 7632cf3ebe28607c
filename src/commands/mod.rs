//! The subcommands. Each file is wiring: load, hash, observe, plan, execute, report.

mod arguments;
mod boundary;
mod build;
mod check;
mod deploy;
mod failure;
mod finish;
mod hash;
mod inputs;
mod plan;
mod push;
mod registry;
mod release;
mod rollback;
mod test;

use crate::cli::args::Command;
use crate::cli::{Cli, Session};
use crate::error::Exit;

use arguments::parse_tags;
pub use arguments::ArgumentError;
pub use failure::Failure;
use finish::{report, unless_interrupted, until_interrupted, write_json_out};

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
