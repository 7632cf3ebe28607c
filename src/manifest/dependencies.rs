//! The images' dependencies: every `depends_on` names an image of the manifest and none forms a
//! cycle, and [`select`] picks the images a command works on with everything they need, in
//! dependency order.

use std::collections::{HashMap, HashSet};

use super::model::*;
use super::ManifestError;
use crate::error::{did_you_mean, Location};
use crate::names::ImageName;

pub(super) fn check_dependencies(images: &[ImageSpec]) -> Result<(), ManifestError> {
    let names: Vec<&str> = images.iter().map(|i| i.name.as_str()).collect();
    let index: HashMap<&ImageName, usize> = images
        .iter()
        .enumerate()
        .map(|(i, image)| (&image.name, i))
        .collect();
    for image in images {
        for dep in &image.depends_on {
            if !index.contains_key(dep) {
                return Err(ManifestError::UnknownDependency {
                    location: Location {
                        key: Some(format!("images.{}.depends_on", image.name)),
                        ..image.location.clone()
                    },
                    image: image.name.clone(),
                    dependency: dep.to_string(),
                    suggestion: did_you_mean(dep.as_str(), names.iter().copied())
                        .map(str::to_string),
                });
            }
        }
    }
    // Depth-first search for a cycle, reporting the first one found in file order.
    #[derive(Clone, Copy, PartialEq)]
    enum Mark {
        New,
        Active,
        Done,
    }
    fn visit(
        i: usize,
        images: &[ImageSpec],
        index: &HashMap<&ImageName, usize>,
        marks: &mut [Mark],
        stack: &mut Vec<usize>,
    ) -> Option<Vec<usize>> {
        marks[i] = Mark::Active;
        stack.push(i);
        for dep in &images[i].depends_on {
            let j = index[dep];
            match marks[j] {
                Mark::Active => {
                    let start = stack.iter().position(|&s| s == j).expect("on stack");
                    let mut cycle = stack[start..].to_vec();
                    cycle.push(j);
                    return Some(cycle);
                }
                Mark::New => {
                    if let Some(cycle) = visit(j, images, index, marks, stack) {
                        return Some(cycle);
                    }
                }
                Mark::Done => {}
            }
        }
        stack.pop();
        marks[i] = Mark::Done;
        None
    }
    let mut marks = vec![Mark::New; images.len()];
    for i in 0..images.len() {
        if marks[i] == Mark::New {
            if let Some(cycle) = visit(i, images, &index, &mut marks, &mut Vec::new()) {
                return Err(ManifestError::Cycle {
                    location: Location {
                        key: Some(format!("images.{}.depends_on", images[cycle[0]].name)),
                        ..images[cycle[0]].location.clone()
                    },
                    cycle: cycle.into_iter().map(|i| images[i].name.clone()).collect(),
                });
            }
        }
    }
    Ok(())
}

/// The images a command works on: the named ones (all when none is named) plus everything they
/// depend on, in dependency order (dependencies first, otherwise file order).
pub fn select(manifest: &Manifest, names: &[String]) -> Result<Vec<ImageName>, ManifestError> {
    let mut wanted: Vec<ImageName> = Vec::new();
    let all: Vec<&str> = manifest.images.iter().map(|i| i.name.as_str()).collect();
    if names.is_empty() {
        wanted = manifest.images.iter().map(|i| i.name.clone()).collect();
    }
    for name in names {
        match manifest.images.iter().find(|i| i.name.as_str() == name) {
            Some(image) => wanted.push(image.name.clone()),
            None => {
                return Err(ManifestError::UnknownImage {
                    manifest: manifest.path.clone(),
                    name: name.clone(),
                    suggestion: did_you_mean(name, all.iter().copied()).map(str::to_string),
                    known: all.iter().map(|s| s.to_string()).collect(),
                })
            }
        }
    }
    // Indexed, so that selecting from thousands of images stays linear.
    let by_name: HashMap<&ImageName, &ImageSpec> =
        manifest.images.iter().map(|i| (&i.name, i)).collect();
    let mut order = Vec::new();
    let mut added = HashSet::new();
    fn add<'m>(
        name: &'m ImageName,
        by_name: &HashMap<&ImageName, &'m ImageSpec>,
        added: &mut HashSet<&'m ImageName>,
        order: &mut Vec<ImageName>,
    ) {
        if !added.insert(name) {
            return;
        }
        let image = by_name[name];
        for dep in &image.depends_on {
            add(dep, by_name, added, order);
        }
        order.push(name.clone());
    }
    for name in &wanted {
        let name = by_name.get_key_value(name).expect("validated").0;
        add(name, &by_name, &mut added, &mut order);
    }
    Ok(order)
}
