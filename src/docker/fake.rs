//! An in-memory engine for the unit tests of the execute layer: builds take a little time and
//! succeed unless told to fail, every call is logged in order, and the most builds seen at once
//! is kept. A push can be handed to a registry double through [`FakeEngine::on_push`].

use std::collections::HashMap;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Mutex;
use std::time::Duration;

use sha2::{Digest as _, Sha256};

use super::build::BuildRequest;
use super::builder::Builder;
use super::buildkit::BuildLine;
use super::engine::{EngineCredentials, Pushed};
use super::images::{ImageEngine, OnLine};
use super::EngineError;
use crate::hash::ImageInputs;
use crate::names::Digest;

/// One call the double received.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Call {
    /// `build` of an image (its manifest name).
    Build(String),
    /// `tag` of an image id as `repository:tag`.
    Tag(String, String),
    /// `push` of `repository:tag`.
    Push(String),
}

/// Receives `(repository, tag, digest)` for each successful push.
pub(crate) type PushHook = Box<dyn Fn(&str, &str, &Digest) + Send + Sync>;

/// The engine double.
#[derive(Default)]
pub(crate) struct FakeEngine {
    /// Image names whose build fails (a failed step, exit 1).
    pub fail_build: Vec<&'static str>,
    /// Image names whose build loses the engine (exit 3).
    pub lose_engine: Vec<&'static str>,
    /// `repository:tag` references whose tagging fails.
    pub fail_tag: Vec<String>,
    /// Repositories (with host) whose push fails; `true` when the registry refused the login.
    pub fail_push: Vec<(String, bool)>,
    /// Whether the engine has BuildKit.
    pub classic_only: bool,
    /// How long a build takes.
    pub build_time: Duration,
    /// Called on every successful push.
    pub on_push: Option<PushHook>,
    /// What the double saw (read through the methods).
    pub seen: Seen,
}

/// What the engine double saw.
#[derive(Default)]
pub(crate) struct Seen {
    calls: Mutex<Vec<Call>>,
    args: Mutex<HashMap<String, HashMap<String, String>>>,
    running: AtomicUsize,
    most: AtomicUsize,
}

impl FakeEngine {
    /// Every call so far, in order.
    pub fn calls(&self) -> Vec<Call> {
        self.seen.calls.lock().unwrap().clone()
    }

    /// The images built, in the order they finished starting.
    pub fn built(&self) -> Vec<String> {
        self.calls()
            .into_iter()
            .filter_map(|c| match c {
                Call::Build(name) => Some(name),
                _ => None,
            })
            .collect()
    }

    /// The build args each image was built with.
    pub fn args(&self, image: &str) -> HashMap<String, String> {
        self.seen.args.lock().unwrap()[image].clone()
    }

    /// The most builds that ran at once.
    pub fn most_at_once(&self) -> usize {
        self.seen.most.load(Ordering::SeqCst)
    }

    /// The id a build of `image` returns.
    pub fn id_of(image: &str) -> String {
        format!("sha256:{}", digest_of(&format!("image {image}")).hex())
    }

    fn log(&self, call: Call) {
        self.seen.calls.lock().unwrap().push(call);
    }
}

/// A digest derived from `text`.
pub(crate) fn digest_of(text: &str) -> Digest {
    format!("sha256:{}", hex::encode(Sha256::digest(text.as_bytes())))
        .parse()
        .expect("a sha256 digest")
}

impl ImageEngine for FakeEngine {
    async fn build(
        &self,
        request: BuildRequest,
        mut on_line: OnLine<'_>,
    ) -> Result<String, EngineError> {
        let name = request.inputs.image.to_string();
        self.log(Call::Build(name.clone()));
        let now = self.seen.running.fetch_add(1, Ordering::SeqCst) + 1;
        self.seen.most.fetch_max(now, Ordering::SeqCst);
        on_line(BuildLine::Step("Step 1/1 : FROM scratch"));
        on_line(BuildLine::Output("building"));
        tokio::time::sleep(self.build_time).await;
        self.seen.running.fetch_sub(1, Ordering::SeqCst);
        self.seen
            .args
            .lock()
            .unwrap()
            .insert(name.clone(), request.args.clone());
        if self.fail_build.contains(&name.as_str()) {
            return Err(EngineError::Build {
                image: request.inputs.image.clone(),
                step: Some("Step 1/1 : RUN false".into()),
                message: "The command '/bin/sh -c false' returned a non-zero code: 1".into(),
                log: None,
                output: Vec::new(),
            });
        }
        if self.lose_engine.contains(&name.as_str()) {
            return Err(EngineError::Api {
                action: format!("build image `{name}`"),
                source: std::io::Error::new(std::io::ErrorKind::ConnectionReset, "reset").into(),
            });
        }
        Ok(Self::id_of(&name))
    }

    async fn tag(&self, image: &str, repository: &str, tag: &str) -> Result<(), EngineError> {
        let reference = format!("{repository}:{tag}");
        self.log(Call::Tag(image.to_string(), reference.clone()));
        if self.fail_tag.contains(&reference) {
            return Err(EngineError::Api {
                action: format!("tag image {image} as {reference}"),
                source: std::io::Error::other("no such image").into(),
            });
        }
        Ok(())
    }

    async fn push(
        &self,
        repository: &str,
        tag: &str,
        _credentials: Option<&EngineCredentials>,
    ) -> Result<Pushed, EngineError> {
        let reference = format!("{repository}:{tag}");
        self.log(Call::Push(reference.clone()));
        if let Some((_, auth)) = self.fail_push.iter().find(|(r, _)| r == repository) {
            return Err(EngineError::Push {
                reference,
                message: if *auth {
                    "unauthorized: authentication required"
                } else {
                    "blob upload unknown"
                }
                .into(),
                auth: *auth,
            });
        }
        let digest = digest_of(&reference);
        if let Some(hook) = &self.on_push {
            hook(repository, tag, &digest);
        }
        Ok(Pushed {
            digest,
            layers_uploaded: 2,
        })
    }

    async fn choose_builder(&self, asked: Option<Builder>) -> Result<Builder, EngineError> {
        match asked {
            Some(Builder::BuildKit) if self.classic_only => {
                Err(EngineError::NoBuildKit { asked: true })
            }
            Some(builder) => Ok(builder),
            None if self.classic_only => Ok(Builder::Classic),
            None => Ok(Builder::BuildKit),
        }
    }

    async fn check_dockerfile(
        &self,
        inputs: &ImageInputs,
        builder: Builder,
    ) -> Result<(), EngineError> {
        let capabilities = super::Capabilities {
            buildkit: !self.classic_only,
            heredocs: true,
        };
        super::refusal::refusal(inputs, builder, capabilities, |_| Ok(()))
    }
}
