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
