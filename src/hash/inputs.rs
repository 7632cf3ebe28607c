//! Reading one image's inputs: its Dockerfile, its ignore file and the context entries that will
//! be sent, each file's content hashed (in parallel, through the content cache).

use std::collections::BTreeMap;
use std::fs;
use std::path::{Path, PathBuf};

use sha2::{Digest as _, Sha256};

use super::dockerfile::{self, ContextReads, ContextSource, Dockerfile, ImageUse};
use super::dockerignore::DockerIgnore;
use super::entry::{Entry, EntryKind};
use super::walk::walk;
use super::HashError;
use crate::manifest::ImageSpec;
use crate::names::{ImageName, ImageRef};
use crate::state::ContentCache;

/// Where the Dockerfile goes in the sent context when it lives outside the context directory.
pub const OUTSIDE_DOCKERFILE: &str = ".fleet-images.Dockerfile";

/// An external image the Dockerfile builds from or copies from.
#[derive(Debug, Clone)]
pub struct Base {
    /// The reference after build-arg substitution.
    pub reference: ImageRef,
    /// Dockerfile line.
    pub line: usize,
    /// The build arg that set it, so errors can say how to point it elsewhere.
    pub arg: Option<String>,
}

/// Everything an image's build will see, read from disk.
#[derive(Debug)]
pub struct ImageInputs {
    /// The image.
    pub image: ImageName,
    /// The context directory.
    pub context: PathBuf,
    /// The Dockerfile on disk.
    pub dockerfile: PathBuf,
    /// Its bytes.
    pub dockerfile_bytes: Vec<u8>,
    /// Its path within the sent context.
    pub dockerfile_path: String,
    /// The ignore file used, if any.
    pub ignore_file: Option<PathBuf>,
    /// The parsed Dockerfile.
    pub parsed: Dockerfile,
    /// External bases (not fleet images).
    pub bases: Vec<Base>,
    /// Why the whole filtered context is sent, when it is.
    pub whole_context: Option<String>,
    /// The entries sent, sorted by path.
    pub entries: Vec<Entry>,
    /// Where the content cache that gave the hashes is saved: an entry found stale when the
    /// context is sent is dropped there.
    pub cache_dir: Option<PathBuf>,
}

impl ImageInputs {
    /// Total bytes of file content sent.
    pub fn bytes(&self) -> u64 {
        self.entries.iter().map(Entry::size).sum()
    }

    /// The file on disk that `entry` (one of [`Self::entries`]) is read from.
    pub fn source(&self, entry: &Entry) -> PathBuf {
        if entry.path == OUTSIDE_DOCKERFILE {
            self.dockerfile.clone()
        } else {
            self.context.join(&entry.path)
        }
    }

    /// Number of regular files sent.
    pub fn files(&self) -> usize {
        self.entries
            .iter()
            .filter(|e| matches!(e.kind, EntryKind::File { .. }))
            .count()
    }
}

/// A stand-in value for a dependency's `<NAME>_IMAGE` arg while parsing; the real reference is
/// only known once the dependency is built or found.
fn placeholder(dep: &ImageName) -> String {
    format!("fleet-images.invalid/{dep}:pending")
}

/// An image's inputs before its context is walked: the Dockerfile read and parsed, the ignore
/// file, the external bases. Cheap to make; the walk is what costs, so the engine can be asked
/// about the bases while the context is hashed.
#[derive(Debug)]
pub struct Parsed {
    image: ImageName,
    context: PathBuf,
    dockerfile: PathBuf,
    dockerfile_bytes: Vec<u8>,
    /// The Dockerfile's path inside the context, when it lies inside.
    inside: Option<String>,
    ignore: DockerIgnore,
    ignore_file: Option<PathBuf>,
    parsed: Dockerfile,
    bases: Vec<Base>,
}

/// Reads an image's inputs: [`parse`], then [`Parsed::hash`].
pub fn read(spec: &ImageSpec, cache: &ContentCache) -> Result<ImageInputs, HashError> {
    parse(spec)?.hash(cache)
}

/// Reads and parses an image's Dockerfile and ignore file.
pub fn parse(spec: &ImageSpec) -> Result<Parsed, HashError> {
    let image = spec.name.clone();
    let context = checked_context(spec)?;
    let dockerfile = spec.dockerfile.value.clone();
    let dockerfile_bytes =
        match crate::input_file::read_capped(&dockerfile, crate::input_file::DOCKERFILE_CAP) {
            Ok(bytes) => bytes,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                return Err(HashError::MissingDockerfile {
                    image,
                    path: dockerfile,
                    location: spec.dockerfile.location.clone(),
                    vars: spec.dockerfile.vars.clone(),
                })
            }
            Err(source) => {
                return Err(HashError::Io {
                    image,
                    path: dockerfile,
                    source,
                })
            }
        };

    let inside = relative_inside(&context, &dockerfile);
    let (ignore, ignore_file) = read_ignore(&image, &context, &dockerfile)?;

    let mut args: BTreeMap<String, Option<String>> = spec
        .args
        .iter()
        .map(|(k, v)| (k.clone(), Some(v.clone())))
        .collect();
    for dep in &spec.depends_on {
        args.insert(dep.build_arg(), Some(placeholder(dep)));
    }
    let text = String::from_utf8_lossy(&dockerfile_bytes);
    let parsed =
        dockerfile::parse_for_target(&text, &args, spec.target.as_deref()).map_err(|source| {
            HashError::Dockerfile {
                image: image.clone(),
                path: dockerfile.clone(),
                source,
            }
        })?;

    let bases = external_bases(spec, &parsed, &dockerfile)?;

    Ok(Parsed {
        image,
        context,
        dockerfile,
        dockerfile_bytes,
        inside,
        ignore,
        ignore_file,
        parsed,
        bases,
    })
}

/// The image's build context, which must be a directory other than `/`.
fn checked_context(spec: &ImageSpec) -> Result<PathBuf, HashError> {
    let image = spec.name.clone();
    let context = spec.context.value.clone();
    if context.exists() && !context.is_dir() {
        return Err(HashError::ContextNotDirectory {
            image,
            path: context,
            location: spec.context.location.clone(),
        });
    }
    if fs::canonicalize(&context).is_ok_and(|c| c == Path::new("/")) {
        // Walking `/` reads every mounted filesystem (and fails late, on /proc).
        return Err(HashError::ContextIsRoot {
            image,
            path: context,
            location: spec.context.location.clone(),
        });
    }
    if !context.is_dir() {
        return Err(HashError::MissingContext {
            image,
            path: context,
            location: spec.context.location.clone(),
            vars: spec.context.vars.clone(),
        });
    }
    Ok(context)
}

/// The images from outside the manifest that the Dockerfile builds on or copies from, once
/// each: not `scratch`, and not the fleet images it depends on (their keys count instead).
fn external_bases(
    spec: &ImageSpec,
    parsed: &Dockerfile,
    dockerfile: &Path,
) -> Result<Vec<Base>, HashError> {
    let image = &spec.name;
    let dep_args: Vec<String> = spec.depends_on.iter().map(ImageName::build_arg).collect();
    let mut bases = Vec::new();
    for external in &parsed.external_images {
        if external.arg.as_ref().is_some_and(|a| dep_args.contains(a))
            || external.reference.starts_with("fleet-images.invalid/")
        {
            continue;
        }
        if external.via == ImageUse::From && external.reference == "scratch" {
            continue;
        }
        let reference =
            external
                .reference
                .parse::<ImageRef>()
                .map_err(|source| HashError::BadBase {
                    image: image.clone(),
                    reference: external.reference.clone(),
                    dockerfile: dockerfile.to_path_buf(),
                    line: external.line,
                    arg: external.arg.clone(),
                    source,
                })?;
        if !bases.iter().any(|b: &Base| b.reference == reference) {
            bases.push(Base {
                reference,
                line: external.line,
                arg: external.arg.clone(),
            });
        }
    }
    Ok(bases)
}

impl Parsed {
    /// The external images the Dockerfile builds or copies from.
    pub fn bases(&self) -> &[Base] {
        &self.bases
    }

    /// Walks the context and hashes every entry that will be sent.
    pub fn hash(self, cache: &ContentCache) -> Result<ImageInputs, HashError> {
        let entries = walk(
            &self.image,
            &self.context,
            &self.ignore,
            &self.parsed.context_reads,
            self.inside.as_deref(),
            cache,
        )?;
        self.check_sources(&entries)?;
        let Parsed {
            image,
            context,
            dockerfile,
            dockerfile_bytes,
            inside,
            ignore: _,
            ignore_file,
            parsed,
            bases,
        } = self;
        let dockerfile_path = inside
            .clone()
            .unwrap_or_else(|| OUTSIDE_DOCKERFILE.to_string());
        let whole_context = match &parsed.context_reads {
            ContextReads::Whole { reason, .. } => Some(reason.clone()),
            ContextReads::Paths(_) => None,
        };

        let mut inputs = ImageInputs {
            image,
            context,
            dockerfile,
            dockerfile_bytes,
            dockerfile_path,
            ignore_file,
            parsed,
            bases,
            whole_context,
            entries,
            cache_dir: cache.dir().map(Path::to_path_buf),
        };
        if inside.is_none() {
            // Sent under a fixed name; its bytes are in the key through `dockerfile_bytes`.
            let sha256: [u8; 32] = Sha256::digest(&inputs.dockerfile_bytes).into();
            inputs.entries.push(Entry {
                path: OUTSIDE_DOCKERFILE.to_string(),
                kind: EntryKind::File {
                    size: inputs.dockerfile_bytes.len() as u64,
                    executable: false,
                    sha256,
                },
            });
        }
        Ok(inputs)
    }

    /// Every `COPY`/`ADD` source the Dockerfile names is sent: not excluded by the ignore file,
    /// present in the context, and not a symlink that the builder would follow to nothing.
    fn check_sources(&self, entries: &[Entry]) -> Result<(), HashError> {
        if let ContextReads::Paths(sources) = &self.parsed.context_reads {
            for source in sources {
                if !provides(entries, source, self.inside.as_deref())
                    && !(self.inside.as_deref().is_some_and(|d| source.covers(d)))
                {
                    let exists = self.context.join(&source.pattern).exists();
                    let (why, hint) = match (&self.ignore_file, exists) {
                    (Some(file), true) => (
                        format!("is excluded by `{}`", file.display()),
                        format!("remove the pattern that excludes `{}` or add `!{}` to the ignore file", source.pattern, source.pattern),
                    ),
                    _ => (
                        format!("does not exist in the build context `{}`", self.context.display()),
                        "check the path: COPY and ADD sources are relative to the context directory".to_string(),
                    ),
                };
                    return Err(HashError::SourceNotSent {
                        image: self.image.clone(),
                        pattern: source.pattern.clone(),
                        line: source.line,
                        why,
                        dockerfile: self.dockerfile.clone(),
                        hint,
                    });
                }
                // A source that is itself a symlink is followed by the builder, inside the
                // context (an absolute or `..` target is taken from the context root): one that
                // leads nowhere fails the build, so it fails here, before any build starts.
                let link = entries
                    .binary_search_by(|e| e.path.as_str().cmp(&source.pattern))
                    .ok()
                    .map(|i| &entries[i]);
                if let Some(Entry {
                    kind: EntryKind::Symlink { target },
                    ..
                }) = link
                {
                    if let Err(resolved) = follow_in_context(&self.context, &source.pattern, target)
                    {
                        return Err(HashError::SourceNotSent {
                            image: self.image.clone(),
                            pattern: source.pattern.clone(),
                            line: source.line,
                            why: format!("is a symlink to `{target}`, which the builder follows inside the build context to `{resolved}`, where nothing exists"),
                            dockerfile: self.dockerfile.clone(),
                            hint: "copy the file itself into the context, or point the link at a file inside it".into(),
                        });
                    }
                }
            }
        }
        Ok(())
    }
}

/// Follows the symlink at context-relative `link` (target `target`) the way the builder does,
/// scoped to the context: an absolute target starts at the context root and `..` stops there.
/// Returns the resolved context-relative path, or as `Err` the path where nothing exists.
fn follow_in_context(context: &Path, link: &str, target: &str) -> Result<String, String> {
    let mut link = link.to_string();
    let mut target = target.to_string();
    // As many hops as Linux allows (MAXSYMLINKS) before calling it a loop.
    for _ in 0..40 {
        let base = match (target.starts_with('/'), link.rsplit_once('/')) {
            (true, _) | (false, None) => "",
            (false, Some((dir, _))) => dir,
        };
        let mut parts: Vec<&str> = base.split('/').filter(|p| !p.is_empty()).collect();
        for part in target.split('/') {
            match part {
                "" | "." => {}
                ".." => {
                    parts.pop();
                }
                part => parts.push(part),
            }
        }
        let resolved = parts.join("/");
        let path = context.join(&resolved);
        match fs::symlink_metadata(&path) {
            Ok(meta) if meta.file_type().is_symlink() => {
                target = fs::read_link(&path)
                    .map_err(|_| resolved.clone())?
                    .to_string_lossy()
                    .into_owned();
                link = resolved;
            }
            Ok(_) => return Ok(resolved),
            Err(_) => return Err(resolved),
        }
    }
    Err(link)
}

/// The path of `file` relative to `dir` when it lies inside it.
fn relative_inside(dir: &Path, file: &Path) -> Option<String> {
    let dir = fs::canonicalize(dir).ok()?;
    let file = fs::canonicalize(file).ok()?;
    let rel = file.strip_prefix(&dir).ok()?;
    let parts: Option<Vec<&str>> = rel.components().map(|c| c.as_os_str().to_str()).collect();
    Some(parts?.join("/"))
}

/// `<Dockerfile>.dockerignore` beside the Dockerfile wins over `.dockerignore` at the context root.
fn read_ignore(
    image: &ImageName,
    context: &Path,
    dockerfile: &Path,
) -> Result<(DockerIgnore, Option<PathBuf>), HashError> {
    let mut beside = dockerfile.as_os_str().to_owned();
    beside.push(".dockerignore");
    let candidates = [PathBuf::from(beside), context.join(".dockerignore")];
    for path in candidates {
        match crate::input_file::read_capped(&path, crate::input_file::IGNORE_CAP) {
            Ok(bytes) => {
                let text = String::from_utf8_lossy(&bytes);
                let ignore = DockerIgnore::parse(&text).map_err(|source| HashError::Ignore {
                    image: image.clone(),
                    path: path.clone(),
                    source,
                })?;
                return Ok((ignore, Some(path)));
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => continue,
            Err(source) => {
                return Err(HashError::Io {
                    image: image.clone(),
                    path,
                    source,
                })
            }
        }
    }
    Ok((DockerIgnore::empty(), None))
}

/// Whether a sent entry other than the Dockerfile (at `inside`) falls under `source`. `entries`
/// is sorted by path, so a plain path is looked up by binary search: thousands of `COPY` lines
/// cost no more than thousands of lookups.
fn provides(entries: &[Entry], source: &ContextSource, inside: Option<&str>) -> bool {
    let other = |e: &Entry| Some(e.path.as_str()) != inside;
    if !source.is_literal() {
        return entries.iter().any(|e| other(e) && source.covers(&e.path));
    }
    let pattern = source.pattern.as_str();
    if let Ok(i) = entries.binary_search_by(|e| e.path.as_str().cmp(pattern)) {
        if other(&entries[i]) {
            return true;
        }
    }
    let below = format!("{pattern}/");
    let from = entries.partition_point(|e| e.path.as_str() < below.as_str());
    entries[from..]
        .iter()
        .take_while(|e| e.path.starts_with(&below))
        .any(other)
}
