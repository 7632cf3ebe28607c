//! Registries: where images are pushed and the build cache lives. [`Registry`] connects to
//! Amazon ECR (through the AWS SDK, with `GetAuthorizationToken` for the data plane) or any OCI
//! distribution registry (credentials from the environment or the Docker config file), ensures
//! ECR repositories, looks up key tags and writes moving tags without pulling. Layers are pushed
//! by the engine with [`Registry::engine_credentials`]. Secrets stay in [`Secret`] and are
//! scrubbed from every error. The execute layer reaches a registry through [`ImageRegistry`], which a
//! double implements in its unit tests.

mod challenge;
mod credential_chain;
mod credentials;
mod distribution;
mod docker_config;
mod ecr;
mod endpoint;
mod error;
#[cfg(test)]
pub(crate) mod fake;
mod image_manifest;
mod images;
mod lifecycle;
mod options;
mod repository_change;
mod retry;
mod target;
#[cfg(test)]
mod test_server;

pub use crate::secret::Secret;
pub use credentials::{CredentialSource, Credentials, PASSWORD_VAR, USERNAME_VAR};
pub use error::{
    Action, AwsCause, DockerConfigProblem, EcrFailure, HelperProblem, Place, RegistryError,
    ECR_IAM_ACTIONS,
};
pub use images::ImageRegistry;
pub use options::{ConnectOptions, ENDPOINT_VAR, INSECURE_VAR, TEST_FAST_VAR};
pub use repository_change::{ChangeAction, RepositoryChange};
pub(crate) use retry::RetryPolicy;
pub use target::{Registry, Retagged};
