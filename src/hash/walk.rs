//! One walk over a build context: applies `.dockerignore` while walking (pruning excluded
//! directories that nothing re-includes), and, when the Dockerfile names every path it reads,
//! visits only those paths.

use std::collections::BTreeMap;
use std::fs;
use std::path::{Path, PathBuf};

use super::dockerfile::{ContextReads, ContextSource};
use super::dockerignore::DockerIgnore;
use super::HashError;
use crate::names::ImageName;

/// A context entry found by the walk, before its content is hashed.
#[derive(Debug)]
pub(crate) struct Found {
    pub(crate) rel: String,
    pub(crate) abs: PathBuf,
    pub(crate) kind: FoundKind,
}

#[derive(Debug)]
pub(crate) enum FoundKind {
    File { meta: fs::Metadata },
    Dir,
    Symlink { target: String },
}

struct Walker<'a> {
    image: &'a ImageName,
    ignore: &'a DockerIgnore,
    /// `None`: every entry is wanted. `Some`: only what these sources cover.
    sources: Option<&'a [ContextSource]>,
    found: BTreeMap<String, Found>,
}

fn join(parent: &str, name: &str) -> String {
    if parent.is_empty() {
        name.to_string()
    } else {
        format!("{parent}/{name}")
    }
}

impl Walker<'_> {
    fn wanted(&self, rel: &str) -> bool {
        self.sources
            .is_none_or(|sources| sources.iter().any(|s| s.covers(rel)))
    }

    fn descend_wanted(&self, rel: &str) -> bool {
        self.sources.is_none_or(|sources| {
            sources
                .iter()
                .any(|s| s.covers(rel) || s.may_cover_below(rel))
        })
    }

    fn io(&self, path: &Path, source: std::io::Error) -> HashError {
        HashError::Io {
            image: self.image.clone(),
            path: path.to_path_buf(),
            source,
        }
    }

    fn visit_dir(&mut self, rel: &str, abs: &Path, excluded: bool) -> Result<(), HashError> {
        let entries = fs::read_dir(abs).map_err(|e| self.io(abs, e))?;
        for entry in entries {
            let entry = entry.map_err(|e| self.io(abs, e))?;
            let name = entry.file_name();
            let Some(name) = name.to_str() else {
                return Err(HashError::NonUtf8Path {
                    image: self.image.clone(),
                    path: entry.path(),
                });
            };
            let child_rel = join(rel, name);
            let child_abs = entry.path();
            self.visit(child_rel, child_abs, excluded, Some(&entry))?;
        }
        Ok(())
    }

    /// Visits one path. When it came from a directory listing, its type comes from the listing
    /// and only regular files are stat'ed, relative to their directory: on a large tree the
    /// system calls are most of a warm run's time.
    fn visit(
        &mut self,
        rel: String,
        abs: PathBuf,
        parent_excluded: bool,
        entry: Option<&fs::DirEntry>,
    ) -> Result<(), HashError> {
        let file_type = match entry {
            Some(entry) => entry.file_type(),
            None => fs::symlink_metadata(&abs).map(|m| m.file_type()),
        }
        .map_err(|e| self.io(&abs, e))?;
        let excluded = self.ignore.excluded(&rel, parent_excluded);
        if file_type.is_dir() {
            if excluded && self.ignore.can_prune(&rel) {
                return Ok(());
            }
            if !excluded && self.wanted(&rel) {
                self.found.insert(
                    rel.clone(),
                    Found {
                        rel: rel.clone(),
                        abs: abs.clone(),
                        kind: FoundKind::Dir,
                    },
                );
            }
            if self.descend_wanted(&rel) {
                self.visit_dir(&rel, &abs, excluded)?;
            }
        } else if !excluded && self.wanted(&rel) {
            let kind = if file_type.is_symlink() {
                let target = fs::read_link(&abs).map_err(|e| self.io(&abs, e))?;
                let Some(target) = target.to_str() else {
                    return Err(HashError::NonUtf8Path {
                        image: self.image.clone(),
                        path: abs,
                    });
                };
                FoundKind::Symlink {
                    target: target.to_string(),
                }
            } else if file_type.is_file() {
                let meta = match entry {
                    Some(entry) => entry.metadata(),
                    None => fs::symlink_metadata(&abs),
                }
                .map_err(|e| self.io(&abs, e))?;
                FoundKind::File { meta }
            } else {
                // Sockets, fifos and devices cannot be sent in a build context; Docker's CLI skips
                // them too.
                return Ok(());
            };
            self.found.insert(rel.clone(), Found { rel, abs, kind });
        }
        Ok(())
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
}

/// Walks `root` and returns the entries that will be sent, sorted by path. Parent directories of
/// selected entries are added when only some paths are read, so the tar is self-contained.
pub(crate) fn walk(
    image: &ImageName,
    root: &Path,
    ignore: &DockerIgnore,
    reads: &ContextReads,
    always: Option<&str>,
) -> Result<Vec<Found>, HashError> {
    let mut walker = Walker {
        image,
        ignore,
        sources: match reads {
            ContextReads::Paths(sources) => Some(sources.as_slice()),
            ContextReads::Whole { .. } => None,
        },
        found: BTreeMap::new(),
    };
    match reads {
        ContextReads::Whole { .. } => walker.visit_dir("", root, false)?,
        ContextReads::Paths(sources) => {
            let mut starts: Vec<&str> = sources.iter().map(ContextSource::literal_prefix).collect();
            starts.sort();
            starts.dedup();
            // A start below another start is visited by that one's walk.
            let starts: Vec<&str> = starts
                .iter()
                .copied()
                .filter(|s| {
                    !starts
                        .iter()
                        .any(|o| o != s && (o.is_empty() || s.starts_with(&format!("{o}/"))))
                })
                .collect();
            for start in starts {
                if start.is_empty() {
                    walker.visit_dir("", root, false)?;
                    continue;
                }
                let abs = root.join(start);
                if fs::symlink_metadata(&abs).is_err() {
                    continue; // reported below as a source that nothing provides
                }
                let parent = start.rsplit_once('/').map_or("", |(p, _)| p);
                let parent_excluded = !parent.is_empty() && walker.excluded_path(parent);
                walker.visit(start.to_string(), abs, parent_excluded, None)?;
            }
        }
    }
    if let Some(always) = always {
        if !walker.found.contains_key(always) {
            let abs = root.join(always);
            let meta = fs::metadata(&abs).map_err(|e| walker.io(&abs, e))?;
            walker.found.insert(
                always.to_string(),
                Found {
                    rel: always.to_string(),
                    abs,
                    kind: FoundKind::File { meta },
                },
            );
        }
    }
    // Parents of everything selected, so the tar holds every directory it needs (also an excluded
    // directory when something below it is re-included, as BuildKit sends it).
    let paths: Vec<String> = walker.found.keys().cloned().collect();
    for path in paths {
        let mut parent = path.as_str();
        while let Some((p, _)) = parent.rsplit_once('/') {
            parent = p;
            if walker.found.contains_key(parent) {
                break;
            }
            walker.found.insert(
                parent.to_string(),
                Found {
                    rel: parent.to_string(),
                    abs: root.join(parent),
                    kind: FoundKind::Dir,
                },
            );
        }
    }
    Ok(walker.found.into_values().collect())
}
