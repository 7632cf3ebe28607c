//! Reading `fleet.toml` into a validated [`Manifest`]: every key known, every value typed, every
//! `${var}` resolved, every dependency defined and acyclic.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::path::{Path, PathBuf};

use super::model::*;
use super::reader::{Source, Table};
use super::vars::Vars;
use super::ManifestError;
use crate::docker::Builder;
use crate::error::{did_you_mean, Location};
use crate::names::{ImageName, Platform, RepositoryName, Tag};

/// What the command line adds to the manifest.
#[derive(Debug, Clone, Default)]
pub struct LoadOptions {
    /// `--var name=value`, in order.
    pub vars: Vec<(String, String)>,
    /// The environment to read `FLEET_VAR_*` from (the process environment in the CLI; explicit
    /// in tests).
    pub env: BTreeMap<String, String>,
}

/// Default number of task-definition revisions kept active per family.
pub const DEFAULT_KEEP_REVISIONS: u32 = 5;
/// Default number of key-tagged images the ECR lifecycle policy keeps.
pub const DEFAULT_KEEP_IMAGES: u32 = 30;

const TOP_KEYS: &[&str] = &["vars", "defaults", "registry", "images"];
const IMAGE_KEYS: &[&str] = &[
    "context",
    "dockerfile",
    "args",
    "target",
    "platform",
    "depends_on",
    "repository",
    "tags",
    "deploy",
    "test",
    "check",
];

/// The most the build args of one image may hold, names and values together: 64 KiB (README,
/// "Limits"). They travel in the URL of the engine's build request.
pub const MAX_BUILD_ARGS_BYTES: usize = 64 * 1024;

/// Reads and validates the manifest at `path`.
pub fn load(path: &Path, options: &LoadOptions) -> Result<Manifest, ManifestError> {
    let text = crate::input_file::read_text_capped(path, crate::input_file::MANIFEST_CAP).map_err(
        |source| ManifestError::Read {
            path: path.to_path_buf(),
            source,
        },
    )?;
    parse(path, &text, options)
}

/// Parses manifest text as if read from `path` (relative paths in it start at `path`'s directory).
pub fn parse(path: &Path, text: &str, options: &LoadOptions) -> Result<Manifest, ManifestError> {
    let source = Source::new(path.display().to_string(), text);
    let document = toml::de::DeTable::parse(text).map_err(|e| {
        let span = e.span().unwrap_or(0..0);
        let mut location = source.location(&span, "");
        let line_start = text[..span.start.min(text.len())]
            .rfind('\n')
            .map_or(0, |i| i + 1);
        let column = text[line_start..span.start.min(text.len())].chars().count() + 1;
        location.key = Some(format!("column {column}"));
        ManifestError::Syntax {
            location,
            message: e
                .message()
                .lines()
                .next()
                .unwrap_or("syntax error")
                .trim()
                .to_string(),
        }
    })?;
    let dir = path.parent().map(Path::to_path_buf).unwrap_or_default();
    let dir = if dir.as_os_str().is_empty() {
        PathBuf::from(".")
    } else {
        dir
    };

    let mut cli_vars = BTreeMap::new();
    for (k, v) in &options.vars {
        cli_vars.insert(k.clone(), v.clone());
    }
    let mut vars = Vars::new(cli_vars, options.env.clone());
    let mut root = Table::root(&source, &document);

    if let Some(mut table) = root.table("vars")? {
        let defaults = table.raw_strings()?;
        // `[vars]` values are taken as written; a `${…}` in one (`a = "${a}"`) would reach the
        // image as that literal text.
        if let Some((name, _)) = defaults
            .iter()
            .find(|(_, value)| value.replace("$$", "").contains("${"))
        {
            return Err(ManifestError::InvalidValue {
                location: table.location_of(name),
                message: format!(
                    "`vars.{name}` uses `${{…}}`, but `[vars]` values are not substituted"
                ),
                hint: Some("write the value itself, or `$$` for a literal `$`".into()),
            });
        }
        vars.set_defaults(defaults.into_iter().collect());
        table.finish(&[])?;
    }

    let mut default_platform = None;
    let mut builder = None;
    if let Some(mut table) = root.table("defaults")? {
        default_platform = read_platform(&mut table, &mut vars)?;
        builder = read_builder(&mut table, &mut vars)?;
        table.finish(&["platform", "builder"])?;
    }

    let registry = match root.table("registry")? {
        Some(table) => {
            Some(read_registry(table, &mut vars).map_err(|e| unresolved_first(&mut vars, e))?)
        }
        None => None,
    };
    let prefix = registry
        .as_ref()
        .map(|r| r.repository_prefix.clone())
        .unwrap_or_default();

    let mut images = Vec::new();
    let Some(mut images_table) = root.table("images")? else {
        let location = root.location();
        root.finish(TOP_KEYS)?;
        return Err(ManifestError::MissingKey {
            location,
            key: "images",
            table: "the manifest".into(),
            example: "[images.element] context = \"..\"",
        });
    };
    for (name, location) in images_table.keys() {
        let image_name: ImageName =
            name.parse()
                .map_err(|e: crate::names::NameError| ManifestError::InvalidValue {
                    location: location.clone(),
                    message: e.to_string(),
                    hint: Some("rename the `[images.<name>]` table".into()),
                })?;
        let table = images_table.table(&name)?.expect("key listed above");
        let image = read_image(
            table,
            image_name,
            &dir,
            &prefix,
            default_platform.as_ref(),
            &mut vars,
        );
        images.push(image.map_err(|e| unresolved_first(&mut vars, e))?);
    }
    images_table.finish(&[])?;
    root.finish(TOP_KEYS)?;

    if !vars.unresolved.is_empty() {
        return Err(ManifestError::UnresolvedVars {
            names: std::mem::take(&mut vars.unresolved),
        });
    }
    check_dependencies(&images)?;
    resolve_references(&mut images)?;
    super::test_section::check_service_images(&images)?;

    Ok(Manifest {
        path: path.to_path_buf(),
        dir,
        vars: vars.effective(),
        registry,
        images,
        builder,
    })
}

/// `[defaults] builder`: `buildkit` or `classic`.
fn read_builder(
    table: &mut Table<'_, '_>,
    vars: &mut Vars,
) -> Result<Option<Builder>, ManifestError> {
    let Some((text, location, _)) = table.string("builder", vars)? else {
        return Ok(None);
    };
    text.parse::<Builder>()
        .map(Some)
        .map_err(|e| ManifestError::InvalidValue {
            location,
            message: e.to_string(),
            hint: Some(
                "BuildKit is the default where the engine has it; `classic` is Docker's deprecated builder".into(),
            ),
        })
}

fn read_platform(
    table: &mut Table<'_, '_>,
    vars: &mut Vars,
) -> Result<Option<Platform>, ManifestError> {
    let Some((text, location, _)) = table.string("platform", vars)? else {
        return Ok(None);
    };
    text.parse::<Platform>()
        .map(Some)
        .map_err(|e| ManifestError::InvalidValue {
            location,
            message: e.to_string(),
            hint: Some(
                "ECS on Graviton is `linux/arm64`; on Intel and AMD it is `linux/amd64`".into(),
            ),
        })
}

fn read_registry(
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
        Some("ecr") => RegistryKind::Ecr {
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
        },
        Some("registry") => match table.string("url", vars)? {
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
                    location,
                    key: "url",
                    table: "`[registry]`".into(),
                    example: "url = \"registry.example.com/fleet\"",
                })
            }
        },
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
    let tag_mutability = match table.string("tag_mutability", vars)? {
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
    };
    let scan_on_push = table.boolean("scan_on_push")?.unwrap_or(true);
    let keep_images = table
        .integer("keep_images", 1..10_001)?
        .map_or(DEFAULT_KEEP_IMAGES, |v| v as u32);
    let known: &[&str] = match kind {
        RegistryKind::Ecr { .. } => &[
            "kind",
            "region",
            "account",
            "endpoint",
            "repository_prefix",
            "tag_mutability",
            "scan_on_push",
            "keep_images",
        ],
        RegistryKind::Registry { .. } => &[
            "kind",
            "url",
            "repository_prefix",
            "tag_mutability",
            "scan_on_push",
            "keep_images",
        ],
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

/// A value that failed validation after a `${var}` in it went unresolved failed because of that
/// (an empty tag, an empty path): report the unresolved names, not the empty value.
fn unresolved_first(vars: &mut Vars, error: ManifestError) -> ManifestError {
    if vars.unresolved.is_empty() {
        error
    } else {
        ManifestError::UnresolvedVars {
            names: std::mem::take(&mut vars.unresolved),
        }
    }
}

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

fn sourced_path(
    dir: &Path,
    value: String,
    location: Location,
    vars: Vec<String>,
) -> Sourced<PathBuf> {
    // A manifest in the current directory keeps its relative paths as written in messages.
    let value = if dir == Path::new(".") {
        PathBuf::from(value)
    } else {
        dir.join(value)
    };
    Sourced {
        value,
        location,
        vars,
    }
}

fn read_image(
    mut table: Table<'_, '_>,
    name: ImageName,
    dir: &Path,
    prefix: &str,
    default_platform: Option<&Platform>,
    vars: &mut Vars,
) -> Result<ImageSpec, ManifestError> {
    let location = table.location();
    table.reject_unknown(IMAGE_KEYS)?;
    let Some((context, context_loc, context_vars)) = table.string("context", vars)? else {
        return Err(ManifestError::MissingKey {
            location,
            key: "context",
            table: table.display_name(),
            example: "context = \".\"",
        });
    };
    let context = sourced_path(dir, context, context_loc, context_vars);
    let dockerfile = match table.string("dockerfile", vars)? {
        Some((file, loc, used)) => sourced_path(dir, file, loc, used),
        None => Sourced {
            value: context.value.join("Dockerfile"),
            location: context.location.clone(),
            vars: context.vars.clone(),
        },
    };
    let args = table.string_map("args", vars)?;
    for arg in args.keys() {
        if arg.is_empty() || arg.contains(|c: char| c.is_whitespace() || c == '=') {
            return Err(ManifestError::InvalidValue {
                location: table.location_of("args"),
                message: format!("build arg name `{arg}` is not valid"),
                hint: Some("use letters, digits and `_`".into()),
            });
        }
    }
    // The engine takes build args in the URL of its build request, and refuses a long one with
    // "uri too long" after the context was sent, naming no arg: refuse it here instead.
    let args_size: usize = args.iter().map(|(k, v)| k.len() + v.len()).sum();
    if args_size > MAX_BUILD_ARGS_BYTES {
        let (largest, value) = args
            .iter()
            .max_by_key(|(_, v)| v.len())
            .expect("a size over the cap has an arg");
        let mut location = table.location_of("args");
        location.key = Some(format!("{}.args.{largest}", table.path));
        return Err(ManifestError::InvalidValue {
            location,
            message: format!(
                "the build args of image `{name}` hold {args_size} bytes (`{largest}` alone {}), more than the {} KiB the engine accepts in a build request",
                value.len(),
                MAX_BUILD_ARGS_BYTES / 1024
            ),
            hint: Some("pass large content as a file in the context (`COPY`), not as a build arg".into()),
        });
    }
    let target = table.string("target", vars)?.map(|(v, _, _)| v);
    let own_platform = read_platform(&mut table, vars)?;
    let platform_declared = own_platform.is_some() || default_platform.is_some();
    let platform = own_platform
        .or_else(|| default_platform.cloned())
        .unwrap_or_else(Platform::host);

    let mut depends_on = Vec::new();
    for (dep, loc) in table.strings("depends_on", vars)?.unwrap_or_default() {
        let dep_name = dep
            .parse::<ImageName>()
            .map_err(|e| ManifestError::InvalidValue {
                location: loc.clone(),
                message: e.to_string(),
                hint: None,
            })?;
        if dep_name == name {
            return Err(ManifestError::Cycle {
                location: loc,
                cycle: vec![name.clone(), name],
            });
        }
        depends_on.push(dep_name);
    }

    let repository_text = match table.string("repository", vars)? {
        Some((repo, loc, _)) => (format!("{prefix}{repo}"), loc),
        None => (format!("{prefix}{name}"), location.clone()),
    };
    let repository = repository_text.0.parse::<RepositoryName>().map_err(|e| ManifestError::InvalidValue {
        location: repository_text.1.clone(),
        message: e.to_string(),
        hint: Some("set `repository` (and `[registry] repository_prefix`) to a lowercase path such as `fleet/element`".into()),
    })?;

    let mut tags = Vec::new();
    for (tag, loc) in table.strings("tags", vars)?.unwrap_or_default() {
        tags.push(
            tag.parse::<Tag>()
                .map_err(|e| ManifestError::InvalidValue {
                    location: loc,
                    message: e.to_string(),
                    hint: None,
                })?,
        );
    }

    let deploy = match table.table("deploy")? {
        Some(t) => read_deploy(t, vars)?,
        None => DeploySpec {
            keep_revisions: DEFAULT_KEEP_REVISIONS,
            ..DeploySpec::default()
        },
    };
    let test = match table.table("test")? {
        Some(t) => Some(super::test_section::read_test(t, vars)?),
        None => None,
    };
    let check = match table.table("check")? {
        Some(t) => read_check(t, vars)?,
        None => CheckSpec::default(),
    };
    table.finish(IMAGE_KEYS)?;
    Ok(ImageSpec {
        name,
        location,
        context,
        dockerfile,
        args,
        target,
        platform,
        platform_declared,
        depends_on,
        repository,
        tags,
        deploy,
        test,
        check,
    })
}

fn required_string(
    table: &mut Table<'_, '_>,
    key: &'static str,
    example: &'static str,
    vars: &mut Vars,
) -> Result<String, ManifestError> {
    match table.string(key, vars)? {
        Some((v, _, _)) if !v.is_empty() => Ok(v),
        _ => Err(ManifestError::MissingKey {
            location: table.location(),
            key,
            table: table.display_name(),
            example,
        }),
    }
}

fn read_deploy(mut table: Table<'_, '_>, vars: &mut Vars) -> Result<DeploySpec, ManifestError> {
    table.reject_unknown(&["services", "task_families", "keep_revisions"])?;
    let mut services = Vec::new();
    for mut entry in table.tables("services")? {
        services.push(read_service_target(&mut entry, vars)?);
        entry.finish(SERVICE_TARGET_KEYS)?;
    }
    let mut task_families = Vec::new();
    for mut entry in table.tables("task_families")? {
        entry.reject_unknown(&["family", "container", "referenced_by"])?;
        let family = match entry.string("family", vars)? {
            Some((v, _, _)) if !v.is_empty() => Some(v),
            _ => None,
        };
        let container = required_string(&mut entry, "container", "container = \"agent\"", vars)?;
        let referenced_by = match entry.table("referenced_by")? {
            Some(mut reference) => {
                reference.reject_unknown(&["image", "env"])?;
                let location = reference.location();
                let image_text = required_string(
                    &mut reference,
                    "image",
                    "referenced_by = { image = \"fleet-manager\", env = \"ECS_TASK_DEFINITION_ARN\" }",
                    vars,
                )?;
                let image =
                    image_text
                        .parse::<ImageName>()
                        .map_err(|e| ManifestError::InvalidValue {
                            location: reference.location_of("image"),
                            message: e.to_string(),
                            hint: None,
                        })?;
                let env = required_string(
                    &mut reference,
                    "env",
                    "env = \"ECS_TASK_DEFINITION_ARN\"",
                    vars,
                )?;
                reference.finish(&["image", "env"])?;
                Some(FamilyReference {
                    image,
                    env,
                    services: Vec::new(),
                    location,
                })
            }
            None => None,
        };
        if family.is_none() && referenced_by.is_none() {
            return Err(ManifestError::MissingKey {
                location: entry.location(),
                key: "family",
                table: entry.display_name(),
                example: "family = \"fleet-agent\" (or referenced_by = { image = \"fleet-manager\", env = \"ECS_TASK_DEFINITION_ARN\" })",
            });
        }
        task_families.push(FamilyTarget {
            family,
            container,
            referenced_by,
        });
        entry.finish(&["family", "container", "referenced_by"])?;
    }
    let keep_revisions = table
        .integer("keep_revisions", 1..1001)?
        .map_or(DEFAULT_KEEP_REVISIONS, |v| v as u32);
    table.finish(&["services", "task_families", "keep_revisions"])?;
    Ok(DeploySpec {
        services,
        task_families,
        keep_revisions,
    })
}

/// The keys of a `services` entry.
const SERVICE_TARGET_KEYS: &[&str] = &["cluster", "service", "container", "always_on"];

/// One `services` entry: `service` may be left out, the service is then found by its container.
fn read_service_target(
    entry: &mut Table<'_, '_>,
    vars: &mut Vars,
) -> Result<ServiceTarget, ManifestError> {
    entry.reject_unknown(SERVICE_TARGET_KEYS)?;
    Ok(ServiceTarget {
        cluster: required_string(entry, "cluster", "cluster = \"fleet\"", vars)?,
        service: match entry.string("service", vars)? {
            Some((v, _, _)) if !v.is_empty() => Some(v),
            _ => None,
        },
        container: required_string(entry, "container", "container = \"element\"", vars)?,
        always_on: entry.boolean("always_on")?.unwrap_or(true),
    })
}

/// Follows each `referenced_by` to the referencing image: it must be in the manifest and deploy
/// to at least one service; its service targets are copied into the reference.
fn resolve_references(images: &mut [ImageSpec]) -> Result<(), ManifestError> {
    let names: Vec<String> = images.iter().map(|i| i.name.to_string()).collect();
    let targets: Vec<Vec<ServiceTarget>> =
        images.iter().map(|i| i.deploy.services.clone()).collect();
    for image in images.iter_mut() {
        for family in &mut image.deploy.task_families {
            let Some(reference) = &mut family.referenced_by else {
                continue;
            };
            let Some(index) = names.iter().position(|n| n == reference.image.as_str()) else {
                return Err(ManifestError::InvalidValue {
                    location: reference.location.clone(),
                    message: format!(
                        "`referenced_by` names image `{}`, which is not in the manifest",
                        reference.image
                    ),
                    hint: Some(
                        match did_you_mean(
                            reference.image.as_str(),
                            names.iter().map(String::as_str),
                        ) {
                            Some(close) => format!("did you mean `{close}`?"),
                            None => format!("images in the manifest: {}", names.join(", ")),
                        },
                    ),
                });
            };
            if targets[index].is_empty() {
                return Err(ManifestError::InvalidValue {
                    location: reference.location.clone(),
                    message: format!(
                        "`referenced_by` names image `{}`, which deploys to no service",
                        reference.image
                    ),
                    hint: Some(format!(
                        "add `services = [{{ cluster = \"…\", container = \"…\" }}]` to [images.{}.deploy]: the reference is read from that service's task definition",
                        reference.image
                    )),
                });
            }
            reference.services = targets[index].clone();
        }
    }
    Ok(())
}

fn read_check(mut table: Table<'_, '_>, vars: &mut Vars) -> Result<CheckSpec, ManifestError> {
    let env_files = table
        .strings("env_files", vars)?
        .unwrap_or_default()
        .into_iter()
        .map(|(v, _)| v)
        .collect();
    let element_config = table.string("element_config", vars)?.map(|(v, _, _)| v);
    let mut allow = Vec::new();
    for (rule, location) in table.strings("allow", vars)?.unwrap_or_default() {
        let ids = super::rule_ids::RULE_IDS.iter().copied();
        if !ids.clone().any(|id| id == rule) {
            return Err(ManifestError::InvalidValue {
                location,
                message: format!("`{rule}` in `allow` is not a check rule"),
                hint: Some(match did_you_mean(&rule, ids.clone()) {
                    Some(near) => format!("did you mean `{near}`?"),
                    None => format!("rules: {}", ids.collect::<Vec<_>>().join(", ")),
                }),
            });
        }
        allow.push(rule);
    }
    table.finish(&["env_files", "element_config", "allow"])?;
    Ok(CheckSpec {
        env_files,
        element_config,
        allow,
    })
}

fn check_dependencies(images: &[ImageSpec]) -> Result<(), ManifestError> {
    let names: Vec<&str> = images.iter().map(|i| i.name.as_str()).collect();
    let index: HashMap<&ImageName, usize> = images
        .iter()
        .enumerate()
        .map(|(i, image)| (&image.name, i))
        .collect();
    for image in images {
        for dep in &image.depends_on {
            if !index.contains_key(dep) {
                return Err(ManifestError::UnknownDependency {
                    location: Location {
                        key: Some(format!("images.{}.depends_on", image.name)),
                        ..image.location.clone()
                    },
                    image: image.name.clone(),
                    dependency: dep.to_string(),
                    suggestion: did_you_mean(dep.as_str(), names.iter().copied())
                        .map(str::to_string),
                });
            }
        }
    }
    // Depth-first search for a cycle, reporting the first one found in file order.
    #[derive(Clone, Copy, PartialEq)]
    enum Mark {
        New,
        Active,
        Done,
    }
    fn visit(
        i: usize,
        images: &[ImageSpec],
        index: &HashMap<&ImageName, usize>,
        marks: &mut [Mark],
        stack: &mut Vec<usize>,
    ) -> Option<Vec<usize>> {
        marks[i] = Mark::Active;
        stack.push(i);
        for dep in &images[i].depends_on {
            let j = index[dep];
            match marks[j] {
                Mark::Active => {
                    let start = stack.iter().position(|&s| s == j).expect("on stack");
                    let mut cycle = stack[start..].to_vec();
                    cycle.push(j);
                    return Some(cycle);
                }
                Mark::New => {
                    if let Some(cycle) = visit(j, images, index, marks, stack) {
                        return Some(cycle);
                    }
                }
                Mark::Done => {}
            }
        }
        stack.pop();
        marks[i] = Mark::Done;
        None
    }
    let mut marks = vec![Mark::New; images.len()];
    for i in 0..images.len() {
        if marks[i] == Mark::New {
            if let Some(cycle) = visit(i, images, &index, &mut marks, &mut Vec::new()) {
                return Err(ManifestError::Cycle {
                    location: Location {
                        key: Some(format!("images.{}.depends_on", images[cycle[0]].name)),
                        ..images[cycle[0]].location.clone()
                    },
                    cycle: cycle.into_iter().map(|i| images[i].name.clone()).collect(),
                });
            }
        }
    }
    Ok(())
}

/// The images a command works on: the named ones (all when none is named) plus everything they
/// depend on, in dependency order (dependencies first, otherwise file order).
pub fn select(manifest: &Manifest, names: &[String]) -> Result<Vec<ImageName>, ManifestError> {
    let mut wanted: Vec<ImageName> = Vec::new();
    let all: Vec<&str> = manifest.images.iter().map(|i| i.name.as_str()).collect();
    if names.is_empty() {
        wanted = manifest.images.iter().map(|i| i.name.clone()).collect();
    }
    for name in names {
        match manifest.images.iter().find(|i| i.name.as_str() == name) {
            Some(image) => wanted.push(image.name.clone()),
            None => {
                return Err(ManifestError::UnknownImage {
                    manifest: manifest.path.clone(),
                    name: name.clone(),
                    suggestion: did_you_mean(name, all.iter().copied()).map(str::to_string),
                    known: all.iter().map(|s| s.to_string()).collect(),
                })
            }
        }
    }
    // Indexed, so that selecting from thousands of images stays linear.
    let by_name: HashMap<&ImageName, &ImageSpec> =
        manifest.images.iter().map(|i| (&i.name, i)).collect();
    let mut order = Vec::new();
    let mut added = HashSet::new();
    fn add<'m>(
        name: &'m ImageName,
        by_name: &HashMap<&ImageName, &'m ImageSpec>,
        added: &mut HashSet<&'m ImageName>,
        order: &mut Vec<ImageName>,
    ) {
        if !added.insert(name) {
            return;
        }
        let image = by_name[name];
        for dep in &image.depends_on {
            add(dep, by_name, added, order);
        }
        order.push(name.clone());
    }
    for name in &wanted {
        let name = by_name.get_key_value(name).expect("validated").0;
        add(name, &by_name, &mut added, &mut order);
    }
    Ok(order)
}
