//! `[images.<name>.test]`: what `test` runs against a built image — a probe (`tcp` / `http`),
//! the configured `user`, and the structure tests container-structure-test users expect:
//! `metadata` (the image's config), `files` (read without running the image), `commands` (each in
//! a new container) and `services` (started beside the image on a private network). Read and
//! validated by `test_section.rs`.

use std::collections::BTreeMap;
use std::time::Duration;

use regex::Regex;

use crate::error::Location;
use crate::names::ImageName;

/// `[images.<name>.test]`.
#[derive(Debug, Clone)]
pub struct TestSpec {
    /// `tcp = PORT` or `http = { … }`; `None` when neither is set: the container must then start
    /// and keep running for a few seconds (an image that serves nothing, such as the agent),
    /// unless the section has `commands`, which then say what the image does.
    pub probe: Option<Probe>,
    /// `user`: the user the container must run as (name or uid).
    pub user: Option<String>,
    /// `timeout`: how long the probe and each service's readiness may take, and the default
    /// deadline of each command test. Default 30s.
    pub timeout: Duration,
    /// `env`: environment for the test container and the command tests.
    pub env: BTreeMap<String, String>,
    /// `[….test.metadata]`: the image's configuration. Default: nothing checked.
    pub metadata: MetadataTest,
    /// `[[….test.files]]`: paths in the image's file system, in file order.
    pub files: Vec<FileTest>,
    /// `[[….test.commands]]`: commands run in new containers, in file order.
    pub commands: Vec<CommandTest>,
    /// `[[….test.services]]`: containers started first, on a private network with the image.
    pub services: Vec<ServiceSpec>,
    /// Where the table is.
    pub location: Location,
}

impl TestSpec {
    /// Whether the image under test itself is started: for a probe, or, with neither a probe nor
    /// commands, to see that it keeps running.
    pub fn starts_image(&self) -> bool {
        self.probe.is_some() || self.commands.is_empty()
    }
}

/// What `test` waits for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Probe {
    /// A TCP connection succeeds.
    Tcp {
        /// Container port.
        port: u16,
    },
    /// An HTTP GET answers as expected.
    Http {
        /// Container port.
        port: u16,
        /// Path, default `/`.
        path: String,
        /// Expected status, default 200.
        status: u16,
        /// Text the body must contain, when set.
        contains: Option<String>,
    },
}

impl Probe {
    /// The container port probed.
    pub fn port(&self) -> u16 {
        match self {
            Probe::Tcp { port } | Probe::Http { port, .. } => *port,
        }
    }
}

/// `[images.<name>.test.metadata]`: each key optional; an absent key is not checked.
#[derive(Debug, Clone, Default)]
pub struct MetadataTest {
    /// `user`: `Config.User`, exactly (`""` is root by default).
    pub user: Option<String>,
    /// `workdir`: `Config.WorkingDir`, exactly.
    pub workdir: Option<String>,
    /// `entrypoint`: `Config.Entrypoint`, exactly (`[]`: none).
    pub entrypoint: Option<Vec<String>>,
    /// `cmd`: `Config.Cmd`, exactly (`[]`: none).
    pub cmd: Option<Vec<String>>,
    /// `env`: each variable set to exactly this value; others may exist.
    pub env: BTreeMap<String, String>,
    /// `exposed_ports`: exactly these, normalised to `PORT/PROTO` (`8080` is `8080/tcp`), sorted.
    pub exposed_ports: Option<Vec<String>>,
}

impl MetadataTest {
    /// Whether nothing is checked.
    pub fn is_empty(&self) -> bool {
        self.user.is_none()
            && self.workdir.is_none()
            && self.entrypoint.is_none()
            && self.cmd.is_none()
            && self.env.is_empty()
            && self.exposed_ports.is_none()
    }
}

/// What a path must be, in a file test.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FileType {
    /// A regular file.
    File,
    /// A directory.
    Dir,
    /// A symbolic link (the path itself, not its target).
    Symlink,
}

impl FileType {
    /// As written in the manifest.
    pub fn as_str(self) -> &'static str {
        match self {
            FileType::File => "file",
            FileType::Dir => "dir",
            FileType::Symlink => "symlink",
        }
    }
}

/// `owner = "uid"` or `"uid:gid"`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Owner {
    /// The user id.
    pub uid: u64,
    /// The group id, when given.
    pub gid: Option<u64>,
}

impl std::fmt::Display for Owner {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self.gid {
            Some(gid) => write!(f, "{}:{gid}", self.uid),
            None => write!(f, "{}", self.uid),
        }
    }
}

/// One `[[images.<name>.test.files]]` entry.
#[derive(Debug, Clone)]
pub struct FileTest {
    /// `path`: absolute (required).
    pub path: String,
    /// `exists`: default true; false asserts that nothing is at `path` (and allows no other key).
    pub exists: bool,
    /// `type`: `file`, `dir` or `symlink`; not checked when absent.
    pub kind: Option<FileType>,
    /// `mode`: the permission bits (`0644`, up to `07777`); not checked when absent.
    pub mode: Option<u32>,
    /// `owner`: not checked when absent.
    pub owner: Option<Owner>,
    /// `contains`: text the regular file's content (after symbolic links) must contain. Not with
    /// `type = "dir"`.
    pub contains: Option<String>,
    /// `matches`: a regex (Rust `regex` syntax) that must match somewhere in the content.
    pub matches: Option<Regex>,
    /// Where the entry is.
    pub location: Location,
}

/// One `[[images.<name>.test.commands]]` entry.
#[derive(Debug, Clone)]
pub struct CommandTest {
    /// `name`: shown in the report (required).
    pub name: String,
    /// `run`: the argv (required, not empty); replaces the image's ENTRYPOINT and CMD.
    pub run: Vec<String>,
    /// `env`: added to the section's `env` (overriding it for the same name).
    pub env: BTreeMap<String, String>,
    /// `exit_code`: default 0.
    pub exit_code: i64,
    /// `stdout_contains`: text stdout must contain.
    pub stdout_contains: Option<String>,
    /// `stdout_matches`: a regex stdout must match.
    pub stdout_matches: Option<Regex>,
    /// `stderr_contains`: text stderr must contain.
    pub stderr_contains: Option<String>,
    /// `stderr_matches`: a regex stderr must match.
    pub stderr_matches: Option<Regex>,
    /// `timeout`: how long the command may run; default the section's `timeout`.
    pub timeout: Duration,
    /// Where the entry is.
    pub location: Location,
}

/// Where a service's image comes from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ServiceImage {
    /// `image = "<fleet image>"`: that image of this manifest, built with its current key.
    Fleet(ImageName),
    /// `reference = "…"`: any image the engine has.
    Reference(String),
}

/// `ready = { port, path }`: when a service counts as ready.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Readiness {
    /// The service's container port.
    pub port: u16,
    /// With a path: an HTTP GET answering 2xx; without: a TCP connection.
    pub path: Option<String>,
}

/// One `[[images.<name>.test.services]]` entry.
#[derive(Debug, Clone)]
pub struct ServiceSpec {
    /// `name`: its host name on the test network (required; letters, digits, `-`).
    pub name: String,
    /// `image` or `reference` (exactly one).
    pub image: ServiceImage,
    /// Where `image` (or `reference`) is written.
    pub image_location: Location,
    /// `env`: the service container's environment.
    pub env: BTreeMap<String, String>,
    /// `ready`: when absent, the service only has to be running.
    pub ready: Option<Readiness>,
    /// Where the entry is.
    pub location: Location,
}
