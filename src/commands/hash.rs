//! `hash`: one `name key` line per image.

use super::Failure;
use crate::cli::args::SelectArgs;
use crate::cli::Session;
use crate::error::Exit;
use crate::observe::{observe, ObserveOptions};

/// Runs `hash`. An image whose key cannot be computed prints `name -` and makes the exit code 2.
pub async fn run(session: &Session, args: SelectArgs) -> Result<Exit, Failure> {
    let observation = observe(
        session,
        &args.images,
        ObserveOptions {
            engine_required: false,
            pull: false,
            save_records: false,
        },
    )
    .await?;
    let mut exit = Exit::Success;
    for prepared in &observation.images {
        match (&prepared.key, &prepared.inputs) {
            (Some(key), _) => crate::outln!("{} {key}", prepared.spec.name),
            (None, Err(error)) => {
                crate::outln!("{} -", prepared.spec.name);
                crate::errln!("{}", error.reason());
                exit = exit.worst(Exit::BadInput);
            }
            (None, Ok(_)) => crate::outln!("{} -", prepared.spec.name),
        }
    }
    if observation.engine.is_none() && observation.images.iter().any(|p| !p.bases.is_empty()) {
        crate::errln!("note: the engine is not reachable, so base images are unresolved and keys differ from those `build` uses");
    }
    Ok(exit)
}
