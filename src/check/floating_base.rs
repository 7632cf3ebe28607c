//! `floating-base`: a base image named by a moving tag (`latest`, `stable`, no tag at all) is a
//! different image from one week to the next, so the same Dockerfile builds something else, and a
//! rebuild for an unrelated change silently picks up a new base. Pin a version, or a digest.

use super::{rules, Finding, Severity};
use crate::hash::inputs::Base;
use crate::names::ImageName;

/// A warning for each base (`FROM`, `COPY --from=<image>`) referenced by a floating tag.
pub(crate) fn check(image: &ImageName, dockerfile: &str, bases: &[Base]) -> Vec<Finding> {
    bases
        .iter()
        .filter(|base| base.reference.is_floating())
        .map(|base| {
            let written = match base.reference.tag() {
                Some(tag) => format!("by the moving tag `{tag}`"),
                None => "without a tag (Docker reads `latest`)".to_string(),
            };
            let mut hint = format!(
                "pin a version (`{}:1.2.3`) or a digest (`{}@sha256:…`) so the same inputs always build the same image",
                base.reference.name(),
                base.reference.name()
            );
            if let Some(arg) = &base.arg {
                hint.push_str(&format!("; it comes from build arg `{arg}`: set it in the manifest's `args` or its `ARG` default"));
            }
            Finding::new(
                rules::FLOATING_BASE,
                Severity::Warning,
                image,
                format!("base image `{}` is named {written}", base.reference),
                hint,
            )
            .at(format!("{dockerfile}:{}", base.line))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn base(reference: &str, arg: Option<&str>) -> Base {
        Base {
            reference: reference.parse().unwrap(),
            line: 3,
            arg: arg.map(str::to_string),
        }
    }

    #[test]
    fn warns_on_latest_and_untagged_only() {
        let image: ImageName = "conduit".parse().unwrap();
        let bases = [
            base("matrixconduit/matrix-conduit:latest", Some("CONDUIT_BASE")),
            base("node", None),
            base("node:20.18.1-bookworm-slim", None),
            base(&format!("busybox@sha256:{}", "a".repeat(64)), None),
        ];
        let findings = check(&image, "conduit/Dockerfile", &bases);
        assert_eq!(findings.len(), 2);
        assert_eq!(findings[0].rule, "floating-base");
        assert_eq!(findings[0].severity, Severity::Warning);
        assert!(
            findings[0].message.contains("moving tag `latest`"),
            "{}",
            findings[0].message
        );
        assert!(
            findings[0].hint.contains("CONDUIT_BASE"),
            "{}",
            findings[0].hint
        );
        assert_eq!(
            findings[0].location.as_deref(),
            Some("conduit/Dockerfile:3")
        );
        assert!(
            findings[1].message.contains("without a tag"),
            "{}",
            findings[1].message
        );
    }
}
