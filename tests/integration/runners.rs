//! A fleet built across CI runners, coordinated by the registry: `plan --json` gives the waves,
//! each runner builds its images with `build --push --no-release` (separate state directories,
//! an engine emptied of the fleet's images between runners), and `release` moves the tags only
//! once every key is in the registry.

use std::path::Path;

use fleet_images::manifest::{parse, LoadOptions};
use fleet_images::names::{Digest, Key, RepositoryName, Tag};
use fleet_images::registry::Registry;

use crate::build::{fixture, outcomes, pairs};
use crate::support::{docker, service, unique, Fleet, ImageCleanup};

/// The build fixture (`base`; `app` on `base`; `tools`; `web`) pushing to the open registry.
fn fleet(prefix: &str) -> Fleet {
    let fleet = fixture(prefix);
    let text = std::fs::read_to_string(fleet.file("fleet.toml")).unwrap();
    fleet.manifest(&format!(
        "[registry]\nkind = \"registry\"\nurl = \"{}/{prefix}\"\n{text}",
        service("FLEET_TEST_REGISTRY")
    ));
    fleet
}

/// What the registry holds for `repository:tag` (no pull).
fn registry_digest(fleet: &Fleet, repository: &str, tag: &Tag) -> Option<Digest> {
    let text = std::fs::read_to_string(fleet.file("fleet.toml")).unwrap();
    let manifest = parse(Path::new("fleet.toml"), &text, &LoadOptions::default()).unwrap();
    let runtime = tokio::runtime::Runtime::new().unwrap();
    runtime.block_on(async {
        let registry = Registry::connect(&manifest.registry.unwrap())
            .await
            .unwrap();
        let repository: RepositoryName = repository.parse().unwrap();
        registry.lookup(&repository, tag).await.unwrap()
    })
}

/// One runner: its own state directory, the fleet's images gone from the engine afterwards.
fn runner(fleet: &Fleet, prefix: &str, state: &str, args: &[&str]) -> crate::support::Run {
    let mut all = vec![
        "--manifest",
        "fleet.toml",
        "--state-dir",
        state,
        "--progress",
        "plain",
    ];
    all.extend_from_slice(args);
    let run = fleet.run(&all);
    drop(ImageCleanup::new(prefix));
    run
}

fn json(fleet: &Fleet, file: &str) -> serde_json::Value {
    serde_json::from_str(&std::fs::read_to_string(fleet.file(file)).unwrap()).unwrap()
}

fn key_of(result: &serde_json::Value, name: &str) -> String {
    let image = result["images"]
        .as_array()
        .unwrap()
        .iter()
        .find(|i| i["name"] == name)
        .unwrap_or_else(|| panic!("no {name} in {result}"));
    image["key"].as_str().unwrap().to_string()
}

fn key_tag(key: &str) -> Tag {
    key.parse::<Key>().unwrap().tag()
}

fn tag(text: &str) -> Tag {
    text.parse().unwrap()
}

#[test]
fn three_runners_build_the_waves_and_a_release_moves_every_tag_at_once() {
    let prefix = unique("fi-runners");
    let _cleanup = ImageCleanup::new(&prefix);
    let fleet = fleet(&prefix);

    // The CI matrix: `app` builds on `base`, so it waits a wave.
    let plan = fleet.run(&[
        "--manifest",
        "fleet.toml",
        "--state-dir",
        "plan-state",
        "plan",
        "--json",
    ]);
    let waves = plan.ok().json()["waves"].clone();
    assert_eq!(
        waves,
        serde_json::json!([["base", "tools", "web"], ["app"]])
    );

    // Runner 1, wave 1: `base` and `tools`. Key tags only: no `latest`.
    runner(
        &fleet,
        &prefix,
        "runner-1",
        &[
            "build",
            "--push",
            "--no-release",
            "base",
            "tools",
            "--json-out",
            "r1.json",
        ],
    )
    .ok();
    assert_eq!(
        outcomes(&fleet, "r1.json"),
        pairs(&[("base", "built"), ("tools", "built")])
    );
    let r1 = json(&fleet, "r1.json");
    let base_key = key_of(&r1, "base");
    let base_digest =
        registry_digest(&fleet, &format!("{prefix}/base"), &key_tag(&base_key)).unwrap();
    assert_eq!(
        registry_digest(&fleet, &format!("{prefix}/base"), &tag("latest")),
        None,
        "--no-release wrote a moving tag"
    );

    // Runner 2, wave 2: `app`, with `base` taken from the registry by its key and pulled by
    // digest for the build; nothing of runner 1 is left in the engine.
    assert_eq!(
        docker(&["images", "-q", "--filter", &format!("reference={prefix}/*")]),
        ""
    );
    let run = runner(
        &fleet,
        &prefix,
        "runner-2",
        &[
            "-v",
            "build",
            "--push",
            "--no-release",
            "app",
            "--json-out",
            "r2.json",
        ],
    );
    run.ok();
    assert_eq!(
        outcomes(&fleet, "r2.json"),
        pairs(&[("base", "remote"), ("app", "built")])
    );
    let pinned = format!(
        "{}/{prefix}/{prefix}/base@{base_digest}",
        service("FLEET_TEST_REGISTRY")
    );
    assert!(
        run.stderr.contains(&pinned),
        "app was not built from base pinned by digest ({pinned}):\n{}",
        run.stderr
    );
    let r2 = json(&fleet, "r2.json");
    assert_eq!(r2["images"][0]["layers_uploaded"], 0, "{r2}");

    // The release runner before `web` was built: exit 1 naming it, no tag moved.
    let run = runner(
        &fleet,
        &prefix,
        "release-1",
        &["release", "--tag", "v1", "--json-out", "release-1.json"],
    );
    run.expect_code(1);
    assert!(
        run.stderr.contains(&format!(
            "error: not released: the registry lacks the key tag of 1 image: `web` ({}/{prefix}/{prefix}/web:key-",
            service("FLEET_TEST_REGISTRY")
        )),
        "{}",
        run.stderr
    );
    assert!(run.stderr.contains(
        "hint: build and push them first (`fleet-images build --push --no-release web`)"
    ));
    assert_eq!(
        registry_digest(&fleet, &format!("{prefix}/base"), &tag("latest")),
        None
    );
    assert_eq!(
        registry_digest(&fleet, &format!("{prefix}/app"), &tag("v1")),
        None
    );

    // Runner 3, wave 1's last image.
    runner(
        &fleet,
        &prefix,
        "runner-3",
        &[
            "build",
            "--push",
            "--no-release",
            "web",
            "--json-out",
            "r3.json",
        ],
    )
    .ok();
    assert_eq!(outcomes(&fleet, "r3.json"), pairs(&[("web", "built")]));

    // A dry run says what would move, and moves nothing.
    let run = runner(
        &fleet,
        &prefix,
        "release-dry",
        &["release", "--tag", "v1", "--dry-run"],
    );
    run.ok();
    let lines: Vec<&str> = run.stdout.lines().collect();
    assert_eq!(lines.len(), 4, "{}", run.stdout);
    assert!(
        lines[0].starts_with("base sha256:") && lines[0].ends_with(" -> latest, v1"),
        "{}",
        run.stdout
    );
    assert!(
        lines[1].starts_with("app sha256:") && lines[1].ends_with(" -> v1"),
        "{}",
        run.stdout
    );
    assert_eq!(
        registry_digest(&fleet, &format!("{prefix}/base"), &tag("v1")),
        None
    );

    // The release: every key is there; `latest` (base's manifest tag) and `v1` move to the key
    // tags' digests; nothing is built or pulled.
    let run = runner(
        &fleet,
        &prefix,
        "release-2",
        &["release", "--tag", "v1", "--json-out", "release-2.json"],
    );
    run.ok();
    let release = json(&fleet, "release-2.json");
    assert_eq!(
        outcomes(&fleet, "release-2.json"),
        pairs(&[
            ("base", "remote"),
            ("app", "remote"),
            ("tools", "remote"),
            ("web", "remote")
        ])
    );
    for name in ["base", "app", "tools", "web"] {
        let repository = format!("{prefix}/{name}");
        let key = key_of(&release, name);
        let by_key = registry_digest(&fleet, &repository, &key_tag(&key)).unwrap();
        assert_eq!(
            registry_digest(&fleet, &repository, &tag("v1")),
            Some(by_key.clone()),
            "{name}:v1"
        );
        if name == "base" {
            assert_eq!(
                registry_digest(&fleet, &repository, &tag("latest")),
                Some(by_key)
            );
        }
    }
    assert_eq!(key_of(&release, "base"), base_key);
    assert_eq!(
        docker(&["images", "-q", "--filter", &format!("reference={prefix}/*")]),
        "",
        "release pulled or built an image"
    );
}

#[test]
fn no_release_is_only_for_pushing_runners() {
    let prefix = unique("fi-runners");
    let fleet = fleet(&prefix);
    let run = fleet.run(&["--manifest", "fleet.toml", "build", "--no-release", "base"]);
    run.expect_code(2);
    assert!(run.stderr.contains("--push"), "{}", run.stderr);
    let run = fleet.run(&[
        "--manifest",
        "fleet.toml",
        "build",
        "--push",
        "--no-release",
        "--tag",
        "v1",
        "base",
    ]);
    run.expect_code(2);
    assert!(run.stderr.contains("cannot be used with"), "{}", run.stderr);
}

/// The image the service's current task definition runs in container `web`.
async fn running_image(cluster: &str, service_name: &str) -> String {
    let client = aws_sdk_ecs::Client::new(&crate::deploy::config().await);
    let services = client
        .describe_services()
        .cluster(cluster)
        .services(service_name)
        .send()
        .await
        .unwrap();
    let arn = services.services()[0]
        .task_definition()
        .unwrap()
        .to_string();
    let definition = client
        .describe_task_definition()
        .task_definition(&arn)
        .send()
        .await
        .unwrap();
    definition
        .task_definition()
        .unwrap()
        .container_definitions()[0]
        .image()
        .unwrap()
        .to_string()
}

#[test]
fn a_release_deploys_what_a_runner_pushed_to_ecr() {
    let prefix = unique("fi-runners-ecr");
    let _cleanup = ImageCleanup::new(&prefix);
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let cluster = unique("runners-cluster");
    let service_name = unique("runners-web");
    runtime.block_on(crate::release::fargate_service(
        &cluster,
        &service_name,
        &unique("runners-web"),
        0,
    ));

    let mut fleet = fixture(&prefix);
    let text = std::fs::read_to_string(fleet.file("fleet.toml"))
        .unwrap()
        .replace(&format!("repository = \"{prefix}/"), "repository = \"");
    fleet.manifest(&format!(
        "[registry]\nkind = \"ecr\"\nregion = \"us-east-1\"\nendpoint = \"{}\"\nrepository_prefix = \"{prefix}/\"\ntag_mutability = \"mutable\"\n{text}\n[images.web.deploy]\nservices = [{{ cluster = \"{cluster}\", service = \"{service_name}\", container = \"web\", always_on = false }}]\n",
        service("FLEET_TEST_AUTH_REGISTRY")
    ));
    fleet
        .env("AWS_ENDPOINT_URL", &service("FLEET_TEST_AWS_ENDPOINT"))
        .env("FLEET_IMAGES_DEPLOY_POLL_MS", "50");

    // The runner pushes; nothing is deployed yet.
    runner(
        &fleet,
        &prefix,
        "runner",
        &[
            "build",
            "--push",
            "--no-release",
            "web",
            "--json-out",
            "r.json",
        ],
    )
    .ok();
    let pushed = json(&fleet, "r.json")["images"][0]["digest"]
        .as_str()
        .unwrap()
        .to_string();
    assert_eq!(
        runtime.block_on(running_image(&cluster, &service_name)),
        "placeholder:1"
    );

    // The release deploys the pushed digest.
    let run = runner(
        &fleet,
        &prefix,
        "release",
        &["release", "web", "--deploy", "--json-out", "release.json"],
    );
    run.ok();
    let release = json(&fleet, "release.json");
    assert_eq!(
        release["deploy"]["services"][0]["outcome"], "completed",
        "{release}"
    );
    assert_eq!(
        runtime.block_on(running_image(&cluster, &service_name)),
        format!(
            "{}/{prefix}/web@{pushed}",
            service("FLEET_TEST_AUTH_REGISTRY")
        )
    );
}
