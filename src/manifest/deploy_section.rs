//! Reading `[images.<name>.deploy]` into a [`DeploySpec`]: the ECS services an image runs in,
//! the task families only `RunTask` uses, and the `referenced_by` links that are followed to the
//! image whose service holds the reference.

use super::model::*;
use super::reader::Table;
use super::vars::Vars;
use super::ManifestError;
use crate::error::did_you_mean;
use crate::names::ImageName;

/// Default number of task-definition revisions kept active per family.
pub const DEFAULT_KEEP_REVISIONS: u32 = 5;

fn required_string(
    table: &mut Table<'_, '_>,
    key: &'static str,
    example: &'static str,
    vars: &mut Vars,
) -> Result<String, ManifestError> {
    match table.string(key, vars)? {
        Some((v, _, _)) if !v.is_empty() => Ok(v),
        _ => Err(ManifestError::MissingKey {
            location: table.location(),
            key,
            table: table.display_name(),
            example,
        }),
    }
}

pub(super) fn read_deploy(
    mut table: Table<'_, '_>,
    vars: &mut Vars,
) -> Result<DeploySpec, ManifestError> {
    table.reject_unknown(&["services", "task_families", "keep_revisions"])?;
    let mut services = Vec::new();
    for mut entry in table.tables("services")? {
        services.push(read_service_target(&mut entry, vars)?);
        entry.finish(SERVICE_TARGET_KEYS)?;
    }
    let mut task_families = Vec::new();
    for mut entry in table.tables("task_families")? {
        entry.reject_unknown(&["family", "container", "referenced_by"])?;
        let family = match entry.string("family", vars)? {
            Some((v, _, _)) if !v.is_empty() => Some(v),
            _ => None,
        };
        let container = required_string(&mut entry, "container", "container = \"agent\"", vars)?;
        let referenced_by = match entry.table("referenced_by")? {
            Some(mut reference) => {
                reference.reject_unknown(&["image", "env"])?;
                let location = reference.location();
                let image_text = required_string(
                    &mut reference,
                    "image",
                    "referenced_by = { image = \"fleet-manager\", env = \"ECS_TASK_DEFINITION_ARN\" }",
                    vars,
                )?;
                let image =
                    image_text
                        .parse::<ImageName>()
                        .map_err(|e| ManifestError::InvalidValue {
                            location: reference.location_of("image"),
                            message: e.to_string(),
                            hint: None,
                        })?;
                let env = required_string(
                    &mut reference,
                    "env",
                    "env = \"ECS_TASK_DEFINITION_ARN\"",
                    vars,
                )?;
                reference.finish(&["image", "env"])?;
                Some(FamilyReference {
                    image,
                    env,
                    services: Vec::new(),
                    location,
                })
            }
            None => None,
        };
        if family.is_none() && referenced_by.is_none() {
            return Err(ManifestError::MissingKey {
                location: entry.location(),
                key: "family",
                table: entry.display_name(),
                example: "family = \"fleet-agent\" (or referenced_by = { image = \"fleet-manager\", env = \"ECS_TASK_DEFINITION_ARN\" })",
            });
        }
        task_families.push(FamilyTarget {
            family,
            container,
            referenced_by,
        });
        entry.finish(&["family", "container", "referenced_by"])?;
    }
    let keep_revisions = table
        .integer("keep_revisions", 1..1001)?
        .map_or(DEFAULT_KEEP_REVISIONS, |v| v as u32);
    table.finish(&["services", "task_families", "keep_revisions"])?;
    Ok(DeploySpec {
        services,
        task_families,
        keep_revisions,
    })
}

/// The keys of a `services` entry.
const SERVICE_TARGET_KEYS: &[&str] = &["cluster", "service", "container", "always_on"];

/// One `services` entry: `service` may be left out, the service is then found by its container.
fn read_service_target(
    entry: &mut Table<'_, '_>,
    vars: &mut Vars,
) -> Result<ServiceTarget, ManifestError> {
    entry.reject_unknown(SERVICE_TARGET_KEYS)?;
    Ok(ServiceTarget {
        cluster: required_string(entry, "cluster", "cluster = \"fleet\"", vars)?,
        service: match entry.string("service", vars)? {
            Some((v, _, _)) if !v.is_empty() => Some(v),
            _ => None,
        },
        container: required_string(entry, "container", "container = \"element\"", vars)?,
        always_on: entry.boolean("always_on")?.unwrap_or(true),
    })
}

/// Follows each `referenced_by` to the referencing image: it must be in the manifest and deploy
/// to at least one service; its service targets are copied into the reference.
pub(super) fn resolve_references(images: &mut [ImageSpec]) -> Result<(), ManifestError> {
    let names: Vec<String> = images.iter().map(|i| i.name.to_string()).collect();
    let targets: Vec<Vec<ServiceTarget>> =
        images.iter().map(|i| i.deploy.services.clone()).collect();
    for image in images.iter_mut() {
        for family in &mut image.deploy.task_families {
            let Some(reference) = &mut family.referenced_by else {
                continue;
            };
            let Some(index) = names.iter().position(|n| n == reference.image.as_str()) else {
                return Err(ManifestError::InvalidValue {
                    location: reference.location.clone(),
                    message: format!(
                        "`referenced_by` names image `{}`, which is not in the manifest",
                        reference.image
                    ),
                    hint: Some(
                        match did_you_mean(
                            reference.image.as_str(),
                            names.iter().map(String::as_str),
                        ) {
                            Some(close) => format!("did you mean `{close}`?"),
                            None => format!("images in the manifest: {}", names.join(", ")),
                        },
                    ),
                });
            };
            if targets[index].is_empty() {
                return Err(ManifestError::InvalidValue {
                    location: reference.location.clone(),
                    message: format!(
                        "`referenced_by` names image `{}`, which deploys to no service",
                        reference.image
                    ),
                    hint: Some(format!(
                        "add `services = [{{ cluster = \"…\", container = \"…\" }}]` to [images.{}.deploy]: the reference is read from that service's task definition",
                        reference.image
                    )),
                });
            }
            reference.services = targets[index].clone();
        }
    }
    Ok(())
}
