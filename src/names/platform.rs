//! Target platforms such as `linux/arm64` (the fleet runs on Graviton) and how they map onto the
//! engine's and ECS's spellings of an architecture.

use std::fmt;
use std::str::FromStr;

use super::NameError;

const ARCHITECTURES: &[&str] = &[
    "amd64", "arm64", "arm", "386", "ppc64le", "s390x", "riscv64",
];

/// Spellings people write that the engine does not accept, with the one it does.
const ALIASES: &[(&str, &str)] = &[
    ("aarch64", "arm64"),
    ("x86_64", "amd64"),
    ("x86-64", "amd64"),
    ("x64", "amd64"),
    ("armv7", "arm/v7"),
    ("i386", "386"),
];

/// An OCI platform: `os/architecture[/variant]`.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Platform {
    os: String,
    architecture: String,
    variant: Option<String>,
}

impl Platform {
    /// The operating system (`linux`).
    pub fn os(&self) -> &str {
        &self.os
    }

    /// The architecture as the engine spells it (`arm64`, `amd64`).
    pub fn architecture(&self) -> &str {
        &self.architecture
    }

    /// The architecture as an ECS task definition's `runtimePlatform.cpuArchitecture` spells it,
    /// where ECS knows it.
    pub fn ecs_cpu_architecture(&self) -> Option<&'static str> {
        match self.architecture.as_str() {
            "arm64" => Some("ARM64"),
            "amd64" => Some("X86_64"),
            _ => None,
        }
    }

    /// The platform of this machine's engine default, used when neither the image nor
    /// `[defaults]` sets one.
    pub fn host() -> Self {
        let architecture = match std::env::consts::ARCH {
            "aarch64" => "arm64",
            "x86_64" => "amd64",
            "x86" => "386",
            "powerpc64" => "ppc64le",
            other => other,
        };
        Self {
            os: "linux".into(),
            architecture: architecture.into(),
            variant: None,
        }
    }
}

impl FromStr for Platform {
    type Err = NameError;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        let parts: Vec<&str> = text.split('/').collect();
        let (os, architecture, variant) = match parts.as_slice() {
            [os, arch] => (*os, *arch, None),
            [os, arch, variant] if !variant.is_empty() => (*os, *arch, Some(variant.to_string())),
            _ => {
                return Err(NameError::new(
                    text,
                    "platform",
                    "write it as `os/architecture`, for example `linux/arm64` or `linux/amd64`",
                ))
            }
        };
        if os != "linux" && os != "windows" {
            return Err(NameError::new(
                text,
                "platform",
                "the operating system must be `linux` or `windows`",
            ));
        }
        if !ARCHITECTURES.contains(&architecture) {
            let rule = match ALIASES.iter().find(|(alias, _)| *alias == architecture) {
                Some((_, proper)) => format!(
                    "the engine spells `{architecture}` as `{proper}`: write `{os}/{proper}`"
                ),
                None => format!(
                    "unknown architecture `{architecture}`; known ones are {}",
                    ARCHITECTURES.join(", ")
                ),
            };
            return Err(NameError::new(text, "platform", rule));
        }
        Ok(Self {
            os: os.to_string(),
            architecture: architecture.to_string(),
            variant,
        })
    }
}

impl fmt::Display for Platform {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.os, self.architecture)?;
        if let Some(variant) = &self.variant {
            write!(f, "/{variant}")?;
        }
        Ok(())
    }
}

impl serde::Serialize for Platform {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_common_platforms() {
        let p: Platform = "linux/arm64".parse().unwrap();
        assert_eq!(p.architecture(), "arm64");
        assert_eq!(p.ecs_cpu_architecture(), Some("ARM64"));
        assert_eq!(
            "linux/arm/v7".parse::<Platform>().unwrap().to_string(),
            "linux/arm/v7"
        );
    }

    #[test]
    fn suggests_the_engine_spelling() {
        let err = "linux/aarch64".parse::<Platform>().unwrap_err();
        assert_eq!(
            err.to_string(),
            "`linux/aarch64` is not a valid platform: the engine spells `aarch64` as `arm64`: write `linux/arm64`"
        );
        assert!("arm64".parse::<Platform>().is_err());
        assert!("darwin/arm64".parse::<Platform>().is_err());
    }
}
