//! Which of the engine's two builders runs a build — BuildKit or the classic builder — and what
//! each can do on the connected engine. This is the seam the rest of the tool sees: a [`Builder`]
//! value in the project's own types (defined in `names/`, so that the manifest can hold one);
//! bollard's builder options stay in `build.rs` and `buildkit.rs`, the choice and the syntax each
//! builder refuses in `refusal.rs`.

pub use crate::names::{Builder, UnknownBuilder};

/// What the connected engine's builders can do, from its version.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Capabilities {
    /// BuildKit through the Engine API: API 1.39 or later on a Linux engine.
    pub buildkit: bool,
    /// The built-in Dockerfile frontend reads heredocs: Engine 23 or later (BuildKit 0.11,
    /// Dockerfile syntax 1.4). Debian's 20.10 answers "unknown instruction" to them.
    pub heredocs: bool,
}

impl Capabilities {
    /// From the engine's `Version` (`20.10.24+dfsg1`), API version (`1.41`) and OS.
    pub fn from_version(version: &str, api_version: &str, os: &str) -> Self {
        let numbers = |text: &str| -> (u64, u64) {
            let mut parts = text
                .split(|c: char| !c.is_ascii_digit())
                .filter(|p| !p.is_empty())
                .map(|p| p.parse::<u64>().unwrap_or(0));
            (parts.next().unwrap_or(0), parts.next().unwrap_or(0))
        };
        let linux = os.is_empty() || os.eq_ignore_ascii_case("linux");
        Capabilities {
            buildkit: linux && numbers(api_version) >= (1, 39),
            heredocs: linux && numbers(version).0 >= 23,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn builder_names_parse_and_print() {
        assert_eq!("buildkit".parse::<Builder>(), Ok(Builder::BuildKit));
        assert_eq!("Classic".parse::<Builder>(), Ok(Builder::Classic));
        assert_eq!(
            "kaniko".parse::<Builder>().unwrap_err().to_string(),
            "unknown builder `kaniko`: use `buildkit` or `classic`"
        );
        assert_eq!(Builder::BuildKit.to_string(), "buildkit");
    }

    #[test]
    fn capabilities_follow_the_engine_version() {
        let debian = Capabilities::from_version("20.10.24+dfsg1", "1.41", "linux");
        assert!(debian.buildkit && !debian.heredocs);
        let recent = Capabilities::from_version("27.3.1", "1.47", "linux");
        assert!(recent.buildkit && recent.heredocs);
        let old = Capabilities::from_version("18.06.1-ce", "1.38", "linux");
        assert!(!old.buildkit);
        let windows = Capabilities::from_version("27.3.1", "1.47", "windows");
        assert!(!windows.buildkit);
    }
}
