//! Manifest loading: every validation error's exact text, and what a valid manifest becomes.

use std::collections::BTreeMap;
use std::path::Path;

use super::*;
use crate::error::{render, Diagnostic, Exit};

fn load_text(text: &str) -> Result<Manifest, ManifestError> {
    parse(
        Path::new("images/fleet.toml"),
        text,
        &LoadOptions::default(),
    )
}

fn error_text(text: &str) -> String {
    let error = load_text(text).expect_err("the manifest should be rejected");
    assert_eq!(error.exit(), Exit::BadInput);
    render(&error)
}

const VALID: &str = r#"
[vars]
source = "../src"

[defaults]
platform = "linux/arm64"

[registry]
kind = "ecr"
region = "eu-west-1"
repository_prefix = "fleet/"
keep_images = 10

[images.base]
context = "base"
tags = ["latest"]

[images.element]
context = ".."
dockerfile = "element/Dockerfile"
args = { BRAND = "Claw" }
depends_on = ["base"]
platform = "linux/amd64"
[images.element.deploy]
services = [{ cluster = "fleet", service = "element", container = "element" }]
[images.element.test]
http = { port = 8080, path = "/config.json", contains = "Claw" }
timeout = "10s"

[images.agent]
context = "${source}/agent"
[images.agent.deploy]
task_families = [{ family = "fleet-agent", container = "agent" }]
"#;

#[test]
fn a_valid_manifest_loads_with_defaults_applied() {
    let manifest = load_text(VALID).unwrap();
    let names: Vec<_> = manifest.images.iter().map(|i| i.name.as_str()).collect();
    assert_eq!(names, ["base", "element", "agent"]);
    let element = &manifest.images[1];
    assert_eq!(element.repository.as_str(), "fleet/element");
    assert_eq!(element.platform.to_string(), "linux/amd64");
    assert_eq!(manifest.images[0].platform.to_string(), "linux/arm64");
    assert_eq!(
        element.dockerfile.value,
        Path::new("images/element/Dockerfile")
    );
    assert_eq!(
        manifest.images[0].dockerfile.value,
        Path::new("images/base/Dockerfile")
    );
    assert_eq!(
        manifest.images[2].context.value,
        Path::new("images/../src/agent")
    );
    assert_eq!(manifest.images[2].context.vars, ["source"]);
    assert_eq!(element.deploy.keep_revisions, DEFAULT_KEEP_REVISIONS);
    assert_eq!(element.test.as_ref().unwrap().timeout.as_secs(), 10);
    let registry = manifest.registry.as_ref().unwrap();
    assert_eq!(registry.keep_images, 10);
    assert_eq!(registry.tag_mutability, TagMutability::Immutable);
    assert!(registry.scan_on_push);
}

#[test]
fn vars_come_from_the_command_line_then_env_then_defaults() {
    let options = LoadOptions {
        vars: vec![("source".into(), "/cli".into())],
        env: BTreeMap::from([("FLEET_VAR_SOURCE".into(), "/env".into())]),
    };
    let manifest = parse(Path::new("fleet.toml"), VALID, &options).unwrap();
    assert_eq!(manifest.images[2].context.value, Path::new("/cli/agent"));
    let options = LoadOptions {
        vars: vec![],
        env: BTreeMap::from([("FLEET_VAR_SOURCE".into(), "/env".into())]),
    };
    let manifest = parse(Path::new("fleet.toml"), VALID, &options).unwrap();
    assert_eq!(manifest.images[2].context.value, Path::new("/env/agent"));
}

#[test]
fn syntax_errors_name_line_and_column() {
    assert_eq!(
        error_text("[images.a]\ncontext = \"x\"\nfoo"),
        "error: manifest is not valid TOML: key with no value, expected `=`\n  --> images/fleet.toml:3 (column 4)"
    );
}

#[test]
fn unknown_keys_suggest_the_closest() {
    assert_eq!(
        error_text("[images.element]\ncontxt = \".\"\ncontext = \".\""),
        "error: unknown key `contxt` in `[images.element]`\n  --> images/fleet.toml:2 (images.element.contxt)\n  hint: did you mean `context`?"
    );
    assert_eq!(
        error_text("[imagez.a]\ncontext = \".\""),
        "error: unknown key `imagez` in the manifest\n  --> images/fleet.toml:1 (imagez)\n  hint: did you mean `images`?"
    );
}

#[test]
fn unresolved_vars_are_all_listed() {
    assert_eq!(
        error_text("[images.a]\ncontext = \"${src}/a\"\ndockerfile = \"${df}\""),
        "error: unresolved variables `${src}`, `${df}`\n  --> images/fleet.toml:2 (images.a.context)\n  hint: set each with `--var src=VALUE`, the environment variable `FLEET_VAR_SRC`, or a default in `[vars]`"
    );
}

#[test]
fn unknown_dependencies_and_cycles() {
    assert_eq!(
        error_text("[images.a]\ncontext = \".\"\ndepends_on = [\"bse\"]\n[images.base]\ncontext = \".\""),
        "error: image `a` depends on `bse`, which the manifest does not define\n  --> images/fleet.toml:1 (images.a.depends_on)\n  hint: did you mean `base`?"
    );
    assert_eq!(
        error_text("[images.a]\ncontext = \".\"\ndepends_on = [\"b\"]\n[images.b]\ncontext = \".\"\ndepends_on = [\"c\"]\n[images.c]\ncontext = \".\"\ndepends_on = [\"a\"]"),
        "error: images depend on each other in a cycle: a -> b -> c -> a\n  --> images/fleet.toml:1 (images.a.depends_on)\n  hint: remove one of these `depends_on` entries"
    );
    assert_eq!(
        error_text("[images.a]\ncontext = \".\"\ndepends_on = [\"a\"]"),
        "error: images depend on each other in a cycle: a -> a\n  --> images/fleet.toml:3 (images.a.depends_on)\n  hint: remove one of these `depends_on` entries"
    );
}

#[test]
fn bad_platforms_and_repositories() {
    assert_eq!(
        error_text("[images.a]\ncontext = \".\"\nplatform = \"linux/aarch64\""),
        "error: `linux/aarch64` is not a valid platform: the engine spells `aarch64` as `arm64`: write `linux/arm64`\n  --> images/fleet.toml:3 (images.a.platform)\n  hint: ECS on Graviton is `linux/arm64`; on Intel and AMD it is `linux/amd64`"
    );
    assert_eq!(
        error_text("[images.a]\ncontext = \".\"\nrepository = \"Fleet/A\""),
        "error: `Fleet/A` is not a valid repository name: use `/`-separated parts of lowercase letters and digits, joined by `.`, `_`, `__` or `-` (at most 256 characters), such as `fleet/element`\n  --> images/fleet.toml:3 (images.a.repository)\n  hint: set `repository` (and `[registry] repository_prefix`) to a lowercase path such as `fleet/element`"
    );
}

#[test]
fn missing_and_mistyped_values() {
    assert_eq!(
        error_text("[images.a]\ndockerfile = \"x\""),
        "error: `[images.a]` has no `context`\n  --> images/fleet.toml:1 (images.a)\n  hint: add it, for example `context = \".\"`"
    );
    assert_eq!(
        error_text("[images.a]\ncontext = 3"),
        "error: `images.a.context` must be a string, not an integer\n  --> images/fleet.toml:2 (images.a.context)"
    );
    assert_eq!(
        error_text("[registry]\nkind = \"ecs\"\n[images.a]\ncontext = \".\""),
        "error: `registry.kind` must be `ecr` or `registry`, not `ecs`\n  --> images/fleet.toml:2 (registry.kind)\n  hint: did you mean `ecr`?"
    );
    assert_eq!(
        error_text("[images.a]\ncontext = \".\"\n[images.a.test]\ntcp = 70000"),
        "error: `images.a.test.tcp` must be between 1 and 65535\n  --> images/fleet.toml:4 (images.a.test.tcp)"
    );
    assert_eq!(
        error_text("[images.a]\ncontext = \".\"\n[images.a.test]\ntcp = 80\ntimeout = \"soon\""),
        "error: `timeout` `soon` is not a duration: expected number at 0\n  --> images/fleet.toml:5 (images.a.test.timeout)\n  hint: write it like `30s`, `2m` or `1m 30s`"
    );
}

#[test]
fn image_names_on_the_command_line() {
    let manifest = load_text(VALID).unwrap();
    let error = select(&manifest, &["elemnt".into()]).unwrap_err();
    assert_eq!(
        render(&error),
        "error: no image named `elemnt` in images/fleet.toml\n  hint: did you mean `element`?"
    );
    let order: Vec<_> = select(&manifest, &["element".into()])
        .unwrap()
        .iter()
        .map(|n| n.to_string())
        .collect();
    assert_eq!(order, ["base", "element"]);
}

#[test]
fn no_input_panics() {
    for text in [
        "",
        "=",
        "[images]",
        "[images.a]",
        "images = 3",
        "[images.A]\ncontext=\".\"",
        "[[images]]\ncontext = 1",
        "[images.a]\ncontext = \".\"\nargs = 1",
        "[images.a]\ncontext = \".\"\ntags = [1]",
        "[images.a]\ncontext = \".\"\n[images.a.deploy]\nservices = [1]",
        "\u{feff}[images.a]\ncontext=\".\"",
        "[images.a]\ncontext = \"${\"",
        "[images.a]\ncontext = \"${}\"",
    ] {
        let _ = load_text(text);
    }
}

#[test]
fn allow_names_only_known_rules() {
    assert_eq!(
        error_text("[images.a]\ncontext = \".\"\n[images.a.check]\nallow = [\"healthchek\"]"),
        "error: `healthchek` in `allow` is not a check rule\n  --> images/fleet.toml:4 (images.a.check.allow)\n  hint: did you mean `healthcheck`?"
    );
}

// ---- [images.<name>.deploy]: targets found by container, references between families ----

const CDK: &str = r#"
[vars]
environment = "dev"

[images.fleet-manager]
context = "fm"
[images.fleet-manager.deploy]
services = [{ cluster = "open-claw-fleet-${environment}", container = "fleet-manager" }]

[images.agent]
context = "agent"
[images.agent.deploy]
task_families = [{ container = "agent", referenced_by = { image = "fleet-manager", env = "ECS_TASK_DEFINITION_ARN" } }]
"#;

#[test]
fn a_service_found_by_container_and_a_family_found_through_a_reference() {
    let manifest = load_text(CDK).unwrap();
    let fm = &manifest.images[0].deploy.services[0];
    assert_eq!(fm.cluster, "open-claw-fleet-dev");
    assert_eq!(fm.service, None);
    assert_eq!(fm.container, "fleet-manager");
    let agent = &manifest.images[1].deploy.task_families[0];
    assert_eq!(agent.family, None);
    let reference = agent.referenced_by.as_ref().unwrap();
    assert_eq!(reference.image.as_str(), "fleet-manager");
    assert_eq!(reference.env, "ECS_TASK_DEFINITION_ARN");
    assert_eq!(reference.services, std::slice::from_ref(fm));
}

#[test]
fn a_reference_must_name_an_image_that_deploys_to_a_service() {
    let unknown = CDK.replace("image = \"fleet-manager\"", "image = \"fleet-manger\"");
    assert_eq!(
        error_text(&unknown),
        "error: `referenced_by` names image `fleet-manger`, which is not in the manifest\n  \
         --> images/fleet.toml:13 (images.agent.deploy.task_families[0].referenced_by)\n  \
         hint: did you mean `fleet-manager`?"
    );
    let no_service = CDK.replace(
        "services = [{ cluster = \"open-claw-fleet-${environment}\", container = \"fleet-manager\" }]",
        "services = []",
    );
    let text = error_text(&no_service);
    assert!(
        text.starts_with(
            "error: `referenced_by` names image `fleet-manager`, which deploys to no service"
        ),
        "{text}"
    );
    assert!(text.contains("hint: add `services = [{ cluster"), "{text}");
    let neither = CDK.replace(
        ", referenced_by = { image = \"fleet-manager\", env = \"ECS_TASK_DEFINITION_ARN\" }",
        "",
    );
    let text = error_text(&neither);
    assert!(text.contains("family"), "{text}");
    assert!(text.contains("referenced_by = {"), "{text}");
    let unknown_key = CDK.replace("env = \"ECS", "variable = \"ECS");
    let text = error_text(&unknown_key);
    assert!(text.contains("variable"), "{text}");
}
