//! Which Docker engine to talk to, chosen the way the docker CLI chooses it: `DOCKER_HOST`, else
//! the context named by `DOCKER_CONTEXT`, else the config file's `currentContext`, else the
//! default socket. A context is read from the CLI's own store
//! (`$DOCKER_CONFIG/contexts/meta/<sha256 of the name>/meta.json` and its TLS files beside it in
//! `contexts/tls/`), so `docker context use colima` (or OrbStack, Docker Desktop, rootless Docker)
//! points this tool at the same engine as `docker`.
//!
//! Pure apart from reading those files: the environment comes in as a lookup function, so the
//! rules are unit-tested without touching the process's environment.

use std::fmt;
use std::path::{Path, PathBuf};

use sha2::{Digest as _, Sha256};

use crate::error::{Diagnostic, Exit};

/// The socket the engine listens on when nothing says otherwise.
pub const DEFAULT_HOST: &str = "unix:///var/run/docker.sock";

/// The engine chosen, and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Endpoint {
    /// `unix:///…`, `tcp://host:port` or `ssh://[user@]host[:port]`.
    pub host: String,
    /// Client certificate, key and CA for a TLS connection (`tcp://` only).
    pub tls: Option<TlsFiles>,
    /// What chose it.
    pub chosen_by: ChosenBy,
}

/// The TLS material of a `tcp://` engine.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TlsFiles {
    /// `ca.pem`: the CA the engine's certificate is checked against.
    pub ca: PathBuf,
    /// `cert.pem`: the client certificate.
    pub cert: PathBuf,
    /// `key.pem`: the client key.
    pub key: PathBuf,
}

/// What chose the engine, for `-v` and for error messages.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ChosenBy {
    /// `DOCKER_HOST` was set; `ignored_context` names a `DOCKER_CONTEXT` it overrode.
    DockerHost {
        /// `DOCKER_CONTEXT`, when it was also set.
        ignored_context: Option<String>,
    },
    /// `DOCKER_CONTEXT` named a context.
    ContextEnv {
        /// The context.
        name: String,
    },
    /// The config file's `currentContext` (what `docker context use` writes).
    CurrentContext {
        /// The context.
        name: String,
        /// The config file.
        config: PathBuf,
    },
    /// Nothing was set: the default socket.
    Default,
}

impl Endpoint {
    /// Why this engine was chosen, in words (`from DOCKER_HOST`, `from context `colima` …`).
    pub fn reason(&self) -> String {
        match &self.chosen_by {
            ChosenBy::DockerHost {
                ignored_context: None,
            } => "from DOCKER_HOST".into(),
            ChosenBy::DockerHost {
                ignored_context: Some(name),
            } => format!(
                "from DOCKER_HOST (it wins over DOCKER_CONTEXT={name}, as in the docker CLI)"
            ),
            ChosenBy::ContextEnv { name } => {
                format!("from context `{name}` named by DOCKER_CONTEXT")
            }
            ChosenBy::CurrentContext { name, config } => format!(
                "from context `{name}`, the currentContext of {}",
                config.display()
            ),
            ChosenBy::Default => {
                "the default: neither DOCKER_HOST, DOCKER_CONTEXT nor a currentContext is set"
                    .into()
            }
        }
    }
}

impl fmt::Display for Endpoint {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.host)?;
        if self.tls.is_some() {
            f.write_str(" (TLS)")?;
        }
        write!(f, ", {}", self.reason())
    }
}

/// Why no engine could be chosen. Exit 2: the user's settings are wrong.
#[derive(Debug, thiserror::Error)]
pub enum EndpointError {
    /// A context that is not in the store.
    #[error("Docker context `{name}` ({from}) does not exist: there is no {}", meta.display())]
    ContextMissing {
        /// The context.
        name: String,
        /// Where the name came from.
        from: String,
        /// The file that should describe it.
        meta: PathBuf,
    },
    /// A config or context file that cannot be read as JSON.
    #[error("cannot read Docker {what} {}", path.display())]
    Unreadable {
        /// `config file` or `context file`.
        what: &'static str,
        /// The file.
        path: PathBuf,
        /// Why.
        #[source]
        source: Box<dyn std::error::Error + Send + Sync>,
    },
    /// A context without a docker endpoint.
    #[error("Docker context `{name}` has no docker endpoint (`Endpoints.docker.Host` in {})", meta.display())]
    NoDockerEndpoint {
        /// The context.
        name: String,
        /// Its file.
        meta: PathBuf,
    },
    /// A host this tool cannot speak to.
    #[error("unsupported Docker host `{host}` ({from})")]
    Unsupported {
        /// The host.
        host: String,
        /// Where it came from.
        from: String,
        /// What is missing.
        why: &'static str,
    },
}

impl Diagnostic for EndpointError {
    fn exit(&self) -> Exit {
        Exit::BadInput
    }

    fn hint(&self) -> Option<String> {
        Some(match self {
            EndpointError::ContextMissing { .. } => {
                "list the contexts with `docker context ls`; switch with `docker context use NAME`, or unset DOCKER_CONTEXT".into()
            }
            EndpointError::Unreadable { .. } => "fix the file, or set DOCKER_HOST to choose the engine directly".into(),
            EndpointError::NoDockerEndpoint { .. } => "recreate it with `docker context create NAME --docker host=…`".into(),
            EndpointError::Unsupported { why, .. } => format!(
                "{why}; supported: unix:///path, tcp://host:port (TLS with DOCKER_TLS_VERIFY=1 and DOCKER_CERT_PATH), ssh://[user@]host[:port]"
            ),
        })
    }
}

/// Chooses the engine from the environment (`env` looks a variable up; an empty value counts as
/// unset, as in the docker CLI).
pub fn choose(env: &dyn Fn(&str) -> Option<String>) -> Result<Endpoint, EndpointError> {
    let var = |name: &str| env(name).filter(|v| !v.is_empty());
    let config_dir = config_dir(env);
    if let Some(host) = var("DOCKER_HOST") {
        let tls = match var("DOCKER_TLS_VERIFY") {
            Some(verify) if verify != "0" && verify != "false" => {
                let dir = var("DOCKER_CERT_PATH")
                    .map(PathBuf::from)
                    .unwrap_or_else(|| config_dir.clone());
                Some(TlsFiles::in_dir(&dir))
            }
            _ => None,
        };
        return check(Endpoint {
            host,
            tls,
            chosen_by: ChosenBy::DockerHost {
                ignored_context: var("DOCKER_CONTEXT"),
            },
        });
    }
    let (name, chosen_by) = match var("DOCKER_CONTEXT") {
        Some(name) => (name.clone(), ChosenBy::ContextEnv { name }),
        None => {
            let config = config_dir.join("config.json");
            match current_context(&config)? {
                Some(name) => (name.clone(), ChosenBy::CurrentContext { name, config }),
                None => return Ok(default_endpoint(ChosenBy::Default)),
            }
        }
    };
    // `default` is the CLI's name for "no context": the default socket.
    if name == "default" {
        return Ok(default_endpoint(chosen_by));
    }
    let from = match &chosen_by {
        ChosenBy::ContextEnv { .. } => "named by DOCKER_CONTEXT".to_string(),
        ChosenBy::CurrentContext { config, .. } => {
            format!("currentContext in {}", config.display())
        }
        _ => String::new(),
    };
    let (host, tls) = read_context(&config_dir, &name, &from)?;
    check(Endpoint {
        host,
        tls,
        chosen_by,
    })
}

fn default_endpoint(chosen_by: ChosenBy) -> Endpoint {
    Endpoint {
        host: DEFAULT_HOST.to_string(),
        tls: None,
        chosen_by,
    }
}

/// `DOCKER_CONFIG`, else `~/.docker`.
fn config_dir(env: &dyn Fn(&str) -> Option<String>) -> PathBuf {
    match env("DOCKER_CONFIG").filter(|v| !v.is_empty()) {
        Some(dir) => PathBuf::from(dir),
        None => env("HOME")
            .map(PathBuf::from)
            .unwrap_or_default()
            .join(".docker"),
    }
}

impl TlsFiles {
    fn in_dir(dir: &Path) -> TlsFiles {
        TlsFiles {
            ca: dir.join("ca.pem"),
            cert: dir.join("cert.pem"),
            key: dir.join("key.pem"),
        }
    }
}

/// The config file's `currentContext`; a missing file is no context.
fn current_context(config: &Path) -> Result<Option<String>, EndpointError> {
    let text = match crate::input_file::read_text_capped(config, crate::input_file::CONFIG_CAP) {
        Ok(text) => text,
        Err(error) if error.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(error) => {
            return Err(EndpointError::Unreadable {
                what: "config file",
                path: config.to_path_buf(),
                source: Box::new(error),
            })
        }
    };
    let value: serde_json::Value =
        serde_json::from_str(&text).map_err(|error| EndpointError::Unreadable {
            what: "config file",
            path: config.to_path_buf(),
            source: Box::new(error),
        })?;
    Ok(value
        .get("currentContext")
        .and_then(|v| v.as_str())
        .filter(|v| !v.is_empty())
        .map(str::to_string))
}

/// The directory name the CLI stores a context under: the hex sha256 of its name.
pub fn context_dir_name(name: &str) -> String {
    hex::encode(Sha256::digest(name.as_bytes()))
}

/// Reads a context's docker endpoint and its TLS files.
fn read_context(
    config_dir: &Path,
    name: &str,
    from: &str,
) -> Result<(String, Option<TlsFiles>), EndpointError> {
    let id = context_dir_name(name);
    let meta = config_dir
        .join("contexts")
        .join("meta")
        .join(&id)
        .join("meta.json");
    let text = match crate::input_file::read_text_capped(&meta, crate::input_file::CONFIG_CAP) {
        Ok(text) => text,
        Err(error) if error.kind() == std::io::ErrorKind::NotFound => {
            return Err(EndpointError::ContextMissing {
                name: name.to_string(),
                from: from.to_string(),
                meta,
            })
        }
        Err(error) => {
            return Err(EndpointError::Unreadable {
                what: "context file",
                path: meta,
                source: Box::new(error),
            })
        }
    };
    let value: serde_json::Value =
        serde_json::from_str(&text).map_err(|error| EndpointError::Unreadable {
            what: "context file",
            path: meta.clone(),
            source: Box::new(error),
        })?;
    let docker = &value["Endpoints"]["docker"];
    let Some(host) = docker["Host"].as_str().filter(|h| !h.is_empty()) else {
        return Err(EndpointError::NoDockerEndpoint {
            name: name.to_string(),
            meta,
        });
    };
    if docker["SkipTLSVerify"].as_bool() == Some(true) {
        return Err(EndpointError::Unsupported {
            host: host.to_string(),
            from: format!("context `{name}`"),
            why: "the context skips TLS verification, which this tool does not do",
        });
    }
    // `docker context create --docker ca=…,cert=…,key=…` copies the files here.
    let tls_dir = config_dir
        .join("contexts")
        .join("tls")
        .join(&id)
        .join("docker");
    let tls = (host.starts_with("tcp://") && tls_dir.join("ca.pem").is_file())
        .then(|| TlsFiles::in_dir(&tls_dir));
    Ok((host.to_string(), tls))
}

/// Refuses hosts the tool cannot connect to, before trying.
fn check(endpoint: Endpoint) -> Result<Endpoint, EndpointError> {
    let host = endpoint.host.as_str();
    let supported = ["unix://", "tcp://", "http://", "ssh://"]
        .iter()
        .any(|scheme| host.starts_with(scheme));
    if supported {
        Ok(endpoint)
    } else {
        let from = match &endpoint.chosen_by {
            ChosenBy::DockerHost { .. } => "DOCKER_HOST".to_string(),
            ChosenBy::ContextEnv { name } | ChosenBy::CurrentContext { name, .. } => {
                format!("context `{name}`")
            }
            ChosenBy::Default => "default".to_string(),
        };
        Err(EndpointError::Unsupported {
            host: endpoint.host,
            from,
            why: "the scheme is not one the tool speaks",
        })
    }
}

#[cfg(test)]
mod tests {
    use std::collections::HashMap;

    use super::*;

    fn env_of(pairs: &[(&str, &str)]) -> impl Fn(&str) -> Option<String> {
        let map: HashMap<String, String> = pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        move |name| map.get(name).cloned()
    }

    fn write_context(dir: &Path, name: &str, host: &str) {
        let meta = dir.join("contexts/meta").join(context_dir_name(name));
        std::fs::create_dir_all(&meta).unwrap();
        std::fs::write(
            meta.join("meta.json"),
            format!(r#"{{"Name":"{name}","Metadata":{{}},"Endpoints":{{"docker":{{"Host":"{host}","SkipTLSVerify":false}}}}}}"#),
        )
        .unwrap();
    }

    #[test]
    fn the_context_directory_is_the_sha256_of_the_name() {
        // What `docker context create colima` names its directory.
        assert_eq!(
            context_dir_name("default"),
            "37a8eec1ce19687d132fe29051dca629d164e2c4958ba141d5f4133a33f0688f"
        );
    }

    #[test]
    fn nothing_set_is_the_default_socket() {
        let dir = tempfile::tempdir().unwrap();
        let home = dir.path().to_str().unwrap();
        let endpoint = choose(&env_of(&[("HOME", home)])).unwrap();
        assert_eq!(endpoint.host, DEFAULT_HOST);
        assert_eq!(endpoint.chosen_by, ChosenBy::Default);
        assert!(endpoint.to_string().contains("the default: neither"));
    }

    #[test]
    fn docker_host_wins_over_every_context() {
        let dir = tempfile::tempdir().unwrap();
        let config = dir.path().to_str().unwrap();
        write_context(dir.path(), "remote", "tcp://10.0.0.1:2375");
        std::fs::write(
            dir.path().join("config.json"),
            r#"{"currentContext":"remote"}"#,
        )
        .unwrap();
        let endpoint = choose(&env_of(&[
            ("DOCKER_CONFIG", config),
            ("DOCKER_HOST", "ssh://builder@big-box:2222"),
            ("DOCKER_CONTEXT", "remote"),
        ]))
        .unwrap();
        assert_eq!(endpoint.host, "ssh://builder@big-box:2222");
        assert_eq!(
            endpoint.to_string(),
            "ssh://builder@big-box:2222, from DOCKER_HOST (it wins over DOCKER_CONTEXT=remote, as in the docker CLI)"
        );
    }

    #[test]
    fn tls_files_come_from_docker_cert_path() {
        let endpoint = choose(&env_of(&[
            ("HOME", "/home/u"),
            ("DOCKER_HOST", "tcp://engine:2376"),
            ("DOCKER_TLS_VERIFY", "1"),
            ("DOCKER_CERT_PATH", "/certs"),
        ]))
        .unwrap();
        let tls = endpoint.tls.unwrap();
        assert_eq!(tls.ca, PathBuf::from("/certs/ca.pem"));
        assert_eq!(tls.key, PathBuf::from("/certs/key.pem"));
        let default_path = choose(&env_of(&[
            ("HOME", "/home/u"),
            ("DOCKER_HOST", "tcp://engine:2376"),
            ("DOCKER_TLS_VERIFY", "1"),
        ]))
        .unwrap();
        assert_eq!(
            default_path.tls.unwrap().cert,
            PathBuf::from("/home/u/.docker/cert.pem")
        );
    }

    #[test]
    fn docker_context_wins_over_the_current_context() {
        let dir = tempfile::tempdir().unwrap();
        let config = dir.path().to_str().unwrap();
        write_context(
            dir.path(),
            "colima",
            "unix:///home/u/.colima/default/docker.sock",
        );
        write_context(
            dir.path(),
            "orbstack",
            "unix:///home/u/.orbstack/run/docker.sock",
        );
        std::fs::write(
            dir.path().join("config.json"),
            r#"{"currentContext":"colima"}"#,
        )
        .unwrap();
        let current = choose(&env_of(&[("DOCKER_CONFIG", config)])).unwrap();
        assert_eq!(current.host, "unix:///home/u/.colima/default/docker.sock");
        assert!(
            matches!(current.chosen_by, ChosenBy::CurrentContext { ref name, .. } if name == "colima")
        );
        let named = choose(&env_of(&[
            ("DOCKER_CONFIG", config),
            ("DOCKER_CONTEXT", "orbstack"),
        ]))
        .unwrap();
        assert_eq!(named.host, "unix:///home/u/.orbstack/run/docker.sock");
        let default = choose(&env_of(&[
            ("DOCKER_CONFIG", config),
            ("DOCKER_CONTEXT", "default"),
        ]))
        .unwrap();
        assert_eq!(default.host, DEFAULT_HOST);
    }

    #[test]
    fn a_context_with_tls_files_connects_with_them() {
        let dir = tempfile::tempdir().unwrap();
        write_context(dir.path(), "secure", "tcp://engine:2376");
        let tls = dir
            .path()
            .join("contexts/tls")
            .join(context_dir_name("secure"))
            .join("docker");
        std::fs::create_dir_all(&tls).unwrap();
        std::fs::write(tls.join("ca.pem"), "x").unwrap();
        let endpoint = choose(&env_of(&[
            ("DOCKER_CONFIG", dir.path().to_str().unwrap()),
            ("DOCKER_CONTEXT", "secure"),
        ]))
        .unwrap();
        assert_eq!(endpoint.tls.unwrap().cert, tls.join("cert.pem"));
    }

    #[test]
    fn bad_settings_are_errors_that_say_how_to_fix_them() {
        let dir = tempfile::tempdir().unwrap();
        let config = dir.path().to_str().unwrap();
        let missing = choose(&env_of(&[
            ("DOCKER_CONFIG", config),
            ("DOCKER_CONTEXT", "nope"),
        ]))
        .unwrap_err();
        let text = crate::error::render(&missing);
        assert!(text.starts_with("error: Docker context `nope` (named by DOCKER_CONTEXT) does not exist: there is no "), "{text}");
        assert!(
            text.contains("hint: list the contexts with `docker context ls`"),
            "{text}"
        );
        assert_eq!(missing.exit(), Exit::BadInput);

        std::fs::write(dir.path().join("config.json"), "{not json").unwrap();
        let broken = choose(&env_of(&[("DOCKER_CONFIG", config)])).unwrap_err();
        assert!(crate::error::render(&broken).contains("cannot read Docker config file"));

        let meta = dir
            .path()
            .join("contexts/meta")
            .join(context_dir_name("k8s"));
        std::fs::create_dir_all(&meta).unwrap();
        std::fs::write(
            meta.join("meta.json"),
            r#"{"Name":"k8s","Endpoints":{"kubernetes":{}}}"#,
        )
        .unwrap();
        let no_docker = choose(&env_of(&[
            ("DOCKER_CONFIG", config),
            ("DOCKER_CONTEXT", "k8s"),
        ]))
        .unwrap_err();
        assert_eq!(
            crate::error::render(&no_docker),
            format!(
                "error: Docker context `k8s` has no docker endpoint (`Endpoints.docker.Host` in {})\n  hint: recreate it with `docker context create NAME --docker host=…`",
                meta.join("meta.json").display()
            )
        );

        std::fs::write(
            meta.join("meta.json"),
            r#"{"Name":"k8s","Endpoints":{"docker":{"Host":"tcp://e:2376","SkipTLSVerify":true}}}"#,
        )
        .unwrap();
        let skip = choose(&env_of(&[
            ("DOCKER_CONFIG", config),
            ("DOCKER_CONTEXT", "k8s"),
        ]))
        .unwrap_err();
        let text = crate::error::render(&skip);
        assert!(
            text.starts_with("error: unsupported Docker host `tcp://e:2376` (context `k8s`)\n  hint: the context skips TLS verification"),
            "{text}"
        );

        let npipe = choose(&env_of(&[(
            "DOCKER_HOST",
            "npipe:////./pipe/docker_engine",
        )]))
        .unwrap_err();
        assert_eq!(
            npipe.to_string(),
            "unsupported Docker host `npipe:////./pipe/docker_engine` (DOCKER_HOST)"
        );
    }
}
