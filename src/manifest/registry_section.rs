//! Reading `[registry]` into a [`RegistryConfig`]: ECR (account, region, repository settings,
//! lifecycle policy) or a plain OCI registry, whose `url` is checked so that no request can leave
//! the registry's `/v2/` and no credentials are written into the manifest.

use super::model::*;
use super::reader::Table;
use super::vars::Vars;
use super::ManifestError;
use crate::error::{did_you_mean, Location};

/// Default number of key-tagged images the ECR lifecycle policy keeps.
pub const DEFAULT_KEEP_IMAGES: u32 = 30;

pub(super) fn read_registry(
    mut table: Table<'_, '_>,
    vars: &mut Vars,
) -> Result<RegistryConfig, ManifestError> {
    let location = table.location();
    table.reject_unknown(&[
        "kind",
        "region",
        "account",
        "endpoint",
        "url",
        "repository_prefix",
        "tag_mutability",
        "scan_on_push",
        "keep_images",
    ])?;
    let kind_text = table.string("kind", vars)?;
    let kind = match kind_text.as_ref().map(|(k, _, _)| k.as_str()) {
        Some("ecr") => read_ecr(&mut table, vars)?,
        Some("registry") => read_plain(&mut table, vars, &location)?,
        Some(other) => {
            let (_, loc, _) = kind_text.clone().expect("matched Some");
            return Err(ManifestError::InvalidValue {
                location: loc,
                message: format!("`registry.kind` must be `ecr` or `registry`, not `{other}`"),
                hint: did_you_mean(other, ["ecr", "registry"])
                    .map(|s| format!("did you mean `{s}`?")),
            });
        }
        None => {
            return Err(ManifestError::MissingKey {
                location,
                key: "kind",
                table: "`[registry]`".into(),
                example: "kind = \"ecr\"",
            })
        }
    };
    let repository_prefix = table
        .string("repository_prefix", vars)?
        .map(|(v, _, _)| v)
        .unwrap_or_default();
    let tag_mutability = read_tag_mutability(&mut table, vars)?;
    let scan_on_push = table.boolean("scan_on_push")?.unwrap_or(true);
    let keep_images = table
        .integer("keep_images", 1..10_001)?
        .map_or(DEFAULT_KEEP_IMAGES, |v| v as u32);
    let known: &[&str] = match kind {
        RegistryKind::Ecr { .. } => ECR_KEYS,
        RegistryKind::Registry { .. } => PLAIN_KEYS,
    };
    table.finish(known)?;
    Ok(RegistryConfig {
        kind,
        repository_prefix,
        tag_mutability,
        scan_on_push,
        keep_images,
        location,
    })
}

/// `kind = "ecr"`: the region, a 12-digit account and an endpoint, each optional.
fn read_ecr(table: &mut Table<'_, '_>, vars: &mut Vars) -> Result<RegistryKind, ManifestError> {
    Ok(RegistryKind::Ecr {
        region: table.string("region", vars)?.map(|(v, _, _)| v),
        account: match table.string("account", vars)? {
            Some((account, loc, _))
                if account.len() != 12 || !account.bytes().all(|b| b.is_ascii_digit()) =>
            {
                return Err(ManifestError::InvalidValue {
                    location: loc,
                    message: format!(
                        "`registry.account` must be a 12-digit AWS account id, not `{account}`"
                    ),
                    hint: None,
                })
            }
            other => other.map(|(v, _, _)| v),
        },
        endpoint: table.string("endpoint", vars)?.map(|(v, _, _)| v),
    })
}

/// `kind = "registry"`: the `url`, `host[:port][/prefix]`, with any scheme dropped.
fn read_plain(
    table: &mut Table<'_, '_>,
    vars: &mut Vars,
    location: &Location,
) -> Result<RegistryKind, ManifestError> {
    Ok(match table.string("url", vars)? {
        Some((url, loc, _)) => {
            let host = url
                .trim_start_matches("https://")
                .trim_start_matches("http://");
            check_registry_url(host, &loc)?;
            if host.is_empty() || host.contains(char::is_whitespace) {
                return Err(ManifestError::InvalidValue {
                    location: loc,
                    message: format!(
                        "`registry.url` `{url}` is not of the form `host[:port][/prefix]`"
                    ),
                    hint: Some("for example `url = \"registry.example.com/fleet\"`".into()),
                });
            }
            RegistryKind::Registry {
                url: host.trim_end_matches('/').to_string(),
            }
        }
        None => {
            return Err(ManifestError::MissingKey {
                location: location.clone(),
                key: "url",
                table: "`[registry]`".into(),
                example: "url = \"registry.example.com/fleet\"",
            })
        }
    })
}

/// `tag_mutability`: `immutable` (the default) or `mutable`, in any case.
fn read_tag_mutability(
    table: &mut Table<'_, '_>,
    vars: &mut Vars,
) -> Result<TagMutability, ManifestError> {
    Ok(match table.string("tag_mutability", vars)? {
        None => TagMutability::Immutable,
        Some((v, _, _)) if v.eq_ignore_ascii_case("immutable") => TagMutability::Immutable,
        Some((v, _, _)) if v.eq_ignore_ascii_case("mutable") => TagMutability::Mutable,
        Some((v, loc, _)) => {
            return Err(ManifestError::InvalidValue {
                location: loc,
                message: format!(
                    "`registry.tag_mutability` must be `mutable` or `immutable`, not `{v}`"
                ),
                hint: None,
            })
        }
    })
}

/// The keys of an ECR `[registry]`.
const ECR_KEYS: &[&str] = &[
    "kind",
    "region",
    "account",
    "endpoint",
    "repository_prefix",
    "tag_mutability",
    "scan_on_push",
    "keep_images",
];

/// The keys of a plain registry's `[registry]`.
const PLAIN_KEYS: &[&str] = &[
    "kind",
    "url",
    "repository_prefix",
    "tag_mutability",
    "scan_on_push",
    "keep_images",
];

/// Checks a plain registry's `url` (its scheme already removed): no credentials, a host with an
/// optional port, and a prefix of repository path components, so that no request can leave
/// `/v2/` (`../../etc`, `%2e%2e`). The message never repeats the credentials.
fn check_registry_url(url: &str, location: &Location) -> Result<(), ManifestError> {
    let (authority, prefix) = url
        .trim_end_matches('/')
        .split_once('/')
        .unwrap_or((url, ""));
    if authority.contains('@') {
        return Err(ManifestError::InvalidValue {
            location: location.clone(),
            message: "`registry.url` holds credentials (`user:password@`); they are never read from the manifest".into(),
            hint: Some("remove them from the url, and give them through `FLEET_IMAGES_REGISTRY_USERNAME` and `FLEET_IMAGES_REGISTRY_PASSWORD`, or `docker login` (README, \"Registries\")".into()),
        });
    }
    let (host, port) = match authority.rsplit_once(':') {
        Some((host, port)) if !host.ends_with(']') || authority.starts_with('[') => {
            (host, Some(port))
        }
        _ => (authority, None),
    };
    let host_ok = !host.is_empty()
        && (host
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'.' || b == b'-')
            || (host.starts_with('[')
                && host.ends_with(']')
                && host[1..host.len() - 1]
                    .bytes()
                    .all(|b| b.is_ascii_hexdigit() || b == b':' || b == b'.')));
    let port_ok = port.is_none_or(|p| p.parse::<u16>().is_ok_and(|p| p > 0));
    if !host_ok || !port_ok {
        return Err(ManifestError::InvalidValue {
            location: location.clone(),
            message: format!(
                "`registry.url` host `{authority}` is not a host name or address with an optional port"
            ),
            hint: Some("for example `url = \"registry.example.com:5000/fleet\"`".into()),
        });
    }
    if !prefix.is_empty() && prefix.parse::<crate::names::RepositoryName>().is_err() {
        return Err(ManifestError::InvalidValue {
            location: location.clone(),
            message: format!(
                "`registry.url` path `{prefix}` is not a repository path: each `/`-separated part must be lowercase letters and digits joined by `.`, `_`, `__` or `-`"
            ),
            hint: Some("write the prefix as it appears in repository names, such as `fleet` or `team/fleet`".into()),
        });
    }
    Ok(())
}
