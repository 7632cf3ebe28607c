//! The Docker engine: connection, builds, image calls, and containers for checks and tests.
//! bollard's types stay inside this module.

pub mod build;
mod builder;
mod buildkit;
mod cache;
pub mod containers;
mod engine;
mod error;

pub use build::{build, check_dockerfile, BuildRequest};
pub use builder::{Builder, Capabilities, UnknownBuilder};
pub use buildkit::BuildLine;
pub use containers::{
    Container, ContainerRequest, ContainerStatus, FileContent, PathInfo, PathKind, TEST_LABEL,
};
pub use engine::{Engine, EngineCredentials, ImageDetails, Pushed, KEY_LABEL, NAME_LABEL};
pub use error::EngineError;
