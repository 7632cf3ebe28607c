//! Reading `[images.<name>.test]` into a [`TestSpec`](super::TestSpec). Everything is checked
//! when the manifest is loaded: a misspelt key, a relative file path, a mode that is not octal, an
//! owner that is not numeric, a regex that does not compile, both `image` and `reference`, or a
//! service `image` the manifest does not define is a load error with file, line and key (exit 2).

use std::collections::BTreeSet;
use std::time::Duration;

use super::reader::Table;
use super::test_spec::*;
use super::test_values::{
    invalid, optional_string, read_duration, read_port, read_regex, required,
};
use super::vars::Vars;
use super::{ImageSpec, ManifestError};
use crate::error::{did_you_mean, Location};
use crate::names::ImageName;

/// Default time a local image test may take to answer.
pub const DEFAULT_TEST_TIMEOUT: Duration = Duration::from_secs(30);

const TEST_KEYS: &[&str] = &[
    "tcp", "http", "user", "timeout", "env", "metadata", "files", "commands", "services",
];
const METADATA_KEYS: &[&str] = &[
    "user",
    "workdir",
    "entrypoint",
    "cmd",
    "env",
    "exposed_ports",
];
const FILE_KEYS: &[&str] = &[
    "path", "exists", "type", "mode", "owner", "contains", "matches",
];
const COMMAND_KEYS: &[&str] = &[
    "name",
    "run",
    "env",
    "exit_code",
    "stdout_contains",
    "stdout_matches",
    "stderr_contains",
    "stderr_matches",
    "timeout",
];
const SERVICE_KEYS: &[&str] = &["name", "image", "reference", "env", "ready"];

/// Reads `[images.<name>.test]`.
pub(crate) fn read_test(
    mut table: Table<'_, '_>,
    vars: &mut Vars,
) -> Result<TestSpec, ManifestError> {
    table.reject_unknown(TEST_KEYS)?;
    let location = table.location();
    let tcp = read_port(&mut table, "tcp")?;
    let http = match table.table("http")? {
        Some(http) => Some(read_http(http, vars)?),
        None => None,
    };
    let probe = match (tcp, http) {
        (Some(port), None) => Some(Probe::Tcp { port }),
        (None, Some(probe)) => Some(probe),
        (Some(_), Some(_)) => {
            return Err(invalid(
                table.location_of("tcp"),
                format!("{} sets both `tcp` and `http`", table.display_name()),
                Some("keep one probe: `http` checks more than `tcp`"),
            ))
        }
        (None, None) => None,
    };
    let user = optional_string(&mut table, "user", vars)?;
    let timeout = read_duration(&mut table, vars, DEFAULT_TEST_TIMEOUT)?;
    let env = table.string_map("env", vars)?;
    let metadata = match table.table("metadata")? {
        Some(t) => read_metadata(t, vars)?,
        None => MetadataTest::default(),
    };
    let mut files = Vec::new();
    for entry in table.tables("files")? {
        files.push(read_file(entry, vars)?);
    }
    let mut commands = Vec::new();
    for entry in table.tables("commands")? {
        commands.push(read_command(entry, vars, timeout)?);
    }
    let mut services: Vec<ServiceSpec> = Vec::new();
    for entry in table.tables("services")? {
        let service = read_service(entry, vars)?;
        if services.iter().any(|s| s.name == service.name) {
            return Err(invalid(
                service.location.clone(),
                format!("two services are named `{}`", service.name),
                Some("each service needs its own `name`: it is its host name on the test network"),
            ));
        }
        services.push(service);
    }
    table.finish(TEST_KEYS)?;
    Ok(TestSpec {
        probe,
        user,
        timeout,
        env,
        metadata,
        files,
        commands,
        services,
        location,
    })
}

/// `http = { port, path, status, contains }`: a GET that must answer `status` (200), with
/// `contains` in the body when set; `path` gets its leading `/`.
fn read_http(mut http: Table<'_, '_>, vars: &mut Vars) -> Result<Probe, ManifestError> {
    let Some(port) = read_port(&mut http, "port")? else {
        return Err(required(
            &http,
            "port",
            "http = { port = 8080, path = \"/\" }",
        ));
    };
    let path = optional_string(&mut http, "path", vars)?.unwrap_or_else(|| "/".into());
    let status = http.integer("status", 100..600)?.map_or(200, |s| s as u16);
    let contains = optional_string(&mut http, "contains", vars)?;
    http.finish(&["port", "path", "status", "contains"])?;
    Ok(Probe::Http {
        port,
        path: if path.starts_with('/') {
            path
        } else {
            format!("/{path}")
        },
        status,
        contains,
    })
}

fn read_metadata(mut table: Table<'_, '_>, vars: &mut Vars) -> Result<MetadataTest, ManifestError> {
    table.reject_unknown(METADATA_KEYS)?;
    let strings = |list: Option<Vec<(String, Location)>>| {
        list.map(|items| items.into_iter().map(|(v, _)| v).collect::<Vec<_>>())
    };
    let user = optional_string(&mut table, "user", vars)?;
    let workdir = optional_string(&mut table, "workdir", vars)?;
    let entrypoint = strings(table.strings("entrypoint", vars)?);
    let cmd = strings(table.strings("cmd", vars)?);
    let env = table.string_map("env", vars)?;
    let exposed_ports = match table.strings("exposed_ports", vars)? {
        None => None,
        Some(items) => {
            let mut ports = BTreeSet::new();
            for (text, location) in items {
                ports.insert(normalise_port(&text).ok_or_else(|| {
                    invalid(
                        location,
                        format!("`exposed_ports` entry `{text}` is not a port"),
                        Some("write `8080` or `8080/tcp` (or `/udp`, `/sctp`)"),
                    )
                })?);
            }
            Some(ports.into_iter().collect())
        }
    };
    table.finish(METADATA_KEYS)?;
    Ok(MetadataTest {
        user,
        workdir,
        entrypoint,
        cmd,
        env,
        exposed_ports,
    })
}

/// `8080` → `8080/tcp`; `8080/udp` stays; anything else is `None`.
pub fn normalise_port(text: &str) -> Option<String> {
    let (port, proto) = text.trim().split_once('/').unwrap_or((text.trim(), "tcp"));
    let port: u16 = port.parse().ok().filter(|p| *p > 0)?;
    let proto = proto.to_ascii_lowercase();
    matches!(proto.as_str(), "tcp" | "udp" | "sctp").then(|| format!("{port}/{proto}"))
}

fn parse_mode(text: &str) -> Option<u32> {
    let digits = text.strip_prefix("0o").unwrap_or(text);
    if digits.is_empty() || digits.len() > 5 {
        return None;
    }
    u32::from_str_radix(digits, 8).ok().filter(|m| *m <= 0o7777)
}

fn parse_owner(text: &str) -> Option<Owner> {
    let (uid, gid) = match text.split_once(':') {
        Some((u, g)) => (u, Some(g)),
        None => (text, None),
    };
    Some(Owner {
        uid: uid.parse().ok()?,
        gid: match gid {
            Some(g) => Some(g.parse().ok()?),
            None => None,
        },
    })
}

fn read_file(mut table: Table<'_, '_>, vars: &mut Vars) -> Result<FileTest, ManifestError> {
    table.reject_unknown(FILE_KEYS)?;
    let location = table.location();
    let Some((path, path_location, _)) = table.string("path", vars)? else {
        return Err(required(&table, "path", "path = \"/app/config.json\""));
    };
    if !path.starts_with('/') {
        return Err(invalid(
            path_location,
            format!("file test path `{path}` is not absolute"),
            Some("write the path in the image from its root, like `/app/config.json`: the image's WORKDIR is not applied"),
        ));
    }
    let exists = table.boolean("exists")?.unwrap_or(true);
    let kind = read_file_type(&mut table, vars)?;
    let mode = match table.string("mode", vars)? {
        None => None,
        Some((text, location, _)) => Some(parse_mode(&text).ok_or_else(|| {
            invalid(
                location,
                format!("file `mode` `{text}` is not octal permission bits"),
                Some("write it as an octal string such as `\"0644\"` or `\"0755\"` (at most `07777`)"),
            )
        })?),
    };
    let owner = match table.string("owner", vars)? {
        None => None,
        Some((text, location, _)) => Some(parse_owner(&text).ok_or_else(|| {
            invalid(
                location,
                format!("file `owner` `{text}` is not a uid or `uid:gid`"),
                Some("write numeric ids, like `\"101\"` or `\"101:101\"`: the tar headers the engine sends carry ids, not names"),
            )
        })?),
    };
    let contains = optional_string(&mut table, "contains", vars)?;
    let matches = read_regex(&mut table, "matches", vars)?;
    if !exists {
        for key in ["type", "mode", "owner", "contains", "matches"] {
            if table.keys().iter().any(|(k, _)| k == key) {
                return Err(invalid(
                    table.location_of(key),
                    format!("file test `{path}` sets `exists = false` and `{key}`"),
                    Some(
                        "a path that must be absent has nothing else to check: remove one of them",
                    ),
                ));
            }
        }
    }
    if kind == Some(FileType::Dir) && (contains.is_some() || matches.is_some()) {
        return Err(invalid(
            location,
            format!("file test `{path}` checks content, but its `type` is `dir`"),
            Some("`contains` and `matches` read a regular file's content (a symbolic link's target's)"),
        ));
    }
    table.finish(FILE_KEYS)?;
    Ok(FileTest {
        path,
        exists,
        kind,
        mode,
        owner,
        contains,
        matches,
        location,
    })
}

/// A file test's `type`: `file`, `dir` (`directory`) or `symlink` (`link`).
fn read_file_type(
    table: &mut Table<'_, '_>,
    vars: &mut Vars,
) -> Result<Option<FileType>, ManifestError> {
    Ok(match table.string("type", vars)? {
        None => None,
        Some((text, location, _)) => Some(match text.as_str() {
            "file" => FileType::File,
            "dir" | "directory" => FileType::Dir,
            "symlink" | "link" => FileType::Symlink,
            _ => {
                return Err(invalid(
                    location,
                    format!("file `type` `{text}` is not one of `file`, `dir`, `symlink`"),
                    None,
                ))
            }
        }),
    })
}

fn read_command(
    mut table: Table<'_, '_>,
    vars: &mut Vars,
    default_timeout: Duration,
) -> Result<CommandTest, ManifestError> {
    table.reject_unknown(COMMAND_KEYS)?;
    let location = table.location();
    let name = match optional_string(&mut table, "name", vars)? {
        Some(name) if !name.trim().is_empty() => name,
        _ => {
            return Err(required(
                &table,
                "name",
                "name = \"refuses to start without FLEET_SECRET\"",
            ))
        }
    };
    let run: Vec<String> =
        match table.strings("run", vars)? {
            Some(items) if !items.is_empty() => items.into_iter().map(|(v, _)| v).collect(),
            Some(_) => return Err(invalid(
                table.location_of("run"),
                format!("command test `{name}` has an empty `run`"),
                Some("give the argv to run, like `run = [\"node\", \"dist/cli.js\", \"--help\"]`"),
            )),
            None => return Err(required(&table, "run", "run = [\"sh\", \"-c\", \"id -u\"]")),
        };
    let env = table.string_map("env", vars)?;
    let exit_code = table.integer("exit_code", 0..256)?.unwrap_or(0);
    let stdout_contains = optional_string(&mut table, "stdout_contains", vars)?;
    let stdout_matches = read_regex(&mut table, "stdout_matches", vars)?;
    let stderr_contains = optional_string(&mut table, "stderr_contains", vars)?;
    let stderr_matches = read_regex(&mut table, "stderr_matches", vars)?;
    let timeout = read_duration(&mut table, vars, default_timeout)?;
    table.finish(COMMAND_KEYS)?;
    Ok(CommandTest {
        name,
        run,
        env,
        exit_code,
        stdout_contains,
        stdout_matches,
        stderr_contains,
        stderr_matches,
        timeout,
        location,
    })
}

fn valid_host_name(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= 63
        && name
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
        && !name.starts_with('-')
        && !name.ends_with('-')
}

fn read_service(mut table: Table<'_, '_>, vars: &mut Vars) -> Result<ServiceSpec, ManifestError> {
    table.reject_unknown(SERVICE_KEYS)?;
    let location = table.location();
    let Some((name, name_location, _)) = table.string("name", vars)? else {
        return Err(required(&table, "name", "name = \"conduit\""));
    };
    if !valid_host_name(&name) {
        return Err(invalid(
            name_location,
            format!("service name `{name}` is not a host name"),
            Some("use lowercase letters, digits and `-` (it is the service's host name on the test network)"),
        ));
    }
    let fleet = table.string("image", vars)?;
    let reference = table.string("reference", vars)?;
    let image_location = table.location_of(if fleet.is_some() {
        "image"
    } else {
        "reference"
    });
    let image = match (fleet, reference) {
        (Some((text, location, _)), None) => {
            ServiceImage::Fleet(text.parse::<ImageName>().map_err(|e| {
                invalid(location, format!("service `{name}`: {e}"), None)
            })?)
        }
        (None, Some((text, _, _))) if !text.is_empty() => ServiceImage::Reference(text),
        (Some(_), Some(_)) => {
            return Err(invalid(
                table.location_of("reference"),
                format!("service `{name}` sets both `image` and `reference`"),
                Some("`image` names a fleet image of this manifest, `reference` any image the engine has: keep one"),
            ))
        }
        _ => {
            return Err(required(
                &table,
                "image",
                "image = \"conduit\" (a fleet image) or reference = \"127.0.0.1:5000/x:1\"",
            ))
        }
    };
    let env = table.string_map("env", vars)?;
    let ready = match table.table("ready")? {
        None => None,
        Some(mut ready) => {
            let Some(port) = read_port(&mut ready, "port")? else {
                return Err(required(&ready, "port", "ready = { port = 6167 }"));
            };
            let path = optional_string(&mut ready, "path", vars)?.map(|p| {
                if p.starts_with('/') {
                    p
                } else {
                    format!("/{p}")
                }
            });
            ready.finish(&["port", "path"])?;
            Some(Readiness { port, path })
        }
    };
    table.finish(SERVICE_KEYS)?;
    Ok(ServiceSpec {
        name,
        image,
        image_location,
        env,
        ready,
        location,
    })
}

/// Every `image = "…"` of a test service names an image of the manifest.
pub(crate) fn check_service_images(images: &[ImageSpec]) -> Result<(), ManifestError> {
    let names: Vec<&str> = images.iter().map(|i| i.name.as_str()).collect();
    for image in images {
        let services = image.test.iter().flat_map(|t| &t.services);
        for service in services {
            let ServiceImage::Fleet(wanted) = &service.image else {
                continue;
            };
            if !names.contains(&wanted.as_str()) {
                let hint = match did_you_mean(wanted.as_str(), names.iter().copied()) {
                    Some(near) => format!("did you mean `{near}`? (for an image outside the manifest, use `reference`)"),
                    None => format!(
                        "the manifest's images are {}; for any other image use `reference`",
                        names.join(", ")
                    ),
                };
                return Err(ManifestError::InvalidValue {
                    location: service.image_location.clone(),
                    message: format!(
                        "test service `{}` of image `{}` names image `{wanted}`, which the manifest does not define",
                        service.name, image.name
                    ),
                    hint: Some(hint),
                });
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::{render, Diagnostic, Exit};
    use crate::manifest::{parse, LoadOptions, Manifest};

    fn load(text: &str) -> Result<Manifest, ManifestError> {
        parse(
            std::path::Path::new("images/fleet.toml"),
            text,
            &LoadOptions::default(),
        )
    }

    /// The rendered load error of a manifest with one image `a` whose test section is `section`.
    fn error(section: &str) -> String {
        let text = format!(
            "[images.a]\ncontext = \".\"\n[images.b]\ncontext = \".\"\n[images.a.test]\n{section}"
        );
        let error = load(&text).expect_err("the manifest should be rejected");
        assert_eq!(error.exit(), Exit::BadInput);
        render(&error)
    }

    const FULL: &str = r#"
[images.conduit]
context = "."

[images.agent]
context = "."

[images.agent.test]
timeout = "20s"
env = { A = "b" }

[images.agent.test.metadata]
user = "node"
workdir = "/app"
entrypoint = []
cmd = ["node", "dist/index.js"]
env = { NODE_ENV = "production" }
exposed_ports = ["8080", "53/udp"]

[[images.agent.test.files]]
path = "/app/dist/index.js"
type = "file"
mode = "0644"
owner = "1000:1000"
contains = "openclaw"
matches = '"brand":\s*"Open'

[[images.agent.test.files]]
path = "/app/.env"
exists = false

[[images.agent.test.commands]]
name = "refuses to start without FLEET_SECRET"
run = ["node", "cli.js", "start"]
env = { FLEET_ENV = "aws" }
exit_code = 1
stderr_contains = "FLEET_SECRET"
stdout_matches = "^$"
timeout = "5s"

[[images.agent.test.commands]]
name = "prints its version"
run = ["node", "--version"]

[[images.agent.test.services]]
name = "conduit"
image = "conduit"
ready = { port = 6167, path = "_matrix/client/versions" }

[[images.agent.test.services]]
name = "db"
reference = "127.0.0.1:5000/postgres:16"
env = { POSTGRES_PASSWORD = "x" }
"#;

    #[test]
    fn the_whole_schema_loads() {
        let manifest = load(FULL).unwrap();
        let test = manifest.images[1].test.clone().unwrap();
        assert_eq!(test.timeout, Duration::from_secs(20));
        assert!(
            !test.starts_image(),
            "commands and no probe: the image is not started alone"
        );
        let m = &test.metadata;
        assert_eq!(m.user.as_deref(), Some("node"));
        assert_eq!(m.entrypoint, Some(vec![]));
        assert_eq!(m.cmd.as_ref().unwrap().len(), 2);
        assert_eq!(
            m.exposed_ports,
            Some(vec!["53/udp".to_string(), "8080/tcp".to_string()])
        );
        let f = &test.files[0];
        assert_eq!(f.mode, Some(0o644));
        assert_eq!(
            f.owner,
            Some(Owner {
                uid: 1000,
                gid: Some(1000)
            })
        );
        assert!(f
            .matches
            .as_ref()
            .unwrap()
            .is_match("{\"brand\":  \"Open Claw\"}"));
        assert_eq!(f.location.line, Some(20));
        assert!(!test.files[1].exists);
        let c = &test.commands[0];
        assert_eq!((c.exit_code, c.timeout), (1, Duration::from_secs(5)));
        assert_eq!(test.commands[1].exit_code, 0);
        assert_eq!(test.commands[1].timeout, Duration::from_secs(20));
        assert_eq!(
            test.services[0].image,
            ServiceImage::Fleet("conduit".parse().unwrap())
        );
        assert_eq!(
            test.services[0].ready,
            Some(Readiness {
                port: 6167,
                path: Some("/_matrix/client/versions".into())
            })
        );
        assert_eq!(
            test.services[1].image,
            ServiceImage::Reference("127.0.0.1:5000/postgres:16".into())
        );
    }

    #[test]
    fn schema_errors_name_file_line_and_key() {
        assert_eq!(
            error("[images.a.test.metadata]\nusr = \"x\""),
            "error: unknown key `usr` in `[images.a.test.metadata]`\n  --> images/fleet.toml:7 (images.a.test.metadata.usr)\n  hint: did you mean `user`?"
        );
        assert_eq!(
            error("[[images.a.test.files]]\npath = \"app/x\""),
            "error: file test path `app/x` is not absolute\n  --> images/fleet.toml:7 (images.a.test.files[0].path)\n  hint: write the path in the image from its root, like `/app/config.json`: the image's WORKDIR is not applied"
        );
        assert_eq!(
            error("[[images.a.test.files]]\npath = \"/x\"\nmode = \"644x\""),
            "error: file `mode` `644x` is not octal permission bits\n  --> images/fleet.toml:8 (images.a.test.files[0].mode)\n  hint: write it as an octal string such as `\"0644\"` or `\"0755\"` (at most `07777`)"
        );
        assert!(
            error("[[images.a.test.files]]\npath = \"/x\"\nmatches = \"(unclosed\"")
                .starts_with("error: `matches` `(unclosed` is not a valid regular expression: ")
        );
        assert!(
            error("[[images.a.test.files]]\npath = \"/x\"\nmatches = \"(unclosed\"")
                .contains("\n  --> images/fleet.toml:8 (images.a.test.files[0].matches)")
        );
        assert!(error(
            "[[images.a.test.commands]]\nname = \"n\"\nrun = [\"x\"]\nstderr_matches = \"[\""
        )
        .contains("(images.a.test.commands[0].stderr_matches)"));
        assert_eq!(
            error("[[images.a.test.files]]\npath = \"/x\"\nexists = false\nmode = \"0644\""),
            "error: file test `/x` sets `exists = false` and `mode`\n  --> images/fleet.toml:9 (images.a.test.files[0].mode)\n  hint: a path that must be absent has nothing else to check: remove one of them"
        );
        assert_eq!(
            error("[[images.a.test.files]]\npath = \"/x\"\nowner = \"nginx\""),
            "error: file `owner` `nginx` is not a uid or `uid:gid`\n  --> images/fleet.toml:8 (images.a.test.files[0].owner)\n  hint: write numeric ids, like `\"101\"` or `\"101:101\"`: the tar headers the engine sends carry ids, not names"
        );
        assert_eq!(
            error("[[images.a.test.services]]\nname = \"svc\"\nimage = \"b\"\nreference = \"busybox\""),
            "error: service `svc` sets both `image` and `reference`\n  --> images/fleet.toml:9 (images.a.test.services[0].reference)\n  hint: `image` names a fleet image of this manifest, `reference` any image the engine has: keep one"
        );
        assert_eq!(
            error("[[images.a.test.services]]\nname = \"svc\"\nimage = \"bb\""),
            "error: test service `svc` of image `a` names image `bb`, which the manifest does not define\n  --> images/fleet.toml:8 (images.a.test.services[0].image)\n  hint: did you mean `b`? (for an image outside the manifest, use `reference`)"
        );
        assert_eq!(
            error("[[images.a.test.commands]]\nname = \"n\"\nrun = []"),
            "error: command test `n` has an empty `run`\n  --> images/fleet.toml:8 (images.a.test.commands[0].run)\n  hint: give the argv to run, like `run = [\"node\", \"dist/cli.js\", \"--help\"]`"
        );
        assert_eq!(
            error("[[images.a.test.commands]]\nrun = [\"x\"]"),
            "error: `[images.a.test.commands[0]]` has no `name`\n  --> images/fleet.toml:6 (images.a.test.commands[0])\n  hint: add it, for example `name = \"refuses to start without FLEET_SECRET\"`"
        );
        assert_eq!(
            error("[[images.a.test.commands]]\nname = \"n\"\nrun = [\"x\"]\nexit = 1"),
            "error: unknown key `exit` in `[images.a.test.commands[0]]`\n  --> images/fleet.toml:9 (images.a.test.commands[0].exit)\n  hint: known keys here: name, run, env, exit_code, stdout_contains, stdout_matches, stderr_contains, stderr_matches, timeout"
        );
        assert_eq!(
            error("[images.a.test.metadata]\nexposed_ports = [\"http\"]"),
            "error: `exposed_ports` entry `http` is not a port\n  --> images/fleet.toml:7 (images.a.test.metadata.exposed_ports)\n  hint: write `8080` or `8080/tcp` (or `/udp`, `/sctp`)"
        );
    }

    #[test]
    fn ports_modes_and_owners() {
        assert_eq!(normalise_port("8080").as_deref(), Some("8080/tcp"));
        assert_eq!(normalise_port("53/UDP").as_deref(), Some("53/udp"));
        assert_eq!(normalise_port("http"), None);
        assert_eq!(normalise_port("0"), None);
        assert_eq!(parse_mode("0644"), Some(0o644));
        assert_eq!(parse_mode("4755"), Some(0o4755));
        assert_eq!(parse_mode("0o755"), Some(0o755));
        assert_eq!(parse_mode("0888"), None);
        assert_eq!(parse_mode("17777"), None);
        assert_eq!(parse_mode(""), None);
        assert_eq!(
            parse_owner("101"),
            Some(Owner {
                uid: 101,
                gid: None
            })
        );
        assert_eq!(
            parse_owner("101:102"),
            Some(Owner {
                uid: 101,
                gid: Some(102)
            })
        );
        assert_eq!(parse_owner("nginx"), None);
        assert_eq!(parse_owner("1:x"), None);
        assert!(valid_host_name("conduit"));
        assert!(!valid_host_name("Conduit"));
        assert!(!valid_host_name("a_b"));
    }
}
