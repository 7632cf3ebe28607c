//! `platform-mismatch`: an image built for another architecture than the one it runs on fails at
//! start with "exec format error" (the fleet runs on Graviton, `linux/arm64`; a laptop or CI runner
//! is often `amd64`). The engine's classic builder does not enforce the requested platform.

use super::{rules, Finding, Severity};
use crate::docker::ImageDetails;
use crate::manifest::ImageSpec;
use crate::names::{ImageName, Platform};

/// An error when the built image's OS or architecture is not the image's platform.
pub(crate) fn check(spec: &ImageSpec, details: &ImageDetails) -> Option<Finding> {
    check_parts(&spec.name, &spec.platform, spec.platform_declared, details)
}

fn check_parts(
    image: &ImageName,
    platform: &Platform,
    declared: bool,
    details: &ImageDetails,
) -> Option<Finding> {
    let os_differs = !details.os.is_empty() && details.os != platform.os();
    if details.architecture == platform.architecture() && !os_differs {
        return None;
    }
    let wanted = if declared {
        format!("`{platform}`, the platform the manifest declares")
    } else {
        format!("`{platform}`, this machine's platform (the manifest declares none)")
    };
    Some(Finding::new(
        rules::PLATFORM_MISMATCH,
        Severity::Error,
        image,
        format!("the image is built for `{}/{}`, not for {wanted}", details.os, details.architecture),
        format!(
            "it would fail to start with \"exec format error\"; rebuild it with `fleet-images build {image}` on a \
             `{platform}` engine, or from base images that exist for `{platform}`"
        ),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn architecture_must_match() {
        let image: ImageName = "element".parse().unwrap();
        let arm: Platform = "linux/arm64".parse().unwrap();
        let amd = ImageDetails {
            os: "linux".into(),
            architecture: "amd64".into(),
            ..Default::default()
        };
        let finding = check_parts(&image, &arm, true, &amd).unwrap();
        assert_eq!(
            (finding.rule, finding.severity),
            ("platform-mismatch", Severity::Error)
        );
        assert!(
            finding
                .message
                .contains("`linux/amd64`, not for `linux/arm64`"),
            "{}",
            finding.message
        );
        let arm_image = ImageDetails {
            os: "linux".into(),
            architecture: "arm64".into(),
            ..Default::default()
        };
        assert_eq!(check_parts(&image, &arm, true, &arm_image), None);
        let windows = ImageDetails {
            os: "windows".into(),
            architecture: "arm64".into(),
            ..Default::default()
        };
        assert!(check_parts(&image, &arm, false, &windows)
            .unwrap()
            .message
            .contains("declares none"));
    }
}
