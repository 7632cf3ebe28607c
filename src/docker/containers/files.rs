//! Reading a container's files through the archive API, without starting it: what is at a path
//! ([`Container::stat`]), where a chain of symbolic links leads ([`Container::resolve`]), and a
//! regular file's bytes up to a cap ([`Container::read_file`]).

use std::io::Read;

use bollard::query_parameters::{ContainerArchiveInfoOptions, DownloadFromContainerOptions};
use futures_util::StreamExt;

use super::Container;
use crate::docker::error::{api, is_not_found};
use crate::docker::EngineError;

/// How many symbolic links a file read follows before giving up (a loop, or a very long chain).
const MAX_LINKS: usize = 8;

/// What a path in a container is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum PathKind {
    /// A regular file.
    File,
    /// A directory.
    Dir,
    /// A symbolic link.
    Symlink,
    /// A device, socket or pipe.
    Other,
}

/// What the archive API says of a path (`HEAD /containers/{id}/archive`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PathInfo {
    /// Its kind (of the path itself, not of a link's target).
    pub kind: PathKind,
    /// Size in bytes.
    pub size: u64,
    /// For a symbolic link, the absolute path it resolves to in the container.
    pub link_target: Option<String>,
    /// Its permission bits (`0o755`), with setuid, setgid and sticky as `0o7000`.
    pub mode: u32,
}

/// The result of reading one file out of a container.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FileContent {
    /// Its bytes.
    File(Vec<u8>),
    /// Nothing is at that path (or a link there leads nowhere).
    Missing,
    /// Something that is not a regular file is there.
    NotAFile(PathKind),
    /// Larger than the cap the caller set.
    TooLarge {
        /// Its size.
        size: u64,
    },
}

/// Go's `os.FileMode` type bits, as the archive API's stat header carries them.
const MODE_DIR: u32 = 1 << 31;
const MODE_SYMLINK: u32 = 1 << 27;
const MODE_TYPE: u32 =
    MODE_DIR | MODE_SYMLINK | (1 << 26) | (1 << 25) | (1 << 24) | (1 << 21) | (1 << 19);

/// Go's setuid, setgid and sticky bits, as the stat header carries them.
const MODE_SETUID: u32 = 1 << 23;
const MODE_SETGID: u32 = 1 << 22;
const MODE_STICKY: u32 = 1 << 20;

/// The Unix permission bits of a Go `os.FileMode`.
fn permissions(mode: u32) -> u32 {
    let mut bits = mode & 0o777;
    if mode & MODE_SETUID != 0 {
        bits |= 0o4000;
    }
    if mode & MODE_SETGID != 0 {
        bits |= 0o2000;
    }
    if mode & MODE_STICKY != 0 {
        bits |= 0o1000;
    }
    bits
}

fn kind_of(mode: u32) -> PathKind {
    if mode & MODE_DIR != 0 {
        PathKind::Dir
    } else if mode & MODE_SYMLINK != 0 {
        PathKind::Symlink
    } else if mode & MODE_TYPE != 0 {
        PathKind::Other
    } else {
        PathKind::File
    }
}

impl Container {
    /// What is at `path` (without following a final symbolic link); `None` when nothing is.
    pub async fn stat(&self, path: &str) -> Result<Option<PathInfo>, EngineError> {
        let options = ContainerArchiveInfoOptions {
            path: path.to_string(),
        };
        match self
            .engine
            .docker
            .get_container_archive_info(&self.id, Some(options))
            .await
        {
            Ok(stat) => {
                let kind = kind_of(stat.file_mode);
                Ok(Some(PathInfo {
                    kind,
                    size: u64::try_from(stat.size).unwrap_or(0),
                    link_target: (kind == PathKind::Symlink && !stat.link_target.is_empty())
                        .then_some(stat.link_target),
                    mode: permissions(stat.file_mode),
                }))
            }
            Err(e) if is_not_found(&e) => Ok(None),
            Err(source) => Err(EngineError::Api {
                action: format!("read `{path}` in container `{}`", self.name),
                source,
            }),
        }
    }

    /// What is at `path` after following symbolic links; `None` when nothing is (a dangling link
    /// counts as nothing). Returns the resolved path too.
    pub async fn resolve(&self, path: &str) -> Result<Option<(String, PathInfo)>, EngineError> {
        let mut current = path.to_string();
        for _ in 0..=MAX_LINKS {
            match self.stat(&current).await? {
                Some(PathInfo {
                    kind: PathKind::Symlink,
                    link_target: Some(target),
                    ..
                }) if target != current => current = target,
                Some(info) => return Ok(Some((current, info))),
                None => return Ok(None),
            }
        }
        Ok(None)
    }

    /// Reads the regular file at `path` (following symbolic links), refusing files larger than
    /// `cap` bytes without downloading them.
    pub async fn read_file(&self, path: &str, cap: u64) -> Result<FileContent, EngineError> {
        let Some((resolved, info)) = self.resolve(path).await? else {
            return Ok(FileContent::Missing);
        };
        if info.kind != PathKind::File {
            return Ok(FileContent::NotAFile(info.kind));
        }
        if info.size > cap {
            return Ok(FileContent::TooLarge { size: info.size });
        }
        let action = || format!("read `{path}` in container `{}`", self.name);
        let options = DownloadFromContainerOptions {
            path: resolved.clone(),
        };
        let mut stream = self
            .engine
            .docker
            .download_from_container(&self.id, Some(options));
        // One file: its headers (a PAX or long-name header at most), its content, padding. Stop
        // early rather than trust the stream to be that small.
        let limit = cap as usize + 64 * 1024;
        let mut tar_bytes = Vec::new();
        while let Some(chunk) = stream.next().await {
            let chunk = chunk.map_err(api(action()))?;
            tar_bytes.extend_from_slice(&chunk);
            if tar_bytes.len() > limit {
                break;
            }
        }
        drop(stream);
        let mut archive = tar::Archive::new(tar_bytes.as_slice());
        let read = |e: std::io::Error| EngineError::Api {
            action: action(),
            source: bollard::errors::Error::IOError { err: e },
        };
        let mut entries = archive.entries().map_err(read)?;
        match entries.next() {
            Some(entry) => {
                let entry = entry.map_err(read)?;
                if entry.header().entry_type() != tar::EntryType::Regular {
                    return Ok(FileContent::NotAFile(PathKind::Other));
                }
                let mut bytes = Vec::new();
                entry.take(cap + 1).read_to_end(&mut bytes).map_err(read)?;
                if bytes.len() as u64 > cap {
                    return Ok(FileContent::TooLarge {
                        size: bytes.len() as u64,
                    });
                }
                Ok(FileContent::File(bytes))
            }
            None => Ok(FileContent::Missing),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn file_modes_map_to_kinds() {
        assert_eq!(kind_of(0o644), PathKind::File);
        assert_eq!(kind_of(MODE_DIR | 0o755), PathKind::Dir);
        assert_eq!(kind_of(MODE_SYMLINK | 0o777), PathKind::Symlink);
        assert_eq!(kind_of((1 << 24) | 0o600), PathKind::Other);
        assert_eq!(permissions(MODE_DIR | 0o755), 0o755);
        assert_eq!(permissions(MODE_SETUID | 0o755), 0o4755);
        assert_eq!(permissions(MODE_DIR | MODE_STICKY | 0o777), 0o1777);
    }
}
