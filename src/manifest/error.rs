//! Everything that can be wrong with a manifest, each with the file, line and key it concerns.

use std::path::PathBuf;

use crate::error::{Diagnostic, Exit, Location};
use crate::names::ImageName;

/// A manifest that cannot be loaded or used. All of these exit with code 2.
#[derive(Debug, thiserror::Error)]
pub enum ManifestError {
    /// The file could not be read.
    #[error("cannot read manifest `{}`", path.display())]
    Read {
        /// The manifest path.
        path: PathBuf,
        /// Why.
        #[source]
        source: std::io::Error,
    },
    /// Not valid TOML.
    #[error("manifest is not valid TOML: {message}")]
    Syntax {
        /// Where.
        location: Location,
        /// The parser's message (first line).
        message: String,
    },
    /// A key the tool does not know.
    #[error("unknown key `{key}` in {table}")]
    UnknownKey {
        /// Where.
        location: Location,
        /// The key as written.
        key: String,
        /// The table it is in (`[images.element]`).
        table: String,
        /// A known key it is close to.
        suggestion: Option<String>,
        /// The keys that table accepts.
        known: Vec<&'static str>,
    },
    /// A required key is absent.
    #[error("{table} has no `{key}`")]
    MissingKey {
        /// Where the table is.
        location: Location,
        /// The missing key.
        key: &'static str,
        /// The table.
        table: String,
        /// What to write.
        example: &'static str,
    },
    /// A value of the wrong TOML type.
    #[error("`{key}` must be {expected}, not {found}")]
    WrongType {
        /// Where.
        location: Location,
        /// The key.
        key: String,
        /// What it must be.
        expected: &'static str,
        /// What it is.
        found: &'static str,
    },
    /// A value of the right type that is not acceptable.
    #[error("{message}")]
    InvalidValue {
        /// Where.
        location: Location,
        /// What is wrong with it.
        message: String,
        /// How to fix it.
        hint: Option<String>,
    },
    /// `${name}`s that no `--var`, `FLEET_VAR_<NAME>` or `[vars]` entry sets.
    #[error("unresolved variable{} {}", if names.len() == 1 { "" } else { "s" }, names.iter().map(|(n, _)| format!("`${{{n}}}`")).collect::<Vec<_>>().join(", "))]
    UnresolvedVars {
        /// Each name with where it was first used.
        names: Vec<(String, Location)>,
    },
    /// `depends_on` names an image the manifest does not define.
    #[error("image `{image}` depends on `{dependency}`, which the manifest does not define")]
    UnknownDependency {
        /// Where.
        location: Location,
        /// The image.
        image: ImageName,
        /// The unknown name.
        dependency: String,
        /// A defined image it is close to.
        suggestion: Option<String>,
    },
    /// `depends_on` forms a cycle.
    #[error("images depend on each other in a cycle: {}", cycle.iter().map(ToString::to_string).collect::<Vec<_>>().join(" -> "))]
    Cycle {
        /// Where the first image of the cycle is.
        location: Location,
        /// The cycle, first image repeated at the end.
        cycle: Vec<ImageName>,
    },
    /// A name on the command line that the manifest does not define.
    #[error("no image named `{name}` in {}", manifest.display())]
    UnknownImage {
        /// The manifest.
        manifest: PathBuf,
        /// The name given.
        name: String,
        /// A defined image it is close to.
        suggestion: Option<String>,
        /// Every defined image.
        known: Vec<String>,
    },
    /// A `--var` argument without `=`.
    #[error("`--var {text}` is not of the form NAME=VALUE")]
    BadVarArgument {
        /// The argument.
        text: String,
    },
    /// A `--platform` (or `FLEET_IMAGES_PLATFORM`) that is not a platform.
    #[error("`--platform {text}` is not a platform: {message}")]
    BadPlatformArgument {
        /// The argument.
        text: String,
        /// Why it is not one.
        message: String,
    },
}

impl Diagnostic for ManifestError {
    fn exit(&self) -> Exit {
        Exit::BadInput
    }

    fn location(&self) -> Option<Location> {
        match self {
            ManifestError::Syntax { location, .. }
            | ManifestError::UnknownKey { location, .. }
            | ManifestError::MissingKey { location, .. }
            | ManifestError::WrongType { location, .. }
            | ManifestError::InvalidValue { location, .. }
            | ManifestError::UnknownDependency { location, .. }
            | ManifestError::Cycle { location, .. } => Some(location.clone()),
            ManifestError::UnresolvedVars { names } => names.first().map(|(_, l)| l.clone()),
            ManifestError::Read { .. }
            | ManifestError::UnknownImage { .. }
            | ManifestError::BadVarArgument { .. }
            | ManifestError::BadPlatformArgument { .. } => None,
        }
    }

    fn hint(&self) -> Option<String> {
        match self {
            ManifestError::Read { .. } => Some(
                "name the manifest with `--manifest PATH` or `FLEET_IMAGES_MANIFEST`; the default is `images/fleet.toml`".into(),
            ),
            ManifestError::UnknownKey { suggestion: Some(s), .. } => Some(format!("did you mean `{s}`?")),
            ManifestError::UnknownKey { known, .. } => Some(format!("known keys here: {}", known.join(", "))),
            ManifestError::MissingKey { example, .. } => Some(format!("add it, for example `{example}`")),
            ManifestError::InvalidValue { hint, .. } => hint.clone(),
            ManifestError::UnresolvedVars { names } => {
                let (name, _) = &names[0];
                Some(format!(
                    "set each with `--var {name}=VALUE`, the environment variable `FLEET_VAR_{}`, or a default in `[vars]`",
                    name.to_ascii_uppercase().replace('-', "_")
                ))
            }
            ManifestError::UnknownDependency { suggestion: Some(s), .. } => Some(format!("did you mean `{s}`?")),
            ManifestError::UnknownDependency { .. } => Some("define it under `[images.<name>]` or remove it from `depends_on`".into()),
            ManifestError::Cycle { .. } => Some("remove one of these `depends_on` entries".into()),
            ManifestError::UnknownImage { suggestion: Some(s), .. } => Some(format!("did you mean `{s}`?")),
            ManifestError::UnknownImage { known, .. } => Some(format!("images in the manifest: {}", known.join(", "))),
            ManifestError::BadVarArgument { .. } => Some("write it as `--var source=../open-claw-fleet`".into()),
            ManifestError::BadPlatformArgument { .. } => Some("write it as `--platform linux/amd64` or `--platform linux/arm64`".into()),
            _ => None,
        }
    }
}
