//! `push`: like `build --push`, but an image that would need a build is an error. Wiring: parse →
//! observe → plan → execute ([`crate::execute::push`]) → report.

use super::{boundary, parse_tags, registry, report, Failure};
use crate::cli::args::PushArgs;
use crate::cli::Session;
use crate::error::Exit;
use crate::execute::push::{push_only, Pushes};
use crate::observe::{observe, ObserveOptions};
use crate::plan::{self, PlanOptions};
use crate::report::summary::Summary;

/// Runs `push`.
pub async fn run(session: &Session, args: PushArgs) -> Result<Exit, Failure> {
    let extra = parse_tags(&args.push_options.tags)?;
    let options = ObserveOptions {
        engine_required: true,
        pull: false,
        save_records: false,
    };
    let observation = observe(session, &args.select.images, options).await?;
    let engine = observation.engine.clone().expect("engine required");
    let registry = registry::connect(&observation).await?;
    registry::ensure_repositories(session, &registry, &observation).await?;
    let remote = registry::lookup(&registry, &observation).await?;
    let plan = plan::plan(
        &boundary::observed(&observation, &remote),
        PlanOptions {
            force: false,
            push: true,
            registry_observed: true,
            engine_observed: true,
        },
    );
    if args.dry_run {
        for image in &plan.images {
            crate::outln!("{} {} {}", image.name, image.status.as_str(), image.reason);
        }
        return Ok(Exit::Success);
    }
    let planned = boundary::planned(&observation, &plan, &remote);
    let to = Pushes {
        engine: &engine,
        registry: &registry,
        reporter: &session.reporter,
        jobs: args.jobs,
    };
    let executed = push_only(&to, &planned, &extra).await;
    let summary = Summary {
        title: "fleet-images push",
        results: &executed.results,
        deploy: None,
        json_out: args.push_options.json_out.as_deref(),
    };
    Ok(report(session, summary, executed.exit))
}
