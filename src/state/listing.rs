//! A directory listing as the content cache keeps it: each name with its kind, when the file
//! system told it. The walk in `hash/` reads directories into these; the cache stores them.

use std::ffi::CString;

/// What a name in a directory is, as far as the walk cares.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// A directory.
    Dir,
    /// A regular file.
    File,
    /// A symbolic link.
    Symlink,
    /// Sockets, fifos and devices: they cannot be sent in a build context.
    Other,
}

/// One name in a directory listing, with its kind when the listing tells it (most file systems
/// do; for the others the walk asks `fstatat`).
#[derive(Debug)]
pub struct Name {
    /// The name.
    pub name: CString,
    /// Its kind, when known.
    pub kind: Option<Kind>,
}
