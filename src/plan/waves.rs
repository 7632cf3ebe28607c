//! The images in CI-matrix order: waves where every image's dependencies are all in earlier waves,
//! so each wave's images can be built at once on runners of their own (`plan --json`'s `waves`).

use crate::names::ImageName;

/// Groups `images` (name and dependencies, dependencies first, as planned) into waves: an image
/// goes in the wave after the latest of its dependencies. Within a wave the planned order is kept.
/// A dependency outside `images` does not count (selection always brings dependencies along).
pub fn waves(images: &[(ImageName, Vec<ImageName>)]) -> Vec<Vec<ImageName>> {
    let mut depth: Vec<(ImageName, usize)> = Vec::with_capacity(images.len());
    for (name, depends_on) in images {
        let level = depends_on
            .iter()
            .filter_map(|dep| depth.iter().find(|(n, _)| n == dep).map(|(_, d)| d + 1))
            .max()
            .unwrap_or(0);
        depth.push((name.clone(), level));
    }
    let count = depth.iter().map(|(_, d)| d + 1).max().unwrap_or(0);
    (0..count)
        .map(|level| {
            depth
                .iter()
                .filter(|(_, d)| *d == level)
                .map(|(n, _)| n.clone())
                .collect()
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn image(name: &str, deps: &[&str]) -> (ImageName, Vec<ImageName>) {
        (
            name.parse().unwrap(),
            deps.iter().map(|d| d.parse().unwrap()).collect(),
        )
    }

    fn names(waves: &[Vec<ImageName>]) -> Vec<Vec<&str>> {
        waves
            .iter()
            .map(|w| w.iter().map(ImageName::as_str).collect())
            .collect()
    }

    #[test]
    fn independent_images_share_the_first_wave() {
        let waves = waves(&[
            image("conduit", &[]),
            image("element", &[]),
            image("fleet-manager", &[]),
            image("agent", &[]),
        ]);
        assert_eq!(
            names(&waves),
            [["conduit", "element", "fleet-manager", "agent"]]
        );
    }

    #[test]
    fn an_image_waits_for_its_deepest_dependency() {
        // runtime -> base; agent -> runtime and base; web alone.
        let waves = waves(&[
            image("base", &[]),
            image("runtime", &["base"]),
            image("agent", &["base", "runtime"]),
            image("web", &[]),
            image("tools", &["base"]),
        ]);
        assert_eq!(
            names(&waves),
            vec![vec!["base", "web"], vec!["runtime", "tools"], vec!["agent"]]
        );
    }

    #[test]
    fn nothing_selected_is_no_wave() {
        assert!(waves(&[]).is_empty());
    }
}
