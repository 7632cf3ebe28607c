//! The rules `check` knows: their ids (what `[images.<name>.check] allow` takes), their severity
//! and what each enforces, with the lesson of `aws-deployment-lessons.md` it comes from. The ids
//! themselves are in `manifest/rule_ids.rs`, which the manifest checks `allow` against without
//! depending on `check`.

use super::Severity;

/// One rule.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Rule {
    /// Its id.
    pub id: &'static str,
    /// The severity of what it finds (some rules also warn: see `summary`).
    pub severity: Severity,
    /// What it checks.
    pub summary: &'static str,
    /// Whether it reads the Dockerfile and context (static), the built image, or both.
    pub reads: &'static str,
}

pub use crate::manifest::rule_ids::{
    ELEMENT_CONFIG, ENTRYPOINT_EXISTS, ENV_FILE, FLOATING_BASE, HEALTHCHECK, PLATFORM_MISMATCH,
    PRIVILEGED_PORT, SECRET_IN_CONTEXT, UNKNOWN_RULE,
};

/// Every rule, in the order `check` runs them.
pub const RULES: &[Rule] = &[
    Rule {
        id: PRIVILEGED_PORT,
        severity: Severity::Error,
        summary: "a non-root user exposes or listens on a port below 1024, which it cannot bind (lesson 2)",
        reads: "Dockerfile (final stage USER, EXPOSE, ENV *_PORT); image config when built",
    },
    Rule {
        id: ENV_FILE,
        severity: Severity::Error,
        summary: "each `env_files` variable is set and names a file that exists in the image (lesson 1)",
        reads: "Dockerfile ENV and COPY; image env and files when built",
    },
    Rule {
        id: ELEMENT_CONFIG,
        severity: Severity::Error,
        summary: "`element_config` is valid JSON with a homeserver base_url a browser can reach (lesson 4), \
                  and every branding asset it names is in the image (lesson 10)",
        reads: "the context file the Dockerfile COPYs there; the image's files when built",
    },
    Rule {
        id: HEALTHCHECK,
        severity: Severity::Warning,
        summary: "the image has a HEALTHCHECK or a `[images.<name>.test]` section",
        reads: "Dockerfile and manifest; image config when built",
    },
    Rule {
        id: FLOATING_BASE,
        severity: Severity::Warning,
        summary: "a base image is named by a moving tag (`latest`, no tag), so the same inputs can build different images",
        reads: "Dockerfile FROM and COPY --from, after build args",
    },
    Rule {
        id: SECRET_IN_CONTEXT,
        severity: Severity::Error,
        summary: "the build context sends a secret (`.env`, a private key, `.aws/credentials`, an `.npmrc` token, \
                  `.docker/config.json` credentials) to the engine",
        reads: "the context entries that are sent",
    },
    Rule {
        id: PLATFORM_MISMATCH,
        severity: Severity::Error,
        summary: "the built image's OS/architecture differs from the image's platform",
        reads: "image config",
    },
    Rule {
        id: ENTRYPOINT_EXISTS,
        severity: Severity::Error,
        summary: "the program ENTRYPOINT/CMD starts is in the image (absolute, or on the image's PATH) and executable, \
                  and the script an interpreter (`node`, `sh`/`bash`, `python*`) is given exists against WORKDIR",
        reads: "image config and files (built image only)",
    },
];

/// The rule with that id.
pub fn rule(id: &str) -> Option<&'static Rule> {
    RULES.iter().find(|r| r.id == id)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_are_unique_and_kebab_case() {
        for (i, r) in RULES.iter().enumerate() {
            assert!(
                r.id.bytes().all(|b| b.is_ascii_lowercase() || b == b'-'),
                "{}",
                r.id
            );
            assert!(RULES[i + 1..].iter().all(|o| o.id != r.id), "{}", r.id);
        }
        assert!(rule(PRIVILEGED_PORT).is_some());
        assert!(rule(UNKNOWN_RULE).is_none());
    }

    #[test]
    fn the_manifest_knows_the_same_ids_in_the_same_order() {
        let ids: Vec<&str> = RULES.iter().map(|r| r.id).collect();
        assert_eq!(ids, crate::manifest::rule_ids::RULE_IDS);
    }
}
