//! Why a Dockerfile cannot be read: [`DockerfileError`], whose every message names the line and
//! says how to fix it, and the helpers that keep user text in those messages short and printable.

use super::keyword::{nearest, needs, INSTRUCTIONS};

/// Why a Dockerfile cannot be read; every message names the line and says how to fix it.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DockerfileError {
    /// The file has no `FROM` at all.
    #[error("line {line}: the Dockerfile has no `FROM`; start a build stage with `FROM <image>` or `FROM scratch`")]
    NoFrom {
        /// The last line of the file.
        line: usize,
    },
    /// An instruction other than `ARG` before the first `FROM`.
    #[error("line {line}: `{instruction}` comes before the first `FROM`; only `ARG` may come before it, so add `FROM <image>` above it")]
    BeforeFrom {
        /// The line of the instruction.
        line: usize,
        /// The instruction, uppercase.
        instruction: &'static str,
    },
    /// A word where an instruction belongs that is none.
    #[error("line {line}: unknown instruction `{}`; {}", shown(.word), suggestion(.near))]
    UnknownInstruction {
        /// The line of the word.
        line: usize,
        /// The word as written.
        word: String,
        /// The instructions that are spelled alike.
        near: Vec<&'static str>,
    },
    /// An instruction without the arguments it needs.
    #[error("line {line}: `{instruction}` needs {needs}")]
    MissingArguments {
        /// The line of the instruction.
        line: usize,
        /// The instruction, uppercase.
        instruction: &'static str,
        /// What it needs, e.g. "a source and a destination".
        needs: &'static str,
    },
    /// A heredoc whose terminating line never comes.
    #[error("line {line}: heredoc `<<{name}` is never closed; end it with a line that holds only `{name}`")]
    UnterminatedHeredoc {
        /// The line of the instruction that opens it.
        line: usize,
        /// The terminator word.
        name: String,
    },
    /// A `FROM` whose image is empty after substitution.
    #[error("line {line}: `{text}` is empty: {}; set it in the manifest's `args` or give the ARG a default", empty_cause(.arg, .arg_is_empty))]
    EmptyFrom {
        /// The line of the `FROM`.
        line: usize,
        /// The instruction as written, e.g. "FROM ${BASE}".
        text: String,
        /// The first build arg the image substitutes.
        arg: Option<String>,
        /// Whether that arg is set to an empty value rather than unset.
        arg_is_empty: bool,
    },
    /// A `FROM` that is not `FROM <image> [AS <name>]`.
    #[error("line {line}: `FROM {}` is not valid; write `FROM <image> [AS <name>]`", shown(.text))]
    FromSyntax {
        /// The line of the `FROM`.
        line: usize,
        /// Its arguments as written.
        text: String,
    },
    /// A stage name Docker rejects.
    #[error("line {line}: stage name `{}` is invalid; a stage name starts with a letter and holds only letters, digits, `-`, `_` and `.`", shown(.name))]
    InvalidStageName {
        /// The line of the `FROM`.
        line: usize,
        /// The name as written.
        name: String,
    },
    /// Two stages with one name.
    #[error("line {line}: stage name `{name}` is already used on line {first_line}; give each stage its own name")]
    DuplicateStageName {
        /// The line of the second `FROM`.
        line: usize,
        /// The name, lowercased.
        name: String,
        /// The line of the first `FROM` with that name.
        first_line: usize,
    },
    /// An `# escape=` directive with another character than `\` or a backtick.
    #[error("line {line}: `# escape={}` is not valid; the escape character is `\\` or a backtick", shown(.value))]
    InvalidEscape {
        /// The line of the directive.
        line: usize,
        /// The value as written.
        value: String,
    },
    /// A parser directive given twice.
    #[error("line {line}: parser directive `{name}` appears twice; keep only one")]
    DuplicateDirective {
        /// The line of the second one.
        line: usize,
        /// The directive, lowercased.
        name: String,
    },
    /// A `$` substitution that is not well formed, e.g. `${NAME` or `${}`.
    #[error("line {line}: bad variable substitution in `{}`; write `$NAME`, `${{NAME}}` or `${{NAME:-default}}`", shown(.text))]
    BadSubstitution {
        /// The line of the instruction.
        line: usize,
        /// The word that holds it.
        text: String,
    },
    /// A quote that is not closed within its word.
    #[error("line {line}: unterminated quote in `{}`; close it (a path with spaces needs the JSON form `[\"src\", \"dest\"]`)", shown(.text))]
    UnterminatedQuote {
        /// The line of the instruction.
        line: usize,
        /// The word that holds it.
        text: String,
    },
    /// `${NAME:?message}` or `${NAME?message}` with `NAME` not set.
    #[error("line {line}: build arg `{name}` is required: {}; set it in the manifest's `args`", shown(.message))]
    RequiredArg {
        /// The line of the instruction.
        line: usize,
        /// The arg.
        name: String,
        /// The message written after `?`.
        message: String,
    },
    /// A variable in `COPY --from=`, which Docker does not expand.
    #[error("line {line}: `--from={}` uses a variable, which Docker does not expand in `--from`; add a stage `FROM {} AS <name>` and copy from that stage", shown(.text), shown(.text))]
    FromVariable {
        /// The line of the instruction.
        line: usize,
        /// The value of `--from` as written.
        text: String,
    },
    /// `--from=<index>` beyond the last stage.
    #[error("line {line}: `--from={index}` names stage {index}, but the Dockerfile has {count} stages (numbered from 0)")]
    StageIndex {
        /// The line of the instruction.
        line: usize,
        /// The index written.
        index: usize,
        /// How many stages there are.
        count: usize,
    },
    /// A `COPY`/`ADD` source whose `..` climbs out of the build context, which no builder sends.
    #[error("line {line}: source `{}` points outside the build context, which the builder cannot read", shown(.path))]
    SourceOutsideContext {
        /// The line of the instruction.
        line: usize,
        /// The source as written.
        path: String,
    },
    /// `COPY` of a URL, which only `ADD` downloads.
    #[error("line {line}: `COPY` cannot download `{}`; use `ADD` for a URL", shown(.url))]
    CopyUrl {
        /// The line of the instruction.
        line: usize,
        /// The URL.
        url: String,
    },
    /// An `ENV` or `ARG` word that is not `name=value`.
    #[error("line {line}: `{instruction}` expects `name=value`, found `{}`", shown(.word))]
    InvalidKeyValue {
        /// The line of the instruction.
        line: usize,
        /// The instruction, uppercase.
        instruction: &'static str,
        /// The word as written.
        word: String,
    },
    /// `ONBUILD` of an instruction it cannot trigger.
    #[error("line {line}: `ONBUILD {instruction}` is not allowed; `ONBUILD` cannot trigger `FROM`, `ONBUILD` or `MAINTAINER`")]
    InvalidOnbuild {
        /// The line of the instruction.
        line: usize,
        /// The triggered instruction, uppercase.
        instruction: &'static str,
    },
    /// A target stage that the Dockerfile does not name.
    #[error("target stage `{target}` not found; {}", stage_list(.stages))]
    TargetNotFound {
        /// The target asked for.
        target: String,
        /// The names of the stages.
        stages: Vec<String>,
    },
}

impl DockerfileError {
    /// The 1-based line the error is about; 0 for [`DockerfileError::TargetNotFound`], which is
    /// about no line.
    pub fn line(&self) -> usize {
        match self {
            DockerfileError::NoFrom { line }
            | DockerfileError::BeforeFrom { line, .. }
            | DockerfileError::UnknownInstruction { line, .. }
            | DockerfileError::MissingArguments { line, .. }
            | DockerfileError::UnterminatedHeredoc { line, .. }
            | DockerfileError::EmptyFrom { line, .. }
            | DockerfileError::FromSyntax { line, .. }
            | DockerfileError::InvalidStageName { line, .. }
            | DockerfileError::DuplicateStageName { line, .. }
            | DockerfileError::InvalidEscape { line, .. }
            | DockerfileError::DuplicateDirective { line, .. }
            | DockerfileError::BadSubstitution { line, .. }
            | DockerfileError::UnterminatedQuote { line, .. }
            | DockerfileError::RequiredArg { line, .. }
            | DockerfileError::FromVariable { line, .. }
            | DockerfileError::StageIndex { line, .. }
            | DockerfileError::CopyUrl { line, .. }
            | DockerfileError::SourceOutsideContext { line, .. }
            | DockerfileError::InvalidKeyValue { line, .. }
            | DockerfileError::InvalidOnbuild { line, .. } => *line,
            DockerfileError::TargetNotFound { .. } => 0,
        }
    }
}

/// User text in a message: at most 60 characters, control characters escaped.
fn shown(text: &str) -> String {
    let mut out = String::new();
    for c in text.chars().take(60) {
        if c.is_control() {
            out.extend(c.escape_debug());
        } else {
            out.push(c);
        }
    }
    if text.chars().count() > 60 {
        out.push('…');
    }
    out
}

/// The error for a word where an instruction belongs that is none, with the nearest keywords.
pub(super) fn unknown(line: usize, word: &str) -> DockerfileError {
    DockerfileError::UnknownInstruction {
        line,
        word: word.to_owned(),
        near: nearest(word),
    }
}

/// The error for an instruction written without the arguments it needs.
pub(super) fn missing(line: usize, instruction: &'static str) -> DockerfileError {
    DockerfileError::MissingArguments {
        line,
        instruction,
        needs: needs(instruction),
    }
}

fn suggestion(near: &[&str]) -> String {
    match near {
        [] => format!("expected one of {}", INSTRUCTIONS.join(", ")),
        [one] => format!("did you mean `{one}`?"),
        [init @ .., last] => format!(
            "did you mean {} or `{last}`?",
            init.iter()
                .map(|name| format!("`{name}`"))
                .collect::<Vec<_>>()
                .join(", ")
        ),
    }
}

fn empty_cause(arg: &Option<String>, arg_is_empty: &bool) -> String {
    match arg {
        Some(arg) if *arg_is_empty => format!("build arg `{arg}` is set to an empty value"),
        Some(arg) => format!("build arg `{arg}` is not set"),
        None => "it names no image".to_owned(),
    }
}

fn stage_list(stages: &[String]) -> String {
    if stages.is_empty() {
        "no stage has a name; name one with `FROM <image> AS <name>`".to_owned()
    } else {
        format!("stages are: {}", stages.join(", "))
    }
}
