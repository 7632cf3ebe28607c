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
