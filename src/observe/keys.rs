//! Keys in dependency order: an image's key covers its inputs, its bases' identities and the
//! keys of the fleet images it builds on, so an image whose base or dependency is unknown has no
//! key, and says why with the exit code of the cause. Pure: the engine's answers come in as data.

use std::collections::HashMap;
use std::sync::Arc;

use super::base::{BaseIdentity, Identities, Identity};
use super::error::ObserveError;
use super::observation::Prepared;
use super::read::ReadResult;
use crate::error::Exit;
use crate::hash::key::{self, KeyInputs};
use crate::hash::ImageInputs;
use crate::manifest::ImageSpec;
use crate::names::{ImageName, Key};

/// What is known about each image keyed so far: its key, or the exit code of why it has none.
type Keyed = HashMap<ImageName, Result<Key, Exit>>;

/// Keys every image, dependencies first (`specs` is in dependency order). Without
/// `engine_required`, a base the engine could not identify is keyed as unresolved.
pub fn key_all(
    specs: Vec<ImageSpec>,
    read: Vec<ReadResult>,
    identities: &Identities,
    engine_required: bool,
) -> Vec<Prepared> {
    let mut keyed: Keyed = HashMap::new();
    let mut images = Vec::with_capacity(specs.len());
    for (spec, inputs) in specs.into_iter().zip(read) {
        let prepared = key_one(spec, inputs, identities, engine_required, &keyed);
        keyed.insert(
            prepared.spec.name.clone(),
            prepared.key.ok_or_else(|| prepared.blocked_exit()),
        );
        images.push(prepared);
    }
    images
}

fn key_one(
    spec: ImageSpec,
    inputs: ReadResult,
    identities: &Identities,
    engine_required: bool,
    keyed: &Keyed,
) -> Prepared {
    let mut prepared = Prepared {
        spec,
        inputs,
        key: None,
        bases: Vec::new(),
        local: None,
        local_tags: Vec::new(),
        record: None,
    };
    let Ok(inputs) = prepared.inputs.as_ref().map(Arc::clone) else {
        return prepared;
    };
    let (bases, base_failure) =
        identify_bases(&prepared.spec.name, &inputs, identities, engine_required);
    prepared.bases = bases;
    let dependencies = dependency_keys(&prepared.spec, keyed);
    match (base_failure, dependencies) {
        (Some(error), _) | (None, Err(error)) => prepared.inputs = Err(error),
        (None, Ok(dependencies)) => {
            prepared.key = Some(compute(
                &prepared.spec,
                &inputs,
                &prepared.bases,
                &dependencies,
            ))
        }
    }
    prepared
}

/// The identity of each of the image's bases, and the error of the last that has none (when the
/// command needs every base).
fn identify_bases(
    image: &ImageName,
    inputs: &ImageInputs,
    identities: &Identities,
    engine_required: bool,
) -> (Vec<BaseIdentity>, Option<ObserveError>) {
    let mut bases = Vec::new();
    let mut failure = None;
    for base in &inputs.bases {
        let identity = match identities.get(&base.reference) {
            Some(Ok(identity)) => identity.clone(),
            Some(Err(_)) | None if !engine_required => Identity::Unresolved,
            Some(Err(source)) => {
                failure = Some(ObserveError::Base {
                    image: image.clone(),
                    reference: base.reference.clone(),
                    source: source.clone(),
                });
                continue;
            }
            None => Identity::Unresolved,
        };
        bases.push(BaseIdentity {
            reference: base.reference.clone(),
            identity,
        });
    }
    (bases, failure)
}

/// The key of each fleet image this one builds on, or the first that has none.
pub fn dependency_keys(
    spec: &ImageSpec,
    keyed: &HashMap<ImageName, Result<Key, Exit>>,
) -> Result<Vec<(ImageName, Key)>, ObserveError> {
    spec.depends_on
        .iter()
        .map(|dependency| match keyed.get(dependency) {
            Some(Ok(key)) => Ok((dependency.clone(), *key)),
            found => Err(ObserveError::Dependency {
                image: spec.name.clone(),
                dependency: dependency.clone(),
                exit: match found {
                    Some(Err(exit)) => *exit,
                    _ => Exit::BadInput,
                },
            }),
        })
        .collect()
}

/// The key of an image whose inputs, bases and dependencies are all known.
fn compute(
    spec: &ImageSpec,
    inputs: &ImageInputs,
    bases: &[BaseIdentity],
    dependencies: &[(ImageName, Key)],
) -> Key {
    let args: Vec<(String, String)> = spec
        .args
        .iter()
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect();
    let bases: Vec<(String, String)> = bases.iter().map(BaseIdentity::key_pair).collect();
    key::compute(&KeyInputs {
        dockerfile: &inputs.dockerfile_bytes,
        dockerfile_path: &inputs.dockerfile_path,
        args: &args,
        target: spec.target.as_deref(),
        platform: &spec.platform.to_string(),
        bases: &bases,
        dependencies,
        entries: &inputs.entries,
    })
}

#[cfg(test)]
mod tests {
    use std::path::Path;

    use super::*;
    use crate::docker::EngineError;
    use crate::error::Diagnostic;
    use crate::hash::inputs;
    use crate::hash::ContentCache;
    use crate::manifest::{parse, LoadOptions};
    use crate::names::ImageRef;

    const BASE: &str = "registry.example.com/base:1";

    /// `a` builds from an external base, `b` on `a`, `c` on `b`; `d` stands alone on the base.
    /// Each context holds its Dockerfile; `missing` names images whose context is not created.
    fn fleet(dir: &Path, missing: &[&str]) -> (Vec<ImageSpec>, Vec<ReadResult>) {
        let (manifest, read) = fleet_manifest(dir, missing);
        (manifest.images, read)
    }

    fn fleet_manifest(
        dir: &Path,
        missing: &[&str],
    ) -> (crate::manifest::Manifest, Vec<ReadResult>) {
        let manifest_text = "[images.a]\ncontext = \"a\"\n[images.b]\ncontext = \"b\"\ndepends_on = [\"a\"]\n[images.c]\ncontext = \"c\"\ndepends_on = [\"b\"]\n[images.d]\ncontext = \"d\"\n";
        for (name, from) in [
            ("a", BASE),
            ("b", "${A_IMAGE}"),
            ("c", "${B_IMAGE}"),
            ("d", BASE),
        ] {
            if missing.contains(&name) {
                continue;
            }
            std::fs::create_dir_all(dir.join(name)).unwrap();
            std::fs::write(
                dir.join(name).join("Dockerfile"),
                format!("ARG A_IMAGE\nARG B_IMAGE\nFROM {from}\n"),
            )
            .unwrap();
        }
        let manifest = parse(
            &dir.join("fleet.toml"),
            manifest_text,
            &LoadOptions::default(),
        )
        .unwrap();
        let read = manifest
            .images
            .iter()
            .map(|spec| {
                inputs::read(spec, &ContentCache::disabled())
                    .map(Arc::new)
                    .map_err(|source| ObserveError::Inputs {
                        image: spec.name.clone(),
                        source,
                    })
            })
            .collect();
        (manifest, read)
    }

    fn base_ref() -> ImageRef {
        BASE.parse().unwrap()
    }

    fn identified(identity: Identity) -> Identities {
        [(base_ref(), Ok(identity))].into_iter().collect()
    }

    /// The engine answered that it cannot reach the base's registry (a 500).
    fn engine_failed() -> Identities {
        let source = bollard::errors::Error::DockerResponseServerError {
            status_code: 500,
            message: "registry unreachable".into(),
        };
        let error = EngineError::BaseMissing {
            image: "a".parse().unwrap(),
            reference: BASE.into(),
            arg: None,
            source: Some(source.into()),
        };
        [(base_ref(), Err(Arc::new(error)))].into_iter().collect()
    }

    fn digest(c: char) -> Identity {
        Identity::Digest(format!("sha256:{}", c.to_string().repeat(64)))
    }

    fn keys(images: &[Prepared]) -> Vec<Option<Key>> {
        images.iter().map(|p| p.key).collect()
    }

    #[test]
    fn every_image_is_keyed_in_order_and_a_base_change_reaches_its_dependents() {
        let dir = tempfile::tempdir().unwrap();
        let (specs, read) = fleet(dir.path(), &[]);
        let first = key_all(specs, read, &identified(digest('1')), true);
        assert!(first.iter().all(|p| p.key.is_some() && p.inputs.is_ok()));
        assert_eq!(first[0].bases[0].identity, digest('1'));

        let (specs, read) = fleet(dir.path(), &[]);
        let again = key_all(specs, read, &identified(digest('1')), true);
        assert_eq!(keys(&first), keys(&again), "keys are deterministic");

        let (specs, read) = fleet(dir.path(), &[]);
        let moved = key_all(specs, read, &identified(digest('2')), true);
        // `a` and `d` name the base; `b` and `c` change through their dependency's key.
        for (before, after) in first.iter().zip(&moved) {
            assert_ne!(before.key, after.key, "{}", before.spec.name);
        }
    }

    #[test]
    fn an_unreadable_image_blocks_its_dependents_with_its_own_exit_code() {
        let dir = tempfile::tempdir().unwrap();
        let (specs, read) = fleet(dir.path(), &["a"]);
        let images = key_all(specs, read, &identified(digest('1')), true);
        let exits: Vec<Exit> = images.iter().map(Prepared::blocked_exit).collect();
        assert_eq!(
            exits,
            [
                Exit::BadInput,
                Exit::BadInput,
                Exit::BadInput,
                Exit::Success
            ]
        );
        assert!(matches!(images[0].inputs, Err(ObserveError::Inputs { .. })));
        let Err(error) = &images[2].inputs else {
            panic!("`c` builds on `b`, which builds on the unreadable `a`");
        };
        assert_eq!(error.reason(), "it builds on `b`, which cannot be planned");
        assert_eq!(error.image().as_str(), "c");
        assert_eq!(keys(&images)[..3], [None, None, None]);
        assert!(images[3].key.is_some());
    }

    #[test]
    fn a_base_the_engine_failed_on_is_exit_3_for_the_image_and_its_dependents() {
        let dir = tempfile::tempdir().unwrap();
        let (specs, read) = fleet(dir.path(), &[]);
        let images = key_all(specs, read, &engine_failed(), true);
        let exits: Vec<Exit> = images.iter().map(Prepared::blocked_exit).collect();
        assert_eq!(exits, [Exit::Unavailable; 4]);
        let Err(error) = &images[0].inputs else {
            panic!("`a`'s base failed");
        };
        assert!(matches!(error, ObserveError::Base { reference, .. } if *reference == base_ref()));
        assert!(
            error.reason().starts_with("error: base image `"),
            "{}",
            error.reason()
        );
        assert_eq!(error.exit(), Exit::Unavailable);
    }

    #[test]
    fn without_a_required_engine_a_failed_base_is_keyed_as_unresolved() {
        let dir = tempfile::tempdir().unwrap();
        let (specs, read) = fleet(dir.path(), &[]);
        let images = key_all(specs, read, &engine_failed(), false);
        assert!(images.iter().all(|p| p.key.is_some()));
        assert!(images[0].bases[0].is_unresolved());
        assert_eq!(
            images[0].bases[0].identity_text(),
            format!("unresolved:{}", base_ref())
        );
        let (specs, read) = fleet(dir.path(), &[]);
        let resolved = key_all(specs, read, &identified(digest('1')), false);
        assert_ne!(
            images[0].key, resolved[0].key,
            "an unresolved base keys differently"
        );
    }

    #[test]
    fn the_planner_gets_the_reason_and_exit_code_of_an_unkeyed_image() {
        let dir = tempfile::tempdir().unwrap();
        let (specs, read) = fleet(dir.path(), &[]);
        let images = key_all(specs, read, &engine_failed(), true);
        let unplannable = images[1].plannable_key().unwrap_err();
        assert_eq!(
            unplannable.reason,
            "it builds on `a`, which cannot be planned"
        );
        assert_eq!(unplannable.exit, Exit::Unavailable);
        let (specs, read) = fleet(dir.path(), &[]);
        let keyed = key_all(specs, read, &identified(digest('1')), true);
        assert_eq!(keyed[1].plannable_key().ok(), keyed[1].key);
    }

    #[test]
    fn the_plan_fails_with_the_worst_blocked_exit_and_keyed_commands_stop_at_the_first() {
        use crate::observe::Observation;
        use crate::plan::{plan, Observed, PlanOptions};
        let dir = tempfile::tempdir().unwrap();
        let (manifest, read) = fleet_manifest(dir.path(), &["d"]);
        let specs = manifest.images.clone();
        let images = key_all(specs, read, &engine_failed(), true);
        let observation = Observation::new(manifest, images, None);
        let observed: Vec<Observed> = observation
            .images
            .iter()
            .map(|p| Observed {
                name: p.spec.name.clone(),
                key: p.plannable_key(),
                depends_on: p.spec.depends_on.clone(),
                repository: p.spec.repository.clone(),
                local: None,
                remote: None,
            })
            .collect();
        let plan = plan(&observed, PlanOptions::default());
        // `a`, `b`, `c`: the engine failed on their base (3); `d`: its context is missing (2).
        assert_eq!(plan.builds(), 0);
        assert_eq!(
            observation.blocked_exit(&plan),
            Exit::BadInput.worst(Exit::Unavailable)
        );
        let Err(first) = observation.all_keyed() else {
            panic!("no image is keyed");
        };
        assert_eq!(first.image().as_str(), "a");
        assert_eq!(first.exit(), Exit::Unavailable);
    }
}
