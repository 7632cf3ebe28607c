//! `privileged-port` (lesson 2): a process that is not root cannot bind a port below 1024, so an
//! image that runs as another user and exposes, or is configured to listen on, such a port crashes
//! at start ("bind() to 0.0.0.0:80 failed (13: Permission denied)").
//!
//! The ports are the `EXPOSE`d ones and the values of variables named `PORT` or `*_PORT` (such as
//! `ELEMENT_WEB_PORT=80`), except variables whose name says they point at another service
//! (`DB_PORT`, `SMTP_PORT`, …): a client may connect to port 25, only a server binds it.

use super::run_config::RunConfig;
use super::{rules, Finding, Severity};
use crate::names::ImageName;

/// Name parts that mark a `*_PORT` variable as the port of another service, not one to listen on.
const REMOTE_WORDS: &[&str] = &[
    "DB",
    "DATABASE",
    "POSTGRES",
    "PG",
    "MYSQL",
    "MARIADB",
    "MONGO",
    "MONGODB",
    "REDIS",
    "MEMCACHED",
    "SMTP",
    "MAIL",
    "IMAP",
    "POP3",
    "LDAP",
    "PROXY",
    "UPSTREAM",
    "REMOTE",
    "BACKEND",
    "TARGET",
    "HOMESERVER",
];

/// Where a privileged port was seen.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum PortSource {
    /// `EXPOSE 80` (as written, such as `80/tcp`).
    Exposed(String),
    /// `ENV NAME=80`.
    Env(String),
}

/// The lowest port number of an `EXPOSE` entry (`80`, `80/tcp`, `8000-8010/udp`), when it is a
/// number.
fn exposed_port(text: &str) -> Option<u16> {
    let number = text.split('/').next()?.split('-').next()?.trim();
    number.parse().ok()
}

/// Whether an environment variable names a port this image listens on.
fn is_listen_port_var(name: &str) -> bool {
    let upper = name.to_ascii_uppercase();
    if upper != "PORT" && !upper.ends_with("_PORT") {
        return false;
    }
    !upper.split('_').any(|word| REMOTE_WORDS.contains(&word))
}

/// The ports below 1024 the configuration exposes or listens on.
pub(crate) fn privileged_ports(config: &RunConfig) -> Vec<(u16, PortSource)> {
    let mut ports = Vec::new();
    for text in &config.exposed_ports {
        if let Some(port) = exposed_port(text).filter(|p| *p < 1024) {
            ports.push((port, PortSource::Exposed(text.clone())));
        }
    }
    for (name, value) in &config.env {
        if !is_listen_port_var(name) || config.env_var(name) != Some(value.as_str()) {
            continue;
        }
        if let Ok(port) = value.trim().parse::<u16>() {
            if port < 1024 && port > 0 {
                ports.push((port, PortSource::Env(name.clone())));
            }
        }
    }
    ports
}

/// The rule: an error when a non-root user meets a privileged port. Silent when the user is
/// unknown (a Dockerfile without `USER` runs as its base image's user, which only the built image
/// tells).
pub(crate) fn check(image: &ImageName, config: &RunConfig) -> Option<Finding> {
    if config.runs_as_root() != Some(false) {
        return None;
    }
    let ports = privileged_ports(config);
    if ports.is_empty() {
        return None;
    }
    let user = config.user.as_deref().unwrap_or_default();
    let described: Vec<String> = ports
        .iter()
        .map(|(port, source)| match source {
            PortSource::Exposed(text) => format!("exposes {text}"),
            PortSource::Env(name) => format!("sets {name}={port}"),
        })
        .collect();
    let env_name = ports.iter().find_map(|(_, source)| match source {
        PortSource::Env(name) => Some(name),
        PortSource::Exposed(_) => None,
    });
    let how = match env_name {
        Some(name) => format!("`ENV {name}=8080` and `EXPOSE 8080`"),
        None => "configure the server for 8080 and `EXPOSE 8080`".to_string(),
    };
    let hint = format!(
        "a process that is not root cannot bind a port below 1024: listen on 8080 instead ({how}), or run as root if it must"
    );
    Some(Finding::new(
        rules::PRIVILEGED_PORT,
        Severity::Error,
        image,
        format!(
            "{} runs as user `{user}` (not root) and {}",
            config.subject(),
            described.join(" and ")
        ),
        hint,
    ))
}

#[cfg(test)]
mod tests {
    use super::super::run_config::tests::dockerfile;
    use super::*;

    fn image() -> ImageName {
        "element".parse().unwrap()
    }

    #[test]
    fn non_root_exposing_80_is_an_error_suggesting_8080() {
        let finding = check(&image(), &dockerfile(Some("101"), &["80/tcp"], &[])).unwrap();
        assert_eq!(finding.rule, "privileged-port");
        assert_eq!(finding.severity, Severity::Error);
        assert!(
            finding.message.contains("`101`") && finding.message.contains("exposes 80/tcp"),
            "{}",
            finding.message
        );
        assert!(finding.hint.contains("8080"), "{}", finding.hint);
    }

    #[test]
    fn a_listen_port_variable_counts() {
        let finding = check(
            &image(),
            &dockerfile(Some("nginx"), &[], &[("ELEMENT_WEB_PORT", "80")]),
        )
        .unwrap();
        assert!(
            finding.message.contains("ELEMENT_WEB_PORT=80"),
            "{}",
            finding.message
        );
        assert!(
            finding.hint.contains("ELEMENT_WEB_PORT=8080"),
            "{}",
            finding.hint
        );
        // Overridden later in the same stage: fine.
        let config = dockerfile(Some("nginx"), &[], &[("PORT", "80"), ("PORT", "8080")]);
        assert_eq!(check(&image(), &config), None);
    }

    #[test]
    fn root_unknown_users_and_high_ports_pass() {
        assert_eq!(
            check(&image(), &dockerfile(Some("root"), &["80"], &[])),
            None
        );
        assert_eq!(
            check(&image(), &dockerfile(Some("0:0"), &["443/tcp"], &[])),
            None
        );
        assert_eq!(check(&image(), &dockerfile(None, &["80"], &[])), None);
        assert_eq!(
            check(
                &image(),
                &dockerfile(Some("101"), &["8080/tcp", "6167"], &[("PORT", "8080")])
            ),
            None
        );
    }

    #[test]
    fn ports_of_other_services_do_not_count() {
        let env = [
            ("SMTP_PORT", "25"),
            ("DB_PORT", "5"),
            ("LDAP_PORT", "389"),
            ("HOMESERVER_PORT", "443"),
        ];
        assert_eq!(check(&image(), &dockerfile(Some("app"), &[], &env)), None);
    }

    #[test]
    fn parses_expose_forms() {
        assert_eq!(exposed_port("80"), Some(80));
        assert_eq!(exposed_port("80/tcp"), Some(80));
        assert_eq!(exposed_port("1000-1100/udp"), Some(1000));
        assert_eq!(exposed_port("${PORT}"), None);
    }

    #[test]
    fn an_image_config_with_an_inherited_port_80() {
        let details = crate::docker::ImageDetails {
            user: "101".into(),
            exposed_ports: vec!["80/tcp".into()],
            ..Default::default()
        };
        let finding = check(&image(), &RunConfig::from_image(&details)).unwrap();
        assert!(
            finding.message.starts_with("the image runs as user `101`"),
            "{}",
            finding.message
        );
    }
}
