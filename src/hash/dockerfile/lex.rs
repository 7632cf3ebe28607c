//! Lines to instructions, as BuildKit's parser reads them: the parser directives at the top
//! (`# escape=`), comments, line continuations (blank and comment lines inside one dropped), and
//! heredocs, whose bodies are skipped so that they are never read as instructions.
//! <https://docs.docker.com/reference/dockerfile/#parser-directives> and BuildKit's `parser.go`.

use std::collections::BTreeSet;

use super::error::DockerfileError;
use super::json::parse_json_strings;
use super::words::{raw_words, split_flags};

/// One instruction with its continuation lines joined and its heredoc bodies skipped.
pub(super) struct Instruction {
    pub(super) line: usize,
    pub(super) keyword: String,
    pub(super) rest: String,
    pub(super) heredoc: bool,
}

pub(super) struct Lexed {
    pub(super) escape: char,
    /// The `# syntax=` directive's line and image, when there is one.
    pub(super) syntax: Option<(usize, String)>,
    pub(super) instructions: Vec<Instruction>,
    pub(super) last_line: usize,
}

pub(super) fn lex(text: &str) -> Result<Lexed, DockerfileError> {
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    let lines: Vec<&str> = text
        .split('\n')
        .map(|line| line.strip_suffix('\r').unwrap_or(line))
        .collect();
    let (escape, syntax) = directives(&lines)?;
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
        syntax,
        instructions,
        last_line: text.lines().count().max(1),
    })
}

/// Reads the parser directives at the top of the file and returns the escape character and the
/// `# syntax=` directive (its line and image).
fn directives(lines: &[&str]) -> Result<(char, Option<(usize, String)>), DockerfileError> {
    let mut escape = '\\';
    let mut syntax = None;
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
        if name == "syntax" {
            syntax = Some((index + 1, value.to_owned()));
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
    Ok((escape, syntax))
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

pub(super) fn split_keyword(text: &str) -> (&str, &str) {
    match text.find(char::is_whitespace) {
        Some(end) => (&text[..end], text[end..].trim_start()),
        None => (text, ""),
    }
}

pub(super) struct Heredoc {
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
pub(super) fn heredoc(word: &str) -> Option<Heredoc> {
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
