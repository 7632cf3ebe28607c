//! Services started beside the image under test: a private bridge network per image test (so
//! the engine's DNS resolves each service by its `name`), one container per service joined to it
//! under that alias, and a wait until each is ready — its `ready` port accepting a held TCP
//! connection or answering HTTP 2xx on `path`, probed through a port published on 127.0.0.1 like
//! the image's own probe; without `ready`, running is enough.
//!
//! [`Services`] owns the network and the containers. Its owner awaits [`Services::remove`] after
//! removing the containers it attached itself; if it is dropped instead (Ctrl+C), the container
//! guards remove the service containers first and the network guard then the network: fields drop
//! in declaration order.

use std::time::{Duration, Instant};

use super::outcome::engine_words;
use super::outcome::{TestKind, TestResult, TestStatus};
use super::probe::{self, Attempt};
use crate::docker::{ContainerEngine, ContainerRequest, EngineError, TestContainer, TestNetwork};
use crate::manifest::ServiceSpec;
use crate::report::format_duration;

/// Pause between readiness attempts.
const INTERVAL: Duration = Duration::from_millis(250);
/// Longest single readiness attempt.
const ATTEMPT: Duration = Duration::from_secs(2);
/// Log lines shown of a service that did not become ready.
const LOG_LINES: usize = 20;

/// The network and the service containers of one image test.
pub(crate) struct Services<E: ContainerEngine> {
    // Field order is drop order: the containers are removed before the network they are on.
    containers: Vec<E::Container>,
    network: E::Network,
}

impl<E: ContainerEngine> Services<E> {
    /// The network's name, for the image under test and the command tests to join.
    pub(crate) fn network(&self) -> &str {
        self.network.name()
    }

    /// Removes the service containers, then the network. Returns the first failure.
    pub(crate) async fn remove(self) -> Result<(), EngineError> {
        let mut first = None;
        for container in self.containers {
            if let Err(error) = container.remove().await {
                first.get_or_insert(error);
            }
        }
        if let Err(error) = self.network.remove().await {
            first.get_or_insert(error);
        }
        first.map_or(Ok(()), Err)
    }

    /// Leaves everything in place (`--keep`); returns what was kept, in words.
    pub(crate) fn keep(self) -> Vec<String> {
        let mut kept: Vec<String> = self
            .containers
            .into_iter()
            .map(|c| {
                let name = c.name().to_string();
                c.keep();
                format!("service container {name}")
            })
            .collect();
        kept.push(format!("network {}", self.network.keep()));
        kept
    }
}

/// Creates the network and starts every service (each `(spec, local image)`), then waits until
/// each is ready, within `timeout` from the first start. Returns the services (to remove later) and
/// one result per service; the caller runs nothing else when a result is not `passed`.
pub(crate) async fn start<E: ContainerEngine>(
    engine: &E,
    image: &str,
    services: &[(&ServiceSpec, &str)],
    timeout: Duration,
    client: &reqwest::Client,
) -> Result<(Services<E>, Vec<TestResult>), EngineError> {
    let network = engine.create_network("test", image).await?;
    let mut running = Services {
        containers: Vec::new(),
        network,
    };
    let mut results = Vec::new();
    for (spec, reference) in services {
        let request = ContainerRequest {
            image: reference.to_string(),
            name: format!("{image}-{}", spec.name),
            purpose: "service",
            publish: spec.ready.as_ref().map(|r| r.port),
            env: spec.env.iter().map(|(k, v)| format!("{k}={v}")).collect(),
            network: Some(running.network().to_string()),
            aliases: vec![spec.name.clone()],
            ..Default::default()
        };
        let container = match engine.create_container(&request).await {
            Ok(container) => container,
            Err(error) => {
                results.push(TestResult::failed(
                    TestKind::Service,
                    &spec.name,
                    format!(
                        "cannot create a container from `{reference}`: {}",
                        engine_words(&error)
                    ),
                ));
                return Ok((running, results));
            }
        };
        let start = container.start().await;
        running.containers.push(container);
        if let Err(error) = start {
            results.push(TestResult::failed(
                TestKind::Service,
                &spec.name,
                format!("it did not start: {}", engine_words(&error)),
            ));
            return Ok((running, results));
        }
    }
    let started = Instant::now();
    let deadline = started + timeout;
    for ((spec, _), container) in services.iter().zip(&running.containers) {
        let result = wait_ready(spec, container, client, started, deadline).await?;
        let ready = result.status == TestStatus::Passed;
        results.push(result);
        if !ready {
            break;
        }
    }
    Ok((running, results))
}

async fn wait_ready(
    spec: &ServiceSpec,
    container: &impl TestContainer,
    client: &reqwest::Client,
    started: Instant,
    deadline: Instant,
) -> Result<TestResult, EngineError> {
    let host_port = match &spec.ready {
        Some(ready) => container.host_port(ready.port).await?,
        None => None,
    };
    loop {
        let status = container.status().await?;
        if !status.running {
            let code = status
                .exit_code
                .map(|c| format!(" with code {c}"))
                .unwrap_or_default();
            return Ok(failed_with_logs(
                spec,
                container,
                format!("it exited{code} before it was ready"),
            )
            .await);
        }
        let why = match (&spec.ready, host_port) {
            (None, _) => return Ok(TestResult::passed(TestKind::Service, &spec.name, "running")),
            (Some(ready), None) => {
                return Ok(TestResult::failed(
                    TestKind::Service,
                    &spec.name,
                    format!("port {} was not published", ready.port),
                ))
            }
            (Some(ready), Some(port)) => {
                let remaining = deadline.saturating_duration_since(Instant::now());
                let limit = ATTEMPT.min(remaining).max(Duration::from_millis(100));
                match probe::ready(ready, port, client, limit).await {
                    Attempt::Ready(what) => {
                        return Ok(TestResult::passed(
                            TestKind::Service,
                            &spec.name,
                            format!("{what} after {:.1}s", started.elapsed().as_secs_f64()),
                        ))
                    }
                    Attempt::NotYet(why) => why,
                }
            }
        };
        if Instant::now() >= deadline {
            let wanted = spec
                .ready
                .as_ref()
                .map(probe::describe_ready)
                .unwrap_or_default();
            return Ok(failed_with_logs(
                spec,
                container,
                format!(
                    "not ready within {}: expected {wanted}, found: {why}",
                    format_duration(deadline - started)
                ),
            )
            .await);
        }
        tokio::time::sleep(INTERVAL.min(deadline.saturating_duration_since(Instant::now()))).await;
    }
}

async fn failed_with_logs(
    spec: &ServiceSpec,
    container: &impl TestContainer,
    message: String,
) -> TestResult {
    TestResult {
        details: container
            .logs(LOG_LINES)
            .await
            .unwrap_or_default()
            .into_iter()
            .map(|l| format!("log: {l}"))
            .collect(),
        ..TestResult::failed(TestKind::Service, &spec.name, message)
    }
}
