//! The result of observation: one [`Prepared`] per selected image (its inputs, base identities,
//! key, local image and input record), and the [`Observation`] of them all with the manifest and
//! the engine.

use std::collections::HashMap;
use std::sync::Arc;

use super::base::BaseIdentity;
use super::error::{ObserveError, ServiceNotBuilt};
use crate::docker::Engine;
use crate::error::{Diagnostic, Exit};
use crate::hash::ImageInputs;
use crate::manifest::{ImageSpec, Manifest, ServiceImage, TestSpec};
use crate::names::{ImageName, Key};
use crate::plan::{Plan, Status, Unplannable};
use crate::state::Record;

/// One selected image as observed.
#[derive(Debug)]
pub struct Prepared {
    /// Its manifest entry.
    pub spec: ImageSpec,
    /// Its inputs, or why it has no key: its inputs could not be read, a base could not be
    /// identified, or an image it builds on has no key. `Err` exactly when `key` is `None`.
    pub inputs: Result<Arc<ImageInputs>, ObserveError>,
    /// Its key, when inputs, bases and dependencies are all known.
    pub key: Option<Key>,
    /// Each external base with its identity (those identified, when one failed).
    pub bases: Vec<BaseIdentity>,
    /// The id of a local image with this key.
    pub local: Option<String>,
    /// The `repo:tag` names that local image has.
    pub local_tags: Vec<String>,
    /// The input record for `--explain`, when the key differs from the one recorded last.
    pub record: Option<Record>,
}

impl Prepared {
    /// The exit code its error leads to (2 for the user's files, 3 for an engine that failed on
    /// a base); `Success` when it has a key.
    pub fn blocked_exit(&self) -> Exit {
        match &self.inputs {
            Ok(_) => Exit::Success,
            Err(error) => error.exit(),
        }
    }

    /// Its key as the planner takes it: the key, or why there is none.
    pub fn plannable_key(&self) -> Result<Key, Unplannable> {
        match (&self.key, &self.inputs) {
            (Some(key), _) => Ok(*key),
            (None, Err(error)) => Err(Unplannable {
                reason: error.reason(),
                exit: error.exit(),
            }),
            (None, Ok(_)) => Err(Unplannable {
                reason: "its key could not be computed".into(),
                exit: Exit::BadInput,
            }),
        }
    }
}

/// Everything observed for one command.
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
    /// The observation of these images, in this order.
    pub fn new(manifest: Manifest, images: Vec<Prepared>, engine: Option<Engine>) -> Self {
        let index = images
            .iter()
            .enumerate()
            .map(|(i, p)| (p.spec.name.clone(), i))
            .collect();
        Self {
            manifest,
            images,
            engine,
            index,
        }
    }

    /// The prepared image of that name.
    pub fn get(&self, name: &ImageName) -> Option<&Prepared> {
        self.index.get(name).map(|&i| &self.images[i])
    }

    /// The exit code the plan's blocked images lead to: the worst of their errors' own codes
    /// (2 for the user's files, 3 for an engine that failed), `Success` when none is blocked.
    pub fn blocked_exit(&self, plan: &Plan) -> Exit {
        plan.images
            .iter()
            .filter(|d| d.status == Status::Blocked)
            .map(|d| match self.get(&d.name).map(Prepared::blocked_exit) {
                Some(Exit::Success) | None => Exit::BadInput,
                Some(exit) => exit,
            })
            .fold(Exit::Success, Exit::worst)
    }

    /// The observation when every image has a key, else the first image's error (the commands
    /// that work from the registry's images need every key).
    pub fn all_keyed(self) -> Result<Self, ObserveError> {
        let Observation {
            manifest,
            images,
            engine,
            ..
        } = self;
        let mut keyed = Vec::with_capacity(images.len());
        for prepared in images {
            match prepared.inputs {
                Err(error) => return Err(error),
                Ok(inputs) => keyed.push(Prepared {
                    inputs: Ok(inputs),
                    ..prepared
                }),
            }
        }
        Ok(Observation::new(manifest, keyed, engine))
    }

    /// The local image of each of a test section's services: a fleet image must be built with
    /// its current inputs; a `reference` is taken as it is (the engine says if it lacks it).
    pub fn service_images(&self, spec: &TestSpec) -> Result<Vec<String>, ServiceNotBuilt> {
        spec.services
            .iter()
            .map(|service| match &service.image {
                ServiceImage::Reference(reference) => Ok(reference.clone()),
                ServiceImage::Fleet(name) => self
                    .get(name)
                    .and_then(|p| p.local.clone())
                    .ok_or_else(|| ServiceNotBuilt {
                        service: service.name.clone(),
                        image: name.clone(),
                    }),
            })
            .collect()
    }
}
