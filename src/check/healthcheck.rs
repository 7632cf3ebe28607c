//! `healthcheck` (the lessons' "implement health checks for all services"): an image should say
//! how to tell that it works, either with a `HEALTHCHECK` (which ECS and Docker run) or with a
//! `[images.<name>.test]` section (which `fleet-images test` runs before it ships). Images that
//! cannot run a healthcheck (no shell or HTTP client, such as Conduit's) use a test section.

use super::run_config::{Origin, RunConfig};
use super::{rules, Finding, Severity};
use crate::manifest::ImageSpec;

/// A warning when neither a healthcheck nor a test section exists.
pub(crate) fn check(spec: &ImageSpec, config: &RunConfig) -> Option<Finding> {
    check_parts(&spec.name, config, spec.test.is_some())
}

fn check_parts(
    image: &crate::names::ImageName,
    config: &RunConfig,
    has_test: bool,
) -> Option<Finding> {
    if config.healthcheck || has_test {
        return None;
    }
    let message = match config.origin {
        Origin::Dockerfile => "the Dockerfile has no HEALTHCHECK and the manifest no `test` section for the image \
                               (a HEALTHCHECK of the base image would count; build the image to let `check` see it)",
        Origin::Image => "the image has no HEALTHCHECK and the manifest no `test` section for it",
    };
    Some(Finding::new(
        rules::HEALTHCHECK,
        Severity::Warning,
        image,
        message,
        format!(
            "add `[images.{image}.test]` with `http = {{ port = 8080, path = \"/health\" }}` or `tcp = PORT` so \
             `fleet-images test` proves it serves, or a `HEALTHCHECK` the image can run"
        ),
    ))
}

#[cfg(test)]
mod tests {
    use super::super::run_config::tests::dockerfile;
    use super::*;

    #[test]
    fn warns_without_healthcheck_or_test() {
        let image = "agent".parse().unwrap();
        let finding = check_parts(&image, &dockerfile(Some("1000"), &[], &[]), false).unwrap();
        assert_eq!(
            (finding.rule, finding.severity),
            ("healthcheck", Severity::Warning)
        );
        assert!(
            finding.hint.contains("[images.agent.test]"),
            "{}",
            finding.hint
        );
        assert_eq!(check_parts(&image, &dockerfile(None, &[], &[]), true), None);
        let mut with_healthcheck = dockerfile(None, &[], &[]);
        with_healthcheck.healthcheck = true;
        assert_eq!(check_parts(&image, &with_healthcheck, false), None);
    }
}
