//! `check`'s image rules on the container engine double: what `entrypoint-exists` and `env-file`
//! find in a built image's files (a program missing, not executable, reached through a link, a
//! script missing), the notes for an image that is not built, and that the container created to
//! read the files is removed after checking, also when a read fails. The integration tests
//! (`tests/integration/check`, `fleet`) prove the same against the real engine and images.

use super::{check, rules, CheckReport, CheckTarget, Finding};
use crate::docker::fake_containers::{Call, FakeContainers};
use crate::docker::{ImageConfig, PathInfo, PathKind};
use crate::manifest::{parse, LoadOptions, Manifest};

/// A manifest of one image, `web`, with `check` as its `[images.web.check]` table.
struct Fleet {
    _dir: tempfile::TempDir,
    manifest: Manifest,
}

fn fleet(check: &str) -> Fleet {
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(dir.path().join("web")).unwrap();
    std::fs::write(dir.path().join("web/Dockerfile"), "FROM scratch\n").unwrap();
    let text = format!("[images.web]\ncontext = \"web\"\n[images.web.check]\n{check}\n");
    let manifest = parse(
        &dir.path().join("fleet.toml"),
        &text,
        &LoadOptions::default(),
    )
    .unwrap();
    Fleet {
        _dir: dir,
        manifest,
    }
}

impl Fleet {
    /// Checks `web` as the local image `image` (`None`: not built), its inputs unread.
    async fn check(&self, engine: Option<&FakeContainers>, image: Option<&str>) -> CheckReport {
        let target = CheckTarget {
            spec: &self.manifest.images[0],
            inputs: None,
            image,
        };
        check(&[target], engine).await
    }
}

/// An engine that has `web:1`, configured by `config`, whose containers hold `paths`.
fn engine(config: ImageConfig, paths: &[(&str, PathInfo)]) -> FakeContainers {
    let mut engine = FakeContainers::default();
    engine.images.insert("web:1".into(), config);
    engine.paths = paths
        .iter()
        .map(|(path, info)| (path.to_string(), info.clone()))
        .collect();
    engine
}

fn file(mode: u32) -> PathInfo {
    PathInfo {
        kind: PathKind::File,
        size: 10,
        link_target: None,
        mode,
    }
}

fn link(target: &str) -> PathInfo {
    PathInfo {
        kind: PathKind::Symlink,
        size: 0,
        link_target: Some(target.into()),
        mode: 0o777,
    }
}

fn dir() -> PathInfo {
    PathInfo {
        kind: PathKind::Dir,
        size: 0,
        link_target: None,
        mode: 0o755,
    }
}

/// `node dist/index.js` in `/app`, with nothing else set.
fn node_app() -> ImageConfig {
    ImageConfig {
        workdir: "/app".into(),
        cmd: vec!["node".into(), "dist/index.js".into()],
        env: vec![("PATH".into(), "/usr/local/bin:/usr/bin".into())],
        ..Default::default()
    }
}

/// The messages of the findings of `rule`.
fn messages(report: &CheckReport, rule: &str) -> Vec<String> {
    report
        .findings
        .iter()
        .filter(|f| f.rule == rule)
        .map(|f| f.message.clone())
        .collect()
}

fn entrypoint(report: &CheckReport) -> Vec<&Finding> {
    report
        .findings
        .iter()
        .filter(|f| f.rule == rules::ENTRYPOINT_EXISTS)
        .collect()
}

/// The container was created from the image, never started, and removed by check itself.
fn created_and_removed(engine: &FakeContainers) {
    assert_eq!(
        engine.calls(),
        [
            Call::Create("check:web".into()),
            Call::Remove("check:web".into())
        ]
    );
    assert!(engine.left().is_empty());
}

#[tokio::test]
async fn a_program_not_on_path_is_an_error() {
    let engine = engine(node_app(), &[]);
    let report = fleet("").check(Some(&engine), Some("web:1")).await;
    assert_eq!(
        messages(&report, rules::ENTRYPOINT_EXISTS),
        ["`CMD` runs `node dist/index.js`, but `node` is not on the image's PATH (/usr/local/bin:/usr/bin)"]
    );
    assert!(report.failures.is_empty());
    created_and_removed(&engine);
}

#[tokio::test]
async fn a_program_without_an_execute_bit_is_an_error() {
    let config = ImageConfig {
        entrypoint: vec!["/app/start.sh".into()],
        ..Default::default()
    };
    let engine = engine(config, &[("/app/start.sh", file(0o644))]);
    let report = fleet("").check(Some(&engine), Some("web:1")).await;
    let found = entrypoint(&report);
    assert_eq!(found.len(), 1, "{:?}", report.findings);
    assert_eq!(
        found[0].message,
        "`ENTRYPOINT` runs `/app/start.sh`, but `/app/start.sh` is not executable (mode 0644)"
    );
    assert_eq!(
        found[0].location.as_deref(),
        Some("/app/start.sh (in the image)")
    );
    assert!(found[0].hint.contains("RUN chmod +x /app/start.sh"));
    created_and_removed(&engine);
}

#[tokio::test]
async fn a_program_and_a_script_reached_through_links_are_found() {
    // As in node images: /usr/local/bin/node is a link; so is the script, to where it was built.
    let paths = [
        ("/usr/local/bin/node", link("/opt/node-22/bin/node")),
        ("/opt/node-22/bin/node", file(0o755)),
        ("/app/dist/index.js", link("/srv/build/index.js")),
        ("/srv/build/index.js", file(0o644)),
    ];
    let engine = engine(node_app(), &paths);
    let report = fleet("").check(Some(&engine), Some("web:1")).await;
    assert!(entrypoint(&report).is_empty(), "{:?}", report.findings);
    created_and_removed(&engine);

    // A link that leads nowhere is no program.
    let dangling = engine_with_dangling_node();
    let report = fleet("").check(Some(&dangling), Some("web:1")).await;
    assert_eq!(
        messages(&report, rules::ENTRYPOINT_EXISTS),
        ["`CMD` runs `node dist/index.js`, but `node` is not on the image's PATH (/usr/local/bin:/usr/bin)"]
    );
}

fn engine_with_dangling_node() -> FakeContainers {
    engine(
        node_app(),
        &[
            ("/usr/local/bin/node", link("/opt/node-22/bin/node")),
            ("/app/dist/index.js", file(0o644)),
        ],
    )
}

#[tokio::test]
async fn a_missing_node_script_is_an_error() {
    let engine = engine(node_app(), &[("/usr/bin/node", file(0o755))]);
    let report = fleet("").check(Some(&engine), Some("web:1")).await;
    let found = entrypoint(&report);
    assert_eq!(found.len(), 1, "{:?}", report.findings);
    assert_eq!(
        found[0].message,
        "`CMD` runs `node dist/index.js`, but `/app/dist/index.js` is not in the image (`dist/index.js` against WORKDIR `/app`)"
    );
    assert_eq!(
        found[0].location.as_deref(),
        Some("/app/dist/index.js (in the image)")
    );
    created_and_removed(&engine);
}

#[tokio::test]
async fn a_node_script_is_found_as_node_resolves_it() {
    let mut config = node_app();
    config.cmd = vec!["node".into(), "dist".into(), "serve".into()];
    // `dist` is a directory with a package.json: Node runs its main module.
    let package = engine(
        config.clone(),
        &[
            ("/usr/bin/node", file(0o755)),
            ("/app/dist", dir()),
            ("/app/dist/package.json", file(0o644)),
        ],
    );
    let report = fleet("").check(Some(&package), Some("web:1")).await;
    assert!(entrypoint(&report).is_empty(), "{:?}", report.findings);

    // `dist.mjs`: Node adds the extension.
    let with_extension = engine(
        config.clone(),
        &[
            ("/usr/bin/node", file(0o755)),
            ("/app/dist.mjs", file(0o644)),
        ],
    );
    let report = fleet("").check(Some(&with_extension), Some("web:1")).await;
    assert!(entrypoint(&report).is_empty(), "{:?}", report.findings);

    // An empty directory is no main module.
    let empty = engine(
        config,
        &[("/usr/bin/node", file(0o755)), ("/app/dist", dir())],
    );
    let report = fleet("").check(Some(&empty), Some("web:1")).await;
    assert_eq!(entrypoint(&report).len(), 1, "{:?}", report.findings);
}

#[tokio::test]
async fn allowing_the_rule_reads_no_files() {
    let engine = engine(node_app(), &[]);
    let report = fleet("allow = [\"entrypoint-exists\"]")
        .check(Some(&engine), Some("web:1"))
        .await;
    assert!(entrypoint(&report).is_empty());
    assert!(engine.calls().is_empty(), "{:?}", engine.calls());
}

#[tokio::test]
async fn env_files_are_read_from_the_image() {
    let mut config = node_app();
    config
        .env
        .push(("CONDUIT_CONFIG".into(), "/etc/conduit.toml".into()));
    let engine = engine(config, &[("/usr/bin/node", file(0o755))]);
    let report = fleet("env_files = [\"CONDUIT_CONFIG\"]\nallow = [\"entrypoint-exists\"]")
        .check(Some(&engine), Some("web:1"))
        .await;
    assert_eq!(
        messages(&report, rules::ENV_FILE),
        ["`CONDUIT_CONFIG=/etc/conduit.toml` names a file that does not exist in the image"]
    );
    created_and_removed(&engine);
}

#[tokio::test]
async fn the_container_is_removed_when_a_read_fails() {
    let mut engine = engine(node_app(), &[("/usr/local/bin/node", file(0o755))]);
    engine.unreadable = vec!["/app/dist/index.js".into()];
    let report = fleet("").check(Some(&engine), Some("web:1")).await;
    assert!(entrypoint(&report).is_empty(), "{:?}", report.findings);
    assert_eq!(report.failures.len(), 1);
    assert_eq!(report.failures[0].image.as_str(), "web");
    let error = report.failures[0].error.to_string();
    assert!(error.contains("/app/dist/index.js"), "{error}");
    created_and_removed(&engine);
    assert!(
        report
            .notes
            .iter()
            .any(|n| n.text == "static rules skipped: the image's inputs could not be read"),
        "the static rules run instead: {:?}",
        report.notes
    );
}

#[tokio::test]
async fn an_image_that_is_not_built_is_a_note() {
    let engine = engine(node_app(), &[]);
    let fleet = fleet("");

    let report = fleet.check(Some(&engine), None).await;
    assert!(report.findings.is_empty() && report.failures.is_empty());
    assert_eq!(
        report.notes[0].rule, None,
        "a note on the image, not on one rule"
    );
    assert_eq!(
        report.notes[0].text,
        "image rules skipped: `web` is not built locally (build it with `fleet-images build web` to check the image itself)"
    );

    let report = fleet.check(Some(&engine), Some("web:2")).await;
    assert!(report.findings.is_empty() && report.failures.is_empty());
    assert_eq!(
        report.notes[0].text,
        "image rules skipped: the engine has no image `web:2`; build it with `fleet-images build web`"
    );

    let report = fleet.check(None, Some("web:1")).await;
    assert_eq!(
        report.notes[0].text,
        "image rules skipped: no Docker engine to read the image from"
    );
    assert!(engine.calls().is_empty(), "{:?}", engine.calls());
}
