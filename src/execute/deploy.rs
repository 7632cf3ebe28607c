//! The deploy hand-off: a run deploys only when every step before it succeeded; otherwise it says
//! why not, on the console and in `--json-out`.

use std::future::Future;

use serde_json::json;

use crate::error::Exit;
use crate::report::{Event, Level, SharedReporter};

/// Runs `deploy` when `exit` is success and returns its exit code and report; otherwise warns
/// `not deploying: {why_not}` and returns `{"skipped": why_not}` as the report (`null` would read
/// as "no deploy asked").
pub async fn hand_off<F>(
    exit: Exit,
    reporter: &SharedReporter,
    why_not: &str,
    deploy: impl FnOnce() -> F,
) -> (Exit, Option<serde_json::Value>)
where
    F: Future<Output = (Exit, Option<serde_json::Value>)>,
{
    if exit == Exit::Success {
        let (deployed, report) = deploy().await;
        return (exit.worst(deployed), report);
    }
    reporter.event(Event::Note {
        subject: "",
        level: Level::Warn,
        text: &format!("not deploying: {why_not}"),
    });
    (exit, Some(json!({ "skipped": why_not })))
}
