//! Reading `fleet.toml` into a validated [`Manifest`]: every key known, every value typed, every
//! `${var}` resolved, every dependency defined and acyclic.
//!
//! This file reads the top level, `[defaults]` and each `[images.<name>]`; the sections with
//! more to say have files of their own (`registry_section.rs`, `deploy_section.rs`,
//! `test_section.rs`), and `dependencies.rs` checks the dependency graph and selects images.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use super::dependencies::check_dependencies;
use super::deploy_section::{read_deploy, resolve_references, DEFAULT_KEEP_REVISIONS};
use super::model::*;
use super::reader::{Source, Table};
use super::registry_section::read_registry;
use super::vars::Vars;
use super::ManifestError;
use crate::error::{did_you_mean, Location};
use crate::names::Builder;
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
    let document = toml::de::DeTable::parse(text).map_err(|e| syntax_error(&source, text, &e))?;
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

    if let Some(table) = root.table("vars")? {
        read_vars(table, &mut vars)?;
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
    let mut images = read_images(
        &mut images_table,
        &dir,
        &prefix,
        default_platform.as_ref(),
        &mut vars,
    )?;
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

/// Every `[images.<name>]`, in file order; an error names the unresolved variables behind it
/// first.
fn read_images(
    images_table: &mut Table<'_, '_>,
    dir: &Path,
    prefix: &str,
    default_platform: Option<&Platform>,
    vars: &mut Vars,
) -> Result<Vec<ImageSpec>, ManifestError> {
    let mut images = Vec::new();
    for (name, location) in images_table.keys() {
        let image_name: ImageName =
            name.parse()
                .map_err(|e: crate::names::NameError| ManifestError::InvalidValue {
                    location: location.clone(),
                    message: e.to_string(),
                    hint: Some("rename the `[images.<name>]` table".into()),
                })?;
        let table = images_table.table(&name)?.expect("key listed above");
        let image = read_image(table, image_name, dir, prefix, default_platform, vars);
        images.push(image.map_err(|e| unresolved_first(vars, e))?);
    }
    Ok(images)
}

/// A TOML syntax error at its line and column, with the parser's first line of explanation.
fn syntax_error(source: &Source, text: &str, e: &toml::de::Error) -> ManifestError {
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
}

/// `[vars]`: the defaults of the manifest's variables, taken as written.
fn read_vars(mut table: Table<'_, '_>, vars: &mut Vars) -> Result<(), ManifestError> {
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
    table.finish(&[])
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
    let args = read_args(&mut table, &name, vars)?;
    let target = table.string("target", vars)?.map(|(v, _, _)| v);
    let own_platform = read_platform(&mut table, vars)?;
    let platform_declared = own_platform.is_some() || default_platform.is_some();
    let platform = own_platform
        .or_else(|| default_platform.cloned())
        .unwrap_or_else(Platform::host);

    let depends_on = read_depends_on(&mut table, &name, vars)?;

    let repository = read_repository(&mut table, &name, prefix, &location, vars)?;

    let tags = read_tags(&mut table, vars)?;

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

/// `repository` (the image's name by default), under `[registry] repository_prefix`.
fn read_repository(
    table: &mut Table<'_, '_>,
    name: &ImageName,
    prefix: &str,
    location: &Location,
    vars: &mut Vars,
) -> Result<RepositoryName, ManifestError> {
    let repository_text = match table.string("repository", vars)? {
        Some((repo, loc, _)) => (format!("{prefix}{repo}"), loc),
        None => (format!("{prefix}{name}"), location.clone()),
    };
    repository_text.0.parse::<RepositoryName>().map_err(|e| ManifestError::InvalidValue {
        location: repository_text.1.clone(),
        message: e.to_string(),
        hint: Some("set `repository` (and `[registry] repository_prefix`) to a lowercase path such as `fleet/element`".into()),
    })
}

/// `args`: valid names, and no more in all than the engine takes in a build request.
fn read_args(
    table: &mut Table<'_, '_>,
    name: &ImageName,
    vars: &mut Vars,
) -> Result<BTreeMap<String, String>, ManifestError> {
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
    Ok(args)
}

/// `depends_on`: image names, none of them the image itself.
fn read_depends_on(
    table: &mut Table<'_, '_>,
    name: &ImageName,
    vars: &mut Vars,
) -> Result<Vec<ImageName>, ManifestError> {
    let mut depends_on = Vec::new();
    for (dep, loc) in table.strings("depends_on", vars)?.unwrap_or_default() {
        let dep_name = dep
            .parse::<ImageName>()
            .map_err(|e| ManifestError::InvalidValue {
                location: loc.clone(),
                message: e.to_string(),
                hint: None,
            })?;
        if dep_name == *name {
            return Err(ManifestError::Cycle {
                location: loc,
                cycle: vec![name.clone(), name.clone()],
            });
        }
        depends_on.push(dep_name);
    }
    Ok(depends_on)
}

/// `tags`: the moving tags written after a push.
fn read_tags(table: &mut Table<'_, '_>, vars: &mut Vars) -> Result<Vec<Tag>, ManifestError> {
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
    Ok(tags)
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
