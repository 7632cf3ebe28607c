//! `build --push` and `push` against the real registries and the ECR emulator.

use std::path::Path;

use fleet_images::manifest::{parse, LoadOptions};
use fleet_images::names::{Digest, Key, RepositoryName, Tag};
use fleet_images::registry::Registry;

use crate::build::{fixture, outcomes, pairs, plan_statuses};
use crate::support::{docker, service, unique, Fleet, ImageCleanup};

/// Adds a `[registry]` table to the build fixture's manifest.
fn with_registry(fleet: &Fleet, registry: &str) {
    let text = std::fs::read_to_string(fleet.file("fleet.toml")).unwrap();
    fleet.manifest(&format!("{registry}\n{text}"));
}

fn open_registry(prefix: &str) -> String {
    format!(
        "[registry]\nkind = \"registry\"\nurl = \"{}/{prefix}\"\n",
        service("FLEET_TEST_REGISTRY")
    )
}

/// What the registry holds for `repository:tag`, asked through the library (no pull).
fn registry_digest(fleet: &Fleet, repository: &str, tag: &Tag) -> Option<Digest> {
    let text = std::fs::read_to_string(fleet.file("fleet.toml")).unwrap();
    let manifest = parse(Path::new("fleet.toml"), &text, &LoadOptions::default()).unwrap();
    let config = manifest.registry.unwrap();
    let runtime = tokio::runtime::Runtime::new().unwrap();
    runtime.block_on(async {
        let registry = Registry::connect(&config).await.unwrap();
        let repository: RepositoryName = repository.parse().unwrap();
        registry.lookup(&repository, tag).await.unwrap()
    })
}

fn latest() -> Tag {
    "latest".parse().unwrap()
}

fn key_tag(key: &str) -> Tag {
    key.parse::<Key>().unwrap().tag()
}

fn json(fleet: &Fleet, file: &str) -> serde_json::Value {
    serde_json::from_str(&std::fs::read_to_string(fleet.file(file)).unwrap()).unwrap()
}

#[test]
fn a_fresh_runner_finds_every_key_in_the_registry_and_builds_nothing() {
    let prefix = unique("fi-push");
    let cleanup = ImageCleanup::new(&prefix);
    let fleet = fixture(&prefix);
    with_registry(&fleet, &open_registry(&prefix));
    fleet
        .run(&[
            "--manifest",
            "fleet.toml",
            "build",
            "--push",
            "--json-out",
            "r1.json",
        ])
        .ok();
    assert_eq!(
        outcomes(&fleet, "r1.json"),
        pairs(&[
            ("base", "built"),
            ("app", "built"),
            ("tools", "built"),
            ("web", "built")
        ])
    );
    let first = json(&fleet, "r1.json");
    for image in first["images"].as_array().unwrap() {
        assert!(
            image["digest"].as_str().unwrap().starts_with("sha256:"),
            "{image}"
        );
    }
    // `latest` was written after the key tags and names the same digest.
    let base_key = first["images"][0]["key"].as_str().unwrap();
    let latest_digest = registry_digest(&fleet, &format!("{prefix}/base"), &latest()).unwrap();
    assert_eq!(
        Some(latest_digest),
        registry_digest(&fleet, &format!("{prefix}/base"), &key_tag(base_key))
    );

    // A fresh runner: no local image, no state.
    drop(cleanup);
    let _cleanup = ImageCleanup::new(&prefix);
    std::fs::remove_dir_all(fleet.file(".fleet-images")).unwrap();
    assert_eq!(
        plan_statuses(&fleet, &["--push"]),
        ["remote", "remote", "remote", "remote"]
    );
    fleet
        .run(&[
            "--manifest",
            "fleet.toml",
            "build",
            "--push",
            "--json-out",
            "r2.json",
        ])
        .ok();
    assert_eq!(
        outcomes(&fleet, "r2.json"),
        pairs(&[
            ("base", "remote"),
            ("app", "remote"),
            ("tools", "remote"),
            ("web", "remote")
        ])
    );
    let second = json(&fleet, "r2.json");
    for image in second["images"].as_array().unwrap() {
        assert_eq!(image["layers_uploaded"], 0, "{image}");
        assert_eq!(
            image["image_id"],
            serde_json::Value::Null,
            "nothing was built: {image}"
        );
    }
    assert_eq!(
        docker(&["images", "-q", "--filter", &format!("reference={prefix}/*")]),
        ""
    );
}

#[test]
fn one_failed_image_moves_no_moving_tag() {
    let prefix = unique("fi-nomove");
    let _cleanup = ImageCleanup::new(&prefix);
    let fleet = fixture(&prefix);
    with_registry(&fleet, &open_registry(&prefix));
    let text = std::fs::read_to_string(fleet.file("fleet.toml")).unwrap();
    fleet.manifest(&text.replace(
        &format!("repository = \"{prefix}/tools\""),
        &format!("repository = \"{prefix}/tools\"\ntags = [\"latest\"]"),
    ));
    fleet
        .run(&["--manifest", "fleet.toml", "build", "--push"])
        .ok();
    let tools_latest = registry_digest(&fleet, &format!("{prefix}/tools"), &latest()).unwrap();
    let base_latest = registry_digest(&fleet, &format!("{prefix}/base"), &latest()).unwrap();

    fleet.write("tools/src/a.txt", "a v2\n");
    fleet.write(
        "base/Dockerfile",
        "ARG BASE\nFROM ${BASE}\nARG FIXTURE\nLABEL fleet-test.fixture=${FIXTURE}\nRUN exit 7\n",
    );
    let run = fleet.run(&[
        "--manifest",
        "fleet.toml",
        "build",
        "--push",
        "--json-out",
        "r.json",
    ]);
    run.expect_code(1);
    assert!(
        run.stderr.contains("not writing moving tags"),
        "{}",
        run.stderr
    );
    let result = json(&fleet, "r.json");
    let tools = &result["images"][2];
    assert_eq!(tools["name"], "tools");
    let tools_key = tools["key"].as_str().unwrap();
    let pushed = registry_digest(&fleet, &format!("{prefix}/tools"), &key_tag(tools_key));
    assert!(
        pushed.is_some(),
        "the independent image's key tag was pushed"
    );
    assert_ne!(pushed.as_ref(), Some(&tools_latest));
    assert_eq!(
        registry_digest(&fleet, &format!("{prefix}/tools"), &latest()).unwrap(),
        tools_latest,
        "latest moved"
    );
    assert_eq!(
        registry_digest(&fleet, &format!("{prefix}/base"), &latest()).unwrap(),
        base_latest,
        "latest moved"
    );
}

#[test]
fn wrong_credentials_are_exit_3_with_a_hint() {
    let prefix = unique("fi-creds");
    let mut fleet = fixture(&prefix);
    with_registry(
        &fleet,
        &format!(
            "[registry]\nkind = \"registry\"\nurl = \"{}/{prefix}\"\n",
            service("FLEET_TEST_AUTH_REGISTRY")
        ),
    );
    fleet
        .env("FLEET_IMAGES_REGISTRY_USERNAME", "AWS")
        .env("FLEET_IMAGES_REGISTRY_PASSWORD", "not-the-password");
    let run = fleet.run(&["--manifest", "fleet.toml", "build", "--push"]);
    run.expect_code(3);
    assert!(run.stderr.contains("hint:"), "{}", run.stderr);
    assert!(
        !run.stderr.contains("not-the-password"),
        "the password was printed: {}",
        run.stderr
    );
}

#[test]
fn a_registry_that_is_down_is_exit_3_and_nothing_is_built_or_tagged() {
    let prefix = unique("fi-down");
    let _cleanup = ImageCleanup::new(&prefix);
    let fleet = fixture(&prefix);
    with_registry(
        &fleet,
        &format!("[registry]\nkind = \"registry\"\nurl = \"127.0.0.1:9/{prefix}\"\n"),
    );
    let started = std::time::Instant::now();
    let run = fleet.run(&["--manifest", "fleet.toml", "build", "--push"]);
    run.expect_code(3);
    assert!(
        started.elapsed() < std::time::Duration::from_secs(60),
        "retries are bounded"
    );
    assert!(run.stderr.contains("127.0.0.1:9"), "{}", run.stderr);
    assert_eq!(
        docker(&["images", "-q", "--filter", &format!("reference={prefix}/*")]),
        ""
    );
}

#[test]
fn the_ecr_flow_creates_repositories_once_and_never_shows_the_token() {
    let prefix = unique("fi-ecr");
    let _cleanup = ImageCleanup::new(&prefix);
    let mut fleet = fixture(&prefix);
    // Plain repository names: ECR's prefix comes from `repository_prefix`.
    let text = std::fs::read_to_string(fleet.file("fleet.toml"))
        .unwrap()
        .replace(&format!("repository = \"{prefix}/"), "repository = \"");
    fleet.manifest(&format!(
        "[registry]\nkind = \"ecr\"\nregion = \"us-east-1\"\nendpoint = \"{}\"\nrepository_prefix = \"{prefix}/\"\ntag_mutability = \"mutable\"\nkeep_images = 7\n{text}",
        service("FLEET_TEST_AUTH_REGISTRY")
    ));
    fleet.env("AWS_ENDPOINT_URL", &service("FLEET_TEST_AWS_ENDPOINT"));
    let run = fleet.run(&[
        "--manifest",
        "fleet.toml",
        "-v",
        "build",
        "--push",
        "--json-out",
        "r1.json",
    ]);
    run.ok();
    for image in ["base", "app", "tools", "web"] {
        assert!(
            run.stderr.contains(&format!("{prefix}/{image}: created")),
            "{}",
            run.stderr
        );
    }
    assert_eq!(
        outcomes(&fleet, "r1.json"),
        pairs(&[
            ("base", "built"),
            ("app", "built"),
            ("tools", "built"),
            ("web", "built")
        ])
    );

    let run2 = fleet.run(&[
        "--manifest",
        "fleet.toml",
        "-v",
        "build",
        "--push",
        "--json-out",
        "r2.json",
    ]);
    run2.ok();
    assert!(
        !run2.stderr.contains(": created") && !run2.stderr.contains("lifecycle policy set"),
        "a mutating ECR call on the second run: {}",
        run2.stderr
    );
    assert_eq!(
        outcomes(&fleet, "r2.json"),
        pairs(&[
            ("base", "remote"),
            ("app", "remote"),
            ("tools", "remote"),
            ("web", "remote")
        ])
    );

    let password = service("FLEET_TEST_AUTH_PASSWORD");
    let token = base64_of(&format!("AWS:{password}"));
    let mut everything = format!("{}{}{}{}", run.stdout, run.stderr, run2.stdout, run2.stderr);
    everything.push_str(&std::fs::read_to_string(fleet.file("r1.json")).unwrap());
    everything.push_str(&std::fs::read_to_string(fleet.file("r2.json")).unwrap());
    for entry in std::fs::read_dir(fleet.file(".fleet-images/logs")).unwrap() {
        everything.push_str(&std::fs::read_to_string(entry.unwrap().path()).unwrap());
    }
    assert!(
        !everything.contains(&password),
        "the ECR password reached the output"
    );
    assert!(
        !everything.contains(&token),
        "the ECR token reached the output"
    );
}

fn base64_of(text: &str) -> String {
    use base64::Engine;
    base64::engine::general_purpose::STANDARD.encode(text)
}
