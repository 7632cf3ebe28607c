//! `build` against the real engine: a fixture fleet built from the local busybox base.

use crate::support::{base_image, docker, unique, Fleet, ImageCleanup};

/// Four images: `base` (from the busybox base), `app` built on it, a multi-stage `tools`, and a
/// non-root `web` serving with httpd on 8080. The `FIXTURE` arg makes every test's keys its own,
/// so tests running at once never find each other's images.
pub(crate) fn fixture(prefix: &str) -> Fleet {
    let fleet = Fleet::new();
    fleet
        .manifest(&format!(
            r#"
[vars]
base = "{base}"

[images.base]
context = "base"
args = {{ BASE = "${{base}}", FIXTURE = "{prefix}" }}
repository = "{prefix}/base"
tags = ["latest"]

[images.app]
context = "app"
depends_on = ["base"]
args = {{ FIXTURE = "{prefix}" }}
repository = "{prefix}/app"

[images.tools]
context = "tools"
args = {{ BASE = "${{base}}", FIXTURE = "{prefix}" }}
repository = "{prefix}/tools"

[images.web]
context = "web"
args = {{ BASE = "${{base}}", FIXTURE = "{prefix}" }}
repository = "{prefix}/web"
"#,
            base = base_image()
        ))
        .write("base/Dockerfile", "ARG BASE\nFROM ${BASE}\nARG FIXTURE\nLABEL fleet-test.fixture=${FIXTURE}\nCOPY motd /etc/motd\nRUN mkdir -p /opt/fleet && echo base > /opt/fleet/layer\n")
        .write("base/motd", "fleet base\n")
        .write("app/Dockerfile", "ARG BASE_IMAGE\nFROM ${BASE_IMAGE}\nCOPY app.sh /opt/fleet/app.sh\nCMD [\"sh\", \"/opt/fleet/app.sh\"]\n")
        .write("app/app.sh", "echo app\n")
        .write(
            "tools/Dockerfile",
            "ARG BASE\nFROM ${BASE} AS build\nARG FIXTURE\nLABEL fleet-test.fixture=${FIXTURE}\nCOPY src /src\nRUN cat /src/*.txt > /combined.txt\nFROM ${BASE}\nARG FIXTURE\nLABEL fleet-test.fixture=${FIXTURE}\nCOPY --from=build /combined.txt /opt/combined.txt\n",
        )
        .write("tools/src/a.txt", "a\n")
        .write("tools/src/b.txt", "b\n")
        .write(
            "web/Dockerfile",
            "ARG BASE\nFROM ${BASE}\nARG FIXTURE\nLABEL fleet-test.fixture=${FIXTURE}\nCOPY www /www\nUSER app\nEXPOSE 8080\nCMD [\"httpd\", \"-f\", \"-p\", \"8080\", \"-h\", \"/www\"]\n",
        )
        .write("web/www/index.html", "<h1>fleet</h1>\n");
    fleet
}

pub(crate) fn outcomes(fleet: &Fleet, json_out: &str) -> Vec<(String, String)> {
    let text = std::fs::read_to_string(fleet.file(json_out)).unwrap();
    let json: serde_json::Value = serde_json::from_str(&text).unwrap();
    json["images"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| {
            (
                i["name"].as_str().unwrap().to_string(),
                i["outcome"].as_str().unwrap().to_string(),
            )
        })
        .collect()
}

/// Each image's status in `plan --json` (with `extra` arguments), in plan order.
pub(crate) fn plan_statuses(fleet: &Fleet, extra: &[&str]) -> Vec<String> {
    let mut args = vec!["--manifest", "fleet.toml", "plan", "--json"];
    args.extend_from_slice(extra);
    fleet.run(&args).json()["images"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["status"].as_str().unwrap().to_string())
        .collect()
}

pub(crate) fn pairs(items: &[(&str, &str)]) -> Vec<(String, String)> {
    items
        .iter()
        .map(|(a, b)| (a.to_string(), b.to_string()))
        .collect()
}

#[test]
fn builds_a_fleet_then_builds_nothing() {
    let prefix = unique("fi-build");
    let _cleanup = ImageCleanup::new(&prefix);
    let fleet = fixture(&prefix);
    let run = fleet.run(&["--manifest", "fleet.toml", "build", "--json-out", "r1.json"]);
    run.ok();
    assert_eq!(
        outcomes(&fleet, "r1.json"),
        pairs(&[
            ("base", "built"),
            ("app", "built"),
            ("tools", "built"),
            ("web", "built")
        ])
    );
    // The moving tag and the key tag are both on the image.
    let tags = docker(&["images", "--format", "{{.Tag}}", &format!("{prefix}/base")]);
    assert!(tags.lines().any(|t| t == "latest"), "{tags}");
    assert!(tags.lines().any(|t| t.starts_with("key-")), "{tags}");
    // The dependency was built from the base image just built.
    let motd = docker(&[
        "run",
        "--rm",
        &format!("{prefix}/base:latest"),
        "cat",
        "/etc/motd",
    ]);
    assert_eq!(motd, "fleet base\n");

    let run = fleet.run(&["--manifest", "fleet.toml", "build", "--json-out", "r2.json"]);
    run.ok();
    assert_eq!(
        outcomes(&fleet, "r2.json"),
        pairs(&[
            ("base", "local"),
            ("app", "local"),
            ("tools", "local"),
            ("web", "local")
        ])
    );
    assert_eq!(
        plan_statuses(&fleet, &[]),
        ["local", "local", "local", "local"]
    );

    // The manifest's repository changed: the image is found through the id this machine recorded
    // for its key, not rebuilt, and gets the new repository's tags.
    let manifest = std::fs::read_to_string(fleet.file("fleet.toml")).unwrap();
    fleet.manifest(&manifest.replace(
        &format!("\"{prefix}/tools\""),
        &format!("\"{prefix}/tools-renamed\""),
    ));
    assert_eq!(
        plan_statuses(&fleet, &[]),
        ["local", "local", "local", "local"]
    );
    let run = fleet.run(&[
        "--manifest",
        "fleet.toml",
        "build",
        "--json-out",
        "r2b.json",
    ]);
    run.ok();
    assert_eq!(
        outcomes(&fleet, "r2b.json"),
        pairs(&[
            ("base", "local"),
            ("app", "local"),
            ("tools", "local"),
            ("web", "local")
        ])
    );
    let tags = docker(&[
        "images",
        "--format",
        "{{.Tag}}",
        &format!("{prefix}/tools-renamed"),
    ]);
    assert!(tags.lines().any(|t| t.starts_with("key-")), "{tags}");

    // One file changed: exactly the images whose keys it is in, and their dependents.
    fleet.write("base/motd", "fleet base v2\n");
    let run = fleet.run(&["--manifest", "fleet.toml", "build", "--json-out", "r3.json"]);
    run.ok();
    assert_eq!(
        outcomes(&fleet, "r3.json"),
        pairs(&[
            ("base", "built"),
            ("app", "built"),
            ("tools", "local"),
            ("web", "local")
        ])
    );
}

#[test]
fn a_failing_step_fails_that_image_and_its_dependents_only() {
    let prefix = unique("fi-fail");
    let _cleanup = ImageCleanup::new(&prefix);
    let fleet = fixture(&prefix);
    fleet.write(
        "base/Dockerfile",
        "ARG BASE\nFROM ${BASE}\nARG FIXTURE\nLABEL fleet-test.fixture=${FIXTURE}\nCOPY motd /etc/motd\nRUN echo about to fail && exit 3\n",
    );
    let run = fleet.run(&[
        "--manifest",
        "fleet.toml",
        "build",
        "--json-out",
        "r.json",
        "--progress",
        "plain",
    ]);
    run.expect_code(1);
    assert_eq!(
        outcomes(&fleet, "r.json"),
        pairs(&[
            ("base", "failed"),
            ("app", "skipped"),
            ("tools", "built"),
            ("web", "built")
        ])
    );
    assert!(
        run.stderr.contains("RUN echo about to fail && exit 3"),
        "{}",
        run.stderr
    );
    // The classic builder says "returned a non-zero code: 3", BuildKit "exit code: 3".
    assert!(
        run.stderr.contains("returned a non-zero code: 3") || run.stderr.contains("exit code: 3"),
        "{}",
        run.stderr
    );
    assert!(
        run.stderr.contains("about to fail"),
        "the log tail is shown: {}",
        run.stderr
    );
    assert!(fleet.file(".fleet-images/logs/base.log").exists());
    // No container is left behind by the failed step (forcerm).
    let left = docker(&[
        "ps",
        "-a",
        "--filter",
        &format!("ancestor={}", base_image()),
        "--format",
        "{{.ID}} {{.Command}}",
    ]);
    assert!(!left.contains("about to fail"), "containers left: {left}");
}

#[test]
fn a_copy_of_an_ignored_file_fails_before_building() {
    let prefix = unique("fi-ignored");
    let fleet = fixture(&prefix);
    fleet.write("web/.dockerignore", "www\n");
    let run = fleet.run(&["--manifest", "fleet.toml", "build", "web"]);
    run.expect_code(2);
    assert!(
        run.stderr
            .contains("`www` (Dockerfile line 5) of image `web` is excluded by"),
        "{}",
        run.stderr
    );
    assert!(
        run.stderr.contains(
            "hint: remove the pattern that excludes `www` or add `!www` to the ignore file"
        ),
        "{}",
        run.stderr
    );
}

#[test]
fn a_dead_engine_is_exit_3_with_a_hint() {
    let prefix = unique("fi-dead");
    let mut fleet = fixture(&prefix);
    fleet.env("DOCKER_HOST", "unix:///nonexistent/docker.sock");
    let run = fleet.run(&["--manifest", "fleet.toml", "build"]);
    run.expect_code(3);
    assert!(
        run.stderr
            .contains("error: cannot reach the Docker engine at `unix:///nonexistent/docker.sock`"),
        "{}",
        run.stderr
    );
    assert!(
        run.stderr.contains("hint: is dockerd running?"),
        "{}",
        run.stderr
    );
}

/// Every path, type, mode, size and content hash in an image's file system.
fn tree(image: &str) -> Vec<String> {
    let container = docker(&["create", image]).trim().to_string();
    let output = std::process::Command::new("docker")
        .args(["export", &container])
        .output()
        .unwrap();
    docker(&["rm", &container]);
    let mut archive = tar::Archive::new(output.stdout.as_slice());
    let mut entries = Vec::new();
    for entry in archive.entries().unwrap() {
        let mut entry = entry.unwrap();
        let header = entry.header().clone();
        let path = entry.path().unwrap().display().to_string();
        if path.starts_with(".dockerenv")
            || path.starts_with("etc/hostname")
            || path.starts_with("etc/hosts")
            || path.starts_with("etc/resolv.conf")
            || path.starts_with("dev/")
            || path.starts_with("proc/")
            || path.starts_with("sys/")
        {
            continue;
        }
        let mut content = Vec::new();
        std::io::Read::read_to_end(&mut entry, &mut content).unwrap();
        let link = header
            .link_name()
            .unwrap()
            .map(|l| l.display().to_string())
            .unwrap_or_default();
        entries.push(format!(
            "{path} {:?} {:o} {} {} {}",
            header.entry_type(),
            header.mode().unwrap(),
            content.len(),
            sha(&content),
            link
        ));
    }
    entries.sort();
    entries
}

fn sha(bytes: &[u8]) -> String {
    use sha2::Digest;
    hex::encode(sha2::Sha256::digest(bytes))
}

#[test]
fn the_built_file_tree_equals_docker_builds() {
    let prefix = unique("fi-tree");
    let _cleanup = ImageCleanup::new(&prefix);
    let fleet = fixture(&prefix);
    fleet
        .run(&["--manifest", "fleet.toml", "build", "tools", "web"])
        .ok();
    for image in ["tools", "web"] {
        let reference = format!("{prefix}/cli-{image}");
        let output = std::process::Command::new("docker")
            .env("DOCKER_BUILDKIT", "0")
            .args([
                "build",
                "-q",
                "--build-arg",
                &format!("BASE={}", base_image()),
                "-t",
                &reference,
            ])
            .arg(fleet.file(image))
            .output()
            .unwrap();
        assert!(
            output.status.success(),
            "{}",
            String::from_utf8_lossy(&output.stderr)
        );
        let ours = docker(&["images", "-q", &format!("{prefix}/{image}")]);
        let ours = ours.lines().next().unwrap();
        assert_eq!(tree(ours), tree(&reference), "{image}");
    }
}

#[test]
fn ctrl_c_cancels_builds_tags_nothing_and_leaves_no_container() {
    let prefix = unique("fi-int");
    let _cleanup = ImageCleanup::new(&prefix);
    let fleet = fixture(&prefix);
    let marker = unique("sleeper");
    // A duration no other process has: busybox's shell execs the last command, so the step's
    // process is found by its `sleep` arguments, not by the marker.
    let sleep = format!(
        "120.{}",
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .subsec_nanos()
    );
    fleet.write(
        "web/Dockerfile",
        format!("ARG BASE\nFROM ${{BASE}}\nARG FIXTURE\nLABEL fleet-test.fixture=${{FIXTURE}}\nCOPY www /www\nRUN echo {marker} && sleep {sleep}\n"),
    );
    let mut child = fleet
        .command(&[
            "--manifest",
            "fleet.toml",
            "build",
            "web",
            "--progress",
            "plain",
        ])
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let log = fleet.file(".fleet-images/logs/web.log");
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
    // The step's output line: `<marker>` from the classic builder, `#6 <marker>` from BuildKit.
    let printed = |text: &str| {
        text.lines()
            .any(|line| line.split_whitespace().last() == Some(&marker) && !line.contains("echo"))
    };
    while !printed(&std::fs::read_to_string(&log).unwrap_or_default()) {
        assert!(
            std::time::Instant::now() < deadline,
            "the build never reached its RUN step"
        );
        std::thread::sleep(std::time::Duration::from_millis(200));
    }
    // The step's process is visible before the interrupt (so its absence after means something).
    let running = || {
        let processes = std::process::Command::new("ps")
            .args(["-eo", "args"])
            .output()
            .map(|o| String::from_utf8_lossy(&o.stdout).into_owned())
            .unwrap_or_default();
        processes
            .lines()
            .any(|p| p.trim() == format!("sleep {sleep}"))
    };
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    while !running() {
        assert!(
            std::time::Instant::now() < deadline,
            "the step's `sleep {sleep}` never showed up"
        );
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
    let status = std::process::Command::new("kill")
        .args(["-INT", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(status.success());
    let code = child.wait().unwrap().code();
    assert_eq!(code, Some(130));
    assert_eq!(
        docker(&["images", "-q", &format!("{prefix}/web")]),
        "",
        "an unfinished image was tagged"
    );
    // The engine stops the build once its client is gone; give it a moment to remove the container.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
    loop {
        let left = docker(&["ps", "-a", "--no-trunc", "--format", "{{.Command}}"]);
        if !left.contains(&marker) {
            break;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "a build container was left behind: {left}"
        );
        std::thread::sleep(std::time::Duration::from_millis(500));
    }
    // BuildKit runs steps without engine containers: the step's process must be gone too.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
    while running() {
        assert!(
            std::time::Instant::now() < deadline,
            "the build's step still runs after the interrupt"
        );
        std::thread::sleep(std::time::Duration::from_millis(500));
    }
}
