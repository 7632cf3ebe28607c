//! The Docker engine: connection, builds, image calls, and containers for checks and tests.
//! bollard's types stay inside this module. The execute layer reaches the engine through
//! [`ImageEngine`] (build, tag, push, choose and check the builder), which a double implements
//! in its unit tests; `test` reaches it through [`ContainerEngine`] (image configuration,
//! containers, networks), which a double implements in the unit tests of `src/imagetest/`.

pub mod build;
mod builder;
mod buildkit;
mod cache;
mod container_engine;
mod container_reads;
pub mod containers;
pub mod endpoint;
mod engine;
mod error;
#[cfg(test)]
pub(crate) mod fake;
#[cfg(test)]
pub(crate) mod fake_containers;
mod image_config;
mod images;
mod network;
mod ping;
mod refusal;
mod registry_answer;
pub mod ssh;

pub use build::{build, check_dockerfile, BuildRequest};
pub use builder::{Builder, Capabilities, UnknownBuilder};
pub use buildkit::BuildLine;
pub use container_engine::{ContainerEngine, TestContainer, TestNetwork};
pub use container_reads::{Output, PathHeader};
pub use containers::{
    Container, ContainerRequest, ContainerStatus, FileContent, PathInfo, PathKind, TEST_LABEL,
};
pub use endpoint::{ChosenBy, Endpoint, EndpointError};
pub use engine::{Engine, EngineCredentials, ImageDetails, Pushed, KEY_LABEL, NAME_LABEL};
pub use error::EngineError;
pub use image_config::ImageConfig;
pub use images::{ImageEngine, OnLine};
pub use network::Network;
pub use registry_answer::RegistryAnswer;
