//! What goes into a build context: the entries the tool sends to the engine and hashes.

use serde::Serialize;

/// One entry of a build context, as it is sent (paths relative to the context root, `/`-separated).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Entry {
    /// Relative path, `/`-separated, no leading `./`.
    pub path: String,
    /// What it is.
    pub kind: EntryKind,
}

/// The kind of an entry and what identifies its content.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum EntryKind {
    /// A regular file.
    File {
        /// Size in bytes.
        size: u64,
        /// Whether any execute bit is set (sent as mode 0755, else 0644).
        executable: bool,
        /// sha256 of the content.
        sha256: [u8; 32],
    },
    /// A directory (sent as mode 0755).
    Dir,
    /// A symbolic link, sent as a link and never followed.
    Symlink {
        /// The link target, as stored.
        target: String,
    },
}

impl Entry {
    /// The mode the entry is sent with: modes are reduced to 0644/0755 so the key does not depend
    /// on the umask of the checkout.
    pub fn mode(&self) -> u32 {
        match &self.kind {
            EntryKind::File {
                executable: false, ..
            } => 0o644,
            EntryKind::File {
                executable: true, ..
            }
            | EntryKind::Dir => 0o755,
            EntryKind::Symlink { .. } => 0o777,
        }
    }

    /// The bytes of content the entry carries.
    pub fn size(&self) -> u64 {
        match &self.kind {
            EntryKind::File { size, .. } => *size,
            _ => 0,
        }
    }

    /// The entry as `inputs --json` prints it.
    pub fn to_json(&self) -> EntryJson<'_> {
        let (kind, sha256, target) = match &self.kind {
            EntryKind::File { sha256, .. } => ("file", Some(hex::encode(sha256)), None),
            EntryKind::Dir => ("dir", None, None),
            EntryKind::Symlink { target } => ("symlink", None, Some(target.as_str())),
        };
        EntryJson {
            path: &self.path,
            kind,
            mode: format!("{:04o}", self.mode()),
            size: self.size(),
            sha256,
            target,
        }
    }
}

/// JSON form of an entry.
#[derive(Debug, Serialize)]
pub struct EntryJson<'a> {
    /// Relative path.
    pub path: &'a str,
    /// `file`, `dir` or `symlink`.
    #[serde(rename = "type")]
    pub kind: &'static str,
    /// Octal mode as sent.
    pub mode: String,
    /// Bytes.
    pub size: u64,
    /// Content sha256 of a file.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub sha256: Option<String>,
    /// Target of a symlink.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub target: Option<&'a str>,
}
