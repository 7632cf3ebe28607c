//! The ids of the rules `check` knows: the words `[images.<name>.check] allow` takes. They live
//! here so that the manifest can check `allow` while it is read; `check/rules.rs` says what each
//! rule enforces and how severe its findings are, and a test there keeps both lists the same.

/// A non-root user exposing or listening on a port below 1024.
pub const PRIVILEGED_PORT: &str = "privileged-port";
/// `env_files` variables set and naming a file.
pub const ENV_FILE: &str = "env-file";
/// Element's `config.json`.
pub const ELEMENT_CONFIG: &str = "element-config";
/// A HEALTHCHECK or a test section.
pub const HEALTHCHECK: &str = "healthcheck";
/// A base image by a moving tag.
pub const FLOATING_BASE: &str = "floating-base";
/// A secret in the build context.
pub const SECRET_IN_CONTEXT: &str = "secret-in-context";
/// The image's architecture against the manifest's platform.
pub const PLATFORM_MISMATCH: &str = "platform-mismatch";
/// The program ENTRYPOINT/CMD starts, and the script it names, exist in the image.
pub const ENTRYPOINT_EXISTS: &str = "entrypoint-exists";
/// An `allow` entry that names no rule.
pub const UNKNOWN_RULE: &str = "unknown-rule";

/// Every rule id, in the order `check` runs the rules.
pub const RULE_IDS: &[&str] = &[
    PRIVILEGED_PORT,
    ENV_FILE,
    ELEMENT_CONFIG,
    HEALTHCHECK,
    FLOATING_BASE,
    SECRET_IN_CONTEXT,
    PLATFORM_MISMATCH,
    ENTRYPOINT_EXISTS,
];
