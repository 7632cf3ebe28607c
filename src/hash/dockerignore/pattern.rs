//! A pattern compiled into the test Docker runs for it: a plain comparison when the pattern has
//! no wildcard (or only a leading or final `**`), else the pattern read as Docker's translator
//! reads it into a regular expression, as the tokens of a [`Glob`], rejecting what the
//! translation would change.

use std::iter::Peekable;
use std::slice;

use super::glob::{Class, Glob, Token};
use super::syntax::Problem;

/// How Docker tests one pattern against one path. Docker picks the cheapest test that gives its
/// regular expression's answer, except for `Prefix` and `Suffix`, whose answers differ from it in
/// corner cases that are reproduced on purpose.
#[derive(Debug, Clone)]
pub(super) enum Matcher {
    /// No wildcard, class or escape: the path equals the pattern.
    Exact(String),
    /// Plain text then a final `**`: the path starts with the text.
    Prefix(String),
    /// `**` then plain text: the path ends with the text, or the text starts with `/` and the
    /// path is the rest of it.
    Suffix(String),
    /// Matches nothing: Docker cuts such a suffix inside a multi-byte character.
    Never,
    /// Everything else, as Docker's regular expression.
    Glob(Glob),
}

impl Matcher {
    /// Compiles a pattern that passed [`check_syntax`](super::syntax::check_syntax), choosing the
    /// test as Docker does.
    pub(super) fn compile(pattern: &str) -> Result<Matcher, Problem> {
        // Docker's translator reads the pattern with Go's text/scanner, which skips a leading
        // byte-order mark; the plain-text tests keep it.
        let lexemes = lex(pattern.strip_prefix('\u{feff}').unwrap_or(pattern));
        let mut shape = Shape::Exact;
        for (index, lexeme) in lexemes.iter().enumerate() {
            shape = match (lexeme, shape) {
                (Lexeme::Literal(_), shape) => shape,
                (Lexeme::DoubleStar { last: true }, Shape::Exact) => Shape::Prefix,
                _ => Shape::Glob,
            };
            if index == 0 && matches!(lexeme, Lexeme::DoubleStar { .. }) {
                shape = Shape::Suffix;
            }
        }
        Ok(match shape {
            Shape::Exact => Matcher::Exact(pattern.to_owned()),
            Shape::Prefix => Matcher::Prefix(pattern[..pattern.len() - 2].to_owned()),
            Shape::Suffix => pattern
                .get(2..)
                .map_or(Matcher::Never, |s| Matcher::Suffix(s.to_owned())),
            Shape::Glob => Matcher::Glob(Glob::new(tokens(&lexemes)?)),
        })
    }

    pub(super) fn matches(&self, path: &str) -> bool {
        match self {
            Matcher::Exact(text) => path == text,
            Matcher::Prefix(prefix) => path.starts_with(prefix.as_str()),
            Matcher::Suffix(suffix) => {
                path.ends_with(suffix.as_str()) || suffix.strip_prefix('/') == Some(path)
            }
            Matcher::Never => false,
            Matcher::Glob(glob) => glob.matches(path),
        }
    }

    /// Whether some path starting with `below` (a directory and its `/`) could match.
    /// Answers `true` when unsure.
    pub(super) fn may_match_below(&self, below: &str) -> bool {
        match self {
            Matcher::Exact(text) => text.len() > below.len() && text.starts_with(below),
            Matcher::Prefix(prefix) => {
                below.starts_with(prefix.as_str()) || prefix.starts_with(below)
            }
            Matcher::Suffix(_) => true,
            Matcher::Never => false,
            Matcher::Glob(glob) => glob.may_match_below(below),
        }
    }
}

/// Which of Docker's tests a pattern gets.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Shape {
    Exact,
    Prefix,
    Suffix,
    Glob,
}

/// A piece of a pattern as Docker's translator reads it.
#[derive(Debug, Clone, Copy)]
enum Lexeme {
    Literal(char),
    Escaped(char),
    Star,
    Question,
    /// `**` and the `/` after it, if any; `last` when nothing follows.
    DoubleStar {
        last: bool,
    },
    Open,
    Close,
}

fn lex(pattern: &str) -> Vec<Lexeme> {
    let mut chars = pattern.chars().peekable();
    let mut lexemes = Vec::new();
    while let Some(c) = chars.next() {
        lexemes.push(match c {
            '*' if chars.next_if_eq(&'*').is_some() => {
                // Docker treats `**/` as `**`.
                chars.next_if_eq(&'/');
                Lexeme::DoubleStar {
                    last: chars.peek().is_none(),
                }
            }
            '*' => Lexeme::Star,
            '?' => Lexeme::Question,
            '\\' => chars.next().map_or(Lexeme::Literal('\\'), Lexeme::Escaped),
            '[' => Lexeme::Open,
            ']' => Lexeme::Close,
            other => Lexeme::Literal(other),
        });
    }
    lexemes
}

type Lexemes<'a> = Peekable<slice::Iter<'a, Lexeme>>;

fn tokens(lexemes: &[Lexeme]) -> Result<Vec<Token>, Problem> {
    let mut rest = lexemes.iter().peekable();
    let mut tokens = Vec::with_capacity(lexemes.len());
    while let Some(lexeme) = rest.next() {
        tokens.push(match *lexeme {
            // Docker leaves `^` unescaped in its regular expression, where it is an anchor.
            Lexeme::Literal('^') => Token::AtStart,
            Lexeme::Literal(c) => Token::Char(c),
            Lexeme::Escaped(c) => Token::Char(escaped_literal(c)?),
            Lexeme::Star => Token::Star,
            Lexeme::Question => Token::AnyChar,
            Lexeme::DoubleStar { last: true } => Token::AnyRun,
            Lexeme::DoubleStar { last: false } => Token::OptionalDirs,
            Lexeme::Open => Token::Class(class(&mut rest)?),
            Lexeme::Close => Token::Char(']'),
        });
    }
    Ok(tokens)
}

/// Reads a class after its `[`, up to and including its `]`.
fn class(rest: &mut Lexemes<'_>) -> Result<Class, Problem> {
    let negated = rest
        .next_if(|lexeme| matches!(lexeme, Lexeme::Literal('^')))
        .is_some();
    let mut ranges = Vec::new();
    loop {
        let from = match rest.next() {
            Some(Lexeme::Close) if !ranges.is_empty() => return Ok(Class { negated, ranges }),
            lexeme => class_member(lexeme, rest)?,
        };
        let to = match rest.next_if(|lexeme| matches!(lexeme, Lexeme::Literal('-'))) {
            Some(_) => class_member(rest.next(), rest)?,
            None => from,
        };
        if from > to {
            return Err(Problem::ReversedRange { from, to });
        }
        ranges.push((from, to));
    }
}

fn class_member(lexeme: Option<&Lexeme>, rest: &mut Lexemes<'_>) -> Result<char, Problem> {
    match lexeme {
        Some(Lexeme::Literal(c)) => Ok(*c),
        Some(Lexeme::Escaped(c)) => escaped_literal(*c),
        Some(Lexeme::Star | Lexeme::DoubleStar { .. }) => Err(Problem::WildcardInClass('*')),
        Some(Lexeme::Question) => Err(Problem::WildcardInClass('?')),
        Some(Lexeme::Open) if matches!(rest.peek(), Some(Lexeme::Literal(':'))) => {
            Err(Problem::PosixClass)
        }
        Some(Lexeme::Open) => Ok('['),
        // Ruled out by `check_syntax`.
        Some(Lexeme::Close) => Err(Problem::MalformedClass),
        None => Err(Problem::UnclosedClass),
    }
}

/// Docker's regular expressions take `\` before ASCII punctuation or space as that character;
/// before anything else it is a class, an assertion or an error.
fn escaped_literal(c: char) -> Result<char, Problem> {
    if c.is_ascii() && !c.is_ascii_alphanumeric() {
        Ok(c)
    } else {
        Err(Problem::UnsupportedEscape(c))
    }
}
