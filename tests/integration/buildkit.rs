//! The two builders against the real engine: BuildKit (the default) with the Dockerfile features
//! only it builds, the classic builder on the same fixtures, the syntax this engine cannot build
//! refused before anything builds, and the registry's layers reused on a fresh runner.

use std::process::Command;

use crate::build::{fixture, outcomes};
use crate::support::{base_image, docker, service, unique, Fleet, ImageCleanup};

/// One image using what only BuildKit builds: an unused stage that would fail, a cache mount
/// that counts its runs, `COPY --chmod`, a bind mount of a context file and a tmpfs mount.
fn features_fixture(prefix: &str) -> Fleet {
    let mut fleet = Fleet::new();
    // BuildKit whatever the environment says (the suite may run with FLEET_IMAGES_BUILDER=classic).
    fleet.env("FLEET_IMAGES_BUILDER", "buildkit");
    fleet
        .manifest(&format!(
            r#"
[images.feat]
context = "feat"
args = {{ BASE = "{base}", FIXTURE = "{prefix}" }}
repository = "{prefix}/feat"
"#,
            base = base_image()
        ))
        .write(
            "feat/Dockerfile",
            format!(
                "ARG BASE\n\
                 FROM ${{BASE}} AS broken\n\
                 RUN echo this stage is never needed && exit 7\n\
                 FROM ${{BASE}}\n\
                 ARG FIXTURE\n\
                 LABEL fleet-test.fixture=${{FIXTURE}}\n\
                 COPY stamp.txt /stamp.txt\n\
                 RUN --mount=type=cache,target=/cache,id={prefix} echo run >> /cache/runs && wc -l < /cache/runs > /runs-seen\n\
                 COPY --chmod=755 tool.sh /usr/local/bin/tool\n\
                 RUN --mount=type=bind,source=data.txt,target=/mnt/data.txt cp /mnt/data.txt /data-copy\n\
                 RUN --mount=type=tmpfs,target=/scratch touch /scratch/x\n"
            ),
        )
        .write("feat/stamp.txt", "1\n")
        .write("feat/tool.sh", "#!/bin/sh\necho tool\n")
        .write("feat/data.txt", "data v1\n");
    fleet
}

fn run_in(image: &str, args: &[&str]) -> String {
    let mut all = vec!["run", "--rm", image];
    all.extend_from_slice(args);
    docker(&all)
}

/// The local key tag of the first image built in a run, from its `--json-out`.
fn built_ref(fleet: &Fleet, json_out: &str) -> String {
    let text = std::fs::read_to_string(fleet.file(json_out)).unwrap();
    let json: serde_json::Value = serde_json::from_str(&text).unwrap();
    json["images"][0]["tags"][0].as_str().unwrap().to_string()
}

fn key_of(fleet: &Fleet, image: &str) -> String {
    let run = fleet.run(&["--manifest", "fleet.toml", "hash", image]);
    run.ok();
    run.stdout.split_whitespace().nth(1).unwrap().to_string()
}

#[test]
fn buildkit_builds_cache_mounts_chmod_and_skips_an_unused_failing_stage() {
    let prefix = unique("fi-bk");
    let _cleanup = ImageCleanup::new(&prefix);
    let fleet = features_fixture(&prefix);
    let run = fleet.run(&[
        "--manifest",
        "fleet.toml",
        "build",
        "--json-out",
        "r1.json",
        "--progress",
        "plain",
    ]);
    run.ok();
    assert_eq!(
        outcomes(&fleet, "r1.json"),
        [("feat".into(), "built".into())]
    );
    let image = built_ref(&fleet, "r1.json");
    assert_eq!(
        run_in(&image, &["stat", "-c", "%a", "/usr/local/bin/tool"]),
        "755\n"
    );
    assert_eq!(run_in(&image, &["cat", "/data-copy"]), "data v1\n");
    assert_eq!(run_in(&image, &["cat", "/runs-seen"]).trim(), "1");
    assert_eq!(
        run_in(&image, &["sh", "-c", "test -e /scratch/x || echo gone"]),
        "gone\n",
        "a tmpfs mount leaves nothing in the image"
    );
    let log = std::fs::read_to_string(fleet.file(".fleet-images/logs/feat.log")).unwrap();
    assert!(
        !log.contains("this stage is never needed"),
        "the unused stage ran:\n{log}"
    );

    // The bind mount's source is an input of the key; the cache mount's contents are not, and
    // survive into the next build of the step.
    let before = key_of(&fleet, "feat");
    fleet.write("feat/data.txt", "data v2\n");
    assert_ne!(
        key_of(&fleet, "feat"),
        before,
        "a bind-mount source is an input"
    );
    fleet.write("feat/stamp.txt", "2\n");
    fleet
        .run(&[
            "--manifest",
            "fleet.toml",
            "build",
            "--progress",
            "json",
            "--json-out",
            "r2.json",
        ])
        .ok();
    let image = built_ref(&fleet, "r2.json");
    assert_eq!(
        run_in(&image, &["cat", "/runs-seen"]).trim(),
        "2",
        "the cache mount kept the first build's file"
    );
    assert_eq!(run_in(&image, &["cat", "/data-copy"]), "data v2\n");
}

#[test]
fn buildkit_progress_names_steps_and_cached_steps_in_json_events() {
    let prefix = unique("fi-bkjson");
    let _cleanup = ImageCleanup::new(&prefix);
    let mut fleet = fixture(&prefix);
    fleet.env("FLEET_IMAGES_BUILDER", "buildkit");
    fleet
        .run(&[
            "--manifest",
            "fleet.toml",
            "build",
            "base",
            "--progress",
            "plain",
        ])
        .ok();
    let run = fleet.run(&[
        "--manifest",
        "fleet.toml",
        "build",
        "base",
        "--force",
        "--progress",
        "json",
    ]);
    run.ok();
    let steps: Vec<String> = run
        .stderr
        .lines()
        .filter_map(|line| serde_json::from_str::<serde_json::Value>(line).ok())
        .filter(|event| event["event"] == "step" && event["subject"] == "base")
        .map(|event| event["text"].as_str().unwrap().to_string())
        .collect();
    assert!(
        steps
            .iter()
            .any(|s| s.contains("CACHED") && s.contains("RUN mkdir -p /opt/fleet")),
        "the rebuilt RUN step is reported as cached: {steps:?}"
    );
    assert!(
        steps.iter().any(|s| s.contains("COPY motd /etc/motd")),
        "{steps:?}"
    );
}

#[test]
fn the_classic_builder_refuses_buildkit_syntax_before_building() {
    let prefix = unique("fi-bkclassic");
    let _cleanup = ImageCleanup::new(&prefix);
    let fleet = features_fixture(&prefix);
    let run = fleet.run(&["--manifest", "fleet.toml", "build", "--builder", "classic"]);
    run.expect_code(2);
    assert!(
        run.stderr.contains("line 8 of `") && run.stderr.contains("feat/Dockerfile` (image `feat`) uses RUN --mount=type=cache, which the classic builder cannot build here: the classic builder does not accept it"),
        "{}",
        run.stderr
    );
    assert!(
        run.stderr
            .contains("hint: build with BuildKit (`--builder buildkit`"),
        "{}",
        run.stderr
    );
    assert_eq!(
        docker(&["images", "-q", &format!("{prefix}/feat")]),
        "",
        "nothing was built"
    );
}

#[test]
fn the_classic_builder_builds_the_fixture_fleet_when_the_manifest_asks() {
    let prefix = unique("fi-classic");
    let _cleanup = ImageCleanup::new(&prefix);
    let mut fleet = fixture(&prefix);
    fleet.env_remove("FLEET_IMAGES_BUILDER"); // the manifest decides
    let manifest = std::fs::read_to_string(fleet.file("fleet.toml")).unwrap();
    fleet.manifest(&format!("[defaults]\nbuilder = \"classic\"\n{manifest}"));
    let run = fleet.run(&["--manifest", "fleet.toml", "build", "--json-out", "r.json"]);
    run.ok();
    assert!(outcomes(&fleet, "r.json").iter().all(|(_, o)| o == "built"));
    let log = std::fs::read_to_string(fleet.file(".fleet-images/logs/tools.log")).unwrap();
    assert!(log.contains("Step 1/"), "classic output: {log}");
    // `--builder` wins over the manifest: the same fixture through BuildKit.
    let run = fleet.run(&[
        "--manifest",
        "fleet.toml",
        "build",
        "tools",
        "--force",
        "--builder",
        "buildkit",
        "--json-out",
        "r2.json",
    ]);
    run.ok();
    assert_eq!(
        outcomes(&fleet, "r2.json"),
        [("tools".into(), "built".into())]
    );
    let log = std::fs::read_to_string(fleet.file(".fleet-images/logs/tools.log")).unwrap();
    assert!(
        log.contains("#1 ") && !log.contains("Step 1/"),
        "BuildKit output: {log}"
    );
}

#[test]
fn an_unknown_builder_is_bad_input_naming_the_line() {
    let fleet = fixture(&unique("fi-bkname"));
    let manifest = std::fs::read_to_string(fleet.file("fleet.toml")).unwrap();
    fleet.manifest(&format!("[defaults]\nbuilder = \"kaniko\"\n{manifest}"));
    let run = fleet.run(&["--manifest", "fleet.toml", "plan"]);
    run.expect_code(2);
    assert!(
        run.stderr
            .contains("unknown builder `kaniko`: use `buildkit` or `classic`"),
        "{}",
        run.stderr
    );
    assert!(run.stderr.contains("fleet.toml:2"), "{}", run.stderr);
    let run = fleet.run(&["--manifest", "fleet.toml", "build", "--builder", "kaniko"]);
    run.expect_code(2);
}

/// The engine's major version, from the docker CLI.
fn engine_major() -> u64 {
    docker(&["version", "--format", "{{.Server.Version}}"])
        .split('.')
        .next()
        .and_then(|n| n.trim().parse().ok())
        .unwrap()
}

#[test]
fn a_heredoc_builds_or_is_refused_before_the_build_with_the_reason() {
    let prefix = unique("fi-bkheredoc");
    let _cleanup = ImageCleanup::new(&prefix);
    let mut fleet = fixture(&prefix);
    fleet.env("FLEET_IMAGES_BUILDER", "buildkit");
    fleet.write(
        "tools/Dockerfile",
        "ARG BASE\nFROM ${BASE}\nARG FIXTURE\nLABEL fleet-test.fixture=${FIXTURE}\nRUN <<EOF\necho from a heredoc > /heredoc\nEOF\n",
    );
    let run = fleet.run(&["--manifest", "fleet.toml", "build", "tools"]);
    if engine_major() >= 23 {
        run.ok();
        return;
    }
    run.expect_code(2);
    assert!(
        run.stderr.contains("line 5 of `")
            && run.stderr.contains("uses a heredoc (`<<EOF`), which the buildkit builder cannot build here: the engine's built-in Dockerfile frontend predates heredocs"),
        "{}",
        run.stderr
    );
    assert!(
        run.stderr
            .contains("hint: write the heredoc's lines as a `RUN` with `&&`"),
        "{}",
        run.stderr
    );
    assert!(
        !fleet.file(".fleet-images/logs/tools.log").exists(),
        "the build never started"
    );
}

#[test]
fn secret_mounts_and_unreachable_frontends_are_refused_with_the_alternative() {
    let prefix = unique("fi-bksecret");
    let _cleanup = ImageCleanup::new(&prefix);
    let mut fleet = fixture(&prefix);
    fleet.env("FLEET_IMAGES_BUILDER", "buildkit");
    fleet.write(
        "tools/Dockerfile",
        "ARG BASE\nFROM ${BASE}\nRUN --mount=type=secret,id=token cat /run/secrets/token\n",
    );
    let run = fleet.run(&["--manifest", "fleet.toml", "build", "tools"]);
    run.expect_code(2);
    assert!(
        run.stderr.contains("line 3 of `")
            && run.stderr.contains("uses RUN --mount=type=secret, which the buildkit builder cannot build here: this tool's BuildKit session serves registry logins only"),
        "{}",
        run.stderr
    );
    assert!(
        run.stderr.contains("hint: pass the value"),
        "{}",
        run.stderr
    );

    // A frontend image in a registry nobody reaches (Docker Hub is unreachable here too).
    fleet.write(
        "tools/Dockerfile",
        "# syntax=127.0.0.1:9/docker/dockerfile:1.4\nARG BASE\nFROM ${BASE}\nRUN true\n",
    );
    let run = fleet.run(&["--manifest", "fleet.toml", "build", "tools"]);
    run.expect_code(2);
    assert!(
        run.stderr.contains("line 1 of `")
            && run
                .stderr
                .contains("uses # syntax=127.0.0.1:9/docker/dockerfile:1.4, which the buildkit builder cannot build here: its frontend image cannot be had"),
        "{}",
        run.stderr
    );
    assert!(
        run.stderr
            .contains("hint: remove the line to use the engine's built-in frontend"),
        "{}",
        run.stderr
    );
}

/// The full ids of this engine's build-cache records whose description holds `marker`, with
/// every record that builds on them: what a fresh runner would not have.
fn cache_records(marker: &str) -> Vec<String> {
    // The engine answers one disk-usage request at a time (others get an error): retry.
    let mut df = serde_json::Value::Null;
    for _ in 0..30 {
        let output = Command::new("curl")
            .args([
                "-sf",
                "--max-time",
                "60",
                "--unix-socket",
                "/var/run/docker.sock",
                "http://localhost/system/df",
            ])
            .output()
            .expect("curl");
        if let Ok(value) = serde_json::from_slice::<serde_json::Value>(&output.stdout) {
            df = value;
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(500));
    }
    assert!(!df.is_null(), "the engine never answered GET /system/df");
    let records = df["BuildCache"].as_array().cloned().unwrap_or_default();
    let mut mine: Vec<String> = records
        .iter()
        .filter(|r| {
            r["Description"]
                .as_str()
                .unwrap_or_default()
                .contains(marker)
        })
        .map(|r| r["ID"].as_str().unwrap().to_string())
        .collect();
    loop {
        let children: Vec<String> = records
            .iter()
            .filter(|r| {
                let parent = r["Parent"].as_str().unwrap_or_default();
                mine.iter().any(|m| m == parent)
            })
            .map(|r| r["ID"].as_str().unwrap().to_string())
            .filter(|id| !mine.contains(id))
            .collect();
        if children.is_empty() {
            return mine;
        }
        mine.extend(children);
    }
}

/// Removes the build-cache records of `marker` (only this test's: matched by full id, one at a
/// time, since the engine takes one value per filter), children before parents.
fn forget_cache(marker: &str) {
    for _ in 0..5 {
        let records = cache_records(marker);
        if records.is_empty() {
            return;
        }
        for id in records.iter().rev() {
            let _ = Command::new("docker")
                .args(["builder", "prune", "-f", "--filter", &format!("id={id}")])
                .output();
        }
    }
    panic!("the build cache still holds {:?}", cache_records(marker));
}

/// A fleet of one image whose early layer is slow and random (so a reused layer is recognisable),
/// pushed to a fresh repository of the open registry.
fn reuse_fleet(prefix: &str, marker: &str, builder: &str) -> Fleet {
    let registry = service("FLEET_TEST_REGISTRY");
    let mut fleet = Fleet::new();
    fleet.env_remove("FLEET_IMAGES_BUILDER"); // the manifest decides
    fleet
        .manifest(&format!(
            r#"
[defaults]
builder = "{builder}"

[registry]
kind = "registry"
url = "{registry}/{prefix}"

[images.app]
context = "app"
args = {{ BASE = "{base}" }}
repository = "{prefix}/app"
tags = ["latest"]
"#,
            base = base_image()
        ))
        .write(
            "app/Dockerfile",
            format!("ARG BASE\nFROM ${{BASE}}\nRUN echo {marker} && head -c 16 /dev/urandom | od -An -tx1 > /random && sleep 4\nCOPY src.txt /src.txt\n"),
        )
        .write("app/src.txt", "one\n");
    fleet
}

/// `build --push`, checked to succeed and build `app`; returns stderr and the wall time.
fn build_push(fleet: &Fleet, json: &str) -> (String, std::time::Duration) {
    let started = std::time::Instant::now();
    let run = fleet.run(&[
        "--manifest",
        "fleet.toml",
        "build",
        "--push",
        "--progress",
        "plain",
        "-v",
        "--json-out",
        json,
    ]);
    run.ok();
    assert_eq!(outcomes(fleet, json), [("app".into(), "built".into())]);
    (run.stderr, started.elapsed())
}

/// What a fresh runner lacks: this test's images, its build cache and its state directory.
fn fresh_runner(fleet: &Fleet, prefix: &str, marker: &str) {
    let images = docker(&["images", "--format", "{{.Repository}}:{{.Tag}}"]);
    let mine: Vec<&str> = images.lines().filter(|l| l.contains(prefix)).collect();
    if !mine.is_empty() {
        let mut rmi = vec!["rmi", "-f"];
        rmi.extend(mine);
        docker(&rmi);
    }
    forget_cache(marker);
    let _ = std::fs::remove_dir_all(fleet.file(".fleet-images"));
}

#[test]
fn a_fresh_runner_rebuilds_only_the_changed_layers_from_the_registry() {
    let prefix = unique("fi-reuse");
    let _cleanup = ImageCleanup::new(&prefix);
    let marker = unique("slowstep");
    let registry = service("FLEET_TEST_REGISTRY");
    let fleet = reuse_fleet(&prefix, &marker, "buildkit");
    let (_, cold) = build_push(&fleet, "r1.json");
    let latest = format!("{registry}/{prefix}/{prefix}/app:latest");
    let random = run_in(&latest, &["cat", "/random"]);

    // Twice: an image built from the registry's layers must serve as cache in its turn (the
    // engine's BuildKit wrote incomplete cache metadata into such images unless the source was
    // pulled first, and reuse then worked every second build only).
    for (round, source) in [(2, "two\n"), (3, "three\n")] {
        fresh_runner(&fleet, &prefix, &marker);
        fleet.write("app/src.txt", source);
        let (stderr, reused) = build_push(&fleet, &format!("r{round}.json"));
        assert!(
            stderr.contains(&format!("CACHED [2/3] RUN echo {marker}")),
            "round {round}: the slow step came from the registry: {stderr}"
        );
        assert!(
            stderr.contains(&format!("cache: pulled {latest}")),
            "{stderr}"
        );
        // The tag the pull added is gone again (the runner never had it).
        let tags = docker(&["images", "--format", "{{.Repository}}:{{.Tag}}"]);
        assert!(!tags.lines().any(|t| t == latest), "{tags}");
        assert_eq!(
            run_in(&latest, &["cat", "/random"]),
            random,
            "round {round}: the slow step's layer is the first build's"
        );
        assert_eq!(run_in(&latest, &["cat", "/src.txt"]), source);
        assert!(
            reused < cold,
            "round {round}: reusing took {reused:?}, building from nothing {cold:?}"
        );
    }
}

#[test]
fn a_fresh_runner_on_the_classic_builder_reuses_the_registrys_layers_too() {
    let prefix = unique("fi-reusec");
    let _cleanup = ImageCleanup::new(&prefix);
    let marker = unique("slowstepc");
    let registry = service("FLEET_TEST_REGISTRY");
    let fleet = reuse_fleet(&prefix, &marker, "classic");
    build_push(&fleet, "r1.json");
    let latest = format!("{registry}/{prefix}/{prefix}/app:latest");
    let random = run_in(&latest, &["cat", "/random"]);
    fresh_runner(&fleet, &prefix, &marker);
    fleet.write("app/src.txt", "two\n");
    let (stderr, _) = build_push(&fleet, "r2.json");
    let step = stderr
        .lines()
        .position(|l| l.contains(&format!("RUN echo {marker}")))
        .expect("the slow step is logged");
    assert!(
        stderr
            .lines()
            .nth(step + 1)
            .unwrap_or_default()
            .contains("Using cache"),
        "{stderr}"
    );
    assert_eq!(run_in(&latest, &["cat", "/random"]), random);
}
