//! The subcommands. Each file is wiring: load, hash, observe, plan, execute, report.

mod build;
mod check;
mod deploy;
mod hash;
mod inputs;
mod plan;
mod prepare;
mod push;
mod release;
mod rollback;
mod test;

use crate::cli::args::Command;
use crate::cli::{Cli, Session};
use crate::error::{Diagnostic, Exit};

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
    let result = match cli.command {
        Command::Plan(args) => plan::run(&session, args).await,
        Command::Inputs(args) => inputs::run(&session, args).await,
        Command::Hash(args) => hash::run(&session, args).await,
        Command::Build(args) => build::run(&session, args).await,
        Command::Push(args) => push::run(&session, args).await,
        Command::Deploy(args) => deploy::run(&session, args).await,
        Command::Rollback(args) => rollback::run(&session, args).await,
        Command::Check(args) => check::run(&session, args).await,
        Command::Test(args) => test::run(&session, args).await,
        Command::Release(args) => release::run(&session, args).await,
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
