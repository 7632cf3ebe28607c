//! Whether a browser can reach a URL's host (lesson 4): Element runs in the user's browser, so its
//! homeserver URL must be an address the browser can reach — `localhost` through the SSM port
//! forward, or a public name — never a VPC address, a link-local address or a name that only the
//! VPC's or Docker's DNS resolves.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

/// Name suffixes only private DNS resolves.
const PRIVATE_SUFFIXES: &[&str] = &[
    ".internal",
    ".local",
    ".localdomain",
    ".lan",
    ".home.arpa",
    ".consul",
    ".svc",
];

/// The host of an `http(s)` URL, lower case, without port or brackets.
pub(crate) fn host(url: &str) -> Result<String, String> {
    let lower = url.trim().to_ascii_lowercase();
    let rest = lower
        .strip_prefix("http://")
        .or_else(|| lower.strip_prefix("https://"))
        .ok_or_else(|| "is not an http:// or https:// URL".to_string())?;
    let authority = rest.split(['/', '?', '#']).next().unwrap_or_default();
    let authority = authority.rsplit('@').next().unwrap_or_default();
    let host = if let Some(bracketed) = authority.strip_prefix('[') {
        bracketed.split(']').next().unwrap_or_default()
    } else {
        authority.split(':').next().unwrap_or_default()
    };
    let host = host.trim_end_matches('.');
    if host.is_empty() {
        return Err("has no host".to_string());
    }
    Ok(host.to_string())
}

fn v4_reason(ip: Ipv4Addr) -> Option<&'static str> {
    let [a, b, ..] = ip.octets();
    if ip.is_private() {
        Some("a private (RFC 1918) address, such as a VPC's")
    } else if ip.is_link_local() {
        Some("a link-local address")
    } else if a == 100 && (64..128).contains(&b) {
        Some("a shared (RFC 6598) address")
    } else if ip.is_unspecified() {
        Some("the unspecified address 0.0.0.0")
    } else {
        None
    }
}

fn v6_reason(ip: Ipv6Addr) -> Option<&'static str> {
    let first = ip.segments()[0];
    if let Some(v4) = ip.to_ipv4_mapped() {
        return v4_reason(v4);
    }
    if first & 0xfe00 == 0xfc00 {
        Some("a unique local (private) IPv6 address")
    } else if first & 0xffc0 == 0xfe80 {
        Some("a link-local IPv6 address")
    } else if ip.is_unspecified() {
        Some("the unspecified address ::")
    } else {
        None
    }
}

/// Why a browser outside the VPC cannot reach `host`, when that is so. Loopback counts as
/// reachable: it is what the SSM port forward gives the browser.
pub(crate) fn unreachable_reason(host: &str) -> Option<&'static str> {
    if let Ok(ip) = host.parse::<IpAddr>() {
        return match ip {
            IpAddr::V4(v4) => v4_reason(v4),
            IpAddr::V6(v6) => v6_reason(v6),
        };
    }
    if host == "localhost" || host.ends_with(".localhost") {
        return None;
    }
    if PRIVATE_SUFFIXES.iter().any(|s| host.ends_with(s)) {
        return Some("a name only private DNS (the VPC's, Cloud Map's, mDNS) resolves");
    }
    if host.starts_with("internal-") && host.ends_with(".elb.amazonaws.com") {
        return Some("an internal load balancer, reachable only inside the VPC");
    }
    if !host.contains('.') {
        return Some("a single-label name, such as a Docker or ECS service name, that a browser cannot resolve");
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    fn reason(url: &str) -> Option<&'static str> {
        unreachable_reason(&host(url).unwrap())
    }

    #[test]
    fn extracts_hosts() {
        assert_eq!(host("http://localhost:6167").unwrap(), "localhost");
        assert_eq!(
            host("https://user:pw@Matrix.Example.com./path?q").unwrap(),
            "matrix.example.com"
        );
        assert_eq!(host("http://[fd00::1]:8008/").unwrap(), "fd00::1");
        assert!(host("matrix.example.com").is_err());
        assert!(host("http://:80/").is_err());
    }

    #[test]
    fn private_vpc_and_link_local_addresses() {
        for url in [
            "http://10.0.1.23:6167",
            "http://172.16.0.5",
            "http://172.31.255.1:8008",
            "https://192.168.1.10",
            "http://169.254.169.254",
            "http://100.64.0.1",
            "http://0.0.0.0:6167",
            "http://[fd12:3456::1]:6167",
            "http://[fe80::1]",
            "http://[::ffff:10.0.0.1]",
        ] {
            assert!(reason(url).is_some(), "{url}");
        }
    }

    #[test]
    fn private_names() {
        for url in [
            "http://ip-10-0-1-23.ec2.internal:6167",
            "http://conduit.fleet.local:6167",
            "http://conduit:6167",
            "http://conduit.fleet.svc",
            "https://internal-fleet-123.us-east-1.elb.amazonaws.com",
        ] {
            assert!(reason(url).is_some(), "{url}");
        }
    }

    #[test]
    fn reachable_hosts() {
        for url in [
            "http://localhost:6167",
            "http://127.0.0.1:6167",
            "http://[::1]:6167",
            "https://matrix.example.com",
            "https://172.32.0.1",
            "https://fleet-123.us-east-1.elb.amazonaws.com",
        ] {
            assert_eq!(reason(url), None, "{url}");
        }
    }
}
