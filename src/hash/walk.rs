//! One walk over a build context, on every core: applies `.dockerignore` while walking (pruning
//! excluded directories that nothing re-includes), visits only the paths the Dockerfile reads
//! when it names them all, and hashes each file it keeps, through the content cache, as it goes.
//!
//! Each directory is a task on the rayon pool: its subdirectories and its files are further
//! tasks, so both cores list, stat and hash at once and no phase waits for another. The entries
//! are sorted by path at the end, so the result does not depend on the order of the work.

use std::borrow::Cow;
use std::collections::BTreeSet;
use std::ffi::{CStr, CString, OsStr};
use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};
use std::sync::Mutex;

use rayon::prelude::*;

use super::dir::Dir;
use super::dockerfile::{ContextReads, ContextSource, SourceSet};
use super::dockerignore::DockerIgnore;
use super::entry::{Entry, EntryKind};
use super::HashError;
use crate::names::ImageName;
use crate::state::{ContentCache, Kind, Name};

/// How often a file that changes while it is read is read again before the walk gives up.
const HASH_ATTEMPTS: usize = 3;

/// The longest directory path whose names are reached from the root: with a name of up to 255
/// bytes after it, the path stays under PATH_MAX.
const ROOT_RELATIVE_MAX: usize = 3584;

/// Below this many files, a directory's files are hashed in one task: splitting costs more than
/// it saves.
const FILES_PER_TASK: usize = 8;

struct Walker<'a> {
    image: &'a ImageName,
    root: &'a Path,
    root_dir: Dir,
    ignore: &'a DockerIgnore,
    /// `None`: every entry is wanted. `Some`: only what these sources cover.
    sources: Option<SourceSet<'a>>,
    cache: &'a ContentCache,
    found: Mutex<Vec<Entry>>,
}

/// What the names of a directory are resolved against.
enum Base {
    /// The directory itself, opened to be listed.
    Opened(Dir),
    /// The context root, with the path of the name: the directory's listing came from the cache,
    /// so it was never opened.
    Root,
}

/// A subdirectory or file seen in a listing, to be visited by its own task.
struct Pending {
    name: CString,
    rel: String,
    /// For a subdirectory: whether `.dockerignore` excludes it.
    excluded: bool,
}

fn join(parent: &str, name: &str) -> String {
    if parent.is_empty() {
        name.to_string()
    } else {
        let mut joined = String::with_capacity(parent.len() + 1 + name.len());
        joined.push_str(parent);
        joined.push('/');
        joined.push_str(name);
        joined
    }
}

impl Walker<'_> {
    fn wanted(&self, rel: &str) -> bool {
        self.sources
            .as_ref()
            .is_none_or(|sources| sources.covers(rel))
    }

    fn descend_wanted(&self, rel: &str) -> bool {
        self.sources
            .as_ref()
            .is_none_or(|sources| sources.descend(rel))
    }

    fn path(&self, rel: &str) -> PathBuf {
        if rel.is_empty() {
            self.root.to_path_buf()
        } else {
            self.root.join(rel)
        }
    }

    fn io(&self, rel: &str, source: std::io::Error) -> HashError {
        HashError::Io {
            image: self.image.clone(),
            path: self.path(rel),
            source,
        }
    }

    /// The directory and name to reach `name` (at `rel`) through `base`.
    fn at<'b>(&'b self, base: &'b Base, name: &'b CStr, rel: &str) -> (&'b Dir, Cow<'b, CStr>) {
        match base {
            Base::Opened(dir) => (dir, Cow::Borrowed(name)),
            Base::Root => (
                &self.root_dir,
                Cow::Owned(CString::new(rel).expect("a path made of file names has no NUL")),
            ),
        }
    }

    /// Visits the directory `name` (at `rel`): its names come from the listing cache when its
    /// stamp is unchanged, else from reading it.
    fn visit_dir(
        &self,
        base: &Base,
        name: &CStr,
        rel: &str,
        excluded: bool,
    ) -> Result<(), HashError> {
        let (dir, at) = self.at(base, name, rel);
        let meta = dir.stat(&at).map_err(|e| self.io(rel, e))?;
        if meta.kind != Kind::Dir {
            return Err(self.unstable(rel));
        }
        // Names in a directory not opened are reached by their path from the root, which the
        // kernel caps at PATH_MAX (4096): a deeper directory is opened, so that everything below
        // it is reached relative to it.
        if rel.len() < ROOT_RELATIVE_MAX {
            if let Some(names) = self.cache.listing(&meta.stamp) {
                return self.visit_names(&Base::Root, rel, excluded, names);
            }
        }
        let opened = dir.open_child(&at).map_err(|e| self.io(rel, e))?;
        let names = opened.names().map_err(|e| self.io(rel, e))?;
        self.cache.put_listing(meta.stamp, &names);
        self.visit_names(&Base::Opened(opened), rel, excluded, names)
    }

    /// Visits the context root.
    fn visit_root(&self) -> Result<(), HashError> {
        let meta = self.root_dir.stat_self().map_err(|e| self.io("", e))?;
        let names = match self.cache.listing(&meta.stamp) {
            Some(names) => names,
            None => {
                let names = self.root_dir.names().map_err(|e| self.io("", e))?;
                self.cache.put_listing(meta.stamp, &names);
                names
            }
        };
        self.visit_names(&Base::Root, "", false, names)
    }

    fn unstable(&self, rel: &str) -> HashError {
        HashError::Unstable {
            image: self.image.clone(),
            path: self.path(rel),
        }
    }

    /// Visits `names` in the directory `rel`: records what is sent, then lists the
    /// subdirectories and hashes the files as parallel tasks.
    fn visit_names(
        &self,
        base: &Base,
        rel: &str,
        parent_excluded: bool,
        names: Vec<Name>,
    ) -> Result<(), HashError> {
        let mut here = Vec::new();
        let mut dirs = Vec::new();
        let mut files = Vec::new();
        for Name { name, kind } in names {
            let Some(text) = name.to_str().ok() else {
                return Err(HashError::NonUtf8Path {
                    image: self.image.clone(),
                    path: self.path(rel).join(OsStr::from_bytes(name.to_bytes())),
                });
            };
            let child = join(rel, text);
            let kind = match kind {
                Some(kind) => kind,
                None => {
                    let (dir, at) = self.at(base, &name, &child);
                    dir.stat(&at).map_err(|e| self.io(&child, e))?.kind
                }
            };
            let excluded = self.ignore.excluded(&child, parent_excluded);
            match kind {
                Kind::Dir => {
                    if excluded && self.ignore.can_prune(&child) {
                        continue;
                    }
                    if !excluded && self.wanted(&child) {
                        here.push(Entry {
                            path: child.clone(),
                            kind: EntryKind::Dir,
                        });
                    }
                    if self.descend_wanted(&child) {
                        dirs.push(Pending {
                            name,
                            rel: child,
                            excluded,
                        });
                    }
                }
                _ if excluded || !self.wanted(&child) => {}
                Kind::Symlink => {
                    let (dir, at) = self.at(base, &name, &child);
                    let target = dir.read_link(&at).map_err(|e| self.io(&child, e))?;
                    let Ok(target) = target.into_string() else {
                        return Err(HashError::NonUtf8Path {
                            image: self.image.clone(),
                            path: self.path(&child),
                        });
                    };
                    here.push(Entry {
                        path: child,
                        kind: EntryKind::Symlink { target },
                    });
                }
                Kind::File => files.push(Pending {
                    name,
                    rel: child,
                    excluded: false,
                }),
                // Docker's CLI skips sockets, fifos and devices too.
                Kind::Other => {}
            }
        }
        if !here.is_empty() {
            self.found.lock().expect("walk lock").append(&mut here);
        }
        self.visit_pending(base, dirs, files)
    }

    /// Lists the subdirectories and hashes the files of one directory, in parallel.
    fn visit_pending(
        &self,
        base: &Base,
        dirs: Vec<Pending>,
        files: Vec<Pending>,
    ) -> Result<(), HashError> {
        let visit_dirs = || {
            dirs.into_par_iter()
                .try_for_each(|sub| self.visit_dir(base, &sub.name, &sub.rel, sub.excluded))
        };
        let hash_files = || {
            let hashed: Result<Vec<Entry>, HashError> = if files.len() < FILES_PER_TASK {
                files
                    .into_iter()
                    .map(|f| self.file_at(base, &f.name, f.rel))
                    .collect()
            } else {
                files
                    .into_par_iter()
                    .with_min_len(FILES_PER_TASK / 2)
                    .map(|f| self.file_at(base, &f.name, f.rel))
                    .collect()
            };
            let mut hashed = hashed?;
            self.found.lock().expect("walk lock").append(&mut hashed);
            Ok(())
        };
        let (dirs, files) = rayon::join(visit_dirs, hash_files);
        dirs.and(files)
    }

    fn file_at(&self, base: &Base, name: &CStr, rel: String) -> Result<Entry, HashError> {
        let (dir, at) = self.at(base, name, &rel);
        self.file(dir, &at, rel)
    }

    /// The entry of the regular file `name` in `dir`: its metadata, and its content's sha256 from
    /// the cache or read now.
    fn file(&self, dir: &Dir, name: &CStr, rel: String) -> Result<Entry, HashError> {
        let mut meta = dir.stat(name).map_err(|e| self.io(&rel, e))?;
        let sha256 = match self.cache.get(&meta.stamp) {
            Some(sha256) => sha256,
            None => {
                let mut attempts = 0;
                loop {
                    if meta.kind != Kind::File || attempts == HASH_ATTEMPTS {
                        return Err(self.unstable(&rel));
                    }
                    attempts += 1;
                    match dir.hash_file(name, &meta.stamp) {
                        Ok(Some(sha256)) => {
                            self.cache.put(meta.stamp, sha256);
                            break sha256;
                        }
                        Ok(None) => meta = dir.stat(name).map_err(|e| self.io(&rel, e))?,
                        Err(e) => return Err(self.io(&rel, e)),
                    }
                }
            }
        };
        Ok(Entry {
            path: rel,
            kind: EntryKind::File {
                size: meta.stamp.size(),
                executable: meta.executable,
                sha256,
            },
        })
    }

    /// Whether `rel` is excluded, evaluating each parent directory from the root down.
    fn excluded_path(&self, rel: &str) -> bool {
        let mut excluded = false;
        let mut prefix = String::new();
        for component in rel.split('/') {
            prefix = join(&prefix, component);
            excluded = self.ignore.excluded(&prefix, excluded);
        }
        excluded
    }

    /// Visits one path below the root that a Dockerfile names, through its parent directory.
    fn visit_start(&self, start: &str) -> Result<(), HashError> {
        let (parent, name) = start.rsplit_once('/').unwrap_or(("", start));
        if std::fs::symlink_metadata(self.path(start)).is_err() {
            return Ok(()); // reported by the caller as a source that nothing provides
        }
        let dir = Dir::open(&self.path(parent)).map_err(|e| self.io(parent, e))?;
        let parent_excluded = !parent.is_empty() && self.excluded_path(parent);
        let name = CString::new(name).expect("a path read from a Dockerfile has no NUL");
        self.visit_names(
            &Base::Opened(dir),
            parent,
            parent_excluded,
            vec![Name { name, kind: None }],
        )
    }
}

/// Walks `root` and returns the entries that will be sent, sorted by path, every file hashed.
/// Parent directories of selected entries are added when only some paths are read, so the tar
/// is self-contained. `always` (the Dockerfile, when it lies in the context) is sent even when
/// `.dockerignore` excludes it, as Docker sends it.
pub(crate) fn walk(
    image: &ImageName,
    root: &Path,
    ignore: &DockerIgnore,
    reads: &ContextReads,
    always: Option<&str>,
    cache: &ContentCache,
) -> Result<Vec<Entry>, HashError> {
    let root_dir = Dir::open(root).map_err(|source| HashError::Io {
        image: image.clone(),
        path: root.to_path_buf(),
        source,
    })?;
    let walker = Walker {
        image,
        root,
        root_dir,
        ignore,
        sources: match reads {
            ContextReads::Paths(sources) => Some(SourceSet::new(sources)),
            ContextReads::Whole { .. } => None,
        },
        cache,
        found: Mutex::new(Vec::new()),
    };
    match reads {
        ContextReads::Whole { .. } => walker.visit_root()?,
        ContextReads::Paths(sources) => {
            let starts = independent_starts(sources);
            starts.par_iter().try_for_each(|start| {
                if start.is_empty() {
                    walker.visit_root()
                } else {
                    walker.visit_start(start)
                }
            })?;
        }
    }
    // Every entry's parent directory is already an entry when the whole context was walked and
    // nothing excluded was entered, unless the Dockerfile is added from an excluded directory.
    let mut parents_complete =
        matches!(reads, ContextReads::Whole { .. }) && !ignore.has_exceptions();
    if let Some(always) = always {
        let sent = walker
            .found
            .lock()
            .expect("walk lock")
            .iter()
            .any(|e| e.path == always);
        if !sent {
            parents_complete = false;
            // Docker reads the Dockerfile through a symbolic link, so its content is what the
            // link points at.
            let path = walker.path(always);
            let real = std::fs::canonicalize(&path).map_err(|e| walker.io(always, e))?;
            let (Some(parent), Some(name)) = (real.parent(), real.file_name()) else {
                return Err(walker.io(always, std::io::ErrorKind::InvalidInput.into()));
            };
            let dir = Dir::open(parent).map_err(|e| walker.io(always, e))?;
            let name = CString::new(name.as_bytes()).expect("a path on disk has no NUL");
            let entry = walker.file(&dir, &name, always.to_string())?;
            walker.found.lock().expect("walk lock").push(entry);
        }
    }
    let mut found = walker.found.into_inner().expect("walk lock");
    found.par_sort_unstable_by(|a, b| a.path.cmp(&b.path));
    // Parents of everything selected, so the tar holds every directory it needs (also an excluded
    // directory when something below it is re-included, as BuildKit sends it).
    if parents_complete {
        return Ok(found);
    }
    add_missing_parents(&mut found);
    Ok(found)
}

/// Where the walks of only some paths start: each source's literal prefix, without those
/// below another start.
fn independent_starts(sources: &[ContextSource]) -> Vec<&str> {
    let mut starts: Vec<&str> = sources.iter().map(ContextSource::literal_prefix).collect();
    starts.sort();
    starts.dedup();
    // A start below another start is visited by that one's walk (looked up by each
    // ancestor, so thousands of sources cost no more than their paths' depth each).
    let all: std::collections::HashSet<&str> = starts.iter().copied().collect();
    let root = all.contains("");
    starts
        .iter()
        .copied()
        .filter(|s| {
            if s.is_empty() {
                return true;
            }
            !root
                && !s
                    .match_indices('/')
                    .any(|(slash, _)| all.contains(&s[..slash]))
        })
        .collect()
}

/// Adds the parent directories missing from `found` (sorted by path), and sorts it again.
fn add_missing_parents(found: &mut Vec<Entry>) {
    let missing: BTreeSet<String> = {
        // `found` is sorted by path: a parent is looked up by binary search.
        let present = |path: &str| {
            found
                .binary_search_by(|e| e.path.as_str().cmp(path))
                .is_ok()
        };
        let mut missing = BTreeSet::new();
        for entry in found.iter() {
            let mut path = entry.path.as_str();
            while let Some((parent, _)) = path.rsplit_once('/') {
                if present(parent) || missing.contains(parent) {
                    break;
                }
                missing.insert(parent.to_string());
                path = parent;
            }
        }
        missing
    };
    if !missing.is_empty() {
        found.extend(missing.into_iter().map(|path| Entry {
            path,
            kind: EntryKind::Dir,
        }));
        found.par_sort_unstable_by(|a, b| a.path.cmp(&b.path));
    }
}
