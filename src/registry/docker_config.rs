//! The Docker config file (`$DOCKER_CONFIG/config.json`, else `~/.docker/config.json`) as
//! `docker login` writes it, and the credential-helper protocol
//! (<https://github.com/docker/docker-credential-helpers>): which credentials it holds for a
//! registry host.

use std::collections::BTreeMap;
use std::io::Write;
use std::process::{Command, Stdio};

use base64::Engine as _;
use serde::Deserialize;

use super::credentials::Credentials;
use super::error::{DockerConfigProblem, HelperProblem};
use crate::secret::Redactor;
use crate::secret::Secret;

/// The key Docker uses for Docker Hub in `auths` and with credential helpers.
const DOCKER_HUB_SERVER: &str = "https://index.docker.io/v1/";

/// The parts of `config.json` that hold credentials; the rest is ignored.
#[derive(Debug, Default, Deserialize)]
struct ConfigFile {
    #[serde(default)]
    auths: BTreeMap<String, AuthEntry>,
    #[serde(rename = "credsStore", default)]
    creds_store: Option<String>,
    #[serde(rename = "credHelpers", default)]
    cred_helpers: BTreeMap<String, String>,
}

#[derive(Debug, Default, Deserialize)]
struct AuthEntry {
    #[serde(default)]
    auth: Option<String>,
    #[serde(default)]
    username: Option<String>,
    #[serde(default)]
    password: Option<String>,
}

/// What the config file says about one registry host.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum ConfigAnswer {
    /// Ask this helper (`credHelpers.<host>`, else `credsStore`); use `fallback` (from `auths`)
    /// when the helper has nothing for the host.
    Helper {
        /// The name after `docker-credential-`.
        helper: String,
        /// `auths.<host>`, when it holds credentials.
        fallback: Option<Credentials>,
    },
    /// `auths.<host>` holds these.
    Auth(Credentials),
    /// Nothing for this host.
    None,
}

/// `host` as the config file's keys are compared: no scheme, no path, and Docker Hub's several
/// names folded into one. `docker login` writes `host`, older versions `https://host` or
/// `https://index.docker.io/v1/`.
fn normalize(key: &str) -> String {
    let key = key.trim();
    let key = key
        .strip_prefix("https://")
        .or_else(|| key.strip_prefix("http://"))
        .unwrap_or(key);
    let host = key.split('/').next().unwrap_or(key).to_ascii_lowercase();
    match host.as_str() {
        "index.docker.io" | "registry-1.docker.io" | "registry.hub.docker.com" => {
            "docker.io".into()
        }
        _ => host,
    }
}

/// What `config_text` holds for `host`.
pub(crate) fn lookup(config_text: &str, host: &str) -> Result<ConfigAnswer, DockerConfigProblem> {
    let config: ConfigFile = if config_text.trim().is_empty() {
        ConfigFile::default()
    } else {
        serde_json::from_str(config_text).map_err(DockerConfigProblem::Json)?
    };
    let wanted = normalize(host);
    let mut auth = None;
    for (key, entry) in &config.auths {
        if normalize(key) == wanted {
            if let Some(credentials) = decode_entry(key, entry)? {
                auth = Some(credentials);
                break;
            }
        }
    }
    let helper = config
        .cred_helpers
        .iter()
        .find(|(key, _)| normalize(key) == wanted)
        .map(|(_, helper)| helper.clone())
        .or(config.creds_store)
        .filter(|h| !h.trim().is_empty());
    Ok(match (helper, auth) {
        (Some(helper), fallback) => ConfigAnswer::Helper { helper, fallback },
        (None, Some(credentials)) => ConfigAnswer::Auth(credentials),
        (None, None) => ConfigAnswer::None,
    })
}

fn decode_entry(key: &str, entry: &AuthEntry) -> Result<Option<Credentials>, DockerConfigProblem> {
    if let Some(auth) = entry
        .auth
        .as_deref()
        .map(str::trim)
        .filter(|a| !a.is_empty())
    {
        let bad = || DockerConfigProblem::BadAuth {
            key: key.to_string(),
        };
        let bytes = base64::engine::general_purpose::STANDARD
            .decode(auth)
            .or_else(|_| base64::engine::general_purpose::STANDARD_NO_PAD.decode(auth))
            .map_err(|_| bad())?;
        let text = String::from_utf8(bytes).map_err(|_| bad())?;
        let (username, password) = text.split_once(':').ok_or_else(bad)?;
        if username.is_empty() {
            return Err(bad());
        }
        return Ok(Some(Credentials {
            username: username.to_string(),
            password: Secret::new(password),
        }));
    }
    match (&entry.username, &entry.password) {
        (Some(username), Some(password)) if !username.is_empty() => Ok(Some(Credentials {
            username: username.clone(),
            password: Secret::new(password.clone()),
        })),
        _ => Ok(None),
    }
}

/// The server URL a credential helper is asked about: Docker Hub's legacy URL, else the host.
pub(crate) fn helper_server_url(host: &str) -> String {
    if normalize(host) == "docker.io" {
        DOCKER_HUB_SERVER.to_string()
    } else {
        host.to_string()
    }
}

/// The helper's answer to `get`: `{"ServerURL": …, "Username": …, "Secret": …}`. An empty
/// secret means nothing is stored. A `<token>` user marks an identity token for OAuth, which
/// this tool does not speak: treated as nothing stored.
pub(crate) fn parse_helper_output(stdout: &[u8]) -> Result<Option<Credentials>, HelperProblem> {
    #[derive(Deserialize)]
    struct Answer {
        #[serde(rename = "Username", default)]
        username: String,
        #[serde(rename = "Secret", default)]
        secret: String,
    }
    let answer: Answer = serde_json::from_slice(stdout).map_err(HelperProblem::BadOutput)?;
    if answer.secret.is_empty() || answer.username == "<token>" {
        return Ok(None);
    }
    Ok(Some(Credentials {
        username: answer.username,
        password: Secret::new(answer.secret),
    }))
}

/// Runs `<program> get` with `server` on stdin. `Ok(None)` when the helper has nothing for it.
pub(crate) async fn run_helper(
    program: &str,
    server: &str,
) -> Result<Option<Credentials>, HelperProblem> {
    let program = program.to_string();
    let server = server.to_string();
    tokio::task::spawn_blocking(move || run_helper_blocking(&program, &server))
        .await
        .unwrap_or_else(|e| Err(HelperProblem::Spawn(std::io::Error::other(e.to_string()))))
}

fn run_helper_blocking(program: &str, server: &str) -> Result<Option<Credentials>, HelperProblem> {
    let name = || {
        let file = std::path::Path::new(program)
            .file_name()
            .map(|f| f.to_string_lossy().into_owned())
            .unwrap_or_default();
        file.strip_prefix("docker-credential-")
            .unwrap_or(&file)
            .to_string()
    };
    let mut child = match Command::new(program)
        .arg("get")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
    {
        Ok(child) => child,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            return Err(HelperProblem::NotInstalled(name()))
        }
        Err(e) => return Err(HelperProblem::Spawn(e)),
    };
    if let Some(mut stdin) = child.stdin.take() {
        // A helper that exits without reading stdin closes the pipe; its exit status tells more.
        let _ = stdin.write_all(server.as_bytes());
    }
    let output = child.wait_with_output().map_err(HelperProblem::Spawn)?;
    if output.status.success() {
        return parse_helper_output(&output.stdout);
    }
    let said = format!(
        "{} {}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    // The protocol's "not found" answer: exit 1 with this text on stdout.
    if said.to_ascii_lowercase().contains("credentials not found") {
        return Ok(None);
    }
    Err(HelperProblem::Failed {
        status: output.status.code().unwrap_or(-1),
        stderr: Redactor::new().scrub(&String::from_utf8_lossy(&output.stderr)),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn creds(user: &str, password: &str) -> Credentials {
        Credentials {
            username: user.into(),
            password: Secret::new(password),
        }
    }

    #[test]
    fn decodes_auths_in_every_spelling_of_the_host() {
        let b64 = base64::engine::general_purpose::STANDARD.encode("AWS:s3cret:with-colon");
        for key in [
            "127.0.0.1:5001",
            "https://127.0.0.1:5001",
            "http://127.0.0.1:5001/v2/",
        ] {
            let config =
                format!(r#"{{"auths": {{"{key}": {{"auth": "{b64}"}}}}, "HttpHeaders": {{}}}}"#);
            assert_eq!(
                lookup(&config, "127.0.0.1:5001").unwrap(),
                ConfigAnswer::Auth(creds("AWS", "s3cret:with-colon")),
                "{key}"
            );
        }
        let hub =
            r#"{"auths": {"https://index.docker.io/v1/": {"username": "me", "password": "pw12"}}}"#;
        assert_eq!(
            lookup(hub, "docker.io").unwrap(),
            ConfigAnswer::Auth(creds("me", "pw12"))
        );
        assert_eq!(lookup(hub, "ghcr.io").unwrap(), ConfigAnswer::None);
        assert_eq!(lookup("", "ghcr.io").unwrap(), ConfigAnswer::None);
    }

    #[test]
    fn helpers_win_over_auths_and_keep_them_as_fallback() {
        let b64 = base64::engine::general_purpose::STANDARD.encode("u:p");
        let config = format!(
            r#"{{"auths": {{"ghcr.io": {{"auth": "{b64}"}}, "quay.io": {{}}}},
                "credsStore": "desktop", "credHelpers": {{"123.dkr.ecr.us-east-1.amazonaws.com": "ecr-login"}}}}"#
        );
        assert_eq!(
            lookup(&config, "123.dkr.ecr.us-east-1.amazonaws.com").unwrap(),
            ConfigAnswer::Helper {
                helper: "ecr-login".into(),
                fallback: None
            }
        );
        assert_eq!(
            lookup(&config, "ghcr.io").unwrap(),
            ConfigAnswer::Helper {
                helper: "desktop".into(),
                fallback: Some(creds("u", "p"))
            }
        );
        assert_eq!(
            lookup(&config, "quay.io").unwrap(),
            ConfigAnswer::Helper {
                helper: "desktop".into(),
                fallback: None
            }
        );
    }

    #[test]
    fn bad_files_say_what_is_wrong() {
        assert!(matches!(
            lookup("{not json", "h"),
            Err(DockerConfigProblem::Json(_))
        ));
        let bad = r#"{"auths": {"h": {"auth": "!!!"}}}"#;
        let err = lookup(bad, "h").unwrap_err();
        assert_eq!(
            err.to_string(),
            "`auths.h.auth` is not base64 of `user:password`"
        );
        let no_colon = format!(
            r#"{{"auths": {{"h": {{"auth": "{}"}}}}}}"#,
            base64::engine::general_purpose::STANDARD.encode("nocolon")
        );
        assert!(matches!(
            lookup(&no_colon, "h"),
            Err(DockerConfigProblem::BadAuth { .. })
        ));
    }

    #[test]
    fn parses_helper_answers() {
        let out = br#"{"ServerURL":"127.0.0.1:5001","Username":"AWS","Secret":"tok3n"}"#;
        assert_eq!(
            parse_helper_output(out).unwrap(),
            Some(creds("AWS", "tok3n"))
        );
        assert_eq!(
            parse_helper_output(br#"{"Username":"<token>","Secret":"x"}"#).unwrap(),
            None
        );
        assert_eq!(
            parse_helper_output(br#"{"Username":"","Secret":""}"#).unwrap(),
            None
        );
        assert!(matches!(
            parse_helper_output(b"credentials not found"),
            Err(HelperProblem::BadOutput(_))
        ));
        assert_eq!(helper_server_url("docker.io"), DOCKER_HUB_SERVER);
        assert_eq!(helper_server_url("ghcr.io"), "ghcr.io");
    }

    #[tokio::test]
    async fn runs_a_helper_and_reports_a_missing_one() {
        let dir = tempfile::tempdir().unwrap();
        let script = dir.path().join("docker-credential-fake");
        std::fs::write(
            &script,
            "#!/bin/sh\nread server\nif [ \"$server\" = known:5000 ]; then\n  echo '{\"Username\":\"bob\",\"Secret\":\"pa55\"}'\nelse\n  echo 'credentials not found in native keychain'; exit 1\nfi\n",
        )
        .unwrap();
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&script, std::fs::Permissions::from_mode(0o755)).unwrap();
        let program = script.to_str().unwrap();
        // Another test thread forking while the script was open for writing keeps it "busy"
        // (ETXTBSY) until that child execs: wait that out instead of failing.
        for _ in 0..50 {
            match run_helper(program, "known:5000").await {
                Err(HelperProblem::Spawn(e)) if e.raw_os_error() == Some(26) => {
                    std::thread::sleep(std::time::Duration::from_millis(20))
                }
                _ => break,
            }
        }
        assert_eq!(
            run_helper(program, "known:5000").await.unwrap(),
            Some(creds("bob", "pa55"))
        );
        assert_eq!(run_helper(program, "other:5000").await.unwrap(), None);
        let missing = run_helper("docker-credential-fleet-images-missing", "h")
            .await
            .unwrap_err();
        assert_eq!(
            missing.to_string(),
            "it is not installed (no `docker-credential-fleet-images-missing` on PATH)"
        );
    }
}
