//! Where a command hands its observation on: the planner's view of each image ([`observed`]) and
//! the execute layer's ([`planned`]), converted here so that neither layer depends on the
//! observer's types.

use std::collections::HashMap;

use crate::execute::Planned;
use crate::names::{Digest, ImageName};
use crate::observe::Observation;
use crate::plan::{Observed, Plan};

/// The plan's view of each observed image.
pub fn observed(observation: &Observation, remote: &HashMap<ImageName, Digest>) -> Vec<Observed> {
    observation
        .images
        .iter()
        .map(|p| Observed {
            name: p.spec.name.clone(),
            key: p.plannable_key(),
            depends_on: p.spec.depends_on.clone(),
            repository: p.spec.repository.clone(),
            local: p.local.clone(),
            remote: remote.get(&p.spec.name).cloned(),
        })
        .collect()
}

/// The execute layer's view of each planned image, in the plan's order.
pub fn planned(
    observation: &Observation,
    plan: &Plan,
    remote: &HashMap<ImageName, Digest>,
) -> Vec<Planned> {
    plan.images
        .iter()
        .map(|decision| {
            let prepared = observation
                .get(&decision.name)
                .expect("planned images were observed");
            Planned {
                decision: decision.clone(),
                spec: prepared.spec.clone(),
                inputs: prepared.inputs.as_ref().ok().cloned(),
                local: prepared.local.clone(),
                local_tags: prepared.local_tags.clone(),
                remote: remote.get(&decision.name).cloned(),
                blocked_exit: prepared.blocked_exit(),
            }
        })
        .collect()
}
