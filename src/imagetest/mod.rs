//! `test`: proving that each built image is what its `[images.<name>.test]` section says, then
//! cleaning up.
//!
//! For each image, in order (see `run.rs`): the **metadata** tests compare the image's
//! configuration (`structure.rs`); the **file** tests, and the `user` when the image itself is not
//! started, read a created, never started container through the archive API; the **services** are
//! started on a private network and waited for (`services.rs`); the **image itself** is started
//! when it has a probe, or has neither a probe nor commands — created with the probed port
//! published on 127.0.0.1 only and probed until `timeout` (`tcp = PORT`: a connection that a server
//! holds open; `http = {…}`: a GET answering `status`, with `contains` in the body; no probe: it
//! keeps running for 3 seconds), failing at once if it exits, and its configured user compared
//! (`user.rs`); then each **command** runs in a new container (`command.rs`). Every test is a
//! [`TestResult`] of the outcome; a failure of the image itself carries the container's state and
//! last log lines.
//!
//! Every container and the network are always removed — after success, failure, or cancellation
//! through [`TestOptions::cancel`] — unless [`TestOptions::keep`]. Several images are tested at
//! once, at most [`TestOptions::jobs`].

mod command;
mod image;
mod outcome;
mod probe;
mod run;
mod services;
mod structure;
mod target;
#[cfg(test)]
mod tests;
mod user;

use futures_util::StreamExt;

pub use outcome::{TestKind, TestOutcome, TestResult, TestStatus};
pub use target::{TestOptions, TestTarget};

use crate::docker::ContainerEngine;
use crate::report::Reporter;

/// Tests the images, at most `options.jobs` at once; returns one outcome per target, in the order
/// given. Progress goes to `reporter`: `Started`, a `Step` while waiting, the logs of a failed
/// container as `Line`s, and `Finished`.
pub async fn test_images<E: ContainerEngine>(
    engine: &E,
    targets: &[TestTarget<'_>],
    options: &TestOptions,
    reporter: &dyn Reporter,
) -> Vec<TestOutcome> {
    let client = match probe::http_client() {
        Ok(client) => client,
        Err(error) => {
            // Without a client no HTTP probe can run; say so for each image rather than panic.
            return targets
                .iter()
                .map(|t| TestOutcome {
                    image: t.image.clone(),
                    reference: t.reference.clone(),
                    status: TestStatus::Error,
                    probe: probe::describe(t.spec.probe.as_ref()),
                    message: format!("cannot set up the HTTP client: {error}"),
                    hint: None,
                    duration: std::time::Duration::ZERO,
                    host_port: None,
                    container: None,
                    logs: Vec::new(),
                    kept: None,
                    cleanup_error: None,
                    tests: Vec::new(),
                    kept_also: Vec::new(),
                })
                .collect();
        }
    };
    let client = &client;
    let mut outcomes: Vec<(usize, TestOutcome)> =
        futures_util::stream::iter(targets.iter().enumerate())
            .map(|(index, target)| async move {
                (
                    index,
                    run::run_one(engine, target, options, reporter, client).await,
                )
            })
            .buffer_unordered(options.jobs.max(1))
            .collect()
            .await;
    outcomes.sort_by_key(|(index, _)| *index);
    outcomes.into_iter().map(|(_, outcome)| outcome).collect()
}
