//! The acceptance test of the shipped fleet (issue 11): the real `fleet-images` binary builds the
//! fleet's five images from a copy of the fleet's sources snapshot, against the test
//! environment's stand-in bases, for the engine's own platform; checks them; tests them; then
//! releases them with `build --push --deploy` into a replica of the fleet's CDK stack in the AWS
//! emulator (issue 12, item 7), and rolls that back; then proves on that copy that each image's
//! key changes exactly when what it reads changes.
//!
//! The images stay in the engine (repositories `open-claw-fleet/*`), so that a second run finds
//! every key `local` and takes seconds; the engine's layer cache makes a rebuild after a change
//! fast too. A cold run (no layers cached) builds everything: see README "The shipped fleet".

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Instant;

use aws_sdk_ecs::types::CpuArchitecture;

use crate::cdk_replica::{self, ReplicaSpec, AGENT_REFERENCE, PROJECT, REPOSITORIES};
use crate::support::{self, Fleet, Run};

const IMAGES: [&str; 5] = [
    "conduit",
    "element",
    "fleet-manager",
    "agent",
    "command-center",
];

/// The repository's root (where `images/fleet.toml` and `scripts/test-env` are).
fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// The engine's own platform, `linux/amd64` on this machine.
fn host_platform() -> String {
    let out = support::docker(&["version", "--format", "{{.Server.Os}}/{{.Server.Arch}}"]);
    out.trim().to_string()
}

/// A copy of the fleet's sources, made by `scripts/test-env fleet-copy` (which fits the lockfile to
/// this machine's npm registry, see there).
fn copy_sources(into: &Path) -> PathBuf {
    // The snapshot must be there: the test never passes by skipping.
    support::service("FLEET_TEST_FLEET_SOURCE");
    let dest = into.join("open-claw-fleet");
    let status = Command::new(repo().join("scripts/test-env"))
        .arg("fleet-copy")
        .arg(&dest)
        .status()
        .expect("run scripts/test-env fleet-copy");
    assert!(status.success(), "scripts/test-env fleet-copy failed");
    dest
}

/// The shipped manifest, run in a scratch directory against `source`, for the host's platform.
struct Shipped {
    fleet: Fleet,
    source: PathBuf,
    platform: String,
}

impl Shipped {
    fn new() -> Self {
        let fleet = Fleet::new();
        let source = copy_sources(fleet.path());
        Self {
            fleet,
            source,
            platform: host_platform(),
        }
    }

    fn run(&self, args: &[&str]) -> Run {
        let manifest = repo().join("images/fleet.toml");
        let source = format!("source={}", self.source.display());
        let mut all = vec![
            "--manifest",
            manifest.to_str().unwrap(),
            "--var",
            &source,
            "--platform",
            &self.platform,
            "--progress",
            "plain",
        ];
        all.extend_from_slice(args);
        self.fleet.run(&all)
    }

    /// Every image's key, from `plan --json`.
    fn keys(&self) -> BTreeMap<String, String> {
        let run = self.run(&["plan", "--json"]);
        run.ok();
        let plan = run.json();
        plan["images"]
            .as_array()
            .expect("images")
            .iter()
            .map(|i| {
                (
                    i["name"].as_str().unwrap().to_string(),
                    i["key"]
                        .as_str()
                        .expect("every image has a key")
                        .to_string(),
                )
            })
            .collect()
    }

    /// Appends `text` to a file of the copy.
    fn append(&self, rel: &str, text: &str) {
        use std::io::Write;
        let path = self.source.join(rel);
        assert!(
            path.is_file(),
            "{} is not a file of the snapshot",
            path.display()
        );
        let mut file = std::fs::OpenOptions::new()
            .append(true)
            .open(&path)
            .unwrap();
        file.write_all(text.as_bytes()).unwrap();
    }

    /// Writes a new file into the copy.
    fn create(&self, rel: &str, text: &str) {
        let path = self.source.join(rel);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, text).unwrap();
    }
}

/// The names whose key differs between two plans.
fn changed(before: &BTreeMap<String, String>, after: &BTreeMap<String, String>) -> Vec<String> {
    assert_eq!(
        before.keys().collect::<Vec<_>>(),
        after.keys().collect::<Vec<_>>()
    );
    before
        .iter()
        .filter(|(name, key)| after[*name] != **key)
        .map(|(name, _)| name.clone())
        .collect()
}

fn names(list: &[&str]) -> Vec<String> {
    let mut v: Vec<String> = list.iter().map(|s| s.to_string()).collect();
    v.sort();
    v
}

#[test]
fn the_shipped_fleet_builds_checks_and_tests_from_the_fleets_sources() {
    let mut shipped = Shipped::new();

    // Build the five. A warm engine already has every key (`local`); a cold one builds them.
    let build = shipped.run(&["build", "--json-out", "build.json"]);
    build.ok();
    let report: serde_json::Value =
        serde_json::from_slice(&std::fs::read(shipped.fleet.file("build.json")).unwrap()).unwrap();
    let mut outcomes = BTreeMap::new();
    for image in report["images"]
        .as_array()
        .expect("images in the build report")
    {
        outcomes.insert(
            image["name"].as_str().unwrap().to_string(),
            image["outcome"].as_str().unwrap().to_string(),
        );
    }
    assert_eq!(outcomes.keys().cloned().collect::<Vec<_>>(), names(&IMAGES));
    for (name, outcome) in &outcomes {
        assert!(
            outcome == "built" || outcome == "local",
            "{name}: {outcome}\n{}",
            build.stderr
        );
    }

    // Static and image rules, on the images just built.
    let check = shipped.run(&["check"]);
    check.ok();

    // Each image does what it is for (the test sections of images/fleet.toml): probes, metadata,
    // files, commands, and the homeserver started beside the agent and the Command Center.
    let test = shipped.run(&["test", "--json"]);
    test.ok();
    let outcomes = test.json();
    let outcomes = outcomes.as_array().expect("one outcome per image");
    let tested: Vec<&str> = outcomes
        .iter()
        .map(|o| o["image"].as_str().unwrap())
        .collect();
    assert_eq!(names(&tested), names(&IMAGES), "{}", test.stdout);
    let passed = |image: &str, test_name: &str| {
        let outcome = outcomes
            .iter()
            .find(|o| o["image"] == image)
            .expect("tested");
        assert_eq!(outcome["status"], "passed", "{image}: {outcome:#}");
        let tests = outcome["tests"].as_array().expect("tests");
        assert!(
            tests
                .iter()
                .any(|t| t["name"] == test_name && t["status"] == "passed"),
            "{image} has no passing test `{test_name}`: {outcome:#}"
        );
    };
    passed("conduit", "/etc/conduit.toml");
    passed("element", "the logo is served where config.json points");
    passed("fleet-manager", "refuses to start without FLEET_SECRET");
    passed("agent", "OpenClaw is the pinned release");
    passed("agent", "/opt/plugins/people/dist/index.js");
    passed(
        "agent",
        "the runtime starts, reaches the homeserver and asks for the agent's account",
    );
    passed(
        "command-center",
        "PostgreSQL starts and the app's database exists",
    );

    // Released into a replica of the CDK stack, from the images just built (before the edits
    // below change their keys).
    let started = Instant::now();
    release_into_a_replica(&mut shipped);
    eprintln!(
        "the release into the replica took {:.1?}",
        started.elapsed()
    );

    // Keys are precise on the real tree: what an image does not read does not change its key.
    let base = shipped.keys();
    assert_eq!(base.keys().cloned().collect::<Vec<_>>(), names(&IMAGES));

    shipped.append("docs/docker-images.md", "\nAn edit of the docs.\n");
    shipped.create("Blog/an-edit.md", "# A new post\n");
    let after_docs = shipped.keys();
    assert_eq!(
        changed(&base, &after_docs),
        Vec::<String>::new(),
        "docs/ and Blog/ edits"
    );

    shipped.append(
        "packages/plugins/people/src/index.ts",
        "\n// an edit of the people plugin\n",
    );
    let after_people = shipped.keys();
    assert_eq!(changed(&after_docs, &after_people), names(&["agent"]));

    shipped.append(
        "packages/setup/fleet-manager/src/cli.ts",
        "\n// an edit of the Fleet Manager\n",
    );
    let after_manager = shipped.keys();
    assert_eq!(
        changed(&after_people, &after_manager),
        names(&["fleet-manager"])
    );

    // The images that run `npm ci` from the root lockfile: the Fleet Manager, the agent and the
    // Command Center; Conduit and Element read no npm file.
    shipped.append("package-lock.json", "\n");
    let after_lock = shipped.keys();
    assert_eq!(
        changed(&after_manager, &after_lock),
        names(&["agent", "command-center", "fleet-manager"])
    );
}

fn read_json(fleet: &Fleet, name: &str) -> serde_json::Value {
    serde_json::from_slice(&std::fs::read(fleet.file(name)).unwrap()).unwrap()
}

/// `image`'s outcome and digest in a build report.
fn pushed(report: &serde_json::Value, image: &str) -> (String, String) {
    let entry = report["images"]
        .as_array()
        .expect("images in the build report")
        .iter()
        .find(|i| i["name"] == image)
        .unwrap_or_else(|| panic!("{image} is not in the build report: {report}"));
    (
        entry["outcome"].as_str().unwrap().to_string(),
        entry["digest"]
            .as_str()
            .unwrap_or_else(|| panic!("no digest for {image}: {report}"))
            .to_string(),
    )
}

/// A variable of a revision's container.
async fn env_value(task_definition: &str, container: &str, name: &str) -> Option<String> {
    let (_, environment) = cdk_replica::container_of(task_definition, container).await;
    environment
        .into_iter()
        .find(|(n, _)| n == name)
        .map(|(_, v)| v)
}

/// Issue 12, item 7: the shipped manifest, unchanged, released with `build --push --deploy` into
/// a replica of what the CDK app creates for a new environment (the ECR repositories under the
/// app's own `open-claw-fleet/` prefix, the cluster `open-claw-fleet-<environment>`, the four
/// services with generated names, the agent family referenced by the Fleet Manager). Every
/// service then runs its new image pinned by digest, the Fleet Manager's new revision names the
/// new agent revision, a second run changes nothing, and `rollback` restores the stack's revisions.
///
/// The basic-auth registry stands in for ECR (`FLEET_IMAGES_REGISTRY_ENDPOINT`), whose password
/// is the emulator's authorization token. Its repositories outlive the test: a later run finds the
/// images `remote` and pushes nothing (a first run pushes the five, about 1.5 GB compressed).
fn release_into_a_replica(shipped: &mut Shipped) {
    let environment = support::unique("fleet");
    let registry = support::service("FLEET_TEST_AUTH_REGISTRY");
    let prefix = format!("{PROJECT}/");
    let runtime = tokio::runtime::Runtime::new().unwrap();
    // The CDK app's task definitions declare ARM64; the images here are built with `--platform`
    // for the engine's own platform (amd64, no emulation on this machine), and deploy refuses an
    // image whose platform is not the task definition's. The replica declares X86_64 so that the
    // images it runs are the ones just built and tested.
    assert_eq!(shipped.platform, "linux/amd64", "the replica is X86_64");
    let replica = runtime.block_on(cdk_replica::create(&ReplicaSpec {
        environment: environment.clone(),
        registry: registry.clone(),
        repository_prefix: prefix.clone(),
        cpu_architecture: CpuArchitecture::X8664,
    }));
    shipped
        .fleet
        .env("FLEET_IMAGES_REGISTRY_ENDPOINT", &registry)
        .env(
            "AWS_ENDPOINT_URL",
            &support::service("FLEET_TEST_AWS_ENDPOINT"),
        )
        .env("FLEET_IMAGES_DEPLOY_POLL_MS", "50");
    let env_var = format!("environment={environment}");
    let release = |json: &str| {
        let started = Instant::now();
        let run = shipped.run(&[
            "--var",
            &env_var,
            "build",
            "--push",
            "--deploy",
            "--json-out",
            json,
        ]);
        run.ok();
        eprintln!(
            "build --push --deploy ({json}) took {:.1?}",
            started.elapsed()
        );
        (run, read_json(&shipped.fleet, json))
    };

    let (run, r1) = release("release-1.json");
    for image in IMAGES {
        let (outcome, _) = pushed(&r1, image);
        // Pushed now, or by an earlier run of this test (the registry keeps them).
        assert!(
            outcome == "pushed" || outcome == "remote",
            "{image}: {outcome}\n{}",
            run.stderr
        );
    }
    let deployed = &r1["deploy"];
    let mut released = BTreeMap::new();
    runtime.block_on(async {
        for s in &replica.services {
            let now = cdk_replica::running(&replica.cluster, &s.name).await;
            assert_ne!(
                now, s.task_definition,
                "{} was not released: {deployed:#}",
                s.name
            );
            let repository = REPOSITORIES
                .iter()
                .find(|(i, _)| *i == s.container)
                .unwrap()
                .1;
            let (image, _) = cdk_replica::container_of(&now, &s.container).await;
            let (_, digest) = pushed(&r1, &s.container);
            assert!(digest.starts_with("sha256:"), "{digest}");
            assert_eq!(image, format!("{registry}/{prefix}{repository}@{digest}"));
            released.insert(s.container.clone(), now);
        }
        let family = &deployed["families"][0];
        assert_eq!(family["outcome"], "registered", "{deployed:#}");
        assert_eq!(
            family["old_revision"].as_str(),
            Some(replica.agent_task_definition.as_str())
        );
        let agent = family["new_revision"].as_str().unwrap().to_string();
        let (agent_image, _) = cdk_replica::container_of(&agent, "agent").await;
        assert_eq!(
            agent_image,
            format!(
                "{registry}/{prefix}openclaw-agent@{}",
                pushed(&r1, "agent").1
            )
        );
        // The Fleet Manager's new revision launches the new agents; the rest of its
        // environment is the stack's.
        let fm = &released["fleet-manager"];
        assert_eq!(
            env_value(fm, "fleet-manager", AGENT_REFERENCE).await,
            Some(agent.clone())
        );
        assert_eq!(
            env_value(fm, "fleet-manager", "DEPLOY_VERSION")
                .await
                .as_deref(),
            Some("1.0.1")
        );
        assert_eq!(cdk_replica::active_revisions(&agent).await.len(), 2);
    });

    // A second run changes nothing: every image already in the registry, every service and the
    // agent family up to date, no new revision.
    let (_, r2) = release("release-2.json");
    for image in IMAGES {
        assert_eq!(
            pushed(&r2, image),
            ("remote".to_string(), pushed(&r1, image).1)
        );
    }
    let services = r2["deploy"]["services"].as_array().expect("services");
    assert_eq!(services.len(), replica.services.len(), "{r2:#}");
    for s in services {
        assert_eq!(s["outcome"], "up-to-date", "{r2:#}");
    }
    assert_eq!(
        r2["deploy"]["families"][0]["outcome"], "up-to-date",
        "{r2:#}"
    );
    runtime.block_on(async {
        for s in &replica.services {
            assert_eq!(
                cdk_replica::running(&replica.cluster, &s.name).await,
                released[&s.container]
            );
            assert_eq!(
                cdk_replica::active_revisions(&s.task_definition)
                    .await
                    .len(),
                2,
                "{}",
                s.name
            );
        }
        assert_eq!(
            cdk_replica::active_revisions(&replica.agent_task_definition)
                .await
                .len(),
            2
        );
    });

    // `rollback --from` the first release's artifact: every service back on the stack's own
    // revision, the Fleet Manager's naming the stack's agent revision again.
    let back = shipped.run(&["--var", &env_var, "rollback", "--from", "release-1.json"]);
    back.ok();
    runtime.block_on(async {
        for s in &replica.services {
            assert_eq!(
                cdk_replica::running(&replica.cluster, &s.name).await,
                s.task_definition,
                "{}\n{}",
                s.name,
                back.stderr
            );
        }
        let fm = replica.service("fleet-manager");
        assert_eq!(
            env_value(
                &cdk_replica::running(&replica.cluster, &fm.name).await,
                "fleet-manager",
                AGENT_REFERENCE
            )
            .await,
            Some(replica.agent_task_definition.clone())
        );
    });
}

/// `--platform` (env `FLEET_IMAGES_PLATFORM`) replaces every image's platform, the manifest's
/// `[defaults]` and an image's own alike, in the key too; a build then makes that platform.
#[test]
fn the_platform_option_overrides_every_images_platform() {
    let mut fleet = Fleet::new();
    let base = support::base_image();
    let prefix = support::unique("platform-opt");
    let _cleanup = support::ImageCleanup::new(&prefix);
    fleet.env("FLEET_IMAGES_MANIFEST", "fleet.toml");
    fleet
        .manifest(&format!(
            "[defaults]\nplatform = \"linux/arm64\"\n\n[registry]\nkind = \"registry\"\nurl = \"127.0.0.1:5000\"\nrepository_prefix = \"{prefix}/\"\n\n[images.a]\ncontext = \"a\"\n\n[images.b]\ncontext = \"b\"\nplatform = \"linux/amd64\"\n"
        ))
        .write("a/Dockerfile", format!("FROM {base}\nCOPY hello /hello\n"))
        .write("a/hello", "a\n")
        .write("b/Dockerfile", format!("FROM {base}\nCOPY hello /hello\n"))
        .write("b/hello", "b\n");
    let plan = |fleet: &Fleet, args: &[&str]| -> BTreeMap<String, (String, String)> {
        let mut all = vec!["plan", "--json"];
        all.extend_from_slice(args);
        let run = fleet.run(&all);
        run.ok();
        run.json()["images"]
            .as_array()
            .unwrap()
            .iter()
            .map(|i| {
                (
                    i["name"].as_str().unwrap().to_string(),
                    (
                        i["platform"].as_str().unwrap().to_string(),
                        i["key"].as_str().unwrap().to_string(),
                    ),
                )
            })
            .collect()
    };
    let manifest = plan(&fleet, &[]);
    assert_eq!(manifest["a"].0, "linux/arm64");
    assert_eq!(manifest["b"].0, "linux/amd64");

    let amd64 = plan(&fleet, &["--platform", "linux/amd64"]);
    assert_eq!(amd64["a"].0, "linux/amd64");
    assert_eq!(amd64["b"].0, "linux/amd64");
    assert_ne!(
        amd64["a"].1, manifest["a"].1,
        "the platform is part of the key"
    );
    assert_eq!(amd64["b"].1, manifest["b"].1, "b was amd64 already");

    // The test base is amd64 only: built as the manifest says (arm64), `a` is refused before
    // the build (neither builder would stop it: BuildKit labels the image arm64 with amd64
    // programs inside); with --platform linux/amd64 it builds, as amd64.
    let arm = fleet.run(&["build", "a"]);
    arm.expect_code(1);
    assert!(
        arm.stderr
            .contains("is for `linux/amd64`, not for `linux/arm64`")
            && arm.stderr.contains("--platform linux/amd64"),
        "{}",
        arm.stderr
    );
    fleet.run(&["--platform", "linux/amd64", "build", "a"]).ok();
    let tag = format!("{prefix}/a:key-{}", &amd64["a"].1[..32]);
    assert_eq!(
        support::docker(&["image", "inspect", "-f", "{{.Os}}/{{.Architecture}}", &tag]).trim(),
        "linux/amd64"
    );

    // A malformed platform is bad input (exit 2), named with the fix.
    let bad = fleet.run(&["--platform", "linux/aarch64", "plan"]);
    bad.expect_code(2);
    assert!(
        bad.stderr
            .contains("`--platform linux/aarch64` is not a platform"),
        "{}",
        bad.stderr
    );
    assert!(bad.stderr.contains("linux/arm64"), "{}", bad.stderr);

    fleet.env("FLEET_IMAGES_PLATFORM", "linux/arm64");
    let env = plan(&fleet, &[]);
    assert_eq!(env["a"], manifest["a"]);
    assert_eq!(env["b"].0, "linux/arm64");
    // The option wins over the environment.
    let both = plan(&fleet, &["--platform", "linux/amd64"]);
    assert_eq!(both, amd64);
}
