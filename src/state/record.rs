//! The record of an image's inputs at the last successful plan or build on this machine, kept as
//! `inputs/<image>.json` in the state directory with its key beside it (`inputs/<image>.key`),
//! which `plan --explain` compares the current inputs against (the comparison is
//! `plan::explain`). Arg values are kept only as salted hashes (see [`super::salt`]).

use std::borrow::Cow;
use std::collections::BTreeMap;
use std::fmt;
use std::fs;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use serde::ser::SerializeMap;
use serde::{Deserialize, Serialize};
use sha2::{Digest as _, Sha256};

use crate::names::{ImageName, Key};

/// What was recorded about one image.
#[derive(Debug, Clone, Serialize, Deserialize, Default, PartialEq)]
pub struct Record {
    /// The key.
    pub key: String,
    /// Per path: `file:<exec>:<sha256>`, `dir`, or `symlink:<target>`.
    pub entries: Entries,
    /// Per arg name: salted sha256 of its value, so a change shows without the value being kept.
    pub args: BTreeMap<String, String>,
    /// Salt of the arg hashes.
    pub salt: String,
    /// sha256 of the Dockerfile.
    pub dockerfile: String,
    /// Per base reference: its identity.
    pub bases: BTreeMap<String, String>,
    /// Per dependency: its key.
    pub dependencies: BTreeMap<String, String>,
    /// Platform and target.
    pub platform: String,
    /// Target stage.
    pub target: Option<String>,
}

/// One context entry as a record keeps it.
#[derive(Debug, Clone, Copy)]
pub enum RecordedEntry<'a> {
    /// A regular file: its execute bit and the sha256 of its content.
    File {
        /// Whether any execute bit is set.
        executable: bool,
        /// sha256 of the content.
        sha256: &'a [u8; 32],
    },
    /// A directory.
    Dir,
    /// A symbolic link and its target.
    Symlink {
        /// The target, as stored.
        target: &'a str,
    },
}

/// The value text, written without allocating: `file:<0|1>:<sha256 hex>`, `dir`,
/// `symlink:<target>`.
impl fmt::Display for RecordedEntry<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            RecordedEntry::File { executable, sha256 } => {
                let mut hex = [0u8; 64];
                hex::encode_to_slice(sha256, &mut hex).expect("64 bytes hold 32 in hex");
                let hex = std::str::from_utf8(&hex).expect("hex is ASCII");
                write!(f, "file:{}:{hex}", u8::from(*executable))
            }
            RecordedEntry::Dir => f.write_str("dir"),
            RecordedEntry::Symlink { target } => write!(f, "symlink:{target}"),
        }
    }
}

impl Serialize for RecordedEntry<'_> {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

/// The entries of an image's context in path order, as the run that makes a record has them
/// (implemented by `hash::ImageInputs`). A record is written from them entry by entry, without a
/// map of tens of thousands of strings being built first (which cost more than the rest of a
/// no-op run over a large context).
pub trait EntryList: fmt::Debug + Send + Sync {
    /// How many entries there are.
    fn count(&self) -> usize;
    /// Calls `visit` with each path and entry, in path (byte) order, until it returns `false`.
    fn each(&self, visit: &mut dyn FnMut(&str, RecordedEntry<'_>) -> bool);
}

/// A record's entries: read back from a record file, or, in the run that makes the record, the
/// image's inputs themselves.
#[derive(Debug, Clone)]
pub enum Entries {
    /// As read from a record file.
    Read(BTreeMap<String, String>),
    /// This run's inputs.
    Inputs(Arc<dyn EntryList>),
}

impl Default for Entries {
    fn default() -> Self {
        Entries::Read(BTreeMap::new())
    }
}

impl Entries {
    /// The entries as a map from path to value.
    pub fn map(&self) -> Cow<'_, BTreeMap<String, String>> {
        match self {
            Entries::Read(map) => Cow::Borrowed(map),
            Entries::Inputs(inputs) => {
                let mut map = BTreeMap::new();
                inputs.each(&mut |path, entry| {
                    map.insert(path.to_string(), entry.to_string());
                    true
                });
                Cow::Owned(map)
            }
        }
    }
}

impl PartialEq for Entries {
    fn eq(&self, other: &Self) -> bool {
        self.map() == other.map()
    }
}

impl Serialize for Entries {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        match self {
            Entries::Read(map) => map.serialize(serializer),
            Entries::Inputs(inputs) => {
                // Entries come sorted by path bytes, the order a map of them would have.
                let mut map = serializer.serialize_map(Some(inputs.count()))?;
                let mut failed = None;
                inputs.each(&mut |path, entry| match map.serialize_entry(path, &entry) {
                    Ok(()) => true,
                    Err(error) => {
                        failed = Some(error);
                        false
                    }
                });
                match failed {
                    Some(error) => Err(error),
                    None => map.end(),
                }
            }
        }
    }
}

impl<'de> Deserialize<'de> for Entries {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        BTreeMap::deserialize(deserializer).map(Entries::Read)
    }
}

fn salted(salt: &str, value: &str) -> String {
    hex::encode(Sha256::digest(format!("{salt}\0{value}")))
}

/// Everything needed to record an image's inputs.
pub struct RecordInputs<'a> {
    /// The context's entries.
    pub entries: Arc<dyn EntryList>,
    /// The Dockerfile's bytes.
    pub dockerfile: &'a [u8],
    /// The key.
    pub key: Key,
    /// Args passed (from the manifest).
    pub args: &'a BTreeMap<String, String>,
    /// Each base reference with its identity.
    pub bases: &'a [(String, String)],
    /// Dependencies and their keys.
    pub dependencies: &'a [(ImageName, Key)],
    /// Platform.
    pub platform: String,
    /// Target.
    pub target: Option<String>,
}

impl Record {
    /// Builds a record; `salt` is the state directory's (see [`super::salt`]), so arg hashes
    /// compare between runs.
    pub fn new(r: &RecordInputs<'_>, salt: &str) -> Self {
        let salt = salt.to_string();
        Self {
            key: r.key.hex(),
            entries: Entries::Inputs(r.entries.clone()),
            args: r
                .args
                .iter()
                .map(|(k, v)| (k.clone(), salted(&salt, v)))
                .collect(),
            salt,
            dockerfile: hex::encode(Sha256::digest(r.dockerfile)),
            bases: r.bases.iter().cloned().collect(),
            dependencies: r
                .dependencies
                .iter()
                .map(|(n, k)| (n.to_string(), k.hex()))
                .collect(),
            platform: r.platform.clone(),
            target: r.target.clone(),
        }
    }
}

/// Where records live.
pub fn record_path(state_dir: &Path, image: &ImageName) -> PathBuf {
    state_dir.join("inputs").join(format!("{image}.json"))
}

/// The key of the last record of an image (a small file beside the record, so a no-op run
/// need not parse the record).
pub fn recorded_key(state_dir: &Path, image: &ImageName) -> Option<String> {
    crate::input_file::read_text_capped(
        &record_path(state_dir, image).with_extension("key"),
        crate::input_file::IGNORE_CAP,
    )
    .ok()
}

/// Loads the previous record of an image.
pub fn load(state_dir: &Path, image: &ImageName) -> Option<Record> {
    let bytes = crate::input_file::read_capped(
        &record_path(state_dir, image),
        crate::input_file::STATE_CAP,
    )
    .ok()?;
    serde_json::from_slice(&bytes).ok()
}

/// Saves a record (best effort: a record only helps explain).
pub fn save(state_dir: &Path, image: &ImageName, record: &Record) {
    let path = record_path(state_dir, image);
    if let Some(dir) = path.parent() {
        let _ = fs::create_dir_all(dir);
    }
    if let Ok(json) = serde_json::to_vec(record) {
        let tmp = path.with_extension("json.tmp");
        if fs::write(&tmp, json).is_ok() && fs::rename(&tmp, &path).is_ok() {
            let _ = fs::write(path.with_extension("key"), &record.key);
        } else {
            // A full (or read-only) file system: leave nothing behind.
            let _ = fs::remove_file(&tmp);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Three entries in path order.
    #[derive(Debug)]
    struct Listed;

    impl EntryList for Listed {
        fn count(&self) -> usize {
            3
        }

        fn each(&self, visit: &mut dyn FnMut(&str, RecordedEntry<'_>) -> bool) {
            let _ = visit("a", RecordedEntry::Dir)
                && visit(
                    "a/run.sh",
                    RecordedEntry::File {
                        executable: true,
                        sha256: &[0xab; 32],
                    },
                )
                && visit("b", RecordedEntry::Symlink { target: "a/run.sh" });
        }
    }

    fn record() -> Record {
        let args = BTreeMap::from([("TOKEN".to_string(), "hunter2".to_string())]);
        Record::new(
            &RecordInputs {
                entries: Arc::new(Listed),
                dockerfile: b"FROM scratch\n",
                key: Key::from_bytes([7; 32]),
                args: &args,
                bases: &[("node:22".into(), "digest:sha256:1".into())],
                dependencies: &[("base".parse().unwrap(), Key::from_bytes([8; 32]))],
                platform: "linux/amd64".into(),
                target: None,
            },
            "salt",
        )
    }

    #[test]
    fn a_saved_record_reads_back_equal_with_its_key_beside_it_and_no_arg_value() {
        let dir = tempfile::tempdir().unwrap();
        let image: ImageName = "web".parse().unwrap();
        let made = record();
        save(dir.path(), &image, &made);
        let read = load(dir.path(), &image).expect("the record reads back");
        assert_eq!(read, made);
        assert!(matches!(read.entries, Entries::Read(_)));
        assert_eq!(
            read.entries.map()["a/run.sh"],
            format!("file:1:{}", "ab".repeat(32))
        );
        assert_eq!(read.entries.map()["b"], "symlink:a/run.sh");
        assert_eq!(
            recorded_key(dir.path(), &image),
            Some(Key::from_bytes([7; 32]).hex())
        );
        let text = fs::read_to_string(record_path(dir.path(), &image)).unwrap();
        assert!(!text.contains("hunter2"), "{text}");
    }

    #[test]
    fn a_missing_or_damaged_record_is_none() {
        let dir = tempfile::tempdir().unwrap();
        let image: ImageName = "web".parse().unwrap();
        assert_eq!(load(dir.path(), &image), None);
        assert_eq!(recorded_key(dir.path(), &image), None);
        fs::create_dir_all(dir.path().join("inputs")).unwrap();
        fs::write(record_path(dir.path(), &image), b"{ not json").unwrap();
        assert_eq!(load(dir.path(), &image), None);
    }
}
