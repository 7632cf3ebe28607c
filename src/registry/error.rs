//! What can go wrong with a registry, each failure saying what, where (registry host, repository,
//! tag) and how to fix it. Registry bodies and AWS messages are scrubbed of secrets before they
//! reach a variant (see [`crate::secret::Redactor`]); no variant holds a secret.

use std::fmt;
use std::path::PathBuf;

use super::credentials::CredentialSource;
use crate::error::{Diagnostic, Exit};
use crate::names::Digest;

/// The IAM actions `fleet-images` needs on ECR, for the access-denied hint.
pub const ECR_IAM_ACTIONS: &[&str] = &[
    "ecr:GetAuthorizationToken",
    "ecr:BatchCheckLayerAvailability",
    "ecr:InitiateLayerUpload",
    "ecr:UploadLayerPart",
    "ecr:CompleteLayerUpload",
    "ecr:PutImage",
    "ecr:BatchGetImage",
    "ecr:DescribeRepositories",
    "ecr:CreateRepository",
    "ecr:GetLifecyclePolicy",
    "ecr:PutLifecyclePolicy",
];

/// Where in a registry something happened: `host`, `host/repository`, `host/repository:tag` or
/// `host/repository@sha256:…`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Place {
    /// The registry host (`127.0.0.1:5000`, `123456789012.dkr.ecr.us-east-1.amazonaws.com`).
    pub host: String,
    /// The repository path within the registry, when the request concerned one.
    pub repository: Option<String>,
    /// A tag or `sha256:` digest, when the request concerned one.
    pub reference: Option<String>,
}

impl Place {
    /// The registry as a whole.
    pub fn host(host: &str) -> Self {
        Self {
            host: host.to_string(),
            repository: None,
            reference: None,
        }
    }

    /// A repository, or a reference in it.
    pub fn repository(host: &str, repository: &str, reference: Option<&str>) -> Self {
        Self {
            host: host.to_string(),
            repository: Some(repository.to_string()),
            reference: reference.map(str::to_string),
        }
    }
}

impl fmt::Display for Place {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.host)?;
        if let Some(repository) = &self.repository {
            write!(f, "/{repository}")?;
            match &self.reference {
                Some(r) if r.starts_with("sha256:") => write!(f, "@{r}")?,
                Some(r) => write!(f, ":{r}")?,
                None => {}
            }
        }
        Ok(())
    }
}

/// What the tool was doing when a registry call failed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Action {
    /// `GET /v2/`: checking that the registry answers and accepts the credentials.
    Ping,
    /// Getting a bearer token from the registry's token service.
    Token,
    /// Looking up which digest a tag names.
    Lookup,
    /// Reading a manifest (to write it under another tag).
    ReadManifest,
    /// Writing a tag.
    WriteTag,
}

impl fmt::Display for Action {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Action::Ping => "the API check",
            Action::Token => "the token request",
            Action::Lookup => "the tag lookup",
            Action::ReadManifest => "reading the manifest",
            Action::WriteTag => "writing the tag",
        })
    }
}

/// Why the Docker config file could not be used.
#[derive(Debug, thiserror::Error)]
pub enum DockerConfigProblem {
    /// It exists but cannot be read.
    #[error("cannot read it")]
    Read(#[source] std::io::Error),
    /// It is not valid JSON of the expected shape.
    #[error("it is not a valid Docker config file")]
    Json(#[source] serde_json::Error),
    /// `auths.<host>.auth` is not base64 of `user:password`.
    #[error("`auths.{key}.auth` is not base64 of `user:password`")]
    BadAuth {
        /// The `auths` key.
        key: String,
    },
}

/// Why a Docker credential helper gave no credentials.
#[derive(Debug, thiserror::Error)]
pub enum HelperProblem {
    /// `docker-credential-<name>` is not on `PATH`.
    #[error("it is not installed (no `docker-credential-{0}` on PATH)")]
    NotInstalled(String),
    /// It could not be started.
    #[error("it could not be run")]
    Spawn(#[source] std::io::Error),
    /// It exited with a failure other than "credentials not found".
    #[error("it exited with status {status}{}", detail(stderr))]
    Failed {
        /// Exit status (-1 when killed by a signal).
        status: i32,
        /// Its stderr, scrubbed and cut short.
        stderr: String,
    },
    /// Its answer is not `{"Username": …, "Secret": …}`.
    #[error("its answer is not the JSON `{{\"Username\": …, \"Secret\": …}}` the helper protocol defines")]
    BadOutput(#[source] serde_json::Error),
}

/// How an ECR API call failed, which decides the exit code and the hint.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EcrFailure {
    /// The identity lacks an IAM permission (`AccessDeniedException`).
    AccessDenied,
    /// No AWS credentials, or AWS refused them (invalid, expired).
    Credentials,
    /// The ECR API could not be reached (network, timeout, endpoint).
    Unreachable,
    /// Throttled or failing on every attempt.
    Unavailable,
    /// The repository does not exist.
    RepositoryNotFound,
    /// Anything else: a bad parameter, a limit.
    Other,
}

/// The AWS side of an ECR failure: the error code and message, scrubbed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AwsCause {
    /// The AWS error code (`AccessDeniedException`), when the service answered.
    pub code: Option<String>,
    /// The message.
    pub message: String,
}

impl fmt::Display for AwsCause {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match (&self.code, self.message.is_empty()) {
            (Some(code), false) => write!(f, "{code}: {}", self.message),
            (Some(code), true) => f.write_str(code),
            (None, _) => f.write_str(&self.message),
        }
    }
}

impl std::error::Error for AwsCause {}

fn detail(message: &str) -> String {
    if message.is_empty() {
        String::new()
    } else {
        format!(": {message}")
    }
}

/// A registry failure.
#[derive(Debug, thiserror::Error)]
pub enum RegistryError {
    /// No connection could be made, on every attempt.
    #[error("cannot reach registry `{host}` ({attempts} attempts)")]
    Unreachable {
        /// The host (or the token service's host).
        host: String,
        /// How many attempts were made.
        attempts: u32,
        /// The last connection error.
        #[source]
        source: reqwest::Error,
    },
    /// The registry answered 5xx or 429 on every attempt.
    #[error(
        "registry `{place}` failed {action} with HTTP {status} ({attempts} attempts){}",
        detail(message)
    )]
    ServerError {
        /// Where.
        place: Place,
        /// What was being done.
        action: Action,
        /// The last status.
        status: u16,
        /// How many attempts were made.
        attempts: u32,
        /// The registry's message, scrubbed.
        message: String,
    },
    /// The registry refused the credentials (HTTP 401 after the token flow).
    #[error("registry `{place}` refused {credentials}{}", detail(message))]
    AuthFailed {
        /// Where.
        place: Place,
        /// Where the credentials came from.
        credentials: CredentialSource,
        /// The registry's message, scrubbed.
        message: String,
    },
    /// The credentials are valid but lack a permission (HTTP 403).
    #[error(
        "registry `{place}` denied {action} to {credentials}{}",
        detail(message)
    )]
    AccessDenied {
        /// Where.
        place: Place,
        /// What was being done.
        action: Action,
        /// Where the credentials came from.
        credentials: CredentialSource,
        /// Whether the registry is ECR (the hint then lists IAM actions).
        ecr: bool,
        /// The registry's message, scrubbed.
        message: String,
    },
    /// An immutable tag already names another image.
    #[error("tag `{place}` is immutable and already names {existing}, not {wanted}")]
    TagImmutable {
        /// The tag.
        place: Place,
        /// The digest the tag names.
        existing: Digest,
        /// The digest it was to name.
        wanted: Digest,
    },
    /// The manifest to tag is not in the repository.
    #[error("manifest `{place}` is not in the registry")]
    ManifestNotFound {
        /// The manifest, by digest.
        place: Place,
    },
    /// The registry rejected a request for another reason (another 4xx).
    #[error(
        "registry `{place}` rejected {action} with HTTP {status}{}",
        detail(message)
    )]
    Rejected {
        /// Where.
        place: Place,
        /// What was being done.
        action: Action,
        /// The status.
        status: u16,
        /// The registry's message, scrubbed.
        message: String,
    },
    /// The registry answered in a way the tool cannot use.
    #[error("registry `{place}` gave an unusable answer to {action}: {problem}")]
    Protocol {
        /// Where.
        place: Place,
        /// What was being done.
        action: Action,
        /// What was wrong, in words.
        problem: String,
    },
    /// The Docker config file could not be used.
    #[error("cannot use the Docker config file `{}`", path.display())]
    DockerConfig {
        /// The file.
        path: PathBuf,
        /// Why.
        #[source]
        problem: DockerConfigProblem,
    },
    /// A Docker credential helper gave no credentials.
    #[error("credential helper `docker-credential-{helper}` gave no credentials for `{host}`: {problem}")]
    CredentialHelper {
        /// The helper's name (the part after `docker-credential-`).
        helper: String,
        /// The registry host.
        host: String,
        /// Why.
        problem: HelperProblem,
    },
    /// Only one of the two credential variables is set.
    #[error("`{set}` is set but `{missing}` is not")]
    IncompleteCredentials {
        /// The variable that is set.
        set: &'static str,
        /// The one that is missing.
        missing: &'static str,
    },
    /// Neither the manifest nor the AWS configuration names a region.
    #[error("no AWS region for ECR")]
    NoRegion,
    /// An ECR API call failed.
    #[error("ECR {operation}{} failed", repository.as_ref().map(|r| format!(" of repository `{r}`")).unwrap_or_default())]
    Ecr {
        /// The API operation (`CreateRepository`).
        operation: &'static str,
        /// The repository, when the call concerned one.
        repository: Option<String>,
        /// How it failed.
        failure: EcrFailure,
        /// AWS's code and message, scrubbed.
        #[source]
        source: AwsCause,
    },
}

impl RegistryError {
    /// Whether the registry refused the credentials (the case an expired ECR token produces).
    pub fn is_auth_failure(&self) -> bool {
        matches!(self, RegistryError::AuthFailed { .. })
    }
}

impl Diagnostic for RegistryError {
    fn exit(&self) -> Exit {
        match self {
            // A token service that refuses or answers nonsense is a login that failed, like a
            // refused password: whatever its status (404 included).
            RegistryError::Rejected {
                action: Action::Token,
                ..
            }
            | RegistryError::Protocol {
                action: Action::Token,
                ..
            } => Exit::Unavailable,
            RegistryError::Unreachable { .. }
            | RegistryError::ServerError { .. }
            | RegistryError::AuthFailed { .. }
            | RegistryError::AccessDenied { .. }
            | RegistryError::CredentialHelper { .. } => Exit::Unavailable,
            RegistryError::Ecr { failure, .. } => match failure {
                EcrFailure::AccessDenied
                | EcrFailure::Credentials
                | EcrFailure::Unreachable
                | EcrFailure::Unavailable => Exit::Unavailable,
                EcrFailure::RepositoryNotFound | EcrFailure::Other => Exit::Failed,
            },
            RegistryError::DockerConfig { .. }
            | RegistryError::IncompleteCredentials { .. }
            | RegistryError::NoRegion => Exit::BadInput,
            RegistryError::TagImmutable { .. }
            | RegistryError::ManifestNotFound { .. }
            | RegistryError::Rejected { .. }
            | RegistryError::Protocol { .. } => Exit::Failed,
        }
    }

    fn hint(&self) -> Option<String> {
        Some(match self {
            RegistryError::Unreachable { host, .. } => format!(
                "check that the registry runs and that `{host}` is its address; a registry that speaks plain HTTP on \
                 a host other than 127.0.0.1 or localhost must be listed in FLEET_IMAGES_INSECURE_REGISTRIES"
            ),
            RegistryError::ServerError { status: 429, .. } => {
                "the registry is rate-limiting: wait a while and run again, or log in for a higher limit".into()
            }
            RegistryError::ServerError { .. } => "the registry is failing: run again later, or ask its operator".into(),
            RegistryError::AuthFailed { place, credentials, .. } => auth_hint(&place.host, credentials),
            RegistryError::AccessDenied { ecr: true, .. } => ecr_permissions_hint(),
            RegistryError::AccessDenied { place, credentials, .. } => format!(
                "{} may not do this on `{place}`: grant them pull and push access to the repository, or use other credentials",
                capitalized(&credentials.to_string())
            ),
            RegistryError::TagImmutable { .. } => "key tags never move, so this is a moving tag in a repository with immutable tags: \
                 make its tags mutable (`tag_mutability = \"mutable\"` in `[registry]` for new ECR repositories, \
                 `aws ecr put-image-tag-mutability` for an existing one), or drop the tag from the image's `tags`"
                .into(),
            RegistryError::ManifestNotFound { .. } => {
                "push the image under its key tag first; moving tags are written only for images the registry has".into()
            }
            RegistryError::Rejected { .. } => "the registry refused the request itself; its message above says why".into(),
            RegistryError::Protocol { .. } => {
                "check that the address is a registry (OCI distribution API under `/v2/`) and not a web page or proxy".into()
            }
            RegistryError::DockerConfig { path, .. } => format!(
                "fix or remove `{}`, or log in again with `docker login`; FLEET_IMAGES_REGISTRY_USERNAME and \
                 FLEET_IMAGES_REGISTRY_PASSWORD take precedence over it",
                path.display()
            ),
            RegistryError::CredentialHelper { helper, problem: HelperProblem::NotInstalled(_), .. } => format!(
                "install `docker-credential-{helper}`, or remove it from `credHelpers`/`credsStore` in the Docker config \
                 file, or set FLEET_IMAGES_REGISTRY_USERNAME and FLEET_IMAGES_REGISTRY_PASSWORD"
            ),
            RegistryError::CredentialHelper { host, .. } => {
                format!("log in again with `docker login {host}`, or set FLEET_IMAGES_REGISTRY_USERNAME and FLEET_IMAGES_REGISTRY_PASSWORD")
            }
            RegistryError::IncompleteCredentials { missing, .. } => {
                format!("set `{missing}` too, or unset both to use the Docker config file")
            }
            RegistryError::NoRegion => {
                "set `region` in `[registry]`, or AWS_REGION, or `region` in the AWS profile".into()
            }
            RegistryError::Ecr { failure, .. } => match failure {
                EcrFailure::AccessDenied => ecr_permissions_hint(),
                EcrFailure::Credentials => "no valid AWS credentials: set AWS_PROFILE (and run `aws sso login` for SSO), or \
                     AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, or run where an IAM role is available (CI web identity, \
                     instance or task role)"
                    .into(),
                EcrFailure::Unreachable => "check the network, the region, and AWS_ENDPOINT_URL when it is set".into(),
                EcrFailure::Unavailable => "ECR is throttling or failing: run again later".into(),
                EcrFailure::RepositoryNotFound => {
                    "the repository does not exist: run with `--push`, which creates repositories, or create it".into()
                }
                EcrFailure::Other => return None,
            },
        })
    }
}

fn capitalized(text: &str) -> String {
    let mut chars = text.chars();
    match chars.next() {
        Some(first) => first.to_uppercase().chain(chars).collect(),
        None => String::new(),
    }
}

fn ecr_permissions_hint() -> String {
    format!(
        "the AWS identity needs these IAM actions on the repositories (and GetAuthorizationToken on `*`): {}",
        ECR_IAM_ACTIONS.join(", ")
    )
}

fn auth_hint(host: &str, credentials: &CredentialSource) -> String {
    match credentials {
        CredentialSource::Anonymous => format!(
            "the registry needs credentials and none were found: run `docker login {host}`, or set \
             FLEET_IMAGES_REGISTRY_USERNAME and FLEET_IMAGES_REGISTRY_PASSWORD"
        ),
        CredentialSource::Environment => {
            "check FLEET_IMAGES_REGISTRY_USERNAME and FLEET_IMAGES_REGISTRY_PASSWORD (unset both to use the Docker config file)"
                .into()
        }
        CredentialSource::DockerConfig(path) => {
            format!("log in again with `docker login {host}` (the credentials come from `{}`)", path.display())
        }
        CredentialSource::Helper(helper) => {
            format!("log in again with `docker login {host}` (the credentials come from `docker-credential-{helper}`)")
        }
        CredentialSource::Ecr => format!(
            "the ECR token was refused even after a refresh: check that `{host}` is the registry of the account and \
             region the token is for (`account`, `region` and `endpoint` in `[registry]`, FLEET_IMAGES_REGISTRY_ENDPOINT)"
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::render;
    use crate::registry::Secret;
    use crate::secret::Redactor;

    const SECRET: &str = "123456789012-auth-token";

    fn digest(c: char) -> Digest {
        format!("sha256:{}", c.to_string().repeat(64))
            .parse()
            .unwrap()
    }

    fn place(reference: Option<&str>) -> Place {
        Place::repository("127.0.0.1:5001", "fleet/element", reference)
    }

    fn io_error() -> std::io::Error {
        std::io::Error::new(std::io::ErrorKind::PermissionDenied, "permission denied")
    }

    fn json_error() -> serde_json::Error {
        serde_json::from_str::<serde_json::Value>("{").unwrap_err()
    }

    /// Every variant, with the secret in every piece of foreign text, scrubbed as the code that
    /// builds them scrubs it; and the exit code each must give.
    fn every_variant(foreign: &str) -> Vec<(RegistryError, Exit)> {
        let mut redactor = Redactor::new();
        redactor.add(Some("AWS"), &Secret::new(SECRET));
        let scrub = |text: &str| redactor.scrub(text);
        let message = scrub(foreign);
        vec![
            (
                RegistryError::ServerError {
                    place: place(Some("key-1")),
                    action: Action::Lookup,
                    status: 503,
                    attempts: 4,
                    message: message.clone(),
                },
                Exit::Unavailable,
            ),
            (
                RegistryError::AuthFailed {
                    place: place(Some("key-1")),
                    credentials: CredentialSource::Ecr,
                    message: message.clone(),
                },
                Exit::Unavailable,
            ),
            (
                RegistryError::AccessDenied {
                    place: place(Some("latest")),
                    action: Action::WriteTag,
                    credentials: CredentialSource::Ecr,
                    ecr: true,
                    message: message.clone(),
                },
                Exit::Unavailable,
            ),
            (
                RegistryError::TagImmutable {
                    place: place(Some("latest")),
                    existing: digest('a'),
                    wanted: digest('b'),
                },
                Exit::Failed,
            ),
            (
                RegistryError::ManifestNotFound {
                    place: place(Some(&digest('c').to_string())),
                },
                Exit::Failed,
            ),
            (
                RegistryError::Rejected {
                    place: place(Some("latest")),
                    action: Action::WriteTag,
                    status: 400,
                    message: message.clone(),
                },
                Exit::Failed,
            ),
            (
                RegistryError::Protocol {
                    place: place(None),
                    action: Action::Token,
                    problem: "the token service's answer has no `token`".into(),
                },
                Exit::Unavailable,
            ),
            (
                RegistryError::DockerConfig {
                    path: "/home/u/.docker/config.json".into(),
                    problem: DockerConfigProblem::Json(json_error()),
                },
                Exit::BadInput,
            ),
            (
                RegistryError::DockerConfig {
                    path: "/home/u/.docker/config.json".into(),
                    problem: DockerConfigProblem::Read(io_error()),
                },
                Exit::BadInput,
            ),
            (
                RegistryError::CredentialHelper {
                    helper: "desktop".into(),
                    host: "ghcr.io".into(),
                    problem: HelperProblem::Failed {
                        status: 2,
                        stderr: message.clone(),
                    },
                },
                Exit::Unavailable,
            ),
            (
                RegistryError::IncompleteCredentials {
                    set: "FLEET_IMAGES_REGISTRY_USERNAME",
                    missing: "FLEET_IMAGES_REGISTRY_PASSWORD",
                },
                Exit::BadInput,
            ),
            (RegistryError::NoRegion, Exit::BadInput),
            (
                crate::registry::ecr::failure::ecr_error(
                    "PutImage",
                    Some("fleet/element"),
                    EcrFailure::AccessDenied,
                    Some("AccessDeniedException".into()),
                    foreign,
                    &redactor,
                ),
                Exit::Unavailable,
            ),
            (
                crate::registry::ecr::failure::ecr_error(
                    "GetAuthorizationToken",
                    None,
                    EcrFailure::Credentials,
                    None,
                    foreign,
                    &redactor,
                ),
                Exit::Unavailable,
            ),
        ]
    }

    #[test]
    fn no_error_carries_the_secret() {
        use base64::Engine as _;
        let basic = base64::engine::general_purpose::STANDARD.encode(format!("AWS:{SECRET}"));
        let foreign = format!("token {SECRET} in header Basic {basic}");
        for (error, exit) in every_variant(&foreign) {
            let text = format!("{}\n{error:?}", render(&error));
            assert!(!text.contains(SECRET), "{text}");
            assert!(!text.contains(&basic), "{text}");
            assert_eq!(error.exit(), exit, "{text}");
        }
    }

    #[test]
    fn every_error_says_what_where_and_how_to_fix_it() {
        let texts: Vec<String> = every_variant("the registry's words")
            .iter()
            .map(|(e, _)| render(e))
            .collect();
        let expected = [
            "error: registry `127.0.0.1:5001/fleet/element:key-1` failed the tag lookup with HTTP 503 (4 attempts): the registry's words\n  hint: the registry is failing: run again later, or ask its operator",
            "error: registry `127.0.0.1:5001/fleet/element:key-1` refused the ECR authorization token: the registry's words\n  hint: the ECR token was refused even after a refresh: check that `127.0.0.1:5001` is the registry of the account and region the token is for (`account`, `region` and `endpoint` in `[registry]`, FLEET_IMAGES_REGISTRY_ENDPOINT)",
            "error: registry `127.0.0.1:5001/fleet/element:latest` denied writing the tag to the ECR authorization token: the registry's words\n  hint: the AWS identity needs these IAM actions on the repositories (and GetAuthorizationToken on `*`): ecr:GetAuthorizationToken, ecr:BatchCheckLayerAvailability, ecr:InitiateLayerUpload, ecr:UploadLayerPart, ecr:CompleteLayerUpload, ecr:PutImage, ecr:BatchGetImage, ecr:DescribeRepositories, ecr:CreateRepository, ecr:GetLifecyclePolicy, ecr:PutLifecyclePolicy",
            &format!("error: tag `127.0.0.1:5001/fleet/element:latest` is immutable and already names {}, not {}\n  hint: key tags never move, so this is a moving tag in a repository with immutable tags: make its tags mutable (`tag_mutability = \"mutable\"` in `[registry]` for new ECR repositories, `aws ecr put-image-tag-mutability` for an existing one), or drop the tag from the image's `tags`", digest('a'), digest('b')),
            &format!("error: manifest `127.0.0.1:5001/fleet/element@{}` is not in the registry\n  hint: push the image under its key tag first; moving tags are written only for images the registry has", digest('c')),
            "error: registry `127.0.0.1:5001/fleet/element:latest` rejected writing the tag with HTTP 400: the registry's words\n  hint: the registry refused the request itself; its message above says why",
            "error: registry `127.0.0.1:5001/fleet/element` gave an unusable answer to the token request: the token service's answer has no `token`\n  hint: check that the address is a registry (OCI distribution API under `/v2/`) and not a web page or proxy",
            "error: cannot use the Docker config file `/home/u/.docker/config.json`: it is not a valid Docker config file: EOF while parsing an object at line 1 column 1\n  hint: fix or remove `/home/u/.docker/config.json`, or log in again with `docker login`; FLEET_IMAGES_REGISTRY_USERNAME and FLEET_IMAGES_REGISTRY_PASSWORD take precedence over it",
            "error: cannot use the Docker config file `/home/u/.docker/config.json`: cannot read it: permission denied\n  hint: fix or remove `/home/u/.docker/config.json`, or log in again with `docker login`; FLEET_IMAGES_REGISTRY_USERNAME and FLEET_IMAGES_REGISTRY_PASSWORD take precedence over it",
            "error: credential helper `docker-credential-desktop` gave no credentials for `ghcr.io`: it exited with status 2: the registry's words\n  hint: log in again with `docker login ghcr.io`, or set FLEET_IMAGES_REGISTRY_USERNAME and FLEET_IMAGES_REGISTRY_PASSWORD",
            "error: `FLEET_IMAGES_REGISTRY_USERNAME` is set but `FLEET_IMAGES_REGISTRY_PASSWORD` is not\n  hint: set `FLEET_IMAGES_REGISTRY_PASSWORD` too, or unset both to use the Docker config file",
            "error: no AWS region for ECR\n  hint: set `region` in `[registry]`, or AWS_REGION, or `region` in the AWS profile",
            "error: ECR PutImage of repository `fleet/element` failed: AccessDeniedException: the registry's words\n  hint: the AWS identity needs these IAM actions on the repositories (and GetAuthorizationToken on `*`): ecr:GetAuthorizationToken, ecr:BatchCheckLayerAvailability, ecr:InitiateLayerUpload, ecr:UploadLayerPart, ecr:CompleteLayerUpload, ecr:PutImage, ecr:BatchGetImage, ecr:DescribeRepositories, ecr:CreateRepository, ecr:GetLifecyclePolicy, ecr:PutLifecyclePolicy",
            "error: ECR GetAuthorizationToken failed: the registry's words\n  hint: no valid AWS credentials: set AWS_PROFILE (and run `aws sso login` for SSO), or AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, or run where an IAM role is available (CI web identity, instance or task role)",
        ];
        assert_eq!(texts.len(), expected.len());
        for (got, want) in texts.iter().zip(expected) {
            assert_eq!(got, want);
        }
    }

    #[test]
    fn auth_hints_follow_the_credentials() {
        let cases = [
            (CredentialSource::Anonymous, "the registry needs credentials and none were found: run `docker login h:1`, or set FLEET_IMAGES_REGISTRY_USERNAME and FLEET_IMAGES_REGISTRY_PASSWORD"),
            (CredentialSource::Environment, "check FLEET_IMAGES_REGISTRY_USERNAME and FLEET_IMAGES_REGISTRY_PASSWORD (unset both to use the Docker config file)"),
            (CredentialSource::DockerConfig("/c.json".into()), "log in again with `docker login h:1` (the credentials come from `/c.json`)"),
            (CredentialSource::Helper("pass".into()), "log in again with `docker login h:1` (the credentials come from `docker-credential-pass`)"),
        ];
        for (source, hint) in cases {
            let error = RegistryError::AuthFailed {
                place: Place::host("h:1"),
                credentials: source,
                message: String::new(),
            };
            assert_eq!(error.hint().as_deref(), Some(hint));
            assert_eq!(error.exit(), Exit::Unavailable);
        }
        let anonymous = RegistryError::AuthFailed {
            place: Place::host("h:1"),
            credentials: CredentialSource::Anonymous,
            message: String::new(),
        };
        assert_eq!(
            anonymous.to_string(),
            "registry `h:1` refused anonymous access (no credentials found)"
        );
        let missing = RegistryError::CredentialHelper {
            helper: "ecr-login".into(),
            host: "h:1".into(),
            problem: HelperProblem::NotInstalled("ecr-login".into()),
        };
        assert_eq!(
            render(&missing),
            "error: credential helper `docker-credential-ecr-login` gave no credentials for `h:1`: it is not installed (no `docker-credential-ecr-login` on PATH)\n  hint: install `docker-credential-ecr-login`, or remove it from `credHelpers`/`credsStore` in the Docker config file, or set FLEET_IMAGES_REGISTRY_USERNAME and FLEET_IMAGES_REGISTRY_PASSWORD"
        );
    }
}
