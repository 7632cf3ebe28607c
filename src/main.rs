//! The `fleet-images` binary: parse arguments, run, map the result to an exit code.

use std::process::ExitCode;

use clap::Parser;
use fleet_images::cli::Cli;
use fleet_images::error::{render, Exit};

fn main() -> ExitCode {
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(error) => {
            let code = if error.use_stderr() {
                Exit::BadInput.code()
            } else {
                0
            };
            let _ = error.print();
            return ExitCode::from(code);
        }
    };
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(error) => {
            eprintln!("error: cannot start the async runtime: {error}");
            return ExitCode::from(Exit::Failed.code());
        }
    };
    let exit = match runtime.block_on(fleet_images::commands::run(cli)) {
        Ok(exit) => exit,
        Err(failure) => {
            eprintln!("{}", render(failure.as_ref()));
            failure.exit()
        }
    };
    ExitCode::from(exit.code())
}
