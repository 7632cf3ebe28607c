//! Repository names and tags, with the rules of the OCI distribution spec (and ECR's, which are
//! the same for names): checked when the manifest is loaded, not when a push fails.

use std::fmt;
use std::str::FromStr;

use super::NameError;

/// The prefix of every key tag, so that lifecycle policies and people can tell key tags from
/// moving tags (`latest`, a git sha) at a glance; a moving tag may not start with it.
pub const KEY_TAG_PREFIX: &str = "key-";

/// A repository path such as `fleet/element`: `/`-separated components of lowercase letters and
/// digits joined by single `.`, `_`, `__` or runs of `-`.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct RepositoryName(String);

impl RepositoryName {
    /// The name as written.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

fn valid_component(component: &str) -> bool {
    let bytes = component.as_bytes();
    if bytes.is_empty()
        || !bytes[0].is_ascii_alphanumeric()
        || !bytes[bytes.len() - 1].is_ascii_alphanumeric()
    {
        return false;
    }
    let mut i = 0;
    while i < bytes.len() {
        let b = bytes[i];
        if b.is_ascii_lowercase() || b.is_ascii_digit() {
            i += 1;
            continue;
        }
        // A separator: `.`, `_`, `__` or one or more `-`.
        let start = i;
        while i < bytes.len() && !(bytes[i].is_ascii_lowercase() || bytes[i].is_ascii_digit()) {
            i += 1;
        }
        let sep = &component[start..i];
        let ok = sep == "." || sep == "_" || sep == "__" || sep.bytes().all(|c| c == b'-');
        if !ok {
            return false;
        }
    }
    true
}

impl FromStr for RepositoryName {
    type Err = NameError;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        if text.is_empty() || text.len() > 256 || !text.split('/').all(valid_component) {
            return Err(NameError::new(
                text,
                "repository name",
                "use `/`-separated parts of lowercase letters and digits, joined by `.`, `_`, `__` or `-` (at most 256 characters), such as `fleet/element`",
            ));
        }
        Ok(Self(text.to_string()))
    }
}

impl fmt::Display for RepositoryName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.pad(&self.0)
    }
}

impl serde::Serialize for RepositoryName {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.0)
    }
}

/// An image tag: up to 128 characters of letters, digits, `_`, `.` and `-`, not starting with
/// `.` or `-`.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Tag(String);

impl Tag {
    pub(crate) fn new_unchecked(text: String) -> Self {
        Self(text)
    }

    /// The tag as written.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// Whether this is a key tag written by the tool (as opposed to a moving tag).
    pub fn is_key_tag(&self) -> bool {
        self.0.starts_with(KEY_TAG_PREFIX)
    }
}

impl FromStr for Tag {
    type Err = NameError;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        let ok = !text.is_empty()
            && text.len() <= 128
            && text
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'.' | b'-'))
            && !text.starts_with(['.', '-']);
        if !ok {
            return Err(NameError::new(
                text,
                "tag",
                "use up to 128 letters, digits, `_`, `.` and `-`, not starting with `.` or `-`",
            ));
        }
        if text.starts_with(KEY_TAG_PREFIX) {
            return Err(NameError::new(
                text,
                "tag",
                "tags starting with `key-` are reserved for content keys; pick another name",
            ));
        }
        Ok(Self(text.to_string()))
    }
}

impl fmt::Display for Tag {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.pad(&self.0)
    }
}

impl serde::Serialize for Tag {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn repository_names() {
        for good in [
            "element",
            "fleet/element",
            "a.b",
            "a__b",
            "a---b",
            "fleet-manager/v2",
        ] {
            assert!(good.parse::<RepositoryName>().is_ok(), "{good}");
        }
        for bad in [
            "", "Fleet", "a//b", "/a", "a/", "-a", "a_", "a..b", "a___b", "a b",
        ] {
            assert!(bad.parse::<RepositoryName>().is_err(), "{bad}");
        }
    }

    #[test]
    fn tags() {
        assert!("latest".parse::<Tag>().is_ok());
        assert!("v1.2_3-rc".parse::<Tag>().is_ok());
        for bad in ["", ".x", "-x", "a:b", &"x".repeat(129), "key-abc"] {
            assert!(bad.parse::<Tag>().is_err(), "{bad}");
        }
    }
}
