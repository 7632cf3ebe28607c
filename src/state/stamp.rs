//! The metadata a cached file hash or directory listing is valid for: device, inode, size and
//! modification and change times. A file whose stamp is unchanged is taken as unchanged, unless
//! the stamp is so recent that a change within the same timestamp tick would not show.

use std::time::{SystemTime, UNIX_EPOCH};

/// A file or directory whose mtime or ctime is this close to now is not cached: it may still
/// change within the timestamp's resolution without the metadata showing it (git's "racy clean"
/// problem).
const RACY_WINDOW_NS: i128 = 2_000_000_000;

/// The metadata a cached hash or listing is valid for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Stamp {
    dev: u64,
    ino: u64,
    size: u64,
    mtime_ns: i128,
    ctime_ns: i128,
}

impl Stamp {
    pub(super) const BYTES: usize = 8 + 8 + 8 + 16 + 16;

    /// A stamp from a file's device, inode, size, and modification and change times (seconds
    /// and nanoseconds).
    pub fn new(dev: u64, ino: u64, size: u64, mtime: (i64, i64), ctime: (i64, i64)) -> Self {
        let ns = |(s, n): (i64, i64)| s as i128 * 1_000_000_000 + n as i128;
        Self {
            dev,
            ino,
            size,
            mtime_ns: ns(mtime),
            ctime_ns: ns(ctime),
        }
    }

    /// The file's size.
    pub fn size(&self) -> u64 {
        self.size
    }

    pub(super) fn id(&self) -> (u64, u64) {
        (self.dev, self.ino)
    }

    /// Whether the file changed so recently that a change within the same timestamp tick would
    /// not show.
    pub(super) fn racy(&self) -> bool {
        let now = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| d.as_nanos() as i128);
        now - self.mtime_ns < RACY_WINDOW_NS || now - self.ctime_ns < RACY_WINDOW_NS
    }

    pub(super) fn write(&self, out: &mut Vec<u8>) {
        out.extend_from_slice(&self.dev.to_le_bytes());
        out.extend_from_slice(&self.ino.to_le_bytes());
        out.extend_from_slice(&self.size.to_le_bytes());
        out.extend_from_slice(&self.mtime_ns.to_le_bytes());
        out.extend_from_slice(&self.ctime_ns.to_le_bytes());
    }

    /// Reads a stamp from the first [`Stamp::BYTES`] of `bytes`.
    pub(super) fn read(bytes: &[u8]) -> Option<Stamp> {
        let u64_at = |i: usize| Some(u64::from_le_bytes(bytes.get(i..i + 8)?.try_into().ok()?));
        let i128_at = |i: usize| Some(i128::from_le_bytes(bytes.get(i..i + 16)?.try_into().ok()?));
        Some(Stamp {
            dev: u64_at(0)?,
            ino: u64_at(8)?,
            size: u64_at(16)?,
            mtime_ns: i128_at(24)?,
            ctime_ns: i128_at(40)?,
        })
    }
}
