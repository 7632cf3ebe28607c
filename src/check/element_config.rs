//! `element-config`: the Element Web `config.json` that `[images.<name>.check] element_config`
//! names (a path in the image, such as `/app/config.json`) must
//!
//! - be valid JSON (Element falls back to defaults or an error page otherwise);
//! - name its homeserver, `default_server_config."m.homeserver".base_url` (or the older
//!   `default_hs_url`), at an address the user's browser can reach: a warning for a VPC, link-local
//!   or private-DNS address (lesson 4);
//! - reference only branding assets the image holds (lesson 10): every relative URL under
//!   `branding` ending in `_url` (`auth_header_logo_url`, `welcome_background_url`, a string or a
//!   list) and under `embedded_pages` (`welcome_url`, `home_url`), resolved against the directory
//!   of `config.json`, which Element's web root is. Absolute URLs (`https://…`, `data:`) are not
//!   checked.

use serde_json::Value;

use super::address;
use super::copies;
use super::files::{FileState, Files};
use super::{rules, Finding, Note, Severity};
use crate::docker::{EngineError, TestContainer};
use crate::names::ImageName;

/// One asset the config references.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Asset {
    /// Where in the config: `branding.auth_header_logo_url`.
    pub(crate) key: String,
    /// The URL as written.
    pub(crate) url: String,
    /// The path in the image it resolves to.
    pub(crate) path: String,
}

/// A problem with the config itself.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Problem {
    pub(crate) severity: Severity,
    pub(crate) message: String,
    pub(crate) hint: String,
}

/// What reading a config found: its problems, and the assets to look for.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct Validated {
    pub(crate) problems: Vec<Problem>,
    pub(crate) assets: Vec<Asset>,
}

fn problem(severity: Severity, message: String, hint: impl Into<String>) -> Problem {
    Problem {
        severity,
        message,
        hint: hint.into(),
    }
}

/// Whether a URL is relative (to be found in the image), as opposed to `https://…`, `//host/…` or
/// `data:…`.
fn is_relative(url: &str) -> bool {
    if url.starts_with("//") || url.is_empty() {
        return false;
    }
    match url.split_once(':') {
        Some((scheme, _)) => !scheme
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '+' | '-' | '.')),
        None => true,
    }
}

/// The image path a relative URL resolves to, with `web_root` (the config's directory) as `/`.
pub(crate) fn resolve(web_root: &str, url: &str) -> String {
    let path = url.split(['?', '#']).next().unwrap_or_default();
    let inside = copies::normalize(path, false);
    copies::join(web_root, &inside)
}

fn collect_assets(json: &Value, web_root: &str) -> Vec<Asset> {
    let mut found: Vec<(String, String)> = Vec::new();
    if let Some(branding) = json.get("branding").and_then(Value::as_object) {
        for (key, value) in branding {
            if !key.ends_with("_url") {
                continue;
            }
            match value {
                Value::String(url) => found.push((format!("branding.{key}"), url.clone())),
                Value::Array(items) => {
                    for (i, item) in items.iter().enumerate() {
                        if let Some(url) = item.as_str() {
                            found.push((format!("branding.{key}[{i}]"), url.to_string()));
                        }
                    }
                }
                _ => {}
            }
        }
    }
    if let Some(pages) = json.get("embedded_pages").and_then(Value::as_object) {
        for key in ["welcome_url", "home_url"] {
            if let Some(url) = pages.get(key).and_then(Value::as_str) {
                found.push((format!("embedded_pages.{key}"), url.to_string()));
            }
        }
    }
    found
        .into_iter()
        .filter(|(_, url)| is_relative(url))
        .map(|(key, url)| Asset {
            path: resolve(web_root, &url),
            key,
            url,
        })
        .collect()
}

fn check_homeserver(json: &Value, problems: &mut Vec<Problem>) {
    let base_url = json
        .pointer("/default_server_config/m.homeserver/base_url")
        .or_else(|| json.get("default_hs_url"))
        .and_then(Value::as_str)
        .filter(|s| !s.trim().is_empty());
    let fix = "set `default_server_config.\"m.homeserver\".base_url` to the URL the browser reaches the homeserver at: \
               `http://localhost:6167` through the SSM port forward (lesson 4), or a public HTTPS name";
    let Some(base_url) = base_url else {
        if let Some(name) = json.get("default_server_name").and_then(Value::as_str) {
            problems.push(problem(
                Severity::Warning,
                format!(
                    "has no `default_server_config.\"m.homeserver\".base_url`; Element will look the homeserver up at \
                     https://{name}/.well-known/matrix/client, which `check` cannot follow"
                ),
                fix,
            ));
        } else {
            problems.push(problem(
                Severity::Error,
                "has no `default_server_config.\"m.homeserver\".base_url`: Element does not know which homeserver to use"
                    .to_string(),
                fix,
            ));
        }
        return;
    };
    match address::host(base_url) {
        Err(why) => problems.push(problem(
            Severity::Error,
            format!("homeserver base_url `{base_url}` {why}"),
            fix,
        )),
        Ok(host) => {
            if let Some(reason) = address::unreachable_reason(&host) {
                problems.push(problem(
                    Severity::Warning,
                    format!(
                        "homeserver base_url `{base_url}` is {reason}: Element runs in the browser, which cannot reach it"
                    ),
                    fix,
                ));
            }
        }
    }
}

/// Reads a config's bytes. `config_path` is where it is in the image.
pub(crate) fn validate(bytes: &[u8], config_path: &str) -> Validated {
    let json: Value = match serde_json::from_slice(bytes) {
        Ok(json) => json,
        Err(e) => {
            return Validated {
                problems: vec![problem(
                    Severity::Error,
                    format!("is not valid JSON: {e}"),
                    "fix the JSON (a trailing comma, a missing quote): Element cannot load a config it cannot parse",
                )],
                assets: Vec::new(),
            }
        }
    };
    if !json.is_object() {
        return Validated {
            problems: vec![problem(
                Severity::Error,
                "is valid JSON but not an object".into(),
                "an Element config is a JSON object such as `{\"default_server_config\": {…}}`",
            )],
            assets: Vec::new(),
        };
    }
    let mut problems = Vec::new();
    check_homeserver(&json, &mut problems);
    let web_root = config_path
        .rsplit_once('/')
        .map(|(dir, _)| dir)
        .filter(|d| !d.is_empty())
        .unwrap_or("/");
    Validated {
        problems,
        assets: collect_assets(&json, web_root),
    }
}

/// The rule, reading the config and its assets through `files`.
pub(crate) async fn check(
    image: &ImageName,
    config_path: &str,
    files: &Files<'_, impl TestContainer>,
    notes: &mut Vec<Note>,
) -> Result<Vec<Finding>, EngineError> {
    let finding = |severity, message: String, hint: String| {
        Finding::new(rules::ELEMENT_CONFIG, severity, image, message, hint)
            .at(files.location(config_path))
    };
    let note = |text: String| Note {
        image: image.clone(),
        rule: Some(rules::ELEMENT_CONFIG),
        text,
    };
    let bytes = match files.get(config_path, true).await? {
        FileState::File(bytes) => bytes,
        FileState::Unknown => {
            notes.push(note(format!(
                "the Dockerfile copies nothing to `{config_path}` from the build context; build the image so `check` can read it"
            )));
            return Ok(Vec::new());
        }
        FileState::Missing => {
            return Ok(vec![finding(
                Severity::Error,
                format!("the Element config `{config_path}` does not exist in the image"),
                format!(
                    "copy it in at build time (`COPY config.json {config_path}`, lesson 10), or correct `element_config` in the manifest"
                ),
            )])
        }
        FileState::NotAFile(what) => {
            return Ok(vec![finding(
                Severity::Error,
                format!("the Element config `{config_path}` is {what}, not a file"),
                "point `element_config` at the config.json file".into(),
            )])
        }
        FileState::TooLarge(size) => {
            return Ok(vec![finding(
                Severity::Error,
                format!("the Element config `{config_path}` is {size} bytes, too large to be one"),
                "point `element_config` at the config.json file".into(),
            )])
        }
    };
    let validated = validate(&bytes, config_path);
    let mut findings: Vec<Finding> = validated
        .problems
        .into_iter()
        .map(|p| {
            finding(
                p.severity,
                format!("the Element config `{config_path}` {}", p.message),
                p.hint,
            )
        })
        .collect();
    check_assets(
        files,
        validated.assets,
        &finding,
        &note,
        notes,
        &mut findings,
    )
    .await?;
    Ok(findings)
}

/// Every branding asset the config names is in the image (lesson 10): a missing one is an
/// error, one the build context cannot tell about a note.
async fn check_assets(
    files: &Files<'_, impl TestContainer>,
    assets: Vec<Asset>,
    finding: &dyn Fn(Severity, String, String) -> Finding,
    note: &dyn Fn(String) -> Note,
    notes: &mut Vec<Note>,
    findings: &mut Vec<Finding>,
) -> Result<(), EngineError> {
    for asset in assets {
        let what = format!("`{}` is `{}`", asset.key, asset.url);
        match files.get(&asset.path, false).await? {
            FileState::File(_) | FileState::TooLarge(_) => {}
            FileState::Unknown => notes.push(note(format!(
                "{what}: the Dockerfile copies nothing to `{}` from the build context; build the image so `check` can look for it",
                asset.path
            ))),
            FileState::Missing => findings.push(finding(
                Severity::Error,
                format!("{what}, but `{}` does not exist in {}", asset.path, files.origin()),
                format!(
                    "bake the asset in at build time (`COPY <file> {}`): the browser only gets what the image serves (lesson 10)",
                    asset.path
                ),
            )),
            FileState::NotAFile(kind) => findings.push(finding(
                Severity::Error,
                format!("{what}, but `{}` is {kind} in {}", asset.path, files.origin()),
                "point the URL at the asset file itself".into(),
            )),
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The shape of the fleet's own `docker-files/aws/element-config.json`, which the shipped
    /// Element image bakes in (the acceptance test checks the real one in the built image).
    const FLEET: &str = r#"{
      "default_server_config": {
        "m.homeserver": { "base_url": "http://localhost:6167", "server_name": "anycompany.corp" }
      },
      "disable_guests": true,
      "brand": "Open-Claw-Fleet-Command-Center",
      "branding": { "auth_header_logo_url": "/logo.png" }
    }"#;

    #[test]
    fn the_fleets_config_is_valid_and_names_its_logo() {
        let validated = validate(FLEET.as_bytes(), "/app/config.json");
        assert_eq!(validated.problems, vec![]);
        assert_eq!(
            validated.assets,
            vec![Asset {
                key: "branding.auth_header_logo_url".into(),
                url: "/logo.png".into(),
                path: "/app/logo.png".into(),
            }]
        );
    }

    #[test]
    fn invalid_json_is_an_error() {
        let validated = validate(b"{\"brand\": \"x\",}", "/app/config.json");
        assert_eq!(validated.problems.len(), 1);
        assert_eq!(validated.problems[0].severity, Severity::Error);
        assert!(
            validated.problems[0]
                .message
                .starts_with("is not valid JSON"),
            "{}",
            validated.problems[0].message
        );
        assert_eq!(
            validate(b"[]", "/app/config.json").problems[0].severity,
            Severity::Error
        );
    }

    #[test]
    fn base_url_must_be_present() {
        let validated = validate(br#"{"brand": "x"}"#, "/app/config.json");
        assert_eq!(validated.problems[0].severity, Severity::Error);
        assert!(validated.problems[0].message.contains("base_url"));
        let discovered = validate(
            br#"{"default_server_name": "example.com"}"#,
            "/app/config.json",
        );
        assert_eq!(discovered.problems[0].severity, Severity::Warning);
        let legacy = validate(
            br#"{"default_hs_url": "https://matrix.example.com"}"#,
            "/app/config.json",
        );
        assert_eq!(legacy.problems, vec![]);
        let relative = validate(
            br#"{"default_server_config": {"m.homeserver": {"base_url": "conduit:6167"}}}"#,
            "/c.json",
        );
        assert_eq!(relative.problems[0].severity, Severity::Error);
    }

    #[test]
    fn a_vpc_base_url_is_a_warning() {
        let text = br#"{"default_server_config": {"m.homeserver": {"base_url": "http://10.0.1.23:6167"}}}"#;
        let validated = validate(text, "/app/config.json");
        assert_eq!(validated.problems.len(), 1);
        assert_eq!(validated.problems[0].severity, Severity::Warning);
        assert!(
            validated.problems[0].message.contains("private"),
            "{}",
            validated.problems[0].message
        );
        assert!(validated.problems[0].hint.contains("localhost:6167"));
    }

    #[test]
    fn assets_resolve_against_the_config_directory() {
        let text = br#"{
            "default_server_config": {"m.homeserver": {"base_url": "http://localhost:6167"}},
            "branding": {
                "auth_header_logo_url": "/themes/logo.svg?v=2",
                "welcome_background_url": ["img/bg1.jpg", "https://cdn.example.com/bg2.jpg"],
                "auth_footer_links": [{"text": "Docs", "url": "docs.html"}]
            },
            "embedded_pages": {"welcome_url": "./welcome.html", "home_url": "data:text/html,hi"}
        }"#;
        let validated = validate(text, "/usr/share/nginx/html/config.json");
        let paths: Vec<&str> = validated.assets.iter().map(|a| a.path.as_str()).collect();
        assert_eq!(
            paths,
            vec![
                "/usr/share/nginx/html/themes/logo.svg",
                "/usr/share/nginx/html/img/bg1.jpg",
                "/usr/share/nginx/html/welcome.html"
            ]
        );
        assert_eq!(
            validated.assets[1].key,
            "branding.welcome_background_url[0]"
        );
        // `..` cannot climb out of the web root.
        assert_eq!(resolve("/app", "../../etc/passwd"), "/app/etc/passwd");
        assert_eq!(resolve("/", "logo.svg"), "/logo.svg");
    }
}
