//! The name of the engine's builder a build runs on — BuildKit or the classic builder — as
//! `--builder`, `FLEET_IMAGES_BUILDER` and `[defaults] builder` spell it. A plain value the
//! manifest can hold without depending on the engine; what each builder can do on the connected
//! engine is `docker::Capabilities`.

use std::fmt;
use std::str::FromStr;

/// The builder a build runs on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Builder {
    /// BuildKit (`version=2` on `/build`, with a session): the default when the engine has it.
    #[default]
    BuildKit,
    /// The classic builder (`version=1`): deprecated by Docker, kept for engines without
    /// BuildKit and by choice.
    Classic,
}

impl Builder {
    /// The name used by `--builder` and `[defaults] builder`.
    pub fn as_str(self) -> &'static str {
        match self {
            Builder::BuildKit => "buildkit",
            Builder::Classic => "classic",
        }
    }
}

impl fmt::Display for Builder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A builder name that is neither `buildkit` nor `classic`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown builder `{0}`: use `buildkit` or `classic`")]
pub struct UnknownBuilder(pub String);

impl FromStr for Builder {
    type Err = UnknownBuilder;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        match text.trim().to_ascii_lowercase().as_str() {
            "buildkit" => Ok(Builder::BuildKit),
            "classic" | "legacy" => Ok(Builder::Classic),
            _ => Err(UnknownBuilder(text.to_owned())),
        }
    }
}
