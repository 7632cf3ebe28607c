//! Choosing the builder on the connected engine, and the Dockerfile syntax each builder must
//! refuse before the build starts (naming the line and the alternative).

use super::builder::{Builder, Capabilities};
use super::engine::Engine;
use super::EngineError;
use crate::hash::dockerfile::{Feature, FeatureKind};
use crate::hash::ImageInputs;

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
}
