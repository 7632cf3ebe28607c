//! `plan`: what would be built and why, without side effects.

use serde_json::json;

use super::{boundary, registry, Failure};
use crate::cli::args::PlanArgs;
use crate::cli::Session;
use crate::error::Exit;
use crate::observe::{observe, save_records, Observation, ObserveOptions};
use crate::plan::{self, explain, Plan, PlanOptions};

/// Runs `plan`.
pub async fn run(session: &Session, args: PlanArgs) -> Result<Exit, Failure> {
    let observation = observe(
        session,
        &args.select.images,
        ObserveOptions {
            engine_required: false,
            pull: false,
            save_records: !args.explain,
        },
    )
    .await?;
    let remote = if args.push {
        registry::observe_registry(&observation).await?
    } else {
        Default::default()
    };
    let plan = plan::plan(
        &boundary::observed(&observation, &remote),
        PlanOptions {
            force: false,
            push: args.push,
            registry_observed: args.push,
            engine_observed: observation.engine.is_some(),
        },
    );
    if args.json {
        crate::outln!(
            "{}",
            serde_json::to_string_pretty(&to_json(&observation, &plan, args.explain, session))
                .expect("json")
        );
    } else {
        crate::out!("{}", to_text(&observation, &plan, args.explain, session));
    }
    if args.explain {
        save_records(session, &observation).await;
    }
    // Everything is printed first (the JSON too), then a blocked image fails the run: a CI gate
    // on `plan` must not pass a manifest that cannot build.
    Ok(observation.blocked_exit(&plan))
}

fn explain_lines(
    observation: &Observation,
    name: &crate::names::ImageName,
    session: &Session,
) -> Vec<String> {
    let Some(prepared) = observation.get(name) else {
        return Vec::new();
    };
    let Some(current) = prepared.record.as_ref() else {
        // No new record: the key is the one recorded last time (or there is no key).
        return match prepared.key {
            Some(_) => vec!["inputs unchanged since the last recorded run".to_string()],
            None => Vec::new(),
        };
    };
    match crate::state::record::load(&session.state_dir, name) {
        None => vec!["no earlier plan or build recorded on this machine".to_string()],
        Some(previous) if previous.key == current.key => {
            vec!["inputs unchanged since the last recorded run".to_string()]
        }
        Some(previous) => explain::compare(&previous, current),
    }
}

fn to_json(
    observation: &Observation,
    plan: &Plan,
    explain: bool,
    session: &Session,
) -> serde_json::Value {
    let images: Vec<_> = plan
        .images
        .iter()
        .map(|decision| {
            let prepared = observation.get(&decision.name).expect("planned images were observed");
            let (files, bytes) = match &prepared.inputs {
                Ok(inputs) => (inputs.files(), inputs.bytes()),
                Err(_) => (0, 0),
            };
            let mut value = json!({
                "name": decision.name,
                "key": decision.key.map(|k| k.hex()),
                "status": decision.status,
                "reason": decision.reason,
                "depends_on": prepared.spec.depends_on,
                "repository": prepared.spec.repository,
                "platform": prepared.spec.platform,
                "inputs": { "files": files, "bytes": bytes },
                "bases": prepared.bases.iter().map(|b| json!({"reference": b.reference.to_string(), "identity": b.identity_text()})).collect::<Vec<_>>(),
            });
            if let Ok(inputs) = &prepared.inputs {
                value["whole_context"] = json!(inputs.whole_context);
            }
            if explain {
                value["changes"] = json!(explain_lines(observation, &decision.name, session));
            }
            value
        })
        .collect();
    // The CI matrix: each wave's images can build at once, after the waves before it.
    let waves = plan::waves::waves(
        &plan
            .images
            .iter()
            .map(|decision| {
                let depends_on = observation
                    .get(&decision.name)
                    .map(|p| p.spec.depends_on.clone())
                    .unwrap_or_default();
                (decision.name.clone(), depends_on)
            })
            .collect::<Vec<_>>(),
    );
    json!({ "images": images, "waves": waves })
}

fn to_text(observation: &Observation, plan: &Plan, explain: bool, session: &Session) -> String {
    let width = plan
        .images
        .iter()
        .map(|i| i.name.as_str().len())
        .max()
        .unwrap_or(5)
        .max(5);
    let mut out = format!("{:width$}  {:7}  {:12}  REASON\n", "IMAGE", "STATUS", "KEY");
    for decision in &plan.images {
        let key = decision
            .key
            .map(|k| k.short())
            .unwrap_or_else(|| "-".into());
        let mut reason_lines = decision.reason.lines();
        let first = reason_lines.next().unwrap_or("");
        let first = first.strip_prefix("error: ").unwrap_or(first);
        out.push_str(&format!(
            "{:width$}  {:7}  {:12}  {first}\n",
            decision.name,
            decision.status.as_str(),
            key
        ));
        for line in reason_lines {
            out.push_str(&format!(
                "{:width$}  {:7}  {:12}  {}\n",
                "",
                "",
                "",
                line.trim_start()
            ));
        }
        if let Some(prepared) = observation.get(&decision.name) {
            if let Ok(inputs) = &prepared.inputs {
                for base in prepared.bases.iter().filter(|b| b.is_unresolved()) {
                    out.push_str(&format!(
                        "{:width$}  {:7}  {:12}  base {} unresolved: neither local nor in a registry the engine can reach\n",
                        "", "", "", base.reference
                    ));
                }
                if explain {
                    let what = match &inputs.whole_context {
                        Some(reason) => format!(
                            "inputs: {} files, {} bytes (whole context: {reason})",
                            inputs.files(),
                            inputs.bytes()
                        ),
                        None => {
                            format!("inputs: {} files, {} bytes", inputs.files(), inputs.bytes())
                        }
                    };
                    out.push_str(&format!("{:width$}  {:7}  {:12}  {what}\n", "", "", ""));
                }
            }
        }
        if explain {
            for line in explain_lines(observation, &decision.name, session) {
                out.push_str(&format!("{:width$}  {:7}  {:12}    {line}\n", "", "", ""));
            }
        }
    }
    out
}
