//! Engine selection as the docker CLI does it, against the real engine: a Docker context read from
//! a `DOCKER_CONFIG` of the test's own, `DOCKER_CONTEXT`, `DOCKER_HOST` winning over both, and an
//! `ssh://` engine reached through an sshd of the test's own on 127.0.0.1.

use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use fleet_images::docker::endpoint::context_dir_name;

use crate::build::fixture;
use crate::support::{docker, unique, Fleet, ImageCleanup};

/// The test engine's socket.
const ENGINE_SOCKET: &str = "/var/run/docker.sock";

/// A Docker config directory with contexts, as `docker context create` writes them.
struct DockerConfig {
    dir: tempfile::TempDir,
}

impl DockerConfig {
    fn new() -> Self {
        Self {
            dir: tempfile::tempdir().unwrap(),
        }
    }

    fn path(&self) -> &str {
        self.dir.path().to_str().unwrap()
    }

    fn context(&self, name: &str, host: &str) -> &Self {
        let meta = self
            .dir
            .path()
            .join("contexts/meta")
            .join(context_dir_name(name));
        std::fs::create_dir_all(&meta).unwrap();
        let value = serde_json::json!({
            "Name": name,
            "Metadata": {"Description": "fleet-images test"},
            "Endpoints": {"docker": {"Host": host, "SkipTLSVerify": false}},
        });
        std::fs::write(meta.join("meta.json"), value.to_string()).unwrap();
        self
    }

    fn current(&self, name: &str) -> &Self {
        std::fs::write(
            self.dir.path().join("config.json"),
            serde_json::json!({"auths": {}, "currentContext": name}).to_string(),
        )
        .unwrap();
        self
    }

    /// A socket path of the config's own that leads to the test engine: a run that reaches the
    /// engine through it can only have taken it from the context.
    fn engine_link(&self) -> String {
        let link = self.dir.path().join("engine.sock");
        if !link.exists() {
            std::os::unix::fs::symlink(ENGINE_SOCKET, &link).unwrap();
        }
        format!("unix://{}", link.display())
    }
}

fn fleet_with(config: &DockerConfig, prefix: &str) -> Fleet {
    let mut fleet = fixture(prefix);
    fleet
        .env("DOCKER_CONFIG", config.path())
        .env_remove("DOCKER_HOST")
        .env_remove("DOCKER_CONTEXT");
    fleet
}

fn plan_verbose(fleet: &Fleet) -> crate::support::Run {
    fleet.run(&[
        "--manifest",
        "fleet.toml",
        "-v",
        "--progress",
        "plain",
        "plan",
        "--json",
        "web",
    ])
}

#[test]
fn the_current_context_chooses_the_engine() {
    let prefix = unique("fi-ctx");
    let config = DockerConfig::new();
    let good = config.engine_link();
    config.context("fi-colima", &good).current("fi-colima");
    let fleet = fleet_with(&config, &prefix);
    let run = plan_verbose(&fleet);
    run.ok();
    assert!(
        run.stderr.contains(&format!(
            "Docker engine: {good}, from context `fi-colima`, the currentContext of {}/config.json",
            config.path()
        )),
        "{}",
        run.stderr
    );
    // The engine answered: the base image was resolved through it, not left unresolved.
    let bases = &run.json()["images"][0]["bases"][0]["identity"];
    assert!(
        bases.as_str().unwrap().starts_with("digest:sha256:"),
        "{bases}"
    );

    // A context pointing at a socket that is not there: the engine the context names is the one
    // tried, and the error says why it was chosen.
    let missing = format!("unix://{}/gone.sock", config.path());
    config.context("fi-broken", &missing).current("fi-broken");
    let run = fleet.run(&["--manifest", "fleet.toml", "build", "web"]);
    run.expect_code(3);
    assert!(
        run.stderr.contains(&format!(
            "error: cannot reach the Docker engine at `{missing}` (from context `fi-broken`, the currentContext of"
        )),
        "{}",
        run.stderr
    );
}

#[test]
fn docker_context_wins_over_the_config_and_docker_host_over_both() {
    let prefix = unique("fi-ctx");
    let config = DockerConfig::new();
    let good = config.engine_link();
    let missing = format!("unix://{}/gone.sock", config.path());
    config
        .context("fi-good", &good)
        .context("fi-broken", &missing)
        .current("fi-broken");
    let mut fleet = fleet_with(&config, &prefix);
    fleet.env("DOCKER_CONTEXT", "fi-good");
    let run = plan_verbose(&fleet);
    run.ok();
    assert!(
        run.stderr.contains(&format!(
            "Docker engine: {good}, from context `fi-good` named by DOCKER_CONTEXT"
        )),
        "{}",
        run.stderr
    );

    let mut fleet = fleet_with(&config, &prefix);
    fleet
        .env("DOCKER_CONTEXT", "fi-broken")
        .env("DOCKER_HOST", &good);
    let run = plan_verbose(&fleet);
    run.ok();
    assert!(
        run.stderr.contains(&format!(
            "Docker engine: {good}, from DOCKER_HOST (it wins over DOCKER_CONTEXT=fi-broken, as in the docker CLI)"
        )),
        "{}",
        run.stderr
    );
}

#[test]
fn a_context_that_does_not_exist_is_bad_input_with_a_hint() {
    let config = DockerConfig::new();
    let mut fleet = fleet_with(&config, &unique("fi-ctx"));
    fleet.env("DOCKER_CONTEXT", "fi-nowhere");
    let run = fleet.run(&["--manifest", "fleet.toml", "plan"]);
    run.expect_code(2);
    assert!(
        run.stderr.contains(&format!(
            "error: Docker context `fi-nowhere` (named by DOCKER_CONTEXT) does not exist: there is no {}/contexts/meta/{}/meta.json",
            config.path(),
            context_dir_name("fi-nowhere")
        )),
        "{}",
        run.stderr
    );
    assert!(run
        .stderr
        .contains("hint: list the contexts with `docker context ls`"));
}

/// An sshd of the test's own on a free 127.0.0.1 port, key authentication for root only, and an
/// `ssh` on PATH that uses the test's key and known-hosts file (ssh reads its config from the
/// user's home, which a test must not touch). Stopped and removed when dropped.
struct Sshd {
    dir: tempfile::TempDir,
    child: Child,
    port: u16,
}

impl Sshd {
    fn start() -> Self {
        let sshd = Path::new("/usr/sbin/sshd");
        assert!(
            sshd.exists(),
            "the ssh test needs Debian's openssh-server: apt-get install openssh-server"
        );
        let dir = tempfile::tempdir().unwrap();
        let d = dir.path();
        for key in ["host_key", "id"] {
            let status = Command::new("ssh-keygen")
                .args(["-q", "-t", "ed25519", "-N", "", "-f"])
                .arg(d.join(key))
                .status()
                .unwrap();
            assert!(status.success());
        }
        std::fs::copy(d.join("id.pub"), d.join("authorized_keys")).unwrap();
        // sshd refuses to start without its privilege-separation directory.
        std::fs::create_dir_all("/run/sshd").unwrap();
        let port = TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        std::fs::write(
            d.join("sshd_config"),
            format!(
                "ListenAddress 127.0.0.1\nPort {port}\nHostKey {d}/host_key\nAuthorizedKeysFile {d}/authorized_keys\nPermitRootLogin prohibit-password\nPasswordAuthentication no\nKbdInteractiveAuthentication no\nUsePAM no\nStrictModes no\nPidFile {d}/sshd.pid\n",
                d = d.display()
            ),
        )
        .unwrap();
        std::fs::write(
            d.join("ssh_config"),
            format!(
                "Host *\n  IdentityFile {d}/id\n  IdentitiesOnly yes\n  UserKnownHostsFile {d}/known_hosts\n  StrictHostKeyChecking accept-new\n",
                d = d.display()
            ),
        )
        .unwrap();
        std::fs::create_dir(d.join("bin")).unwrap();
        let wrapper = d.join("bin/ssh");
        std::fs::write(
            &wrapper,
            format!(
                "#!/bin/sh\nexec /usr/bin/ssh -F {}/ssh_config \"$@\"\n",
                d.display()
            ),
        )
        .unwrap();
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&wrapper, std::fs::Permissions::from_mode(0o755)).unwrap();
        let child = Command::new(sshd)
            .args(["-D", "-e", "-f"])
            .arg(d.join("sshd_config"))
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(std::fs::File::create(d.join("sshd.log")).unwrap())
            .spawn()
            .unwrap();
        let started = Instant::now();
        while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
            assert!(
                started.elapsed() < Duration::from_secs(10),
                "sshd did not start: {}",
                std::fs::read_to_string(d.join("sshd.log")).unwrap_or_default()
            );
            std::thread::sleep(Duration::from_millis(50));
        }
        Self { dir, child, port }
    }

    /// PATH with the test's `ssh` first.
    fn path_env(&self) -> String {
        format!(
            "{}:{}",
            self.dir.path().join("bin").display(),
            std::env::var("PATH").unwrap_or_default()
        )
    }

    fn log(&self) -> PathBuf {
        self.dir.path().join("sshd.log")
    }
}

impl Drop for Sshd {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

#[test]
fn an_ssh_engine_builds_through_sshd() {
    let sshd = Sshd::start();
    let prefix = unique("fi-ssh");
    let _cleanup = ImageCleanup::new(&prefix);
    let config = DockerConfig::new();
    let mut fleet = fleet_with(&config, &prefix);
    let host = format!("ssh://root@127.0.0.1:{}", sshd.port);
    fleet
        .env("DOCKER_HOST", &host)
        .env("PATH", &sshd.path_env());
    let run = fleet.run(&[
        "--manifest",
        "fleet.toml",
        "-v",
        "--progress",
        "plain",
        "build",
        "web",
        "--json-out",
        "r.json",
    ]);
    run.ok();
    assert!(
        run.stderr
            .contains(&format!("Docker engine: {host}, from DOCKER_HOST")),
        "{}",
        run.stderr
    );
    let log = std::fs::read_to_string(sshd.log()).unwrap();
    assert!(
        log.contains("Accepted publickey for root from 127.0.0.1"),
        "the build did not go through sshd:\n{log}"
    );
    // The image is in the engine behind sshd (the test engine), with the key the run reported.
    let result: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(fleet.file("r.json")).unwrap()).unwrap();
    let image = &result["images"][0];
    assert_eq!(image["outcome"], "built", "{result}");
    let key = image["key"].as_str().unwrap();
    let label = docker(&[
        "image",
        "inspect",
        "--format",
        "{{index .Config.Labels \"io.fleet-images.key\"}}",
        &format!("{prefix}/web:key-{}", &key[..32]),
    ]);
    assert_eq!(label.trim(), key);

    // Through ssh, the second run finds the key and builds nothing.
    let run = fleet.run(&["--manifest", "fleet.toml", "plan", "--json", "web"]);
    assert_eq!(run.ok().json()["images"][0]["status"], "local");

    // A context can name the ssh engine too (how a team shares "the build box").
    config.context("fi-build-box", &host);
    let mut fleet = fleet_with(&config, &prefix);
    fleet
        .env("DOCKER_CONTEXT", "fi-build-box")
        .env("PATH", &sshd.path_env());
    let run = plan_verbose(&fleet);
    assert_eq!(run.ok().json()["images"][0]["status"], "local");
    assert!(
        run.stderr.contains(&format!(
            "Docker engine: {host}, from context `fi-build-box` named by DOCKER_CONTEXT"
        )),
        "{}",
        run.stderr
    );

    // ssh's own words reach the user when it cannot log in.
    let mut fleet = fleet_with(&config, &prefix);
    fleet
        .env(
            "DOCKER_HOST",
            &format!("ssh://fi-no-such-user@127.0.0.1:{}", sshd.port),
        )
        .env("PATH", &sshd.path_env());
    let run = fleet.run(&["--manifest", "fleet.toml", "build", "web"]);
    run.expect_code(3);
    assert!(
        run.stderr.contains("Permission denied (publickey)"),
        "{}",
        run.stderr
    );
}
