//! Registries: credentials, secrets, and the OCI distribution API for looking up and retagging
//! images without pulling them; Amazon ECR through the AWS SDK.

mod secret;
mod stub;

pub use secret::Secret;
pub use stub::*;
