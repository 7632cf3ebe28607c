//! Hostile input through the real binary (issue 14): each case ends with its documented exit code
//! and a message that names the file (and line, where there is one), never a panic (101) or a hang.

use std::io::Read;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use crate::support::{base_image, unique, Fleet, ImageCleanup};

const BIN: &str = env!("CARGO_BIN_EXE_fleet-images");

/// Runs `command` and kills it after `limit`: a hang fails the test instead of stalling the suite.
fn run_within(mut command: Command, limit: Duration) -> (i32, String, String) {
    let mut child = command
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn fleet-images");
    let started = Instant::now();
    loop {
        if let Some(status) = child.try_wait().unwrap() {
            let mut out = String::new();
            let mut err = String::new();
            child
                .stdout
                .take()
                .unwrap()
                .read_to_string(&mut out)
                .unwrap();
            child
                .stderr
                .take()
                .unwrap()
                .read_to_string(&mut err)
                .unwrap();
            return (status.code().unwrap_or(-1), out, err);
        }
        if started.elapsed() > limit {
            let _ = child.kill();
            panic!("fleet-images did not finish within {limit:?}");
        }
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// One image `a` in context `ctx`, with the Dockerfile written there.
fn one_image(dockerfile: &str) -> Fleet {
    let fleet = Fleet::new();
    fleet
        .manifest("[images.a]\ncontext = \"ctx\"\n")
        .write("ctx/Dockerfile", dockerfile)
        .write("ctx/app.txt", "app\n");
    fleet
}

fn mkfifo(path: &std::path::Path) {
    let status = Command::new("mkfifo").arg(path).status().unwrap();
    assert!(status.success());
}

#[track_caller]
fn plan_refuses(fleet: &Fleet, needles: &[&str]) -> String {
    let (code, stdout, stderr) = run_within(
        fleet.command(&["--manifest", "fleet.toml", "plan"]),
        Duration::from_secs(60),
    );
    // The blocked image's reason is in the plan's table (stdout).
    let stderr = format!("{stdout}{stderr}");
    assert_eq!(code, 2, "{stderr}");
    for needle in needles {
        assert!(stderr.contains(needle), "`{needle}` not in:\n{stderr}");
    }
    assert!(!stderr.contains("panicked"), "{stderr}");
    stderr
}

#[test]
fn a_fifo_named_dockerignore_or_dockerfile_is_refused_without_hanging() {
    let fleet = one_image("FROM scratch\nCOPY app.txt /\n");
    mkfifo(&fleet.file("ctx/.dockerignore"));
    plan_refuses(
        &fleet,
        &[
            "ctx/.dockerignore",
            "it is a fifo (named pipe), not a regular file",
        ],
    );

    let fleet = one_image("");
    std::fs::remove_file(fleet.file("ctx/Dockerfile")).unwrap();
    mkfifo(&fleet.file("ctx/Dockerfile"));
    plan_refuses(
        &fleet,
        &[
            "ctx/Dockerfile",
            "it is a fifo (named pipe), not a regular file",
        ],
    );
}

#[test]
fn an_ignore_file_or_dockerfile_linked_to_dev_zero_is_refused() {
    let fleet = one_image("FROM scratch\n");
    std::os::unix::fs::symlink("/dev/zero", fleet.file("ctx/.dockerignore")).unwrap();
    plan_refuses(&fleet, &["ctx/.dockerignore", "it is a character device"]);

    let fleet = one_image("");
    std::fs::remove_file(fleet.file("ctx/Dockerfile")).unwrap();
    std::os::unix::fs::symlink("/dev/zero", fleet.file("ctx/Dockerfile")).unwrap();
    plan_refuses(&fleet, &["ctx/Dockerfile", "it is a character device"]);
}

#[test]
fn an_ignore_file_over_its_cap_is_refused() {
    let fleet = one_image("FROM scratch\n");
    let line = "# a comment that is long enough to fill the file quickly\n";
    fleet.write(".dockerignore", "");
    fleet.write("ctx/.dockerignore", line.repeat((1 << 20) / line.len() + 1));
    plan_refuses(&fleet, &["ctx/.dockerignore", "larger than the 1 MiB cap"]);
}

#[test]
fn a_context_that_is_a_file_and_a_dockerfile_that_is_a_directory_say_so() {
    let fleet = Fleet::new();
    fleet
        .manifest("[images.a]\ncontext = \"ctx\"\n")
        .write("ctx", "not a directory\n");
    plan_refuses(
        &fleet,
        &["is not a directory", "--> fleet.toml:2 (images.a.context)"],
    );

    let fleet = Fleet::new();
    fleet
        .manifest("[images.a]\ncontext = \"ctx\"\n")
        .write("ctx/Dockerfile/x", "");
    plan_refuses(
        &fleet,
        &["ctx/Dockerfile", "it is a directory, not a regular file"],
    );
}

#[test]
fn plan_prints_everything_then_exits_2_when_an_image_is_blocked() {
    let fleet = Fleet::new();
    fleet
        .manifest("[images.good]\ncontext = \"good\"\n[images.bad]\ncontext = \"bad\"\n")
        .write("good/Dockerfile", "FROM scratch\nCOPY a /\n")
        .write("good/a", "a\n")
        .write("bad/Dockerfile", "# no FROM at all\nRUN true\n");
    let (code, stdout, stderr) = run_within(
        fleet.command(&["--manifest", "fleet.toml", "plan", "--json"]),
        Duration::from_secs(60),
    );
    assert_eq!(code, 2, "{stderr}");
    let json: serde_json::Value = serde_json::from_str(&stdout).unwrap();
    let statuses: Vec<(&str, &str)> = json["images"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| (i["name"].as_str().unwrap(), i["status"].as_str().unwrap()))
        .collect();
    assert_eq!(statuses, [("good", "build"), ("bad", "blocked")]);
    let reason = json["images"][1]["reason"].as_str().unwrap();
    assert!(reason.contains("bad/Dockerfile"), "{reason}");

    // Without the bad image selected, the gate passes.
    let (code, _, stderr) = run_within(
        fleet.command(&["--manifest", "fleet.toml", "plan", "good"]),
        Duration::from_secs(60),
    );
    assert_eq!(code, 0, "{stderr}");
}

#[test]
fn overflowing_durations_are_bad_input_before_any_work() {
    let fleet = one_image("FROM scratch\n");
    for args in [
        vec![
            "--manifest",
            "fleet.toml",
            "build",
            "--timeout",
            "18446744073709551615s",
        ],
        vec![
            "--manifest",
            "fleet.toml",
            "deploy",
            "--timeout",
            "18446744073709551615s",
        ],
    ] {
        let run = fleet.run(&args);
        run.expect_code(2);
        assert!(
            run.stderr
                .contains("--timeout 18446744073709551615s: it is longer than the limit of 7days"),
            "{}",
            run.stderr
        );
    }
}

#[test]
fn credentials_in_a_registry_url_never_reach_output() {
    let fleet = one_image("FROM scratch\n");
    fleet.manifest(
        "[registry]\nkind = \"registry\"\nurl = \"http://ci-bot:s3cret-pass@127.0.0.1:5000\"\n[images.a]\ncontext = \"ctx\"\n",
    );
    let run = fleet.run(&[
        "--manifest",
        "fleet.toml",
        "build",
        "--push",
        "--json-out",
        "out.json",
    ]);
    run.expect_code(2);
    assert!(
        !run.stderr.contains("s3cret") && !run.stdout.contains("s3cret"),
        "{}",
        run.stderr
    );
    assert!(
        run.stderr.contains("--> fleet.toml:3 (registry.url)"),
        "{}",
        run.stderr
    );
}

/// `plan --json | head -c 10`: the reader leaves early; the tool goes on quietly, no panic.
#[test]
fn a_closed_pipe_ends_the_run_quietly() {
    let fleet = Fleet::new();
    let mut manifest = String::new();
    // Enough images that the JSON is larger than a pipe's buffer.
    for i in 0..400 {
        manifest.push_str(&format!("[images.image-{i}]\ncontext = \"ctx\"\n"));
    }
    fleet
        .manifest(&manifest)
        .write("ctx/Dockerfile", "FROM scratch\nCOPY a /\n")
        .write("ctx/a", "a\n");
    let shell = |script: String| {
        // The fleet's environment (state directory, plain progress), with bash in front.
        let command = fleet.command(&[]);
        let mut shell = Command::new("bash");
        shell.arg("-c").arg(script).current_dir(fleet.path());
        for (name, value) in command.get_envs() {
            match value {
                Some(value) => shell.env(name, value),
                None => shell.env_remove(name),
            };
        }
        shell
    };
    let (_, _, stderr) = run_within(
        shell(format!(
            "'{BIN}' --manifest fleet.toml plan --json | head -c 10 >/dev/null; echo \"status=${{PIPESTATUS[0]}}\" >&2"
        )),
        Duration::from_secs(120),
    );
    assert!(stderr.contains("status=0"), "{stderr}");
    assert!(
        !stderr.contains("panicked") && !stderr.contains("Broken pipe"),
        "{stderr}"
    );

    // With stderr closed outright, an error still ends with its own code.
    let (code, _, _) = run_within(
        shell(format!("'{BIN}' --manifest missing.toml plan 2>&-")),
        Duration::from_secs(60),
    );
    assert_eq!(code, 2);

    // `clap_complete` panics when its writer fails; completions are written from memory.
    let (_, _, stderr) = run_within(
        shell(format!(
            "'{BIN}' completions zsh | head -c 10 >/dev/null; echo \"status=${{PIPESTATUS[0]}}\" >&2"
        )),
        Duration::from_secs(60),
    );
    assert!(stderr.contains("status=0"), "{stderr}");
}

/// CI runners cancel with SIGTERM: the run stops like on Ctrl+C, exits 130 and still writes
/// `--json-out` (an older file never stays in place).
#[test]
fn sigterm_is_handled_as_an_interruption() {
    let prefix = unique("fi-sigterm");
    let _cleanup = ImageCleanup::new(&prefix);
    let fleet = Fleet::new();
    fleet
        .manifest(&format!(
            "[images.slow]\ncontext = \"slow\"\nrepository = \"{prefix}/slow\"\nargs = {{ BASE = \"{}\", ID = \"{prefix}\" }}\n",
            base_image()
        ))
        .write("slow/Dockerfile", "ARG BASE\nFROM ${BASE}\nARG ID\nRUN echo ${ID} && sleep 60\n")
        .write("out.json", "{\"stale\": true}\n");
    let mut child = fleet
        .command(&[
            "--manifest",
            "fleet.toml",
            "build",
            "--json-out",
            "out.json",
        ])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    std::thread::sleep(Duration::from_secs(5));
    let pid = child.id().to_string();
    assert!(Command::new("kill")
        .args(["-TERM", &pid])
        .status()
        .unwrap()
        .success());
    let started = Instant::now();
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        assert!(
            started.elapsed() < Duration::from_secs(60),
            "no exit after SIGTERM"
        );
        std::thread::sleep(Duration::from_millis(100));
    };
    let mut stderr = String::new();
    child
        .stderr
        .take()
        .unwrap()
        .read_to_string(&mut stderr)
        .unwrap();
    assert_eq!(status.code(), Some(130), "{stderr}");
    let written: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(fleet.file("out.json")).unwrap()).unwrap();
    assert_eq!(written["interrupted"], true);
    assert_eq!(written["exit_code"], 130);
}

/// The builder cannot read what lies outside the context: a `..` source, a dangling symlink, a
/// symlink to a file outside. Each fails `plan` naming the Dockerfile line, before any build.
#[test]
fn copy_sources_the_context_cannot_provide_fail_before_building() {
    for (line, needle) in [
        ("COPY ../../etc/passwd /p", "source `../../etc/passwd` points outside the build context"),
        ("ADD sub/../../x /p", "source `sub/../../x` points outside the build context"),
        ("COPY dangling /p", "`dangling` (Dockerfile line 2) of image `a` is a symlink to `/nonexistent`"),
        ("COPY outside /p", "is a symlink to `/etc/passwd`, which the builder follows inside the build context to `etc/passwd`, where nothing exists"),
    ] {
        let fleet = one_image(&format!("FROM scratch\n{line}\n"));
        std::os::unix::fs::symlink("/nonexistent", fleet.file("ctx/dangling")).unwrap();
        std::os::unix::fs::symlink("/etc/passwd", fleet.file("ctx/outside")).unwrap();
        plan_refuses(&fleet, &[needle, "--> ctx/Dockerfile:2"]);
    }
    // A link to a file inside the context is fine.
    let fleet = one_image("FROM scratch\nCOPY inside /p\n");
    std::os::unix::fs::symlink("app.txt", fleet.file("ctx/inside")).unwrap();
    fleet.run(&["--manifest", "fleet.toml", "plan"]).ok();
}

/// Outputs that cannot be written are refused before any work, not after the build.
#[test]
fn unwritable_outputs_are_refused_before_any_work() {
    let fleet = one_image("FROM scratch\nCOPY app.txt /\n");
    let run = fleet.run(&[
        "--manifest",
        "fleet.toml",
        "build",
        "--json-out",
        "missing/dir/out.json",
    ]);
    run.expect_code(2);
    assert_eq!(
        run.stderr.trim_end(),
        "error: --json-out missing/dir/out.json: its directory does not exist; name a file in a writable directory"
    );
    fleet.write("state-file", "");
    let run = fleet.run(&[
        "--manifest",
        "fleet.toml",
        "--state-dir",
        "state-file",
        "plan",
    ]);
    run.expect_code(2);
    assert!(
        run.stderr
            .starts_with("error: state directory state-file: it is not a directory;"),
        "{}",
        run.stderr
    );
}

#[test]
fn a_context_at_the_filesystem_root_is_refused_at_once() {
    let fleet = Fleet::new();
    fleet.manifest("[images.a]\ncontext = \"/\"\ndockerfile = \"Dockerfile\"\n");
    fleet.write("Dockerfile", "FROM scratch\nCOPY . /\n");
    plan_refuses(
        &fleet,
        &[
            "build context `/` of image `a` is the root of the filesystem",
            "--> fleet.toml:2 (images.a.context)",
        ],
    );
}

/// Under `--progress json` stderr is a stream of JSON objects only: the summary table stays out.
#[test]
fn progress_json_keeps_stderr_pure_json() {
    let fleet = one_image("# no FROM\nRUN true\n");
    let run = fleet.run(&[
        "--manifest",
        "fleet.toml",
        "--progress",
        "json",
        "build",
        "--json-out",
        "out.json",
    ]);
    run.expect_code(2);
    for line in run.stderr.lines().filter(|l| !l.trim().is_empty()) {
        serde_json::from_str::<serde_json::Value>(line)
            .unwrap_or_else(|e| panic!("not JSON ({e}): {line}\n--- stderr\n{}", run.stderr));
    }
    let written: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(fleet.file("out.json")).unwrap()).unwrap();
    assert_eq!(written["images"][0]["outcome"], "blocked");
}
