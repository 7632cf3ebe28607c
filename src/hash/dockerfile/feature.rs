//! The syntax a Dockerfile uses that not every builder accepts: the `# syntax=` directive,
//! heredocs, `RUN --mount`, `COPY --chmod` and `--link`. The reader only records where each
//! appears; which builder can serve which is the engine's concern (`docker::builder`). None of
//! these enters the key by itself: the Dockerfile's bytes already do.

use super::words::Flag;

/// One use of a syntax that needs a particular builder.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Feature {
    /// The 1-based line of the directive or instruction.
    pub line: usize,
    /// What is used.
    pub kind: FeatureKind,
}

/// The kinds of syntax that depend on the builder.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FeatureKind {
    /// `# syntax=<image>`: the Dockerfile frontend comes from that image.
    Syntax(String),
    /// A heredoc (`RUN <<EOF`, `COPY <<EOF /file`).
    Heredoc,
    /// `RUN --mount=type=<kind>`, lowercased (`bind` when no type is given).
    Mount(String),
    /// `COPY --chmod` / `ADD --chmod`.
    Chmod,
    /// `COPY --link` / `ADD --link`.
    Link,
}

impl FeatureKind {
    /// How the Dockerfile reference writes it, for error messages.
    pub fn written(&self) -> String {
        match self {
            FeatureKind::Syntax(image) => format!("# syntax={image}"),
            FeatureKind::Heredoc => "a heredoc (`<<EOF`)".to_owned(),
            FeatureKind::Mount(kind) => format!("RUN --mount=type={kind}"),
            FeatureKind::Chmod => "COPY --chmod".to_owned(),
            FeatureKind::Link => "COPY --link".to_owned(),
        }
    }
}

/// The features of one instruction (`RUN`, `COPY`, `ADD`, also as an `ONBUILD` trigger), given its
/// flags and whether it opens a heredoc.
pub(super) fn of_instruction(
    line: usize,
    name: &str,
    flags: &[Flag],
    heredoc: bool,
) -> Vec<Feature> {
    let mut found = Vec::new();
    let mut push = |kind| found.push(Feature { line, kind });
    if heredoc {
        push(FeatureKind::Heredoc);
    }
    for flag in flags {
        match (name, flag.name.as_str()) {
            ("RUN", "mount") => push(FeatureKind::Mount(mount_type(
                flag.value.as_deref().unwrap_or_default(),
            ))),
            ("COPY" | "ADD", "chmod") => push(FeatureKind::Chmod),
            ("COPY" | "ADD", "link") => push(FeatureKind::Link),
            _ => {}
        }
    }
    found
}

/// The `type=` of a `--mount` value; `bind` when it names none, as BuildKit defaults.
fn mount_type(value: &str) -> String {
    value
        .split(',')
        .filter_map(|field| field.split_once('='))
        .find(|(key, _)| key.trim().eq_ignore_ascii_case("type"))
        .map(|(_, kind)| kind.trim().trim_matches('"').to_ascii_lowercase())
        .unwrap_or_else(|| "bind".to_owned())
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use super::{mount_type, Feature, FeatureKind};
    use crate::hash::dockerfile::parse;

    #[test]
    fn the_reader_records_each_feature_with_its_line() {
        let text = "# syntax=docker/dockerfile:1.7\n\
                    FROM alpine AS build\n\
                    RUN --mount=type=cache,target=/root/.npm --mount=type=secret,id=npm npm ci\n\
                    COPY --chmod=755 --link run.sh /run.sh\n\
                    RUN <<EOF\n\
                    echo hi\n\
                    EOF\n\
                    ONBUILD RUN --mount=target=/src make\n\
                    COPY --chown=1:1 a /a\n";
        let parsed = parse(text, &BTreeMap::new()).unwrap();
        let at = |line, kind| Feature { line, kind };
        assert_eq!(
            parsed.features,
            [
                at(1, FeatureKind::Syntax("docker/dockerfile:1.7".into())),
                at(3, FeatureKind::Mount("cache".into())),
                at(3, FeatureKind::Mount("secret".into())),
                at(4, FeatureKind::Chmod),
                at(4, FeatureKind::Link),
                at(5, FeatureKind::Heredoc),
                at(8, FeatureKind::Mount("bind".into())),
            ]
        );
    }

    #[test]
    fn a_mount_without_a_type_is_a_bind_mount() {
        assert_eq!(mount_type("target=/x,source=y"), "bind");
        assert_eq!(mount_type("type=cache,target=/root/.npm"), "cache");
        assert_eq!(mount_type("TYPE=Secret,id=token"), "secret");
        assert_eq!(mount_type("target=/t,type=tmpfs"), "tmpfs");
    }
}
