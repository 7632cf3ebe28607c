//! The caches that let a run where nothing changed re-read nothing, kept in the state directory:
//!
//! - contents: (device, inode, size, mtime, ctime) of a file → its sha256;
//! - listings: the same stamp of a directory → the names in it (creating, removing or renaming
//!   a name changes the directory's mtime and ctime, so an unchanged stamp means unchanged names;
//!   git's untracked cache rests on the same rule). A directory whose listing is cached is not
//!   opened or read: its files are stat'ed through the context root.
//!
//! Neither enters a key: a hit only saves reading what the metadata says was read before.
//! Anything stamped within two seconds of now is not kept (see [`Stamp`]). Every record carries a
//! checksum of its stamp and value: a record damaged on disk (one flipped byte) is a miss, and is
//! dropped at the next save, instead of a wrong hash or a listing that leaves a file out.

use std::collections::{HashMap, HashSet};
use std::ffi::CString;
use std::fs;
use std::hash::{BuildHasherDefault, Hasher};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Mutex;

use super::listing::{Kind, Name};
use super::stamp::Stamp;

const CONTENTS_FILE: &str = "content-cache-v3";
const CONTENTS_MAGIC: &[u8; 8] = b"FICACHE3";
/// A stamp, a sha256 and the record's checksum.
const CONTENTS_RECORD: usize = Stamp::BYTES + 32 + CHECK_BYTES;
const LISTINGS_FILE: &str = "listing-cache-v2";
const LISTINGS_MAGIC: &[u8; 8] = b"FILIST02";
/// The files of earlier versions, removed when the caches are saved.
const OLD_FILES: [&str; 3] = ["content-cache-v1", "content-cache-v2", "listing-cache-v1"];
/// The bytes of a record's checksum: the start of the sha256 of its stamp and value.
const CHECK_BYTES: usize = 8;
/// Entries older than this run and beyond this count are dropped when the cache is saved.
const MAX_ENTRIES: usize = 2_000_000;
/// Hashes a (device, inode) pair. The keys come from the file system, not from someone choosing
/// collisions, so SipHash's protection buys nothing; a multiply by the golden ratio spreads inode
/// numbers into the high bits the table probes with, at a fraction of the cost.
#[derive(Debug, Default)]
struct InodeHasher(u64);

impl Hasher for InodeHasher {
    fn write(&mut self, bytes: &[u8]) {
        for byte in bytes {
            self.write_u64(u64::from(*byte));
        }
    }

    fn write_u64(&mut self, n: u64) {
        self.0 = (self.0.rotate_left(26) ^ n).wrapping_mul(0x9e37_79b9_7f4a_7c15);
    }

    fn finish(&self) -> u64 {
        self.0
    }
}

/// A cache file as read: fixed-size records sorted by (device, inode), each opening with its
/// stamp, read in place through an index of (device, inode) to record number. Loading is one
/// read and one pass that checks the order and fills the index.
#[derive(Debug, Default)]
struct Sorted {
    bytes: Vec<u8>,
    /// Where the records start, their size, and how many there are.
    start: usize,
    stride: usize,
    count: usize,
    /// Record index by (device, inode).
    ids: HashMap<(u64, u64), u32, BuildHasherDefault<InodeHasher>>,
    /// Per record: whether this run used it (used ones survive the cap first on save).
    used: Vec<AtomicBool>,
}

impl Sorted {
    /// The table of `count` records of `stride` bytes from `start`, or `None` when the bytes are
    /// short or out of order (a damaged file is an empty cache).
    fn new(bytes: Vec<u8>, start: usize, stride: usize, count: usize) -> Option<Sorted> {
        if bytes.len() < start.checked_add(stride.checked_mul(count)?)? {
            return None;
        }
        let mut table = Sorted {
            bytes,
            start,
            stride,
            count,
            ids: HashMap::default(),
            used: Vec::new(),
        };
        let count32 = u32::try_from(count).ok()?;
        table.ids.reserve(count);
        let mut previous = None;
        for i in 0..count32 {
            let id = table.stamp(i as usize).id();
            if previous >= Some(id) {
                return None;
            }
            previous = Some(id);
            table.ids.insert(id, i);
        }
        table.used = (0..count).map(|_| AtomicBool::new(false)).collect();
        Some(table)
    }

    fn record(&self, i: usize) -> &[u8] {
        &self.bytes[self.start + i * self.stride..self.start + (i + 1) * self.stride]
    }

    fn stamp(&self, i: usize) -> Stamp {
        Stamp::read(self.record(i)).expect("records hold a stamp")
    }

    /// The record with exactly this stamp.
    fn find(&self, stamp: &Stamp) -> Option<&[u8]> {
        let i = *self.ids.get(&stamp.id())? as usize;
        if self.stamp(i) != *stamp {
            return None;
        }
        if !self.used[i].load(Ordering::Relaxed) {
            self.used[i].store(true, Ordering::Relaxed);
        }
        Some(&self.record(i)[Stamp::BYTES..])
    }

    /// The records to keep beside this run's new ones: those not superseded by them, used ones
    /// first, so the cap drops stale entries.
    fn survivors(&self, superseded: &HashSet<(u64, u64)>) -> Vec<usize> {
        let mut old: Vec<usize> = (0..self.count)
            .filter(|&i| !superseded.contains(&self.stamp(i).id()))
            .collect();
        old.sort_by_key(|&i| !self.used[i].load(Ordering::Relaxed));
        old.truncate(MAX_ENTRIES);
        old
    }
}

/// The caches, shared by the walking threads. What was loaded is only read; what this run adds
/// is collected under a lock.
#[derive(Debug)]
pub struct ContentCache {
    dir: Option<PathBuf>,
    contents: Sorted,
    fresh_contents: Mutex<Vec<(Stamp, [u8; 32])>>,
    /// Records of a stamp, then the offset and length of the names in `listings.bytes`.
    listings: Sorted,
    /// Listings this run read, each as the names it is saved as.
    fresh_listings: Mutex<Vec<(Stamp, Vec<u8>)>>,
    /// Files (device and inode) whose content records are dropped on save: found stale.
    dropped: Mutex<HashSet<(u64, u64)>>,
}

/// A stamp, the offset and length of the names, and the checksum of the stamp and the names.
const LISTING_RECORD: usize = Stamp::BYTES + 8 + 8 + CHECK_BYTES;

impl ContentCache {
    /// A cache that remembers nothing between runs.
    pub fn disabled() -> Self {
        Self {
            dir: None,
            contents: Sorted::default(),
            fresh_contents: Mutex::new(Vec::new()),
            listings: Sorted::default(),
            fresh_listings: Mutex::new(Vec::new()),
            dropped: Mutex::new(HashSet::new()),
        }
    }

    /// The directory the cache is saved in; `None` when disabled.
    pub fn dir(&self) -> Option<&Path> {
        self.dir.as_deref()
    }

    /// Drops, in the cache saved in `dir`, the content record of the file with this device and
    /// inode: the context sent showed that it did not hold the file's content.
    pub fn forget(dir: &Path, dev: u64, ino: u64) {
        let cache = Self::load(dir);
        cache.dropped.lock().expect("cache lock").insert((dev, ino));
        cache.save();
    }

    /// Loads the cache files in `dir` (a missing or damaged file is an empty cache).
    pub fn load(dir: &Path) -> Self {
        let mut cache = Self::disabled();
        cache.dir = Some(dir.to_path_buf());
        if let Some(bytes) = read_state_file(&dir.join(CONTENTS_FILE)) {
            if bytes.starts_with(CONTENTS_MAGIC)
                && (bytes.len() - CONTENTS_MAGIC.len()).is_multiple_of(CONTENTS_RECORD)
            {
                let count = (bytes.len() - CONTENTS_MAGIC.len()) / CONTENTS_RECORD;
                let start = CONTENTS_MAGIC.len();
                cache.contents =
                    Sorted::new(bytes, start, CONTENTS_RECORD, count).unwrap_or_default();
            }
        }
        if let Some(bytes) = read_state_file(&dir.join(LISTINGS_FILE)) {
            let header = LISTINGS_MAGIC.len() + 8;
            if bytes.len() >= header && bytes.starts_with(LISTINGS_MAGIC) {
                let count = u64::from_le_bytes(bytes[8..16].try_into().expect("8 bytes"));
                if let Some(table) = usize::try_from(count)
                    .ok()
                    .and_then(|count| Sorted::new(bytes, header, LISTING_RECORD, count))
                {
                    cache.listings = table;
                }
            }
        }
        cache
    }

    /// The cached sha256 of a file with this exact stamp.
    pub fn get(&self, stamp: &Stamp) -> Option<[u8; 32]> {
        sha_of(stamp, self.contents.find(stamp)?)
    }

    /// Remembers a file's sha256, unless its timestamps are too recent to trust.
    pub fn put(&self, stamp: Stamp, sha: [u8; 32]) {
        if !stamp.racy() {
            self.fresh_contents
                .lock()
                .expect("cache lock")
                .push((stamp, sha));
        }
    }

    /// The names in a directory with this exact stamp, as last listed.
    pub(crate) fn listing(&self, stamp: &Stamp) -> Option<Vec<Name>> {
        read_names(self.names_of(stamp, self.listings.find(stamp)?)?)
    }

    /// The encoded names a listing record (after its stamp) points at; `None` when the offset
    /// and length do not lie in the file, or the names or the stamp are not what was saved.
    fn names_of(&self, stamp: &Stamp, record: &[u8]) -> Option<&[u8]> {
        let offset = usize::try_from(u64::from_le_bytes(record.get(..8)?.try_into().ok()?)).ok()?;
        let len = usize::try_from(u64::from_le_bytes(record.get(8..16)?.try_into().ok()?)).ok()?;
        let names = self.listings.bytes.get(offset..offset.checked_add(len)?)?;
        (record.get(16..16 + CHECK_BYTES)? == checksum(stamp, names)).then_some(names)
    }

    /// Remembers the names in a directory, unless its timestamps are too recent to trust.
    pub(crate) fn put_listing(&self, stamp: Stamp, names: &[Name]) {
        if stamp.racy() {
            return;
        }
        let mut record = Vec::new();
        for name in names {
            let bytes = name.name.as_bytes();
            let Ok(len) = u16::try_from(bytes.len()) else {
                return; // longer than any file system allows; not worth caching
            };
            record.push(kind_byte(name.kind));
            record.extend_from_slice(&len.to_le_bytes());
            record.extend_from_slice(bytes);
        }
        self.fresh_listings
            .lock()
            .expect("cache lock")
            .push((stamp, record));
    }

    /// Writes the caches back when this run added to them (atomically: temp file, then rename).
    /// Failures are ignored: the caches only save time.
    pub fn save(&self) {
        let Some(dir) = &self.dir else { return };
        let fresh = self.fresh_contents.lock().expect("cache lock");
        let dropped = self.dropped.lock().expect("cache lock");
        if !fresh.is_empty() || !dropped.is_empty() {
            let superseded = fresh
                .iter()
                .map(|(s, _)| s.id())
                .chain(dropped.iter().copied())
                .collect();
            let mut records: Vec<(Stamp, &[u8])> = fresh
                .iter()
                .map(|(stamp, sha)| (*stamp, sha.as_slice()))
                .collect();
            // Only intact records survive: a damaged one is not saved again under a new checksum.
            records.extend(
                self.contents
                    .survivors(&superseded)
                    .into_iter()
                    .map(|i| {
                        (
                            self.contents.stamp(i),
                            &self.contents.record(i)[Stamp::BYTES..],
                        )
                    })
                    .filter(|(stamp, value)| sha_of(stamp, value).is_some())
                    .map(|(stamp, value)| (stamp, &value[..32])),
            );
            let records = sorted_unique(records);
            let mut out =
                Vec::with_capacity(CONTENTS_MAGIC.len() + records.len() * CONTENTS_RECORD);
            out.extend_from_slice(CONTENTS_MAGIC);
            for (stamp, sha) in records {
                stamp.write(&mut out);
                out.extend_from_slice(sha);
                out.extend_from_slice(&checksum(&stamp, sha));
            }
            write_atomically(&dir.join(CONTENTS_FILE), &out);
        }
        let fresh = self.fresh_listings.lock().expect("cache lock");
        if !fresh.is_empty() {
            let superseded = fresh.iter().map(|(s, _)| s.id()).collect();
            let mut records: Vec<(Stamp, &[u8])> = fresh
                .iter()
                .map(|(stamp, names)| (*stamp, names.as_slice()))
                .collect();
            for i in self.listings.survivors(&superseded) {
                let stamp = self.listings.stamp(i);
                if let Some(names) = self.names_of(&stamp, &self.listings.record(i)[Stamp::BYTES..])
                {
                    records.push((stamp, names));
                }
            }
            let records = sorted_unique(records);
            let header = LISTINGS_MAGIC.len() + 8;
            let mut offset = header + records.len() * LISTING_RECORD;
            let mut out = Vec::new();
            out.extend_from_slice(LISTINGS_MAGIC);
            out.extend_from_slice(&(records.len() as u64).to_le_bytes());
            for (stamp, names) in &records {
                stamp.write(&mut out);
                out.extend_from_slice(&(offset as u64).to_le_bytes());
                out.extend_from_slice(&(names.len() as u64).to_le_bytes());
                out.extend_from_slice(&checksum(stamp, names));
                offset += names.len();
            }
            for (_, names) in &records {
                out.extend_from_slice(names);
            }
            write_atomically(&dir.join(LISTINGS_FILE), &out);
        }
        for old in OLD_FILES {
            let _ = fs::remove_file(dir.join(old));
        }
    }
}

/// The checksum of a record: the first bytes of the sha256 of its stamp and value.
fn checksum(stamp: &Stamp, value: &[u8]) -> [u8; CHECK_BYTES] {
    use sha2::{Digest, Sha256};
    let mut encoded = Vec::with_capacity(Stamp::BYTES);
    stamp.write(&mut encoded);
    let sha = Sha256::new()
        .chain_update(&encoded)
        .chain_update(value)
        .finalize();
    sha[..CHECK_BYTES].try_into().expect("a sha256 is longer")
}

/// The sha256 in a content record's value (after its stamp), when the checksum confirms it.
fn sha_of(stamp: &Stamp, value: &[u8]) -> Option<[u8; 32]> {
    let (sha, check) = (value.get(..32)?, value.get(32..32 + CHECK_BYTES)?);
    (check == checksum(stamp, sha)).then(|| sha.try_into().expect("32 bytes"))
}

/// Records sorted by (device, inode), the first of each kept (this run's come first), at most
/// [`MAX_ENTRIES`].
fn sorted_unique(mut records: Vec<(Stamp, &[u8])>) -> Vec<(Stamp, &[u8])> {
    records.truncate(MAX_ENTRIES);
    records.sort_by_key(|(stamp, _)| stamp.id()); // stable: the first of equal ids stays first
    records.dedup_by_key(|(stamp, _)| stamp.id());
    records
}

fn kind_byte(kind: Option<Kind>) -> u8 {
    match kind {
        None => 0,
        Some(Kind::Dir) => 1,
        Some(Kind::File) => 2,
        Some(Kind::Symlink) => 3,
        Some(Kind::Other) => 4,
    }
}

/// The names of one listing record; `None` when it is damaged.
fn read_names(mut bytes: &[u8]) -> Option<Vec<Name>> {
    let mut names = Vec::new();
    while !bytes.is_empty() {
        let kind = match bytes[0] {
            0 => None,
            1 => Some(Kind::Dir),
            2 => Some(Kind::File),
            3 => Some(Kind::Symlink),
            // A name the walk would skip is stat'ed again rather than skipped on the cache's
            // word (the other kinds are confirmed by the stat, open or readlink that uses them).
            4 => None,
            _ => return None,
        };
        let len = u16::from_le_bytes(bytes.get(1..3)?.try_into().ok()?) as usize;
        let name = CString::new(bytes.get(3..3 + len)?).ok()?;
        names.push(Name { name, kind });
        bytes = &bytes[3 + len..];
    }
    Some(names)
}

/// The bytes of a file in the state directory; `None` when it is missing, unreadable or not a
/// regular file. Opened without blocking, so that a fifo (or a device) put in its place is
/// skipped instead of hanging the run.
pub(crate) fn read_state_file(path: &Path) -> Option<Vec<u8>> {
    use std::io::Read;
    use std::os::unix::fs::OpenOptionsExt;
    let mut file = fs::OpenOptions::new()
        .read(true)
        .custom_flags(rustix::fs::OFlags::NONBLOCK.bits() as i32)
        .open(path)
        .ok()?;
    if !file.metadata().ok()?.is_file() {
        return None;
    }
    let mut bytes = Vec::new();
    file.read_to_end(&mut bytes).ok()?;
    Some(bytes)
}

fn write_atomically(path: &Path, bytes: &[u8]) {
    if let Some(dir) = path.parent() {
        let _ = fs::create_dir_all(dir);
    }
    let tmp = path.with_extension(format!("tmp{}", std::process::id()));
    let written = fs::File::create(&tmp).and_then(|mut f| f.write_all(bytes));
    if written.is_ok() {
        let _ = fs::rename(&tmp, path);
    } else {
        let _ = fs::remove_file(&tmp);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_forgotten_file_loses_its_record_and_only_it() {
        let dir = tempfile::tempdir().unwrap();
        let stale = Stamp::new(1, 2, 3, (4, 0), (5, 0));
        let other = Stamp::new(1, 7, 3, (4, 0), (5, 0));
        let cache = ContentCache::load(dir.path());
        cache.put(stale, [1; 32]);
        cache.put(other, [2; 32]);
        cache.save();
        ContentCache::forget(dir.path(), 1, 2);
        let cache = ContentCache::load(dir.path());
        assert_eq!(cache.get(&stale), None);
        assert_eq!(cache.get(&other), Some([2; 32]));
    }

    #[test]
    fn a_damaged_cache_answers_nothing_and_is_replaced_on_save() {
        let dir = tempfile::tempdir().unwrap();
        let old = Stamp::new(1, 2, 3, (4, 0), (5, 0));
        // A listing record that points past the end of the file.
        let mut listings = LISTINGS_MAGIC.to_vec();
        listings.extend_from_slice(&1u64.to_le_bytes());
        old.write(&mut listings);
        listings.extend_from_slice(&u64::MAX.to_le_bytes());
        listings.extend_from_slice(&5u64.to_le_bytes());
        fs::write(dir.path().join(LISTINGS_FILE), listings).unwrap();
        fs::write(dir.path().join(CONTENTS_FILE), b"FICACHE2 cut short").unwrap();

        let cache = ContentCache::load(dir.path());
        assert!(cache.listing(&old).is_none());
        assert!(cache.get(&old).is_none());

        let new = Stamp::new(1, 9, 3, (4, 0), (5, 0));
        let names = [Name {
            name: CString::new("a.txt").unwrap(),
            kind: Some(Kind::File),
        }];
        cache.put_listing(new, &names);
        cache.put(new, [7; 32]);
        cache.save();
        let again = ContentCache::load(dir.path());
        let listed = again.listing(&new).unwrap();
        assert_eq!(listed.len(), 1);
        assert_eq!(listed[0].name.to_str(), Ok("a.txt"));
        assert_eq!(listed[0].kind, Some(Kind::File));
        assert_eq!(again.get(&new), Some([7; 32]));
        assert!(
            again.listing(&old).is_none(),
            "the damaged record is dropped"
        );
    }
}
