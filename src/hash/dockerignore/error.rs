//! What Docker would reject in an ignore file: [`IgnoreError`], one variant per kind of line,
//! each with the line number, the pattern as written and a message that says how to fix it.

/// A line of the ignore file that Docker would reject, with the line number (1-based, counting
/// comments and blank lines) and the pattern as written (trimmed).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum IgnoreError {
    /// `!` with no path after it (also `!/`, which cleans to `!`).
    #[error("line {line}: {}", lone_bang(pattern))]
    LoneBang {
        /// Line number, 1-based.
        line: usize,
        /// The line as written, trimmed.
        pattern: String,
    },
    /// A `[` that no `]` closes.
    #[error(
        "line {line}: `{pattern}` opens a character class with `[` but never closes it; \
         add the missing `]`, or write `\\[` to match a literal `[`"
    )]
    UnclosedClass {
        /// Line number, 1-based.
        line: usize,
        /// The line as written, trimmed.
        pattern: String,
    },
    /// An empty class (`[]`, `[^]`), or a `-` or `]` where a class member belongs.
    #[error(
        "line {line}: `{pattern}` has a malformed character class (empty, or a `-` or `]` where \
         a character belongs); put at least one character between the brackets, and write `\\-` \
         or `\\]` to match those characters"
    )]
    MalformedClass {
        /// Line number, 1-based.
        line: usize,
        /// The line as written, trimmed.
        pattern: String,
    },
    /// A `\` at the end of the pattern, which escapes nothing.
    #[error(
        "line {line}: `{pattern}` ends with `\\`, which escapes nothing; remove it, or write \
         `\\\\` to match a backslash (a trailing space cannot be escaped: Docker trims it)"
    )]
    TrailingBackslash {
        /// Line number, 1-based.
        line: usize,
        /// The line as written, trimmed.
        pattern: String,
    },
    /// A class range whose end comes before its start, such as `[z-a]`. Docker accepts the
    /// file and fails the build when the pattern is first used.
    #[error(
        "line {line}: the range `{from}-{to}` in `{pattern}` runs backwards, which Docker \
         rejects once the build runs; write it from low to high, as `{to}-{from}`"
    )]
    ReversedRange {
        /// Line number, 1-based.
        line: usize,
        /// The line as written, trimmed.
        pattern: String,
        /// The start of the range as written.
        from: char,
        /// The end of the range as written.
        to: char,
    },
    /// `\` before a letter, a digit or a non-ASCII character: Docker hands it to its regular
    /// expression engine, which reads `\d`, `\w`, `\s`, … as classes and rejects the rest.
    #[error(
        "line {line}: `\\{escaped}` in `{pattern}` is not a literal `{escaped}` to Docker, which \
         reads it as a regular-expression escape; write `{escaped}` without the backslash, or \
         list the characters in brackets, e.g. `[0-9]`"
    )]
    UnsupportedEscape {
        /// Line number, 1-based.
        line: usize,
        /// The line as written, trimmed.
        pattern: String,
        /// The character after the backslash.
        escaped: char,
    },
    /// An unescaped `*` or `?` inside brackets, which Docker turns into a wildcard inside its
    /// regular expression's class instead of matching it literally.
    #[error(
        "line {line}: `{wildcard}` inside `[...]` in `{pattern}` is not a literal `{wildcard}` \
         to Docker, which turns it into a wildcard; write `\\{wildcard}` inside the brackets"
    )]
    WildcardInClass {
        /// Line number, 1-based.
        line: usize,
        /// The line as written, trimmed.
        pattern: String,
        /// `*` or `?`.
        wildcard: char,
    },
    /// `[:` inside brackets, which Docker's regular expression reads as a POSIX class such as
    /// `[:alpha:]` (and rejects when the name is unknown).
    #[error(
        "line {line}: `{pattern}` has `[:` inside a character class, which Docker reads as a \
         POSIX class such as `[:alpha:]`; list the characters instead, e.g. `[a-zA-Z]`, or write \
         `\\[` for a literal `[`"
    )]
    PosixClass {
        /// Line number, 1-based.
        line: usize,
        /// The line as written, trimmed.
        pattern: String,
    },
    /// A line longer than Docker's reader accepts.
    #[error(
        "line {line}: the line is {length} bytes long, but Docker reads at most 65535 bytes per \
         line and fails the build; shorten or split `{}`",
        excerpt(pattern)
    )]
    LineTooLong {
        /// Line number, 1-based.
        line: usize,
        /// The whole line.
        pattern: String,
        /// Its length in bytes.
        length: usize,
    },
}

impl IgnoreError {
    /// The 1-based line number of the offending line.
    pub fn line(&self) -> usize {
        match self {
            IgnoreError::LoneBang { line, .. }
            | IgnoreError::UnclosedClass { line, .. }
            | IgnoreError::MalformedClass { line, .. }
            | IgnoreError::TrailingBackslash { line, .. }
            | IgnoreError::ReversedRange { line, .. }
            | IgnoreError::UnsupportedEscape { line, .. }
            | IgnoreError::WildcardInClass { line, .. }
            | IgnoreError::PosixClass { line, .. }
            | IgnoreError::LineTooLong { line, .. } => *line,
        }
    }

    /// The offending line as written, trimmed.
    pub fn pattern(&self) -> &str {
        match self {
            IgnoreError::LoneBang { pattern, .. }
            | IgnoreError::UnclosedClass { pattern, .. }
            | IgnoreError::MalformedClass { pattern, .. }
            | IgnoreError::TrailingBackslash { pattern, .. }
            | IgnoreError::ReversedRange { pattern, .. }
            | IgnoreError::UnsupportedEscape { pattern, .. }
            | IgnoreError::WildcardInClass { pattern, .. }
            | IgnoreError::PosixClass { pattern, .. }
            | IgnoreError::LineTooLong { pattern, .. } => pattern,
        }
    }
}

fn lone_bang(pattern: &str) -> String {
    let what = if pattern == "!" {
        "`!` alone".to_owned()
    } else {
        format!("`{pattern}` is `!` alone once cleaned, which")
    };
    format!("{what} is not a pattern; write `!path` to re-include a path or remove the line")
}

fn excerpt(pattern: &str) -> String {
    match pattern.char_indices().nth(40) {
        Some((end, _)) => format!("{}…", &pattern[..end]),
        None => pattern.to_owned(),
    }
}
