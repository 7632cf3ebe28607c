//! The instruction keywords: recognising one whatever its case, saying what arguments each
//! needs, and suggesting the nearest keywords for a word that is none. The errors built from
//! these answers are in `error.rs`, which depends on this file and not the other way round.

/// Every instruction Docker knows, in the order error messages list them.
pub(super) const INSTRUCTIONS: [&str; 18] = [
    "ADD",
    "ARG",
    "CMD",
    "COPY",
    "ENTRYPOINT",
    "ENV",
    "EXPOSE",
    "FROM",
    "HEALTHCHECK",
    "LABEL",
    "MAINTAINER",
    "ONBUILD",
    "RUN",
    "SHELL",
    "STOPSIGNAL",
    "USER",
    "VOLUME",
    "WORKDIR",
];

pub(super) fn instruction_name(word: &str) -> Option<&'static str> {
    INSTRUCTIONS
        .iter()
        .copied()
        .find(|name| name.eq_ignore_ascii_case(word))
}

pub(super) fn needs(instruction: &str) -> &'static str {
    match instruction {
        "FROM" => "an image, e.g. `FROM alpine:3.20` or `FROM scratch`",
        "COPY" | "ADD" => "a source and a destination",
        "ARG" => "a name, e.g. `ARG VERSION=1.0`",
        "ENV" => "a name and a value, e.g. `ENV KEY=value`",
        "LABEL" => "a `key=value` pair",
        "ONBUILD" => "an instruction to trigger",
        "HEALTHCHECK" => "`CMD <command>` or `NONE`",
        "EXPOSE" => "a port, e.g. `EXPOSE 8080`",
        "USER" => "a user name or id",
        "SHELL" => "a JSON array, e.g. `SHELL [\"/bin/sh\", \"-c\"]`",
        "STOPSIGNAL" => "a signal, e.g. `STOPSIGNAL SIGTERM`",
        "RUN" => "a command",
        _ => "an argument",
    }
}

/// The instructions spelled like `word` (uppercased), for a "did you mean" after an unknown one.
pub(super) fn nearest(word: &str) -> Vec<&'static str> {
    let upper = word.to_ascii_uppercase();
    INSTRUCTIONS
        .iter()
        .copied()
        .filter(|name| {
            let limit = if upper.chars().count() <= 3 { 1 } else { 2 };
            (upper.len() >= 3 && name.starts_with(upper.as_str()))
                || (upper.chars().count() <= name.len() + 2 && edit_distance(&upper, name) <= limit)
        })
        .collect()
}

fn edit_distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut previous: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut current = vec![i + 1];
        for (j, cb) in b.iter().enumerate() {
            let substitution = previous[j] + usize::from(ca != *cb);
            current.push(substitution.min(previous[j + 1] + 1).min(current[j] + 1));
        }
        previous = current;
    }
    previous[b.len()]
}
