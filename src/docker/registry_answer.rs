//! The answer the engine relays when asked about an image in a registry, kept opaque so that
//! bollard's error type stays inside `src/docker/`.

/// Why the engine could not read a manifest from a registry (`GET /distribution/{name}/json`):
/// the registry's answer relayed by the engine, or the engine's own failure. bollard's error stays
/// inside; its text and cause are the same.
#[derive(Debug, thiserror::Error)]
#[error(transparent)]
pub struct RegistryAnswer(#[from] bollard::errors::Error);

impl RegistryAnswer {
    /// The HTTP status the engine answered with; `None` when it did not answer (connection lost,
    /// timeout).
    pub fn status(&self) -> Option<u16> {
        match &self.0 {
            bollard::errors::Error::DockerResponseServerError { status_code, .. } => {
                Some(*status_code)
            }
            _ => None,
        }
    }
}
