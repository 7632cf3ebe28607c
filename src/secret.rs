//! A secret (ECR token, registry password, bearer token) that never prints itself, and the
//! redactor that scrubs secrets out of text the tool did not write (a registry's error body).
//! It sits at the crate's root, beside `error.rs`, because the engine (`docker/`) and the
//! registry both carry secrets, and neither should depend on the other for it;
//! `registry::Secret` re-exports it.

use std::fmt;

use base64::Engine as _;

/// A secret string. `Debug` and `Display` print `<redacted>`; the value is reachable only through
/// [`Secret::expose`], which makes every use visible in review.
#[derive(Clone, Default, PartialEq, Eq)]
pub struct Secret(String);

impl Secret {
    /// Wraps a value.
    pub fn new(value: impl Into<String>) -> Self {
        Self(value.into())
    }

    /// The value, for the one place that sends it (an auth header, the engine's auth config).
    pub fn expose(&self) -> &str {
        &self.0
    }

    /// Whether it is empty.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("<redacted>")
    }
}

impl fmt::Display for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("<redacted>")
    }
}

/// What `<redacted>` replaces.
const REDACTED: &str = "<redacted>";

/// Secrets shorter than this are not scrubbed: replacing every `a` of a message because someone's
/// password is `a` would make errors unreadable without protecting anything.
const MIN_SCRUBBED_LEN: usize = 4;

/// The longest piece of a registry's own text kept in an error message.
const MAX_MESSAGE_LEN: usize = 300;

/// Scrubs known secrets out of text that came from elsewhere: a registry's error body, an AWS
/// error message, a credential helper's stderr. It knows each secret in the spellings it travels
/// in: plain, and inside a basic-auth header (`base64(user:secret)`), which is also how ECR hands
/// out its token.
#[derive(Clone, Default)]
pub(crate) struct Redactor {
    needles: Vec<String>,
}

impl Redactor {
    /// A redactor that knows nothing yet.
    pub(crate) fn new() -> Self {
        Self::default()
    }

    /// Adds a secret, and the basic-auth encodings of `user:secret` when a user is given.
    pub(crate) fn add(&mut self, user: Option<&str>, secret: &Secret) {
        let value = secret.expose();
        if value.len() < MIN_SCRUBBED_LEN {
            return;
        }
        self.needles.push(value.to_string());
        let engines = [
            base64::engine::general_purpose::STANDARD,
            base64::engine::general_purpose::STANDARD_NO_PAD,
            base64::engine::general_purpose::URL_SAFE,
            base64::engine::general_purpose::URL_SAFE_NO_PAD,
        ];
        for engine in engines {
            self.needles.push(engine.encode(value));
            if let Some(user) = user {
                self.needles.push(engine.encode(format!("{user}:{value}")));
            }
        }
        // Longest first, so a secret inside a longer needle does not leave the rest behind.
        self.needles.sort_by_key(|n| std::cmp::Reverse(n.len()));
        self.needles.dedup();
    }

    /// `text` with every known secret replaced by `<redacted>`, control characters flattened to
    /// spaces and cut to a length that fits in an error line.
    pub(crate) fn scrub(&self, text: &str) -> String {
        let mut out = text.to_string();
        for needle in &self.needles {
            if out.contains(needle.as_str()) {
                out = out.replace(needle.as_str(), REDACTED);
            }
        }
        let mut out: String = out
            .chars()
            .map(|c| if c.is_control() { ' ' } else { c })
            .collect::<String>()
            .trim()
            .to_string();
        if out.chars().count() > MAX_MESSAGE_LEN {
            out = out.chars().take(MAX_MESSAGE_LEN).collect::<String>() + "…";
        }
        out
    }
}

impl fmt::Debug for Redactor {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Redactor({} needles)", self.needles.len())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn never_prints_its_value() {
        let secret = Secret::new("hunter2-token");
        assert_eq!(
            format!("{secret} {secret:?} {:?}", Some(&secret)),
            "<redacted> <redacted> Some(<redacted>)"
        );
        assert_eq!(secret.expose(), "hunter2-token");
    }

    #[test]
    fn scrubs_plain_and_basic_auth_spellings() {
        let secret = Secret::new("123456789012-auth-token");
        let mut redactor = Redactor::new();
        redactor.add(Some("AWS"), &secret);
        let basic = base64::engine::general_purpose::STANDARD.encode("AWS:123456789012-auth-token");
        let text = format!("bad password 123456789012-auth-token in header Basic {basic}\n");
        let scrubbed = redactor.scrub(&text);
        assert_eq!(
            scrubbed,
            "bad password <redacted> in header Basic <redacted>"
        );
    }

    #[test]
    fn leaves_short_secrets_and_cuts_long_text() {
        let mut redactor = Redactor::new();
        redactor.add(None, &Secret::new("ab"));
        assert_eq!(redactor.scrub("a tab"), "a tab");
        let long = "x".repeat(1000);
        assert_eq!(redactor.scrub(&long).chars().count(), MAX_MESSAGE_LEN + 1);
    }
}
