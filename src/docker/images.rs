//! The engine as the execute layer sees it: build an image, tag it, push it, and choose and check
//! the builder. [`ImageEngine`] speaks the project's own types ([`BuildRequest`], [`Pushed`],
//! [`EngineError`]); [`Engine`] implements it through bollard, a double implements it in the unit
//! tests of `src/execute/`. A second builder implementation lands behind [`ImageEngine::build`].

use std::future::Future;

use super::build::{self, BuildRequest};
use super::builder::Builder;
use super::buildkit::BuildLine;
use super::engine::{Engine, EngineCredentials, Pushed};
use super::EngineError;
use crate::hash::ImageInputs;

/// Receives each line of a build's output as it arrives.
pub type OnLine<'a> = Box<dyn FnMut(BuildLine<'_>) + Send + 'a>;

/// The engine calls that carry out a plan.
pub trait ImageEngine: Sync {
    /// Builds an image, passing each line of output to `on_line`; returns the image id. The
    /// request's first tag is applied only when the build succeeds.
    fn build(
        &self,
        request: BuildRequest,
        on_line: OnLine<'_>,
    ) -> impl Future<Output = Result<String, EngineError>> + Send;

    /// Adds `repository:tag` to a local image.
    fn tag(
        &self,
        image: &str,
        repository: &str,
        tag: &str,
    ) -> impl Future<Output = Result<(), EngineError>> + Send;

    /// Pushes `repository:tag` (a name that includes the registry host); returns the digest the
    /// registry stored and how many layers went up.
    fn push(
        &self,
        repository: &str,
        tag: &str,
        credentials: Option<&EngineCredentials>,
    ) -> impl Future<Output = Result<Pushed, EngineError>> + Send;

    /// The builder to use: the one asked for, or BuildKit when the engine has it.
    fn choose_builder(
        &self,
        asked: Option<Builder>,
    ) -> impl Future<Output = Result<Builder, EngineError>> + Send;

    /// Refuses Dockerfile syntax `builder` cannot build on this engine, naming the line.
    fn check_dockerfile(
        &self,
        inputs: &ImageInputs,
        builder: Builder,
    ) -> impl Future<Output = Result<(), EngineError>> + Send;
}

impl ImageEngine for Engine {
    fn build(
        &self,
        request: BuildRequest,
        on_line: OnLine<'_>,
    ) -> impl Future<Output = Result<String, EngineError>> + Send {
        build::build(self, request, on_line)
    }

    fn tag(
        &self,
        image: &str,
        repository: &str,
        tag: &str,
    ) -> impl Future<Output = Result<(), EngineError>> + Send {
        Engine::tag(self, image, repository, tag)
    }

    fn push(
        &self,
        repository: &str,
        tag: &str,
        credentials: Option<&EngineCredentials>,
    ) -> impl Future<Output = Result<Pushed, EngineError>> + Send {
        Engine::push(self, repository, tag, credentials)
    }

    fn choose_builder(
        &self,
        asked: Option<Builder>,
    ) -> impl Future<Output = Result<Builder, EngineError>> + Send {
        Engine::choose_builder(self, asked)
    }

    fn check_dockerfile(
        &self,
        inputs: &ImageInputs,
        builder: Builder,
    ) -> impl Future<Output = Result<(), EngineError>> + Send {
        build::check_dockerfile(self, inputs, builder)
    }
}
