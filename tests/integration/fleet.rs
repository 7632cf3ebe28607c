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

const IMAGES: [&str; 5] = ["conduit", "element", "fleet-manager", "agent", "command-center"];

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
                    i["key"].as_str().expect("every image has a key").to_string(),
                )
            })
            .collect()
    }

    /// Appends `text` to a file of the copy.
    fn append(&self, rel: &str, text: &str) {
        use std::io::Write;
        let path = self.source.join(rel);
        assert!(path.is_file(), "{} is not a file of the snapshot", path.display());
        let mut file = std::fs::OpenOptions::new().append(true).open(&path).unwrap();
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
    for image in report["images"].as_array().expect("images in the build report") {
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

    // Each image runs as it is meant to (fleet.toml's test sections).
    let test = shipped.run(&["test"]);
    test.ok();
    for name in IMAGES {
        assert!(
            test.stdout.contains(name) || test.stderr.contains(name),
            "no result for {name}:\n{}\n{}",
            test.stdout,
            test.stderr
        );
    }

    // Keys are precise on the real tree: what an image does not read does not change its key.
    let base = shipped.keys();
    assert_eq!(base.keys().cloned().collect::<Vec<_>>(), names(&IMAGES));

    shipped.append("docs/docker-images.md", "\nAn edit of the docs.\n");
    shipped.create("Blog/an-edit.md", "# A new post\n");
    let after_docs = shipped.keys();
    assert_eq!(changed(&base, &after_docs), Vec::<String>::new(), "docs/ and Blog/ edits");

    shipped.append("packages/plugins/people/src/index.ts", "\n// an edit of the people plugin\n");
    let after_people = shipped.keys();
    assert_eq!(changed(&after_docs, &after_people), names(&["agent"]));

    shipped.append(
        "packages/setup/fleet-manager/src/cli.ts",
        "\n// an edit of the Fleet Manager\n",
    );
    let after_manager = shipped.keys();
    assert_eq!(changed(&after_people, &after_manager), names(&["fleet-manager"]));

    // The images that run `npm ci` from the root lockfile: the Fleet Manager, the agent and the
    // Command Center; Conduit and Element read no npm file.
    shipped.append("package-lock.json", "\n");
    let after_lock = shipped.keys();
    assert_eq!(
        changed(&after_manager, &after_lock),
        names(&["agent", "command-center", "fleet-manager"])
    );
}
