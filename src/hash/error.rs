//! What can go wrong while reading an image's inputs.

use std::path::PathBuf;

use crate::error::{Diagnostic, Exit, Location};
use crate::names::ImageName;

/// An image whose inputs cannot be read. All exit with code 2 (bad input).
#[derive(Debug, thiserror::Error)]
pub enum HashError {
    /// The context directory is missing.
    #[error("build context `{}` of image `{image}` does not exist", path.display())]
    MissingContext {
        /// The image.
        image: ImageName,
        /// The path as resolved.
        path: PathBuf,
        /// Where the manifest sets it.
        location: Location,
        /// The `${var}`s the manifest's value used.
        vars: Vec<String>,
    },
    /// The Dockerfile is missing.
    #[error("Dockerfile `{}` of image `{image}` does not exist", path.display())]
    MissingDockerfile {
        /// The image.
        image: ImageName,
        /// The path as resolved.
        path: PathBuf,
        /// Where the manifest sets it.
        location: Location,
        /// The `${var}`s the manifest's value used.
        vars: Vec<String>,
    },
    /// The Dockerfile cannot be understood.
    #[error("cannot read the Dockerfile of image `{image}`")]
    Dockerfile {
        /// The image.
        image: ImageName,
        /// The Dockerfile.
        path: PathBuf,
        /// Why.
        #[source]
        source: super::dockerfile::DockerfileError,
    },
    /// The ignore file has a bad line.
    #[error("bad ignore file `{}` of image `{image}`", path.display())]
    Ignore {
        /// The image.
        image: ImageName,
        /// The ignore file.
        path: PathBuf,
        /// Why.
        #[source]
        source: super::dockerignore::IgnoreError,
    },
    /// A COPY/ADD source that no sent file provides.
    #[error("`{pattern}` (Dockerfile line {line}) of image `{image}` {why}")]
    SourceNotSent {
        /// The image.
        image: ImageName,
        /// The source as written, cleaned.
        pattern: String,
        /// Dockerfile line.
        line: usize,
        /// "is excluded by …" or "does not exist in …".
        why: String,
        /// The Dockerfile.
        dockerfile: PathBuf,
        /// What to do.
        hint: String,
    },
    /// A base image reference that is not valid.
    #[error("base image `{reference}` of image `{image}` is not a valid reference")]
    BadBase {
        /// The image.
        image: ImageName,
        /// The reference after build-arg substitution.
        reference: String,
        /// The Dockerfile.
        dockerfile: PathBuf,
        /// Dockerfile line.
        line: usize,
        /// The build arg it came from.
        arg: Option<String>,
        /// Why.
        #[source]
        source: crate::names::NameError,
    },
    /// A file name that is not UTF-8.
    #[error("file name `{}` in the context of image `{image}` is not UTF-8", path.display())]
    NonUtf8Path {
        /// The image.
        image: ImageName,
        /// The path (lossy).
        path: PathBuf,
    },
    /// A file or directory that cannot be read.
    #[error("cannot read `{}` for image `{image}`", path.display())]
    Io {
        /// The image.
        image: ImageName,
        /// The path.
        path: PathBuf,
        /// Why.
        #[source]
        source: std::io::Error,
    },
    /// A file kept changing while it was hashed.
    #[error("`{}` changed while it was being hashed (image `{image}`)", path.display())]
    Unstable {
        /// The image.
        image: ImageName,
        /// The path.
        path: PathBuf,
    },
    /// The context is the filesystem root.
    #[error("build context `{}` of image `{image}` is the root of the filesystem", path.display())]
    ContextIsRoot {
        /// The image.
        image: ImageName,
        /// The path as written.
        path: PathBuf,
        /// Where the manifest sets it.
        location: Location,
    },
    /// The context exists but is not a directory.
    #[error("build context `{}` of image `{image}` is not a directory", path.display())]
    ContextNotDirectory {
        /// The image.
        image: ImageName,
        /// The path as resolved.
        path: PathBuf,
        /// Where the manifest sets it.
        location: Location,
    },
}

impl Diagnostic for HashError {
    fn exit(&self) -> Exit {
        Exit::BadInput
    }

    fn location(&self) -> Option<Location> {
        match self {
            HashError::MissingContext { location, .. }
            | HashError::MissingDockerfile { location, .. }
            | HashError::ContextNotDirectory { location, .. }
            | HashError::ContextIsRoot { location, .. } => Some(location.clone()),
            HashError::Dockerfile { path, source, .. } => Some(Location {
                file: path.display().to_string(),
                line: Some(source.line()).filter(|l| *l > 0),
                key: None,
            }),
            HashError::SourceNotSent {
                dockerfile, line, ..
            }
            | HashError::BadBase {
                dockerfile, line, ..
            } => Some(Location {
                file: dockerfile.display().to_string(),
                line: Some(*line),
                key: None,
            }),
            HashError::Ignore { path, source, .. } => Some(Location {
                file: path.display().to_string(),
                line: Some(source.line()),
                key: None,
            }),
            _ => None,
        }
    }

    fn hint(&self) -> Option<String> {
        match self {
            HashError::MissingContext { vars, .. } | HashError::MissingDockerfile { vars, .. } => Some(match vars.first() {
                Some(var) => format!("set it with `--var {var}=PATH` (or env `{}`)", crate::manifest::env_name(var)),
                None => "fix the path in the manifest; relative paths start at the manifest's directory".into(),
            }),
            HashError::SourceNotSent { hint, .. } => Some(hint.clone()),
            HashError::BadBase { arg: Some(arg), .. } => Some(format!("set build arg `{arg}` in the manifest's `args` to an image reference")),
            HashError::NonUtf8Path { .. } => Some("rename the file, or exclude it in .dockerignore".into()),
            HashError::Unstable { .. } => Some("stop whatever is writing to it, then run again".into()),
            HashError::ContextIsRoot { .. } => Some("name the directory that holds the image's files; every file under the context is read and sent".into()),
            HashError::ContextNotDirectory { .. } => Some("`context` names the directory whose files the build is sent; name the Dockerfile with `dockerfile`".into()),
            _ => None,
        }
    }
}
