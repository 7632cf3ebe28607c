//! The engine's API version read from `GET /_ping`, for an engine on a local socket.
//!
//! bollard learns the version from `GET /version`, which Docker Engine 20.10 answers only after
//! asking containerd, runc and docker-init for their versions: 10–20 ms here, most of a no-op
//! run's time. `/_ping` answers in under a millisecond and carries the same `Api-Version` header
//! the Docker CLI negotiates from (<https://docs.docker.com/reference/api/engine/#api-version-matrix>).
//! Any surprise (no header, another status, a closed socket) returns `None`, and the caller takes
//! bollard's own path, whose errors the user already knows.

use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};

/// At most this much of the answer is read: `/_ping`'s headers are a few hundred bytes.
const MAX_ANSWER: usize = 8 * 1024;

/// The API version (`1.41`) the engine at unix socket `path` names in its `/_ping` answer;
/// `Err` when it did not answer within `deadline` (an engine that hangs is not asked twice).
pub(super) async fn api_version(
    path: &str,
    deadline: Duration,
) -> Result<Option<(usize, usize)>, tokio::time::error::Elapsed> {
    tokio::time::timeout(deadline, ask(path)).await
}

async fn ask(path: &str) -> Option<(usize, usize)> {
    let mut stream = tokio::net::UnixStream::connect(path).await.ok()?;
    stream
        .write_all(b"GET /_ping HTTP/1.1\r\nHost: docker\r\nConnection: close\r\n\r\n")
        .await
        .ok()?;
    let mut answer = Vec::with_capacity(1024);
    let mut chunk = [0u8; 1024];
    while !answer.windows(4).any(|w| w == b"\r\n\r\n") && answer.len() < MAX_ANSWER {
        let read = stream.read(&mut chunk).await.ok()?;
        if read == 0 {
            break;
        }
        answer.extend_from_slice(&chunk[..read]);
    }
    version_in(&String::from_utf8_lossy(&answer))
}

/// The `Api-Version` of a `200` answer's headers.
fn version_in(answer: &str) -> Option<(usize, usize)> {
    let mut lines = answer.split("\r\n");
    let status = lines.next()?;
    if status.split_whitespace().nth(1) != Some("200") {
        return None;
    }
    let value = lines.take_while(|l| !l.is_empty()).find_map(|line| {
        let (name, value) = line.split_once(':')?;
        name.trim()
            .eq_ignore_ascii_case("api-version")
            .then(|| value.trim())
    })?;
    let (major, minor) = value.split_once('.')?;
    Some((major.parse().ok()?, minor.parse().ok()?))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_the_version_of_a_200_answer_only() {
        let ok = "HTTP/1.1 200 OK\r\nApi-Version: 1.41\r\nDocker-Experimental: false\r\n\r\nOK";
        assert_eq!(version_in(ok), Some((1, 41)));
        let lower = "HTTP/1.1 200 OK\r\napi-version:1.47\r\n\r\n";
        assert_eq!(version_in(lower), Some((1, 47)));
        assert_eq!(
            version_in("HTTP/1.1 500 Internal Server Error\r\nApi-Version: 1.41\r\n\r\n"),
            None
        );
        assert_eq!(
            version_in("HTTP/1.1 200 OK\r\nServer: x\r\n\r\nApi-Version: 1.41"),
            None
        );
        assert_eq!(
            version_in("HTTP/1.1 200 OK\r\nApi-Version: new\r\n\r\n"),
            None
        );
        assert_eq!(version_in(""), None);
    }
}
