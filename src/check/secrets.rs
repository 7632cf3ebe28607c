//! `secret-in-context`: secrets in the build context are sent to the engine, can be copied into a
//! layer by a `COPY . .`, and are then pushed to the registry with the image. The entries checked
//! are exactly those that would be sent, so anything found here is not excluded by the ignore file.
//!
//! Files are recognised by name, and their content is read only where the name alone does not
//! decide (a `.pem` may hold only certificates; an `.npmrc` may take its token from a variable):
//!
//! - `.env` and `.env.<anything>` except `.env.example`, `.env.sample`, `.env.template`, `.env.dist`;
//! - private keys: `*.pem`, `*.key`, `*.p8`, `id_rsa`, `id_dsa`, `id_ecdsa`, `id_ed25519` holding
//!   `PRIVATE KEY-----`;
//! - `.aws/credentials`, `.git-credentials`;
//! - `.npmrc` setting `_authToken`, `_auth` or `_password` to a literal (not `${VAR}`);
//! - `.docker/config.json` with credentials under `auths`;
//! - `.netrc` and `.pypirc` with a password.

use std::io::Read;
use std::path::Path;

use super::{rules, Finding, Severity};
use crate::hash::{EntryKind, ImageInputs};

/// Most a file is read to decide whether it holds a secret.
const READ_CAP: u64 = 1024 * 1024;

/// What a path may be, by its name.
#[derive(Debug, Clone, Copy)]
enum Candidate {
    /// A secret whatever it holds.
    Always(&'static str),
    /// A secret if its content says so.
    IfContent(&'static str, fn(&[u8]) -> bool),
}

fn candidate(path: &str) -> Option<Candidate> {
    let name = path.rsplit('/').next().unwrap_or(path);
    let parent = path.rsplit('/').nth(1).unwrap_or("");
    let lower = name.to_ascii_lowercase();
    if lower == ".env" {
        return Some(Candidate::Always("an environment file"));
    }
    if let Some(suffix) = lower.strip_prefix(".env.") {
        if !matches!(
            suffix,
            "example" | "sample" | "template" | "dist" | "defaults"
        ) {
            return Some(Candidate::Always("an environment file"));
        }
    }
    if matches!(
        lower.as_str(),
        "id_rsa" | "id_dsa" | "id_ecdsa" | "id_ed25519"
    ) || lower.ends_with(".pem")
        || lower.ends_with(".key")
        || lower.ends_with(".p8")
    {
        return Some(Candidate::IfContent("a private key", has_private_key));
    }
    if parent == ".aws" && name == "credentials" {
        return Some(Candidate::Always("AWS credentials"));
    }
    if name == ".git-credentials" {
        return Some(Candidate::Always("git credentials"));
    }
    if name == ".npmrc" {
        return Some(Candidate::IfContent("an npm token", npmrc_has_token));
    }
    if parent == ".docker" && name == "config.json" {
        return Some(Candidate::IfContent(
            "Docker registry credentials",
            docker_config_has_auths,
        ));
    }
    if name == ".netrc" || name == "_netrc" || name == ".pypirc" {
        return Some(Candidate::IfContent("a password", has_password_line));
    }
    None
}

fn has_private_key(content: &[u8]) -> bool {
    content.windows(16).any(|w| w == b"PRIVATE KEY-----")
}

/// `_authToken=…`, `_auth=…`, `_password=…` with a literal value; `${NPM_TOKEN}` reads the
/// environment at install time and is fine.
fn npmrc_has_token(content: &[u8]) -> bool {
    String::from_utf8_lossy(content).lines().any(|line| {
        let line = line.trim();
        if line.starts_with('#') || line.starts_with(';') {
            return false;
        }
        let Some((key, value)) = line.split_once('=') else {
            return false;
        };
        let key = key.trim();
        let value = value.trim().trim_matches('"');
        let secret_key =
            key.ends_with("_authToken") || key.ends_with("_auth") || key.ends_with("_password");
        secret_key && !value.is_empty() && !value.starts_with("${")
    })
}

/// `{"auths": {"registry": {"auth": "…"}}}`; `credsStore` or empty entries hold no secret.
fn docker_config_has_auths(content: &[u8]) -> bool {
    let Ok(json) = serde_json::from_slice::<serde_json::Value>(content) else {
        return false;
    };
    json.get("auths")
        .and_then(|a| a.as_object())
        .is_some_and(|auths| {
            auths.values().any(|entry| {
                ["auth", "identitytoken", "password", "registrytoken"]
                    .iter()
                    .any(|key| {
                        entry
                            .get(key)
                            .and_then(|v| v.as_str())
                            .is_some_and(|v| !v.is_empty())
                    })
            })
        })
}

fn has_password_line(content: &[u8]) -> bool {
    String::from_utf8_lossy(content)
        .split_whitespace()
        .any(|word| {
            word == "password" || word.starts_with("password=") || word.starts_with("password:")
        })
}

fn read_capped(path: &Path) -> Option<Vec<u8>> {
    let mut bytes = Vec::new();
    std::fs::File::open(path)
        .ok()?
        .take(READ_CAP)
        .read_to_end(&mut bytes)
        .ok()?;
    Some(bytes)
}

/// What kind of secret a sent file is, reading its content through `read` when its name alone
/// does not decide.
fn secret_kind(path: &str, read: impl FnOnce() -> Option<Vec<u8>>) -> Option<&'static str> {
    match candidate(path)? {
        Candidate::Always(kind) => Some(kind),
        Candidate::IfContent(kind, holds) => read()
            .is_some_and(|content| holds(&content))
            .then_some(kind),
    }
}

/// An error for each sent file that holds a secret.
pub(crate) fn check(inputs: &ImageInputs) -> Vec<Finding> {
    let ignore = match &inputs.ignore_file {
        Some(file) => format!("`{}`", file.display()),
        None => format!("`{}`", inputs.context.join(".dockerignore").display()),
    };
    let mut findings = Vec::new();
    for entry in &inputs.entries {
        if !matches!(entry.kind, EntryKind::File { .. }) {
            continue;
        }
        let source = inputs.source(entry);
        let Some(kind) = secret_kind(&entry.path, || read_capped(&source)) else {
            continue;
        };
        findings.push(
            Finding::new(
                rules::SECRET_IN_CONTEXT,
                Severity::Error,
                &inputs.image,
                format!("the build context sends `{}`, which holds {kind}", entry.path),
                format!(
                    "exclude it with `/{}` in {ignore} (and do not COPY it), or move it out of the context: \
                     whatever the context holds can be copied into a layer and pushed with the image",
                    entry.path
                ),
            )
            .at(source.display().to_string()),
        );
    }
    findings
}

#[cfg(test)]
mod tests {
    use super::*;

    fn kind(path: &str, content: &str) -> Option<&'static str> {
        secret_kind(path, || Some(content.as_bytes().to_vec()))
    }

    #[test]
    fn env_files() {
        assert_eq!(kind(".env", ""), Some("an environment file"));
        assert_eq!(kind("app/.env.production", ""), Some("an environment file"));
        assert_eq!(kind(".env.example", "KEY=x"), None);
        assert_eq!(kind("env.ts", ""), None);
    }

    #[test]
    fn private_keys_by_content() {
        let key = "-----BEGIN RSA PRIVATE KEY-----\nMIIE\n-----END RSA PRIVATE KEY-----\n";
        let openssh =
            "-----BEGIN OPENSSH PRIVATE KEY-----\nb3Bl\n-----END OPENSSH PRIVATE KEY-----\n";
        let cert = "-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n";
        assert_eq!(kind("certs/server.pem", key), Some("a private key"));
        assert_eq!(kind("deploy/id_ed25519", openssh), Some("a private key"));
        assert_eq!(kind("tls/server.key", key), Some("a private key"));
        assert_eq!(kind("certs/ca.pem", cert), None);
        assert_eq!(
            kind("notes.txt", key),
            None,
            "only candidates by name are read"
        );
    }

    #[test]
    fn credentials_files() {
        assert_eq!(
            kind(".aws/credentials", "[default]"),
            Some("AWS credentials")
        );
        assert_eq!(kind("home/.aws/credentials", ""), Some("AWS credentials"));
        assert_eq!(kind("credentials", ""), None);
        assert_eq!(kind(".git-credentials", ""), Some("git credentials"));
        assert_eq!(
            kind(".netrc", "machine h login u password p"),
            Some("a password")
        );
        assert_eq!(kind(".netrc", "machine h login u"), None);
    }

    #[test]
    fn npmrc_tokens_but_not_variables() {
        assert_eq!(
            kind(".npmrc", "//registry.npmjs.org/:_authToken=npm_abc123\n"),
            Some("an npm token")
        );
        assert_eq!(
            kind(".npmrc", "//registry.npmjs.org/:_authToken=${NPM_TOKEN}\n"),
            None
        );
        assert_eq!(
            kind(".npmrc", "registry=https://registry.npmjs.org/\n"),
            None
        );
        assert_eq!(kind(".npmrc", "# _authToken=old\n"), None);
    }

    #[test]
    fn docker_config_with_auths() {
        assert_eq!(
            kind(
                ".docker/config.json",
                r#"{"auths":{"ghcr.io":{"auth":"dXNlcjpwYXNz"}}}"#
            ),
            Some("Docker registry credentials")
        );
        assert_eq!(
            kind(
                ".docker/config.json",
                r#"{"auths":{"ghcr.io":{}},"credsStore":"desktop"}"#
            ),
            None
        );
        assert_eq!(
            kind("config.json", r#"{"auths":{"ghcr.io":{"auth":"x"}}}"#),
            None
        );
    }

    #[test]
    fn content_is_read_only_for_content_candidates() {
        let mut read = false;
        assert_eq!(
            secret_kind("src/index.js", || {
                read = true;
                None
            }),
            None
        );
        assert!(!read);
    }
}
