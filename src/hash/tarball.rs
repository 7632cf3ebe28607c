//! The deterministic build-context tar: sorted entries, a fixed mtime, uid/gid 0, modes reduced to
//! 0644/0755. Each file is hashed again while it is written, so what is sent is exactly what was
//! hashed ("hash what you send, send what you hash").

use std::fs;
use std::io::{self, Read, Write};

use sha2::{Digest as _, Sha256};

use super::entry::EntryKind;
use super::inputs::{ImageInputs, OUTSIDE_DOCKERFILE};

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

/// Writes the context of `inputs` as a tar stream into `out`.
pub fn write(inputs: &ImageInputs, out: impl Write) -> io::Result<()> {
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
                let file = fs::File::open(&source)?;
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
                    return Err(io::Error::other(format!(
                        "`{}` changed after it was hashed; run again to hash the new content",
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
