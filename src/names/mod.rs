//! Parsed value types for the names the tool passes around: image names from the manifest,
//! repository names, image references, digests, content keys, platforms and the builder's name. After the manifest is
//! loaded, no bare `String` stands for one of these.

mod builder;
mod digest;
mod image_name;
mod image_ref;
mod key;
mod platform;
mod repository;

pub use builder::{Builder, UnknownBuilder};
pub use digest::Digest;
pub use image_name::ImageName;
pub use image_ref::ImageRef;
pub use key::Key;
pub use platform::Platform;
pub use repository::{RepositoryName, Tag};

/// Why a name did not parse: the text, what kind of name it should have been, and the rule it broke.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("`{text}` is not a valid {kind}: {rule}")]
pub struct NameError {
    /// The text as given.
    pub text: String,
    /// What it was meant to be ("image name", "digest", …).
    pub kind: &'static str,
    /// The rule it broke, in words a user can act on.
    pub rule: String,
}

impl NameError {
    pub(crate) fn new(text: &str, kind: &'static str, rule: impl Into<String>) -> Self {
        Self {
            text: text.to_string(),
            kind,
            rule: rule.into(),
        }
    }
}
