//! Which of the engine's two builders runs a build — BuildKit or the classic builder — what each
//! can do on the connected engine, and the Dockerfile syntax each must refuse before the build
//! starts. This is the seam the rest of the tool sees: a [`Builder`] value in the project's own
//! types; bollard's builder options stay in `build.rs` and `buildkit.rs`.

use std::fmt;
use std::str::FromStr;

use super::engine::Engine;
use super::EngineError;
use crate::hash::dockerfile::{Feature, FeatureKind};
use crate::hash::ImageInputs;

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

impl Engine {
    /// Asks the engine what its builders can do.
    pub async fn capabilities(&self) -> Result<Capabilities, EngineError> {
        let version = self
            .docker
            .version()
            .await
            .map_err(|source| EngineError::Api {
                action: "report its version".into(),
                source,
            })?;
        Ok(Capabilities::from_version(
            version.version.as_deref().unwrap_or_default(),
            version.api_version.as_deref().unwrap_or_default(),
            version.os.as_deref().unwrap_or_default(),
        ))
    }

    /// The builder to use: the one asked for, or BuildKit when the engine has it. Asking for
    /// BuildKit on an engine without it is an error; with nothing asked, such an engine gets the
    /// classic builder.
    pub async fn choose_builder(&self, asked: Option<Builder>) -> Result<Builder, EngineError> {
        let capabilities = self.capabilities().await?;
        match asked {
            Some(Builder::BuildKit) if !capabilities.buildkit => {
                Err(EngineError::NoBuildKit { asked: true })
            }
            Some(builder) => Ok(builder),
            None if capabilities.buildkit => Ok(Builder::BuildKit),
            None => Ok(Builder::Classic),
        }
    }
}

/// Why a Dockerfile cannot be built on `builder`: the first feature it cannot serve, with the
/// alternative. `syntax_available` says whether a `# syntax=` frontend image can be had.
pub fn refusal(
    inputs: &ImageInputs,
    builder: Builder,
    capabilities: Capabilities,
    syntax_available: impl Fn(&str) -> Result<(), String>,
) -> Result<(), EngineError> {
    let found = inputs.parsed.features.iter().find_map(|feature| {
        refuse(feature, builder, capabilities, &syntax_available).map(|refused| (feature, refused))
    });
    match found {
        None => Ok(()),
        Some((feature, (why, hint))) => Err(EngineError::Unsupported {
            image: inputs.image.clone(),
            dockerfile: inputs.dockerfile.clone(),
            line: feature.line,
            feature: feature.kind.written(),
            builder,
            why,
            hint,
        }),
    }
}

/// What `refusal` checks for one feature: `None` when `builder` builds it here, else why not and
/// the alternative.
fn refuse(
    feature: &Feature,
    builder: Builder,
    capabilities: Capabilities,
    syntax_available: &impl Fn(&str) -> Result<(), String>,
) -> Option<(String, String)> {
    let needs_buildkit = || {
        Some((
            "the classic builder does not accept it".to_owned(),
            "build with BuildKit (`--builder buildkit`, or `[defaults] builder = \"buildkit\"`)"
                .to_owned(),
        ))
    };
    match (&feature.kind, builder) {
        (FeatureKind::Mount(kind), _) if kind == "secret" || kind == "ssh" => Some((
            format!(
                "this tool's BuildKit session serves registry logins only, not `{kind}` mounts"
            ),
            match kind.as_str() {
                "secret" => "pass the value as a build arg of a stage whose image is not shipped, or fetch it in a cache mount from a service the build can reach".to_owned(),
                _ => "fetch private sources before the build and `COPY` them in (a bind mount of the context works too)".to_owned(),
            },
        )),
        (FeatureKind::Syntax(_), Builder::Classic) => None,
        (_, Builder::Classic) => needs_buildkit(),
        (FeatureKind::Heredoc, Builder::BuildKit) if !capabilities.heredocs => Some((
            "the engine's built-in Dockerfile frontend predates heredocs (they need Engine 23 or later)".to_owned(),
            "write the heredoc's lines as a `RUN` with `&&`, or `COPY` a file from the context".to_owned(),
        )),
        (FeatureKind::Syntax(image), Builder::BuildKit) => {
            syntax_available(image).err().map(|why| {
                (
                    format!("its frontend image cannot be had: {why}"),
                    "remove the line to use the engine's built-in frontend, or push that frontend image to a registry the engine reaches and name it there".to_owned(),
                )
            })
        }
        _ => None,
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

    fn verdict(kind: FeatureKind, builder: Builder, capabilities: Capabilities) -> Option<String> {
        let feature = Feature { line: 3, kind };
        let frontends = |image: &str| {
            if image.starts_with("mirror.example/") {
                Ok(())
            } else {
                Err("not found".to_owned())
            }
        };
        refuse(&feature, builder, capabilities, &frontends).map(|(why, _)| why)
    }

    #[test]
    fn each_builder_refuses_what_it_cannot_build() {
        let old = Capabilities::from_version("20.10.24", "1.41", "linux");
        let new = Capabilities::from_version("27.3.1", "1.47", "linux");
        let mount = |kind: &str| FeatureKind::Mount(kind.to_owned());
        for kind in [
            mount("cache"),
            mount("bind"),
            mount("tmpfs"),
            FeatureKind::Chmod,
            FeatureKind::Link,
        ] {
            assert_eq!(
                verdict(kind.clone(), Builder::BuildKit, old),
                None,
                "{kind:?}"
            );
            assert_eq!(
                verdict(kind.clone(), Builder::Classic, new).as_deref(),
                Some("the classic builder does not accept it"),
                "{kind:?}"
            );
        }
        for kind in ["secret", "ssh"] {
            for builder in [Builder::BuildKit, Builder::Classic] {
                let why = verdict(mount(kind), builder, new).unwrap();
                assert!(why.contains(&format!("not `{kind}` mounts")), "{why}");
            }
        }
        assert!(verdict(FeatureKind::Heredoc, Builder::BuildKit, old)
            .unwrap()
            .contains("predates heredocs"));
        assert_eq!(verdict(FeatureKind::Heredoc, Builder::BuildKit, new), None);
        assert!(verdict(FeatureKind::Heredoc, Builder::Classic, new).is_some());
        let syntax = |image: &str| FeatureKind::Syntax(image.to_owned());
        assert_eq!(
            verdict(syntax("docker/dockerfile:1.7"), Builder::BuildKit, new).as_deref(),
            Some("its frontend image cannot be had: not found")
        );
        assert_eq!(
            verdict(
                syntax("mirror.example/dockerfile:1.7"),
                Builder::BuildKit,
                old
            ),
            None
        );
        // The classic builder reads `# syntax=` as a comment.
        assert_eq!(
            verdict(syntax("docker/dockerfile:1.7"), Builder::Classic, old),
            None
        );
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
