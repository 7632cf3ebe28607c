//! The Docker engine: connection, builds, image calls, and containers for checks and tests.
//! bollard's types stay inside this module.

pub mod build;
mod builder;
mod buildkit;
mod cache;
mod container_reads;
pub mod containers;
pub mod endpoint;
mod engine;
mod error;
mod image_config;
mod network;
pub mod ssh;

pub use build::{build, check_dockerfile, BuildRequest};
pub use builder::{Builder, Capabilities, UnknownBuilder};
pub use buildkit::BuildLine;
pub use container_reads::{Output, PathHeader};
pub use containers::{
    Container, ContainerRequest, ContainerStatus, FileContent, PathInfo, PathKind, TEST_LABEL,
};
pub use endpoint::{ChosenBy, Endpoint, EndpointError};
pub use engine::{Engine, EngineCredentials, ImageDetails, Pushed, KEY_LABEL, NAME_LABEL};
pub use error::EngineError;
pub use image_config::ImageConfig;
pub use network::Network;
