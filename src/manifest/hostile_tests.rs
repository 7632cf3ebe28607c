//! Hostile manifests (issue 14): each is refused at load with exit 2 and a message that names the
//! file and line; random text never panics, hangs or grows memory.

use std::path::Path;
use std::time::{Duration, Instant};

use proptest::prelude::*;

use super::*;
use crate::error::{render, Diagnostic, Exit};

fn load_text(text: &str) -> Result<Manifest, ManifestError> {
    parse(
        Path::new("images/fleet.toml"),
        text,
        &LoadOptions::default(),
    )
}

fn refused(text: &str) -> String {
    let error = load_text(text).expect_err("the manifest should be refused");
    assert_eq!(error.exit(), Exit::BadInput);
    render(&error)
}

fn registry(url: &str) -> String {
    format!("[registry]\nkind = \"registry\"\nurl = \"{url}\"\n[images.a]\ncontext = \".\"\n")
}

#[test]
fn credentials_in_a_registry_url_are_refused_without_being_repeated() {
    for url in [
        "ci-bot:hunter2-secret@127.0.0.1:5000",
        "http://ci-bot:hunter2-secret@127.0.0.1:5000/fleet",
        "https://hunter2-secret@registry.example.com",
    ] {
        let text = refused(&registry(url));
        assert!(!text.contains("hunter2"), "{text}");
        assert!(
            text.starts_with("error: `registry.url` holds credentials"),
            "{text}"
        );
        assert!(
            text.contains("--> images/fleet.toml:3 (registry.url)"),
            "{text}"
        );
        assert!(text.contains("FLEET_IMAGES_REGISTRY_PASSWORD"), "{text}");
    }
}

#[test]
fn a_registry_url_prefix_must_be_repository_path_components() {
    for url in [
        "127.0.0.1:5000/../../etc",
        "127.0.0.1:5000/%2e%2e/%2e%2e/etc",
        "127.0.0.1:5000/fleet/./x",
        "127.0.0.1:5000/Fleet",
        "127.0.0.1:5000//fleet",
        "127.0.0.1:5000/fleet?x=1",
    ] {
        let text = refused(&registry(url));
        assert!(text.contains("is not a repository path"), "{url}: {text}");
        assert!(
            text.contains("--> images/fleet.toml:3 (registry.url)"),
            "{text}"
        );
    }
    for url in ["127.0.0.1:99999", "exa mple.com", "host:port", ":5000"] {
        let text = refused(&registry(url));
        assert!(
            text.contains("--> images/fleet.toml:3 (registry.url)"),
            "{url}: {text}"
        );
    }
    for url in [
        "127.0.0.1:5000",
        "http://localhost:5001/fleet/team",
        "registry.example.com/fleet-images/x_y",
        "[::1]:5000/fleet",
    ] {
        load_text(&registry(url)).unwrap_or_else(|e| panic!("{url}: {}", render(&e)));
    }
}

#[test]
fn a_test_timeout_that_cannot_be_added_to_the_clock_is_bad_input() {
    let text = refused(
        "[images.a]\ncontext = \".\"\n[images.a.test]\ntcp = 80\ntimeout = \"18446744073709551615s\"\n",
    );
    assert_eq!(
        text,
        "error: `timeout` `18446744073709551615s` is not a duration: it is longer than the limit of 7days\n  --> images/fleet.toml:5 (images.a.test.timeout)\n  hint: write it like `30s`, `2m` or `1m 30s`"
    );
}

#[test]
fn a_var_that_refers_to_itself_is_refused() {
    let text = refused("[vars]\nsource = \"..\"\na = \"${a}\"\n[images.a]\ncontext = \"${a}\"\n");
    assert_eq!(
        text,
        "error: `vars.a` uses `${…}`, but `[vars]` values are not substituted\n  --> images/fleet.toml:3 (vars.a)\n  hint: write the value itself, or `$$` for a literal `$`"
    );
    load_text("[vars]\nprice = \"$$5\"\n[images.a]\ncontext = \".\"\n").unwrap();
}

#[test]
fn an_unresolved_var_in_tags_is_named_not_reported_as_an_empty_tag() {
    let text = refused("[images.a]\ncontext = \".\"\ntags = [\"${release}\"]\n");
    assert!(text.contains("release"), "{text}");
    assert!(!text.contains("`` is not a valid tag"), "{text}");
    assert!(text.contains("images/fleet.toml:3"), "{text}");
}

#[test]
fn a_build_arg_too_large_for_the_engine_is_refused_naming_it() {
    let big = "x".repeat(1 << 20);
    let text = refused(&format!(
        "[images.a]\ncontext = \".\"\nargs = {{ SMALL = \"1\", BLOB = \"{big}\" }}\n"
    ));
    assert_eq!(
        text,
        "error: the build args of image `a` hold 1048586 bytes (`BLOB` alone 1048576), more than the 64 KiB the engine accepts in a build request\n  --> images/fleet.toml:3 (images.a.args.BLOB)\n  hint: pass large content as a file in the context (`COPY`), not as a build arg"
    );
}

/// 50,000 keys took 270 s when each key's line was found by counting from the start.
#[test]
fn a_manifest_with_many_keys_loads_in_linear_time() {
    let mut text = String::from("[vars]\n");
    for i in 0..50_000 {
        text.push_str(&format!("v{i} = \"value {i}\"\n"));
    }
    text.push_str("[images.a]\ncontext = \".\"\nbogus = 1\n");
    let started = Instant::now();
    let error = refused(&text);
    assert!(
        error.contains("images/fleet.toml:50004 (images.a.bogus)"),
        "{error}"
    );
    let took = started.elapsed();
    assert!(took < Duration::from_secs(5), "took {took:?}");
}

#[test]
fn a_manifest_that_is_a_fifo_or_a_device_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let fifo = dir.path().join("fleet.toml");
    rustix::fs::mkfifoat(
        rustix::fs::CWD,
        &fifo,
        rustix::fs::Mode::from_raw_mode(0o600),
    )
    .unwrap();
    let error = load(&fifo, &LoadOptions::default()).unwrap_err();
    assert_eq!(error.exit(), Exit::BadInput);
    assert!(render(&error).contains("it is a fifo (named pipe), not a regular file"));
    let error = load(Path::new("/dev/zero"), &LoadOptions::default()).unwrap_err();
    assert!(render(&error).contains("it is a character device, not a regular file"));
    let big = dir.path().join("big.toml");
    std::fs::write(
        &big,
        vec![b'#'; (crate::input_file::MANIFEST_CAP + 1) as usize],
    )
    .unwrap();
    let error = load(&big, &LoadOptions::default()).unwrap_err();
    assert!(
        render(&error).contains("larger than the 8 MiB cap"),
        "{}",
        render(&error)
    );
}

/// The number of cases: `PROPTEST_CASES` (set by `scripts/fuzz` for the long pass), else a short
/// pass that fits in `cargo test`.
pub(crate) fn cases() -> u32 {
    std::env::var("PROPTEST_CASES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(256)
}

/// Manifest-shaped text: fragments of real keys, tables, vars and values in random order.
fn manifest_text() -> impl Strategy<Value = String> {
    let fragment = prop_oneof![
        Just("[images.a]\n".to_string()),
        Just("[images.b]\n".to_string()),
        Just("[images.a.test]\n".to_string()),
        Just("[images.a.deploy]\n".to_string()),
        Just("[registry]\n".to_string()),
        Just("[vars]\n".to_string()),
        Just("kind = \"registry\"\n".to_string()),
        Just("context = \".\"\n".to_string()),
        Just("depends_on = [\"a\", \"b\"]\n".to_string()),
        Just("tags = [\"${x}\", \"latest\"]\n".to_string()),
        "[a-z_]{1,8} = \"[ -~]{0,12}\"\n",
        "url = \"[ -~]{0,24}\"\n",
        "timeout = \"[0-9a-z ]{0,24}\"\n",
        "[ -~\n]{0,16}",
    ];
    proptest::collection::vec(fragment, 0..24).prop_map(|parts| parts.concat())
}

proptest! {
    #![proptest_config(ProptestConfig { cases: cases(), ..ProptestConfig::default() })]

    #[test]
    fn the_loader_never_panics_on_manifest_shaped_text(text in manifest_text()) {
        let _ = load_text(&text);
    }

    #[test]
    fn the_loader_never_panics_on_any_text(text in "\\PC{0,200}") {
        let _ = load_text(&text);
    }

    #[test]
    fn the_var_expander_never_panics_and_stays_in_proportion(text in "[a-c${}\\\\ -~]{0,60}", value in "[ -~]{0,8}") {
        let mut vars = super::vars::Vars::new(
            [("a".to_string(), value.clone())].into(),
            [("FLEET_VAR_B".to_string(), "${a}".to_string())].into(),
        );
        let location = crate::error::Location { file: "f".into(), line: Some(1), key: None };
        let (out, used) = vars.substitute(&text, &location);
        // Substitution is one pass: a value is never expanded again.
        prop_assert!(out.len() <= text.len() * (value.len().max(4) + 1));
        prop_assert!(used.len() <= text.len());
    }

    #[test]
    fn every_refusal_names_the_manifest(text in manifest_text()) {
        if let Err(error) = load_text(&text) {
            prop_assert_eq!(error.exit(), Exit::BadInput);
            let rendered = render(&error);
            let names_file = rendered.contains("images/fleet.toml")
                || matches!(error, ManifestError::UnknownImage { .. } | ManifestError::BadVarArgument { .. });
            prop_assert!(names_file, "{}", rendered);
        }
    }
}
