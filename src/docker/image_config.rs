//! What an image is configured to run: the parts of `Config` that `check` (`entrypoint-exists`)
//! and `test` (metadata tests) compare, read with `GET /images/{name}/json`.

use super::{Engine, EngineError};

/// An image's run configuration, as the engine stores it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ImageConfig {
    /// Image id (`sha256:…`).
    pub id: String,
    /// `Config.User` (empty: root).
    pub user: String,
    /// `Config.WorkingDir` (empty: `/`).
    pub workdir: String,
    /// `Config.Entrypoint` (empty: none).
    pub entrypoint: Vec<String>,
    /// `Config.Cmd` (empty: none).
    pub cmd: Vec<String>,
    /// `Config.Env`, split at the first `=`, in order.
    pub env: Vec<(String, String)>,
    /// `Config.ExposedPorts`, as `8080/tcp`, sorted.
    pub exposed_ports: Vec<String>,
}

impl ImageConfig {
    /// The value of an environment variable (the last one of that name).
    pub fn env_var(&self, name: &str) -> Option<&str> {
        self.env
            .iter()
            .rev()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }
}

impl Engine {
    /// The run configuration of a local image; `None` when the engine has no such image.
    pub async fn image_config(&self, reference: &str) -> Result<Option<ImageConfig>, EngineError> {
        let image = match self.docker.inspect_image(reference).await {
            Ok(image) => image,
            Err(bollard::errors::Error::DockerResponseServerError {
                status_code: 404, ..
            }) => return Ok(None),
            Err(source) => {
                return Err(EngineError::Api {
                    action: format!("inspect image `{reference}`"),
                    source,
                })
            }
        };
        let config = image.config.unwrap_or_default();
        let mut exposed_ports: Vec<String> = config
            .exposed_ports
            .unwrap_or_default()
            .into_iter()
            .collect();
        exposed_ports.sort();
        Ok(Some(ImageConfig {
            id: image.id.unwrap_or_default(),
            user: config.user.unwrap_or_default(),
            workdir: config.working_dir.unwrap_or_default(),
            entrypoint: config.entrypoint.unwrap_or_default(),
            cmd: config.cmd.unwrap_or_default(),
            env: config
                .env
                .unwrap_or_default()
                .into_iter()
                .map(|e| match e.split_once('=') {
                    Some((k, v)) => (k.to_string(), v.to_string()),
                    None => (e, String::new()),
                })
                .collect(),
            exposed_ports,
        }))
    }
}
