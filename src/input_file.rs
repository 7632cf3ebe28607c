//! Reading a file the user named (the manifest, a Dockerfile, a `.dockerignore`): only a regular
//! file, and only up to a cap, so that a fifo cannot hang the tool and a link to `/dev/zero`
//! cannot fill memory.
//!
//! The file is opened with `O_NONBLOCK` (opening a fifo for reading otherwise waits for a writer,
//! and Ctrl+C cannot interrupt a blocked `open`), its type is checked on the open descriptor, and
//! at most `cap + 1` bytes are read. The errors are `std::io::Error`s whose message says what the
//! file is, so that they fit the existing "cannot read `path`" errors and keep their cause.

use std::fs::{File, OpenOptions};
use std::io::{self, Read};
use std::os::unix::fs::{FileTypeExt, OpenOptionsExt};
use std::path::Path;

/// The most a manifest may hold: 8 MiB (README, "Limits").
pub const MANIFEST_CAP: u64 = 8 << 20;
/// The most a Dockerfile may hold: 4 MiB (README, "Limits").
pub const DOCKERFILE_CAP: u64 = 4 << 20;
/// The most a Docker configuration file (`config.json`, a context's `meta.json`) may hold: 4 MiB.
pub const CONFIG_CAP: u64 = 4 << 20;
/// The most a file of the tool's own state (input records, the known-images index, a report read
/// back by `rollback`) may hold: 256 MiB.
pub const STATE_CAP: u64 = 256 << 20;
/// The most a `.dockerignore` may hold: 1 MiB (README, "Limits").
pub const IGNORE_CAP: u64 = 1 << 20;

/// Reads the regular file at `path` (links followed), refusing anything else and anything larger
/// than `cap` bytes. A missing file is `NotFound`, as from `std::fs::read`.
pub fn read_capped(path: &Path, cap: u64) -> io::Result<Vec<u8>> {
    let file = OpenOptions::new()
        .read(true)
        .custom_flags(rustix::fs::OFlags::NONBLOCK.bits() as i32)
        .open(path)?;
    check_regular(&file)?;
    let mut bytes = Vec::new();
    file.take(cap + 1).read_to_end(&mut bytes)?;
    if bytes.len() as u64 > cap {
        return Err(io::Error::new(
            io::ErrorKind::FileTooLarge,
            format!("it is larger than the {} cap", size(cap)),
        ));
    }
    Ok(bytes)
}

/// Reads a capped regular file as text; bytes that are not UTF-8 are an error, not replaced.
pub fn read_text_capped(path: &Path, cap: u64) -> io::Result<String> {
    let bytes = read_capped(path, cap)?;
    String::from_utf8(bytes).map_err(|e| {
        io::Error::new(
            io::ErrorKind::InvalidData,
            format!(
                "it is not UTF-8 text (invalid byte at offset {})",
                e.utf8_error().valid_up_to()
            ),
        )
    })
}

fn check_regular(file: &File) -> io::Result<()> {
    let kind = file.metadata()?.file_type();
    if kind.is_file() {
        return Ok(());
    }
    let what = if kind.is_dir() {
        "a directory"
    } else if kind.is_fifo() {
        "a fifo (named pipe)"
    } else if kind.is_char_device() {
        "a character device"
    } else if kind.is_block_device() {
        "a block device"
    } else if kind.is_socket() {
        "a socket"
    } else {
        "not a regular file"
    };
    Err(io::Error::new(
        io::ErrorKind::InvalidInput,
        format!("it is {what}, not a regular file"),
    ))
}

fn size(bytes: u64) -> String {
    if bytes >= 1 << 20 {
        format!("{} MiB", bytes >> 20)
    } else {
        format!("{} KiB", bytes >> 10)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_fifo_is_refused_without_waiting_for_a_writer() {
        let dir = tempfile::tempdir().unwrap();
        let fifo = dir.path().join("Dockerfile");
        rustix::fs::mkfifoat(
            rustix::fs::CWD,
            &fifo,
            rustix::fs::Mode::from_raw_mode(0o600),
        )
        .unwrap();
        let error = read_capped(&fifo, DOCKERFILE_CAP).unwrap_err();
        assert_eq!(
            error.to_string(),
            "it is a fifo (named pipe), not a regular file"
        );
    }

    #[test]
    fn a_device_and_a_directory_are_refused() {
        let error = read_capped(Path::new("/dev/zero"), IGNORE_CAP).unwrap_err();
        assert_eq!(
            error.to_string(),
            "it is a character device, not a regular file"
        );
        let dir = tempfile::tempdir().unwrap();
        let error = read_capped(dir.path(), IGNORE_CAP).unwrap_err();
        assert_eq!(error.to_string(), "it is a directory, not a regular file");
    }

    #[test]
    fn a_file_over_the_cap_is_refused_and_one_at_the_cap_is_read() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join(".dockerignore");
        std::fs::write(&path, vec![b'a'; 1024]).unwrap();
        assert_eq!(read_capped(&path, 1024).unwrap().len(), 1024);
        let error = read_capped(&path, 1023).unwrap_err();
        assert_eq!(error.kind(), io::ErrorKind::FileTooLarge);
        assert_eq!(
            read_capped(&dir.path().join("none"), 1).unwrap_err().kind(),
            io::ErrorKind::NotFound
        );
    }
}
