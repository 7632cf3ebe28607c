//! Observation, the first step of every command that works on images: load the manifest, read
//! and hash each selected image's inputs, identify its bases through the engine, compute keys in
//! dependency order, record the inputs for `plan --explain`, and find which keys the engine
//! already has. Read-only towards the engine; it writes only the state directory (content cache,
//! input records, known images).
//!
//! The result is typed: one [`Prepared`] per image, whose error ([`ObserveError`]) keeps the exit
//! code of its cause. Hashing (disk and CPU, on rayon's threads) overlaps with the engine's
//! answers about bases (network, on tokio's).

mod base;
mod error;
mod keys;
mod local;
mod observation;
mod read;
mod records;

use std::collections::HashMap;

use tokio::task::JoinHandle;

pub use base::{BaseIdentity, Identity};
pub use error::{ObserveError, ObserveRunError, ServiceNotBuilt};
pub use observation::{Observation, Prepared};

use crate::cli::Session;
use crate::docker::{Engine, EngineError};
use crate::error::{render, Internal};
use crate::manifest::{self, ImageSpec, Manifest};
use crate::names::ImageName;
use crate::report::{Event, Level};
use base::{BaseQuery, Identities};

/// How much to observe.
#[derive(Debug, Clone, Copy)]
pub struct ObserveOptions {
    /// Whether the engine must answer (build) or may be absent (plan, hash).
    pub engine_required: bool,
    /// `--pull`: ask registries for base digests even when the base is local.
    pub pull: bool,
    /// Save the input records while the engine is asked about keys, instead of leaving it to
    /// [`save_records`] (`plan` without `--explain`, which reads the previous records first).
    pub save_records: bool,
}

/// Observes the selected images for a command that works from what the registry already holds
/// (`deploy`, `release`): keys need the bases' digests, which the engine resolves; nothing is
/// built and no record is saved. `Ok(Err(_))` carries the first image whose key cannot be
/// computed, which ends such a command.
pub async fn observe_keys(
    session: &Session,
    names: &[String],
) -> Result<Result<Observation, ObserveError>, ObserveRunError> {
    let options = ObserveOptions {
        engine_required: true,
        pull: false,
        save_records: false,
    };
    Ok(observe(session, names, options).await?.all_keyed())
}

/// Loads the manifest and observes the selected images.
pub async fn observe(
    session: &Session,
    names: &[String],
    options: ObserveOptions,
) -> Result<Observation, ObserveRunError> {
    let manifest = session.load_manifest()?;
    let specs = selected(&manifest, names)?;
    // Parsing the Dockerfiles is cheap; walking and hashing the contexts is what costs. While the
    // contexts are hashed, the engine is asked about the bases.
    let parsed = read::parse_all(&specs);
    let queries = base::distinct(
        &specs
            .iter()
            .zip(&parsed)
            .filter_map(|(spec, parsed)| Some((spec.name.clone(), parsed.as_ref().ok()?)))
            .collect::<Vec<_>>(),
    );
    let engine_side = tokio::spawn(connect_and_resolve(queries.clone(), options.pull));
    let names: Vec<ImageName> = specs.iter().map(|s| s.name.clone()).collect();
    let (read, saving_cache) = read::hash_all(
        names.into_iter().zip(parsed).collect(),
        session.state_dir.clone(),
    )
    .await?;
    let answered = engine_side
        .await
        .map_err(|e| Internal::from_join("asking the engine about base images", e))?;
    let (engine, identities) = engine_or_not(session, answered, options, &queries)?;

    let images = keys::key_all(specs, read, &identities, options.engine_required);
    let state_dir = session.state_dir.clone();
    // Reading the recorded keys is file work: off the async workers.
    let mut images = tokio::task::spawn_blocking(move || records::make(&state_dir, images))
        .await
        .map_err(|e| Internal::from_join("making the input records", e))?;
    // Written while the engine is asked about keys; awaited before observation ends.
    let saving_records = options.save_records.then(|| {
        let (state_dir, records) = (session.state_dir.clone(), records::to_save(&images));
        tokio::task::spawn_blocking(move || records::save(&state_dir, &records))
    });
    if let Some(engine) = &engine {
        local::find_local(engine, &mut images, &session.state_dir).await?;
    }
    finish(saving_cache, "saving the content cache").await?;
    if let Some(saving) = saving_records {
        finish(saving, "saving the input records").await?;
    }
    Ok(Observation::new(manifest, images, engine))
}

/// The selected images' manifest entries, dependencies first.
fn selected(manifest: &Manifest, names: &[String]) -> Result<Vec<ImageSpec>, ObserveRunError> {
    let by_name: HashMap<&ImageName, &ImageSpec> =
        manifest.images.iter().map(|i| (&i.name, i)).collect();
    Ok(manifest::select(manifest, names)?
        .iter()
        .map(|n| by_name[n].clone())
        .collect())
}

/// Connects to the engine and asks it about every base.
async fn connect_and_resolve(
    queries: Vec<BaseQuery>,
    pull: bool,
) -> Result<(Engine, Identities), EngineError> {
    let engine = Engine::connect().await?;
    let identities = base::resolve_all(&engine, &queries, pull).await;
    Ok((engine, identities))
}

/// The engine and its answers; without an engine, every base unresolved, unless the command needs
/// the engine (or its endpoint is misconfigured, which is the user's mistake even where no engine
/// is needed).
fn engine_or_not(
    session: &Session,
    answered: Result<(Engine, Identities), EngineError>,
    options: ObserveOptions,
    queries: &[BaseQuery],
) -> Result<(Option<Engine>, Identities), ObserveRunError> {
    match answered {
        Ok((engine, identities)) => {
            debug_note(session, &format!("Docker engine: {}", engine.endpoint()));
            Ok((Some(engine), identities))
        }
        Err(error) if options.engine_required || matches!(error, EngineError::Endpoint(_)) => {
            Err(error.into())
        }
        Err(error) => {
            let text = format!(
                "engine not reachable, planning without it: {}",
                render(&error)
            );
            debug_note(session, &text);
            Ok((None, base::unresolved(queries)))
        }
    }
}

fn debug_note(session: &Session, text: &str) {
    session.reporter.event(Event::Note {
        subject: "",
        level: Level::Debug,
        text,
    });
}

/// Awaits a blocking task of the observation.
async fn finish(task: JoinHandle<()>, what: &'static str) -> Result<(), Internal> {
    task.await.map_err(|e| Internal::from_join(what, e))
}

/// The record of each planned image, saved after a successful plan or build, off the async
/// workers. A failed write is ignored: records only explain changes.
pub async fn save_records(session: &Session, observation: &Observation) {
    let state_dir = session.state_dir.clone();
    let records = records::to_save(&observation.images);
    let _ = tokio::task::spawn_blocking(move || records::save(&state_dir, &records)).await;
}
