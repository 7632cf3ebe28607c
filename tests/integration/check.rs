//! `check` against images built in the real engine from `tests/fixtures/check/`: a fixture per rule
//! that breaks it, one that keeps them all, and no container left behind. Also the fixture helpers
//! that `imagetest.rs` shares.

use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};

use bollard::query_parameters::{
    BuildImageOptions, BuilderVersion, ListContainersOptions, RemoveImageOptions,
};
use bollard::Docker;
use fleet_images::check::{check, CheckTarget, Severity};
use fleet_images::docker::Engine;
use fleet_images::error::Exit;
use fleet_images::manifest::{ImageSpec, LoadOptions, Manifest};
use futures_util::StreamExt;

use crate::support;

/// The fixture manifest.
fn fixture_manifest() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/check/fleet.toml")
}

/// A platform this machine's engine does not build for.
fn other_platform() -> &'static str {
    if cfg!(target_arch = "aarch64") {
        "linux/amd64"
    } else {
        "linux/arm64"
    }
}

/// The engine, a raw client for building fixtures, and the fixture manifest.
pub(crate) struct Fixtures {
    pub(crate) engine: Engine,
    pub(crate) docker: Docker,
    pub(crate) manifest: Manifest,
}

/// A fixture image (built under a unique tag), removed when dropped.
pub(crate) struct FixtureImage {
    pub(crate) id: String,
}

impl Drop for FixtureImage {
    fn drop(&mut self) {
        let id = self.id.clone();
        // Its own thread and runtime: the test's runtime may be gone, or this may run in a panic.
        let removal = std::thread::spawn(move || {
            let runtime = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .unwrap();
            runtime.block_on(async {
                let docker = Docker::connect_with_defaults().unwrap();
                // No prune: the untagged parent layers are the classic builder's cache, which a
                // fixture build running at the same time may be using.
                let options = RemoveImageOptions {
                    force: true,
                    noprune: true,
                    platforms: None,
                };
                let _ = docker.remove_image(&id, Some(options), None).await;
            });
        });
        let _ = removal.join();
    }
}

/// The files of a directory as a tar, paths relative to it.
fn tar_dir(dir: &Path) -> Vec<u8> {
    fn add(builder: &mut tar::Builder<Vec<u8>>, root: &Path, dir: &Path) {
        let mut entries: Vec<_> = std::fs::read_dir(dir)
            .unwrap()
            .map(|e| e.unwrap().path())
            .collect();
        entries.sort();
        for path in entries {
            let rel = path.strip_prefix(root).unwrap();
            if path.is_dir() {
                add(builder, root, &path);
            } else {
                builder.append_path_with_name(&path, rel).unwrap();
            }
        }
    }
    let mut builder = tar::Builder::new(Vec::new());
    add(&mut builder, dir, dir);
    builder.into_inner().unwrap()
}

impl Fixtures {
    /// The fixture manifest, with the test environment's base image.
    pub(crate) fn load_manifest() -> Manifest {
        let base = support::service("FLEET_TEST_LOCAL_BASE");
        let options = LoadOptions {
            vars: vec![
                ("base".into(), base),
                ("other_platform".into(), other_platform().into()),
            ],
            env: BTreeMap::new(),
        };
        fleet_images::manifest::load(&fixture_manifest(), &options).expect("fixture manifest")
    }

    pub(crate) async fn new() -> Fixtures {
        let manifest = Self::load_manifest();
        let engine = Engine::connect()
            .await
            .expect("the Docker engine (scripts/test-env up)");
        let docker = Docker::connect_with_defaults().expect("docker client");
        Fixtures {
            engine,
            docker,
            manifest,
        }
    }

    pub(crate) fn spec(&self, name: &str) -> &ImageSpec {
        self.manifest
            .image(&name.parse().unwrap())
            .unwrap_or_else(|| panic!("no fixture `{name}`"))
    }

    /// Builds a fixture image under a unique tag. The unique label makes its id unique too, so
    /// tests that build the same fixture at once never share (or remove) each other's image.
    ///
    /// Fixture images are removed without pruning their parents, but another test's removal may
    /// still prune a cached layer a build has just taken ("No such image: sha256:…", "unknown
    /// parent image ID"); such a build is tried again, at most twice.
    pub(crate) async fn build(&self, name: &str) -> FixtureImage {
        let mut attempt = 0;
        loop {
            attempt += 1;
            match self.try_build(name).await {
                Ok(image) => return image,
                Err(error)
                    if attempt < 3
                        && (error.contains("No such image: sha256:")
                            || error.contains("unknown parent image ID")) =>
                {
                    continue
                }
                Err(error) => panic!("build of fixture `{name}` failed: {error}"),
            }
        }
    }

    async fn try_build(&self, name: &str) -> Result<FixtureImage, String> {
        let spec = self.spec(name);
        let unique = support::unique("fixture");
        let tag = format!("fleet-images-fixture/{name}:{unique}");
        let options = BuildImageOptions {
            dockerfile: "Dockerfile".into(),
            t: Some(tag.clone()),
            rm: true,
            forcerm: true,
            buildargs: Some(
                spec.args
                    .iter()
                    .map(|(k, v)| (k.clone(), v.clone()))
                    .collect::<HashMap<_, _>>(),
            ),
            labels: Some(HashMap::from([(
                "io.fleet-images.fixture".to_string(),
                unique,
            )])),
            version: BuilderVersion::BuilderV1,
            ..Default::default()
        };
        let body = bollard::body_full(tar_dir(&spec.context.value).into());
        let mut stream = self.docker.build_image(options, None, Some(body));
        let mut log = String::new();
        while let Some(item) = stream.next().await {
            match item {
                Ok(info) => {
                    log.push_str(&info.stream.unwrap_or_default());
                    if let Some(error) = info.error_detail.and_then(|d| d.message) {
                        return Err(format!("{error}\n{log}"));
                    }
                }
                Err(error) => return Err(format!("{error}\n{log}")),
            }
        }
        let id = self
            .docker
            .inspect_image(&tag)
            .await
            .expect("built fixture")
            .id
            .unwrap();
        Ok(FixtureImage { id })
    }

    /// Containers (running or not) created from the image.
    pub(crate) async fn containers_from(&self, image: &FixtureImage) -> usize {
        let options = ListContainersOptions {
            all: true,
            filters: Some(HashMap::from([(
                "ancestor".to_string(),
                vec![image.id.clone()],
            )])),
            ..Default::default()
        };
        self.docker
            .list_containers(Some(options))
            .await
            .expect("list containers")
            .len()
    }
}

/// Checks one fixture's built image (image rules; its inputs are not read).
async fn check_fixture(fixtures: &Fixtures, name: &str) -> fleet_images::check::CheckReport {
    let image = fixtures.build(name).await;
    let before = fixtures.containers_from(&image).await;
    let target = CheckTarget {
        spec: fixtures.spec(name),
        inputs: None,
        image: Some(&image.id),
    };
    let report = check(&[target], Some(&fixtures.engine)).await;
    assert_eq!(
        fixtures.containers_from(&image).await,
        before,
        "check left a container behind"
    );
    assert!(report.failures.is_empty(), "{:?}", report.failures);
    report
}

fn rendered(report: &fleet_images::check::CheckReport) -> String {
    report
        .findings
        .iter()
        .map(|f| f.render())
        .collect::<Vec<_>>()
        .join("\n")
}

#[tokio::test(flavor = "multi_thread")]
async fn non_root_httpd_on_port_80_is_a_privileged_port_error() {
    let fixtures = Fixtures::new().await;
    let report = check_fixture(&fixtures, "privileged-port").await;
    let text = rendered(&report);
    assert_eq!(report.exit(), Exit::Failed, "{text}");
    let finding = report
        .findings
        .iter()
        .find(|f| f.rule == "privileged-port")
        .unwrap_or_else(|| panic!("{text}"));
    assert_eq!(finding.severity, Severity::Error);
    assert_eq!(
        finding.message,
        "the image runs as user `app` (not root) and exposes 80/tcp"
    );
    assert!(finding.hint.contains("8080"), "{}", finding.hint);
    // `check --json`.
    let json = serde_json::to_value(&report).unwrap();
    assert!(json["findings"]
        .as_array()
        .unwrap()
        .iter()
        .any(|f| f["rule"] == "privileged-port" && f["severity"] == "error"));
}

#[tokio::test(flavor = "multi_thread")]
async fn allow_skips_a_rule_for_that_image() {
    let fixtures = Fixtures::new().await;
    let report = check_fixture(&fixtures, "privileged-port-allowed").await;
    assert!(report.findings.is_empty(), "{}", rendered(&report));
    assert_eq!(report.exit(), Exit::Success);
}

#[tokio::test(flavor = "multi_thread")]
async fn conduit_config_naming_a_missing_file_is_an_env_file_error() {
    let fixtures = Fixtures::new().await;
    let report = check_fixture(&fixtures, "missing-env-file").await;
    let text = rendered(&report);
    assert_eq!(report.exit(), Exit::Failed, "{text}");
    let finding = report
        .findings
        .iter()
        .find(|f| f.rule == "env-file")
        .unwrap_or_else(|| panic!("{text}"));
    assert_eq!(finding.severity, Severity::Error);
    assert_eq!(
        finding.message,
        "`CONDUIT_CONFIG=/etc/conduit.toml` names a file that does not exist in the image"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn element_config_naming_a_missing_logo_is_an_element_config_error() {
    let fixtures = Fixtures::new().await;
    let report = check_fixture(&fixtures, "missing-logo").await;
    let text = rendered(&report);
    assert_eq!(report.exit(), Exit::Failed, "{text}");
    let finding = report
        .findings
        .iter()
        .find(|f| f.rule == "element-config")
        .unwrap_or_else(|| panic!("{text}"));
    assert_eq!(finding.severity, Severity::Error);
    assert_eq!(
        finding.message,
        "`branding.auth_header_logo_url` is `branding/logo.svg`, but `/app/branding/logo.svg` does not exist in the image"
    );
    assert!(finding.hint.contains("lesson 10"), "{}", finding.hint);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_fixture_that_keeps_every_rule_passes() {
    let fixtures = Fixtures::new().await;
    let report = check_fixture(&fixtures, "good").await;
    assert!(report.findings.is_empty(), "{}", rendered(&report));
    assert_eq!(report.exit(), Exit::Success);
    // Only the note that the static rules were not given inputs.
    assert!(
        report
            .notes
            .iter()
            .all(|n| n.text.starts_with("static rules skipped")),
        "{:?}",
        report.notes
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn an_image_for_another_platform_is_a_platform_mismatch_error() {
    let fixtures = Fixtures::new().await;
    let report = check_fixture(&fixtures, "wrong-platform").await;
    let text = rendered(&report);
    assert_eq!(report.exit(), Exit::Failed, "{text}");
    assert_eq!(report.findings.len(), 1, "{text}");
    assert_eq!(report.findings[0].rule, "platform-mismatch");
    assert!(
        report.findings[0].message.contains(other_platform()),
        "{text}"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn an_image_that_is_not_built_is_a_note_not_an_error() {
    let fixtures = Fixtures::new().await;
    let target = CheckTarget {
        spec: fixtures.spec("good"),
        inputs: None,
        image: None,
    };
    let report = check(&[target], Some(&fixtures.engine)).await;
    assert_eq!(report.exit(), Exit::Success);
    assert!(
        report
            .notes
            .iter()
            .any(|n| n.text.contains("is not built locally")),
        "{:?}",
        report.notes
    );

    let missing = format!("fleet-images-fixture/none:{}", support::unique("missing"));
    let target = CheckTarget {
        spec: fixtures.spec("good"),
        inputs: None,
        image: Some(&missing),
    };
    let report = check(&[target], Some(&fixtures.engine)).await;
    assert_eq!(report.exit(), Exit::Success);
    assert!(
        report.notes.iter().any(|n| n.text.contains("has no image")),
        "{:?}",
        report.notes
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn several_images_in_one_check_keep_their_order() {
    let fixtures = Fixtures::new().await;
    let (port, logo) = tokio::join!(
        fixtures.build("privileged-port"),
        fixtures.build("missing-logo")
    );
    let targets = [
        CheckTarget {
            spec: fixtures.spec("privileged-port"),
            inputs: None,
            image: Some(&port.id),
        },
        CheckTarget {
            spec: fixtures.spec("missing-logo"),
            inputs: None,
            image: Some(&logo.id),
        },
    ];
    let report = check(&targets, Some(&fixtures.engine)).await;
    let rules: Vec<(&str, &str)> = report
        .findings
        .iter()
        .map(|f| (f.image.as_str(), f.rule))
        .collect();
    assert_eq!(
        rules,
        vec![
            ("privileged-port", "privileged-port"),
            ("privileged-port", "healthcheck"),
            ("missing-logo", "healthcheck"),
            ("missing-logo", "element-config")
        ]
    );
    assert_eq!(report.summary(2), "2 errors, 2 warnings in 2 images");
}

// The static rules, through the real Dockerfile reader and context walk: no engine, no build.

fn read_inputs(spec: &ImageSpec) -> fleet_images::hash::ImageInputs {
    fleet_images::hash::inputs::read(spec, &fleet_images::hash::ContentCache::disabled())
        .unwrap_or_else(|e| {
            panic!(
                "inputs of `{}`: {}",
                spec.name,
                fleet_images::error::render(&e)
            )
        })
}

async fn check_static(manifest: &Manifest, names: &[&str]) -> fleet_images::check::CheckReport {
    let specs: Vec<&ImageSpec> = names
        .iter()
        .map(|n| manifest.image(&n.parse().unwrap()).unwrap())
        .collect();
    let inputs: Vec<_> = specs.iter().map(|s| read_inputs(s)).collect();
    let targets: Vec<CheckTarget> = specs
        .iter()
        .zip(&inputs)
        .map(|(spec, inputs)| CheckTarget {
            spec,
            inputs: Some(inputs),
            image: None,
        })
        .collect();
    check::<Engine>(&targets, None).await
}

#[tokio::test]
async fn the_shipped_fleet_passes_the_static_rules() {
    // The fleet's real sources (the snapshot beside the checkout; static rules only read them).
    let source = support::service("FLEET_TEST_FLEET_SOURCE");
    let options = LoadOptions {
        vars: vec![("source".into(), source)],
        env: BTreeMap::new(),
    };
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("images/fleet.toml");
    let manifest = fleet_images::manifest::load(&path, &options).expect("the shipped manifest");
    let names: Vec<String> = manifest.images.iter().map(|i| i.name.to_string()).collect();
    let five = [
        "conduit",
        "element",
        "fleet-manager",
        "agent",
        "command-center",
    ];
    assert_eq!(names, five);
    let report = check_static(&manifest, &five).await;
    assert!(report.findings.is_empty(), "{}", rendered(&report));
    assert_eq!(report.exit(), Exit::Success);
    // Everything static was decided: the only notes say the image rules did not run.
    assert_eq!(report.notes.len(), 5, "{:?}", report.notes);
    for note in &report.notes {
        assert_eq!(
            note.text,
            "image rules skipped: no Docker engine to read the image from"
        );
    }
}

#[tokio::test]
async fn static_rules_map_files_through_the_dockerfile_copies() {
    let manifest = Fixtures::load_manifest();
    let report = check_static(&manifest, &["static-good"]).await;
    assert!(report.findings.is_empty(), "{}", rendered(&report));
    assert_eq!(report.notes.len(), 1, "{:?}", report.notes);
}

#[tokio::test]
async fn static_rules_catch_secrets_floating_bases_ports_and_bad_configs() {
    let fleet = support::Fleet::new();
    fleet
        .manifest(
            "[images.broken]\ncontext = \"broken\"\n\n[images.broken.check]\nenv_files = [\"CONDUIT_CONFIG\"]\nelement_config = \"/app/config.json\"\n",
        )
        .write(
            "broken/Dockerfile",
            "FROM busybox:latest\nCOPY . /src\nCOPY web/config.json /app/config.json\nUSER nginx\nENV NGINX_PORT=80\n",
        )
        .write("broken/.env", "AWS_SECRET_ACCESS_KEY=abc123\n")
        .write("broken/.aws/credentials", "[default]\naws_secret_access_key = secret\n")
        .write("broken/keys/id_ed25519", "-----BEGIN OPENSSH PRIVATE KEY-----\nb3Bl\n-----END OPENSSH PRIVATE KEY-----\n")
        .write("broken/keys/ca.pem", "-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n")
        .write("broken/.npmrc", "//registry.npmjs.org/:_authToken=npm_0123456789abcdef\n")
        .write("broken/web/config.json", "{ \"default_server_config\": {\n");
    let manifest =
        fleet_images::manifest::load(&fleet.file("fleet.toml"), &LoadOptions::default()).unwrap();
    let report = check_static(&manifest, &["broken"]).await;
    let text = rendered(&report);
    let found: Vec<(&str, Severity, &str)> = report
        .findings
        .iter()
        .map(|f| (f.rule, f.severity, f.message.as_str()))
        .collect();
    let expected = [
        ("floating-base", Severity::Warning, "base image `busybox:latest` is named by the moving tag `latest`"),
        ("secret-in-context", Severity::Error, "the build context sends `.aws/credentials`, which holds AWS credentials"),
        ("secret-in-context", Severity::Error, "the build context sends `.env`, which holds an environment file"),
        ("secret-in-context", Severity::Error, "the build context sends `.npmrc`, which holds an npm token"),
        ("secret-in-context", Severity::Error, "the build context sends `keys/id_ed25519`, which holds a private key"),
        (
            "privileged-port",
            Severity::Error,
            "the Dockerfile's final stage runs as user `nginx` (not root) and sets NGINX_PORT=80",
        ),
        (
            "healthcheck",
            Severity::Warning,
            "the Dockerfile has no HEALTHCHECK and the manifest no `test` section for the image (a HEALTHCHECK of the base image would count; build the image to let `check` see it)",
        ),
        (
            "env-file",
            Severity::Warning,
            "the Dockerfile does not set `CONDUIT_CONFIG` (unless the base image does, the program will not find its configuration)",
        ),
    ];
    assert_eq!(&found[..expected.len()], &expected[..], "{text}");
    assert_eq!(found.len(), expected.len() + 1, "{text}");
    let last = report.findings.last().unwrap();
    assert_eq!(
        (last.rule, last.severity),
        ("element-config", Severity::Error)
    );
    assert!(
        last.message
            .starts_with("the Element config `/app/config.json` is not valid JSON"),
        "{text}"
    );
    assert!(
        last.location
            .as_deref()
            .unwrap()
            .ends_with("broken/web/config.json"),
        "{text}"
    );
    assert_eq!(report.exit(), Exit::Failed);
}

fn entrypoint_findings(report: &fleet_images::check::CheckReport) -> Vec<(Severity, String)> {
    report
        .findings
        .iter()
        .filter(|f| f.rule == "entrypoint-exists")
        .map(|f| (f.severity, f.message.clone()))
        .collect()
}

#[tokio::test(flavor = "multi_thread")]
async fn a_node_cmd_whose_file_the_build_never_produced_is_an_entrypoint_exists_error() {
    let fixtures = Fixtures::new().await;
    let (broken, built) = tokio::join!(
        check_fixture(&fixtures, "node-app-no-dist"),
        check_fixture(&fixtures, "node-app")
    );
    let text = rendered(&broken);
    assert_eq!(broken.exit(), Exit::Failed, "{text}");
    assert_eq!(
        entrypoint_findings(&broken),
        [(
            Severity::Error,
            "`CMD` runs `node dist/index.js`, but `/app/dist/index.js` is not in the image (`dist/index.js` against WORKDIR `/app`)".to_string()
        )],
        "{text}"
    );
    let finding = broken
        .findings
        .iter()
        .find(|f| f.rule == "entrypoint-exists")
        .unwrap();
    assert!(finding.hint.contains("outDir"), "{}", finding.hint);
    assert_eq!(
        finding.location.as_deref(),
        Some("/app/dist/index.js (in the image)")
    );
    // With the file built, the entrypoint wrapper (on PATH), `node` and the script are all found.
    assert!(
        entrypoint_findings(&built).is_empty(),
        "{}",
        rendered(&built)
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn allow_silences_entrypoint_exists() {
    let fixtures = Fixtures::new().await;
    let report = check_fixture(&fixtures, "node-app-no-dist-allowed").await;
    assert!(report.findings.is_empty(), "{}", rendered(&report));
    assert_eq!(report.exit(), Exit::Success);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_missing_or_non_executable_program_is_an_entrypoint_exists_error() {
    let fixtures = Fixtures::new().await;
    let report = check_fixture(&fixtures, "missing-program").await;
    let text = rendered(&report);
    assert_eq!(report.exit(), Exit::Failed, "{text}");
    assert_eq!(
        entrypoint_findings(&report),
        [
            (
                Severity::Error,
                "`ENTRYPOINT` runs `/app/run.sh /app/server --port 8080`, but `/app/run.sh` is not executable (mode 0644)".to_string()
            ),
            (
                Severity::Error,
                "`CMD` runs `/app/server --port 8080`, but `/app/server` is not a file in the image".to_string()
            ),
        ],
        "{text}"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_shell_form_cmd_checks_sh_and_says_the_string_was_not_analysed() {
    let fixtures = Fixtures::new().await;
    let report = check_fixture(&fixtures, "shell-form").await;
    assert!(
        entrypoint_findings(&report).is_empty(),
        "{}",
        rendered(&report)
    );
    let notes: Vec<&str> = report
        .notes
        .iter()
        .filter(|n| n.rule == Some("entrypoint-exists"))
        .map(|n| n.text.as_str())
        .collect();
    assert_eq!(
        notes,
        ["`CMD` runs `/bin/sh -c httpd -f -p 8080 -h /www`: `/bin/sh` exists; the shell's `-c` command string was not analysed"],
        "{:?}",
        report.notes
    );
}
