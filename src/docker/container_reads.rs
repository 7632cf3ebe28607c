//! What `test` reads from a container besides a file's bytes: the first tar header of a path's
//! archive (its owner and mode, which the archive API's stat header lacks), and what a finished
//! command wrote to stdout and stderr, kept apart.

use bollard::container::LogOutput;
use bollard::query_parameters::{DownloadFromContainerOptions, LogsOptions};
use futures_util::StreamExt;

use super::error::{api, is_not_found};
use super::{Container, EngineError, PathKind};

/// The first tar header of a path's archive: the path itself as the engine packs it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PathHeader {
    /// Its kind (a symbolic link stays a link).
    pub kind: PathKind,
    /// Permission bits (`0o7777`).
    pub mode: u32,
    /// Owner uid.
    pub uid: u64,
    /// Owner gid.
    pub gid: u64,
}

/// What a container wrote, each stream capped.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Output {
    /// Standard output.
    pub stdout: Vec<u8>,
    /// Standard error.
    pub stderr: Vec<u8>,
    /// Whether either stream was longer than the cap (and cut).
    pub truncated: bool,
}

impl Container {
    /// The first tar header of `path`'s archive (the path itself, a symbolic link as a link):
    /// its owner and permission bits, which the stat header lacks. Reads no more of the archive
    /// than that header, so a large directory costs one block. `None` when nothing is there.
    pub async fn path_header(&self, path: &str) -> Result<Option<PathHeader>, EngineError> {
        let action = || format!("read `{path}` in container `{}`", self.name);
        let options = DownloadFromContainerOptions {
            path: path.to_string(),
        };
        let mut stream = self
            .engine
            .docker
            .download_from_container(&self.id, Some(options));
        let mut tar_bytes = Vec::new();
        // A PAX or GNU long-name header may come first; 64 KiB holds those and the header itself.
        while tar_bytes.len() < 64 * 1024 {
            match stream.next().await {
                Some(Ok(chunk)) => tar_bytes.extend_from_slice(&chunk),
                Some(Err(e)) if is_not_found(&e) => return Ok(None),
                Some(Err(e)) => return Err(api(action())(e)),
                None => break,
            }
        }
        drop(stream);
        let mut archive = tar::Archive::new(tar_bytes.as_slice());
        let read = |e: std::io::Error| EngineError::Api {
            action: action(),
            source: bollard::errors::Error::IOError { err: e },
        };
        let mut entries = archive.entries().map_err(read)?;
        let Some(entry) = entries.next() else {
            return Ok(None);
        };
        let entry = entry.map_err(read)?;
        let header = entry.header();
        let kind = match header.entry_type() {
            tar::EntryType::Regular | tar::EntryType::Continuous => PathKind::File,
            tar::EntryType::Directory => PathKind::Dir,
            tar::EntryType::Symlink => PathKind::Symlink,
            _ => PathKind::Other,
        };
        Ok(Some(PathHeader {
            kind,
            mode: header.mode().map_err(read)? & 0o7777,
            uid: header.uid().map_err(read)?,
            gid: header.gid().map_err(read)?,
        }))
    }

    /// What the container wrote to stdout and stderr, each kept up to `cap` bytes.
    pub async fn output(&self, cap: usize) -> Result<Output, EngineError> {
        let options = LogsOptions {
            stdout: true,
            stderr: true,
            ..Default::default()
        };
        let mut stream = self.engine.docker.logs(&self.id, Some(options));
        let mut output = Output::default();
        while let Some(item) = stream.next().await {
            let item =
                item.map_err(api(format!("read the output of container `{}`", self.name)))?;
            let (sink, bytes) = match item {
                LogOutput::StdErr { message } => (&mut output.stderr, message),
                LogOutput::StdOut { message } | LogOutput::Console { message } => {
                    (&mut output.stdout, message)
                }
                LogOutput::StdIn { .. } => continue,
            };
            let room = cap.saturating_sub(sink.len());
            if bytes.len() > room {
                output.truncated = true;
            }
            sink.extend_from_slice(&bytes[..bytes.len().min(room)]);
        }
        Ok(output)
    }
}
