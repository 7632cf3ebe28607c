//! One attempt of a probe against the published port on 127.0.0.1: a TCP connection, or an HTTP
//! GET whose status and body are checked.
//!
//! The engine's userland proxy (`docker-proxy`) accepts a connection on the published port even
//! while nothing listens in the container, and closes it at once. So a TCP probe counts as ready
//! only when the connection stays open (or data arrives) for a moment, and an HTTP probe only on
//! an answer.

use std::time::Duration;

use tokio::io::AsyncReadExt;
use tokio::net::TcpStream;

use crate::manifest::{Probe, Readiness};
use crate::report::format_duration;

/// How long a TCP connection must stay open to count as a server's.
const TCP_HOLD: Duration = Duration::from_millis(300);
/// Most of a response body read to look for `contains`.
const BODY_CAP: usize = 1024 * 1024;

/// The result of one attempt.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Attempt {
    /// It answered as expected: what it answered.
    Ready(String),
    /// Not (yet): why.
    NotYet(String),
}

/// What a probe waits for, in words: `GET /health → 200 on port 8080`.
pub(crate) fn describe(probe: Option<&Probe>) -> String {
    match probe {
        None => "keeps running".to_string(),
        Some(Probe::Tcp { port }) => format!("TCP connection to port {port}"),
        Some(Probe::Http {
            port,
            path,
            status,
            contains,
        }) => {
            let mut text = format!("GET {path} → {status} on port {port}");
            if let Some(c) = contains {
                text.push_str(&format!(" containing `{c}`"));
            }
            text
        }
    }
}

/// A client for HTTP probes: no proxy (`HTTP_PROXY` must not catch 127.0.0.1), no redirects (a
/// redirect is an answer to check against `status`).
pub(crate) fn http_client() -> Result<reqwest::Client, reqwest::Error> {
    reqwest::Client::builder()
        .no_proxy()
        .redirect(reqwest::redirect::Policy::none())
        .build()
}

/// One attempt on `127.0.0.1:host_port`, within `limit`.
pub(crate) async fn attempt(
    probe: &Probe,
    host_port: u16,
    client: &reqwest::Client,
    limit: Duration,
) -> Attempt {
    match probe {
        Probe::Tcp { .. } => tcp(host_port, limit).await,
        Probe::Http {
            path,
            status,
            contains,
            ..
        } => {
            http(
                client,
                host_port,
                path,
                Some(*status),
                contains.as_deref(),
                limit,
            )
            .await
        }
    }
}

/// One readiness attempt of a service on `127.0.0.1:host_port`: a held TCP connection, or with
/// a path an HTTP GET answering 2xx.
pub(crate) async fn ready(
    readiness: &Readiness,
    host_port: u16,
    client: &reqwest::Client,
    limit: Duration,
) -> Attempt {
    match &readiness.path {
        None => tcp(host_port, limit).await,
        Some(path) => http(client, host_port, path, None, None, limit).await,
    }
}

/// What a readiness check waits for, in words.
pub(crate) fn describe_ready(readiness: &Readiness) -> String {
    match &readiness.path {
        None => format!("TCP connection to port {}", readiness.port),
        Some(path) => format!("GET {path} → 2xx on port {}", readiness.port),
    }
}

async fn tcp(host_port: u16, limit: Duration) -> Attempt {
    let mut stream =
        match tokio::time::timeout(limit, TcpStream::connect(("127.0.0.1", host_port))).await {
            Err(_) => return Attempt::NotYet("the connection timed out".into()),
            Ok(Err(e)) => return Attempt::NotYet(format!("cannot connect: {e}")),
            Ok(Ok(stream)) => stream,
        };
    let mut byte = [0u8; 1];
    match tokio::time::timeout(TCP_HOLD.min(limit), stream.read(&mut byte)).await {
        Err(_) | Ok(Ok(1..)) => Attempt::Ready("accepted a TCP connection".into()),
        Ok(Ok(0)) => Attempt::NotYet(
            "the connection was closed at once: nothing listens in the container yet".into(),
        ),
        Ok(Err(e)) => Attempt::NotYet(format!("the connection failed: {e}")),
    }
}

async fn http(
    client: &reqwest::Client,
    host_port: u16,
    path: &str,
    status: Option<u16>,
    contains: Option<&str>,
    limit: Duration,
) -> Attempt {
    let path = if path.starts_with('/') {
        path.to_string()
    } else {
        format!("/{path}")
    };
    let url = format!("http://127.0.0.1:{host_port}{path}");
    let mut response = match client.get(&url).timeout(limit).send().await {
        Ok(response) => response,
        Err(e) if e.is_timeout() => {
            return Attempt::NotYet(format!(
                "GET {path} got no answer within {}",
                format_duration(limit)
            ))
        }
        Err(e) => return Attempt::NotYet(request_failure(&path, &e)),
    };
    let code = response.status().as_u16();
    let mut body = Vec::new();
    while body.len() < BODY_CAP {
        match response.chunk().await {
            Ok(Some(chunk)) => body.extend_from_slice(&chunk),
            Ok(None) => break,
            Err(e) => {
                return Attempt::NotYet(format!(
                    "GET {path} answered {code} but the body broke off: {}",
                    innermost(&e)
                ))
            }
        }
    }
    let body = String::from_utf8_lossy(&body);
    let expected = match status {
        Some(status) if code != status => Some(status.to_string()),
        None if !(200..300).contains(&code) => Some("2xx".to_string()),
        _ => None,
    };
    if let Some(status) = expected {
        let excerpt: String = body.trim().chars().take(200).collect();
        let excerpt = if excerpt.is_empty() {
            String::new()
        } else {
            format!(": {excerpt}")
        };
        return Attempt::NotYet(format!("GET {path} answered {code}, not {status}{excerpt}"));
    }
    if let Some(text) = contains {
        if !body.contains(text) {
            return Attempt::NotYet(format!(
                "GET {path} answered {code}, but the body does not contain `{text}`"
            ));
        }
    }
    Attempt::Ready(format!("GET {path} answered {code}"))
}

/// The innermost cause of an error: reqwest's own message ("error sending request for url …")
/// says nothing that the probe's description does not.
fn innermost(error: &dyn std::error::Error) -> String {
    let mut last = error.to_string();
    let mut source = error.source();
    while let Some(cause) = source {
        last = cause.to_string();
        source = cause.source();
    }
    last
}

/// Why a request failed, in words: a refused, reset or at once closed connection (what the
/// engine's proxy does while nothing listens in the container) says so.
fn request_failure(path: &str, error: &reqwest::Error) -> String {
    let cause = innermost(error);
    let lower = cause.to_ascii_lowercase();
    if [
        "refused",
        "reset by peer",
        "closed before message completed",
    ]
    .iter()
    .any(|s| lower.contains(s))
    {
        format!(
            "GET {path} got no answer: nothing listens on the port in the container yet ({cause})"
        )
    } else {
        format!("GET {path} failed: {cause}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tokio::io::AsyncWriteExt;
    use tokio::net::TcpListener;

    /// A one-shot HTTP server answering every connection with `response`.
    async fn serve(response: &'static str) -> u16 {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        tokio::spawn(async move {
            while let Ok((mut stream, _)) = listener.accept().await {
                let mut buf = [0u8; 1024];
                let _ = stream.read(&mut buf).await;
                let _ = stream.write_all(response.as_bytes()).await;
            }
        });
        port
    }

    fn http_probe(status: u16, contains: Option<&str>) -> Probe {
        Probe::Http {
            port: 80,
            path: "/config.json".into(),
            status,
            contains: contains.map(str::to_string),
        }
    }

    #[tokio::test]
    async fn http_checks_status_and_body() {
        let port = serve("HTTP/1.1 200 OK\r\nContent-Length: 27\r\nConnection: close\r\n\r\n{\"brand\":\"Open Claw Fleet\"}").await;
        let client = http_client().unwrap();
        let limit = Duration::from_secs(2);
        assert!(matches!(
            attempt(&http_probe(200, Some("Open Claw")), port, &client, limit).await,
            Attempt::Ready(_)
        ));
        match attempt(&http_probe(200, Some("Element")), port, &client, limit).await {
            Attempt::NotYet(why) => assert!(why.contains("does not contain `Element`"), "{why}"),
            other => panic!("{other:?}"),
        }
        match attempt(&http_probe(204, None), port, &client, limit).await {
            Attempt::NotYet(why) => assert!(why.contains("answered 200, not 204"), "{why}"),
            other => panic!("{other:?}"),
        }
    }

    #[tokio::test]
    async fn redirects_are_answers_not_followed() {
        let port =
            serve("HTTP/1.1 302 Found\r\nLocation: /elsewhere\r\nContent-Length: 0\r\n\r\n").await;
        let client = http_client().unwrap();
        let found = attempt(
            &http_probe(302, None),
            port,
            &client,
            Duration::from_secs(2),
        )
        .await;
        assert!(matches!(found, Attempt::Ready(_)), "{found:?}");
    }

    #[tokio::test]
    async fn tcp_needs_a_listener_that_keeps_the_connection() {
        let client = http_client().unwrap();
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        // Accepts and holds, as a server does.
        let holder = tokio::spawn(async move {
            let (stream, _) = listener.accept().await.unwrap();
            tokio::time::sleep(Duration::from_secs(2)).await;
            drop(stream);
        });
        let probe = Probe::Tcp { port: 1 };
        assert!(matches!(
            attempt(&probe, port, &client, Duration::from_secs(1)).await,
            Attempt::Ready(_)
        ));
        holder.abort();

        // Accepts and closes at once, as docker-proxy does when nothing listens behind it.
        let closer = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let closer_port = closer.local_addr().unwrap().port();
        tokio::spawn(async move {
            while let Ok((stream, _)) = closer.accept().await {
                drop(stream);
            }
        });
        assert!(matches!(
            attempt(&probe, closer_port, &client, Duration::from_secs(1)).await,
            Attempt::NotYet(_)
        ));

        // Nothing there.
        let unused = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let unused_port = unused.local_addr().unwrap().port();
        drop(unused);
        assert!(matches!(
            attempt(&probe, unused_port, &client, Duration::from_secs(1)).await,
            Attempt::NotYet(_)
        ));
    }

    #[test]
    fn describes_probes() {
        assert_eq!(
            describe(Some(&http_probe(200, Some("x")))),
            "GET /config.json → 200 on port 80 containing `x`"
        );
        assert_eq!(
            describe(Some(&Probe::Tcp { port: 6167 })),
            "TCP connection to port 6167"
        );
        assert_eq!(describe(None), "keeps running");
    }
}
