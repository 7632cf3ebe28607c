//! What an image runs with — user, exposed ports, environment, healthcheck — seen either from the
//! Dockerfile's final stage (static: only what the Dockerfile itself sets) or from the built
//! image's configuration (everything, including what the base image set). Rules that apply to both
//! are written once against this view.

use crate::docker::ImageDetails;
use crate::hash::dockerfile::Dockerfile;

/// Where a [`RunConfig`] was read from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Origin {
    /// The Dockerfile's final stage: what the base image sets is unknown.
    Dockerfile,
    /// The built image's configuration.
    Image,
}

/// What an image runs with.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct RunConfig {
    pub(crate) origin: Origin,
    /// `USER`. `None` when unknown: the Dockerfile sets none, so the base image's applies. From an
    /// image, `Some("")` means root.
    pub(crate) user: Option<String>,
    /// `EXPOSE`d ports as written: `80`, `80/tcp`, `8000-8010/udp`.
    pub(crate) exposed_ports: Vec<String>,
    /// `ENV`, in order (a later entry overrides an earlier one of the same name).
    pub(crate) env: Vec<(String, String)>,
    /// Whether a `HEALTHCHECK` (other than `NONE`) is set.
    pub(crate) healthcheck: bool,
}

impl RunConfig {
    /// From a stage of a parsed Dockerfile, with what it inherits from earlier stages it is built
    /// `FROM` (their `USER`, `EXPOSE`, `ENV` and `HEALTHCHECK`).
    pub(crate) fn from_stage(dockerfile: &Dockerfile, index: usize) -> Self {
        let mut chain = vec![index];
        let mut current = index;
        while let Some(parent) = dockerfile.stages[..current].iter().rposition(|s| {
            s.name
                .as_deref()
                .is_some_and(|n| n.eq_ignore_ascii_case(&dockerfile.stages[current].base))
        }) {
            chain.push(parent);
            current = parent;
        }
        let mut config = RunConfig {
            origin: Origin::Dockerfile,
            user: None,
            exposed_ports: Vec::new(),
            env: Vec::new(),
            healthcheck: false,
        };
        for &i in chain.iter().rev() {
            let stage = &dockerfile.stages[i];
            if let Some(user) = stage.user.clone().filter(|u| !u.trim().is_empty()) {
                config.user = Some(user);
            }
            config
                .exposed_ports
                .extend(stage.exposed_ports.iter().cloned());
            config.env.extend(stage.env.iter().cloned());
            config.healthcheck |= stage.has_healthcheck;
        }
        config
    }

    /// From a built image.
    pub(crate) fn from_image(details: &ImageDetails) -> Self {
        RunConfig {
            origin: Origin::Image,
            user: Some(details.user.clone()),
            exposed_ports: details.exposed_ports.clone(),
            env: details
                .env
                .iter()
                .map(|e| match e.split_once('=') {
                    Some((k, v)) => (k.to_string(), v.to_string()),
                    None => (e.clone(), String::new()),
                })
                .collect(),
            healthcheck: details.healthcheck,
        }
    }

    /// The value of an environment variable, the last one set.
    pub(crate) fn env_var(&self, name: &str) -> Option<&str> {
        self.env
            .iter()
            .rev()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }

    /// Whether the user is root; `None` when unknown (no `USER` in the Dockerfile, or a user
    /// written with a variable).
    pub(crate) fn runs_as_root(&self) -> Option<bool> {
        let user = self.user.as_deref()?;
        let name = user.split(':').next().unwrap_or_default().trim();
        if name.contains('$') {
            return None;
        }
        Some(name.is_empty() || name == "root" || name == "0")
    }

    /// Where the Dockerfile says this, or that the image says it.
    pub(crate) fn subject(&self) -> &'static str {
        match self.origin {
            Origin::Dockerfile => "the Dockerfile's final stage",
            Origin::Image => "the image",
        }
    }
}

/// The index of the stage an image is built from: the `target` stage, else the last one.
pub(crate) fn final_stage(dockerfile: &Dockerfile, target: Option<&str>) -> Option<usize> {
    if let Some(target) = target {
        if let Some(index) = dockerfile.stages.iter().position(|s| {
            s.name
                .as_deref()
                .is_some_and(|n| n.eq_ignore_ascii_case(target))
        }) {
            return Some(index);
        }
    }
    dockerfile.stages.len().checked_sub(1)
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    /// A run config as a Dockerfile would give it.
    pub(crate) fn dockerfile(
        user: Option<&str>,
        exposed: &[&str],
        env: &[(&str, &str)],
    ) -> RunConfig {
        RunConfig {
            origin: Origin::Dockerfile,
            user: user.map(str::to_string),
            exposed_ports: exposed.iter().map(|s| s.to_string()).collect(),
            env: env
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect(),
            healthcheck: false,
        }
    }

    #[test]
    fn root_in_all_its_spellings() {
        for user in ["", "root", "0", "0:0", "root:staff"] {
            assert_eq!(
                dockerfile(Some(user), &[], &[]).runs_as_root(),
                Some(true),
                "{user:?}"
            );
        }
        for user in ["101", "nginx", "1000:1000", "app"] {
            assert_eq!(
                dockerfile(Some(user), &[], &[]).runs_as_root(),
                Some(false),
                "{user:?}"
            );
        }
        assert_eq!(dockerfile(None, &[], &[]).runs_as_root(), None);
        assert_eq!(dockerfile(Some("${UID}"), &[], &[]).runs_as_root(), None);
    }

    #[test]
    fn reads_an_image_config() {
        let details = ImageDetails {
            user: "101".into(),
            exposed_ports: vec!["8080/tcp".into()],
            env: vec![
                "PATH=/bin".into(),
                "EMPTY=".into(),
                "ELEMENT_WEB_PORT=8080".into(),
            ],
            healthcheck: true,
            ..Default::default()
        };
        let config = RunConfig::from_image(&details);
        assert_eq!(config.env_var("ELEMENT_WEB_PORT"), Some("8080"));
        assert_eq!(config.env_var("EMPTY"), Some(""));
        assert_eq!(config.env_var("MISSING"), None);
        assert_eq!(config.runs_as_root(), Some(false));
        assert!(config.healthcheck);
        // An image with no user runs as root.
        assert_eq!(
            RunConfig::from_image(&ImageDetails::default()).runs_as_root(),
            Some(true)
        );
    }

    #[test]
    fn the_last_env_entry_wins() {
        let config = dockerfile(None, &[], &[("PORT", "80"), ("PORT", "8080")]);
        assert_eq!(config.env_var("PORT"), Some("8080"));
    }
}
