//! Property tests with random input (issue 14) for the Dockerfile reader (with its variable
//! expander) and the `.dockerignore` matcher: no panic, no hang, and results that stay in
//! proportion to the input. A short pass runs in `cargo test`; `scripts/fuzz` runs a long one
//! (`PROPTEST_CASES`).

use std::collections::BTreeMap;

use proptest::prelude::*;

use super::dockerfile;
use super::dockerignore::DockerIgnore;

fn cases() -> u32 {
    std::env::var("PROPTEST_CASES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(256)
}

/// Dockerfile-shaped text: real instructions with expansions, continuations, heredocs, parser
/// directives and stray bytes, in random order.
fn dockerfile_text() -> impl Strategy<Value = String> {
    let line = prop_oneof![
        Just("FROM alpine:3.20 AS build\n".to_string()),
        Just("FROM ${BASE:-busybox}\n".to_string()),
        Just("FROM build\n".to_string()),
        Just("# escape=`\n".to_string()),
        Just("# syntax=docker/dockerfile:1\n".to_string()),
        Just("RUN echo a \\\n  && echo b\n".to_string()),
        Just("COPY <<EOF /x\nhello\nEOF\n".to_string()),
        Just("COPY --from=build /a /b\n".to_string()),
        Just("ONBUILD COPY . .\n".to_string()),
        "ARG [A-C]{1,2}(=[ -~]{0,10})?\n",
        "ENV [A-C]{1,2}=\"?\\$\\{[A-C]{0,2}(:?[-+?][ -~]{0,6})?\\}?\"?\n",
        "(COPY|ADD) (--chown=[a-z]{1,4} )?[ -~]{0,20} [ -~]{0,10}\n",
        "(WORKDIR|USER|LABEL|EXPOSE|SHELL|CMD|ENTRYPOINT|HEALTHCHECK|VOLUME|STOPSIGNAL) [ -~]{0,24}\n",
        "[ -~\t\\\\]{0,30}\n",
    ];
    proptest::collection::vec(line, 0..20).prop_map(|lines| lines.concat())
}

/// `.dockerignore`-shaped text: globs, exceptions, classes, escapes and comments.
fn ignore_text() -> impl Strategy<Value = String> {
    let line = prop_oneof![
        "!?(/|\\./)?[a-c*?/.]{0,12}\n",
        "\\[!?\\^?[a-c-]{0,4}\\]?[a-c*]{0,4}\n",
        "\\*\\*/[a-c*]{0,6}(/\\*\\*)?\n",
        "#[ -~]{0,10}\n",
        "[ -~\\\\]{0,16}\n",
    ];
    proptest::collection::vec(line, 0..24).prop_map(|lines| lines.concat())
}

proptest! {
    #![proptest_config(ProptestConfig { cases: cases(), ..ProptestConfig::default() })]

    #[test]
    fn the_dockerfile_reader_never_panics(text in dockerfile_text(), base in proptest::option::of("[ -~]{0,12}")) {
        let args: BTreeMap<String, Option<String>> =
            [("BASE".to_string(), base), ("A".to_string(), Some("${B}".to_string()))].into();
        if let Ok(parsed) = dockerfile::parse(&text, &args) {
            // Bounded: nothing read grows beyond the instructions that were written.
            let lines = text.lines().count() + 1;
            prop_assert!(parsed.stages.len() <= lines);
            prop_assert!(parsed.external_images.len() <= 2 * lines);
        }
    }

    #[test]
    fn the_dockerfile_reader_never_panics_on_any_text(text in "\\PC{0,300}") {
        let _ = dockerfile::parse(&text, &BTreeMap::new());
    }

    #[test]
    fn the_ignore_matcher_never_panics(text in ignore_text(), paths in proptest::collection::vec("[a-c./]{0,16}", 0..8)) {
        if let Ok(ignore) = DockerIgnore::parse(&text) {
            prop_assert!(ignore.patterns().count() <= text.lines().count());
            for path in &paths {
                let path = path.trim_matches('/');
                let excluded = ignore.excluded(path, false);
                if excluded && ignore.can_prune(path) {
                    // A pruned directory's children are excluded too.
                    let child = format!("{path}/x");
                    prop_assert!(ignore.excluded(&child, true));
                }
            }
        }
    }

    #[test]
    fn the_ignore_matcher_never_panics_on_any_text(text in "\\PC{0,300}", path in "\\PC{0,40}") {
        if let Ok(ignore) = DockerIgnore::parse(&text) {
            let _ = ignore.excluded(&path, false);
        }
    }
}
