//! Registry hosts as users and AWS write them, and how the tool reaches them: which scheme
//! (plain HTTP only for loopback and listed hosts, as the Docker daemon does), which API host
//! (Docker Hub's differs from its name), and the path prefix of a registry `url`.

/// Whether `host` gets plain HTTP: loopback hosts (as the Docker daemon also allows), and the
/// ones listed in `insecure` (`FLEET_IMAGES_INSECURE_REGISTRIES`, as `host` or `host:port`).
pub(crate) fn is_insecure(host: &str, insecure: &[String]) -> bool {
    let name = hostname(host);
    let loopback = name == "localhost"
        || name == "::1"
        || name
            .parse::<std::net::Ipv4Addr>()
            .is_ok_and(|ip| ip.is_loopback());
    loopback
        || insecure
            .iter()
            .any(|h| h.trim() == host || h.trim() == name)
}

/// `host` without its port, and without the brackets of an IPv6 literal.
fn hostname(host: &str) -> &str {
    if let Some(rest) = host.strip_prefix('[') {
        return rest.split(']').next().unwrap_or(rest);
    }
    match host.rsplit_once(':') {
        Some((name, port)) if port.bytes().all(|b| b.is_ascii_digit()) => name,
        _ => host,
    }
}

/// The host the API of `host` answers on: Docker Hub's is not `docker.io`.
pub(crate) fn api_host(host: &str) -> &str {
    match host {
        "docker.io" | "index.docker.io" => "registry-1.docker.io",
        other => other,
    }
}

/// `url` of a plain registry split into host and path prefix: `host[:port][/prefix]`.
pub(crate) fn split_url(url: &str) -> (String, String) {
    let url = url
        .trim()
        .trim_start_matches("https://")
        .trim_start_matches("http://");
    let url = url.trim_end_matches('/');
    match url.split_once('/') {
        Some((host, prefix)) => (host.to_string(), prefix.trim_matches('/').to_string()),
        None => (url.to_string(), String::new()),
    }
}

/// An endpoint as the user or AWS wrote it: its host, and the scheme when one was written.
pub(crate) fn split_endpoint(endpoint: &str) -> (String, Option<bool>) {
    let endpoint = endpoint.trim();
    let (insecure, rest) = if let Some(rest) = endpoint.strip_prefix("http://") {
        (Some(true), rest)
    } else if let Some(rest) = endpoint.strip_prefix("https://") {
        (Some(false), rest)
    } else {
        (None, endpoint)
    };
    let host = rest.split('/').next().unwrap_or(rest).to_string();
    (host, insecure)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn loopback_and_listed_hosts_get_plain_http() {
        let listed = vec!["registry.lan:5000".to_string(), "10.0.0.7".to_string()];
        for host in [
            "127.0.0.1:5000",
            "127.1.2.3",
            "localhost:5001",
            "[::1]:5000",
            "registry.lan:5000",
            "10.0.0.7:443",
        ] {
            assert!(is_insecure(host, &listed), "{host}");
        }
        for host in [
            "registry.lan:5001",
            "ghcr.io",
            "123.dkr.ecr.us-east-1.amazonaws.com",
            "128.0.0.1:5000",
        ] {
            assert!(!is_insecure(host, &listed), "{host}");
        }
        assert_eq!(api_host("docker.io"), "registry-1.docker.io");
    }

    #[test]
    fn splits_urls_and_endpoints() {
        assert_eq!(
            split_url("127.0.0.1:5000"),
            ("127.0.0.1:5000".into(), String::new())
        );
        assert_eq!(
            split_url("registry.example.com/team/x/"),
            ("registry.example.com".into(), "team/x".into())
        );
        assert_eq!(
            split_url("https://ghcr.io/org"),
            ("ghcr.io".into(), "org".into())
        );
        assert_eq!(
            split_endpoint("https://123456789012.dkr.ecr.us-east-1.amazonaws.com"),
            (
                "123456789012.dkr.ecr.us-east-1.amazonaws.com".into(),
                Some(false)
            )
        );
        assert_eq!(
            split_endpoint("http://10.0.0.5:5000/"),
            ("10.0.0.5:5000".into(), Some(true))
        );
        assert_eq!(
            split_endpoint("127.0.0.1:5001"),
            ("127.0.0.1:5001".into(), None)
        );
    }
}
