//! The acceptance test of the shipped fleet (issue 11): the real `fleet-images` binary builds the
//! fleet's five images from a copy of the fleet's sources snapshot, against the test
//! environment's stand-in bases, for the engine's own platform; checks them; tests them; then
//! proves on that copy that each image's key changes exactly when what it reads changes.
//!
//! The images stay in the engine (repositories `open-claw-fleet/*`), so that a second run finds
//! every key `local` and takes seconds; the engine's layer cache makes a rebuild after a change
//! fast too. A cold run (no layers cached) builds everything: see README "The shipped fleet".

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;

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
    let shipped = Shipped::new();

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
