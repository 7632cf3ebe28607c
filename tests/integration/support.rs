//! Shared test support: a temporary fleet directory, running the real binary in it, and the
//! addresses of the test services.

#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::atomic::{AtomicUsize, Ordering};

/// A service address from the test environment. Fails loudly when it is missing: tests never pass
/// by skipping.
pub fn service(name: &str) -> String {
    std::env::var(name).unwrap_or_else(|_| {
        panic!("{name} is not set: start the test services with `scripts/test-env up` and `source target/test-env/env` (or run `scripts/test`)")
    })
}

/// A name no other test (or earlier run) uses: for repositories, tags and images.
pub fn unique(prefix: &str) -> String {
    static COUNTER: AtomicUsize = AtomicUsize::new(0);
    let n = COUNTER.fetch_add(1, Ordering::SeqCst);
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .subsec_nanos();
    format!("{prefix}-{}-{n}-{nanos:x}", std::process::id())
}

/// A fleet in a temporary directory.
pub struct Fleet {
    dir: tempfile::TempDir,
    env: Vec<(String, String)>,
    removed_env: Vec<String>,
}

/// The result of one run of the binary.
#[derive(Debug)]
pub struct Run {
    pub code: i32,
    pub stdout: String,
    pub stderr: String,
}

impl Run {
    /// Asserts the exit code, printing both streams when it differs.
    #[track_caller]
    pub fn expect_code(&self, code: i32) -> &Self {
        assert_eq!(
            self.code, code,
            "exit code\n--- stdout\n{}\n--- stderr\n{}",
            self.stdout, self.stderr
        );
        self
    }

    /// Asserts success.
    #[track_caller]
    pub fn ok(&self) -> &Self {
        self.expect_code(0)
    }

    /// stdout parsed as JSON.
    #[track_caller]
    pub fn json(&self) -> serde_json::Value {
        serde_json::from_str(&self.stdout)
            .unwrap_or_else(|e| panic!("stdout is not JSON ({e}):\n{}", self.stdout))
    }
}

impl Fleet {
    /// An empty fleet directory.
    pub fn new() -> Self {
        Self {
            dir: tempfile::tempdir().expect("tempdir"),
            env: Vec::new(),
            removed_env: Vec::new(),
        }
    }

    /// The directory.
    pub fn path(&self) -> &Path {
        self.dir.path()
    }

    /// Writes a file (creating parent directories).
    pub fn write(&self, rel: &str, content: impl AsRef<[u8]>) -> &Self {
        let path = self.dir.path().join(rel);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, content).unwrap();
        self
    }

    /// Writes `fleet.toml` at the root.
    pub fn manifest(&self, text: &str) -> &Self {
        self.write("fleet.toml", text)
    }

    /// Sets an environment variable for every run.
    pub fn env(&mut self, name: &str, value: &str) -> &mut Self {
        self.env.push((name.to_string(), value.to_string()));
        self
    }

    /// Removes an environment variable for every run.
    pub fn env_remove(&mut self, name: &str) -> &mut Self {
        self.removed_env.push(name.to_string());
        self
    }

    /// The command, run in the fleet directory with its own state directory and plain progress.
    pub fn command(&self, args: &[&str]) -> Command {
        let mut command = Command::new(env!("CARGO_BIN_EXE_fleet-images"));
        command
            .current_dir(self.dir.path())
            .args(args)
            .env(
                "FLEET_IMAGES_STATE_DIR",
                self.dir.path().join(".fleet-images"),
            )
            .env("FLEET_IMAGES_TEST_FAST", "1")
            .env_remove("FLEET_IMAGES_MANIFEST")
            .env_remove("GITHUB_STEP_SUMMARY");
        for name in &self.removed_env {
            command.env_remove(name);
        }
        for (name, value) in &self.env {
            command.env(name, value);
        }
        command
    }

    /// Runs the binary with `args` and waits.
    pub fn run(&self, args: &[&str]) -> Run {
        let output: Output = self.command(args).output().expect("run fleet-images");
        Run {
            code: output.status.code().unwrap_or(-1),
            stdout: String::from_utf8_lossy(&output.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
        }
    }

    /// The path of a file in the fleet.
    pub fn file(&self, rel: &str) -> PathBuf {
        self.dir.path().join(rel)
    }
}
