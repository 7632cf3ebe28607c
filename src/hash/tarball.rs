//! The deterministic build-context tar: sorted entries, a fixed mtime, uid/gid 0, modes reduced to
//! 0644/0755. Each file is hashed again while it is written, so what is sent is exactly what was
//! hashed ("hash what you send, send what you hash").

use std::fs;
use std::io::{self, Read, Write};

use sha2::{Digest as _, Sha256};

use super::dir::Dir;
use super::entry::EntryKind;
use super::inputs::{ImageInputs, OUTSIDE_DOCKERFILE};
use crate::state::ContentCache;

/// The mtime of every entry: a fixed date, so the same inputs give the same bytes. Not 0, since
/// some tools reject timestamps before 1980.
pub const MTIME: u64 = 946_684_800; // 2000-01-01T00:00:00Z

fn header(kind: tar::EntryType, mode: u32, size: u64) -> tar::Header {
    let mut h = tar::Header::new_gnu();
    h.set_entry_type(kind);
    h.set_mode(mode);
    h.set_size(size);
    h.set_mtime(MTIME);
    h.set_uid(0);
    h.set_gid(0);
    h
}

/// A reader that hashes what passes through it, so the caller can compare what was sent with
/// what was hashed (the caller bounds it to the file's hashed size with `take`).
struct Checked<R> {
    inner: R,
    hasher: Sha256,
}

impl<R: Read> Read for Checked<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.hasher.update(&buf[..n]);
        Ok(n)
    }
}

/// Opens the context's files relative to their directories, as the walk does (`openat`), so a
/// path longer than PATH_MAX is sent as it was hashed. Entries come sorted, so the directories
/// open along the current path are kept and only the ones that change are opened.
struct Opener {
    root: std::path::PathBuf,
    /// The open directories below the root: (context-relative path, directory).
    open: Vec<(String, Dir)>,
    root_dir: Option<Dir>,
}

impl Opener {
    fn open(&mut self, rel: &str) -> io::Result<fs::File> {
        let (dir_path, name) = rel.rsplit_once('/').unwrap_or(("", rel));
        // Keep the directories that are a prefix of this file's directory.
        while let Some((path, _)) = self.open.last() {
            let keeps = dir_path == path || dir_path.starts_with(&format!("{path}/"));
            if keeps {
                break;
            }
            self.open.pop();
        }
        if self.root_dir.is_none() {
            self.root_dir = Some(Dir::open(&self.root)?);
        }
        let done = self.open.last().map_or(0, |(path, _)| path.len());
        let rest = dir_path[done..].trim_start_matches('/');
        for component in rest.split('/').filter(|c| !c.is_empty()) {
            let parent = match self.open.last() {
                Some((_, dir)) => dir,
                None => self.root_dir.as_ref().expect("opened above"),
            };
            let child = parent.open_child(&c_name(component)?)?;
            let path = match self.open.last() {
                Some((path, _)) => format!("{path}/{component}"),
                None => component.to_string(),
            };
            self.open.push((path, child));
        }
        let dir = match self.open.last() {
            Some((_, dir)) => dir,
            None => self.root_dir.as_ref().expect("opened above"),
        };
        dir.open_file(&c_name(name)?)
    }
}

fn c_name(name: &str) -> io::Result<std::ffi::CString> {
    std::ffi::CString::new(name).map_err(|_| io::Error::other(format!("`{name}` holds a NUL byte")))
}

/// Writes the context of `inputs` as a tar stream into `out`. An error names the file it
/// concerns, so the cause reaches the user.
pub fn write(inputs: &ImageInputs, out: impl Write) -> io::Result<()> {
    let mut opener = Opener {
        root: inputs.context.clone(),
        open: Vec::new(),
        root_dir: None,
    };
    let mut builder = tar::Builder::new(out);
    builder.mode(tar::HeaderMode::Deterministic);
    for entry in &inputs.entries {
        match &entry.kind {
            EntryKind::Dir => {
                let mut h = header(tar::EntryType::Directory, entry.mode(), 0);
                builder.append_data(&mut h, format!("{}/", entry.path), io::empty())?;
            }
            EntryKind::Symlink { target } => {
                let mut h = header(tar::EntryType::Symlink, entry.mode(), 0);
                builder.append_link(&mut h, &entry.path, target)?;
            }
            EntryKind::File { size, sha256, .. } => {
                let mut h = header(tar::EntryType::Regular, entry.mode(), *size);
                if entry.path == OUTSIDE_DOCKERFILE {
                    builder.append_data(&mut h, &entry.path, inputs.dockerfile_bytes.as_slice())?;
                    continue;
                }
                let source = inputs.source(entry);
                let file = opener.open(&entry.path).map_err(|e| {
                    io::Error::new(e.kind(), format!("cannot send `{}`: {e}", source.display()))
                })?;
                let id = file.metadata().ok().map(|m| {
                    use std::os::unix::fs::MetadataExt;
                    (m.dev(), m.ino())
                });
                let mut checked = Checked {
                    inner: file.take(*size),
                    hasher: Sha256::new(),
                };
                builder.append_data(&mut h, &entry.path, &mut checked)?;
                let sent: [u8; 32] = checked.hasher.finalize().into();
                // A file that grew since it was hashed would be sent cut short, with a matching
                // hash: one more byte to read means it changed.
                let grew = checked.inner.into_inner().read(&mut [0u8; 1])? > 0;
                if &sent != sha256 || grew {
                    // Either the file changed, or the content cache held a stale hash for it
                    // (its record looked intact): the record goes, and the next run reads the
                    // file itself.
                    if let (Some(dir), Some((dev, ino))) = (&inputs.cache_dir, id) {
                        ContentCache::forget(dir, dev, ino);
                    }
                    return Err(io::Error::other(format!(
                        "`{}` changed after it was hashed, or the content cache held a stale hash \
                         for it (that entry is dropped now); run again to hash the current content",
                        source.display()
                    )));
                }
            }
        }
    }
    builder.into_inner()?.flush()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::hash::{inputs, ContentCache};
    use crate::manifest::{parse, LoadOptions};

    /// Reads the inputs of a one-image fleet whose context holds `data.txt`.
    fn inputs_of(dir: &std::path::Path) -> ImageInputs {
        std::fs::create_dir_all(dir.join("web")).unwrap();
        std::fs::write(
            dir.join("web/Dockerfile"),
            "FROM scratch\nCOPY data.txt /\n",
        )
        .unwrap();
        std::fs::write(dir.join("web/data.txt"), "hashed\n").unwrap();
        let manifest = parse(
            &dir.join("fleet.toml"),
            "[images.web]\ncontext = \"web\"\n",
            &LoadOptions::default(),
        )
        .unwrap();
        inputs::read(&manifest.images[0], &ContentCache::disabled()).unwrap()
    }

    /// A file deeper than PATH_MAX (4096 bytes of path) is hashed by the walk's relative opens,
    /// and must be sent the same way (it failed with ENAMETOOLONG, reported as "SendRequest").
    #[test]
    fn sends_a_file_deeper_than_path_max() {
        use rustix::fs::{mkdirat, openat, Mode, OFlags};
        let dir = tempfile::tempdir().unwrap();
        let web = dir.path().join("web");
        std::fs::create_dir_all(&web).unwrap();
        std::fs::write(web.join("Dockerfile"), "FROM scratch\nCOPY deep /deep\n").unwrap();
        let component = "d".repeat(200);
        let mut fd = openat(
            rustix::fs::CWD,
            &web,
            OFlags::RDONLY | OFlags::DIRECTORY,
            Mode::empty(),
        )
        .unwrap();
        mkdirat(&fd, "deep", Mode::from_raw_mode(0o755)).unwrap();
        fd = openat(
            &fd,
            "deep",
            OFlags::RDONLY | OFlags::DIRECTORY,
            Mode::empty(),
        )
        .unwrap();
        for _ in 0..25 {
            mkdirat(&fd, component.as_str(), Mode::from_raw_mode(0o755)).unwrap();
            fd = openat(
                &fd,
                component.as_str(),
                OFlags::RDONLY | OFlags::DIRECTORY,
                Mode::empty(),
            )
            .unwrap();
        }
        let file = openat(
            &fd,
            "leaf.txt",
            OFlags::WRONLY | OFlags::CREATE,
            Mode::from_raw_mode(0o644),
        )
        .unwrap();
        rustix::io::write(&file, b"deep\n").unwrap();
        let manifest = parse(
            &dir.path().join("fleet.toml"),
            "[images.web]\ncontext = \"web\"\n",
            &LoadOptions::default(),
        )
        .unwrap();
        let inputs = inputs::read(&manifest.images[0], &ContentCache::disabled()).unwrap();
        let mut tar = Vec::new();
        write(&inputs, &mut tar).unwrap();
        let mut archive = tar::Archive::new(tar.as_slice());
        let leaf = archive
            .entries()
            .unwrap()
            .map(|e| e.unwrap().path().unwrap().display().to_string())
            .find(|p| p.ends_with("leaf.txt"))
            .expect("the deep file is sent");
        assert!(leaf.len() > 5000, "{}", leaf.len());
    }

    #[test]
    fn sends_what_was_hashed_and_refuses_a_file_changed_or_grown_since() {
        let dir = tempfile::tempdir().unwrap();
        let inputs = inputs_of(dir.path());
        let mut tar = Vec::new();
        write(&inputs, &mut tar).unwrap();
        let mut archive = tar::Archive::new(tar.as_slice());
        let mut names: Vec<String> = archive
            .entries()
            .unwrap()
            .map(|e| e.unwrap().path().unwrap().display().to_string())
            .collect();
        names.sort();
        assert_eq!(names, ["Dockerfile", "data.txt"]);

        let data = dir.path().join("web/data.txt");
        std::fs::write(&data, "HASHED\n").unwrap(); // same size, other bytes
        let error = write(&inputs, &mut Vec::new()).unwrap_err();
        assert!(
            error.to_string().contains("changed after it was hashed"),
            "{error}"
        );

        std::fs::write(&data, "hashed\nand more\n").unwrap(); // the hashed bytes, then more
        let error = write(&inputs, &mut Vec::new()).unwrap_err();
        assert!(
            error.to_string().contains("changed after it was hashed"),
            "{error}"
        );
    }
}
