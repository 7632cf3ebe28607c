//! The signals that stop a run: Ctrl+C (SIGINT) and SIGTERM, which CI runners send to cancel a
//! job. Both are handled alike, so a cancelled CI run still prints its summary, writes
//! `--json-out` and exits 130 instead of dying with 143.

/// Resolves when the process receives SIGINT or SIGTERM. If a handler cannot be installed the
/// future never resolves for that signal, and the signal keeps its default action.
pub async fn interrupted() {
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut stream) => {
                stream.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    let interrupt = async {
        if tokio::signal::ctrl_c().await.is_err() {
            std::future::pending::<()>().await;
        }
    };
    tokio::select! {
        _ = terminate => {}
        _ = interrupt => {}
    }
}

/// SIGINT and SIGTERM as streams that can be awaited again and again: for a phase that must
/// finish what it started and put things back (moving tags), which cannot just be dropped.
pub struct Signals {
    interrupt: Option<tokio::signal::unix::Signal>,
    terminate: Option<tokio::signal::unix::Signal>,
}

impl Signals {
    /// Installs the handlers; a handler that cannot be installed never fires.
    pub fn install() -> Self {
        use tokio::signal::unix::{signal, SignalKind};
        Signals {
            interrupt: signal(SignalKind::interrupt()).ok(),
            terminate: signal(SignalKind::terminate()).ok(),
        }
    }

    /// Resolves at the next SIGINT or SIGTERM.
    pub async fn recv(&mut self) {
        async fn one(signal: &mut Option<tokio::signal::unix::Signal>) {
            match signal {
                Some(signal) => {
                    signal.recv().await;
                }
                None => std::future::pending::<()>().await,
            }
        }
        tokio::select! {
            _ = one(&mut self.interrupt) => {}
            _ = one(&mut self.terminate) => {}
        }
    }
}

static SETTLING: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);

/// Marks a phase that handles an interruption itself and ends in order (the ECS wait of a
/// deploy): while one is under way, a command's own handler lets the work finish instead of
/// dropping it.
pub struct Settling(());

impl Settling {
    /// Starts the phase; it ends when the guard is dropped.
    pub fn start() -> Settling {
        SETTLING.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        Settling(())
    }
}

impl Drop for Settling {
    fn drop(&mut self) {
        SETTLING.fetch_sub(1, std::sync::atomic::Ordering::SeqCst);
    }
}

/// Whether a [`Settling`] phase is under way.
pub fn settling() -> bool {
    SETTLING.load(std::sync::atomic::Ordering::SeqCst) > 0
}
