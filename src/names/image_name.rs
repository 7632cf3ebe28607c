//! Names of the fleet's images as the manifest declares them (`[images.<name>]`).

use std::fmt;
use std::str::FromStr;

use super::NameError;

/// The name of one image of the fleet, such as `element` or `fleet-manager`: lowercase letters,
/// digits, `-` and `_`, starting with a letter or digit.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ImageName(String);

impl ImageName {
    /// The name as written.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The build arg through which a dependent image's Dockerfile receives this image:
    /// upper case, `-` as `_`, suffix `_IMAGE` (`fleet-manager` → `FLEET_MANAGER_IMAGE`).
    pub fn build_arg(&self) -> String {
        format!("{}_IMAGE", self.0.to_ascii_uppercase().replace('-', "_"))
    }
}

impl FromStr for ImageName {
    type Err = NameError;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        let valid_chars = text
            .bytes()
            .all(|b| matches!(b, b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_'));
        let valid_start = text
            .bytes()
            .next()
            .is_some_and(|b| b.is_ascii_lowercase() || b.is_ascii_digit());
        if !valid_chars || !valid_start || text.len() > 64 {
            return Err(NameError::new(
                text,
                "image name",
                "use lowercase letters, digits, `-` and `_`, starting with a letter or digit, at most 64 characters",
            ));
        }
        Ok(Self(text.to_string()))
    }
}

impl fmt::Display for ImageName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.pad(&self.0)
    }
}

impl serde::Serialize for ImageName {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn build_arg_follows_the_convention() {
        let name: ImageName = "fleet-manager".parse().unwrap();
        assert_eq!(name.build_arg(), "FLEET_MANAGER_IMAGE");
    }

    #[test]
    fn rejects_bad_names() {
        for bad in ["", "Element", "-x", "a b", "a/b", "é"] {
            assert!(bad.parse::<ImageName>().is_err(), "{bad}");
        }
    }
}
