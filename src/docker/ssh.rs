//! `ssh://` engines, reached the way the docker CLI reaches them: for each connection, run
//! `ssh … HOST docker system dial-stdio` and speak the Engine API over its stdin and stdout.
//!
//! The tool serves a private unix socket (in a 0700 directory of its own) and bridges every
//! connection made to it through such a process, so the rest of the tool talks to a remote engine
//! exactly as to a local socket. Connections share one ssh session (`ControlMaster`), so only the
//! first one pays for the handshake. bollard's own `ssh` feature was not used: it hands ssh the
//! host without its port (`ssh://user@host:2222` tries port 22) and always accepts new host keys.
//!
//! ssh reads the user's own configuration (`~/.ssh/config`, the agent, `known_hosts`), never asks
//! for a password (`BatchMode`), and gives up connecting after [`CONNECT_TIMEOUT`].

use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::io::AsyncReadExt;
use tokio::net::{UnixListener, UnixStream};
use tokio::process::Command;

/// How long ssh may take to connect before the engine counts as unreachable.
pub const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);
/// How long the shared ssh session outlives its last connection.
const PERSIST: &str = "30";

/// Where an `ssh://` URL points.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SshTarget {
    /// The login user, when the URL names one.
    pub user: Option<String>,
    /// The host.
    pub host: String,
    /// The port, when the URL names one.
    pub port: Option<u16>,
}

impl SshTarget {
    /// Parses `ssh://[user@]host[:port][/]`; `None` when it is not such a URL.
    pub fn parse(url: &str) -> Option<SshTarget> {
        let rest = url.strip_prefix("ssh://")?.trim_end_matches('/');
        if rest.contains('/') {
            return None;
        }
        let (user, rest) = match rest.rsplit_once('@') {
            Some((user, rest)) if !user.is_empty() => (Some(user.to_string()), rest),
            Some(_) => return None,
            None => (None, rest),
        };
        let (host, port) = match rest.rsplit_once(':') {
            Some((host, port)) if !host.contains(':') || host.starts_with('[') => {
                (host, Some(port.parse::<u16>().ok()?))
            }
            _ => (rest, None),
        };
        let host = host.trim_start_matches('[').trim_end_matches(']');
        if host.is_empty() || host.starts_with('-') {
            return None;
        }
        Some(SshTarget {
            user,
            host: host.to_string(),
            port,
        })
    }

    /// The ssh arguments up to and including the host (`--` keeps a host from reading as an
    /// option).
    fn args(&self, control: &Path) -> Vec<String> {
        let mut args = vec![
            "-T".to_string(),
            "-o".into(),
            "BatchMode=yes".into(),
            "-o".into(),
            format!("ConnectTimeout={}", CONNECT_TIMEOUT.as_secs()),
            // A link that dies silently (a laptop's Wi-Fi, a dropped VPN) ends within 45 s
            // instead of leaving a build waiting on it.
            "-o".into(),
            "ServerAliveInterval=15".into(),
            "-o".into(),
            "ServerAliveCountMax=3".into(),
            "-o".into(),
            "ControlMaster=auto".into(),
            "-o".into(),
            format!("ControlPath={}", control.display()),
            "-o".into(),
            format!("ControlPersist={PERSIST}"),
        ];
        if let Some(port) = self.port {
            args.extend(["-p".into(), port.to_string()]);
        }
        if let Some(user) = &self.user {
            args.extend(["-l".into(), user.clone()]);
        }
        args.extend(["--".into(), self.host.clone()]);
        args
    }
}

/// A local socket that leads to a remote engine. Dropping it stops serving, ends the shared ssh
/// session and removes the directory.
#[derive(Debug)]
pub struct SshBridge {
    dir: PathBuf,
    socket: PathBuf,
    target: SshTarget,
    task: tokio::task::JoinHandle<()>,
    last_error: Arc<Mutex<Option<String>>>,
}

impl SshBridge {
    /// Starts serving; the engine is reached at [`SshBridge::socket_url`].
    pub fn start(target: SshTarget) -> std::io::Result<SshBridge> {
        let dir = private_dir()?;
        let socket = dir.join("engine.sock");
        let control = dir.join("ssh-session");
        let listener = UnixListener::bind(&socket)?;
        let args = target.args(&control);
        let last_error = Arc::new(Mutex::new(None));
        let errors = last_error.clone();
        let task = tokio::spawn(async move {
            while let Ok((stream, _)) = listener.accept().await {
                let args = args.clone();
                let errors = errors.clone();
                tokio::spawn(async move {
                    if let Err(error) = bridge(stream, &args).await {
                        *errors.lock().expect("error lock") = Some(error.to_string());
                    }
                });
            }
        });
        Ok(SshBridge {
            dir,
            socket,
            target,
            task,
            last_error,
        })
    }

    /// What ssh said when a connection last failed (`Connection refused`, `Permission denied`),
    /// waiting up to a second for a failing ssh to finish saying it.
    pub async fn last_error(&self) -> Option<String> {
        for _ in 0..20 {
            if let Some(said) = self.last_error.lock().expect("error lock").clone() {
                return Some(said);
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        None
    }

    /// `unix://` URL of the local socket.
    pub fn socket_url(&self) -> String {
        format!("unix://{}", self.socket.display())
    }
}

impl Drop for SshBridge {
    fn drop(&mut self) {
        self.task.abort();
        // End the shared session now rather than after ControlPersist.
        let control = self.dir.join("ssh-session");
        if control.exists() {
            let mut args = vec!["-O".to_string(), "exit".into()];
            args.extend(self.target.args(&control));
            let _ = std::process::Command::new("ssh")
                .args(&args)
                .stdin(Stdio::null())
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .status();
        }
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// A new directory only this user can enter (the socket in it leads to the engine).
fn private_dir() -> std::io::Result<PathBuf> {
    use std::os::unix::fs::DirBuilderExt;
    let base = std::env::temp_dir();
    for attempt in 0..100u32 {
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.subsec_nanos())
            .unwrap_or_default();
        let dir = base.join(format!(
            "fleet-images-ssh-{}-{nanos:x}-{attempt}",
            std::process::id()
        ));
        match std::fs::DirBuilder::new().mode(0o700).create(&dir) {
            Ok(()) => return Ok(dir),
            Err(error) if error.kind() == std::io::ErrorKind::AlreadyExists => continue,
            Err(error) => return Err(error),
        }
    }
    Err(std::io::Error::other(
        "cannot create a private directory for the ssh bridge",
    ))
}

/// Copies one connection through `ssh … docker system dial-stdio` until either side closes. An
/// ssh that fails is an error carrying what it printed.
async fn bridge(mut stream: UnixStream, args: &[String]) -> std::io::Result<()> {
    let mut child = Command::new("ssh")
        .args(args)
        .args(["docker", "system", "dial-stdio"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .map_err(|error| {
            std::io::Error::other(format!(
                "cannot run `ssh` (is OpenSSH's client installed?): {error}"
            ))
        })?;
    let (Some(stdin), Some(stdout), Some(mut stderr)) =
        (child.stdin.take(), child.stdout.take(), child.stderr.take())
    else {
        return Ok(());
    };
    // Read, bounded, so a chatty remote cannot fill the pipe and stall the connection.
    let said = tokio::spawn(async move {
        let mut text = Vec::new();
        let mut piece = [0u8; 4096];
        while let Ok(n) = stderr.read(&mut piece).await {
            if n == 0 {
                break;
            }
            if text.len() < 4096 {
                text.extend_from_slice(&piece[..n]);
            }
        }
        String::from_utf8_lossy(&text).trim().to_string()
    });
    let mut remote = tokio::io::join(stdout, stdin);
    let _ = tokio::io::copy_bidirectional(&mut stream, &mut remote).await;
    // ssh closed its output: it is exiting, or the client went away (then it is killed).
    let status = tokio::time::timeout(Duration::from_secs(2), child.wait())
        .await
        .ok()
        .transpose()?;
    let _ = child.kill().await;
    let said = said.await.unwrap_or_default();
    match status {
        // ssh's own messages mostly start with `ssh: ` already.
        Some(status) if !status.success() && said.starts_with("ssh: ") => {
            Err(std::io::Error::other(said))
        }
        Some(status) if !status.success() && !said.is_empty() => {
            Err(std::io::Error::other(format!("ssh: {said}")))
        }
        _ => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_the_forms_docker_accepts() {
        let t = |url: &str| SshTarget::parse(url);
        assert_eq!(
            t("ssh://root@127.0.0.1:2222"),
            Some(SshTarget {
                user: Some("root".into()),
                host: "127.0.0.1".into(),
                port: Some(2222)
            })
        );
        assert_eq!(
            t("ssh://build-box/"),
            Some(SshTarget {
                user: None,
                host: "build-box".into(),
                port: None
            })
        );
        assert_eq!(
            t("ssh://me@[::1]:22").map(|t| (t.host, t.port)),
            Some(("::1".to_string(), Some(22)))
        );
        assert_eq!(t("ssh://-oProxyCommand=x"), None);
        assert_eq!(t("ssh://host:notaport"), None);
        assert_eq!(t("ssh://host/path"), None);
        assert_eq!(t("tcp://host:2375"), None);
    }

    #[test]
    fn the_host_cannot_turn_into_an_option() {
        let target = SshTarget::parse("ssh://u@h:2").unwrap();
        let args = target.args(Path::new("/tmp/c"));
        let dashes = args.iter().position(|a| a == "--").unwrap();
        assert_eq!(&args[dashes + 1..], ["h"]);
        assert!(args.contains(&"BatchMode=yes".to_string()));
    }
}
