//! The `fleet-images` binary: parse arguments, run, map the result to an exit code.

use std::process::ExitCode;

use clap::{CommandFactory, FromArgMatches};
use fleet_images::cli::{color, Cli};
use fleet_images::error::{render, Exit};

fn main() -> ExitCode {
    let colored = color::for_process();
    color::apply(colored);
    let choice = if colored {
        clap::ColorChoice::Always
    } else {
        clap::ColorChoice::Never
    };
    let parsed = Cli::command()
        .color(choice)
        .try_get_matches()
        .and_then(|matches| Cli::from_arg_matches(&matches));
    let cli = match parsed {
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
            fleet_images::errln!("error: cannot start the async runtime: {error}");
            return ExitCode::from(Exit::Failed.code());
        }
    };
    // A panic is a bug; the causes are fixed where they were found (issue 14), and this is the
    // last resort: the panic is reported as an internal error with exit 1, never 101.
    std::panic::set_hook(Box::new(|info| {
        let message = fleet_images::error::panic_message(info.payload());
        let place = info
            .location()
            .map(|l| format!(" at {}:{}", l.file(), l.line()))
            .unwrap_or_default();
        fleet_images::errln!(
            "error: internal error{place}: {message}\n  hint: this is a bug in fleet-images; please report it with the command that was run"
        );
    }));
    let run = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        runtime.block_on(fleet_images::commands::run(cli))
    }));
    // Containers and networks whose guards were dropped (Ctrl+C, a panic) are being removed on
    // the cleaner thread: wait for it, or the process would exit with them in place.
    fleet_images::docker::containers::finish_removals();
    let Ok(result) = run else {
        return ExitCode::from(Exit::Failed.code());
    };
    let exit = match result {
        Ok(exit) => exit,
        Err(failure) => {
            let text = render(failure.as_ref());
            let text = match text.strip_prefix("error:") {
                Some(rest) => format!("{}{rest}", color::error_prefix(colored)),
                None => text,
            };
            fleet_images::errln!("{text}");
            failure.exit()
        }
    };
    ExitCode::from(exit.code())
}
