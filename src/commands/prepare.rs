//! The observe half of every command: load the manifest, read and hash each selected image's
//! inputs, resolve base images through the engine, compute keys in dependency order, and find
//! which keys the engine already has.

use std::collections::HashMap;
use std::sync::Arc;

use futures_util::future::join_all;

use crate::error::Internal;
use rayon::prelude::*;

use super::Failure;
use crate::cli::Session;
use crate::docker::{Engine, EngineError};
use crate::error::{render, Diagnostic, Exit};
use crate::hash::inputs::Parsed;
use crate::hash::{self, key::KeyInputs, ContentCache, ImageInputs};
use crate::manifest::{self, ImageSpec, Manifest};
use crate::names::{ImageName, ImageRef, Key};
use crate::plan::explain::{self, Record, RecordInputs};
use crate::plan::known_images::KnownImages;
use crate::report::Level;

/// One selected image after observation.
#[derive(Debug)]
pub struct Prepared {
    /// Its manifest entry.
    pub spec: ImageSpec,
    /// Its inputs, or the rendered error that kept them from being read.
    pub inputs: Result<Arc<ImageInputs>, String>,
    /// The exit code the error in `inputs` leads to, kept from its type: bad input (2) for the
    /// user's files, unavailable (3) for an engine that failed while resolving a base.
    /// `Success` when the inputs were read.
    pub blocked_exit: Exit,
    /// Its key, when inputs, bases and dependencies are all known.
    pub key: Option<Key>,
    /// Each external base with its identity.
    pub bases: Vec<(String, String)>,
    /// The id of a local image with this key.
    pub local: Option<String>,
    /// The `repo:tag` names that local image has.
    pub local_tags: Vec<String>,
    /// The input record for `--explain`.
    pub record: Option<Record>,
}

/// The result of observation.
pub struct Observation {
    /// The manifest.
    pub manifest: Manifest,
    /// The selected images, dependencies first.
    pub images: Vec<Prepared>,
    /// The engine, when it answered.
    pub engine: Option<Engine>,
    /// Each image's position in `images`, so that looking one up stays constant time with
    /// thousands of images.
    index: HashMap<ImageName, usize>,
}

impl Observation {
    /// The prepared image of that name.
    pub fn get(&self, name: &ImageName) -> Option<&Prepared> {
        self.index.get(name).map(|&i| &self.images[i])
    }

    /// The exit code the plan's blocked images lead to: the worst of their errors' own codes
    /// (2 for the user's files, 3 for an engine that failed), `Success` when none is blocked.
    pub fn blocked_exit(&self, plan: &crate::plan::Plan) -> Exit {
        plan.images
            .iter()
            .filter(|d| d.status == crate::plan::Status::Blocked)
            .map(|d| match self.get(&d.name).map(|p| p.blocked_exit) {
                Some(Exit::Success) | None => Exit::BadInput,
                Some(exit) => exit,
            })
            .fold(Exit::Success, Exit::worst)
    }
}

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
/// built and no record is saved. An image whose key cannot be computed ends the command: its
/// reason is printed and `Err` carries its exit code.
pub async fn observe_keys(
    session: &Session,
    names: &[String],
) -> Result<Result<Observation, Exit>, Failure> {
    let options = ObserveOptions {
        engine_required: true,
        pull: false,
        save_records: false,
    };
    let observation = observe(session, names, options).await?;
    if let Some(blocked) = observation.images.iter().find(|p| p.key.is_none()) {
        let reason = blocked.inputs.as_ref().err().cloned().unwrap_or_default();
        crate::errln!("{reason}");
        return Ok(Err(match blocked.blocked_exit {
            Exit::Success => Exit::BadInput,
            exit => exit,
        }));
    }
    Ok(Ok(observation))
}

/// Loads the manifest and observes the selected images.
pub async fn observe(
    session: &Session,
    names: &[String],
    options: ObserveOptions,
) -> Result<Observation, Failure> {
    let manifest = session.load_manifest()?;
    let selected = manifest::select(&manifest, names)?;
    let by_name: HashMap<&ImageName, &ImageSpec> =
        manifest.images.iter().map(|i| (&i.name, i)).collect();
    let specs: Vec<ImageSpec> = selected.iter().map(|n| by_name[n].clone()).collect();

    // Parsing the Dockerfiles is cheap; walking and hashing the contexts is what costs. While the
    // contexts are hashed (disk and CPU), the engine is asked about the bases and the local keys
    // (network).
    let parsed: Vec<Result<Parsed, (String, Exit)>> = specs
        .iter()
        .map(|spec| hash::inputs::parse(spec).map_err(|e| (render(&e), e.exit())))
        .collect();
    let mut distinct: Vec<(ImageRef, ImageName, Option<String>)> = Vec::new();
    for (spec, parsed) in specs.iter().zip(&parsed) {
        for base in parsed.iter().flat_map(Parsed::bases) {
            if !distinct.iter().any(|(r, _, _)| r == &base.reference) {
                distinct.push((base.reference.clone(), spec.name.clone(), base.arg.clone()));
            }
        }
    }
    let pull = options.pull;
    let engine_side = tokio::spawn(async move {
        let engine = Engine::connect().await?;
        let lookups = distinct.iter().map(|(reference, image, arg)| {
            let engine = &engine;
            async move {
                let identity = resolve_base(engine, reference, image, arg.clone(), pull)
                    .await
                    .map_err(|e| (render(&e), e.exit()));
                (reference.clone(), identity)
            }
        });
        let identities: HashMap<ImageRef, Result<String, (String, Exit)>> =
            join_all(lookups).await.into_iter().collect();
        Ok::<_, EngineError>((engine, identities))
    });
    let cache = Arc::new(ContentCache::load(&session.state_dir));
    let cache_for_hash = cache.clone();
    let read: Vec<Result<Arc<ImageInputs>, (String, Exit)>> =
        tokio::task::spawn_blocking(move || {
            parsed
                .into_par_iter()
                .map(|parsed| {
                    parsed?
                        .hash(&cache_for_hash)
                        .map(Arc::new)
                        .map_err(|e| (render(&e), e.exit()))
                })
                .collect()
        })
        .await
        .map_err(|e| Internal::from_join("hashing the contexts", e))?;
    // Written while the engine is asked about keys; awaited before observation ends.
    let saving = tokio::task::spawn_blocking(move || cache.save());

    let (engine, identities) = match engine_side
        .await
        .map_err(|e| Internal::from_join("asking the engine about base images", e))?
    {
        Ok((engine, identities)) => {
            session.reporter.event(crate::report::Event::Note {
                subject: "",
                level: Level::Debug,
                text: &format!("Docker engine: {}", engine.endpoint()),
            });
            (Some(engine), identities)
        }
        // A missing context or broken config is the user's mistake, even where no engine is
        // needed.
        Err(error) if options.engine_required || matches!(error, EngineError::Endpoint(_)) => {
            return Err(error.into())
        }
        Err(error) => {
            session.reporter.event(crate::report::Event::Note {
                subject: "",
                level: Level::Debug,
                text: &format!(
                    "engine not reachable, planning without it: {}",
                    render(&error)
                ),
            });
            let unresolved = read
                .iter()
                .flatten()
                .flat_map(|inputs| &inputs.bases)
                .map(|b| {
                    (
                        b.reference.clone(),
                        Ok(format!("unresolved:{}", b.reference)),
                    )
                })
                .collect();
            (None, unresolved)
        }
    };

    let mut images: Vec<Prepared> = Vec::new();
    let mut keys: HashMap<ImageName, (Option<Key>, Exit)> = HashMap::new();
    for (spec, inputs) in specs.into_iter().zip(read) {
        let (inputs, blocked_exit) = match inputs {
            Ok(inputs) => (Ok(inputs), Exit::Success),
            Err((error, exit)) => (Err(error), exit),
        };
        let mut prepared = Prepared {
            spec,
            inputs,
            blocked_exit,
            key: None,
            bases: Vec::new(),
            local: None,
            local_tags: Vec::new(),
            record: None,
        };
        if let Ok(inputs) = &prepared.inputs {
            let mut failure: Option<(String, Exit)> = None;
            for base in &inputs.bases {
                match &identities[&base.reference] {
                    Ok(identity) => prepared
                        .bases
                        .push((base.reference.to_string(), identity.clone())),
                    // `plan` and `hash` still key an image whose base the engine cannot find
                    // (and say so); commands that build need the base.
                    Err(_) if !options.engine_required => prepared.bases.push((
                        base.reference.to_string(),
                        format!("unresolved:{}", base.reference),
                    )),
                    Err(error) => failure = Some(error.clone()),
                }
            }
            let mut dependencies = Vec::new();
            for dep in &prepared.spec.depends_on {
                let found = keys.get(dep);
                match found.and_then(|(key, _)| *key) {
                    Some(key) => dependencies.push((dep.clone(), key)),
                    None => {
                        let exit = found.map_or(Exit::BadInput, |(_, exit)| *exit);
                        failure = failure.or_else(|| {
                            Some((
                                format!("it builds on `{dep}`, which cannot be planned"),
                                exit,
                            ))
                        })
                    }
                }
            }
            match failure {
                Some((error, exit)) => {
                    prepared.inputs = Err(error);
                    prepared.blocked_exit = exit;
                }
                None => {
                    let args: Vec<(String, String)> = prepared
                        .spec
                        .args
                        .iter()
                        .map(|(k, v)| (k.clone(), v.clone()))
                        .collect();
                    let platform = prepared.spec.platform.to_string();
                    let key = hash::key::compute(&KeyInputs {
                        dockerfile: &inputs.dockerfile_bytes,
                        dockerfile_path: &inputs.dockerfile_path,
                        args: &args,
                        target: prepared.spec.target.as_deref(),
                        platform: &platform,
                        bases: &prepared.bases,
                        dependencies: &dependencies,
                        entries: &inputs.entries,
                    });
                    // A record is rebuilt and saved only when the key changed: for a large
                    // context it is thousands of lines, and a no-op run must stay cheap.
                    if explain::recorded_key(&session.state_dir, &prepared.spec.name).as_deref()
                        != Some(key.hex().as_str())
                    {
                        prepared.record = Some(Record::new(
                            &RecordInputs {
                                inputs,
                                key,
                                args: &prepared.spec.args,
                                bases: &prepared.bases,
                                dependencies: &dependencies,
                                platform,
                                target: prepared.spec.target.clone(),
                            },
                            &explain::salt(&session.state_dir),
                        ));
                    }
                    prepared.key = Some(key);
                }
            }
        }
        keys.insert(
            prepared.spec.name.clone(),
            (prepared.key, prepared.blocked_exit),
        );
        images.push(prepared);
    }
    let records = options.save_records.then(|| {
        let records: Vec<(ImageName, Record)> = images
            .iter()
            .filter_map(|p| Some((p.spec.name.clone(), p.record.clone()?)))
            .collect();
        let state_dir = session.state_dir.clone();
        tokio::task::spawn_blocking(move || {
            for (name, record) in &records {
                explain::save(&state_dir, name, record);
            }
        })
    });
    if let Some(engine) = &engine {
        find_local(engine, &mut images, &session.state_dir).await?;
    }
    saving
        .await
        .map_err(|e| Internal::from_join("saving the content cache", e))?;
    if let Some(records) = records {
        records
            .await
            .map_err(|e| Internal::from_join("saving the input records", e))?;
    }
    let index = images
        .iter()
        .enumerate()
        .map(|(i, p)| (p.spec.name.clone(), i))
        .collect();
    Ok(Observation {
        manifest,
        images,
        engine,
        index,
    })
}

/// Finds the local image of each key: by its key tag in the image's repository (one inspect per
/// image), else by the image id this machine last recorded for the key (an image built before
/// the manifest's `repository` changed). Records what it found.
async fn find_local(
    engine: &Engine,
    images: &mut [Prepared],
    state_dir: &std::path::Path,
) -> Result<(), EngineError> {
    let mut known = KnownImages::load(state_dir);
    let lookups = images.iter().map(|prepared| {
        let known = &known;
        async move {
            let Some(key) = &prepared.key else {
                return Ok(None);
            };
            let by_tag = engine
                .image_with_key(prepared.spec.repository.as_str(), key)
                .await?;
            match (by_tag, known.get(key)) {
                (Some(found), _) => Ok(Some(found)),
                (None, Some(id)) => engine.image_with_key(id, key).await,
                (None, None) => Ok(None),
            }
        }
    });
    let found = join_all(lookups).await;
    let mut seen = Vec::new();
    for (prepared, found) in images.iter_mut().zip(found) {
        if let Some((id, tags)) = found? {
            seen.extend(prepared.key.map(|key| (key, id.clone())));
            prepared.local = Some(id);
            prepared.local_tags = tags;
        }
    }
    known.remember(state_dir, seen);
    Ok(())
}

/// Identifies a base image: its registry digest where the engine can learn it (the local image's
/// recorded digest for the same repository, or the registry itself with `--pull` or when the image
/// is not local), else the local image id.
async fn resolve_base(
    engine: &Engine,
    reference: &ImageRef,
    image: &ImageName,
    arg: Option<String>,
    pull: bool,
) -> Result<String, EngineError> {
    let local = engine.inspect(&reference.to_string()).await?;
    if let (Some(local), false) = (&local, pull) {
        let name = reference.name();
        let recorded = local.repo_digests.iter().find_map(|d| {
            d.split_once('@')
                .filter(|(n, _)| *n == name)
                .map(|(_, digest)| digest.to_string())
        });
        return Ok(match recorded {
            Some(digest) => format!("digest:{digest}"),
            None => format!("image:{}", local.id),
        });
    }
    match engine.registry_digest(reference, None).await {
        Ok(digest) => Ok(format!("digest:{digest}")),
        Err(_) if local.is_some() => Ok(format!("image:{}", local.expect("checked").id)),
        Err(source) => Err(EngineError::BaseMissing {
            image: image.clone(),
            reference: reference.to_string(),
            arg,
            source: Some(source),
        }),
    }
}

/// The record of each planned image, saved after a successful plan or build.
pub fn save_records(session: &Session, observation: &Observation) {
    for prepared in &observation.images {
        if let Some(record) = &prepared.record {
            crate::plan::explain::save(&session.state_dir, &prepared.spec.name, record);
        }
    }
}
