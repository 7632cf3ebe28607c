//! Registry faults injected by [`FaultProxy`] in front of the real registry (127.0.0.1:5000),
//! with the real engine pushing through it: errors and stalls on the way to `latest`, a `HEAD`
//! that names a digest the registry does not have, a refused login at push time.

use std::path::Path;
use std::time::{Duration, Instant};

use fleet_images::manifest::{parse, LoadOptions};
use fleet_images::names::{Digest, RepositoryName, Tag};
use fleet_images::registry::Registry;

use crate::fault_proxy::{Fault, FaultProxy, Rule};
use crate::support::{base_image, service, unique, Fleet, ImageCleanup};

/// Two independent images, `alpha` and `beta`, each with the moving tag `latest`, pushed to
/// `registry` (`host:port`) under `prefix`.
fn fleet(prefix: &str, registry: &str) -> Fleet {
    let fleet = Fleet::new();
    fleet
        .manifest(&manifest(prefix, registry))
        .write(
            "alpha/Dockerfile",
            "ARG BASE\nFROM ${BASE}\nARG FIXTURE\nLABEL fleet-test.fixture=${FIXTURE}\nCOPY v /v\n",
        )
        .write("alpha/v", "alpha 1\n")
        .write(
            "beta/Dockerfile",
            "ARG BASE\nFROM ${BASE}\nARG FIXTURE\nLABEL fleet-test.fixture=${FIXTURE}\nCOPY v /v\n",
        )
        .write("beta/v", "beta 1\n");
    fleet
}

fn manifest(prefix: &str, registry: &str) -> String {
    format!(
        r#"
[registry]
kind = "registry"
url = "{registry}"

[images.alpha]
context = "alpha"
args = {{ BASE = "{base}", FIXTURE = "{prefix}" }}
repository = "{prefix}/alpha"
tags = ["latest"]

[images.beta]
context = "beta"
args = {{ BASE = "{base}", FIXTURE = "{prefix}" }}
repository = "{prefix}/beta"
tags = ["latest"]
"#,
        base = base_image()
    )
}

/// What the real registry (not the proxy) holds for `prefix/image:tag`.
fn real_digest(prefix: &str, image: &str, tag: &str) -> Option<Digest> {
    let text = manifest(prefix, &service("FLEET_TEST_REGISTRY"));
    let manifest = parse(Path::new("fleet.toml"), &text, &LoadOptions::default()).unwrap();
    let config = manifest.registry.unwrap();
    let runtime = tokio::runtime::Runtime::new().unwrap();
    runtime.block_on(async {
        let registry = Registry::connect(&config).await.unwrap();
        let repository: RepositoryName = format!("{prefix}/{image}").parse().unwrap();
        let tag: Tag = tag.parse().unwrap();
        registry.lookup(&repository, &tag).await.unwrap()
    })
}

/// Runs the binary, killed after `limit`: a fault that hangs the run fails the test instead of
/// hanging it. Returns the exit code and stderr.
fn run_bounded(fleet: &Fleet, args: &[&str], limit: Duration) -> (Option<i32>, String) {
    let started = Instant::now();
    let mut child = fleet
        .command(args)
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    while child.try_wait().unwrap().is_none() {
        if started.elapsed() > limit {
            child.kill().unwrap();
            panic!(
                "`fleet-images {}` still runs after {limit:?}",
                args.join(" ")
            );
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    let output = child.wait_with_output().unwrap();
    (
        output.status.code(),
        String::from_utf8_lossy(&output.stderr).into_owned(),
    )
}

fn json(fleet: &Fleet, file: &str) -> serde_json::Value {
    serde_json::from_str(&std::fs::read_to_string(fleet.file(file)).unwrap()).unwrap()
}

#[test]
fn a_failed_moving_tag_puts_back_the_ones_already_moved() {
    let prefix = unique("fi-halfmove");
    let _cleanup = ImageCleanup::new(&prefix);
    let proxy = FaultProxy::start(&service("FLEET_TEST_REGISTRY"), Vec::new());
    let fleet = fleet(&prefix, proxy.address());
    fleet
        .run(&["--manifest", "fleet.toml", "build", "--push"])
        .ok();
    let alpha_v1 = real_digest(&prefix, "alpha", "latest").expect("alpha:latest");
    let beta_v1 = real_digest(&prefix, "beta", "latest").expect("beta:latest");

    // v2 of both; the registry fails every write of beta's `latest`, after alpha's has moved.
    fleet
        .write("alpha/v", "alpha 2\n")
        .write("beta/v", "beta 2\n");
    proxy.set_rules(vec![Rule::always(
        Some("PUT"),
        &format!("{prefix}/beta/manifests/latest"),
        Fault::Status(500, Vec::new()),
    )]);
    let run = fleet.run(&[
        "--manifest",
        "fleet.toml",
        "build",
        "--push",
        "--json-out",
        "r.json",
    ]);
    assert_ne!(run.code, 0, "{}", run.stderr);
    assert!(!proxy.hits().is_empty(), "the fault was not injected");
    assert!(
        run.stderr.contains("moving tag `latest` not written"),
        "{}",
        run.stderr
    );
    assert!(run.stderr.contains("put back"), "{}", run.stderr);
    assert_eq!(
        real_digest(&prefix, "alpha", "latest"),
        Some(alpha_v1.clone()),
        "alpha:latest was left moved while beta:latest could not be: {}",
        run.stderr
    );
    assert_eq!(
        real_digest(&prefix, "beta", "latest"),
        Some(beta_v1.clone())
    );
    assert_eq!(json(&fleet, "r.json")["exit_code"], run.code);

    // The registry is well again: the next run moves both.
    proxy.set_rules(Vec::new());
    fleet
        .run(&["--manifest", "fleet.toml", "build", "--push"])
        .ok();
    assert_ne!(real_digest(&prefix, "alpha", "latest"), Some(alpha_v1));
    assert_ne!(
        real_digest(&prefix, "beta", "latest"),
        Some(beta_v1.clone())
    );
}

#[test]
fn a_head_naming_a_digest_the_registry_lacks_does_not_make_an_image_remote() {
    let prefix = unique("fi-liehead");
    let _cleanup = ImageCleanup::new(&prefix);
    let bogus = format!("sha256:{}", "0".repeat(64));
    let proxy = FaultProxy::start(
        &service("FLEET_TEST_REGISTRY"),
        vec![Rule::always(
            Some("HEAD"),
            &format!("{prefix}/alpha/manifests/"),
            Fault::Digest(bogus.clone()),
        )],
    );
    let fleet = fleet(&prefix, proxy.address());
    let run = fleet.run(&[
        "--manifest",
        "fleet.toml",
        "build",
        "--push",
        "--json-out",
        "r.json",
    ]);
    run.ok();
    assert!(!proxy.hits().is_empty(), "the fault was not injected");
    let result = json(&fleet, "r.json");
    let alpha = &result["images"][0];
    assert_eq!(alpha["name"], "alpha");
    assert_eq!(alpha["outcome"], "built", "{alpha}");
    assert_ne!(alpha["digest"], bogus.as_str());
    let pushed = real_digest(&prefix, "alpha", "latest").expect("alpha:latest was written");
    assert_eq!(alpha["digest"], pushed.to_string());
}

#[test]
fn a_push_the_registry_stops_answering_fails_with_exit_3_naming_image_and_registry() {
    let prefix = unique("fi-stall");
    let _cleanup = ImageCleanup::new(&prefix);
    let proxy = FaultProxy::start(
        &service("FLEET_TEST_REGISTRY"),
        vec![Rule::always(None, "/blobs/uploads/", Fault::Stall)],
    );
    let mut fleet = fleet(&prefix, proxy.address());
    fleet.env("FLEET_IMAGES_PUSH_STALL_SECS", "5");
    // Without a stall timeout the run never ends.
    let (code, stderr) = run_bounded(
        &fleet,
        &["--manifest", "fleet.toml", "build", "--push"],
        Duration::from_secs(180),
    );
    assert!(!proxy.hits().is_empty(), "the fault was not injected");
    assert_eq!(code, Some(3), "{stderr}");
    assert!(stderr.contains("made no progress for 5.0s"), "{stderr}");
    assert!(
        stderr.contains(&format!("{}/{prefix}/alpha", proxy.address())),
        "{stderr}"
    );
    assert!(stderr.contains("FLEET_IMAGES_PUSH_STALL_SECS"), "{stderr}");
    assert!(
        real_digest(&prefix, "alpha", "latest").is_none(),
        "no moving tag after a failed push"
    );
}

#[test]
fn a_push_refused_for_authentication_is_exit_3() {
    let prefix = unique("fi-pushauth");
    let _cleanup = ImageCleanup::new(&prefix);
    let proxy = FaultProxy::start(
        &service("FLEET_TEST_REGISTRY"),
        vec![Rule::always(
            Some("POST"),
            "/blobs/uploads/",
            Fault::Status(
                401,
                vec![(
                    "WWW-Authenticate".into(),
                    "Basic realm=\"fault-proxy\"".into(),
                )],
            ),
        )],
    );
    let fleet = fleet(&prefix, proxy.address());
    let run = fleet.run(&["--manifest", "fleet.toml", "build", "--push"]);
    assert!(!proxy.hits().is_empty(), "the fault was not injected");
    run.expect_code(3);
    assert!(run.stderr.contains("push of"), "{}", run.stderr);
    assert!(run.stderr.contains("credentials"), "{}", run.stderr);
}

#[test]
fn busy_and_flaky_registry_answers_are_retried_and_the_run_succeeds() {
    let prefix = unique("fi-flaky");
    let _cleanup = ImageCleanup::new(&prefix);
    let proxy = FaultProxy::start(
        &service("FLEET_TEST_REGISTRY"),
        vec![
            // The key-tag lookups: a 429 asking to wait, then a 503.
            Rule {
                times: 1,
                ..Rule::always(
                    Some("HEAD"),
                    &format!("{prefix}/alpha/manifests/"),
                    Fault::Status(429, vec![("Retry-After".into(), "1".into())]),
                )
            },
            Rule {
                times: 1,
                ..Rule::always(
                    Some("HEAD"),
                    &format!("{prefix}/beta/manifests/"),
                    Fault::Status(503, Vec::new()),
                )
            },
            // The manifest read of the moving-tag phase: the connection drops mid-body.
            Rule {
                times: 1,
                ..Rule::always(
                    Some("GET"),
                    &format!("{prefix}/alpha/manifests/sha256:"),
                    Fault::ResetAfter(200),
                )
            },
            // Writing `latest`: a reset before any answer.
            Rule {
                times: 1,
                ..Rule::always(
                    Some("PUT"),
                    &format!("{prefix}/beta/manifests/latest"),
                    Fault::Reset,
                )
            },
        ],
    );
    let fleet = fleet(&prefix, proxy.address());
    let run = fleet.run(&["--manifest", "fleet.toml", "build", "--push"]);
    run.ok();
    let hits = proxy.hits();
    assert_eq!(hits.len(), 4, "every fault was injected once: {hits:#?}");
    assert!(real_digest(&prefix, "alpha", "latest").is_some());
    assert!(real_digest(&prefix, "beta", "latest").is_some());
}

#[test]
fn a_token_service_answering_404_is_exit_3() {
    let prefix = unique("fi-token404");
    let proxy = FaultProxy::start(&service("FLEET_TEST_REGISTRY"), Vec::new());
    let realm = format!("http://{}/token", proxy.address());
    proxy.set_rules(vec![
        Rule::always(
            Some("GET"),
            "/v2/",
            Fault::Status(
                401,
                vec![(
                    "WWW-Authenticate".into(),
                    format!("Bearer realm=\"{realm}\",service=\"fault-proxy\""),
                )],
            ),
        ),
        Rule::always(Some("GET"), "/token", Fault::Status(404, Vec::new())),
    ]);
    let fleet = fleet(&prefix, proxy.address());
    let run = fleet.run(&["--manifest", "fleet.toml", "push"]);
    assert!(
        proxy.hits().iter().any(|h| h.starts_with("GET /token")),
        "{:#?}",
        proxy.hits()
    );
    run.expect_code(3);
    assert!(run.stderr.contains("token"), "{}", run.stderr);
}

#[test]
fn cache_and_state_files_that_are_fifos_are_skipped_not_waited_on() {
    let prefix = unique("fi-fifo");
    let fleet = fleet(&prefix, &service("FLEET_TEST_REGISTRY"));
    let state = fleet.file(".fleet-images");
    std::fs::create_dir_all(state.join("inputs")).unwrap();
    for name in [
        "content-cache-v3",
        "listing-cache-v2",
        "known-images",
        "inputs/alpha.json",
    ] {
        let made = std::process::Command::new("mkfifo")
            .arg(state.join(name))
            .status()
            .unwrap();
        assert!(made.success());
    }
    let (code, stderr) = run_bounded(
        &fleet,
        &["--manifest", "fleet.toml", "hash"],
        Duration::from_secs(60),
    );
    assert_eq!(code, Some(0), "{stderr}");
    let (code, stderr) = run_bounded(
        &fleet,
        &["--manifest", "fleet.toml", "plan", "--explain", "alpha"],
        Duration::from_secs(60),
    );
    assert!(code.is_some(), "{stderr}");
}

/// The state directory's file whose name starts with `prefix` (the caches carry a version).
fn state_file(fleet: &Fleet, prefix: &str) -> std::path::PathBuf {
    std::fs::read_dir(fleet.file(".fleet-images"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .find(|p| p.file_name().unwrap().to_str().unwrap().starts_with(prefix))
        .unwrap_or_else(|| panic!("no {prefix}* in the state directory"))
}

#[test]
fn a_flipped_byte_in_a_cache_is_a_miss_not_a_wrong_key() {
    let prefix = unique("fi-flip");
    let fleet = fleet(&prefix, &service("FLEET_TEST_REGISTRY"));
    fleet
        .write("alpha/Dockerfile", "ARG BASE\nFROM ${BASE}\nCOPY . /app\n")
        .write("alpha/secret.txt", "must be sent\n");
    // Nothing modified in the last two seconds is cached.
    std::thread::sleep(Duration::from_millis(2100));
    let hash = || {
        let run = fleet.run(&["--manifest", "fleet.toml", "hash"]);
        run.ok();
        run.stdout
    };
    let keys = hash();
    assert_eq!(hash(), keys, "served from the caches");

    // A listing that says `secret.txt` is a fifo (kind 4): the file would not be sent.
    let listings = state_file(&fleet, "listing-cache-");
    let mut bytes = std::fs::read(&listings).unwrap();
    let at = bytes
        .windows(b"secret.txt".len())
        .position(|w| w == b"secret.txt")
        .expect("the listing is cached");
    assert_eq!(bytes[at - 3], 2, "a regular file");
    bytes[at - 3] = 4;
    std::fs::write(&listings, &bytes).unwrap();
    assert_eq!(hash(), keys, "the damaged listing was trusted");

    // A content record whose sha256 is damaged: its file would hash wrong.
    std::thread::sleep(Duration::from_millis(100));
    let contents = state_file(&fleet, "content-cache-");
    let mut bytes = std::fs::read(&contents).unwrap();
    // The first record's sha256 follows the magic and the 56-byte stamp.
    for byte in &mut bytes[8 + 56..8 + 56 + 32] {
        *byte ^= 0xff;
    }
    std::fs::write(&contents, &bytes).unwrap();
    assert_eq!(hash(), keys, "the damaged hash was trusted");
    assert_eq!(hash(), keys);
}

#[test]
fn ctrl_c_while_moving_tags_are_written_puts_back_the_ones_moved() {
    let prefix = unique("fi-sigmove");
    let _cleanup = ImageCleanup::new(&prefix);
    let proxy = FaultProxy::start(&service("FLEET_TEST_REGISTRY"), Vec::new());
    let fleet = fleet(&prefix, proxy.address());
    fleet
        .run(&["--manifest", "fleet.toml", "build", "--push"])
        .ok();
    let alpha_v1 = real_digest(&prefix, "alpha", "latest").expect("alpha:latest");
    let beta_v1 = real_digest(&prefix, "beta", "latest").expect("beta:latest");

    // v2 of both; the registry takes alpha's `latest` (the first written) at once but answers
    // slowly: Ctrl+C then, with alpha's moved and beta's not.
    fleet
        .write("alpha/v", "alpha 2\n")
        .write("beta/v", "beta 2\n");
    proxy.set_rules(vec![Rule {
        times: 1,
        ..Rule::always(
            Some("PUT"),
            &format!("{prefix}/alpha/manifests/latest"),
            Fault::SlowAnswer(Duration::from_secs(5)),
        )
    }]);
    let started = Instant::now();
    let mut child = fleet
        .command(&["--manifest", "fleet.toml", "build", "--push"])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    while proxy.hits().is_empty() {
        assert!(
            started.elapsed() < Duration::from_secs(120),
            "the moving-tag phase never started"
        );
        assert!(child.try_wait().unwrap().is_none(), "the run ended early");
        std::thread::sleep(Duration::from_millis(50));
    }
    let interrupted = std::process::Command::new("kill")
        .args(["-INT", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(interrupted.success());
    let waited = Instant::now();
    while child.try_wait().unwrap().is_none() {
        if waited.elapsed() > Duration::from_secs(60) {
            child.kill().unwrap();
            panic!("the run did not end after Ctrl+C");
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    let output = child.wait_with_output().unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(130), "{stderr}");
    assert!(stderr.contains("put back"), "{stderr}");
    proxy.set_rules(Vec::new());
    assert_eq!(
        real_digest(&prefix, "alpha", "latest"),
        Some(alpha_v1),
        "{stderr}"
    );
    assert_eq!(
        real_digest(&prefix, "beta", "latest"),
        Some(beta_v1),
        "{stderr}"
    );
}

#[test]
fn a_failed_build_whose_log_could_not_be_created_names_no_log() {
    let prefix = unique("fi-nolog");
    let _cleanup = ImageCleanup::new(&prefix);
    let fleet = fleet(&prefix, &service("FLEET_TEST_REGISTRY"));
    fleet.write(
        "alpha/Dockerfile",
        "ARG BASE\nFROM ${BASE}\nRUN echo failing-step && exit 7\n",
    );
    // `logs` is a file: the log directory cannot be created.
    fleet.write(".fleet-images/logs", "not a directory\n");
    let run = fleet.run(&["--manifest", "fleet.toml", "build", "alpha"]);
    run.expect_code(1);
    assert!(run.stderr.contains("failing-step"), "{}", run.stderr);
    // The classic builder quotes the log's last lines; BuildKit the failing step's output.
    assert!(
        run.stderr.contains("its log file could not be created")
            || run.stderr.contains("output of the failing step"),
        "{}",
        run.stderr
    );
    assert!(!run.stderr.contains("logs/alpha.log"), "{}", run.stderr);
    assert!(!run.stderr.contains("the full log is in"), "{}", run.stderr);
}

#[test]
fn losing_the_engine_in_the_middle_of_a_push_is_exit_3() {
    let prefix = unique("fi-enginelost");
    let _cleanup = ImageCleanup::new(&prefix);
    // The engine behind the proxy: the push's progress stream breaks after its first bytes.
    let engine = FaultProxy::start(
        "unix:/var/run/docker.sock",
        vec![Rule::always(Some("POST"), "/push", Fault::ResetAfter(300))],
    );
    let mut fleet = fleet(&prefix, &service("FLEET_TEST_REGISTRY"));
    fleet
        .env("DOCKER_HOST", &format!("tcp://{}", engine.address()))
        .env_remove("DOCKER_CONTEXT");
    let (code, stderr) = run_bounded(
        &fleet,
        &["--manifest", "fleet.toml", "build", "--push"],
        Duration::from_secs(120),
    );
    assert!(!engine.hits().is_empty(), "the fault was not injected");
    assert_eq!(code, Some(3), "{stderr}");
    assert!(
        stderr.contains("connection to the engine broke"),
        "{stderr}"
    );
}

/// Every file under `dir` whose name has `tmp` in it.
fn temp_files(dir: &Path) -> Vec<std::path::PathBuf> {
    let mut found = Vec::new();
    let Ok(entries) = std::fs::read_dir(dir) else {
        return found;
    };
    for entry in entries {
        let path = entry.unwrap().path();
        if path.is_dir() {
            found.extend(temp_files(&path));
        } else if path.file_name().unwrap().to_string_lossy().contains("tmp") {
            found.push(path);
        }
    }
    found
}

#[test]
fn a_full_state_file_system_leaves_no_temp_files() {
    let prefix = unique("fi-full");
    let _cleanup = ImageCleanup::new(&prefix);
    let fleet = fleet(&prefix, &service("FLEET_TEST_REGISTRY"));
    // Every file write fails as on a full disk (EFBIG from a file-size limit of 0; the signal
    // that would come with it is ignored).
    let inner = fleet.command(&["--manifest", "fleet.toml", "build"]);
    let mut command = std::process::Command::new("sh");
    command
        .arg("-c")
        .arg("trap '' XFSZ; ulimit -f 0; exec \"$0\" \"$@\"")
        .arg(inner.get_program())
        .args(inner.get_args())
        .current_dir(fleet.path());
    for (name, value) in inner.get_envs() {
        match value {
            Some(value) => command.env(name, value),
            None => command.env_remove(name),
        };
    }
    let output = command.output().unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(0), "{stderr}");
    let left = temp_files(&fleet.file(".fleet-images"));
    assert!(left.is_empty(), "left behind: {left:?}");
}

/// CI cancels with SIGTERM: a `push` waiting on a registry that stopped answering ends with
/// exit 130 (not 143), its summary, and `--json-out` written over an older file.
#[test]
fn sigterm_while_a_push_waits_is_exit_130_with_json_out() {
    let prefix = unique("fi-push-term");
    let _cleanup = ImageCleanup::new(&prefix);
    let proxy = FaultProxy::start(&service("FLEET_TEST_REGISTRY"), Vec::new());
    let fleet = fleet(&prefix, proxy.address());
    fleet.run(&["--manifest", "fleet.toml", "build"]).ok();
    proxy.set_rules(vec![Rule::always(None, "/blobs/uploads/", Fault::Stall)]);
    fleet.write("p.json", "{\"stale\": true}\n");
    let mut child = fleet
        .command(&["--manifest", "fleet.toml", "push", "--json-out", "p.json"])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let started = Instant::now();
    while proxy.hits().is_empty() {
        assert!(
            started.elapsed() < Duration::from_secs(120),
            "the push never reached the registry"
        );
        assert!(child.try_wait().unwrap().is_none(), "the run ended early");
        std::thread::sleep(Duration::from_millis(50));
    }
    std::thread::sleep(Duration::from_millis(500));
    assert!(std::process::Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .unwrap()
        .success());
    let waited = Instant::now();
    while child.try_wait().unwrap().is_none() {
        if waited.elapsed() > Duration::from_secs(60) {
            child.kill().unwrap();
            panic!("the push did not end after SIGTERM");
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    let output = child.wait_with_output().unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(130), "{stderr}");
    assert!(stderr.contains("interrupted"), "{stderr}");
    let written = json(&fleet, "p.json");
    assert_eq!(written["interrupted"], true, "{written}");
    assert_eq!(written["exit_code"], 130, "{written}");
    proxy.set_rules(Vec::new());
    assert!(
        real_digest(&prefix, "alpha", "latest").is_none(),
        "no moving tag after an interrupted push"
    );
}

/// Losing the engine while a `RUN` step runs (the connection to it cut mid-build) is exit 3, the
/// engine could not be reached, not a failed step (exit 1).
#[test]
fn losing_the_engine_in_the_middle_of_a_build_is_exit_3() {
    let prefix = unique("fi-buildlost");
    let _cleanup = ImageCleanup::new(&prefix);
    // The build's progress stream is cut after the step's first output, while it still sleeps.
    let engine = FaultProxy::start(
        "unix:/var/run/docker.sock",
        vec![Rule::always(
            Some("POST"),
            "/build",
            Fault::ResetAfter(2500),
        )],
    );
    let mut fleet = fleet(&prefix, &service("FLEET_TEST_REGISTRY"));
    fleet
        .write(
            "alpha/Dockerfile",
            format!(
                "ARG BASE\nFROM ${{BASE}}\nRUN echo {prefix} && sleep 2 && head -c 4000 /dev/zero | tr '\\\\0' x && echo && sleep 30\n"
            ),
        );
    fleet
        .env("DOCKER_HOST", &format!("tcp://{}", engine.address()))
        .env_remove("DOCKER_CONTEXT");
    let (code, stderr) = run_bounded(
        &fleet,
        &[
            "--manifest",
            "fleet.toml",
            "build",
            "alpha",
            "--builder",
            "classic",
        ],
        Duration::from_secs(120),
    );
    assert!(!engine.hits().is_empty(), "the fault was not injected");
    assert_eq!(code, Some(3), "{stderr}");
    assert!(
        stderr.contains("connection to the engine broke"),
        "{stderr}"
    );
    assert!(stderr.contains("alpha"), "{stderr}");
}

/// A content-cache record that looks intact but holds a stale hash (the file is not what it
/// says): the build fails naming the file, the record is dropped, and the next run hashes the
/// file itself and builds.
#[test]
fn a_stale_content_cache_entry_is_named_dropped_and_the_rerun_builds() {
    use sha2::{Digest as _, Sha256};
    use std::os::unix::fs::MetadataExt;
    let prefix = unique("fi-stale");
    let _cleanup = ImageCleanup::new(&prefix);
    let fleet = fleet(&prefix, &service("FLEET_TEST_REGISTRY"));
    fleet
        .write("alpha/Dockerfile", "ARG BASE\nFROM ${BASE}\nCOPY . /app\n")
        .write("alpha/stale.txt", "the real content\n");
    // Nothing modified in the last two seconds is cached.
    std::thread::sleep(Duration::from_millis(2100));
    fleet.run(&["--manifest", "fleet.toml", "hash"]).ok();

    // The record of `stale.txt` gets another file's hash, with a checksum that matches.
    let ino = std::fs::metadata(fleet.file("alpha/stale.txt"))
        .unwrap()
        .ino();
    let contents = state_file(&fleet, "content-cache-");
    let mut bytes = std::fs::read(&contents).unwrap();
    const RECORD: usize = 56 + 32 + 8;
    let at = (8..bytes.len())
        .step_by(RECORD)
        .find(|&at| u64::from_le_bytes(bytes[at + 8..at + 16].try_into().unwrap()) == ino)
        .expect("stale.txt is cached");
    let wrong: [u8; 32] = Sha256::digest(b"other content\n").into();
    bytes[at + 56..at + 88].copy_from_slice(&wrong);
    let check = Sha256::new()
        .chain_update(&bytes[at..at + 56])
        .chain_update(wrong)
        .finalize();
    bytes[at + 88..at + 96].copy_from_slice(&check[..8]);
    std::fs::write(&contents, &bytes).unwrap();

    let failed = fleet.run(&["--manifest", "fleet.toml", "build", "alpha"]);
    assert_eq!(failed.code, 1, "{}", failed.stderr);
    assert!(failed.stderr.contains("stale.txt"), "{}", failed.stderr);
    assert!(
        failed.stderr.contains("content cache held a stale hash"),
        "{}",
        failed.stderr
    );
    assert!(failed.stderr.contains("run again"), "{}", failed.stderr);
    assert!(!failed.stderr.contains("SendRequest"), "{}", failed.stderr);

    fleet
        .run(&["--manifest", "fleet.toml", "build", "alpha"])
        .ok();
}
