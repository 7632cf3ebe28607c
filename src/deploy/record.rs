//! The record of deploys that `rollback` reads: every deploy that changed something writes its
//! report to `<state dir>/deploys/<milliseconds since the epoch>.json`, in the same shape as the
//! `--json-out` artifact (`{ "deploy": { "services": [ … ] } }`), so CI can roll back a failed
//! release from the artifact of the job that made it, on a runner without the state directory.

use std::fs;
use std::path::{Path, PathBuf};

use serde::Deserialize;

use crate::error::{Diagnostic, Exit};
use crate::names::ImageName;

use super::report::DeployReport;
use super::request::RollbackTarget;

/// Why no rollback targets could be read.
#[derive(Debug, thiserror::Error)]
pub enum RecordError {
    /// No deploy was recorded in the state directory.
    #[error("no deploy is recorded in `{}`", dir.display())]
    NoRecord {
        /// `<state dir>/deploys`.
        dir: PathBuf,
    },
    /// A record or artifact could not be read or parsed.
    #[error("cannot read the deploy record `{}`", path.display())]
    Unreadable {
        /// The file.
        path: PathBuf,
        /// Why.
        #[source]
        source: Box<dyn std::error::Error + Send + Sync>,
    },
    /// The records name no service that a deploy of the selected images changed.
    #[error("no recorded deploy changed a service for {}", if images.is_empty() { "any image".to_string() } else { images.iter().map(|i| format!("`{i}`")).collect::<Vec<_>>().join(", ") })]
    NothingToRollBack {
        /// The selected images.
        images: Vec<ImageName>,
    },
}

impl Diagnostic for RecordError {
    fn exit(&self) -> Exit {
        Exit::BadInput
    }

    fn hint(&self) -> Option<String> {
        Some(match self {
            RecordError::NoRecord { .. } => "run `rollback --from result.json` with the --json-out artifact of the deploy, or use the --state-dir the deploy used".into(),
            RecordError::Unreadable { .. } => "pass the file `deploy --json-out` or `build --push --deploy --json-out` wrote".into(),
            RecordError::NothingToRollBack { .. } => "name the images whose release to roll back, or none for the whole last deploy".into(),
        })
    }
}

/// The directory of the records.
pub fn record_dir(state_dir: &Path) -> PathBuf {
    state_dir.join("deploys")
}

/// Writes the report of a deploy that changed at least one service; returns the file, `None`
/// when there was nothing to record.
pub fn save(state_dir: &Path, report: &DeployReport) -> std::io::Result<Option<PathBuf>> {
    if report.dry_run || !report.services.iter().any(changed) {
        return Ok(None);
    }
    let dir = record_dir(state_dir);
    fs::create_dir_all(&dir)?;
    let millis = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis())
        .unwrap_or_default();
    let path = dir.join(format!("{millis:015}.json"));
    let value = serde_json::json!({ "deploy": report });
    fs::write(
        &path,
        serde_json::to_string_pretty(&value).expect("json") + "\n",
    )?;
    Ok(Some(path))
}

fn changed(service: &super::report::ServiceReport) -> bool {
    matches!(
        (&service.old_task_definition, &service.new_task_definition),
        (Some(old), Some(new)) if old != new
    )
}

#[derive(Debug, Deserialize)]
struct Recorded {
    cluster: String,
    service: String,
    old_task_definition: Option<String>,
    new_task_definition: Option<String>,
    #[serde(default)]
    released: Vec<String>,
}

#[derive(Debug, Deserialize)]
struct Report {
    #[serde(default)]
    dry_run: bool,
    services: Vec<Recorded>,
}

/// The services one record (or artifact) changed, with the images that changed them.
fn read(path: &Path) -> Result<Vec<RollbackTarget>, RecordError> {
    let unreadable = |source: Box<dyn std::error::Error + Send + Sync>| RecordError::Unreadable {
        path: path.to_path_buf(),
        source,
    };
    let text = crate::input_file::read_text_capped(path, crate::input_file::STATE_CAP)
        .map_err(|e| unreadable(Box::new(e)))?;
    let mut value: serde_json::Value =
        serde_json::from_str(&text).map_err(|e| unreadable(Box::new(e)))?;
    if let Some(inner) = value.get_mut("deploy") {
        value = inner.take();
    }
    if value.is_null() {
        return Ok(Vec::new());
    }
    let report: Report = serde_json::from_value(value).map_err(|e| unreadable(Box::new(e)))?;
    if report.dry_run {
        return Ok(Vec::new());
    }
    Ok(report
        .services
        .into_iter()
        .filter_map(|s| match (s.old_task_definition, s.new_task_definition) {
            (Some(old), Some(new)) if old != new => Some(RollbackTarget {
                cluster: s.cluster,
                service: s.service,
                task_definition: old,
                released: s.released.iter().filter_map(|i| i.parse().ok()).collect(),
            }),
            _ => None,
        })
        .collect())
}

/// The targets of the last deploy of each selected image (every image when none is selected:
/// the last deploy's targets), from `from` (an artifact) or the state directory's records,
/// newest first.
pub fn rollback_targets(
    state_dir: &Path,
    from: Option<&Path>,
    images: &[ImageName],
) -> Result<Vec<RollbackTarget>, RecordError> {
    let files = match from {
        Some(path) => vec![path.to_path_buf()],
        None => {
            let dir = record_dir(state_dir);
            let mut files: Vec<PathBuf> = fs::read_dir(&dir)
                .map_err(|_| RecordError::NoRecord { dir: dir.clone() })?
                .filter_map(|e| e.ok().map(|e| e.path()))
                .filter(|p| p.extension().is_some_and(|x| x == "json"))
                .collect();
            if files.is_empty() {
                return Err(RecordError::NoRecord { dir });
            }
            files.sort();
            files.reverse();
            files
        }
    };
    let mut remaining: Vec<ImageName> = images.to_vec();
    let mut targets: Vec<RollbackTarget> = Vec::new();
    for file in files {
        let recorded = read(&file)?;
        if recorded.is_empty() {
            continue;
        }
        if images.is_empty() {
            return Ok(recorded);
        }
        let mut seen = Vec::new();
        for target in recorded {
            let wanted: Vec<&ImageName> = target
                .released
                .iter()
                .filter(|i| remaining.contains(i))
                .collect();
            if wanted.is_empty() {
                continue;
            }
            seen.extend(wanted.into_iter().cloned());
            let same = |t: &RollbackTarget| {
                super::ecs::short_name(&t.cluster) == super::ecs::short_name(&target.cluster)
                    && super::ecs::short_name(&t.service) == super::ecs::short_name(&target.service)
            };
            if !targets.iter().any(same) {
                targets.push(target);
            }
        }
        remaining.retain(|i| !seen.contains(i));
        if remaining.is_empty() {
            break;
        }
    }
    if targets.is_empty() {
        return Err(RecordError::NothingToRollBack {
            images: images.to_vec(),
        });
    }
    Ok(targets)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn write(dir: &Path, name: &str, services: serde_json::Value) {
        fs::create_dir_all(dir.join("deploys")).unwrap();
        let value = serde_json::json!({ "deploy": { "dry_run": false, "services": services } });
        fs::write(dir.join("deploys").join(name), value.to_string()).unwrap();
    }

    fn service(name: &str, old: &str, new: &str, released: &[&str]) -> serde_json::Value {
        serde_json::json!({
            "cluster": "open-claw-fleet-dev", "service": name,
            "old_task_definition": old, "new_task_definition": new, "released": released,
        })
    }

    #[test]
    fn each_image_goes_back_to_the_revision_its_last_deploy_replaced() {
        let dir = tempfile::tempdir().unwrap();
        write(
            dir.path(),
            "000000000000001.json",
            serde_json::json!([
                service("fm", "fm:1", "fm:2", &["fleet-manager", "agent"]),
                service("conduit", "c:1", "c:2", &["conduit"]),
            ]),
        );
        write(
            dir.path(),
            "000000000000002.json",
            serde_json::json!([
                service("conduit", "c:2", "c:3", &["conduit"]),
                service("element", "e:1", "e:1", &["element"]),
            ]),
        );
        let all = rollback_targets(dir.path(), None, &[]).unwrap();
        assert_eq!(all.len(), 1, "the last deploy changed only conduit");
        assert_eq!(all[0].task_definition, "c:2");

        let agent = rollback_targets(dir.path(), None, &["agent".parse().unwrap()]).unwrap();
        assert_eq!(agent.len(), 1);
        assert_eq!(
            (agent[0].service.as_str(), agent[0].task_definition.as_str()),
            ("fm", "fm:1")
        );

        let both = rollback_targets(
            dir.path(),
            None,
            &["conduit".parse().unwrap(), "agent".parse().unwrap()],
        )
        .unwrap();
        let found: Vec<(&str, &str)> = both
            .iter()
            .map(|t| (t.service.as_str(), t.task_definition.as_str()))
            .collect();
        assert_eq!(found, [("conduit", "c:2"), ("fm", "fm:1")]);

        let error = rollback_targets(dir.path(), None, &["element".parse().unwrap()]).unwrap_err();
        assert_eq!(
            crate::error::render(&error),
            "error: no recorded deploy changed a service for `element`\n  hint: name the images whose release to roll back, or none for the whole last deploy"
        );
    }

    #[test]
    fn an_artifact_is_read_and_a_missing_record_explained() {
        let dir = tempfile::tempdir().unwrap();
        let error = rollback_targets(dir.path(), None, &[]).unwrap_err();
        assert!(
            error.to_string().starts_with("no deploy is recorded in"),
            "{error}"
        );
        assert_eq!(error.exit(), Exit::BadInput);
        let artifact = dir.path().join("result.json");
        let value = serde_json::json!({
            "images": [],
            "deploy": { "dry_run": false, "services": [service("fm", "fm:1", "fm:2", &["agent"])] },
            "exit_code": 4,
        });
        fs::write(&artifact, value.to_string()).unwrap();
        let targets = rollback_targets(dir.path(), Some(&artifact), &[]).unwrap();
        assert_eq!(targets[0].task_definition, "fm:1");
        fs::write(&artifact, "not json").unwrap();
        let error = rollback_targets(dir.path(), Some(&artifact), &[]).unwrap_err();
        assert!(
            error
                .to_string()
                .starts_with("cannot read the deploy record"),
            "{error}"
        );
    }
}
