//! Where the file rules look: the built image (through a created, never started container and the
//! archive API), or, before the image is built, the context files the Dockerfile copies in.

use std::io::Read;

use super::copies::{self, Copy, InContext};
use crate::docker::{EngineError, FileContent, PathKind, TestContainer};
use crate::hash::{EntryKind, ImageInputs};

/// Most bytes a rule reads of one file (an Element `config.json` is a few KB).
pub(crate) const READ_CAP: u64 = 1024 * 1024;

/// What is at a path.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum FileState {
    /// A regular file, with its bytes when they were asked for (else empty).
    File(Vec<u8>),
    /// Something else: `a directory`, `a special file`.
    NotAFile(&'static str),
    /// Nothing (certain: the built image says so).
    Missing,
    /// Larger than [`READ_CAP`].
    TooLarge(u64),
    /// The Dockerfile does not copy anything there from the context: the base image or a `RUN`
    /// step may create it, and only the built image can tell.
    Unknown,
}

/// The files of one image; `C` is the engine's container type.
pub(crate) enum Files<'a, C> {
    /// The context, through the final stage's `COPY`s.
    Context {
        /// The final stage's copies.
        copies: Vec<Copy>,
        /// The sent entries and their files on disk.
        inputs: &'a ImageInputs,
    },
    /// The built image, through a created and never started container.
    Image(&'a C),
}

impl<C: TestContainer> Files<'_, C> {
    /// What the rules say they looked at.
    pub(crate) fn origin(&self) -> &'static str {
        match self {
            Files::Context { .. } => "the build context",
            Files::Image(_) => "the image",
        }
    }

    /// Where a finding about `path` points: the context file it comes from, or the path in the
    /// image.
    pub(crate) fn location(&self, path: &str) -> String {
        match self {
            Files::Context { copies, inputs } => {
                match copies::find_in_context(copies, &inputs.entries, path) {
                    Some(InContext::Entry(index)) => {
                        inputs.source(&inputs.entries[index]).display().to_string()
                    }
                    _ => format!("{path} (in the image)"),
                }
            }
            Files::Image(_) => format!("{path} (in the image)"),
        }
    }

    /// Looks at `path` (absolute), reading its bytes when `read` is set.
    pub(crate) async fn get(&self, path: &str, read: bool) -> Result<FileState, EngineError> {
        match self {
            Files::Context { copies, inputs } => Ok(from_context(copies, inputs, path, read)),
            Files::Image(container) => {
                if read {
                    return Ok(match container.read_file(path, READ_CAP).await? {
                        FileContent::File(bytes) => FileState::File(bytes),
                        FileContent::Missing => FileState::Missing,
                        FileContent::NotAFile(kind) => FileState::NotAFile(describe(kind)),
                        FileContent::TooLarge { size } => FileState::TooLarge(size),
                    });
                }
                Ok(match container.resolve(path).await? {
                    None => FileState::Missing,
                    Some((_, info)) if info.kind == PathKind::File => FileState::File(Vec::new()),
                    Some((_, info)) => FileState::NotAFile(describe(info.kind)),
                })
            }
        }
    }
}

fn describe(kind: PathKind) -> &'static str {
    match kind {
        PathKind::Dir => "a directory",
        PathKind::File => "a file",
        PathKind::Symlink => "a dangling link",
        PathKind::Other => "a special file",
    }
}

fn from_context(copies: &[Copy], inputs: &ImageInputs, path: &str, read: bool) -> FileState {
    match copies::find_in_context(copies, &inputs.entries, path) {
        None => FileState::Unknown,
        Some(InContext::Dir) => FileState::NotAFile("a directory"),
        Some(InContext::Entry(index)) => match &inputs.entries[index].kind {
            EntryKind::Dir => FileState::NotAFile("a directory"),
            EntryKind::Symlink { .. } => FileState::Unknown,
            EntryKind::File { size, .. } if *size > READ_CAP => FileState::TooLarge(*size),
            EntryKind::File { .. } if !read => FileState::File(Vec::new()),
            EntryKind::File { .. } => {
                let mut bytes = Vec::new();
                let source = &inputs.source(&inputs.entries[index]);
                match std::fs::File::open(source)
                    .and_then(|f| f.take(READ_CAP).read_to_end(&mut bytes))
                {
                    Ok(_) => FileState::File(bytes),
                    // Gone since it was hashed: the build would fail on it too.
                    Err(_) => FileState::Missing,
                }
            }
        },
    }
}
