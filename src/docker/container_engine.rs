//! The engine as `test` and `check` see it: inspect an image and read its configuration, create
//! containers and private networks, and work with them. [`ContainerEngine`] speaks the project's own types
//! ([`ContainerRequest`], [`ContainerStatus`], [`PathInfo`], [`FileContent`], [`Output`],
//! [`EngineError`]); [`Engine`] implements it with its [`Container`] and [`Network`] guards, a
//! double implements it in the unit tests of `src/imagetest/` and `src/check/`.
//!
//! The containers and networks are associated types so that the real ones stay guards: one that
//! is dropped instead of removed (Ctrl+C) still hands its removal to the cleaner
//! (`containers/cleanup.rs`), and [`ContainerEngine::settle`] waits for those removals.

use std::future::Future;

use super::container_reads::{Output, PathHeader};
use super::containers::{
    settle_removals, Container, ContainerRequest, ContainerStatus, FileContent, PathInfo,
};
use super::image_config::ImageConfig;
use super::network::Network;
use super::{Engine, EngineError, ImageDetails};

/// The engine calls that `test` and `check` make.
pub trait ContainerEngine: Sync {
    /// A created container; removes it when dropped unless removed or kept.
    type Container: TestContainer;
    /// A created network; removes it when dropped unless removed or kept.
    type Network: TestNetwork;

    /// What a local image is (id, platform, user, ports, environment, healthcheck); `None` when
    /// the engine has no such image.
    fn inspect_image(
        &self,
        reference: &str,
    ) -> impl Future<Output = Result<Option<ImageDetails>, EngineError>> + Send;

    /// The run configuration of a local image; `None` when the engine has no such image.
    fn image_config(
        &self,
        reference: &str,
    ) -> impl Future<Output = Result<Option<ImageConfig>, EngineError>> + Send;

    /// Creates a container (never starts it).
    fn create_container(
        &self,
        request: &ContainerRequest,
    ) -> impl Future<Output = Result<Self::Container, EngineError>> + Send;

    /// Creates a private bridge network whose name starts with `fleet-images-<purpose>-<name>-`.
    fn create_network(
        &self,
        purpose: &str,
        name: &str,
    ) -> impl Future<Output = Result<Self::Network, EngineError>> + Send;

    /// Waits until the containers and networks of guards dropped so far are removed.
    fn settle(&self) -> impl Future<Output = ()> + Send;
}

/// A container created through a [`ContainerEngine`].
pub trait TestContainer: Send + Sync + Sized {
    /// Its name.
    fn name(&self) -> &str;

    /// Starts it.
    fn start(&self) -> impl Future<Output = Result<(), EngineError>> + Send;

    /// Whether it runs, and how it exited.
    fn status(&self) -> impl Future<Output = Result<ContainerStatus, EngineError>> + Send;

    /// The host port on 127.0.0.1 that `container_port` is published on, once it runs.
    fn host_port(
        &self,
        container_port: u16,
    ) -> impl Future<Output = Result<Option<u16>, EngineError>> + Send;

    /// The user it was configured to run as (empty means root).
    fn configured_user(&self) -> impl Future<Output = Result<String, EngineError>> + Send;

    /// The last `tail` lines of its output, stdout and stderr interleaved.
    fn logs(&self, tail: usize) -> impl Future<Output = Result<Vec<String>, EngineError>> + Send;

    /// What it wrote to stdout and stderr, each kept up to `cap` bytes.
    fn output(&self, cap: usize) -> impl Future<Output = Result<Output, EngineError>> + Send;

    /// What is at `path` (a final symbolic link not followed); `None` when nothing is.
    fn stat(
        &self,
        path: &str,
    ) -> impl Future<Output = Result<Option<PathInfo>, EngineError>> + Send;

    /// What is at `path` after following symbolic links, and the path it resolved to; `None`
    /// when nothing is (a dangling link counts as nothing).
    fn resolve(
        &self,
        path: &str,
    ) -> impl Future<Output = Result<Option<(String, PathInfo)>, EngineError>> + Send;

    /// The owner and permission bits of `path` from its archive; `None` when nothing is there.
    fn path_header(
        &self,
        path: &str,
    ) -> impl Future<Output = Result<Option<PathHeader>, EngineError>> + Send;

    /// The regular file at `path` (symbolic links followed), refused above `cap` bytes.
    fn read_file(
        &self,
        path: &str,
        cap: u64,
    ) -> impl Future<Output = Result<FileContent, EngineError>> + Send;

    /// Kills and removes it.
    fn remove(self) -> impl Future<Output = Result<(), EngineError>> + Send;

    /// Leaves it in place (`--keep`); returns its id.
    fn keep(self) -> String;
}

/// A network created through a [`ContainerEngine`].
pub trait TestNetwork: Send + Sync + Sized {
    /// Its name, which containers join it by.
    fn name(&self) -> &str;

    /// Removes it; remove the containers attached to it first.
    fn remove(self) -> impl Future<Output = Result<(), EngineError>> + Send;

    /// Leaves it in place (`--keep`); returns its name.
    fn keep(self) -> String;
}

impl ContainerEngine for Engine {
    type Container = Container;
    type Network = Network;

    fn inspect_image(
        &self,
        reference: &str,
    ) -> impl Future<Output = Result<Option<ImageDetails>, EngineError>> + Send {
        Engine::inspect(self, reference)
    }

    fn image_config(
        &self,
        reference: &str,
    ) -> impl Future<Output = Result<Option<ImageConfig>, EngineError>> + Send {
        Engine::image_config(self, reference)
    }

    fn create_container(
        &self,
        request: &ContainerRequest,
    ) -> impl Future<Output = Result<Container, EngineError>> + Send {
        Engine::create_container(self, request)
    }

    fn create_network(
        &self,
        purpose: &str,
        name: &str,
    ) -> impl Future<Output = Result<Network, EngineError>> + Send {
        Engine::create_network(self, purpose, name)
    }

    fn settle(&self) -> impl Future<Output = ()> + Send {
        settle_removals()
    }
}

impl TestContainer for Container {
    fn name(&self) -> &str {
        Container::name(self)
    }

    fn start(&self) -> impl Future<Output = Result<(), EngineError>> + Send {
        Container::start(self)
    }

    fn status(&self) -> impl Future<Output = Result<ContainerStatus, EngineError>> + Send {
        Container::status(self)
    }

    fn host_port(
        &self,
        container_port: u16,
    ) -> impl Future<Output = Result<Option<u16>, EngineError>> + Send {
        Container::host_port(self, container_port)
    }

    fn configured_user(&self) -> impl Future<Output = Result<String, EngineError>> + Send {
        Container::configured_user(self)
    }

    fn logs(&self, tail: usize) -> impl Future<Output = Result<Vec<String>, EngineError>> + Send {
        Container::logs(self, tail)
    }

    fn output(&self, cap: usize) -> impl Future<Output = Result<Output, EngineError>> + Send {
        Container::output(self, cap)
    }

    fn stat(
        &self,
        path: &str,
    ) -> impl Future<Output = Result<Option<PathInfo>, EngineError>> + Send {
        Container::stat(self, path)
    }

    fn resolve(
        &self,
        path: &str,
    ) -> impl Future<Output = Result<Option<(String, PathInfo)>, EngineError>> + Send {
        Container::resolve(self, path)
    }

    fn path_header(
        &self,
        path: &str,
    ) -> impl Future<Output = Result<Option<PathHeader>, EngineError>> + Send {
        Container::path_header(self, path)
    }

    fn read_file(
        &self,
        path: &str,
        cap: u64,
    ) -> impl Future<Output = Result<FileContent, EngineError>> + Send {
        Container::read_file(self, path, cap)
    }

    fn remove(self) -> impl Future<Output = Result<(), EngineError>> + Send {
        Container::remove(self)
    }

    fn keep(self) -> String {
        Container::keep(self)
    }
}

impl TestNetwork for Network {
    fn name(&self) -> &str {
        Network::name(self)
    }

    fn remove(self) -> impl Future<Output = Result<(), EngineError>> + Send {
        Network::remove(self)
    }

    fn keep(self) -> String {
        Network::keep(self)
    }
}
