//! The registry subsystem against the real test services: the open registry, the htpasswd
//! registry standing in for ECR's data plane, and moto for the ECR API. Through the library API
//! (`fleet_images::registry`), with explicit `ConnectOptions` instead of process env changes.

use std::path::PathBuf;
use std::time::{Duration, Instant};

use fleet_images::docker::Engine;
use fleet_images::error::{render, Diagnostic, Exit, Location};
use fleet_images::manifest::{RegistryConfig, RegistryKind, TagMutability};
use fleet_images::names::{Digest, Key, RepositoryName, Tag};
use fleet_images::registry::{
    ChangeAction, ConnectOptions, CredentialSource, EcrFailure, Registry, RegistryError, Retagged,
    Secret,
};
use sha2::Digest as _;

use crate::support::{service, unique};

fn config(kind: RegistryKind, tag_mutability: TagMutability) -> RegistryConfig {
    RegistryConfig {
        kind,
        repository_prefix: String::new(),
        tag_mutability,
        scan_on_push: true,
        keep_images: 7,
        location: Location {
            file: "fleet.toml".into(),
            line: Some(1),
            key: Some("registry".into()),
        },
    }
}

fn plain(url: &str) -> RegistryConfig {
    config(
        RegistryKind::Registry { url: url.into() },
        TagMutability::Mutable,
    )
}

fn ecr(tag_mutability: TagMutability) -> RegistryConfig {
    config(
        RegistryKind::Ecr {
            region: Some("us-east-1".into()),
            account: None,
            endpoint: Some(service("FLEET_TEST_AUTH_REGISTRY")),
        },
        tag_mutability,
    )
}

/// Fast retries, no Docker config, no env credentials; the ECR API at moto.
fn options() -> ConnectOptions {
    ConnectOptions {
        docker_config: Some(PathBuf::from("/nonexistent/fleet-images/config.json")),
        fast_retries: true,
        aws_endpoint_url: Some(service("FLEET_TEST_AWS_ENDPOINT")),
        ..ConnectOptions::default()
    }
}

fn with_password(password: &str) -> ConnectOptions {
    ConnectOptions {
        username: Some(service("FLEET_TEST_AUTH_USER")),
        password: Some(Secret::new(password)),
        ..options()
    }
}

fn repo(name: &str) -> RepositoryName {
    name.parse().unwrap()
}

fn tag(name: &str) -> Tag {
    name.parse().unwrap()
}

fn key_tag() -> Tag {
    let mut bytes = [0u8; 32];
    bytes.copy_from_slice(&sha2::Sha256::digest(unique("key").as_bytes()));
    Key::from_bytes(bytes).tag()
}

/// The base image's manifest in the open registry: exact bytes and digest.
async fn base_manifest() -> (String, Digest) {
    let url = format!(
        "http://{}/v2/fleet-test/busybox/manifests/1",
        service("FLEET_TEST_REGISTRY")
    );
    let response = reqwest::Client::new()
        .get(url)
        .header(
            "Accept",
            "application/vnd.docker.distribution.manifest.v2+json",
        )
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    let text = response.text().await.unwrap();
    let digest = format!(
        "sha256:{}",
        hex::encode(sha2::Sha256::digest(text.as_bytes()))
    );
    (text, digest.parse().unwrap())
}

/// An ECR client of the test's own, to check what the tool did.
async fn ecr_client() -> aws_sdk_ecr::Client {
    let sdk = aws_config::defaults(aws_config::BehaviorVersion::latest())
        .region(aws_config::Region::new("us-east-1"))
        .endpoint_url(service("FLEET_TEST_AWS_ENDPOINT"))
        .load()
        .await;
    aws_sdk_ecr::Client::new(&sdk)
}

async fn moto_put_image(
    client: &aws_sdk_ecr::Client,
    repository: &str,
    manifest: &str,
    digest: &Digest,
    tag: &str,
) {
    client
        .put_image()
        .repository_name(repository)
        .image_manifest(manifest)
        .image_manifest_media_type("application/vnd.docker.distribution.manifest.v2+json")
        .image_digest(digest.to_string())
        .image_tag(tag)
        .send()
        .await
        .unwrap();
}

async fn moto_tag_digest(
    client: &aws_sdk_ecr::Client,
    repository: &str,
    tag: &str,
) -> Option<String> {
    let output = client
        .batch_get_image()
        .repository_name(repository)
        .image_ids(
            aws_sdk_ecr::types::ImageIdentifier::builder()
                .image_tag(tag)
                .build(),
        )
        .send()
        .await
        .unwrap();
    output
        .images()
        .first()
        .and_then(|i| i.image_id())
        .and_then(|id| id.image_digest())
        .map(str::to_string)
}

#[tokio::test]
async fn lookup_finds_the_base_tag_and_misses_unknown_tags_and_repositories() {
    let registry = Registry::connect_with(&plain(&service("FLEET_TEST_REGISTRY")), &options())
        .await
        .unwrap();
    assert_eq!(registry.host(), service("FLEET_TEST_REGISTRY"));
    assert!(registry.engine_credentials().is_none());
    let (_, digest) = base_manifest().await;
    let busybox = repo("fleet-test/busybox");
    assert_eq!(
        registry.lookup(&busybox, &tag("1")).await.unwrap(),
        Some(digest)
    );
    assert_eq!(registry.lookup(&busybox, &key_tag()).await.unwrap(), None);
    let nowhere = repo(&unique("no-such-repository"));
    assert_eq!(
        registry.lookup(&nowhere, &tag("latest")).await.unwrap(),
        None
    );
}

#[tokio::test]
async fn retag_on_the_open_registry_writes_once_then_changes_nothing() {
    // The url's path prefix goes in front of every repository.
    let url = format!("{}/fleet-test", service("FLEET_TEST_REGISTRY"));
    let registry = Registry::connect_with(&plain(&url), &options())
        .await
        .unwrap();
    let busybox = repo("busybox");
    assert_eq!(registry.repository_path(&busybox), "fleet-test/busybox");
    assert_eq!(
        registry.image_name(&busybox),
        format!("{}/fleet-test/busybox", service("FLEET_TEST_REGISTRY"))
    );
    let (_, digest) = base_manifest().await;
    let moving = tag(&unique("moving"));
    assert_eq!(registry.lookup(&busybox, &moving).await.unwrap(), None);
    assert_eq!(
        registry.retag(&busybox, &digest, &moving).await.unwrap(),
        Retagged::Written
    );
    assert_eq!(
        registry.lookup(&busybox, &moving).await.unwrap(),
        Some(digest.clone())
    );
    assert_eq!(
        registry.retag(&busybox, &digest, &moving).await.unwrap(),
        Retagged::Unchanged
    );
}

#[tokio::test]
async fn retag_of_a_digest_the_registry_lacks_is_manifest_not_found() {
    let registry = Registry::connect_with(&plain(&service("FLEET_TEST_REGISTRY")), &options())
        .await
        .unwrap();
    let missing: Digest = format!("sha256:{}", "0".repeat(64)).parse().unwrap();
    let err = registry
        .retag(&repo("fleet-test/busybox"), &missing, &tag("never"))
        .await
        .unwrap_err();
    assert!(
        matches!(err, RegistryError::ManifestNotFound { .. }),
        "{err:?}"
    );
    assert_eq!(err.exit(), Exit::Failed);
    assert_eq!(
        render(&err),
        format!(
            "error: manifest `{}/fleet-test/busybox@{missing}` is not in the registry\n  hint: push the image under its key tag first; moving tags are written only for images the registry has",
            service("FLEET_TEST_REGISTRY")
        )
    );
}

#[tokio::test]
async fn the_auth_registry_accepts_the_right_password() {
    let password = service("FLEET_TEST_AUTH_PASSWORD");
    let registry = Registry::connect_with(
        &plain(&service("FLEET_TEST_AUTH_REGISTRY")),
        &with_password(&password),
    )
    .await
    .unwrap();
    let credentials = registry.engine_credentials().unwrap();
    assert_eq!(credentials.username, "AWS");
    assert_eq!(credentials.password.expose(), password);
    assert_eq!(credentials.server, service("FLEET_TEST_AUTH_REGISTRY"));
    assert_eq!(
        registry
            .lookup(&repo(&unique("empty")), &tag("latest"))
            .await
            .unwrap(),
        None
    );
}

#[tokio::test]
async fn the_auth_registry_refuses_a_wrong_password_with_exit_3() {
    let wrong = "wrong-password-0xdeadbeef";
    let started = Instant::now();
    let err = Registry::connect_with(
        &plain(&service("FLEET_TEST_AUTH_REGISTRY")),
        &with_password(wrong),
    )
    .await
    .unwrap_err();
    assert!(
        started.elapsed() < Duration::from_secs(5),
        "auth failures are not retried"
    );
    assert!(
        matches!(
            &err,
            RegistryError::AuthFailed {
                credentials: CredentialSource::Environment,
                ..
            }
        ),
        "{err:?}"
    );
    assert_eq!(err.exit(), Exit::Unavailable);
    let text = format!("{}\n{err:?}", render(&err));
    assert!(
        text.contains(&format!(
            "registry `{}` refused the credentials from",
            service("FLEET_TEST_AUTH_REGISTRY")
        )),
        "{text}"
    );
    assert!(
        text.contains(
            "hint: check FLEET_IMAGES_REGISTRY_USERNAME and FLEET_IMAGES_REGISTRY_PASSWORD"
        ),
        "{text}"
    );
    assert!(!text.contains(wrong), "{text}");
}

#[tokio::test]
async fn the_auth_registry_without_credentials_says_how_to_log_in() {
    let host = service("FLEET_TEST_AUTH_REGISTRY");
    let err = Registry::connect_with(&plain(&host), &options())
        .await
        .unwrap_err();
    assert!(
        matches!(
            &err,
            RegistryError::AuthFailed {
                credentials: CredentialSource::Anonymous,
                ..
            }
        ),
        "{err:?}"
    );
    assert_eq!(err.exit(), Exit::Unavailable);
    assert!(err
        .hint()
        .unwrap()
        .contains(&format!("run `docker login {host}`")));
}

#[tokio::test]
async fn docker_config_credentials_reach_the_auth_registry() {
    use base64::Engine as _;
    let dir = tempfile::tempdir().unwrap();
    let host = service("FLEET_TEST_AUTH_REGISTRY");
    let auth = base64::engine::general_purpose::STANDARD
        .encode(format!("AWS:{}", service("FLEET_TEST_AUTH_PASSWORD")));
    let path = dir.path().join("config.json");
    std::fs::write(
        &path,
        format!(r#"{{"auths": {{"http://{host}": {{"auth": "{auth}"}}}}}}"#),
    )
    .unwrap();
    let options = ConnectOptions {
        docker_config: Some(path.clone()),
        ..options()
    };
    let registry = Registry::connect_with(&plain(&host), &options)
        .await
        .unwrap();
    assert_eq!(registry.engine_credentials().unwrap().username, "AWS");

    std::fs::write(
        &path,
        format!(r#"{{"credHelpers": {{"{host}": "fleet-images-test-missing"}}}}"#),
    )
    .unwrap();
    let err = Registry::connect_with(&plain(&host), &options)
        .await
        .unwrap_err();
    assert!(
        matches!(err, RegistryError::CredentialHelper { .. }),
        "{err:?}"
    );
    assert_eq!(err.exit(), Exit::Unavailable);
    assert!(render(&err).contains("install `docker-credential-fleet-images-test-missing`"));
}

#[tokio::test]
async fn a_registry_that_is_down_is_retried_a_bounded_number_of_times() {
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let host = format!("127.0.0.1:{port}");
    let started = Instant::now();
    let err = Registry::connect_with(&plain(&host), &options())
        .await
        .unwrap_err();
    assert!(started.elapsed() < Duration::from_secs(5));
    assert!(
        matches!(&err, RegistryError::Unreachable { attempts: 4, .. }),
        "{err:?}"
    );
    assert_eq!(err.exit(), Exit::Unavailable);
    assert!(render(&err).starts_with(&format!(
        "error: cannot reach registry `{host}` (4 attempts)"
    )));
}

#[tokio::test]
async fn ecr_connect_takes_the_emulator_token_to_the_endpoint() {
    let registry = Registry::connect_with(&ecr(TagMutability::Immutable), &options())
        .await
        .unwrap();
    assert!(registry.is_ecr());
    assert_eq!(registry.host(), service("FLEET_TEST_AUTH_REGISTRY"));
    let element = repo("fleet/element");
    assert_eq!(
        registry.image_name(&element),
        format!("{}/fleet/element", service("FLEET_TEST_AUTH_REGISTRY"))
    );
    let credentials = registry.engine_credentials().unwrap();
    assert_eq!(credentials.username, "AWS");
    assert_eq!(
        credentials.password.expose(),
        service("FLEET_TEST_AUTH_PASSWORD")
    );
    assert!(!format!("{registry:?} {credentials:?}").contains(&service("FLEET_TEST_AUTH_PASSWORD")));
    let mut registry = registry;
    registry.refresh_credentials().await.unwrap();
    assert_eq!(
        registry
            .lookup(&repo(&unique("nothing")), &tag("latest"))
            .await
            .unwrap(),
        None
    );
}

#[tokio::test]
async fn ecr_refuses_a_token_the_data_plane_does_not_accept() {
    // moto makes the password from the registry id: another account's does not open this registry.
    let mut config = ecr(TagMutability::Immutable);
    config.kind = RegistryKind::Ecr {
        region: Some("us-east-1".into()),
        account: Some("210987654321".into()),
        endpoint: Some(service("FLEET_TEST_AUTH_REGISTRY")),
    };
    let err = Registry::connect_with(&config, &options())
        .await
        .unwrap_err();
    assert!(
        matches!(
            &err,
            RegistryError::AuthFailed {
                credentials: CredentialSource::Ecr,
                ..
            }
        ),
        "{err:?}"
    );
    assert_eq!(err.exit(), Exit::Unavailable);
    let text = format!("{}\n{err:?}", render(&err));
    assert!(!text.contains("210987654321-auth-token"), "{text}");
    assert!(
        text.contains("hint: the ECR token was refused even after a refresh"),
        "{text}"
    );
}

#[tokio::test]
async fn ecr_api_down_is_exit_3() {
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let options = ConnectOptions {
        aws_endpoint_url: Some(format!("http://127.0.0.1:{port}")),
        ..options()
    };
    let err = Registry::connect_with(&ecr(TagMutability::Immutable), &options)
        .await
        .unwrap_err();
    assert!(
        matches!(
            &err,
            RegistryError::Ecr {
                operation: "GetAuthorizationToken",
                failure: EcrFailure::Unreachable,
                ..
            }
        ),
        "{err:?}"
    );
    assert_eq!(err.exit(), Exit::Unavailable);
}

#[tokio::test]
async fn ecr_repositories_are_created_with_the_manifest_settings_once() {
    let registry = Registry::connect_with(&ecr(TagMutability::Immutable), &options())
        .await
        .unwrap();
    let names = [
        repo(&format!("fleet/{}", unique("element"))),
        repo(&format!("fleet/{}", unique("conduit"))),
    ];
    let changes = registry.ensure_repositories(&names).await.unwrap();
    let got: Vec<(String, ChangeAction)> = changes
        .iter()
        .map(|c| (c.repository.to_string(), c.action))
        .collect();
    let want: Vec<(String, ChangeAction)> = names
        .iter()
        .flat_map(|n| {
            [
                (n.to_string(), ChangeAction::Created),
                (n.to_string(), ChangeAction::LifecyclePolicySet),
            ]
        })
        .collect();
    assert_eq!(got, want);

    let client = ecr_client().await;
    for name in &names {
        let described = client
            .describe_repositories()
            .repository_names(name.as_str())
            .send()
            .await
            .unwrap();
        let repository = &described.repositories()[0];
        assert_eq!(
            repository.image_tag_mutability().unwrap().as_str(),
            "IMMUTABLE"
        );
        assert!(repository
            .image_scanning_configuration()
            .unwrap()
            .scan_on_push());
        assert_eq!(
            repository
                .encryption_configuration()
                .unwrap()
                .encryption_type()
                .as_str(),
            "AES256"
        );
        let policy = client
            .get_lifecycle_policy()
            .repository_name(name.as_str())
            .send()
            .await
            .unwrap();
        let policy: serde_json::Value =
            serde_json::from_str(policy.lifecycle_policy_text().unwrap()).unwrap();
        let selection = &policy["rules"][0]["selection"];
        assert_eq!(selection["tagPrefixList"], serde_json::json!(["key-"]));
        assert_eq!(selection["countType"], "imageCountMoreThan");
        assert_eq!(selection["countNumber"], 7);
        assert_eq!(policy["rules"][0]["action"]["type"], "expire");
    }

    // A second run changes nothing.
    assert_eq!(registry.ensure_repositories(&names).await.unwrap(), vec![]);

    // A policy changed by hand is put back; the repository is left alone.
    client
        .put_lifecycle_policy()
        .repository_name(names[0].as_str())
        .lifecycle_policy_text(r#"{"rules":[{"rulePriority":1,"selection":{"tagStatus":"any","countType":"imageCountMoreThan","countNumber":1},"action":{"type":"expire"}}]}"#)
        .send()
        .await
        .unwrap();
    let changes = registry.ensure_repositories(&names).await.unwrap();
    assert_eq!(changes.len(), 1);
    assert_eq!(changes[0].repository, names[0]);
    assert_eq!(changes[0].action, ChangeAction::LifecyclePolicySet);
    assert_eq!(changes[0].action.to_string(), "lifecycle policy set");
}

#[tokio::test]
async fn ecr_retag_uses_batch_get_image_and_put_image() {
    let registry = Registry::connect_with(&ecr(TagMutability::Mutable), &options())
        .await
        .unwrap();
    let name = repo(&format!("fleet/{}", unique("manager")));
    registry
        .ensure_repositories(std::slice::from_ref(&name))
        .await
        .unwrap();
    let client = ecr_client().await;
    let (manifest, digest) = base_manifest().await;
    let key = key_tag();
    moto_put_image(&client, name.as_str(), &manifest, &digest, key.as_str()).await;

    assert_eq!(
        registry
            .retag(&name, &digest, &tag("latest"))
            .await
            .unwrap(),
        Retagged::Written
    );
    assert_eq!(
        moto_tag_digest(&client, name.as_str(), "latest").await,
        Some(digest.to_string())
    );
    // The same digest under the tag: nothing written (moto would answer ImageAlreadyExists).
    assert_eq!(
        registry
            .retag(&name, &digest, &tag("latest"))
            .await
            .unwrap(),
        Retagged::Unchanged
    );
    assert_eq!(
        moto_tag_digest(&client, name.as_str(), key.as_str()).await,
        Some(digest.to_string())
    );
}

#[tokio::test]
async fn ecr_immutable_tag_holding_another_digest_names_both() {
    let registry = Registry::connect_with(&ecr(TagMutability::Immutable), &options())
        .await
        .unwrap();
    let name = repo(&format!("fleet/{}", unique("agent")));
    registry
        .ensure_repositories(std::slice::from_ref(&name))
        .await
        .unwrap();
    let client = ecr_client().await;
    let (first, first_digest) = base_manifest().await;
    // Another manifest: the same JSON with different bytes, so a different digest.
    let second = format!("{first}\n");
    let second_digest: Digest = format!(
        "sha256:{}",
        hex::encode(sha2::Sha256::digest(second.as_bytes()))
    )
    .parse()
    .unwrap();
    moto_put_image(&client, name.as_str(), &first, &first_digest, "v1").await;
    moto_put_image(
        &client,
        name.as_str(),
        &second,
        &second_digest,
        key_tag().as_str(),
    )
    .await;

    let err = registry
        .retag(&name, &second_digest, &tag("v1"))
        .await
        .unwrap_err();
    match &err {
        RegistryError::TagImmutable {
            existing, wanted, ..
        } => {
            assert_eq!(existing, &first_digest);
            assert_eq!(wanted, &second_digest);
        }
        other => panic!("{other:?}"),
    }
    assert_eq!(err.exit(), Exit::Failed);
    let text = render(&err);
    assert!(
        text.contains(&first_digest.to_string()) && text.contains(&second_digest.to_string()),
        "{text}"
    );
    // Writing the digest the tag already holds is fine, immutable or not.
    assert_eq!(
        registry
            .retag(&name, &first_digest, &tag("v1"))
            .await
            .unwrap(),
        Retagged::Unchanged
    );
}

#[tokio::test]
async fn ecr_flow_pushes_through_the_engine_then_finds_and_retags_without_pulling() {
    let registry = Registry::connect_with(&ecr(TagMutability::Mutable), &options())
        .await
        .unwrap();
    let name = repo(&format!("fleet/{}", unique("runtime")));
    registry
        .ensure_repositories(std::slice::from_ref(&name))
        .await
        .unwrap();
    let key = key_tag();
    assert_eq!(registry.lookup(&name, &key).await.unwrap(), None);

    let engine = Engine::connect().await.unwrap();
    let image = registry.image_name(&name);
    engine
        .tag(&service("FLEET_TEST_LOCAL_BASE"), &image, key.as_str())
        .await
        .unwrap();
    let credentials = registry.engine_credentials();
    let pushed = engine
        .push(&image, key.as_str(), credentials.as_ref())
        .await;
    engine
        .remove_image(&format!("{image}:{}", key.as_str()))
        .await
        .unwrap();
    let pushed = pushed.unwrap();

    assert_eq!(
        registry.lookup(&name, &key).await.unwrap(),
        Some(pushed.digest.clone())
    );
    // moto never saw the engine's push: the retag reads the manifest from the data plane.
    assert_eq!(
        registry
            .retag(&name, &pushed.digest, &tag("latest"))
            .await
            .unwrap(),
        Retagged::Written
    );
    assert_eq!(
        registry.lookup(&name, &tag("latest")).await.unwrap(),
        Some(pushed.digest.clone())
    );
    assert_eq!(
        registry
            .retag(&name, &pushed.digest, &tag("latest"))
            .await
            .unwrap(),
        Retagged::Unchanged
    );
}
