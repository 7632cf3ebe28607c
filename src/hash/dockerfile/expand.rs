//! Variable substitution in a word, as BuildKit's shell lexer does it for `FROM`, `COPY`, `ENV`,
//! …: `$NAME`, `${NAME}`, the `-`, `+` and `?` modifiers with and without `:`, the `#`, `%` and
//! `/` pattern operators, quotes and the escape character; it reports which variables were used
//! and which were needed but unset.
//! <https://docs.docker.com/reference/dockerfile/#environment-replacement>

use std::collections::BTreeSet;

use super::error::DockerfileError;
use super::glob::{glob_match, shell_tokens};

pub(super) struct Expanded {
    pub(super) text: String,
    /// Every variable referenced, in order of first reference.
    pub(super) used: Vec<String>,
    /// The variables whose value was needed but is not set (they expanded to nothing).
    pub(super) unset: Vec<String>,
}

pub(super) enum ExpandError {
    BadSubstitution,
    UnterminatedQuote,
    Required { name: String, message: String },
}

impl ExpandError {
    pub(super) fn at(self, line: usize, word: &str) -> DockerfileError {
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

pub(super) fn expand(
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
