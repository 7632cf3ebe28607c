//! A directory of the build context held open by its descriptor, and what the walk asks of it:
//! its names, the metadata and content of a file in it, a link's target, a subdirectory.
//!
//! Every call is relative to the directory (`openat`, `fstatat`, `getdents64`, through rustix):
//! on a tree of many small files the system calls are most of a run's time, and a relative call
//! does not resolve the whole path from the root again. Files are read exactly as long as the
//! metadata said, in pieces that stay in the core's cache while they are hashed.

use std::cell::RefCell;
use std::ffi::{CStr, CString};
use std::io;
use std::os::fd::{AsFd, OwnedFd};
use std::path::Path;

use rustix::fs::{self as rfs, AtFlags, FileType, Mode, OFlags};
use sha2::{Digest as _, Sha256};

use crate::state::{Kind, Name, Stamp};

/// Bytes read at a time when hashing: small enough that a piece is still in the core's cache
/// when it is hashed (a 1 MiB piece, larger than the L2 cache, halved throughput), large enough
/// that a large file costs few system calls.
const READ_PIECE: usize = 128 * 1024;

/// What a name's file type makes it for the walk; `None` when the listing does not tell.
fn kind_of(file_type: FileType) -> Option<Kind> {
    Some(match file_type {
        FileType::Directory => Kind::Dir,
        FileType::RegularFile => Kind::File,
        FileType::Symlink => Kind::Symlink,
        FileType::Unknown => return None,
        _ => Kind::Other,
    })
}

/// The metadata of one name in a directory.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Meta {
    pub(crate) kind: Kind,
    pub(crate) stamp: Stamp,
    pub(crate) executable: bool,
}

impl Meta {
    // The field types of `struct stat` differ between platforms; the casts are no-ops on some.
    #[allow(clippy::unnecessary_cast)]
    fn of(stat: &rfs::Stat) -> Meta {
        Meta {
            kind: kind_of(FileType::from_raw_mode(stat.st_mode as _)).unwrap_or(Kind::Other),
            stamp: Stamp::new(
                stat.st_dev as u64,
                stat.st_ino as u64,
                stat.st_size as u64,
                (stat.st_mtime as i64, stat.st_mtime_nsec as i64),
                (stat.st_ctime as i64, stat.st_ctime_nsec as i64),
            ),
            executable: stat.st_mode as u32 & 0o111 != 0,
        }
    }
}

/// An open directory.
#[derive(Debug)]
pub(crate) struct Dir {
    fd: OwnedFd,
}

impl Dir {
    /// Opens the directory at `path` (following symbolic links, as a context path given by the
    /// user is followed).
    pub(crate) fn open(path: &Path) -> io::Result<Dir> {
        let fd = rfs::open(
            path,
            OFlags::RDONLY | OFlags::DIRECTORY | OFlags::CLOEXEC,
            Mode::empty(),
        )?;
        Ok(Dir { fd })
    }

    /// Opens the subdirectory `name`; a symbolic link is not followed (the walk found a
    /// directory, and a link put there meanwhile must not lead it outside the context).
    pub(crate) fn open_child(&self, name: &CStr) -> io::Result<Dir> {
        let fd = rfs::openat(
            &self.fd,
            name,
            OFlags::RDONLY | OFlags::DIRECTORY | OFlags::CLOEXEC | OFlags::NOFOLLOW,
            Mode::empty(),
        )?;
        Ok(Dir { fd })
    }

    /// Every name in the directory but `.` and `..`, in the order the file system gives them.
    pub(crate) fn names(&self) -> io::Result<Vec<Name>> {
        let mut names = Vec::new();
        let mut push = |name: &CStr, file_type: FileType| {
            let bytes = name.to_bytes();
            if bytes != b"." && bytes != b".." {
                names.push(Name {
                    name: name.to_owned(),
                    kind: kind_of(file_type),
                });
            }
        };
        #[cfg(target_os = "linux")]
        {
            use std::mem::MaybeUninit;
            thread_local! {
                static LISTING: RefCell<Vec<MaybeUninit<u8>>> =
                    RefCell::new(vec![MaybeUninit::uninit(); 32 * 1024]);
            }
            LISTING.with(|buffer| {
                let mut buffer = buffer.borrow_mut();
                let mut dir = rfs::RawDir::new(self.fd.as_fd(), &mut buffer);
                while let Some(entry) = dir.next() {
                    let entry = entry?;
                    push(entry.file_name(), entry.file_type());
                }
                Ok::<_, io::Error>(())
            })?;
        }
        #[cfg(not(target_os = "linux"))]
        {
            let mut dir = rfs::Dir::read_from(&self.fd)?;
            while let Some(entry) = dir.read() {
                let entry = entry?;
                push(entry.file_name(), entry.file_type());
            }
        }
        Ok(names)
    }

    /// Opens the regular file `name` for reading, not following a symbolic link (as the walk
    /// hashed it).
    pub(crate) fn open_file(&self, name: &CStr) -> io::Result<std::fs::File> {
        let fd = rfs::openat(
            &self.fd,
            name,
            OFlags::RDONLY | OFlags::CLOEXEC | OFlags::NOFOLLOW,
            Mode::empty(),
        )?;
        Ok(std::fs::File::from(fd))
    }

    /// The metadata of `name`, not following a symbolic link.
    pub(crate) fn stat(&self, name: &CStr) -> io::Result<Meta> {
        let stat = rfs::statat(&self.fd, name, AtFlags::SYMLINK_NOFOLLOW)?;
        Ok(Meta::of(&stat))
    }

    /// The metadata of the directory itself.
    pub(crate) fn stat_self(&self) -> io::Result<Meta> {
        Ok(Meta::of(&rfs::fstat(&self.fd)?))
    }

    /// The target of the symbolic link `name`, as stored.
    pub(crate) fn read_link(&self, name: &CStr) -> io::Result<CString> {
        Ok(rfs::readlinkat(&self.fd, name, Vec::new())?)
    }

    /// The sha256 of the first `stamp.size()` bytes of the regular file `name`, or `None` when it
    /// is shorter now: the caller stats it again and retries.
    ///
    /// The file is not stat'ed again after reading (on a cold run of many small files that is a
    /// fifth of the system calls). A file rewritten while it is read can give a hash of neither
    /// version, but never a wrong build: its stamp has moved, so the next run hashes it again,
    /// and a build hashes what it sends and stops on any difference from the plan.
    pub(crate) fn hash_file(&self, name: &CStr, stamp: &Stamp) -> io::Result<Option<[u8; 32]>> {
        thread_local! {
            static PIECE: RefCell<Vec<u8>> = RefCell::new(vec![0; READ_PIECE]);
        }
        let fd = rfs::openat(
            &self.fd,
            name,
            OFlags::RDONLY | OFlags::CLOEXEC | OFlags::NOFOLLOW,
            Mode::empty(),
        )?;
        let mut hasher = Sha256::new();
        let complete = PIECE.with(|piece| {
            let mut piece = piece.borrow_mut();
            let mut left = stamp.size();
            while left > 0 {
                let want = left.min(READ_PIECE as u64) as usize;
                let n = match rustix::io::read(&fd, &mut piece[..want]) {
                    Ok(0) => return Ok(false),
                    Ok(n) => n,
                    Err(rustix::io::Errno::INTR) => continue,
                    Err(e) => return Err(io::Error::from(e)),
                };
                hasher.update(&piece[..n]);
                left -= n as u64;
            }
            Ok(true)
        })?;
        Ok(complete.then(|| hasher.finalize().into()))
    }
}
