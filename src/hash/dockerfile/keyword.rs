//! The instruction keywords: recognising one whatever its case, saying what arguments each
//! needs, and suggesting the nearest keywords for a word that is none.

use super::error::DockerfileError;

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

fn needs(instruction: &str) -> &'static str {
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

pub(super) fn unknown(line: usize, word: &str) -> DockerfileError {
    let upper = word.to_ascii_uppercase();
    let near = INSTRUCTIONS
        .iter()
        .copied()
        .filter(|name| {
            let limit = if upper.chars().count() <= 3 { 1 } else { 2 };
            (upper.len() >= 3 && name.starts_with(upper.as_str()))
                || (upper.chars().count() <= name.len() + 2 && edit_distance(&upper, name) <= limit)
        })
        .collect();
    DockerfileError::UnknownInstruction {
        line,
        word: word.to_owned(),
        near,
    }
}

pub(super) fn missing(line: usize, instruction: &'static str) -> DockerfileError {
    DockerfileError::MissingArguments {
        line,
        instruction,
        needs: needs(instruction),
    }
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
