//! The planner: a pure function from what was observed to what must be done.

use super::model::*;

/// Decides, for each observed image in dependency order, whether it must be built and pushed.
pub fn plan(observed: &[Observed], options: PlanOptions) -> Plan {
    let mut images: Vec<ImagePlan> = Vec::with_capacity(observed.len());
    // The blocked names so far, so that checking a dependency stays constant time.
    let mut blocked = std::collections::HashSet::new();
    for image in observed {
        let blocked_dep = image.depends_on.iter().find(|d| blocked.contains(*d));
        let decision = match (&image.key, blocked_dep) {
            (Err(why), _) => ImagePlan {
                name: image.name.clone(),
                key: None,
                status: Status::Blocked,
                reason: why.reason.clone(),
                push: false,
            },
            (Ok(key), Some(dep)) => ImagePlan {
                name: image.name.clone(),
                key: Some(*key),
                status: Status::Blocked,
                reason: format!("it builds on `{dep}`, which cannot be planned"),
                push: false,
            },
            (Ok(key), None) => decide(image, *key, options),
        };
        if decision.status == Status::Blocked {
            blocked.insert(decision.name.clone());
        }
        images.push(decision);
    }
    Plan { images }
}

fn decide(image: &Observed, key: crate::names::Key, options: PlanOptions) -> ImagePlan {
    let (status, reason, push) = if options.force {
        (
            Status::Build,
            "--force builds every selected image".to_string(),
            options.push,
        )
    } else if let (true, Some(digest)) = (options.registry_observed, &image.remote) {
        (
            Status::Remote,
            format!(
                "{}:{} is in the registry ({})",
                image.repository,
                key.tag(),
                digest.short()
            ),
            false,
        )
    } else if let Some(id) = &image.local {
        let reason = format!("the engine has image {} with this key", short_id(id));
        (Status::Local, reason, options.push)
    } else if !options.engine_observed {
        (
            Status::Build,
            "the engine could not be asked; assuming it has no image with this key".to_string(),
            options.push,
        )
    } else if options.registry_observed {
        (
            Status::Build,
            "neither the engine nor the registry has an image with this key".to_string(),
            options.push,
        )
    } else {
        (
            Status::Build,
            "the engine has no image with this key".to_string(),
            options.push,
        )
    };
    ImagePlan {
        name: image.name.clone(),
        key: Some(key),
        status,
        reason,
        push,
    }
}

fn short_id(id: &str) -> &str {
    let id = id.strip_prefix("sha256:").unwrap_or(id);
    &id[..id.len().min(12)]
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::names::{Digest, ImageName, Key};

    fn observed(name: &str, deps: &[&str], local: bool, remote: bool) -> Observed {
        Observed {
            name: name.parse().unwrap(),
            key: Ok(Key::from_bytes([name.len() as u8; 32])),
            depends_on: deps
                .iter()
                .map(|d| d.parse::<ImageName>().unwrap())
                .collect(),
            repository: name.parse().unwrap(),
            local: local.then(|| format!("sha256:{}", "1".repeat(64))),
            remote: remote.then(|| {
                format!("sha256:{}", "2".repeat(64))
                    .parse::<Digest>()
                    .unwrap()
            }),
        }
    }

    fn opts(push: bool, registry: bool) -> PlanOptions {
        PlanOptions {
            force: false,
            push,
            registry_observed: registry,
            engine_observed: true,
        }
    }

    #[test]
    fn the_whole_matrix() {
        // (local, remote, push, registry observed) -> (status, push key tag)
        let cases = [
            ((false, false, false, false), (Status::Build, false)),
            ((true, false, false, false), (Status::Local, false)),
            ((false, true, false, false), (Status::Build, false)), // registry not asked without --push
            ((true, true, false, false), (Status::Local, false)),
            ((false, false, true, true), (Status::Build, true)),
            ((true, false, true, true), (Status::Local, true)),
            ((false, true, true, true), (Status::Remote, false)),
            ((true, true, true, true), (Status::Remote, false)),
        ];
        for ((local, remote, push, registry), (status, push_key)) in cases {
            let plan = plan(&[observed("a", &[], local, remote)], opts(push, registry));
            let image = &plan.images[0];
            assert_eq!(
                (image.status, image.push),
                (status, push_key),
                "local={local} remote={remote} push={push}"
            );
            assert!(!image.reason.is_empty());
        }
    }

    #[test]
    fn force_builds_even_what_exists() {
        let plan = plan(
            &[observed("a", &[], true, true)],
            PlanOptions {
                force: true,
                push: true,
                registry_observed: true,
                engine_observed: true,
            },
        );
        assert_eq!(plan.images[0].status, Status::Build);
        assert!(plan.images[0].push);
    }

    #[test]
    fn blocked_images_block_their_dependents_only() {
        let mut broken = observed("alpha", &[], false, false);
        broken.key = Err(Unplannable {
            reason: "build context `x` does not exist".into(),
            exit: crate::error::Exit::BadInput,
        });
        let plan = plan(
            &[
                broken,
                observed("beta", &["alpha"], false, false),
                observed("gamma", &[], true, false),
            ],
            opts(false, false),
        );
        let statuses: Vec<_> = plan.images.iter().map(|i| i.status).collect();
        assert_eq!(statuses, [Status::Blocked, Status::Blocked, Status::Local]);
        assert_eq!(
            plan.images[1].reason,
            "it builds on `alpha`, which cannot be planned"
        );
        assert_eq!(plan.builds(), 0);
    }

    #[test]
    fn without_an_engine_everything_builds() {
        let plan = plan(&[observed("a", &[], false, false)], PlanOptions::default());
        assert_eq!(plan.images[0].status, Status::Build);
        assert!(plan.images[0].reason.contains("could not be asked"));
    }
}
