//! The canonical, versioned encoding of an image's inputs that its key is the sha256 of.
//!
//! Every field is length-prefixed and tagged, so no two different sets of inputs encode to the
//! same bytes. Changing anything here changes every key: bump [`SCHEME`] when doing so on purpose.

use sha2::{Digest as _, Sha256};

use super::entry::{Entry, EntryKind};
use crate::names::{ImageName, Key};

/// The version of the key scheme. Part of every key.
pub const SCHEME: &str = "fleet-images key v1";

/// Everything an image's key covers besides its context entries.
#[derive(Debug, Clone)]
pub struct KeyInputs<'a> {
    /// The Dockerfile's bytes.
    pub dockerfile: &'a [u8],
    /// Where the Dockerfile sits in the sent context.
    pub dockerfile_path: &'a str,
    /// Build args passed to the engine (absent = unset, which differs from empty).
    pub args: &'a [(String, String)],
    /// Target stage.
    pub target: Option<&'a str>,
    /// Platform, as `os/arch[/variant]`.
    pub platform: &'a str,
    /// Each external base image with its identity (registry digest, local image id, or
    /// `unresolved:<reference>`).
    pub bases: &'a [(String, String)],
    /// Each fleet image built on, with its key.
    pub dependencies: &'a [(ImageName, Key)],
    /// The sent entries, sorted by path.
    pub entries: &'a [Entry],
}

/// Writes fields into a buffer that is hashed in large pieces: a context of tens of thousands of
/// entries is hundreds of thousands of small fields.
struct Encoder {
    hasher: Sha256,
    buffer: Vec<u8>,
}

impl Encoder {
    const PIECE: usize = 64 * 1024;

    fn field(&mut self, tag: &str, parts: &[&[u8]]) {
        self.buffer
            .extend_from_slice(&(tag.len() as u64).to_le_bytes());
        self.buffer.extend_from_slice(tag.as_bytes());
        self.buffer
            .extend_from_slice(&(parts.len() as u64).to_le_bytes());
        for part in parts {
            self.buffer
                .extend_from_slice(&(part.len() as u64).to_le_bytes());
            self.buffer.extend_from_slice(part);
        }
        if self.buffer.len() >= Self::PIECE {
            self.hasher.update(&self.buffer);
            self.buffer.clear();
        }
    }

    fn finish(mut self) -> Key {
        self.hasher.update(&self.buffer);
        Key::from_bytes(self.hasher.finalize().into())
    }
}

/// Computes the key.
pub fn compute(inputs: &KeyInputs<'_>) -> Key {
    let mut e = Encoder {
        hasher: Sha256::new(),
        buffer: Vec::with_capacity(Encoder::PIECE + 4096),
    };
    e.field("scheme", &[SCHEME.as_bytes()]);
    e.field(
        "dockerfile",
        &[
            inputs.dockerfile_path.as_bytes(),
            &Sha256::digest(inputs.dockerfile),
        ],
    );
    let mut args: Vec<_> = inputs.args.iter().collect();
    args.sort();
    for (name, value) in args {
        e.field("arg", &[name.as_bytes(), value.as_bytes()]);
    }
    e.field(
        "target",
        &[
            inputs.target.unwrap_or("").as_bytes(),
            &[u8::from(inputs.target.is_some())],
        ],
    );
    e.field("platform", &[inputs.platform.as_bytes()]);
    let mut bases: Vec<_> = inputs.bases.iter().collect();
    bases.sort();
    for (reference, identity) in bases {
        e.field("base", &[reference.as_bytes(), identity.as_bytes()]);
    }
    let mut deps: Vec<_> = inputs.dependencies.iter().collect();
    deps.sort();
    for (name, key) in deps {
        e.field("dependency", &[name.as_str().as_bytes(), key.as_bytes()]);
    }
    for entry in inputs.entries {
        match &entry.kind {
            EntryKind::File {
                executable, sha256, ..
            } => {
                e.field(
                    "file",
                    &[entry.path.as_bytes(), &[u8::from(*executable)], sha256],
                );
            }
            EntryKind::Dir => e.field("dir", &[entry.path.as_bytes()]),
            EntryKind::Symlink { target } => {
                e.field("symlink", &[entry.path.as_bytes(), target.as_bytes()])
            }
        }
    }
    e.finish()
}
