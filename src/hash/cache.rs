//! The per-file content cache: (device, inode, size, mtime, ctime) → sha256, kept in the state
//! directory so a run where nothing changed re-reads nothing. It never enters a key: a hit only
//! saves reading a file whose metadata says it is the one hashed before.

use std::collections::HashMap;
use std::fs;
use std::io::Write;
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Mutex;
use std::time::{SystemTime, UNIX_EPOCH};

const MAGIC: &[u8; 8] = b"FICACHE1";
const RECORD: usize = 8 + 8 + 8 + 16 + 16 + 32;
/// Entries older than this run and beyond this count are dropped when the cache is saved.
const MAX_ENTRIES: usize = 2_000_000;
/// A file whose mtime or ctime is this close to now is not cached: it may still change within the
/// timestamp's resolution without the metadata showing it (git's "racy clean" problem).
const RACY_WINDOW_NS: i128 = 2_000_000_000;

/// The metadata a cached hash is valid for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Stamp {
    dev: u64,
    ino: u64,
    size: u64,
    mtime_ns: i128,
    ctime_ns: i128,
}

impl Stamp {
    /// The stamp of a file's current metadata.
    pub fn of(meta: &fs::Metadata) -> Self {
        Self {
            dev: meta.dev(),
            ino: meta.ino(),
            size: meta.size(),
            mtime_ns: meta.mtime() as i128 * 1_000_000_000 + meta.mtime_nsec() as i128,
            ctime_ns: meta.ctime() as i128 * 1_000_000_000 + meta.ctime_nsec() as i128,
        }
    }

    /// The file's size.
    pub fn size(&self) -> u64 {
        self.size
    }
}

/// A cached hash: the stamp it is valid for, the sha256, and whether this run used it.
type Cached = (Stamp, [u8; 32], bool);

/// The cache, shared by the hashing threads.
#[derive(Debug)]
pub struct ContentCache {
    path: Option<PathBuf>,
    entries: Mutex<HashMap<(u64, u64), Cached>>,
    dirty: AtomicBool,
}

impl ContentCache {
    /// A cache that remembers nothing between runs.
    pub fn disabled() -> Self {
        Self {
            path: None,
            entries: Mutex::new(HashMap::new()),
            dirty: AtomicBool::new(false),
        }
    }

    /// Loads the cache file in `dir` (a missing or damaged file is an empty cache).
    pub fn load(dir: &Path) -> Self {
        let path = dir.join("content-cache-v1");
        let mut entries = HashMap::new();
        if let Ok(bytes) = fs::read(&path) {
            if bytes.len() >= MAGIC.len()
                && &bytes[..MAGIC.len()] == MAGIC
                && (bytes.len() - MAGIC.len()).is_multiple_of(RECORD)
            {
                for record in bytes[MAGIC.len()..].chunks_exact(RECORD) {
                    let u64_at = |i: usize| {
                        u64::from_le_bytes(record[i..i + 8].try_into().expect("8 bytes"))
                    };
                    let i128_at = |i: usize| {
                        i128::from_le_bytes(record[i..i + 16].try_into().expect("16 bytes"))
                    };
                    let stamp = Stamp {
                        dev: u64_at(0),
                        ino: u64_at(8),
                        size: u64_at(16),
                        mtime_ns: i128_at(24),
                        ctime_ns: i128_at(40),
                    };
                    let sha: [u8; 32] = record[56..88].try_into().expect("32 bytes");
                    entries.insert((stamp.dev, stamp.ino), (stamp, sha, false));
                }
            }
        }
        Self {
            path: Some(path),
            entries: Mutex::new(entries),
            dirty: AtomicBool::new(false),
        }
    }

    /// The cached sha256 of a file with this exact stamp.
    pub fn get(&self, stamp: &Stamp) -> Option<[u8; 32]> {
        let mut entries = self.entries.lock().expect("cache lock");
        let entry = entries.get_mut(&(stamp.dev, stamp.ino))?;
        if entry.0 == *stamp {
            entry.2 = true;
            Some(entry.1)
        } else {
            None
        }
    }

    /// Remembers a file's sha256, unless its timestamps are too recent to trust.
    pub fn put(&self, stamp: Stamp, sha: [u8; 32]) {
        let now = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| d.as_nanos() as i128);
        if now - stamp.mtime_ns < RACY_WINDOW_NS || now - stamp.ctime_ns < RACY_WINDOW_NS {
            return;
        }
        self.entries
            .lock()
            .expect("cache lock")
            .insert((stamp.dev, stamp.ino), (stamp, sha, true));
        self.dirty.store(true, Ordering::Relaxed);
    }

    /// Writes the cache back when it changed (atomically: temp file, then rename). Failures are
    /// ignored: the cache only saves time.
    pub fn save(&self) {
        let Some(path) = &self.path else { return };
        if !self.dirty.load(Ordering::Relaxed) {
            return;
        }
        let entries = self.entries.lock().expect("cache lock");
        let mut records: Vec<_> = entries.values().collect();
        // Entries used in this run first, so the cap drops stale ones.
        records.sort_by_key(|(_, _, used)| !*used);
        records.truncate(MAX_ENTRIES);
        let mut out = Vec::with_capacity(MAGIC.len() + records.len() * RECORD);
        out.extend_from_slice(MAGIC);
        for (stamp, sha, _) in records {
            out.extend_from_slice(&stamp.dev.to_le_bytes());
            out.extend_from_slice(&stamp.ino.to_le_bytes());
            out.extend_from_slice(&stamp.size.to_le_bytes());
            out.extend_from_slice(&stamp.mtime_ns.to_le_bytes());
            out.extend_from_slice(&stamp.ctime_ns.to_le_bytes());
            out.extend_from_slice(sha);
        }
        if let Some(dir) = path.parent() {
            let _ = fs::create_dir_all(dir);
        }
        let tmp = path.with_extension(format!("tmp{}", std::process::id()));
        let written = fs::File::create(&tmp).and_then(|mut f| f.write_all(&out));
        if written.is_ok() {
            let _ = fs::rename(&tmp, path);
        } else {
            let _ = fs::remove_file(&tmp);
        }
    }
}
