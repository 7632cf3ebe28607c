//! Reading an ignore file as Docker does: line by line with its length limit, comments, blank
//! lines, white space, a leading `!` and path cleaning, each line becoming a [`Rule`] whose
//! pattern is checked and compiled. The steps mirror `ignorefile.ReadAll` and then
//! `patternmatcher.New` one for one.

use super::error::IgnoreError;
use super::pattern::Matcher;
use super::syntax::check_syntax;

/// Docker reads the file with Go's `bufio.Scanner`, whose buffer holds 64 KiB including the
/// newline: a longer line fails the build with "token too long".
pub(super) const MAX_LINE_BYTES: usize = 64 * 1024 - 1;

/// The rules of an ignore file in file order, its lines read as moby/patternmatcher's
/// `ignorefile.ReadAll` reads them (see [`DockerIgnore::parse`](super::DockerIgnore::parse)).
pub(super) fn rules(text: &str) -> Result<Vec<Rule>, IgnoreError> {
    let mut rules = Vec::new();
    for (index, raw) in text.split('\n').enumerate() {
        let line = index + 1;
        if raw.len() > MAX_LINE_BYTES {
            return Err(IgnoreError::LineTooLong {
                line,
                pattern: raw.trim().to_owned(),
                length: raw.len(),
            });
        }
        let raw = if index == 0 {
            raw.strip_prefix('\u{feff}').unwrap_or(raw)
        } else {
            raw
        };
        let raw = raw.strip_suffix('\r').unwrap_or(raw);
        if let Some(rule) = Rule::from_line(raw, line)? {
            rules.push(rule);
        }
    }
    Ok(rules)
}

/// One pattern line.
#[derive(Debug, Clone)]
pub(super) struct Rule {
    /// The cleaned pattern, with its leading `!` when it is an exception.
    pub(super) text: String,
    /// Whether a match re-includes (`!…`) rather than excludes.
    pub(super) exception: bool,
    pub(super) matcher: Matcher,
}

impl Rule {
    /// Turns one line into a rule: `None` for comments and blank lines. The steps mirror Docker
    /// one for one, since each can change the pattern (`x/../ a` and `!x/../ a` differ).
    fn from_line(raw: &str, line: usize) -> Result<Option<Rule>, IgnoreError> {
        if raw.starts_with('#') {
            return Ok(None);
        }
        let written = raw.trim();
        if written.is_empty() {
            return Ok(None);
        }
        // What ignorefile.ReadAll hands on.
        let (invert, body) = match written.strip_prefix('!') {
            Some(rest) => (true, rest.trim()),
            None => (false, written),
        };
        let mut body = if body.is_empty() {
            String::new()
        } else {
            clean_path(body)
        };
        if body.len() > 1 && body.starts_with('/') {
            body.remove(0);
        }
        let read = if invert { format!("!{body}") } else { body };
        // What patternmatcher.New makes of it.
        let trimmed = read.trim();
        if trimmed.is_empty() {
            return Ok(None);
        }
        let cleaned = clean_path(trimmed);
        let (exception, pattern) = match cleaned.strip_prefix('!') {
            Some("") => {
                return Err(IgnoreError::LoneBang {
                    line,
                    pattern: written.to_owned(),
                });
            }
            Some(rest) => (true, rest),
            None => (false, cleaned.as_str()),
        };
        let matcher = check_syntax(pattern)
            .and_then(|()| Matcher::compile(pattern))
            .map_err(|problem| problem.at(line, written))?;
        let text = if exception {
            format!("!{pattern}")
        } else {
            pattern.to_owned()
        };
        Ok(Some(Rule {
            text,
            exception,
            matcher,
        }))
    }
}

/// Go's `filepath.Clean` on Unix: repeated `/` and `.` segments dropped, `..` resolved against
/// the segment before it, `..` above a leading `/` dropped, `""` becomes `.`.
fn clean_path(path: &str) -> String {
    let rooted = path.starts_with('/');
    let mut segments: Vec<&str> = Vec::new();
    for segment in path.split('/') {
        match segment {
            "" | "." => {}
            ".." => match segments.last() {
                Some(&last) if last != ".." => {
                    segments.pop();
                }
                _ if rooted => {}
                _ => segments.push(".."),
            },
            _ => segments.push(segment),
        }
    }
    let joined = segments.join("/");
    if rooted {
        format!("/{joined}")
    } else if joined.is_empty() {
        ".".to_owned()
    } else {
        joined
    }
}
