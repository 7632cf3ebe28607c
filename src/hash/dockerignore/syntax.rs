//! What can be wrong with a pattern, before the line it sits on is known ([`Problem`]), and the
//! syntax check Docker runs when it reads the file.

use std::iter::Peekable;

use super::error::IgnoreError;

/// What is wrong with a pattern, before the line it sits on is known.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Problem {
    UnclosedClass,
    MalformedClass,
    TrailingBackslash,
    ReversedRange { from: char, to: char },
    UnsupportedEscape(char),
    WildcardInClass(char),
    PosixClass,
}

impl Problem {
    pub(super) fn at(self, line: usize, written: &str) -> IgnoreError {
        let pattern = written.to_owned();
        match self {
            Problem::UnclosedClass => IgnoreError::UnclosedClass { line, pattern },
            Problem::MalformedClass => IgnoreError::MalformedClass { line, pattern },
            Problem::TrailingBackslash => IgnoreError::TrailingBackslash { line, pattern },
            Problem::ReversedRange { from, to } => IgnoreError::ReversedRange {
                line,
                pattern,
                from,
                to,
            },
            Problem::UnsupportedEscape(escaped) => IgnoreError::UnsupportedEscape {
                line,
                pattern,
                escaped,
            },
            Problem::WildcardInClass(wildcard) => IgnoreError::WildcardInClass {
                line,
                pattern,
                wildcard,
            },
            Problem::PosixClass => IgnoreError::PosixClass { line, pattern },
        }
    }
}

/// The syntax check Docker runs when it reads the file (Go's `filepath.Match` grammar): every
/// `\` escapes a character, and every `[` opens `[`, an optional `^`, one or more members or
/// `a-b` ranges (a member is a character other than `-` and `]`, or `\` and any character), `]`.
pub(super) fn check_syntax(pattern: &str) -> Result<(), Problem> {
    let mut chars = pattern.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '\\' => {
                chars.next().ok_or(Problem::TrailingBackslash)?;
            }
            '[' => {
                chars.next_if_eq(&'^');
                let mut members = 0;
                loop {
                    if members > 0 && chars.next_if_eq(&']').is_some() {
                        break;
                    }
                    class_member_syntax(&mut chars)?;
                    if chars.next_if_eq(&'-').is_some() {
                        class_member_syntax(&mut chars)?;
                    }
                    members += 1;
                }
            }
            _ => {}
        }
    }
    Ok(())
}

fn class_member_syntax(chars: &mut Peekable<std::str::Chars<'_>>) -> Result<(), Problem> {
    match chars.next() {
        None => return Err(Problem::UnclosedClass),
        Some('-' | ']') => return Err(Problem::MalformedClass),
        Some('\\') => {
            chars.next().ok_or(Problem::UnclosedClass)?;
        }
        Some(_) => {}
    }
    // A member must be followed by something: at least the closing `]`.
    match chars.peek() {
        None => Err(Problem::UnclosedClass),
        Some(_) => Ok(()),
    }
}
