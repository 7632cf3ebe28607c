//! Private networks for image tests with services: a user-defined bridge network, so that the
//! engine's embedded DNS resolves each service by its alias (the default bridge does not).
//!
//! A [`Network`] is a guard like [`Container`](super::Container): its owner awaits
//! [`Network::remove`] after removing the containers attached to it (the engine refuses to remove
//! a network with active endpoints); if it is dropped instead, `Drop` hands it to the cleaner,
//! after the containers dropped before it (`containers/cleanup.rs`). Networks carry [`TEST_LABEL`](super::TEST_LABEL) like the test containers.

use std::collections::HashMap;

use bollard::models::NetworkCreateRequest;

use super::containers::cleanup::{hand_off, remove_network, Leftover};
use super::containers::{unique_name, TEST_LABEL};
use super::{Engine, EngineError};

/// A network the tool created; removed when dropped unless kept.
#[derive(Debug)]
pub struct Network {
    engine: Engine,
    name: String,
    armed: bool,
}

impl Engine {
    /// Creates a bridge network named `fleet-images-<purpose>-<name>-<pid>-<n>-<nanos>`.
    pub async fn create_network(&self, purpose: &str, name: &str) -> Result<Network, EngineError> {
        let name = unique_name(purpose, name);
        // Armed before the call, as for containers: an interrupted create is still cleaned up.
        let network = Network {
            engine: self.clone(),
            name: name.clone(),
            armed: true,
        };
        let request = NetworkCreateRequest {
            name: name.clone(),
            driver: Some("bridge".into()),
            labels: Some(HashMap::from([(TEST_LABEL.to_string(), "1".to_string())])),
            ..Default::default()
        };
        self.docker
            .create_network(request)
            .await
            .map_err(|source| EngineError::Api {
                action: format!("create network `{name}`"),
                source,
            })?;
        Ok(network)
    }
}

impl Network {
    /// Its name, which containers join it by.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// Removes it; remove the containers attached to it first.
    pub async fn remove(mut self) -> Result<(), EngineError> {
        self.armed = false;
        remove_network(&self.engine.docker, &self.name)
            .await
            .map_err(|source| EngineError::Api {
                action: format!("remove network `{}`", self.name),
                source,
            })
    }

    /// Leaves it in place (`--keep`); returns its name.
    pub fn keep(mut self) -> String {
        self.armed = false;
        std::mem::take(&mut self.name)
    }
}

impl Drop for Network {
    fn drop(&mut self) {
        if self.armed {
            hand_off(Leftover::Network(std::mem::take(&mut self.name)));
        }
    }
}
