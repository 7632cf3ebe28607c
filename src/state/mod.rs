//! Persistent state: what the tool keeps in the state directory (`--state-dir`) between runs to
//! save work or explain a change. None of it enters a key or decides what is built, so a missing
//! or damaged file is read as empty, and a failed write is ignored. (Build logs, `logs/`, and
//! deploy reports, `deploys/`, are outputs of a run, written by `execute/` and `deploy/`.)
//!
//! - the content cache (`content-cache-v3`, `listing-cache-v2`): file hashes and directory
//!   listings by their [`Stamp`], read by the walk in `hash/`;
//! - the input records (`inputs/<image>.json` and `.key`), which `plan --explain` compares
//!   against, and the [`salt`] of their arg hashes (`inputs/salt`);
//! - the known images (`known-images`): the local image id last seen for each key.

mod content_cache;
mod known_images;
mod listing;
pub mod record;
mod salt;
mod stamp;

pub use content_cache::ContentCache;
pub use known_images::KnownImages;
pub use listing::{Kind, Name};
pub use record::{EntryList, Record, RecordInputs, RecordedEntry};
pub use salt::salt;
pub use stamp::Stamp;
