//! The content key of an image: sha256 over everything its build can see. Equal keys mean the
//! build would see the same inputs, so the image need not be built again.

use std::fmt;
use std::str::FromStr;

use super::repository::{Tag, KEY_TAG_PREFIX};
use super::NameError;

/// How many hex characters of the key go into the key tag. 128 bits: collisions are not a concern,
/// and the tag stays readable in the ECR console.
const TAG_HEX_LEN: usize = 32;

/// A 256-bit content key.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Key([u8; 32]);

impl Key {
    /// Wraps raw digest bytes.
    pub fn from_bytes(bytes: [u8; 32]) -> Self {
        Self(bytes)
    }

    /// The raw bytes, for feeding into the key of a dependent image.
    pub fn as_bytes(&self) -> &[u8; 32] {
        &self.0
    }

    /// The 64 hex characters.
    pub fn hex(&self) -> String {
        hex::encode(self.0)
    }

    /// The first twelve hex characters, for summaries.
    pub fn short(&self) -> String {
        self.hex()[..12].to_string()
    }

    /// The registry tag that names this key: `key-` and the first 32 hex characters.
    pub fn tag(&self) -> Tag {
        Tag::new_unchecked(format!("{KEY_TAG_PREFIX}{}", &self.hex()[..TAG_HEX_LEN]))
    }
}

impl fmt::Display for Key {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.pad(&self.hex())
    }
}

impl fmt::Debug for Key {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Key({})", self.short())
    }
}

impl FromStr for Key {
    type Err = NameError;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        let mut bytes = [0u8; 32];
        hex::decode_to_slice(text, &mut bytes)
            .map_err(|_| NameError::new(text, "key", "a key is 64 hex characters"))?;
        Ok(Self(bytes))
    }
}

impl serde::Serialize for Key {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tag_is_prefixed_and_truncated() {
        let key = Key::from_bytes([0xab; 32]);
        assert_eq!(key.tag().as_str(), format!("key-{}", "ab".repeat(16)));
        assert_eq!(key.hex().parse::<Key>().unwrap(), key);
    }
}
