//! Reads a Dockerfile the way BuildKit's parser does and extracts what an image's key needs: the
//! build stages, every image the build pulls from outside (`FROM`, `COPY --from=<image>`,
//! `RUN --mount=from=<image>`), the paths of the build context it reads (`COPY`, `ADD`, bind
//! mounts) and notes about inputs the key cannot see (downloads at build time). This file owns the
//! Dockerfile syntax — parser directives, comments, line continuations, heredocs, flags, JSON and
//! shell forms, `ARG`/`ENV` substitution with the caller's build args — and the glob rules of
//! `COPY` sources (Go's `filepath.Match`). It reads no file and resolves no image.
//!
//! Where Docker's behaviour is uncertain the reader chooses the answer that sends and hashes
//! more, never less: an unsent file that the build needs fails the build loudly, but a context
//! read that the key does not see would let a stale image pass as current.

use std::collections::{BTreeMap, BTreeSet};

/// What a Dockerfile tells the hasher, after build-arg substitution.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Dockerfile {
    /// Every build stage, in file order; the last one is the default target.
    pub stages: Vec<Stage>,
    /// Every use of an image from outside the Dockerfile, in file order; an image used on two
    /// lines appears twice.
    pub external_images: Vec<ExternalImage>,
    /// The part of the build context that the build can read.
    pub context_reads: ContextReads,
    /// Findings that do not stop the build but matter to the key, each starting with `line N:`
    /// (or naming a build arg): downloads at build time, build args that expand to nothing or
    /// that no `ARG` declares.
    pub notes: Vec<String>,
}

/// One build stage: a `FROM` and the instructions up to the next one.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Stage {
    /// The name given with `AS`, lowercased as Docker does; `None` for an unnamed stage.
    pub name: Option<String>,
    /// The base as resolved: an image reference, `scratch`, or the name of an earlier stage.
    pub base: String,
    /// The 1-based line of the `FROM`.
    pub line: usize,
    /// The user of the last `USER` in this stage, substituted; `None` when the stage has no
    /// `USER` (the user then comes from the base, which this reader does not follow).
    pub user: Option<String>,
    /// The ports of the stage's `EXPOSE` instructions as written (`8080`, `53/udp`), substituted.
    pub exposed_ports: Vec<String>,
    /// The variables set by this stage's `ENV` instructions, in order of first assignment; a later
    /// assignment replaces the value in place. Variables inherited from a base stage are not listed.
    pub env: Vec<(String, String)>,
    /// Whether the stage's last `HEALTHCHECK` defines a check (`HEALTHCHECK NONE` clears it);
    /// `false` when the stage has none.
    pub has_healthcheck: bool,
}

/// How the build uses an external image.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum ImageUse {
    /// The base of a stage: `FROM <image>`.
    From,
    /// A source of files: `COPY --from=<image>` (or `ADD --from=`).
    CopyFrom,
    /// A mount during a `RUN`: `RUN --mount=type=bind|cache,from=<image>`.
    MountFrom,
}

/// An image from outside the Dockerfile whose digest belongs in the key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExternalImage {
    /// The reference after build-arg substitution, as written otherwise (no `docker.io/` added).
    pub reference: String,
    /// The 1-based line of the instruction that uses it.
    pub line: usize,
    /// How the image is used.
    pub via: ImageUse,
    /// The first build arg that the written reference substitutes, e.g. `ALPHA_IMAGE` for
    /// `FROM ${ALPHA_IMAGE}`; `None` when the reference is literal.
    pub arg: Option<String>,
}

/// Which part of the build context the build can read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ContextReads {
    /// Only these sources, deduplicated, in order of first use; every `COPY`/`ADD` source and
    /// bind-mount source is known. An empty list means the build reads no context file.
    Paths(Vec<ContextSource>),
    /// Possibly any file: `COPY . .`, a bind mount without a source, a source with a variable that
    /// is not set, a source outside the context or an invalid pattern. The first such instruction
    /// is named.
    Whole {
        /// Why the whole context counts, e.g. "`COPY .` reads the whole build context".
        reason: String,
        /// The 1-based line of that instruction.
        line: usize,
    },
}

/// One context source of a `COPY`, `ADD` or bind mount.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ContextSource {
    /// The source cleaned like a path: relative to the context root, `/`-separated, without `.`,
    /// `..`, empty components or leading and trailing `/`. It may hold the glob characters
    /// `* ? [ ]` of Go's `filepath.Match` and `\` escaping the next character.
    pub pattern: String,
    /// The 1-based line of the instruction.
    pub line: usize,
}

impl ContextSource {
    /// Does a context-relative, `/`-separated path fall under this source: the source itself, a
    /// file inside the directory it names, or a match of its glob (a match copies a whole
    /// directory, so a path under a matching directory is covered too). `*` and `?` do not match
    /// `/`, as in Go's `filepath.Match`; `**` is taken to match across `/`, a superset of Docker
    /// (which reads it as `*`) so that no file that `COPY --parents` may read is left unsent.
    pub fn covers(&self, rel_path: &str) -> bool {
        let cleaned;
        let rel = if is_clean(rel_path) {
            rel_path
        } else {
            match clean_path(rel_path) {
                Some(path) => {
                    cleaned = path;
                    cleaned.as_str()
                }
                None => return false,
            }
        };
        if rel.is_empty() {
            return false;
        }
        if !has_glob(&self.pattern) {
            return is_under(rel, &self.pattern);
        }
        let prefix = self.literal_prefix();
        if !prefix.is_empty() && !is_under(rel, prefix) {
            return false;
        }
        let Some(tokens) = tokenize(&self.pattern, false) else {
            return false;
        };
        let chars: Vec<char> = rel.chars().collect();
        (1..=chars.len())
            .filter(|&end| end == chars.len() || chars[end] == '/')
            .any(|end| glob_match(&tokens, &chars[..end], false))
    }

    /// Could a path strictly below directory `dir` be covered, so that a walker must descend
    /// into it? True when `dir` itself is covered or when `dir/` is the start of a possible
    /// match (`src/*.js` below `src`, `**/*.go` below any directory); `""` is the root.
    pub fn may_cover_below(&self, dir: &str) -> bool {
        let Some(dir) = clean_path(dir) else {
            return false;
        };
        if dir.is_empty() || self.covers(&dir) {
            return true;
        }
        let Some(tokens) = tokenize(&self.pattern, false) else {
            return false;
        };
        // The tokens that may come next, after the stars that can match nothing are skipped.
        let close = |mut states: BTreeSet<usize>| {
            let mut pending: Vec<usize> = states.iter().copied().collect();
            while let Some(state) = pending.pop() {
                if matches!(tokens.get(state), Some(Token::Star | Token::AnyDepth))
                    && states.insert(state + 1)
                {
                    pending.push(state + 1);
                }
            }
            states
        };
        let mut states = close(BTreeSet::from([0]));
        for c in dir.chars().chain(['/']) {
            let mut next = BTreeSet::new();
            for &state in &states {
                match tokens.get(state) {
                    Some(Token::Star) if c != '/' => next.insert(state),
                    Some(Token::AnyDepth) => next.insert(state),
                    Some(token) if token_accepts(token, c) => next.insert(state + 1),
                    _ => false,
                };
            }
            states = close(next);
            if states.is_empty() {
                return false;
            }
        }
        states.iter().any(|&state| state < tokens.len())
    }

    /// The literal leading directories before the first component with a glob character, so that
    /// a walker can start there; `""` means the context root. A pattern without glob characters
    /// is returned whole (it names a file or a directory).
    pub fn literal_prefix(&self) -> &str {
        let pattern = self.pattern.as_str();
        match pattern.find(['*', '?', '[', '\\']) {
            None => pattern,
            Some(first) => match pattern[..first].rfind('/') {
                Some(slash) => &pattern[..slash],
                None => "",
            },
        }
    }
}

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
            | DockerfileError::InvalidKeyValue { line, .. }
            | DockerfileError::InvalidOnbuild { line, .. } => *line,
            DockerfileError::TargetNotFound { .. } => 0,
        }
    }
}

/// Reads a Dockerfile with the caller's build args (name → value; a missing name or `None` leaves
/// the `ARG` default in force, `Some("")` sets the arg to empty). The automatic platform args
/// (`TARGETPLATFORM`, `TARGETARCH`, `BUILDPLATFORM`, …) have values only when the caller passes
/// them. Every stage's reads count, as in Docker's classic builder.
pub fn parse(
    text: &str,
    build_args: &BTreeMap<String, Option<String>>,
) -> Result<Dockerfile, DockerfileError> {
    let lexed = lex(text)?;
    let mut reader = Reader::new(lexed.escape, build_args, &lexed.instructions);
    for instruction in &lexed.instructions {
        reader.instruction(instruction)?;
    }
    reader.finish(lexed.last_line)
}

/// Like [`parse`], and fails when `target` names no stage (compared without case). The result
/// still counts the reads and images of every stage, not only those the target needs: BuildKit
/// would skip the others, the classic builder runs them, and counting them can only make the key
/// change more often, never less.
pub fn parse_for_target(
    text: &str,
    build_args: &BTreeMap<String, Option<String>>,
    target: Option<&str>,
) -> Result<Dockerfile, DockerfileError> {
    let dockerfile = parse(text, build_args)?;
    if let Some(target) = target {
        let names = || {
            dockerfile
                .stages
                .iter()
                .filter_map(|stage| stage.name.clone())
        };
        if !names().any(|name| name.eq_ignore_ascii_case(target)) {
            return Err(DockerfileError::TargetNotFound {
                target: target.to_owned(),
                stages: names().collect(),
            });
        }
    }
    Ok(dockerfile)
}

const INSTRUCTIONS: [&str; 18] = [
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

/// Args that Docker accepts without an `ARG`, so passing them is no mistake.
const PREDEFINED_ARGS: [&str; 20] = [
    "HTTP_PROXY",
    "http_proxy",
    "HTTPS_PROXY",
    "https_proxy",
    "FTP_PROXY",
    "ftp_proxy",
    "NO_PROXY",
    "no_proxy",
    "ALL_PROXY",
    "all_proxy",
    "TARGETPLATFORM",
    "TARGETOS",
    "TARGETARCH",
    "TARGETVARIANT",
    "BUILDPLATFORM",
    "BUILDOS",
    "BUILDARCH",
    "BUILDVARIANT",
    "SOURCE_DATE_EPOCH",
    "BUILDKIT_INLINE_CACHE",
];

/// The platform args that BuildKit defines in the global scope without an `ARG`.
const PLATFORM_ARGS: [&str; 8] = [
    "TARGETPLATFORM",
    "TARGETOS",
    "TARGETARCH",
    "TARGETVARIANT",
    "BUILDPLATFORM",
    "BUILDOS",
    "BUILDARCH",
    "BUILDVARIANT",
];

fn instruction_name(word: &str) -> Option<&'static str> {
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

// ---------------------------------------------------------------------------------------------
// Lines to instructions: directives, comments, continuations, heredocs.
// https://docs.docker.com/reference/dockerfile/#parser-directives and BuildKit's parser.go.

/// One instruction with its continuation lines joined and its heredoc bodies skipped.
struct Instruction {
    line: usize,
    keyword: String,
    rest: String,
    heredoc: bool,
}

struct Lexed {
    escape: char,
    instructions: Vec<Instruction>,
    last_line: usize,
}

fn lex(text: &str) -> Result<Lexed, DockerfileError> {
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    let lines: Vec<&str> = text
        .split('\n')
        .map(|line| line.strip_suffix('\r').unwrap_or(line))
        .collect();
    let escape = directives(&lines)?;
    let mut instructions = Vec::new();
    let mut next = 0;
    while next < lines.len() {
        let start = next + 1;
        let first = lines[next].trim_start();
        next += 1;
        if first.is_empty() || first.starts_with('#') {
            continue;
        }
        let (piece, mut more) = continuation(first, escape);
        let mut logical = piece.to_owned();
        // Comment and blank lines inside a continuation are dropped, as BuildKit does.
        while more && next < lines.len() {
            let line = lines[next];
            next += 1;
            let trimmed = line.trim_start();
            if trimmed.is_empty() || trimmed.starts_with('#') {
                continue;
            }
            let (piece, again) = continuation(line, escape);
            logical.push_str(piece);
            more = again;
        }
        let (keyword, rest) = split_keyword(logical.trim());
        if keyword.is_empty() {
            continue;
        }
        let heredocs = heredocs_of(keyword, rest);
        for heredoc in &heredocs {
            loop {
                let Some(line) = lines.get(next) else {
                    return Err(DockerfileError::UnterminatedHeredoc {
                        line: start,
                        name: heredoc.name.clone(),
                    });
                };
                next += 1;
                let candidate = if heredoc.chomp {
                    line.trim_start_matches('\t')
                } else {
                    line
                };
                if candidate == heredoc.name {
                    break;
                }
            }
        }
        instructions.push(Instruction {
            line: start,
            keyword: keyword.to_owned(),
            rest: rest.to_owned(),
            heredoc: !heredocs.is_empty(),
        });
    }
    Ok(Lexed {
        escape,
        instructions,
        last_line: text.lines().count().max(1),
    })
}

/// Reads the parser directives at the top of the file and returns the escape character.
fn directives(lines: &[&str]) -> Result<char, DockerfileError> {
    let mut escape = '\\';
    let mut seen = BTreeSet::new();
    for (index, line) in lines.iter().enumerate() {
        let Some((name, value)) = directive(line) else {
            break;
        };
        let name = name.to_ascii_lowercase();
        if !matches!(name.as_str(), "escape" | "syntax" | "check") {
            break;
        }
        if !seen.insert(name.clone()) {
            return Err(DockerfileError::DuplicateDirective {
                line: index + 1,
                name,
            });
        }
        if name == "escape" {
            escape = match value {
                "\\" => '\\',
                "`" => '`',
                _ => {
                    return Err(DockerfileError::InvalidEscape {
                        line: index + 1,
                        value: value.to_owned(),
                    })
                }
            };
        }
    }
    Ok(escape)
}

/// `# name = value`, the shape of a parser directive.
fn directive(line: &str) -> Option<(&str, &str)> {
    let body = line.trim_start().strip_prefix('#')?.trim_start();
    let name_end = body
        .find(|c: char| !c.is_ascii_alphanumeric())
        .unwrap_or(body.len());
    let name = &body[..name_end];
    if !name.starts_with(|c: char| c.is_ascii_alphabetic()) {
        return None;
    }
    let value = body[name_end..].trim_start().strip_prefix('=')?.trim();
    (!value.is_empty()).then_some((name, value))
}

/// Strips a line-continuation escape (trailing blanks allowed after it; an escaped escape is no
/// continuation) and says whether the instruction goes on.
fn continuation(line: &str, escape: char) -> (&str, bool) {
    let trimmed = line.trim_end_matches([' ', '\t']);
    match trimmed.strip_suffix(escape) {
        Some(before) if !before.ends_with(escape) => (before, true),
        _ => (line, false),
    }
}

fn split_keyword(text: &str) -> (&str, &str) {
    match text.find(char::is_whitespace) {
        Some(end) => (&text[..end], text[end..].trim_start()),
        None => (text, ""),
    }
}

struct Heredoc {
    name: String,
    chomp: bool,
}

/// The heredocs an instruction opens: `RUN`, `COPY` and `ADD` (also under `ONBUILD`) in shell form.
fn heredocs_of(keyword: &str, rest: &str) -> Vec<Heredoc> {
    let (keyword, rest) = if keyword.eq_ignore_ascii_case("ONBUILD") {
        split_keyword(rest)
    } else {
        (keyword, rest)
    };
    if !["RUN", "COPY", "ADD"]
        .iter()
        .any(|name| name.eq_ignore_ascii_case(keyword))
    {
        return Vec::new();
    }
    if parse_json_strings(split_flags(rest).1).is_some() {
        return Vec::new();
    }
    raw_words(rest)
        .iter()
        .filter_map(|word| heredoc(word))
        .collect()
}

/// `<<EOF`, `<<-EOF`, `<<"EOF"`, `2<<EOF`: a word that opens a heredoc.
fn heredoc(word: &str) -> Option<Heredoc> {
    let word = word.trim_start_matches(|c: char| c.is_ascii_digit());
    let word = word.strip_prefix("<<")?;
    let (chomp, word) = match word.strip_prefix('-') {
        Some(rest) => (true, rest),
        None => (false, word),
    };
    if word.is_empty() || word.contains('<') {
        return None;
    }
    let name = unquote(word)?;
    (!name.is_empty()).then_some(Heredoc { name, chomp })
}

/// Removes shell quotes and backslash escapes from one word; `None` when it is not one word.
fn unquote(word: &str) -> Option<String> {
    let mut out = String::new();
    let mut quote = None;
    let mut chars = word.chars();
    while let Some(c) = chars.next() {
        match (quote, c) {
            (None, '\'' | '"') => quote = Some(c),
            (Some(q), _) if c == q => quote = None,
            (Some('\''), _) => out.push(c),
            (_, '\\') => out.extend(chars.next()),
            (None, c) if c.is_whitespace() => return None,
            _ => out.push(c),
        }
    }
    quote.is_none().then_some(out)
}

/// Splits on blanks outside quotes, keeping quotes and escapes (BuildKit's `parseWords`).
fn words(text: &str, escape: char) -> Vec<String> {
    let mut words = Vec::new();
    let mut word = String::new();
    let mut quote = None;
    let mut started = false;
    let mut chars = text.chars();
    while let Some(c) = chars.next() {
        if quote.is_none() && c.is_whitespace() {
            if started {
                words.push(std::mem::take(&mut word));
                started = false;
            }
            continue;
        }
        started = true;
        word.push(c);
        match quote {
            Some(q) if c == q => quote = None,
            None if c == '\'' || c == '"' => quote = Some(c),
            Some('\'') => {}
            _ if c == escape => word.extend(chars.next()),
            _ => {}
        }
    }
    if started {
        words.push(word);
    }
    words
}

fn raw_words(text: &str) -> Vec<String> {
    words(text, '\\')
}

struct Flag {
    name: String,
    value: Option<String>,
}

/// Splits the leading `--name[=value]` flags (quotes removed) from the arguments.
fn split_flags(text: &str) -> (Vec<Flag>, &str) {
    let mut flags = Vec::new();
    let mut rest = text.trim_start();
    while rest.starts_with("--") {
        let mut word = String::new();
        let mut quote = None;
        let mut end = rest.len();
        let mut chars = rest.char_indices();
        while let Some((at, c)) = chars.next() {
            match (quote, c) {
                (None, c) if c.is_whitespace() => {
                    end = at;
                    break;
                }
                (None, '\'' | '"') => quote = Some(c),
                (Some(q), c) if c == q => quote = None,
                (_, '\\') => word.extend(chars.next().map(|(_, c)| c)),
                _ => word.push(c),
            }
        }
        rest = rest[end..].trim_start();
        if word == "--" {
            break;
        }
        let word = &word[2..];
        let (name, value) = match word.split_once('=') {
            Some((name, value)) => (name, Some(value.to_owned())),
            None => (word, None),
        };
        flags.push(Flag {
            name: name.to_ascii_lowercase(),
            value,
        });
    }
    (flags, rest.trim_end())
}

fn flag<'f>(flags: &'f [Flag], name: &str) -> Option<&'f Flag> {
    flags.iter().rev().find(|flag| flag.name == name)
}

/// A JSON array of strings, the exec form; `None` for anything else (then it is shell form).
fn parse_json_strings(text: &str) -> Option<Vec<String>> {
    let mut chars = text.trim().chars().peekable();
    let skip_blanks = |chars: &mut std::iter::Peekable<std::str::Chars<'_>>| {
        while chars.next_if(|c| c.is_whitespace()).is_some() {}
    };
    if chars.next()? != '[' {
        return None;
    }
    let mut items = Vec::new();
    skip_blanks(&mut chars);
    if chars.next_if_eq(&']').is_none() {
        loop {
            skip_blanks(&mut chars);
            if chars.next()? != '"' {
                return None;
            }
            items.push(json_string(&mut chars)?);
            skip_blanks(&mut chars);
            match chars.next()? {
                ',' => continue,
                ']' => break,
                _ => return None,
            }
        }
    }
    chars.next().is_none().then_some(items)
}

fn json_string(chars: &mut std::iter::Peekable<std::str::Chars<'_>>) -> Option<String> {
    let mut out = String::new();
    loop {
        match chars.next()? {
            '"' => return Some(out),
            '\\' => match chars.next()? {
                '"' => out.push('"'),
                '\\' => out.push('\\'),
                '/' => out.push('/'),
                'b' => out.push('\u{8}'),
                'f' => out.push('\u{c}'),
                'n' => out.push('\n'),
                'r' => out.push('\r'),
                't' => out.push('\t'),
                'u' => {
                    let high = json_hex(chars)?;
                    let code = if (0xD800..0xDC00).contains(&high) {
                        if chars.next()? != '\\' || chars.next()? != 'u' {
                            return None;
                        }
                        let low = json_hex(chars)?;
                        0x10000 + ((high - 0xD800) << 10) + low.checked_sub(0xDC00)?
                    } else {
                        high
                    };
                    out.push(char::from_u32(code)?);
                }
                _ => return None,
            },
            c if (c as u32) < 0x20 => return None,
            c => out.push(c),
        }
    }
}

fn json_hex(chars: &mut std::iter::Peekable<std::str::Chars<'_>>) -> Option<u32> {
    (0..4).try_fold(0, |acc, _| Some(acc * 16 + chars.next()?.to_digit(16)?))
}

// ---------------------------------------------------------------------------------------------
// Instructions to stages, images and context reads.

struct StageState {
    stage: Stage,
    env: BTreeMap<String, String>,
    args: BTreeMap<String, Option<String>>,
}

struct Reader<'a> {
    escape: char,
    build_args: &'a BTreeMap<String, Option<String>>,
    /// Every stage name in the file, for `--from` that names a later stage.
    all_names: BTreeSet<String>,
    stage_count: usize,
    /// Names of the stages read so far → index.
    names: BTreeMap<String, usize>,
    global: BTreeMap<String, Option<String>>,
    declared: BTreeSet<String>,
    stages: Vec<StageState>,
    reads: Vec<ContextSource>,
    read_patterns: BTreeSet<String>,
    whole: Option<(String, usize)>,
    images: Vec<ExternalImage>,
    notes: Vec<String>,
}

impl<'a> Reader<'a> {
    fn new(
        escape: char,
        build_args: &'a BTreeMap<String, Option<String>>,
        instructions: &[Instruction],
    ) -> Self {
        let froms = instructions
            .iter()
            .filter(|instruction| instruction.keyword.eq_ignore_ascii_case("FROM"));
        let mut all_names = BTreeSet::new();
        let mut stage_count = 0;
        for from in froms {
            stage_count += 1;
            let args: Vec<&str> = split_flags(&from.rest).1.split_whitespace().collect();
            if let [_, as_, name] = args.as_slice() {
                if as_.eq_ignore_ascii_case("as") {
                    all_names.insert(name.to_ascii_lowercase());
                }
            }
        }
        let global = PLATFORM_ARGS
            .iter()
            .filter_map(|name| {
                let value = build_args.get(*name)?.clone()?;
                Some((name.to_string(), Some(value)))
            })
            .collect();
        Reader {
            escape,
            build_args,
            all_names,
            stage_count,
            names: BTreeMap::new(),
            global,
            declared: BTreeSet::new(),
            stages: Vec::new(),
            reads: Vec::new(),
            read_patterns: BTreeSet::new(),
            whole: None,
            images: Vec::new(),
            notes: Vec::new(),
        }
    }

    fn finish(self, last_line: usize) -> Result<Dockerfile, DockerfileError> {
        if self.stages.is_empty() {
            return Err(DockerfileError::NoFrom { line: last_line });
        }
        let mut notes = self.notes;
        for (name, value) in self.build_args {
            if value.is_some()
                && !self.declared.contains(name)
                && !PREDEFINED_ARGS.contains(&name.as_str())
            {
                notes.push(format!(
                    "build arg `{name}` is not declared by any `ARG`, so the build does not use it"
                ));
            }
        }
        let context_reads = match self.whole {
            Some((reason, line)) => ContextReads::Whole { reason, line },
            None => ContextReads::Paths(self.reads),
        };
        Ok(Dockerfile {
            stages: self.stages.into_iter().map(|state| state.stage).collect(),
            external_images: self.images,
            context_reads,
            notes,
        })
    }

    fn instruction(&mut self, instruction: &Instruction) -> Result<(), DockerfileError> {
        let line = instruction.line;
        let Some(name) = instruction_name(&instruction.keyword) else {
            return Err(unknown(line, &instruction.keyword));
        };
        let (flags, args) = split_flags(&instruction.rest);
        if args.is_empty() && !matches!(name, "CMD" | "ENTRYPOINT") {
            return Err(missing(line, name));
        }
        if self.stages.is_empty() && !matches!(name, "FROM" | "ARG") {
            return Err(DockerfileError::BeforeFrom {
                line,
                instruction: name,
            });
        }
        match name {
            "FROM" => self.from(line, args),
            "ARG" => self.arg(line, args),
            "ENV" => self.env(line, args),
            "COPY" | "ADD" => self.copy(line, name, &flags, args, instruction.heredoc),
            "RUN" => self.run(line, &flags),
            "USER" => {
                let user = self.expand(args, line)?.text;
                self.stage().user = Some(user);
                Ok(())
            }
            "EXPOSE" => {
                for word in args.split_whitespace() {
                    let port = self.expand(word, line)?.text;
                    if !port.is_empty() {
                        self.stage().exposed_ports.push(port);
                    }
                }
                Ok(())
            }
            "HEALTHCHECK" => {
                let kind = args.split_whitespace().next().unwrap_or_default();
                self.stage().has_healthcheck = !kind.eq_ignore_ascii_case("NONE");
                Ok(())
            }
            "ONBUILD" => self.onbuild(line, args, instruction.heredoc),
            _ => Ok(()),
        }
    }

    fn stage(&mut self) -> &mut Stage {
        &mut self
            .stages
            .last_mut()
            .expect("instructions before FROM are rejected")
            .stage
    }

    /// The value of a variable in the current scope: the global args before the first `FROM`,
    /// then the stage's `ENV` (which wins) and its declared `ARG`s.
    fn lookup(&self, name: &str) -> Option<String> {
        match self.stages.last() {
            None => self.global.get(name).cloned().flatten(),
            Some(state) => state
                .env
                .get(name)
                .cloned()
                .or_else(|| state.args.get(name).cloned().flatten()),
        }
    }

    fn expand(&self, word: &str, line: usize) -> Result<Expanded, DockerfileError> {
        expand(word, self.escape, &|name| self.lookup(name)).map_err(|error| error.at(line, word))
    }

    fn from(&mut self, line: usize, args: &str) -> Result<(), DockerfileError> {
        let words: Vec<&str> = args.split_whitespace().collect();
        let (image, name) = match words.as_slice() {
            [image] => (*image, None),
            [image, as_, name] if as_.eq_ignore_ascii_case("as") => (*image, Some(*name)),
            _ => {
                return Err(DockerfileError::FromSyntax {
                    line,
                    text: args.to_owned(),
                })
            }
        };
        // A FROM sees only the global args, whatever the stage before it declared.
        let global = &self.global;
        let expanded = expand(image, self.escape, &|name| {
            global.get(name).cloned().flatten()
        })
        .map_err(|error| error.at(line, image))?;
        if expanded.text.is_empty() {
            let arg = expanded.used.first().cloned();
            let arg_is_empty = arg.as_ref().is_some_and(
                |arg| matches!(global.get(arg), Some(Some(value)) if value.is_empty()),
            );
            return Err(DockerfileError::EmptyFrom {
                line,
                text: format!("FROM {image}"),
                arg,
                arg_is_empty,
            });
        }
        for arg in &expanded.unset {
            self.notes.push(format!(
                "line {line}: `FROM {image}` uses build arg `{arg}`, which is not set, so it expands to nothing"
            ));
        }
        let name = match name {
            None => None,
            Some(name) => Some(self.stage_name(line, name)?),
        };
        let base = expanded.text;
        let base_stage = self.names.get(&base.to_ascii_lowercase()).copied();
        let env = base_stage
            .map(|index| self.stages[index].env.clone())
            .unwrap_or_default();
        if base_stage.is_none() && !base.eq_ignore_ascii_case("scratch") {
            self.images.push(ExternalImage {
                reference: base.clone(),
                line,
                via: ImageUse::From,
                arg: expanded.used.first().cloned(),
            });
        }
        if let Some(name) = &name {
            self.names.insert(name.clone(), self.stages.len());
        }
        self.stages.push(StageState {
            stage: Stage {
                name,
                base,
                line,
                user: None,
                exposed_ports: Vec::new(),
                env: Vec::new(),
                has_healthcheck: false,
            },
            env,
            args: BTreeMap::new(),
        });
        Ok(())
    }

    fn stage_name(&self, line: usize, name: &str) -> Result<String, DockerfileError> {
        let lower = name.to_ascii_lowercase();
        let valid = lower.starts_with(|c: char| c.is_ascii_lowercase())
            && lower
                .chars()
                .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || "-_.".contains(c));
        if !valid {
            return Err(DockerfileError::InvalidStageName {
                line,
                name: name.to_owned(),
            });
        }
        if let Some(&index) = self.names.get(&lower) {
            return Err(DockerfileError::DuplicateStageName {
                line,
                name: lower,
                first_line: self.stages[index].stage.line,
            });
        }
        Ok(lower)
    }

    fn arg(&mut self, line: usize, args: &str) -> Result<(), DockerfileError> {
        for word in words(args, self.escape) {
            let (name, default) = match word.split_once('=') {
                Some((name, default)) => (name, Some(default)),
                None => (word.as_str(), None),
            };
            if name.is_empty() {
                return Err(DockerfileError::InvalidKeyValue {
                    line,
                    instruction: "ARG",
                    word,
                });
            }
            // The caller's value wins over the default; a stage's `ARG NAME` without a default
            // takes the global value.
            let value = match (self.build_args.get(name).cloned().flatten(), default) {
                (Some(value), _) => Some(value),
                (None, Some(default)) => Some(self.expand(default, line)?.text),
                (None, None) if !self.stages.is_empty() => self.global.get(name).cloned().flatten(),
                (None, None) => None,
            };
            self.declared.insert(name.to_owned());
            match self.stages.last_mut() {
                None => self.global.insert(name.to_owned(), value),
                Some(state) => state.args.insert(name.to_owned(), value),
            };
        }
        Ok(())
    }

    fn env(&mut self, line: usize, args: &str) -> Result<(), DockerfileError> {
        let words = words(args, self.escape);
        let mut pairs = Vec::new();
        if words.first().is_some_and(|word| !word.contains('=')) {
            // The legacy form `ENV NAME value with spaces`.
            let (name, value) = split_keyword(args);
            if value.is_empty() {
                return Err(missing(line, "ENV"));
            }
            pairs.push((name.to_owned(), self.expand(value, line)?.text));
        } else {
            // Every value sees the variables as they were before this instruction.
            for word in &words {
                match word.split_once('=') {
                    Some((name, value)) if !name.is_empty() => pairs.push((
                        self.expand(name, line)?.text,
                        self.expand(value, line)?.text,
                    )),
                    _ => {
                        return Err(DockerfileError::InvalidKeyValue {
                            line,
                            instruction: "ENV",
                            word: word.clone(),
                        })
                    }
                }
            }
        }
        let state = self
            .stages
            .last_mut()
            .expect("instructions before FROM are rejected");
        for (name, value) in pairs {
            state.env.insert(name.clone(), value.clone());
            match state.stage.env.iter_mut().find(|(key, _)| *key == name) {
                Some(entry) => entry.1 = value,
                None => state.stage.env.push((name, value)),
            }
        }
        Ok(())
    }

    fn copy(
        &mut self,
        line: usize,
        name: &'static str,
        flags: &[Flag],
        args: &str,
        has_heredocs: bool,
    ) -> Result<(), DockerfileError> {
        let (words, json) = match parse_json_strings(args) {
            Some(words) => (words, true),
            None => (args.split_whitespace().map(str::to_owned).collect(), false),
        };
        let Some((_, sources)) = words
            .split_last()
            .filter(|(_, sources)| !sources.is_empty())
        else {
            return Err(missing(line, name));
        };
        if let Some(from) = flag(flags, "from") {
            let from = from.value.clone().unwrap_or_default();
            if from.is_empty() {
                return Err(DockerfileError::MissingArguments {
                    line,
                    instruction: name,
                    needs: "a stage or an image after `--from=`",
                });
            }
            if from.contains('$') {
                return Err(DockerfileError::FromVariable { line, text: from });
            }
            return self.stage_or_image(line, &from, None, ImageUse::CopyFrom);
        }
        let pinned = flag(flags, "checksum").is_some();
        for source in sources {
            if has_heredocs && !json && heredoc(source).is_some() {
                continue;
            }
            let expanded = self.expand(source, line)?;
            if let Some(arg) = expanded.unset.first() {
                self.whole(
                    format!("source `{source}` of `{name}` uses `{arg}`, which is not set"),
                    line,
                );
                continue;
            }
            let value = expanded.text;
            match remote(&value) {
                Some(Remote::Url) if name == "COPY" => {
                    return Err(DockerfileError::CopyUrl { line, url: value })
                }
                Some(kind) if name == "ADD" => {
                    self.notes.push(remote_note(line, &value, kind, pinned))
                }
                _ => self.source(line, &value, &format!("{name} {value}")),
            }
        }
        Ok(())
    }

    fn run(&mut self, line: usize, flags: &[Flag]) -> Result<(), DockerfileError> {
        for mount in flags.iter().filter(|flag| flag.name == "mount") {
            let mut kind = "bind".to_owned();
            let (mut from, mut source) = (None, None);
            for field in csv_fields(mount.value.as_deref().unwrap_or_default()) {
                let (key, value) = field.split_once('=').unwrap_or((field.as_str(), ""));
                match key.trim().to_ascii_lowercase().as_str() {
                    "type" => kind = value.trim().to_ascii_lowercase(),
                    "from" => from = Some(value.to_owned()),
                    "source" | "src" => source = Some(value.to_owned()),
                    _ => {}
                }
            }
            if kind != "bind" && kind != "cache" {
                continue;
            }
            let from = match from {
                Some(from) => Some(self.expand(&from, line)?),
                None => None,
            };
            if let Some(from) = from.filter(|from| !from.text.is_empty()) {
                self.stage_or_image(
                    line,
                    &from.text,
                    from.used.first().cloned(),
                    ImageUse::MountFrom,
                )?;
                continue;
            }
            if kind == "cache" {
                continue;
            }
            let whole_mount =
                "`RUN --mount=type=bind` without `source` mounts the whole build context";
            match source.filter(|source| !source.is_empty()) {
                None => self.whole(whole_mount.to_owned(), line),
                Some(source) => {
                    let expanded = self.expand(&source, line)?;
                    match expanded.unset.first() {
                        Some(arg) => self.whole(
                            format!("mount source `{source}` uses `{arg}`, which is not set"),
                            line,
                        ),
                        // A mount source is a plain path: its glob characters are literal.
                        None => self.source(
                            line,
                            &escape_glob(&expanded.text),
                            &format!("RUN --mount=source={}", expanded.text),
                        ),
                    }
                }
            }
        }
        Ok(())
    }

    fn onbuild(&mut self, line: usize, args: &str, heredoc: bool) -> Result<(), DockerfileError> {
        let (keyword, rest) = split_keyword(args);
        let Some(name) = instruction_name(keyword) else {
            return Err(unknown(line, keyword));
        };
        if matches!(name, "ONBUILD" | "FROM" | "MAINTAINER") {
            return Err(DockerfileError::InvalidOnbuild {
                line,
                instruction: name,
            });
        }
        // The trigger runs where a later stage builds on this one; counting its reads here,
        // with this stage's variables, is the conservative approximation.
        let (flags, rest) = split_flags(rest);
        match name {
            "COPY" | "ADD" => self.copy(line, name, &flags, rest, heredoc),
            "RUN" => self.run(line, &flags),
            _ => Ok(()),
        }
    }

    /// `--from=` of `COPY` or a mount: a stage (by name or index) or an external image.
    fn stage_or_image(
        &mut self,
        line: usize,
        from: &str,
        arg: Option<String>,
        via: ImageUse,
    ) -> Result<(), DockerfileError> {
        if let Ok(index) = from.parse::<usize>() {
            if index >= self.stage_count {
                return Err(DockerfileError::StageIndex {
                    line,
                    index,
                    count: self.stage_count,
                });
            }
            return Ok(());
        }
        let lower = from.to_ascii_lowercase();
        if !self.all_names.contains(&lower) && lower != "scratch" {
            self.images.push(ExternalImage {
                reference: from.to_owned(),
                line,
                via,
                arg,
            });
        }
        Ok(())
    }

    /// Records a context source, or the whole context when it cannot be narrowed.
    fn source(&mut self, line: usize, source: &str, written: &str) {
        let reason = match clean_path(source) {
            None => format!("source `{source}` points outside the build context"),
            Some(pattern) if pattern.is_empty() => {
                format!("`{written}` reads the whole build context")
            }
            Some(pattern) if !pattern.contains('/') && pattern.chars().all(|c| c == '*') => {
                format!("`{written}` matches every entry at the root of the build context")
            }
            Some(pattern) if tokenize(&pattern, false).is_none() => {
                format!("source `{source}` is not a valid pattern")
            }
            Some(pattern) => {
                if self.read_patterns.insert(pattern.clone()) {
                    self.reads.push(ContextSource { pattern, line });
                }
                return;
            }
        };
        self.whole(reason, line);
    }

    fn whole(&mut self, reason: String, line: usize) {
        self.whole.get_or_insert((reason, line));
    }
}

fn unknown(line: usize, word: &str) -> DockerfileError {
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

fn missing(line: usize, instruction: &'static str) -> DockerfileError {
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

/// Splits a `--mount` value on commas outside double quotes, as a CSV reader does.
fn csv_fields(value: &str) -> Vec<String> {
    let mut fields = vec![String::new()];
    let mut quoted = false;
    for c in value.chars() {
        match c {
            '"' => quoted = !quoted,
            ',' if !quoted => fields.push(String::new()),
            c => fields.last_mut().expect("starts with one field").push(c),
        }
    }
    fields.retain(|field| !field.trim().is_empty());
    fields
}

#[derive(Clone, Copy)]
enum Remote {
    Url,
    Git,
}

/// Whether an `ADD` source is downloaded rather than read from the context.
fn remote(source: &str) -> Option<Remote> {
    let lower = source.to_ascii_lowercase();
    if lower.starts_with("git@") || lower.starts_with("git://") || lower.starts_with("ssh://") {
        Some(Remote::Git)
    } else if lower.starts_with("http://") || lower.starts_with("https://") {
        let path = lower.split('#').next().unwrap_or_default();
        Some(if path.ends_with(".git") {
            Remote::Git
        } else {
            Remote::Url
        })
    } else {
        None
    }
}

fn remote_note(line: usize, source: &str, kind: Remote, pinned: bool) -> String {
    match (kind, pinned) {
        (Remote::Url, true) => format!(
            "line {line}: `ADD {source}` downloads at build time (pinned by `--checksum`); the build needs the network"
        ),
        (Remote::Url, false) => format!(
            "line {line}: `ADD {source}` downloads at build time, so the key cannot see a change there; pin it with `--checksum=sha256:<digest>`"
        ),
        (Remote::Git, _) => format!(
            "line {line}: `ADD {source}` clones a git repository at build time, so the key cannot see a change there; pin a commit with `#<sha>`"
        ),
    }
}

// ---------------------------------------------------------------------------------------------
// Variable substitution, as BuildKit's shell lexer does it for `FROM`, `COPY`, `ENV`, ….
// https://docs.docker.com/reference/dockerfile/#environment-replacement

struct Expanded {
    text: String,
    /// Every variable referenced, in order of first reference.
    used: Vec<String>,
    /// The variables whose value was needed but is not set (they expanded to nothing).
    unset: Vec<String>,
}

enum ExpandError {
    BadSubstitution,
    UnterminatedQuote,
    Required { name: String, message: String },
}

impl ExpandError {
    fn at(self, line: usize, word: &str) -> DockerfileError {
        let text = word.to_owned();
        match self {
            ExpandError::BadSubstitution => DockerfileError::BadSubstitution { line, text },
            ExpandError::UnterminatedQuote => DockerfileError::UnterminatedQuote { line, text },
            ExpandError::Required { name, message } => DockerfileError::RequiredArg {
                line,
                name,
                message,
            },
        }
    }
}

/// Nested `${…}` deeper than this is rejected rather than risking the stack.
const MAX_NESTING: usize = 32;

fn expand(
    word: &str,
    escape: char,
    lookup: &dyn Fn(&str) -> Option<String>,
) -> Result<Expanded, ExpandError> {
    let mut expander = Expander {
        chars: word.chars().collect(),
        at: 0,
        escape,
        depth: 0,
        lookup,
        used: Vec::new(),
        unset: Vec::new(),
    };
    let (text, _) = expander.until(&[])?;
    let mut seen = BTreeSet::new();
    expander.unset.retain(|name| seen.insert(name.clone()));
    Ok(Expanded {
        text,
        used: expander.used,
        unset: expander.unset,
    })
}

struct Expander<'a> {
    chars: Vec<char>,
    at: usize,
    escape: char,
    depth: usize,
    lookup: &'a dyn Fn(&str) -> Option<String>,
    used: Vec<String>,
    unset: Vec<String>,
}

impl Expander<'_> {
    fn next(&mut self) -> Option<char> {
        let c = self.chars.get(self.at).copied();
        self.at += usize::from(c.is_some());
        c
    }

    fn peek(&self) -> Option<char> {
        self.chars.get(self.at).copied()
    }

    /// Processes quotes, escapes and `$` up to one of `stops` (returned) or the end of the word.
    fn until(&mut self, stops: &[char]) -> Result<(String, Option<char>), ExpandError> {
        let mut out = String::new();
        while let Some(c) = self.next() {
            if stops.contains(&c) {
                return Ok((out, Some(c)));
            }
            match c {
                '\'' => loop {
                    match self.next() {
                        None => return Err(ExpandError::UnterminatedQuote),
                        Some('\'') => break,
                        Some(c) => out.push(c),
                    }
                },
                '"' => self.double_quoted(&mut out)?,
                '$' => self.dollar(&mut out)?,
                c if c == self.escape => out.extend(self.next()),
                c => out.push(c),
            }
        }
        if stops.is_empty() {
            Ok((out, None))
        } else {
            Err(ExpandError::BadSubstitution)
        }
    }

    fn double_quoted(&mut self, out: &mut String) -> Result<(), ExpandError> {
        loop {
            match self.next() {
                None => return Err(ExpandError::UnterminatedQuote),
                Some('"') => return Ok(()),
                Some('$') => self.dollar(out)?,
                Some(c) if c == self.escape => match self.peek() {
                    Some(next) if next == '"' || next == '$' || next == self.escape => {
                        out.push(next);
                        self.at += 1;
                    }
                    Some(_) => out.push(c),
                    None => {}
                },
                Some(c) => out.push(c),
            }
        }
    }

    fn name(&mut self) -> String {
        let mut name = String::new();
        while let Some(c) = self
            .peek()
            .filter(|c| c.is_ascii_alphanumeric() || *c == '_')
        {
            name.push(c);
            self.at += 1;
        }
        name
    }

    fn value(&mut self, name: &str) -> Option<String> {
        if !self.used.iter().any(|used| used == name) {
            self.used.push(name.to_owned());
        }
        (self.lookup)(name)
    }

    fn dollar(&mut self, out: &mut String) -> Result<(), ExpandError> {
        match self.peek() {
            Some('{') => {
                self.at += 1;
                self.depth += 1;
                if self.depth > MAX_NESTING {
                    return Err(ExpandError::BadSubstitution);
                }
                let result = self.braced(out);
                self.depth -= 1;
                result
            }
            Some(c) if c.is_ascii_digit() => {
                self.at += 1;
                self.plain(&c.to_string(), out);
                Ok(())
            }
            Some(c) if c.is_ascii_alphabetic() || c == '_' => {
                let name = self.name();
                self.plain(&name, out);
                Ok(())
            }
            _ => {
                out.push('$');
                Ok(())
            }
        }
    }

    fn plain(&mut self, name: &str, out: &mut String) {
        match self.value(name) {
            Some(value) => out.push_str(&value),
            None => self.unset.push(name.to_owned()),
        }
    }

    fn braced(&mut self, out: &mut String) -> Result<(), ExpandError> {
        let name = self.name();
        if name.is_empty() {
            return Err(ExpandError::BadSubstitution);
        }
        let value = self.value(&name);
        match self.next() {
            Some('}') => {
                self.plain(&name, out);
                Ok(())
            }
            Some(':') => match self.next() {
                Some(op @ ('-' | '+' | '?')) => self.modifier(name, value, op, true, out),
                _ => Err(ExpandError::BadSubstitution),
            },
            Some(op @ ('-' | '+' | '?')) => self.modifier(name, value, op, false, out),
            Some(op @ ('#' | '%')) => {
                let longest = self.peek() == Some(op);
                self.at += usize::from(longest);
                let (pattern, _) = self.until(&['}'])?;
                let Some(value) = value else {
                    self.unset.push(name);
                    return Ok(());
                };
                out.push_str(&trim_pattern(&value, &pattern, op == '#', longest));
                Ok(())
            }
            Some('/') => {
                let all = self.peek() == Some('/');
                self.at += usize::from(all);
                let (pattern, stop) = self.until(&['/', '}'])?;
                let replacement = match stop {
                    Some('/') => self.until(&['}'])?.0,
                    _ => String::new(),
                };
                let Some(value) = value else {
                    self.unset.push(name);
                    return Ok(());
                };
                out.push_str(&replace_pattern(&value, &pattern, &replacement, all));
                Ok(())
            }
            _ => Err(ExpandError::BadSubstitution),
        }
    }

    /// `${NAME-word}`, `${NAME+word}`, `${NAME?word}` and their `:` forms, which also treat an
    /// empty value as unset.
    fn modifier(
        &mut self,
        name: String,
        value: Option<String>,
        op: char,
        colon: bool,
        out: &mut String,
    ) -> Result<(), ExpandError> {
        let mark = self.unset.len();
        let (word, _) = self.until(&['}'])?;
        let set = value.as_ref().filter(|value| !colon || !value.is_empty());
        match (op, set) {
            ('-' | '?', Some(value)) => {
                self.unset.truncate(mark);
                out.push_str(value);
            }
            ('-', None) | ('+', Some(_)) => out.push_str(&word),
            ('+', None) => self.unset.truncate(mark),
            _ => {
                return Err(ExpandError::Required {
                    name,
                    message: word,
                })
            }
        }
        Ok(())
    }
}

fn trim_pattern(value: &str, pattern: &str, prefix: bool, longest: bool) -> String {
    let tokens = shell_tokens(pattern);
    let chars: Vec<char> = value.chars().collect();
    let n = chars.len();
    let mut cuts: Vec<usize> = (0..=n).collect();
    if longest == prefix {
        cuts.reverse();
    }
    for cut in cuts {
        let (matched, kept) = if prefix {
            (&chars[..cut], &chars[cut..])
        } else {
            (&chars[cut..], &chars[..cut])
        };
        if glob_match(&tokens, matched, true) {
            return kept.iter().collect();
        }
    }
    value.to_owned()
}

fn replace_pattern(value: &str, pattern: &str, replacement: &str, all: bool) -> String {
    let tokens = shell_tokens(pattern);
    let chars: Vec<char> = value.chars().collect();
    let mut out = String::new();
    let mut start = 0;
    let mut replaced = false;
    while start < chars.len() {
        let end = if pattern.is_empty() || (replaced && !all) {
            None
        } else {
            (start + 1..=chars.len())
                .rev()
                .find(|&end| glob_match(&tokens, &chars[start..end], true))
        };
        match end {
            Some(end) => {
                out.push_str(replacement);
                start = end;
                replaced = true;
            }
            None => {
                out.push(chars[start]);
                start += 1;
            }
        }
    }
    out
}

// ---------------------------------------------------------------------------------------------
// Paths and globs.

/// Cleans a source like Go's `path.Clean` relative to the context root; `None` when `..` would
/// leave the root (Docker forbids it).
fn clean_path(path: &str) -> Option<String> {
    let mut parts: Vec<&str> = Vec::new();
    for part in path.split('/') {
        match part {
            "" | "." => {}
            ".." => {
                parts.pop()?;
            }
            part => parts.push(part),
        }
    }
    Some(parts.join("/"))
}

fn is_clean(path: &str) -> bool {
    !path.starts_with('/')
        && !path.ends_with('/')
        && path
            .split('/')
            .all(|part| !part.is_empty() && part != "." && part != "..")
}

fn is_under(path: &str, dir: &str) -> bool {
    path.strip_prefix(dir)
        .is_some_and(|rest| rest.is_empty() || rest.starts_with('/'))
}

fn has_glob(pattern: &str) -> bool {
    pattern.contains(['*', '?', '[', '\\'])
}

fn escape_glob(path: &str) -> String {
    let mut out = String::new();
    for c in path.chars() {
        if matches!(c, '*' | '?' | '[' | '\\') {
            out.push('\\');
        }
        out.push(c);
    }
    out
}

enum Token {
    Literal(char),
    AnyChar,
    /// `*`: any run of characters, in path mode without `/`.
    Star,
    /// `**` in path mode: any run of characters, `/` included.
    AnyDepth,
    Class {
        negated: bool,
        ranges: Vec<(char, char)>,
    },
}

/// Tokenizes a glob. Path mode follows Go's `filepath.Match` (`[^…]` negates, and a bad class is
/// an error); shell mode (for `${NAME#pattern}`) also negates with `!` and lets `*` cross `/`.
fn tokenize(pattern: &str, shell: bool) -> Option<Vec<Token>> {
    let chars: Vec<char> = pattern.chars().collect();
    let mut tokens = Vec::new();
    let mut at = 0;
    while at < chars.len() {
        tokens.push(match chars[at] {
            '*' if !shell && chars.get(at + 1) == Some(&'*') => {
                while chars.get(at + 1) == Some(&'*') {
                    at += 1;
                }
                Token::AnyDepth
            }
            '*' => Token::Star,
            '?' => Token::AnyChar,
            '\\' => {
                at += 1;
                Token::Literal(*chars.get(at)?)
            }
            '[' => {
                at += 1;
                let negated = chars.get(at) == Some(&'^') || (shell && chars.get(at) == Some(&'!'));
                at += usize::from(negated);
                let mut ranges = Vec::new();
                while chars.get(at)? != &']' || ranges.is_empty() {
                    let low = class_char(&chars, &mut at)?;
                    let high = if chars.get(at) == Some(&'-') {
                        at += 1;
                        class_char(&chars, &mut at)?
                    } else {
                        low
                    };
                    ranges.push((low, high));
                }
                Token::Class { negated, ranges }
            }
            c => Token::Literal(c),
        });
        at += 1;
    }
    Some(tokens)
}

fn class_char(chars: &[char], at: &mut usize) -> Option<char> {
    let mut c = *chars.get(*at)?;
    if c == '-' || c == ']' {
        return None;
    }
    if c == '\\' {
        *at += 1;
        c = *chars.get(*at)?;
    }
    *at += 1;
    Some(c)
}

fn shell_tokens(pattern: &str) -> Vec<Token> {
    tokenize(pattern, true).unwrap_or_else(|| pattern.chars().map(Token::Literal).collect())
}

/// Whether a single-character token accepts `c` (stars are handled by the caller).
fn token_accepts(token: &Token, c: char) -> bool {
    match token {
        Token::AnyChar => c != '/',
        Token::Literal(literal) => *literal == c,
        Token::Class { negated, ranges } => {
            ranges.iter().any(|(low, high)| (*low..=*high).contains(&c)) != *negated
        }
        Token::Star | Token::AnyDepth => false,
    }
}

/// Whether the whole of `text` matches, in time proportional to tokens × characters.
fn glob_match(tokens: &[Token], text: &[char], shell: bool) -> bool {
    let n = text.len();
    // after[j]: do the tokens after the current one match text[j..]?
    let mut after = vec![false; n + 1];
    after[n] = true;
    for token in tokens.iter().rev() {
        let mut here = vec![false; n + 1];
        for j in (0..=n).rev() {
            let c = text.get(j).copied();
            here[j] = match token {
                Token::Star => after[j] || c.is_some_and(|c| shell || c != '/') && here[j + 1],
                Token::AnyDepth => after[j] || c.is_some() && here[j + 1],
                Token::AnyChar => c.is_some_and(|c| shell || c != '/') && after[j + 1],
                Token::Literal(literal) => c == Some(*literal) && after[j + 1],
                Token::Class { negated, ranges } => {
                    c.is_some_and(|c| {
                        ranges.iter().any(|(low, high)| (*low..=*high).contains(&c)) != *negated
                    }) && after[j + 1]
                }
            };
        }
        after = here;
    }
    after[0]
}

// ---------------------------------------------------------------------------------------------
// Message helpers.

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

#[cfg(test)]
mod tests {
    use super::*;

    /// The caller's build args of a case.
    type Args = &'static [(&'static str, Option<&'static str>)];
    /// (name, Dockerfile, build args, expected).
    type Case<T> = (&'static str, &'static str, Args, T);

    fn build_args(pairs: &[(&str, Option<&str>)]) -> BTreeMap<String, Option<String>> {
        pairs
            .iter()
            .map(|(name, value)| (name.to_string(), value.map(str::to_owned)))
            .collect()
    }

    #[track_caller]
    fn read(name: &str, text: &str, args: &[(&str, Option<&str>)]) -> Dockerfile {
        parse(text, &build_args(args)).unwrap_or_else(|error| panic!("{name}: {error}"))
    }

    /// `paths: a@2, b@3` or `whole@4: reason`.
    fn reads(dockerfile: &Dockerfile) -> String {
        match &dockerfile.context_reads {
            ContextReads::Paths(sources) => format!(
                "paths: {}",
                sources
                    .iter()
                    .map(|source| format!("{}@{}", source.pattern, source.line))
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
            ContextReads::Whole { reason, line } => format!("whole@{line}: {reason}"),
        }
    }

    /// `From busybox:1 @2 [BASE]`.
    fn images(dockerfile: &Dockerfile) -> Vec<String> {
        dockerfile
            .external_images
            .iter()
            .map(|image| {
                let arg = image
                    .arg
                    .as_ref()
                    .map(|arg| format!(" [{arg}]"))
                    .unwrap_or_default();
                format!("{:?} {} @{}{arg}", image.via, image.reference, image.line)
            })
            .collect()
    }

    #[test]
    fn context_reads() {
        let cases: &[Case<&str>] = &[
            ("copy dot", "FROM alpine\nCOPY . .\n", &[], "whole@2: `COPY .` reads the whole build context"),
            ("copy dot slash", "FROM alpine\nCOPY ./ /app/\n", &[], "whole@2: `COPY ./` reads the whole build context"),
            ("copy star", "FROM alpine\nCOPY * /app/\n", &[], "whole@2: `COPY *` matches every entry at the root of the build context"),
            ("dotdot escapes", "FROM alpine\nCOPY ../secrets /s\n", &[], "whole@2: source `../secrets` points outside the build context"),
            ("dotdot inside", "FROM alpine\nCOPY a/../b/./c /x\n", &[], "paths: b/c@2"),
            ("cleans to root", "FROM alpine\nCOPY src/.. /x\n", &[], "whole@2: `COPY src/..` reads the whole build context"),
            ("leading slash", "FROM alpine\nCOPY /etc/app.conf /etc/\n", &[], "paths: etc/app.conf@2"),
            ("json form", "FROM alpine\nCOPY [\"a b.txt\", \"/x/\"]\n", &[], "paths: a b.txt@2"),
            ("json form with flags", "FROM alpine\nCOPY --chown=1:1 [ \"src\" , \"lib\", \"/dst/\" ]\n", &[], "paths: src@2, lib@2"),
            ("glob", "FROM alpine\nCOPY src/*.js /app/\n", &[], "paths: src/*.js@2"),
            ("several sources", "FROM alpine\nCOPY package.json yarn.* /app/\n", &[], "paths: package.json@2, yarn.*@2"),
            (
                "flags",
                "FROM alpine\nCOPY --chown=app:app --chmod=755 --link --parents --exclude=*.md ./x/./y /dst/\n",
                &[],
                "paths: x/y@2",
            ),
            ("add url", "FROM alpine\nADD https://example.com/a.tgz /x\n", &[], "paths: "),
            ("add git", "FROM alpine\nADD git@github.com:moby/buildkit.git /src\n", &[], "paths: "),
            ("add local archive", "FROM alpine\nADD rootfs.tar.gz /\n", &[], "paths: rootfs.tar.gz@2"),
            (
                "heredoc body is no instruction",
                "FROM alpine\nRUN <<EOF\nCOPY secret /\nFROM evil\nEOF\nCOPY app /app\n",
                &[],
                "paths: app@6",
            ),
            ("copy from heredoc", "FROM alpine\nCOPY <<EOF /etc/motd\nhello\nEOF\n", &[], "paths: "),
            (
                "chomped, quoted and several heredocs",
                "FROM alpine\nRUN <<-\"EOT\" bash\n\techo $HOME\n\tEOT\nCOPY --chmod=755 <<one <<two /usr/local/bin/\nx\none\ny\ntwo\nCOPY b /b\n",
                &[],
                "paths: b@10",
            ),
            ("heredoc with fd", "FROM alpine\nRUN cat 3<<EOF >/x\nADD y /y\nEOF\n", &[], "paths: "),
            ("json run has no heredoc", "FROM alpine\nRUN [\"cat\", \"<<EOF\"]\nCOPY a /a\n", &[], "paths: a@3"),
            ("bind mount source", "FROM golang\nRUN --mount=type=bind,source=pkg,target=/p go build\n", &[], "paths: pkg@2"),
            ("bind mount src alias", "FROM golang\nRUN --mount=type=bind,src=./tools/,target=/t make\n", &[], "paths: tools@2"),
            (
                "bind mount without source",
                "FROM golang\nRUN --mount=type=bind,target=/p go build\n",
                &[],
                "whole@2: `RUN --mount=type=bind` without `source` mounts the whole build context",
            ),
            (
                "mount type defaults to bind",
                "FROM golang\nRUN --mount=target=/p ls\n",
                &[],
                "whole@2: `RUN --mount=type=bind` without `source` mounts the whole build context",
            ),
            (
                "bind mount of the root",
                "FROM golang\nRUN --mount=type=bind,source=.,target=/p ls\n",
                &[],
                "whole@2: `RUN --mount=source=.` reads the whole build context",
            ),
            ("bind mount glob chars are literal", "FROM golang\nRUN --mount=type=bind,source=a[1],target=/p ls\n", &[], "paths: a\\[1]@2"),
            ("quoted mount value", "FROM golang\nRUN --mount=\"type=bind,source=a b,target=/x\" ls\n", &[], "paths: a b@2"),
            ("cache mount", "FROM python\nRUN --mount=type=cache,target=/root/.cache pip install x\n", &[], "paths: "),
            ("secret and tmpfs mounts", "FROM node\nRUN --mount=type=secret,id=npm,target=/root/.npmrc --mount=type=tmpfs,target=/t npm ci\n", &[], "paths: "),
            (
                "bind mount from a stage",
                "FROM golang AS builder\nFROM alpine\nRUN --mount=type=bind,from=builder,source=/out,target=/o cp /o/app /app\n",
                &[],
                "paths: ",
            ),
            ("copy from a stage", "FROM golang AS builder\nFROM alpine\nCOPY --from=builder . /app\n", &[], "paths: "),
            ("arg in source", "FROM alpine\nARG SRC=src\nCOPY ${SRC}/app.js $SRC/lib /app/\n", &[], "paths: src/app.js@3, src/lib@3"),
            ("caller arg overrides default", "FROM alpine\nARG SRC=src\nCOPY ${SRC}/app.js /app/\n", &[("SRC", Some("web"))], "paths: web/app.js@3"),
            ("caller None keeps default", "FROM alpine\nARG SRC=src\nCOPY ${SRC} /app/\n", &[("SRC", None)], "paths: src@3"),
            ("env in source", "FROM alpine\nENV DIR=lib\nCOPY ${DIR}/x /x\n", &[], "paths: lib/x@3"),
            ("env wins over arg", "FROM alpine\nENV DIR=env\nARG DIR=arg\nCOPY $DIR /x\n", &[("DIR", Some("caller"))], "paths: env@4"),
            ("default modifier", "FROM alpine\nCOPY ${MISSING:-conf}/a /a\n", &[], "paths: conf/a@2"),
            ("alternative modifier", "FROM alpine\nARG FLAG=1\nCOPY x${FLAG:+-debug} y${NONE:+-debug} /a\n", &[], "paths: x-debug@3, y@3"),
            (
                "unset variable",
                "FROM alpine\nARG SRC\nCOPY $SRC/app /app\n",
                &[],
                "whole@3: source `$SRC/app` of `COPY` uses `SRC`, which is not set",
            ),
            (
                "global arg needs redeclaring in the stage",
                "ARG V=1\nFROM alpine\nCOPY v${V} /x\n",
                &[],
                "whole@3: source `v${V}` of `COPY` uses `V`, which is not set",
            ),
            ("redeclared global arg", "ARG V=1\nFROM alpine\nARG V\nCOPY v${V} /x\n", &[], "paths: v1@4"),
            ("redeclared global arg with caller value", "ARG V=1\nFROM alpine\nARG V\nCOPY v${V} /x\n", &[("V", Some("2"))], "paths: v2@4"),
            ("env inherited from base stage", "FROM alpine AS base\nENV APP=web\nFROM base\nCOPY $APP /srv\n", &[], "paths: web@4"),
            ("escaped dollar", "FROM alpine\nCOPY \\$HOME /x\n", &[], "paths: $HOME@2"),
            ("single quotes", "FROM alpine\nCOPY '$X' /x\n", &[], "paths: $X@2"),
            (
                "continuation with comments and blank lines inside",
                "FROM alpine\nCOPY a.txt \\\n# a comment between\n  # an indented comment\n  b.txt \\\n\n  /dst/\nCOPY c /c\n",
                &[],
                "paths: a.txt@2, b.txt@2, c@8",
            ),
            ("blanks after the escape", "FROM alpine\nCOPY one \\   \n two /d/\n", &[], "paths: one@2, two@2"),
            ("escaped escape ends the line", "FROM alpine\nRUN echo \\\\\nCOPY x /x\n", &[], "paths: x@3"),
            (
                "windows file with backtick escape",
                "# escape=`\n\nFROM mcr.microsoft.com/windows/servercore:ltsc2022\nCOPY testfile.txt c:\\\nRUN dir c:\\\nCOPY app `\n     c:\\app\\\n",
                &[],
                "paths: testfile.txt@4, app@6",
            ),
            (
                "lowercase instructions",
                "from alpine as build\ncopy src /src\nadd conf /conf\nrun --mount=type=bind,source=pkg,target=/p true\n",
                &[],
                "paths: src@2, conf@3, pkg@4",
            ),
            ("duplicates kept once", "FROM alpine\nCOPY src /a\nCOPY ./src/ /b\n", &[], "paths: src@2"),
            ("onbuild trigger counts", "FROM alpine\nONBUILD COPY hooks /hooks\n", &[], "paths: hooks@2"),
            ("invalid glob", "FROM alpine\nCOPY a[ /x\n", &[], "whole@2: source `a[` is not a valid pattern"),
            ("bom and crlf", "\u{feff}FROM alpine\r\nCOPY a \\\r\n b /a\r\n", &[], "paths: a@2, b@2"),
            (
                "directive after a comment is a comment",
                "# hello\n# escape=`\nFROM alpine\nCOPY a \\\n b /x\n",
                &[],
                "paths: a@4, b@4",
            ),
            ("syntax directive ignored", "# syntax=docker/dockerfile:1\n# escape=\\\nFROM alpine\nCOPY x /x\n", &[], "paths: x@4"),
            ("numeric --from", "FROM alpine\nFROM debian\nCOPY --from=0 /etc /etc\n", &[], "paths: "),
            ("lone escape line", "\\\nFROM alpine\nCOPY a /a\n", &[], "paths: a@3"),
            ("first whole reason wins", "FROM alpine\nCOPY a /a\nCOPY . .\nRUN --mount=target=/x true\n", &[], "whole@3: `COPY .` reads the whole build context"),
        ];
        for (name, text, args, expected) in cases {
            assert_eq!(reads(&read(name, text, args)), *expected, "case `{name}`");
        }
    }

    #[test]
    fn external_images() {
        let cases: &[Case<&[&str]>] = &[
            ("arg default", "ARG BASE=busybox:1\nFROM ${BASE}\n", &[], &["From busybox:1 @2 [BASE]"]),
            ("arg overridden", "ARG BASE=busybox:1\nFROM ${BASE}\n", &[("BASE", Some("busybox:2"))], &["From busybox:2 @2 [BASE]"]),
            ("arg passed as None", "ARG BASE=busybox:1\nFROM $BASE\n", &[("BASE", None)], &["From busybox:1 @2 [BASE]"]),
            (
                "arg without default",
                "ARG ALPHA_IMAGE\nFROM ${ALPHA_IMAGE}\n",
                &[("ALPHA_IMAGE", Some("registry.local/alpha:3"))],
                &["From registry.local/alpha:3 @2 [ALPHA_IMAGE]"],
            ),
            ("arg in the tag", "ARG TAG=3.20\nFROM alpine:${TAG}\n", &[], &["From alpine:3.20 @2 [TAG]"]),
            (
                "multi-stage",
                "FROM golang:1.22 AS builder\nRUN go build\nFROM nginx:1.27 AS nginx\nFROM alpine:3.20\nCOPY --from=builder /out/app /app\nCOPY --from=nginx:1.27 /etc/nginx /etc/nginx\nCOPY --from=0 /go /go\nCOPY --from=NGINX /x /x\n",
                &[],
                &["From golang:1.22 @1", "From nginx:1.27 @3", "From alpine:3.20 @4", "CopyFrom nginx:1.27 @6"],
            ),
            (
                "previous stage and scratch",
                "FROM alpine AS base\nFROM base AS app\nFROM scratch\nCOPY --from=app / /\n",
                &[],
                &["From alpine @1"],
            ),
            ("copy from a later stage", "FROM alpine\nCOPY --from=later /x /x\nFROM debian AS later\n", &[], &["From alpine @1", "From debian @3"]),
            ("platform flag", "FROM --platform=$BUILDPLATFORM golang:1.22 AS build\n", &[], &["From golang:1.22 @1"]),
            (
                "mounts from images",
                "FROM alpine\nRUN --mount=type=bind,from=busybox:1,target=/b true\nRUN --mount=type=cache,from=ghcr.io/x/cache:1,target=/c true\n",
                &[],
                &["From alpine @1", "MountFrom busybox:1 @2", "MountFrom ghcr.io/x/cache:1 @3"],
            ),
            (
                "a stage's ARG does not reach FROM",
                "ARG IMG=alpine\nFROM ${IMG} AS a\nARG IMG=debian\nFROM ${IMG}\n",
                &[],
                &["From alpine @2 [IMG]", "From alpine @4 [IMG]"],
            ),
            ("platform arg from the caller", "FROM alpine:${TARGETARCH}\n", &[("TARGETARCH", Some("arm64"))], &["From alpine:arm64 @1 [TARGETARCH]"]),
            ("from an arg naming a stage", "ARG B=base\nFROM alpine AS base\nFROM ${B}\n", &[], &["From alpine @2"]),
        ];
        for (name, text, args, expected) in cases {
            assert_eq!(images(&read(name, text, args)), *expected, "case `{name}`");
        }
    }

    #[test]
    fn stages() {
        let text =
            "FROM node:20 AS Build\nUSER node\nENV NODE_ENV=production PORT=3000\nENV PORT=8080\n\
                    FROM nginx:1.27\nEXPOSE 8080 9090/udp\nARG APP_USER=101\nUSER ${APP_USER}\n\
                    HEALTHCHECK --interval=30s CMD wget -q -O- http://localhost:8080/ || exit 1\n\
                    ENV LEGACY value \"with\" spaces\n\
                    FROM build AS final\nHEALTHCHECK CMD true\nHEALTHCHECK NONE\n";
        let stage = |name: Option<&str>, base: &str, line| Stage {
            name: name.map(str::to_owned),
            base: base.to_owned(),
            line,
            user: None,
            exposed_ports: Vec::new(),
            env: Vec::new(),
            has_healthcheck: false,
        };
        let pair = |k: &str, v: &str| (k.to_owned(), v.to_owned());
        let expected = vec![
            Stage {
                user: Some("node".into()),
                env: vec![pair("NODE_ENV", "production"), pair("PORT", "8080")],
                ..stage(Some("build"), "node:20", 1)
            },
            Stage {
                user: Some("101".into()),
                exposed_ports: vec!["8080".into(), "9090/udp".into()],
                env: vec![pair("LEGACY", "value with spaces")],
                has_healthcheck: true,
                ..stage(None, "nginx:1.27", 5)
            },
            stage(Some("final"), "build", 11),
        ];
        assert_eq!(read("stages", text, &[]).stages, expected);
    }

    #[test]
    fn env_values_see_the_variables_before_the_instruction() {
        let text = "FROM alpine\nENV A=1\nENV A=2 B=$A\nCOPY $B /x\n";
        let dockerfile = read("env", text, &[]);
        assert_eq!(
            dockerfile.stages[0].env,
            vec![("A".into(), "2".into()), ("B".into(), "1".into())]
        );
        assert_eq!(reads(&dockerfile), "paths: 1@4");
    }

    #[test]
    fn notes() {
        let cases: &[Case<&[&str]>] = &[
            (
                "download",
                "FROM alpine\nADD https://example.com/a.tgz /x\n",
                &[],
                &["line 2: `ADD https://example.com/a.tgz` downloads at build time, so the key cannot see a change there; pin it with `--checksum=sha256:<digest>`"],
            ),
            (
                "pinned download",
                "FROM alpine\nADD --checksum=sha256:abc https://example.com/a.tgz /x\n",
                &[],
                &["line 2: `ADD https://example.com/a.tgz` downloads at build time (pinned by `--checksum`); the build needs the network"],
            ),
            (
                "git clone",
                "FROM alpine\nADD https://github.com/moby/buildkit.git#v0.13 /src\n",
                &[],
                &["line 2: `ADD https://github.com/moby/buildkit.git#v0.13` clones a git repository at build time, so the key cannot see a change there; pin a commit with `#<sha>`"],
            ),
            (
                "from with an unset arg",
                "ARG SUFFIX\nFROM alpine${SUFFIX}\n",
                &[],
                &["line 2: `FROM alpine${SUFFIX}` uses build arg `SUFFIX`, which is not set, so it expands to nothing"],
            ),
            (
                "undeclared build arg",
                "FROM alpine\n",
                &[("FOO", Some("1")), ("HTTP_PROXY", Some("http://proxy")), ("UNSET", None)],
                &["build arg `FOO` is not declared by any `ARG`, so the build does not use it"],
            ),
            ("nothing to say", "ARG A=1\nFROM alpine\nARG B\nCOPY a /a\n", &[("A", Some("2")), ("B", Some("3"))], &[]),
        ];
        for (name, text, args, expected) in cases {
            assert_eq!(read(name, text, args).notes, *expected, "case `{name}`");
        }
    }

    #[test]
    fn error_messages() {
        let cases: &[Case<&str>] = &[
            ("copy with one word", "FROM alpine\nCOPY onlyone\n", &[], "line 2: `COPY` needs a source and a destination"),
            ("copy with nothing", "FROM alpine\ncopy --chown=1\n", &[], "line 2: `COPY` needs a source and a destination"),
            ("empty file", "", &[], "line 1: the Dockerfile has no `FROM`; start a build stage with `FROM <image>` or `FROM scratch`"),
            ("only args", "# comment\nARG A=1\n", &[], "line 2: the Dockerfile has no `FROM`; start a build stage with `FROM <image>` or `FROM scratch`"),
            (
                "run before from",
                "RUN echo hi\nFROM alpine\n",
                &[],
                "line 1: `RUN` comes before the first `FROM`; only `ARG` may come before it, so add `FROM <image>` above it",
            ),
            ("misspelled", "FROM alpine\nRUUN make\n", &[], "line 2: unknown instruction `RUUN`; did you mean `RUN`?"),
            ("two near matches", "FROM alpine\nARD x\n", &[], "line 2: unknown instruction `ARD`; did you mean `ADD` or `ARG`?"),
            ("prefix", "FROM alpine\nentry [\"x\"]\n", &[], "line 2: unknown instruction `entry`; did you mean `ENTRYPOINT`?"),
            (
                "nothing near",
                "FROM alpine\nBANANA split\n",
                &[],
                "line 2: unknown instruction `BANANA`; expected one of ADD, ARG, CMD, COPY, ENTRYPOINT, ENV, EXPOSE, FROM, HEALTHCHECK, LABEL, MAINTAINER, ONBUILD, RUN, SHELL, STOPSIGNAL, USER, VOLUME, WORKDIR",
            ),
            ("unknown before from", "FORM alpine\n", &[], "line 1: unknown instruction `FORM`; did you mean `FROM`?"),
            (
                "unterminated heredoc",
                "FROM alpine\nRUN <<EOF\necho hi\n",
                &[],
                "line 2: heredoc `<<EOF` is never closed; end it with a line that holds only `EOF`",
            ),
            (
                "heredoc terminator indented with spaces",
                "FROM alpine\nRUN <<-EOF\n  echo hi\n  EOF\n",
                &[],
                "line 2: heredoc `<<EOF` is never closed; end it with a line that holds only `EOF`",
            ),
            (
                "empty from",
                "FROM ${BASE}\n",
                &[],
                "line 1: `FROM ${BASE}` is empty: build arg `BASE` is not set; set it in the manifest's `args` or give the ARG a default",
            ),
            (
                "from set to empty",
                "ARG BASE=alpine\nFROM $BASE\n",
                &[("BASE", Some(""))],
                "line 2: `FROM $BASE` is empty: build arg `BASE` is set to an empty value; set it in the manifest's `args` or give the ARG a default",
            ),
            (
                "from of empty quotes",
                "FROM \"\"\n",
                &[],
                "line 1: `FROM \"\"` is empty: it names no image; set it in the manifest's `args` or give the ARG a default",
            ),
            ("from without image", "FROM\n", &[], "line 1: `FROM` needs an image, e.g. `FROM alpine:3.20` or `FROM scratch`"),
            ("from with two words", "FROM alpine builder\n", &[], "line 1: `FROM alpine builder` is not valid; write `FROM <image> [AS <name>]`"),
            (
                "stage name with a digit first",
                "FROM alpine AS 1st\n",
                &[],
                "line 1: stage name `1st` is invalid; a stage name starts with a letter and holds only letters, digits, `-`, `_` and `.`",
            ),
            (
                "duplicate stage name",
                "FROM alpine AS a\nFROM debian AS A\n",
                &[],
                "line 2: stage name `a` is already used on line 1; give each stage its own name",
            ),
            ("bad escape", "# escape=x\nFROM alpine\n", &[], "line 1: `# escape=x` is not valid; the escape character is `\\` or a backtick"),
            ("escape twice", "# escape=`\n# ESCAPE=\\\nFROM alpine\n", &[], "line 2: parser directive `escape` appears twice; keep only one"),
            (
                "unclosed brace",
                "FROM ${BASE\n",
                &[],
                "line 1: bad variable substitution in `${BASE`; write `$NAME`, `${NAME}` or `${NAME:-default}`",
            ),
            (
                "required arg",
                "ARG V\nFROM alpine:${V:?the-alpine-tag}\n",
                &[],
                "line 2: build arg `V` is required: the-alpine-tag; set it in the manifest's `args`",
            ),
            (
                "quoted path with a space",
                "FROM alpine\nCOPY \"a b.txt\" /x/\n",
                &[],
                "line 2: unterminated quote in `\"a`; close it (a path with spaces needs the JSON form `[\"src\", \"dest\"]`)",
            ),
            (
                "variable in --from",
                "FROM alpine AS a\nFROM alpine\nARG S=a\nCOPY --from=$S /x /x\n",
                &[],
                "line 4: `--from=$S` uses a variable, which Docker does not expand in `--from`; add a stage `FROM $S AS <name>` and copy from that stage",
            ),
            (
                "stage index too big",
                "FROM alpine\nFROM debian\nCOPY --from=5 /x /x\n",
                &[],
                "line 3: `--from=5` names stage 5, but the Dockerfile has 2 stages (numbered from 0)",
            ),
            ("empty --from", "FROM alpine\nCOPY --from= /x /y\n", &[], "line 2: `COPY` needs a stage or an image after `--from=`"),
            ("--from without value", "FROM alpine\nCOPY --from /x /y\n", &[], "line 2: `COPY` needs a stage or an image after `--from=`"),
            ("copy of a url", "FROM alpine\nCOPY https://example.com/x /x\n", &[], "line 2: `COPY` cannot download `https://example.com/x`; use `ADD` for a URL"),
            ("env without =", "FROM alpine\nENV A=1 B\n", &[], "line 2: `ENV` expects `name=value`, found `B`"),
            ("env without value", "FROM alpine\nENV A\n", &[], "line 2: `ENV` needs a name and a value, e.g. `ENV KEY=value`"),
            ("arg without name", "ARG =1\nFROM alpine\n", &[], "line 1: `ARG` expects `name=value`, found `=1`"),
            (
                "onbuild from",
                "FROM alpine\nONBUILD FROM x\n",
                &[],
                "line 2: `ONBUILD FROM` is not allowed; `ONBUILD` cannot trigger `FROM`, `ONBUILD` or `MAINTAINER`",
            ),
            ("onbuild of nothing known", "FROM alpine\nONBUILD CPY a b\n", &[], "line 2: unknown instruction `CPY`; did you mean `COPY`?"),
            (
                "junk word is escaped and cut",
                "FROM alpine\n\u{1}ZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZ x\n",
                &[],
                "line 2: unknown instruction `\\u{1}ZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZ…`; expected one of ADD, ARG, CMD, COPY, ENTRYPOINT, ENV, EXPOSE, FROM, HEALTHCHECK, LABEL, MAINTAINER, ONBUILD, RUN, SHELL, STOPSIGNAL, USER, VOLUME, WORKDIR",
            ),
        ];
        for (name, text, args, expected) in cases {
            match parse(text, &build_args(args)) {
                Ok(dockerfile) => panic!("case `{name}`: expected an error, got {dockerfile:?}"),
                Err(error) => assert_eq!(error.to_string(), *expected, "case `{name}`"),
            }
        }
    }

    #[test]
    fn error_fields() {
        let none = BTreeMap::new();
        assert_eq!(parse("FROM alpine\nCOPY x\n", &none).unwrap_err().line(), 2);
        let missing = parse_for_target("FROM alpine\n", &none, Some("x")).unwrap_err();
        assert_eq!(missing.line(), 0);
        let error = parse("FROM ${BASE}\n", &none).unwrap_err();
        assert_eq!(
            error,
            DockerfileError::EmptyFrom {
                line: 1,
                text: "FROM ${BASE}".into(),
                arg: Some("BASE".into()),
                arg_is_empty: false,
            }
        );
    }

    #[test]
    fn targets() {
        let text = "FROM alpine AS a\nFROM alpine AS b\nCOPY x /x\n";
        let none = BTreeMap::new();
        type TargetCase = (
            &'static str,
            &'static str,
            Option<&'static str>,
            Result<(), &'static str>,
        );
        let cases: &[TargetCase] = &[
            ("no target", text, None, Ok(())),
            ("named target", text, Some("a"), Ok(())),
            ("target without case", text, Some("B"), Ok(())),
            ("missing target", text, Some("x"), Err("target stage `x` not found; stages are: a, b")),
            (
                "no named stage",
                "FROM alpine\n",
                Some("x"),
                Err("target stage `x` not found; no stage has a name; name one with `FROM <image> AS <name>`"),
            ),
        ];
        for (name, text, target, expected) in cases {
            let result = parse_for_target(text, &none, *target);
            match (result, expected) {
                (Ok(dockerfile), Ok(())) => {
                    assert_eq!(dockerfile, parse(text, &none).unwrap(), "case `{name}`")
                }
                (Err(error), Err(message)) => {
                    assert_eq!(error.to_string(), *message, "case `{name}`")
                }
                (result, _) => panic!("case `{name}`: unexpected {result:?}"),
            }
        }
    }

    #[test]
    fn covers() {
        let cases: &[(&str, &str, bool)] = &[
            ("src", "src", true),
            ("src", "src/a.js", true),
            ("src", "srcx", false),
            ("src", "x/src", false),
            ("src", "", false),
            ("src", "./src/a", true),
            ("src", "/src/a/", true),
            ("src", "src/../src/a", true),
            ("src", "../src", false),
            ("src/*.js", "src/app.js", true),
            ("src/*.js", "src/lib/app.js", false),
            ("src/*.js", "src/app.ts", false),
            ("src/*.js", "app.js", false),
            ("*.json", "package.json", true),
            ("*.json", "a/package.json", false),
            ("*", "x/y", true),
            ("src/*", "src/a/b/c", true),
            ("a?c", "abc", true),
            ("a?c", "a/c", false),
            ("[a-c]x", "bx", true),
            ("[a-c]x", "dx", false),
            ("[^a-c]x", "bx", false),
            ("[^a-c]x", "dx", true),
            ("[!a]x", "!x", true),
            ("[!a]x", "bx", false),
            ("a\\*b", "a*b", true),
            ("a\\*b", "axb", false),
            ("a\\[1]", "a[1]/x", true),
            ("**/*.go", "a/b/c.go", true),
            ("**/*.go", "c.go", false),
            ("x/**", "x/y/z", true),
            ("yarn.*", "yarn.lock", true),
            ("*/package.json", "apps/web/package.json", false),
            ("*/package.json", "web/package.json", true),
            ("é*", "éa", true),
        ];
        for (pattern, path, expected) in cases {
            let source = ContextSource {
                pattern: pattern.to_string(),
                line: 1,
            };
            assert_eq!(
                source.covers(path),
                *expected,
                "`{pattern}` covers `{path}`"
            );
        }
    }

    #[test]
    fn may_cover_below() {
        let cases: &[(&str, &str, bool)] = &[
            ("src/*.js", "", true),
            ("src/*.js", "src", true),
            ("src/*.js", "lib", false),
            ("src/*.js", "src/lib", false),
            ("src/app.js", "src", true),
            ("src/app.js", "srcx", false),
            ("src", "src/deep/er", true),
            ("**/*.go", "a/b", true),
            ("x/**", "x/y", true),
            ("x/**", "z", false),
            ("*/package.json", "apps", true),
            ("*/package.json", "apps/web", false),
            ("[a-c]*/x", "bee", true),
            ("[a-c]*/x", "dee", false),
            ("a?/x", "ab", true),
            ("a?/x", "abc", false),
            ("src/*.js", "../x", false),
            ("[", "x", false),
        ];
        for (pattern, dir, expected) in cases {
            let source = ContextSource {
                pattern: pattern.to_string(),
                line: 1,
            };
            assert_eq!(
                source.may_cover_below(dir),
                *expected,
                "`{pattern}` below `{dir}`"
            );
        }
    }

    #[test]
    fn literal_prefix() {
        let cases: &[(&str, &str)] = &[
            ("src/*.js", "src"),
            ("src/app.js", "src/app.js"),
            ("*.json", ""),
            ("a/b/c?/d", "a/b"),
            ("a[1]/x", ""),
            ("a/\\*", "a"),
        ];
        for (pattern, expected) in cases {
            let source = ContextSource {
                pattern: pattern.to_string(),
                line: 1,
            };
            assert_eq!(source.literal_prefix(), *expected, "prefix of `{pattern}`");
        }
    }

    #[test]
    fn substitution() {
        let vars: BTreeMap<&str, &str> = [("A", "x"), ("E", ""), ("P", "a/b/c")]
            .into_iter()
            .collect();
        let lookup = |name: &str| vars.get(name).map(|value| value.to_string());
        let cases: &[(&str, Result<&str, &str>, &[&str])] = &[
            ("$A", Ok("x"), &[]),
            ("${A}b", Ok("xb"), &[]),
            ("$A_b", Ok(""), &["A_b"]),
            ("${U:-def}", Ok("def"), &[]),
            ("${E:-def}", Ok("def"), &[]),
            ("${E-def}", Ok(""), &[]),
            ("${U-def}", Ok("def"), &[]),
            ("${A:+alt}", Ok("alt"), &[]),
            ("${U:+alt}", Ok(""), &[]),
            ("${E+alt}", Ok("alt"), &[]),
            ("${E:+alt}", Ok(""), &[]),
            ("${A:-$U}", Ok("x"), &[]),
            ("${U:-$V}", Ok(""), &["V"]),
            ("${U:-${A}y}", Ok("xy"), &[]),
            ("${P#*/}", Ok("b/c"), &[]),
            ("${P##*/}", Ok("c"), &[]),
            ("${P%/*}", Ok("a/b"), &[]),
            ("${P%%/*}", Ok("a"), &[]),
            ("${P/b/X}", Ok("a/X/c"), &[]),
            ("${P//\\//_}", Ok("a_b_c"), &[]),
            ("${P/[ab]}", Ok("/b/c"), &[]),
            ("${U#x}", Ok(""), &["U"]),
            ("\\$A", Ok("$A"), &[]),
            ("'$A'", Ok("$A"), &[]),
            ("\"$A b\"", Ok("x b"), &[]),
            ("\"\\$A\\\"\"", Ok("$A\""), &[]),
            ("a\"b", Err("quote"), &[]),
            ("'a", Err("quote"), &[]),
            ("${", Err("bad"), &[]),
            ("${}", Err("bad"), &[]),
            ("${A", Err("bad"), &[]),
            ("${A:x}", Err("bad"), &[]),
            ("${U:?need it}", Err("required"), &[]),
            ("${E?need it}", Ok(""), &[]),
            ("$", Ok("$"), &[]),
            ("a$", Ok("a$"), &[]),
            ("$-", Ok("$-"), &[]),
            ("$1x", Ok("x"), &["1"]),
        ];
        for (word, expected, unset) in cases {
            let result = expand(word, '\\', &lookup);
            match (result, expected) {
                (Ok(expanded), Ok(text)) => {
                    assert_eq!(expanded.text, *text, "`{word}`");
                    assert_eq!(expanded.unset, *unset, "unset of `{word}`");
                }
                (Err(ExpandError::UnterminatedQuote), Err("quote"))
                | (Err(ExpandError::BadSubstitution), Err("bad"))
                | (Err(ExpandError::Required { .. }), Err("required")) => {}
                (Ok(expanded), _) => panic!("`{word}` gave `{}`", expanded.text),
                (Err(_), _) => panic!("`{word}` failed with the wrong error"),
            }
        }
        let backtick = expand("`$A C:\\x", '`', &lookup).ok().map(|e| e.text);
        assert_eq!(backtick.as_deref(), Some("$A C:\\x"));
        let deep = format!("{}{}", "${A:-".repeat(200), "}".repeat(200));
        assert!(matches!(
            expand(&deep, '\\', &lookup),
            Err(ExpandError::BadSubstitution)
        ));
    }

    #[test]
    fn json_arrays() {
        let cases: &[(&str, Option<&[&str]>)] = &[
            ("[]", Some(&[])),
            (" [ \"a\" , \"b\" ] ", Some(&["a", "b"])),
            (
                "[\"a\\\"b\\\\c\\u00e9\\ud83d\\ude00\\n\"]",
                Some(&["a\"b\\cé😀\n"]),
            ),
            ("[\"a\"] x", None),
            ("[\"a\",]", None),
            ("[1]", None),
            ("[\"a\"", None),
            ("[\"\\ud83d\"]", None),
            ("a", None),
        ];
        for (text, expected) in cases {
            let expected = expected.map(|items| items.iter().map(|s| s.to_string()).collect());
            assert_eq!(parse_json_strings(text), expected, "`{text}`");
        }
    }

    /// A small deterministic generator, so that a failure can be replayed.
    struct Rng(u64);

    impl Rng {
        fn next(&mut self) -> u64 {
            self.0 ^= self.0 << 13;
            self.0 ^= self.0 >> 7;
            self.0 ^= self.0 << 17;
            self.0
        }

        fn below(&mut self, n: usize) -> usize {
            (self.next() % n as u64) as usize
        }
    }

    #[test]
    fn junk_never_panics() {
        let fixed = [
            "\\",
            "`",
            "# escape=`\n`",
            "[",
            "FROM alpine\nCOPY [ /x\n",
            "FROM alpine\nCOPY [\"a\", /x\n",
            "FROM alpine\nRUN [\"unterminated\n",
            "FROM alpine\nRUN <<\n",
            "FROM alpine\nRUN <<-\n",
            "FROM alpine\nCOPY <<'' /x\n",
            "FROM alpine\nRUN --mount=,,,=,type= true\n",
            "FROM alpine\nRUN --mount true\n",
            "FROM alpine\nCOPY --from= /x /y\n",
            "FROM alpine\nCOPY -- a /b\n",
            "FROM alpine\nONBUILD\n",
            "FROM alpine\nONBUILD ONBUILD COPY a b\n",
            "FROM ${A:-${B:-${C\n",
            "FROM alpine\nCOPY ${P/[/x} /y\n",
            "FROM alpine\nENV \"A=1\n",
            "\u{feff}",
            "\r\n\r\n",
        ];
        let mut rng = Rng(0x9E37_79B9_7F4A_7C15);
        let pieces = [
            "FROM ",
            "COPY ",
            "ADD ",
            "RUN ",
            "ARG ",
            "ENV ",
            "ONBUILD ",
            "USER ",
            " AS ",
            "<<EOF",
            "<<-X",
            "EOF",
            "X",
            "\n",
            "\t",
            "\r",
            " ",
            "\\",
            "`",
            "${",
            "}",
            "$",
            "[",
            "]",
            "\"",
            "'",
            "--mount=",
            "type=bind",
            "source=",
            "from=",
            ",",
            "=",
            "*",
            "?",
            "..",
            "/",
            "#",
            ":-",
            ":+",
            "#",
            "%",
            "a",
            "B",
            "0",
            "escape=`",
            "é",
            "\u{0}",
        ];
        let mut inputs: Vec<String> = fixed.iter().map(|s| s.to_string()).collect();
        for _ in 0..400 {
            let bytes: Vec<u8> = (0..rng.below(600)).map(|_| rng.next() as u8).collect();
            inputs.push(String::from_utf8_lossy(&bytes).into_owned());
            inputs.push(
                (0..rng.below(120))
                    .map(|_| pieces[rng.below(pieces.len())])
                    .collect(),
            );
        }
        let args = build_args(&[("A", Some("x")), ("B", None)]);
        for input in &inputs {
            if let Ok(dockerfile) = parse(input, &args) {
                if let ContextReads::Paths(sources) = &dockerfile.context_reads {
                    for source in sources {
                        source.covers("a/b");
                        source.may_cover_below("a/b");
                        source.literal_prefix();
                    }
                }
            }
            let _ = parse_for_target(input, &args, Some("a"));
        }
        for pattern in ["[", "\\", "[a-", "[]", "[^", "a/[b-]", "***", "é[é-ü]"] {
            let source = ContextSource {
                pattern: pattern.into(),
                line: 1,
            };
            source.covers("é/x");
            source.may_cover_below("é");
            source.literal_prefix();
        }
    }

    #[test]
    fn large_files() {
        let mut text = String::from("ARG BASE=alpine\nFROM ${BASE} AS s0\n");
        for i in 0..10_000 {
            match i % 4 {
                0 => text.push_str(&format!("COPY dir{i}/*.txt /d/\n")),
                1 => text.push_str(&format!(
                    "RUN --mount=type=bind,source=m{i},target=/m echo {i} \\\n  && true\n"
                )),
                2 => text.push_str(&format!(
                    "FROM s{} AS s{i}\n",
                    if i == 2 { 0 } else { i - 4 }
                )),
                _ => text.push_str("# a comment\n\n"),
            }
        }
        assert!(text.lines().count() > 10_000);
        let dockerfile = read("large", &text, &[]);
        assert_eq!(dockerfile.stages.len(), 2_501);
        assert_eq!(dockerfile.external_images.len(), 1);
        match &dockerfile.context_reads {
            ContextReads::Paths(sources) => assert_eq!(sources.len(), 5_000),
            other => panic!("{other:?}"),
        }
        let junk: String = (0..10_000)
            .map(|i| format!("{}x{i} ${{\n", ["RUN", "COPY", "\\", "FROM"][i % 4]))
            .collect();
        let _ = parse(&junk, &BTreeMap::new());
    }
}
