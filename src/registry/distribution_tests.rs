use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

use base64::Engine as _;

use super::failure::error_message;
use super::*;
use crate::error::{render, Diagnostic, Exit};
use crate::registry::image_manifest::MANIFEST_MEDIA_TYPES;
use crate::registry::test_server::{Reply, TestServer};

const DIGEST: &str = "sha256:2222222222222222222222222222222222222222222222222222222222222222";

fn client(host: &str, credentials: Option<(&str, &str)>) -> Distribution {
    let source = if credentials.is_some() {
        CredentialSource::Environment
    } else {
        CredentialSource::Anonymous
    };
    Distribution::new(
        host,
        true,
        credentials.map(|(u, p)| Credentials {
            username: u.into(),
            password: Secret::new(p),
        }),
        source,
        RetryPolicy::new(true),
        true,
        false,
    )
}

#[test]
fn reads_registry_error_bodies() {
    let body = br#"{"errors":[{"code":"MANIFEST_UNKNOWN","message":"manifest unknown","detail":{}},{"code":"DENIED"}]}"#;
    assert_eq!(
        error_message(body),
        "MANIFEST_UNKNOWN: manifest unknown; DENIED"
    );
    assert_eq!(error_message(b"plain words\n"), "plain words");
    assert_eq!(error_message(b"<html>nginx</html>"), "");
}

#[tokio::test]
async fn follows_a_bearer_challenge_with_service_and_scope() {
    let host = Arc::new(std::sync::OnceLock::<String>::new());
    let realm_host = host.clone();
    let server = TestServer::start(move |req| {
        if req.target.starts_with("/token") {
            let basic = base64::engine::general_purpose::STANDARD.encode("bob:pa55word");
            return match req.headers.get("authorization") {
                Some(a) if *a == format!("Basic {basic}") => {
                    Reply::new(200).body(r#"{"access_token":"tok-123"}"#)
                }
                _ => Reply::new(401),
            };
        }
        if req.headers.get("authorization").map(String::as_str) == Some("Bearer tok-123") {
            return Reply::new(200).header("Docker-Content-Digest", DIGEST);
        }
        let realm = format!("http://{}/token", realm_host.get().unwrap());
        Reply::new(401).header(
            "WWW-Authenticate",
            &format!(
                "Bearer realm=\"{realm}\",service=\"fake\",scope=\"repository:team/app:pull\""
            ),
        )
    });
    host.set(server.host.clone()).unwrap();
    let registry = client(&server.host, Some(("bob", "pa55word")));
    let digest = registry.digest("team/app", "v1").await.unwrap();
    assert_eq!(digest.unwrap().to_string(), DIGEST);
    let seen = server.seen();
    let token = seen
        .iter()
        .find(|r| r.target.starts_with("/token"))
        .unwrap();
    assert_eq!(
        token.target,
        "/token?service=fake&scope=repository%3Ateam%2Fapp%3Apull"
    );
    // The token is cached: a second lookup goes straight through.
    let before = server.seen().len();
    registry.digest("team/app", "v2").await.unwrap();
    assert_eq!(server.seen().len(), before + 1);
}

#[tokio::test]
async fn retries_transient_answers_then_succeeds() {
    let count = Arc::new(AtomicUsize::new(0));
    let counter = count.clone();
    let server = TestServer::start(move |_| {
        if counter.fetch_add(1, Ordering::SeqCst) < 2 {
            Reply::new(503)
        } else {
            Reply::new(200).header("Docker-Content-Digest", DIGEST)
        }
    });
    let digest = client(&server.host, None)
        .digest("app", "v1")
        .await
        .unwrap();
    assert_eq!(digest.unwrap().to_string(), DIGEST);
    assert_eq!(count.load(Ordering::SeqCst), 3);
}

#[tokio::test]
async fn gives_up_after_bounded_attempts() {
    let server = TestServer::start(|_| {
        Reply::new(429).body(r#"{"errors":[{"code":"TOOMANYREQUESTS","message":"slow down"}]}"#)
    });
    let err = client(&server.host, None)
        .digest("app", "v1")
        .await
        .unwrap_err();
    assert_eq!(server.seen().len(), 4);
    assert_eq!(err.exit(), Exit::Unavailable);
    assert_eq!(
        err.to_string(),
        format!(
            "registry `{}/app:v1` failed the tag lookup with HTTP 429 (4 attempts)",
            server.host
        )
    );
}

#[tokio::test]
async fn never_retries_an_auth_failure_and_never_echoes_the_password() {
    let server = TestServer::start(|req| {
        let echoed = req
            .headers
            .get("authorization")
            .cloned()
            .unwrap_or_default();
        Reply::new(401)
            .header("WWW-Authenticate", "Basic realm=\"x\"")
            .body(format!(
                r#"{{"errors":[{{"code":"UNAUTHORIZED","message":"bad {echoed} for pa55word"}}]}}"#
            ))
    });
    let registry = client(&server.host, Some(("bob", "pa55word")));
    let err = registry.manifest("app", "v1").await.unwrap_err();
    assert_eq!(server.seen().len(), 1);
    assert!(err.is_auth_failure());
    let text = format!("{}\n{err:?}", render(&err));
    assert!(!text.contains("pa55word"), "{text}");
    assert!(
        !text.contains(&base64::engine::general_purpose::STANDARD.encode("bob:pa55word")),
        "{text}"
    );
    assert!(
        text.contains("UNAUTHORIZED: bad Basic <redacted> for <redacted>"),
        "{text}"
    );
}

#[tokio::test]
async fn a_refused_token_request_is_an_auth_failure() {
    let host = Arc::new(std::sync::OnceLock::<String>::new());
    let realm_host = host.clone();
    let server = TestServer::start(move |req| {
        if req.target.starts_with("/token") {
            return Reply::new(401).body("nope");
        }
        let realm = format!("http://{}/token", realm_host.get().unwrap());
        Reply::new(401).header("WWW-Authenticate", &format!("Bearer realm=\"{realm}\""))
    });
    host.set(server.host.clone()).unwrap();
    let err = client(&server.host, None).ping().await.unwrap_err();
    assert!(err.is_auth_failure(), "{err}");
    assert_eq!(err.exit(), Exit::Unavailable);
}

#[tokio::test]
async fn a_missing_manifest_is_none_and_a_wrong_body_is_caught() {
    let server = TestServer::start(|req| {
        if req.target.ends_with("/missing") {
            Reply::new(404).body(r#"{"errors":[{"code":"MANIFEST_UNKNOWN"}]}"#)
        } else {
            Reply::new(200)
                .header("Content-Type", MANIFEST_MEDIA_TYPES[3])
                .body("{}")
        }
    });
    let registry = client(&server.host, None);
    assert!(registry.manifest("app", "missing").await.unwrap().is_none());
    assert!(registry.digest("app", "missing").await.unwrap().is_none());
    let err = registry.manifest("app", DIGEST).await.unwrap_err();
    assert!(matches!(err, RegistryError::Protocol { .. }), "{err}");
    // No digest header on HEAD: the manifest is read and hashed.
    let digest = registry.digest("app", "v1").await.unwrap().unwrap();
    assert_eq!(digest, sha256_digest(b"{}"));
}

#[tokio::test]
async fn puts_the_exact_bytes_with_their_media_type() {
    let server = TestServer::start(|req| {
        if req.method == "PUT" {
            let digest = sha256_digest(&req.body).to_string();
            Reply::new(201).header("Docker-Content-Digest", &digest)
        } else {
            Reply::new(405)
        }
    });
    let bytes = Bytes::from_static(b"{\n   \"schemaVersion\": 2,\n   \"mediaType\": \"x\"\n}");
    let manifest = Manifest {
        digest: sha256_digest(&bytes),
        bytes: bytes.clone(),
        media_type: MANIFEST_MEDIA_TYPES[0].into(),
    };
    client(&server.host, None)
        .put_manifest("team/app", "latest", &manifest)
        .await
        .unwrap();
    let put = server
        .seen()
        .into_iter()
        .find(|r| r.method == "PUT")
        .unwrap();
    assert_eq!(put.target, "/v2/team/app/manifests/latest");
    assert_eq!(put.body, bytes.to_vec());
    assert_eq!(put.headers["content-type"], MANIFEST_MEDIA_TYPES[0]);
}

#[test]
fn every_status_maps_to_a_scrubbed_typed_error() {
    let registry = client("127.0.0.1:5001", Some(("AWS", "123456789012-auth-token")));
    let basic = base64::engine::general_purpose::STANDARD.encode("AWS:123456789012-auth-token");
    let body = format!(
        r#"{{"errors":[{{"code":"X","message":"123456789012-auth-token / Basic {basic}"}}]}}"#
    );
    type Check = fn(&RegistryError) -> bool;
    let cases: [(u16, Check); 7] = [
        (401, |e| matches!(e, RegistryError::AuthFailed { .. })),
        (403, |e| {
            matches!(e, RegistryError::AccessDenied { ecr: false, .. })
        }),
        (404, |e| {
            matches!(e, RegistryError::Rejected { status: 404, .. })
        }),
        (409, |e| {
            matches!(e, RegistryError::Rejected { status: 409, .. })
        }),
        (429, |e| {
            matches!(e, RegistryError::ServerError { status: 429, .. })
        }),
        (502, |e| {
            matches!(e, RegistryError::ServerError { status: 502, .. })
        }),
        (302, |e| matches!(e, RegistryError::Protocol { .. })),
    ];
    for (status, is_expected) in cases {
        let answer = Answer {
            status,
            headers: HeaderMap::new(),
            body: Bytes::from(body.clone()),
            attempts: 4,
        };
        let error = registry.failure(
            &answer,
            Place::repository("127.0.0.1:5001", "app", Some("v1")),
            Action::Lookup,
        );
        assert!(is_expected(&error), "{status}: {error:?}");
        let text = format!("{}\n{error:?}", render(&error));
        assert!(
            !text.contains("123456789012-auth-token") && !text.contains(&basic),
            "{text}"
        );
    }
}

#[tokio::test]
async fn an_unreachable_registry_is_retried_then_reported() {
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let host = format!("127.0.0.1:{port}");
    let started = std::time::Instant::now();
    let err = client(&host, Some(("bob", "pa55word")))
        .ping()
        .await
        .unwrap_err();
    assert!(started.elapsed() < std::time::Duration::from_secs(5));
    assert!(
        matches!(err, RegistryError::Unreachable { attempts: 4, .. }),
        "{err:?}"
    );
    assert_eq!(err.exit(), Exit::Unavailable);
    let text = render(&err);
    assert!(
        text.starts_with(&format!(
            "error: cannot reach registry `{host}` (4 attempts): "
        )),
        "{text}"
    );
    assert!(
        text.contains("hint: check that the registry runs"),
        "{text}"
    );
    assert!(!text.contains("pa55word"), "{text}");
}
