//! The `check` and `test` commands on the build fixture, through the real binary.

use crate::build::fixture;
use crate::support::{unique, ImageCleanup};

fn add_to_image(fleet: &crate::support::Fleet, image: &str, text: &str) {
    let manifest = std::fs::read_to_string(fleet.file("fleet.toml")).unwrap();
    fleet.manifest(&format!("{manifest}\n[images.{image}.{text}"));
}

#[test]
fn check_passes_the_fixture_and_names_the_rule_a_privileged_port_breaks() {
    let prefix = unique("fi-check");
    let _cleanup = ImageCleanup::new(&prefix);
    let fleet = fixture(&prefix);
    for image in ["base", "app", "tools", "web"] {
        add_to_image(&fleet, image, "test]\ntcp = 8080\n");
    }
    fleet
        .run(&["--manifest", "fleet.toml", "build", "web"])
        .ok();
    let run = fleet.run(&["--manifest", "fleet.toml", "check", "web"]);
    run.ok();
    assert!(run.stdout.contains("0 errors"), "{}", run.stdout);

    fleet.write("web/Dockerfile", "ARG BASE\nFROM ${BASE}\nCOPY www /www\nUSER app\nEXPOSE 80\nCMD [\"httpd\", \"-f\", \"-p\", \"80\", \"-h\", \"/www\"]\n");
    let run = fleet.run(&["--manifest", "fleet.toml", "check", "web", "--json"]);
    run.expect_code(1);
    let report = run.json();
    let rules: Vec<&str> = report["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["rule"].as_str().unwrap())
        .collect();
    assert!(rules.contains(&"privileged-port"), "{report}");
}

#[test]
fn test_probes_a_built_image_and_says_when_one_is_not_built() {
    let prefix = unique("fi-test");
    let _cleanup = ImageCleanup::new(&prefix);
    let fleet = fixture(&prefix);
    add_to_image(&fleet, "web", "test]\nhttp = { port = 8080, path = \"/index.html\", contains = \"fleet\" }\nuser = \"app\"\ntimeout = \"20s\"\n");
    let run = fleet.run(&["--manifest", "fleet.toml", "test", "web"]);
    run.expect_code(1);
    assert!(
        run.stderr.contains("run `fleet-images build web` first"),
        "{}",
        run.stderr
    );

    fleet
        .run(&["--manifest", "fleet.toml", "build", "web"])
        .ok();
    let run = fleet.run(&["--manifest", "fleet.toml", "test", "web"]);
    run.ok();
    assert!(run.stdout.contains("ok"), "{}", run.stdout);
}

const TOOLS_TEST: &str = r#"test]
timeout = "20s"

[images.tools.test.metadata]
cmd = ["/bin/sh"]

[[images.tools.test.files]]
path = "/opt/combined.txt"
type = "file"
contains = "a\nb"

[[images.tools.test.services]]
name = "web"
image = "web"
ready = { port = 8080, path = "/index.html" }

[[images.tools.test.commands]]
name = "fetches the page from the web service"
run = ["wget", "-qO-", "http://web:8080/index.html"]
stdout_contains = "<h1>fleet</h1>"
"#;

#[test]
fn test_runs_structure_tests_beside_a_fleet_image_as_service() {
    let prefix = unique("fi-struct");
    let _cleanup = ImageCleanup::new(&prefix);
    let fleet = fixture(&prefix);
    add_to_image(&fleet, "tools", TOOLS_TEST);
    fleet
        .run(&["--manifest", "fleet.toml", "build", "tools"])
        .ok();
    // The service's image is a fleet image that is not built yet.
    let run = fleet.run(&["--manifest", "fleet.toml", "test", "tools"]);
    run.expect_code(1);
    assert!(
        run.stderr.contains("test service `web` runs image `web`, which is not built with its current inputs; run `fleet-images build web` first"),
        "{}",
        run.stderr
    );

    fleet
        .run(&["--manifest", "fleet.toml", "build", "web"])
        .ok();
    let run = fleet.run(&["--manifest", "fleet.toml", "test", "tools"]);
    run.ok();
    assert!(
        run.stdout
            .contains("ok tools (1 command test): 4 tests passed"),
        "{}",
        run.stdout
    );
    assert!(
        run.stdout
            .contains("\n  ok     service `web`: GET /index.html answered 200 after"),
        "{}",
        run.stdout
    );
    assert!(
        run.stdout
            .contains("\n  ok     command `fetches the page from the web service`: exited 0 after"),
        "{}",
        run.stdout
    );
    assert!(
        run.stdout
            .contains("\n  ok     file /opt/combined.txt: a file, contains `a\\nb`"),
        "{}",
        run.stdout
    );

    let run = fleet.run(&["--manifest", "fleet.toml", "test", "tools", "--json"]);
    run.ok();
    let outcomes = run.json();
    assert_eq!(outcomes[0]["status"], "passed", "{outcomes}");
    let kinds: Vec<&str> = outcomes[0]["tests"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["kind"].as_str().unwrap())
        .collect();
    assert_eq!(kinds, ["metadata", "file", "service", "command"]);

    // A failed expectation fails the run with exit code 1 and says what it found.
    let manifest = std::fs::read_to_string(fleet.file("fleet.toml")).unwrap();
    fleet.manifest(&manifest.replace(
        "stdout_contains = \"<h1>fleet</h1>\"",
        "stdout_contains = \"<h1>claw</h1>\"",
    ));
    let run = fleet.run(&["--manifest", "fleet.toml", "test", "tools"]);
    run.expect_code(1);
    assert!(
        run.stdout
            .contains("FAILED tools (1 command test): 1 of 4 tests failed\n"),
        "{}",
        run.stdout
    );
    assert!(
        run.stdout.contains("\n  FAILED command `fetches the page from the web service`: expected stdout to contain `<h1>claw</h1>`, 15 bytes without it\n           | stdout: <h1>fleet</h1>"),
        "{}",
        run.stdout
    );

    // A manifest error in the section is a load error with file, line and key: exit 2.
    fleet.manifest(&format!(
        "{manifest}\n[[images.tools.test.files]]\npath = \"opt/relative.txt\"\n"
    ));
    let run = fleet.run(&["--manifest", "fleet.toml", "test", "tools"]);
    run.expect_code(2);
    assert!(
        run.stderr.contains(
            "error: file test path `opt/relative.txt` is not absolute\n  --> fleet.toml:"
        ),
        "{}",
        run.stderr
    );
    assert!(
        run.stderr.contains("(images.tools.test.files[1].path)"),
        "{}",
        run.stderr
    );
}

#[test]
fn check_names_a_cmd_script_the_image_lacks() {
    let prefix = unique("fi-entry");
    let _cleanup = ImageCleanup::new(&prefix);
    let fleet = fixture(&prefix);
    fleet.write(
        "app/Dockerfile",
        "ARG BASE_IMAGE\nFROM ${BASE_IMAGE}\nCOPY app.sh /opt/fleet/app.sh\nWORKDIR /opt/fleet\nCMD [\"sh\", \"start.sh\"]\n",
    );
    fleet
        .run(&["--manifest", "fleet.toml", "build", "app"])
        .ok();
    let run = fleet.run(&["--manifest", "fleet.toml", "check", "app", "--json"]);
    run.expect_code(1);
    let report = run.json();
    let finding = report["findings"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["rule"] == "entrypoint-exists")
        .unwrap_or_else(|| panic!("{report}"));
    assert_eq!(finding["severity"], "error");
    assert_eq!(
        finding["message"],
        "`CMD` runs `sh start.sh`, but `/opt/fleet/start.sh` is not in the image (`start.sh` against WORKDIR `/opt/fleet`)"
    );
}
