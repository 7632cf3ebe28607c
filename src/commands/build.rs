//! `build`: build what the engine (or, with `--push`, the registry) does not have, then push,
//! write moving tags and deploy as asked. Wiring: parse → observe → plan → execute → report.

use std::collections::HashMap;

use super::{boundary, deploy, parse_tags, registry, report, unless_interrupted, Failure};
use crate::cli::args::BuildArgs;
use crate::cli::Session;
use crate::docker::Engine;
use crate::error::Exit;
use crate::execute::{self, moving_tags, Executed, Planned, Run, RunOptions};
use crate::names::{Digest, ImageName};
use crate::observe::{observe, save_records, Observation, ObserveOptions};
use crate::plan::{self, Plan, PlanOptions, Status};
use crate::registry::Registry;
use crate::report::summary::{self, Summary};
use crate::state::KnownImages;

/// Runs `build`.
pub async fn run(session: &Session, args: BuildArgs) -> Result<Exit, Failure> {
    let extra_tags = parse_tags(&args.push_options.tags)?;
    // Checked before any work, so a typo does not surface after the builds.
    deploy::parse_timeout(&args.deploy_options.timeout)?;
    let options = ObserveOptions {
        engine_required: true,
        pull: args.pull,
        save_records: false,
    };
    let observation = observe(session, &args.select.images, options).await?;
    let registry = match args.push {
        true => Some(registry::connect(&observation).await?),
        false => None,
    };
    let remote = match &registry {
        Some(registry) => registry::lookup(registry, &observation).await?,
        None => HashMap::new(),
    };
    let plan = plan_of(&args, &observation, &remote, registry.is_some());
    if args.dry_run {
        print_plan(&plan);
        return Ok(Exit::Success);
    }
    if let Some(registry) = &registry {
        registry::ensure_repositories(session, registry, &observation).await?;
    }
    let engine = observation.engine.as_ref().expect("engine required");
    let planned = boundary::planned(&observation, &plan, &remote);
    let asked = args.builder.or(observation.manifest.builder);
    let builder = execute::builder::choose(engine, &session.reporter, asked, &planned)
        .await
        .map_err(|error| Box::new(error) as Failure)?;
    // Only a build reads the revision labels: a run that builds nothing starts no `git`.
    let labels = if planned.iter().any(|p| p.decision.status == Status::Build) {
        execute::labels::revision_labels(&observation.manifest.dir).await
    } else {
        Default::default()
    };
    let options = RunOptions {
        jobs: args.jobs,
        fail_fast: args.fail_fast,
        no_cache: args.no_cache,
        pull: args.pull,
        no_release: args.no_release,
        extra_tags,
        builder,
        labels,
        state_dir: session.state_dir.clone(),
    };
    let edges = Run {
        engine,
        registry: registry.as_ref(),
        reporter: &session.reporter,
        options: &options,
    };
    let work = carry_out(session, &args, &observation, &edges, &planned);
    // Ctrl+C or SIGTERM drops the work, except while moving tags are written: that phase stops by
    // itself and puts back what it moved, then the run ends with its summary and exit 130.
    match unless_interrupted(work, moving_tags::being_written).await {
        Some((executed, deploy)) => {
            Ok(finish(session, &args, &observation, executed, deploy).await)
        }
        None => Ok(summary::interrupted(
            session.reporter.as_ref(),
            "interrupted: running builds were cancelled; unfinished images were not tagged",
            args.push_options.json_out.as_deref(),
        )),
    }
}

/// The plan: what to build, push or leave.
fn plan_of(
    args: &BuildArgs,
    observation: &Observation,
    remote: &HashMap<ImageName, Digest>,
    registry_observed: bool,
) -> Plan {
    plan::plan(
        &boundary::observed(observation, remote),
        PlanOptions {
            force: args.force,
            push: args.push,
            registry_observed,
            engine_observed: true,
        },
    )
}

/// `--dry-run`: one line per image.
fn print_plan(plan: &Plan) {
    for image in &plan.images {
        let key = image.key.map(|k| k.short()).unwrap_or_else(|| "-".into());
        crate::outln!(
            "{} {} {key} {}",
            image.name,
            image.status.as_str(),
            image.reason
        );
    }
}

/// Executes the plan, then hands the result to the deploy when `--deploy` asks for it.
async fn carry_out(
    session: &Session,
    args: &BuildArgs,
    observation: &Observation,
    edges: &Run<'_, Engine, Registry>,
    planned: &[Planned],
) -> (Executed, Option<serde_json::Value>) {
    let mut executed = execute::run::run(edges, planned).await;
    let Some(registry) = edges.registry.filter(|_| args.deploy) else {
        return (executed, None);
    };
    let results = &executed.results;
    let (exit, deploy) = execute::deploy::hand_off(
        executed.exit,
        &session.reporter,
        "not every image was built and pushed",
        || {
            deploy::deploy_results(
                session,
                registry,
                observation,
                results,
                &args.deploy_options,
            )
        },
    )
    .await;
    executed.exit = exit;
    (executed, deploy)
}

/// Saves what a successful run learnt (input records, known images) off the async workers, and
/// reports the run.
async fn finish(
    session: &Session,
    args: &BuildArgs,
    observation: &Observation,
    executed: Executed,
    deploy: Option<serde_json::Value>,
) -> Exit {
    let Executed { results, exit } = executed;
    if exit != Exit::BadInput && results.iter().all(|r| r.outcome.ok()) {
        save_records(session, observation).await;
    }
    let built: Vec<_> = results
        .iter()
        .filter(|r| r.outcome.ok())
        .filter_map(|r| Some((r.key?, r.image_id.clone()?)))
        .collect();
    let state_dir = session.state_dir.clone();
    // Known images only save work on a later run: a failed write is not an error.
    let _ = tokio::task::spawn_blocking(move || {
        KnownImages::load(&state_dir).remember(&state_dir, built)
    })
    .await;
    let summary = Summary {
        title: "fleet-images build",
        results: &results,
        deploy,
        json_out: args.push_options.json_out.as_deref(),
    };
    report(session, summary, exit)
}
