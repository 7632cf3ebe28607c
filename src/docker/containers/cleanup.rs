//! Removing what the tool created in the engine — containers and their networks — and the
//! cleaner that a dropped guard hands its leftover to, so that `Drop` never blocks an async worker.
//!
//! Owners await `Container::remove` and `Network::remove`. A guard dropped instead (its future
//! dropped on Ctrl+C or by a timeout, a task that panicked) hands its name to the cleaner: one
//! thread of the process with its own runtime and connection, which removes what it is given in
//! the order given (so a test's containers go before the network they were on). Its own runtime
//! matters: the runtime that dropped the guard may be shutting down, and then a task spawned on it
//! never runs. The hand-off returns at once; [`settle_removals`] awaits what was handed off (`test`
//! does before it returns), and [`finish_removals`] blocks on it at the end of `main`, so that the
//! process does not exit with a removal in flight.

use std::sync::mpsc::{self, Receiver, Sender};
use std::sync::{Condvar, Mutex, MutexGuard, OnceLock, PoisonError};
use std::time::Duration;

use bollard::query_parameters::RemoveContainerOptions;

use crate::docker::error::is_not_found;

/// How long one removal of a leftover may take before the cleaner gives up on it.
const REMOVAL_DEADLINE: Duration = Duration::from_secs(30);
/// How long waiting for the handed-off removals may take in all.
const SETTLE_DEADLINE: Duration = Duration::from_secs(60);

/// Something a dropped guard left in the engine.
#[derive(Debug)]
pub(crate) enum Leftover {
    /// A container, by id (or by name when the create call never answered).
    Container(String),
    /// A network, by name.
    Network(String),
}

/// Force-removes a container and its anonymous volumes; a container already gone is fine.
pub(crate) async fn remove_container(
    docker: &bollard::Docker,
    name: &str,
) -> Result<(), bollard::errors::Error> {
    let options = RemoveContainerOptions {
        force: true,
        v: true,
        link: false,
    };
    match docker.remove_container(name, Some(options)).await {
        Ok(()) => Ok(()),
        Err(e) if is_not_found(&e) => Ok(()),
        // "removal of container … is already in progress"
        Err(bollard::errors::Error::DockerResponseServerError {
            status_code: 409, ..
        }) => Ok(()),
        Err(e) => Err(e),
    }
}

/// Removes a network; a network already gone is fine.
pub(crate) async fn remove_network(
    docker: &bollard::Docker,
    name: &str,
) -> Result<(), bollard::errors::Error> {
    match docker.remove_network(name).await {
        Err(e) if is_not_found(&e) => Ok(()),
        other => other,
    }
}

/// How many handed-off removals have not finished yet.
static PENDING: Mutex<usize> = Mutex::new(0);
/// Signalled each time a handed-off removal finishes.
static FINISHED: Condvar = Condvar::new();
/// The way to the cleaner thread, started by the first hand-off; `None` when it cannot start.
static CLEANER: OnceLock<Option<Mutex<Sender<Leftover>>>> = OnceLock::new();

fn pending() -> MutexGuard<'static, usize> {
    PENDING.lock().unwrap_or_else(PoisonError::into_inner)
}

/// Hands a leftover to the cleaner; returns at once. Called from the guards' `Drop`.
pub(crate) fn hand_off(leftover: Leftover) {
    *pending() += 1;
    let cleaner = CLEANER.get_or_init(|| {
        let (sender, queue) = mpsc::channel();
        std::thread::Builder::new()
            .name("fleet-images-cleanup".into())
            .spawn(move || clean(queue))
            .ok()
            .map(|_| Mutex::new(sender))
    });
    let refused = match cleaner {
        Some(sender) => sender
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .send(leftover)
            .err()
            .map(|error| error.0),
        None => Some(leftover),
    };
    if let Some(leftover) = refused {
        // No cleaner thread (the system would not start one): remove it on a thread of its own
        // and wait, as a last resort; a stray container is worse than a blocked worker.
        let _ = std::thread::spawn(move || clean_one(None, leftover)).join();
        done();
    }
}

fn done() {
    let mut count = pending();
    *count = count.saturating_sub(1);
    FINISHED.notify_all();
}

/// The cleaner thread: removes each leftover in turn, with its own runtime and connection.
fn clean(queue: Receiver<Leftover>) {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .ok();
    let mut docker = None;
    for leftover in queue {
        if let Some(runtime) = &runtime {
            docker = runtime.block_on(remove_leftover(docker, leftover));
        }
        done();
    }
}

fn clean_one(docker: Option<bollard::Docker>, leftover: Leftover) {
    if let Ok(runtime) = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        runtime.block_on(remove_leftover(docker, leftover));
    }
}

/// Removes one leftover within [`REMOVAL_DEADLINE`]; errors are dropped (there is no one left to
/// tell, and `Engine::remove_stray_containers` finds what remains by its label). Returns the
/// connection for the next one.
async fn remove_leftover(
    docker: Option<bollard::Docker>,
    leftover: Leftover,
) -> Option<bollard::Docker> {
    let docker = match docker {
        Some(docker) => docker,
        None => bollard::Docker::connect_with_defaults().ok()?,
    };
    let removal = async {
        match &leftover {
            Leftover::Container(name) => remove_container(&docker, name).await,
            Leftover::Network(name) => remove_network(&docker, name).await,
        }
    };
    let _ = tokio::time::timeout(REMOVAL_DEADLINE, removal).await;
    Some(docker)
}

/// Waits, without blocking an async worker, until every removal handed off so far has finished
/// (or [`SETTLE_DEADLINE`] has passed).
pub async fn settle_removals() {
    if *pending() == 0 {
        return;
    }
    let _ = tokio::task::spawn_blocking(finish_removals).await;
}

/// Blocks until every removal handed off so far has finished (or [`SETTLE_DEADLINE`] has passed).
/// For the end of `main`, outside the runtime.
pub fn finish_removals() {
    let count = pending();
    let _ = FINISHED
        .wait_timeout_while(count, SETTLE_DEADLINE, |count| *count > 0)
        .unwrap_or_else(PoisonError::into_inner);
}
