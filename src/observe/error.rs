//! What can go wrong while observing: [`ObserveError`] keeps one image from being keyed (its
//! inputs, a base, a dependency), [`ObserveRunError`] stops the observation of every image (the
//! manifest, the engine, a task that panicked), [`ServiceNotBuilt`] keeps a test service from
//! running. Each keeps its cause as a source and the exit code that cause leads to.

use std::sync::Arc;

use crate::docker::EngineError;
use crate::error::{render, Diagnostic, Exit, Internal, Location};
use crate::hash::HashError;
use crate::manifest::ManifestError;
use crate::names::{ImageName, ImageRef};

/// Why one image has no key.
#[derive(Debug, thiserror::Error)]
pub enum ObserveError {
    /// Its Dockerfile, ignore file or context could not be read (exit 2).
    #[error("{source}")]
    Inputs {
        /// The image.
        image: ImageName,
        /// What the hash subsystem found.
        source: HashError,
    },
    /// The engine could not identify one of its bases: not found (2), or the engine or registry
    /// failed (3). Images sharing the base share the engine's error.
    #[error("{source}")]
    Base {
        /// The image.
        image: ImageName,
        /// The base it names.
        reference: ImageRef,
        /// What the engine answered.
        source: Arc<EngineError>,
    },
    /// A fleet image it builds on has no key; the exit code is that image's own.
    #[error("it builds on `{dependency}`, which cannot be planned")]
    Dependency {
        /// The image.
        image: ImageName,
        /// The fleet image it builds on.
        dependency: ImageName,
        /// The exit code the dependency's own error leads to.
        exit: Exit,
    },
}

impl ObserveError {
    /// The image that has no key.
    pub fn image(&self) -> &ImageName {
        match self {
            ObserveError::Inputs { image, .. }
            | ObserveError::Base { image, .. }
            | ObserveError::Dependency { image, .. } => image,
        }
    }

    /// The text the CLI prints as the image's reason: the rendered error (`error: …`, with its
    /// location and hint), except for an image blocked by a dependency, whose reason is one plain
    /// line (the dependency's own error is printed beside it).
    pub fn reason(&self) -> String {
        match self {
            ObserveError::Dependency { .. } => self.to_string(),
            _ => render(self),
        }
    }
}

impl Diagnostic for ObserveError {
    fn exit(&self) -> Exit {
        match self {
            ObserveError::Inputs { source, .. } => source.exit(),
            ObserveError::Base { source, .. } => source.exit(),
            ObserveError::Dependency { exit, .. } => *exit,
        }
    }

    fn location(&self) -> Option<Location> {
        match self {
            ObserveError::Inputs { source, .. } => source.location(),
            ObserveError::Base { source, .. } => source.location(),
            ObserveError::Dependency { .. } => None,
        }
    }

    fn hint(&self) -> Option<String> {
        match self {
            ObserveError::Inputs { source, .. } => source.hint(),
            ObserveError::Base { source, .. } => source.hint(),
            ObserveError::Dependency { .. } => None,
        }
    }
}

/// Why nothing could be observed.
#[derive(Debug, thiserror::Error)]
pub enum ObserveRunError {
    /// The manifest does not load, or names no such image (exit 2).
    #[error(transparent)]
    Manifest(#[from] ManifestError),
    /// The engine is needed and did not answer, or its endpoint is misconfigured.
    #[error(transparent)]
    Engine(#[from] EngineError),
    /// A task of the observation panicked (exit 1).
    #[error(transparent)]
    Internal(#[from] Internal),
}

impl ObserveRunError {
    fn inner(&self) -> &dyn Diagnostic {
        match self {
            ObserveRunError::Manifest(error) => error,
            ObserveRunError::Engine(error) => error,
            ObserveRunError::Internal(error) => error,
        }
    }
}

impl Diagnostic for ObserveRunError {
    fn exit(&self) -> Exit {
        self.inner().exit()
    }

    fn location(&self) -> Option<Location> {
        self.inner().location()
    }

    fn hint(&self) -> Option<String> {
        self.inner().hint()
    }
}

/// A test service runs a fleet image that is not built with its current inputs (exit 1).
#[derive(Debug, thiserror::Error)]
#[error("test service `{service}` runs image `{image}`, which is not built with its current inputs; run `fleet-images build {image}` first")]
pub struct ServiceNotBuilt {
    /// The service, as its test section names it.
    pub service: String,
    /// The fleet image it runs.
    pub image: ImageName,
}

impl Diagnostic for ServiceNotBuilt {
    fn exit(&self) -> Exit {
        Exit::Failed
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn name(text: &str) -> ImageName {
        text.parse().unwrap()
    }

    #[test]
    fn a_dependency_keeps_the_exit_code_of_what_it_builds_on() {
        for exit in [Exit::BadInput, Exit::Unavailable] {
            let error = ObserveError::Dependency {
                image: name("beta"),
                dependency: name("alpha"),
                exit,
            };
            assert_eq!(error.exit(), exit);
            assert_eq!(
                error.reason(),
                "it builds on `alpha`, which cannot be planned"
            );
            assert_eq!(error.image(), &name("beta"));
        }
    }

    #[test]
    fn a_missing_base_renders_as_the_engine_error_with_its_exit_code() {
        let engine = EngineError::BaseMissing {
            image: name("alpha"),
            reference: "example.invalid/base:1".into(),
            arg: None,
            source: None,
        };
        let expected = render(&engine);
        let error = ObserveError::Base {
            image: name("alpha"),
            reference: "example.invalid/base:1".parse().unwrap(),
            source: Arc::new(engine),
        };
        assert_eq!(error.reason(), expected);
        assert_eq!(error.exit(), Exit::BadInput);
    }

    #[test]
    fn a_test_service_that_is_not_built_says_how_to_build_it() {
        let error = ServiceNotBuilt {
            service: "db".into(),
            image: name("store"),
        };
        assert_eq!(
            error.to_string(),
            "test service `db` runs image `store`, which is not built with its current inputs; run `fleet-images build store` first"
        );
        assert_eq!(error.exit(), Exit::Failed);
    }
}
