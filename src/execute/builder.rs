//! Choosing the builder for a run and checking, before anything builds, that it can build every
//! Dockerfile to build.

use super::planned::Planned;
use crate::docker::{Builder, EngineError, ImageEngine};
use crate::plan::Status;
use crate::report::{Event, Level, SharedReporter};

/// The builder for this run: `asked` (`--builder`, else `[defaults] builder`), else BuildKit where
/// the engine has it. The engine is asked only when something is to be built; then syntax the
/// builder cannot serve is refused before anything builds, naming the line.
pub async fn choose<E: ImageEngine>(
    engine: &E,
    reporter: &SharedReporter,
    asked: Option<Builder>,
    planned: &[Planned],
) -> Result<Builder, EngineError> {
    let to_build = || {
        planned
            .iter()
            .filter(|p| p.decision.status == Status::Build)
    };
    if to_build().next().is_none() {
        return Ok(asked.unwrap_or_default());
    }
    let builder = engine.choose_builder(asked).await?;
    for image in to_build() {
        if let Some(inputs) = &image.inputs {
            engine.check_dockerfile(inputs, builder).await?;
        }
    }
    if asked.is_none() && builder == Builder::Classic {
        reporter.event(Event::Note {
            subject: "",
            level: Level::Info,
            text: "the engine has no BuildKit: building with the classic builder",
        });
    }
    Ok(builder)
}
