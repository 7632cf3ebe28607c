//! The record of an image's inputs at the last successful plan or build on this machine, and the
//! comparison `plan --explain` prints: added, removed and changed paths, changed args (never their
//! values), changed bases and dependencies.

use std::borrow::Cow;
use std::collections::BTreeMap;
use std::fs;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use serde::ser::SerializeMap;
use serde::{Deserialize, Serialize};
use sha2::{Digest as _, Sha256};

use crate::hash::{EntryKind, ImageInputs};
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

/// A record's entries: read back from a record file, or, in the run that makes the record, the
/// image's inputs themselves. These are written out entry by entry, in path order, without a map
/// of tens of thousands of strings being built first (which cost more than the rest of a no-op
/// run over a large context).
#[derive(Debug, Clone)]
pub enum Entries {
    /// As read from a record file.
    Read(BTreeMap<String, String>),
    /// This run's inputs.
    Inputs(Arc<ImageInputs>),
}

impl Default for Entries {
    fn default() -> Self {
        Entries::Read(BTreeMap::new())
    }
}

fn entry_value(kind: &EntryKind) -> String {
    EntryValue(kind).to_string()
}

/// An entry's value, written without allocating (the same text as [`entry_value`]).
struct EntryValue<'a>(&'a EntryKind);

impl std::fmt::Display for EntryValue<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self.0 {
            EntryKind::File {
                executable, sha256, ..
            } => {
                let mut hex = [0u8; 64];
                hex::encode_to_slice(sha256, &mut hex).expect("64 bytes hold 32 in hex");
                let hex = std::str::from_utf8(&hex).expect("hex is ASCII");
                write!(f, "file:{}:{hex}", u8::from(*executable))
            }
            EntryKind::Dir => f.write_str("dir"),
            EntryKind::Symlink { target } => write!(f, "symlink:{target}"),
        }
    }
}

impl Serialize for EntryValue<'_> {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

impl Entries {
    /// The entries as a map from path to value.
    pub fn map(&self) -> Cow<'_, BTreeMap<String, String>> {
        match self {
            Entries::Read(map) => Cow::Borrowed(map),
            Entries::Inputs(inputs) => Cow::Owned(
                inputs
                    .entries
                    .iter()
                    .map(|e| (e.path.clone(), entry_value(&e.kind)))
                    .collect(),
            ),
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
                // Entries are sorted by path bytes, the order a map of them would have.
                let mut map = serializer.serialize_map(Some(inputs.entries.len()))?;
                for entry in &inputs.entries {
                    map.serialize_key(&entry.path)?;
                    map.serialize_value(&EntryValue(&entry.kind))?;
                }
                map.end()
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
    /// The read inputs.
    pub inputs: &'a Arc<ImageInputs>,
    /// The key.
    pub key: Key,
    /// Args passed (from the manifest).
    pub args: &'a BTreeMap<String, String>,
    /// Base identities.
    pub bases: &'a [(String, String)],
    /// Dependencies and their keys.
    pub dependencies: &'a [(ImageName, Key)],
    /// Platform.
    pub platform: String,
    /// Target.
    pub target: Option<String>,
}

impl Record {
    /// Builds a record; `salt` is the state directory's (see [`salt`]), so arg hashes compare
    /// between runs.
    pub fn new(r: &RecordInputs<'_>, salt: &str) -> Self {
        let salt = salt.to_string();
        let entries = Entries::Inputs(r.inputs.clone());
        Self {
            key: r.key.hex(),
            entries,
            args: r
                .args
                .iter()
                .map(|(k, v)| (k.clone(), salted(&salt, v)))
                .collect(),
            salt,
            dockerfile: hex::encode(Sha256::digest(&r.inputs.dockerfile_bytes)),
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

/// The salt of this state directory's arg hashes: made once, kept in `inputs/salt`, so a
/// record never holds a plain hash of an arg's value that a short secret could be guessed from.
pub fn salt(state_dir: &Path) -> String {
    let path = state_dir.join("inputs").join("salt");
    if let Ok(salt) = crate::input_file::read_text_capped(&path, crate::input_file::IGNORE_CAP) {
        if !salt.trim().is_empty() {
            return salt.trim().to_string();
        }
    }
    let seed = format!(
        "{:?}{}{:p}",
        std::time::SystemTime::now(),
        std::process::id(),
        &path
    );
    let salt = hex::encode(&Sha256::digest(seed)[..16]);
    let _ = fs::create_dir_all(state_dir.join("inputs"));
    let _ = fs::write(&path, &salt);
    salt
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

/// The differences between the previous record and the current one, one line each.
pub fn compare(old: &Record, new: &Record) -> Vec<String> {
    let mut lines = Vec::new();
    if old.key == new.key {
        return lines;
    }
    let (old_entries, new_entries) = (old.entries.map(), new.entries.map());
    for (path, value) in new_entries.iter() {
        match old_entries.get(path) {
            None => lines.push(format!("added: {path}")),
            Some(previous) if previous != value => {
                let what = match (previous.split(':').nth(1), value.split(':').nth(1)) {
                    (Some(a), Some(b))
                        if a != b
                            && previous.starts_with("file")
                            && value.starts_with("file")
                            && previous.rsplit(':').next() == value.rsplit(':').next() =>
                    {
                        "changed (exec bit)"
                    }
                    _ => "changed",
                };
                lines.push(format!("{what}: {path}"));
            }
            _ => {}
        }
    }
    for path in old_entries.keys() {
        if !new_entries.contains_key(path) {
            lines.push(format!("removed: {path}"));
        }
    }
    if old.dockerfile != new.dockerfile {
        lines.push("changed: the Dockerfile".into());
    }
    for (arg, value) in &new.args {
        match old.args.get(arg) {
            None => lines.push(format!("arg added: {arg}")),
            Some(v) if v != value => lines.push(format!("arg changed: {arg}")),
            _ => {}
        }
    }
    for arg in old.args.keys().filter(|a| !new.args.contains_key(*a)) {
        lines.push(format!("arg removed: {arg}"));
    }
    for (base, identity) in &new.bases {
        match old.bases.get(base) {
            None => lines.push(format!("base added: {base}")),
            Some(v) if v != identity => {
                lines.push(format!("base changed: {base} ({v} -> {identity})"))
            }
            _ => {}
        }
    }
    for base in old.bases.keys().filter(|b| !new.bases.contains_key(*b)) {
        lines.push(format!("base removed: {base}"));
    }
    for (dep, key) in &new.dependencies {
        if old.dependencies.get(dep) != Some(key) {
            lines.push(format!("dependency changed: {dep}"));
        }
    }
    if old.platform != new.platform {
        lines.push(format!(
            "platform changed: {} -> {}",
            old.platform, new.platform
        ));
    }
    if old.target != new.target {
        lines.push(format!(
            "target changed: {:?} -> {:?}",
            old.target, new.target
        ));
    }
    lines
}
