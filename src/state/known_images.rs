//! The local images this machine built or found, by key, kept in the state directory.
//!
//! A local image is found by inspecting its key tag in its own repository. An image whose key is
//! tagged only in another repository (the manifest's `repository` changed since it was built) is
//! found through this index instead: one inspect of the image id recorded for the key. Listing
//! every image to search their labels would cost the engine about half a millisecond per image
//! it holds, on every run.

use std::collections::BTreeMap;
use std::fs;
use std::path::{Path, PathBuf};

use crate::names::Key;

/// At most this many keys are remembered; the oldest lines are dropped first.
const MAX_KEYS: usize = 10_000;

fn path(state_dir: &Path) -> PathBuf {
    state_dir.join("known-images")
}

/// The index: one `<key hex> <image id>` line per key, oldest first.
#[derive(Debug, Default, Clone, PartialEq)]
pub struct KnownImages {
    lines: Vec<(String, String)>,
}

impl KnownImages {
    /// Reads the index (a missing or damaged file is an empty index).
    pub fn load(state_dir: &Path) -> Self {
        let text =
            crate::input_file::read_text_capped(&path(state_dir), crate::input_file::STATE_CAP)
                .unwrap_or_default();
        let lines = text
            .lines()
            .filter_map(|line| line.split_once(' '))
            .filter(|(key, id)| key.parse::<Key>().is_ok() && !id.is_empty())
            .map(|(key, id)| (key.to_string(), id.to_string()))
            .collect();
        Self { lines }
    }

    /// The image id last recorded for `key`.
    pub fn get(&self, key: &Key) -> Option<&str> {
        let hex = key.hex();
        self.lines
            .iter()
            .rev()
            .find(|(k, _)| *k == hex)
            .map(|(_, id)| id.as_str())
    }

    /// Records `found` (key, image id) pairs and writes the index when that changed anything.
    /// Failures are ignored: the index only saves a rebuild.
    pub fn remember(&mut self, state_dir: &Path, found: impl IntoIterator<Item = (Key, String)>) {
        let mut changed = false;
        for (key, id) in found {
            if self.get(&key) == Some(id.as_str()) {
                continue;
            }
            let hex = key.hex();
            self.lines.retain(|(k, _)| *k != hex);
            self.lines.push((hex, id));
            changed = true;
        }
        if !changed {
            return;
        }
        // One line per key, newest last, capped.
        let mut seen = BTreeMap::new();
        for (i, (key, _)) in self.lines.iter().enumerate() {
            seen.insert(key.clone(), i);
        }
        let keep = self.lines.len().saturating_sub(MAX_KEYS);
        let text: String = self
            .lines
            .iter()
            .enumerate()
            .filter(|(i, (key, _))| *i >= keep && seen.get(key) == Some(i))
            .map(|(_, (key, id))| format!("{key} {id}\n"))
            .collect();
        let target = path(state_dir);
        if let Some(dir) = target.parent() {
            let _ = fs::create_dir_all(dir);
        }
        let tmp = target.with_extension(format!("tmp{}", std::process::id()));
        // A full (or read-only) file system: leave nothing behind, the old file stays.
        if fs::write(&tmp, text).is_err() || fs::rename(&tmp, &target).is_err() {
            let _ = fs::remove_file(&tmp);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn remembers_the_newest_id_per_key_and_reads_it_back() {
        let dir = tempfile::tempdir().unwrap();
        let (a, b) = (Key::from_bytes([1; 32]), Key::from_bytes([2; 32]));
        let mut known = KnownImages::load(dir.path());
        assert_eq!(known.get(&a), None);
        known.remember(
            dir.path(),
            [(a, "sha256:aaa".to_string()), (b, "sha256:bbb".to_string())],
        );
        known.remember(dir.path(), [(a, "sha256:ccc".to_string())]);
        let read = KnownImages::load(dir.path());
        assert_eq!(read.get(&a), Some("sha256:ccc"));
        assert_eq!(read.get(&b), Some("sha256:bbb"));
        assert_eq!(
            fs::read_to_string(dir.path().join("known-images")).unwrap(),
            format!("{} sha256:bbb\n{} sha256:ccc\n", b.hex(), a.hex())
        );
    }

    #[test]
    fn a_damaged_index_is_empty() {
        let dir = tempfile::tempdir().unwrap();
        fs::write(dir.path().join("known-images"), "not a key\n\u{0}\n").unwrap();
        assert_eq!(KnownImages::load(dir.path()), KnownImages::default());
    }
}
