//! Image references as Docker reads them: `[registry[:port]/]path[:tag][@digest]`, with Docker
//! Hub's implicit `docker.io` and `library/`.

use std::fmt;
use std::str::FromStr;

use super::{Digest, NameError};

const DOCKER_HUB: &str = "docker.io";

/// A parsed image reference. `registry` is `None` for Docker Hub references written without one.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct ImageRef {
    registry: Option<String>,
    path: String,
    tag: Option<String>,
    digest: Option<Digest>,
}

impl ImageRef {
    /// A reference to `registry/path:tag`.
    pub fn tagged(registry: Option<&str>, path: &str, tag: &str) -> Self {
        Self {
            registry: registry.map(str::to_string),
            path: path.to_string(),
            tag: Some(tag.to_string()),
            digest: None,
        }
    }

    /// A reference to `registry/path@digest`.
    pub fn pinned(registry: Option<&str>, path: &str, digest: Digest) -> Self {
        Self {
            registry: registry.map(str::to_string),
            path: path.to_string(),
            tag: None,
            digest: Some(digest),
        }
    }

    /// The registry host (with port), `docker.io` when the reference names none.
    pub fn registry(&self) -> &str {
        self.registry.as_deref().unwrap_or(DOCKER_HUB)
    }

    /// The repository path within the registry, with Docker Hub's `library/` for official images.
    pub fn repository(&self) -> String {
        if self.registry.is_none() && !self.path.contains('/') {
            format!("library/{}", self.path)
        } else {
            self.path.clone()
        }
    }

    /// The repository as written, without registry, tag or digest: `repo[/more]`.
    pub fn name(&self) -> String {
        match &self.registry {
            Some(registry) => format!("{registry}/{}", self.path),
            None => self.path.clone(),
        }
    }

    /// The tag, if any (`latest` is implied by Docker when neither tag nor digest is given).
    pub fn tag(&self) -> Option<&str> {
        self.tag.as_deref()
    }

    /// The digest, if the reference is pinned.
    pub fn digest(&self) -> Option<&Digest> {
        self.digest.as_ref()
    }

    /// A floating reference is one that can point at different images over time: no digest, and
    /// no tag or a tag such as `latest`, `stable`, `main`.
    pub fn is_floating(&self) -> bool {
        if self.digest.is_some() {
            return false;
        }
        match self.tag.as_deref() {
            None => true,
            Some(tag) => matches!(
                tag,
                "latest"
                    | "stable"
                    | "main"
                    | "master"
                    | "edge"
                    | "nightly"
                    | "develop"
                    | "dev"
                    | "lts"
                    | "current"
            ),
        }
    }
}

fn is_registry_component(first: &str) -> bool {
    first.contains('.') || first.contains(':') || first == "localhost"
}

impl FromStr for ImageRef {
    type Err = NameError;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        let bad = |rule: &str| NameError::new(text, "image reference", rule);
        if text.is_empty() || text.chars().any(char::is_whitespace) {
            return Err(bad("an image reference has no spaces, for example `busybox:1.36` or `registry.example.com/team/app:1.0`"));
        }
        let (rest, digest) = match text.split_once('@') {
            Some((rest, digest)) => (
                rest,
                Some(digest.parse::<Digest>().map_err(|e| bad(&e.rule))?),
            ),
            None => (text, None),
        };
        let (registry, remainder) = match rest.split_once('/') {
            Some((first, remainder)) if is_registry_component(first) => {
                (Some(first.to_string()), remainder)
            }
            _ => (None, rest),
        };
        // A tag is after the last `:` that follows the last `/`.
        let last_slash = remainder.rfind('/').map_or(0, |i| i + 1);
        let (path, tag) = match remainder[last_slash..].rfind(':') {
            Some(i) => (
                &remainder[..last_slash + i],
                Some(remainder[last_slash + i + 1..].to_string()),
            ),
            None => (remainder, None),
        };
        if path.is_empty() || path.split('/').any(|c| c.is_empty()) {
            return Err(bad("the repository part is empty"));
        }
        if path.bytes().any(|b| b.is_ascii_uppercase()) {
            return Err(bad("repository names must be lowercase"));
        }
        if let Some(tag) = &tag {
            let valid = !tag.is_empty()
                && tag.len() <= 128
                && tag
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'.' | b'-'));
            if !valid {
                return Err(bad("a tag is up to 128 letters, digits, `_`, `.` and `-`"));
            }
        }
        Ok(Self {
            registry,
            path: path.to_string(),
            tag,
            digest,
        })
    }
}

impl fmt::Display for ImageRef {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.name())?;
        if let Some(tag) = &self.tag {
            write!(f, ":{tag}")?;
        }
        if let Some(digest) = &self.digest {
            write!(f, "@{digest}")?;
        }
        Ok(())
    }
}

impl serde::Serialize for ImageRef {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parse_table() {
        let digest = format!("sha256:{}", "a".repeat(64));
        let cases: Vec<(String, &str, String, Option<&str>, bool)> = vec![
            (
                "busybox".into(),
                "docker.io",
                "library/busybox".into(),
                None,
                false,
            ),
            (
                "busybox:1.36".into(),
                "docker.io",
                "library/busybox".into(),
                Some("1.36"),
                false,
            ),
            (
                "vectorim/element-web:v1".into(),
                "docker.io",
                "vectorim/element-web".into(),
                Some("v1"),
                false,
            ),
            (
                "127.0.0.1:5000/fleet-test/busybox:1".into(),
                "127.0.0.1:5000",
                "fleet-test/busybox".into(),
                Some("1"),
                false,
            ),
            (
                "localhost/app".into(),
                "localhost",
                "app".into(),
                None,
                false,
            ),
            (
                format!("ghcr.io/o/app@{digest}"),
                "ghcr.io",
                "o/app".into(),
                None,
                true,
            ),
            (
                format!("ghcr.io/o/app:1@{digest}"),
                "ghcr.io",
                "o/app".into(),
                Some("1"),
                true,
            ),
        ];
        for (text, registry, repository, tag, pinned) in cases {
            let r: ImageRef = text.parse().unwrap();
            assert_eq!(r.registry(), registry, "{text}");
            assert_eq!(r.repository(), repository, "{text}");
            assert_eq!(r.tag(), tag, "{text}");
            assert_eq!(r.digest().is_some(), pinned, "{text}");
            assert_eq!(r.to_string(), text);
        }
    }

    #[test]
    fn floating_tags() {
        assert!("node".parse::<ImageRef>().unwrap().is_floating());
        assert!("node:latest".parse::<ImageRef>().unwrap().is_floating());
        assert!(!"node:20.18.1".parse::<ImageRef>().unwrap().is_floating());
    }

    #[test]
    fn rejects_bad_references() {
        for bad in ["", "a b", "Busybox", "x:", "host:5000/", "a@sha256:12"] {
            assert!(bad.parse::<ImageRef>().is_err(), "{bad}");
        }
    }
}
