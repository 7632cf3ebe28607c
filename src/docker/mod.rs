//! The Docker engine: connection, builds, image calls, and containers for checks and tests.
//! bollard's types stay inside this module.

pub mod build;
pub mod containers;
pub mod endpoint;
mod engine;
mod error;
pub mod ssh;

pub use build::{build, BuildRequest};
pub use containers::{
    Container, ContainerRequest, ContainerStatus, FileContent, PathInfo, PathKind, TEST_LABEL,
};
pub use endpoint::{ChosenBy, Endpoint, EndpointError};
pub use engine::{Engine, EngineCredentials, ImageDetails, Pushed, KEY_LABEL, NAME_LABEL};
pub use error::EngineError;
