//! An image's inputs as its input record (`crate::state::record`) keeps them: each sent entry by
//! path, written straight from the inputs.

use super::entry::EntryKind;
use super::inputs::ImageInputs;
use crate::state::{EntryList, RecordedEntry};

impl EntryList for ImageInputs {
    fn count(&self) -> usize {
        self.entries.len()
    }

    fn each(&self, visit: &mut dyn FnMut(&str, RecordedEntry<'_>) -> bool) {
        for entry in &self.entries {
            let recorded = match &entry.kind {
                EntryKind::File {
                    executable, sha256, ..
                } => RecordedEntry::File {
                    executable: *executable,
                    sha256,
                },
                EntryKind::Dir => RecordedEntry::Dir,
                EntryKind::Symlink { target } => RecordedEntry::Symlink { target },
            };
            if !visit(&entry.path, recorded) {
                return;
            }
        }
    }
}
