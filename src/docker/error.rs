//! What can go wrong talking to the Docker engine.

use std::path::PathBuf;

use crate::error::{Diagnostic, Exit};
use crate::names::ImageName;

/// An engine failure.
#[derive(Debug, thiserror::Error)]
pub enum EngineError {
    /// The engine did not answer.
    #[error("cannot reach the Docker engine at `{host}` ({chosen})")]
    Unreachable {
        /// `DOCKER_HOST`, a context's host, or the default socket.
        host: String,
        /// Why that engine was chosen (`from DOCKER_HOST`, …).
        chosen: String,
        /// Why.
        #[source]
        source: bollard::errors::Error,
    },
    /// An API call failed.
    #[error("the Docker engine refused to {action}")]
    Api {
        /// What was asked, in words.
        action: String,
        /// Why.
        #[source]
        source: bollard::errors::Error,
    },
    /// A build failed.
    #[error("build of `{image}` failed{}: {message}", step.as_ref().map(|s| format!(" at `{s}`")).unwrap_or_default())]
    Build {
        /// The image.
        image: ImageName,
        /// The step that failed (`Step 4/9 : RUN npm ci`), when known.
        step: Option<String>,
        /// The engine's message.
        message: String,
        /// The full log.
        log: Option<PathBuf>,
        /// The last lines of the failing step's own output (BuildKit reports it per step);
        /// empty when the builder does not say which output belongs to the step.
        output: Vec<String>,
    },
    /// The built image is not for the requested platform (the classic builder does not enforce it).
    #[error("image `{image}` was built for `{got}`, not for `{wanted}`")]
    PlatformMismatch {
        /// The image.
        image: ImageName,
        /// Requested.
        wanted: String,
        /// Built.
        got: String,
    },
    /// An external base exists only for another platform than the image is built for.
    #[error("base image `{base}` (Dockerfile line {line}) of image `{image}` is for `{got}`, not for `{wanted}`")]
    BasePlatform {
        /// The image.
        image: ImageName,
        /// The base reference.
        base: String,
        /// Its Dockerfile line.
        line: usize,
        /// The build arg that names it, if one does.
        arg: Option<String>,
        /// The image's platform.
        wanted: String,
        /// The base's.
        got: String,
    },
    /// A base image is neither local nor in a registry the engine can reach.
    #[error("base image `{reference}` of image `{image}` is neither in the local engine nor in a registry it can reach")]
    BaseMissing {
        /// The image.
        image: ImageName,
        /// The base.
        reference: String,
        /// The build arg that sets it.
        arg: Option<String>,
        /// Why the registry did not answer.
        #[source]
        source: Option<super::registry_answer::RegistryAnswer>,
    },
    /// A push failed.
    #[error("push of `{reference}` failed: {message}")]
    Push {
        /// What was pushed.
        reference: String,
        /// The engine's message.
        message: String,
        /// Whether the registry refused the credentials.
        auth: bool,
    },
    /// A push made no progress for too long, or ran past its deadline: the registry accepted an
    /// upload and stopped answering.
    #[error("push of `{reference}` to `{registry}` {}", if *overall { format!("did not finish within {}", crate::report::format_duration(*after)) } else { format!("made no progress for {}", crate::report::format_duration(*after)) })]
    PushStalled {
        /// What was pushed.
        reference: String,
        /// The registry host.
        registry: String,
        /// The limit that was reached.
        after: std::time::Duration,
        /// Whether it was the whole push's deadline (else the stall timeout).
        overall: bool,
    },
    /// The Dockerfile uses syntax that the chosen builder cannot build on this engine.
    #[error("line {line} of `{}` (image `{image}`) uses {feature}, which the {builder} builder cannot build here: {why}", dockerfile.display())]
    Unsupported {
        /// The image.
        image: ImageName,
        /// The Dockerfile.
        dockerfile: PathBuf,
        /// The 1-based line.
        line: usize,
        /// The syntax, as written in the Dockerfile reference.
        feature: String,
        /// The builder chosen.
        builder: super::Builder,
        /// Why it cannot.
        why: String,
        /// The alternative.
        hint: String,
    },
    /// BuildKit was asked for and the engine has none.
    #[error("the Docker engine has no BuildKit (it needs API 1.39 or later on Linux)")]
    NoBuildKit {
        /// Whether `--builder buildkit` or `[defaults] builder` asked for it.
        asked: bool,
    },
    /// Writing the build context failed.
    #[error("cannot send the build context of `{image}`")]
    Context {
        /// The image.
        image: ImageName,
        /// Why.
        #[source]
        source: std::io::Error,
    },
    /// No engine could be chosen (a missing context, an unreadable config file).
    #[error(transparent)]
    Endpoint(#[from] super::EndpointError),
}

impl Diagnostic for EngineError {
    fn exit(&self) -> Exit {
        match self {
            EngineError::Endpoint(error) => error.exit(),
            EngineError::Unreachable { .. } | EngineError::Api { .. } => Exit::Unavailable,
            EngineError::Push { auth: true, .. } | EngineError::PushStalled { .. } => {
                Exit::Unavailable
            }
            // The registry answered that it has no such image: the reference is wrong. No answer
            // (the engine or the registry failed, or was not reached) is a service failure.
            EngineError::BaseMissing {
                source: Some(answer),
                ..
            } if answer.status().is_some_and(|status| status >= 500) => Exit::Unavailable,
            EngineError::BaseMissing {
                source: Some(answer),
                ..
            } if answer.status().is_some() => Exit::BadInput,
            EngineError::BaseMissing { source: None, .. } => Exit::BadInput,
            EngineError::BaseMissing { .. } => Exit::Unavailable,
            EngineError::Unsupported { .. } | EngineError::NoBuildKit { .. } => Exit::BadInput,
            _ => Exit::Failed,
        }
    }

    fn hint(&self) -> Option<String> {
        match self {
            EngineError::Endpoint(error) => error.hint(),
            EngineError::Unreachable { host, .. } if host.starts_with("ssh://") => Some(
                "can `ssh HOST docker version` reach it without a password prompt (key in the agent or ~/.ssh/config, host in known_hosts)? The remote user needs the docker CLI and access to its engine".into(),
            ),
            EngineError::Unreachable { .. } => Some(
                "is dockerd running? Is the engine chosen right (run with -v to see why this one was chosen; DOCKER_HOST, DOCKER_CONTEXT or `docker context use` change it)?".into(),
            ),
            EngineError::Build { log: Some(log), .. } => Some(format!("the full log is in {}", log.display())),
            EngineError::Unsupported { hint, .. } => Some(hint.clone()),
            EngineError::NoBuildKit { .. } => Some(
                "build with `--builder classic` (or `[defaults] builder = \"classic\"`), or upgrade the engine".into(),
            ),
            EngineError::PlatformMismatch { wanted, .. } => Some(format!(
                "the engine ignored `platform`: build on a `{wanted}` engine or with BuildKit, and from a base image for `{wanted}`"
            )),
            EngineError::BasePlatform { wanted, got, arg, .. } => Some(format!(
                "a build from it would label `{wanted}` an image whose programs are `{got}`: use a base for `{wanted}` (a multi-platform image, or one built for it{}), or build for `{got}` with `--platform {got}`",
                arg.as_ref().map(|a| format!(", through build arg `{a}`")).unwrap_or_default()
            )),
            EngineError::BaseMissing { arg: Some(arg), .. } => Some(format!(
                "pull or load it, or point it elsewhere with build arg `{arg}` in the manifest's `args`"
            )),
            EngineError::BaseMissing { .. } => Some("pull or load it into the engine, or make the registry reachable".into()),
            EngineError::Push { auth: true, .. } => Some("check the registry credentials (see the README, \"Registries\")".into()),
            EngineError::PushStalled { registry, .. } => Some(format!("is `{registry}` answering? FLEET_IMAGES_PUSH_STALL_SECS and FLEET_IMAGES_PUSH_DEADLINE_SECS set the limits (see the README, \"Timeouts\")")),
            _ => None,
        }
    }
}

/// Whether the engine answered 404: the container, network or path is not there.
pub(super) fn is_not_found(error: &bollard::errors::Error) -> bool {
    matches!(
        error,
        bollard::errors::Error::DockerResponseServerError {
            status_code: 404,
            ..
        }
    )
}

/// Wraps a failed engine call as [`EngineError::Api`] with what was being done.
pub(super) fn api(action: impl Into<String>) -> impl FnOnce(bollard::errors::Error) -> EngineError {
    let action = action.into();
    move |source| EngineError::Api { action, source }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn missing(source: Option<bollard::errors::Error>) -> EngineError {
        EngineError::BaseMissing {
            image: "a".parse().unwrap(),
            reference: "registry.example.com/base:1".into(),
            arg: None,
            source: source.map(super::super::registry_answer::RegistryAnswer::from),
        }
    }

    /// A base the registry says it does not have is bad input; one that could not be asked about
    /// (engine or registry failing) is a service failure, not the user's mistake.
    #[test]
    fn a_missing_base_is_bad_input_only_when_the_registry_answered() {
        let answered = |status_code| {
            Some(bollard::errors::Error::DockerResponseServerError {
                status_code,
                message: "x".into(),
            })
        };
        assert_eq!(missing(None).exit(), Exit::BadInput);
        assert_eq!(missing(answered(404)).exit(), Exit::BadInput);
        assert_eq!(missing(answered(500)).exit(), Exit::Unavailable);
        let io = std::io::Error::new(std::io::ErrorKind::ConnectionReset, "reset");
        assert_eq!(missing(Some(io.into())).exit(), Exit::Unavailable);
    }
}
