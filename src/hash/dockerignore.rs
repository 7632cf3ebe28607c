//! `.dockerignore` rules, read and applied exactly as `docker build` applies them.
//!
//! This file owns all of Docker's ignore-file semantics: reading the file line by line as
//! moby/patternmatcher's `ignorefile.ReadAll` does, turning each line into a pattern as
//! `patternmatcher.New` does, matching paths with Docker's glob dialect (which Docker runs as a
//! regular expression, quirks included), and deciding, entry by entry during a top-down walk,
//! whether a path of the build context is sent, as BuildKit's context walker
//! (tonistiigi/fsutil, through `MatchesUsingParentResults`) decides it. Pattern problems that
//! Docker would only report once the build runs are reported here, at parse time.
//!
//! Sources of the behaviour reproduced here:
//! <https://github.com/moby/patternmatcher/blob/main/ignorefile/ignorefile.go> (reading),
//! <https://github.com/moby/patternmatcher/blob/main/patternmatcher.go> (patterns and matching),
//! <https://github.com/tonistiigi/fsutil/blob/master/filter.go> (BuildKit's walk).

use std::iter::Peekable;
use std::slice;

/// Docker reads the file with Go's `bufio.Scanner`, whose buffer holds 64 KiB including the
/// newline: a longer line fails the build with "token too long".
const MAX_LINE_BYTES: usize = 64 * 1024 - 1;

/// The parsed rules of one ignore file (`.dockerignore` or `<Dockerfile>.dockerignore`).
///
/// # How a path is decided
///
/// Docker's rule of thumb is "a pattern excludes a path when it matches the path or one of its
/// parent directories, and the last matching line wins". What `docker build` really runs, with
/// BuildKit and with the classic builder alike, is moby/patternmatcher's
/// `MatchesUsingParentResults` during a top-down walk, and this type reproduces that exactly:
/// walking down, each pattern remembers whether it matched an ancestor, and a pattern only
/// counts as matching an ancestor if it was *evaluated* there. Patterns are evaluated in order,
/// and a pattern is skipped while it cannot change the answer (an exclusion while the path is
/// already excluded, an exception `!…` while it is not). The two readings differ only on
/// unusual files, and there Docker's own walk is what counts:
///
/// - `a/b` ⏎ `!a`: `a/b` is excluded (`!a` was skipped at `a`, which nothing excluded then).
/// - `a` ⏎ `!a/c` ⏎ `a`: `a/c` is sent (the last `a` was skipped at the excluded `a`).
///
/// # Re-including below an excluded directory
///
/// For `**` ⏎ `!**/*.py` this type gives BuildKit's answer, the default of `docker build`:
/// `a.py` and `sub/b.py` are both sent. The classic builder skips the excluded directory `sub`
/// because no exception names it literally, and sends `a.py` only.
///
/// # Docker's glob dialect
///
/// Docker matches `*`, `?`, `[...]` and `**` by translating the pattern into a regular
/// expression, so besides the documented rules, these hold and are reproduced here:
/// a negated class `[^a]` also matches `/`; `!` right after `[` is an ordinary member;
/// a `^` outside brackets in a pattern that has a wildcard anchors at the start of the path;
/// `**` followed by plain text (`**file`) is a plain suffix test, so it matches `xfile`;
/// text followed by a final `**` (`dir**`) is a plain prefix test; in the other shapes `**` does
/// not cross a newline in a file name; a byte-order mark opening a wildcard pattern is dropped.
/// Where the translation makes a pattern mean something other than what it says, parsing fails
/// with a hint instead: an escaped letter or digit (`\d` is a digit class to Docker),
/// `*` or `?` inside brackets, and `[:` inside brackets (a POSIX class). `\` always escapes, as
/// on Linux and macOS clients.
#[derive(Debug, Clone, Default)]
pub struct DockerIgnore {
    rules: Vec<Rule>,
    /// Whether any rule is an exception (`!…`); without one, each answer needs only the
    /// parent's answer and the path itself.
    has_exceptions: bool,
}

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

impl DockerIgnore {
    /// Parses the text of an ignore file the way Docker reads it.
    ///
    /// A UTF-8 byte-order mark opening the file is dropped; a line whose first character is `#`
    /// is a comment (` #x` is the pattern `#x`); white space around a line is trimmed, and again
    /// after a leading `!`; the pattern is cleaned like a path (`.` and `..` resolved, repeated
    /// and trailing `/` dropped, then one leading `/` dropped), so `/foo`, `foo/` and `./foo` all
    /// mean `foo`, and `.` matches nothing.
    ///
    /// # Errors
    ///
    /// The first line Docker would reject, whether it rejects it when reading the file (a bare
    /// `!`, an unclosed or malformed `[...]`, a trailing `\`, a line over 65,535 bytes) or only
    /// once the build runs (a backwards range such as `[z-a]`), and the lines whose meaning
    /// Docker's regular-expression translation changes (see [`DockerIgnore`]).
    pub fn parse(text: &str) -> Result<DockerIgnore, IgnoreError> {
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
        let has_exceptions = rules.iter().any(|rule| rule.exception);
        Ok(DockerIgnore {
            rules,
            has_exceptions,
        })
    }

    /// No rules: nothing is excluded (the context has no ignore file).
    pub fn empty() -> DockerIgnore {
        DockerIgnore::default()
    }

    /// Whether there are no rules at all (an absent, empty or comment-only file).
    pub fn is_empty(&self) -> bool {
        self.rules.is_empty()
    }

    /// Is this path (relative to the context root, `/`-separated, no leading `./`) excluded?
    ///
    /// `parent_excluded` is this function's answer for the parent directory (`false` for
    /// entries at the root), so a walker calling it top-down decides each entry in one pass over
    /// the rules. When the file has exceptions (`!…`), Docker's answer depends on more than the
    /// parent's yes or no (see [`DockerIgnore`]), so the path's ancestors are re-evaluated from
    /// the root and `parent_excluded` is not used; that costs one pass per path component and
    /// allocates nothing for files of up to 512 rules. The root itself (`""`) is never
    /// excluded.
    pub fn excluded(&self, rel_path: &str, parent_excluded: bool) -> bool {
        if rel_path.is_empty() || self.rules.is_empty() {
            return false;
        }
        if !self.has_exceptions {
            // Without exceptions the running answer only ever turns from "kept" to "excluded",
            // so an excluded parent excludes everything below it, and a kept parent means no
            // rule matched an ancestor.
            return parent_excluded || self.rules.iter().any(|rule| rule.matcher.matches(rel_path));
        }
        with_words(self.rules.len().div_ceil(64), |matched_above| {
            let mut excluded = false;
            let ends = rel_path.match_indices('/').map(|(end, _)| end);
            for end in ends.chain([rel_path.len()]) {
                excluded = self.decide(&rel_path[..end], matched_above);
            }
            excluded
        })
    }

    /// May a walker skip descending into this excluded directory entirely? True only when no
    /// exception pattern (`!…`) could re-include anything below it, so skipping never drops a
    /// path [`DockerIgnore::excluded`] would keep. Call it only for a directory that
    /// [`DockerIgnore::excluded`] reported as excluded.
    pub fn can_prune(&self, rel_dir: &str) -> bool {
        if !self.has_exceptions {
            return true;
        }
        let below = format!("{rel_dir}/");
        !self
            .rules
            .iter()
            .any(|rule| rule.exception && rule.matcher.may_match_below(&below))
    }

    /// The cleaned patterns in file order, exceptions with their leading `!`, for hashing and
    /// for explaining why a path was left out.
    pub fn patterns(&self) -> impl Iterator<Item = &str> {
        self.rules.iter().map(|rule| rule.text.as_str())
    }

    /// One step of Docker's walk: decides `path` given, for each rule, whether it matched an
    /// ancestor, and records which rules matched `path` for the step below.
    fn decide(&self, path: &str, matched_above: &mut [u64]) -> bool {
        let mut excluded = false;
        for (index, rule) in self.rules.iter().enumerate() {
            // A rule that matched an ancestor matches here too; otherwise it is only evaluated
            // while it could change the answer.
            let hit = bit(matched_above, index)
                || (rule.exception == excluded && rule.matcher.matches(path));
            if hit {
                set_bit(matched_above, index);
                excluded = !rule.exception;
            }
        }
        excluded
    }
}

/// One pattern line.
#[derive(Debug, Clone)]
struct Rule {
    /// The cleaned pattern, with its leading `!` when it is an exception.
    text: String,
    /// Whether a match re-includes (`!…`) rather than excludes.
    exception: bool,
    matcher: Matcher,
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

/// What is wrong with a pattern, before the line it sits on is known.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Problem {
    UnclosedClass,
    MalformedClass,
    TrailingBackslash,
    ReversedRange { from: char, to: char },
    UnsupportedEscape(char),
    WildcardInClass(char),
    PosixClass,
}

impl Problem {
    fn at(self, line: usize, written: &str) -> IgnoreError {
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
fn check_syntax(pattern: &str) -> Result<(), Problem> {
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

/// How Docker tests one pattern against one path. Docker picks the cheapest test that gives its
/// regular expression's answer, except for `Prefix` and `Suffix`, whose answers differ from it in
/// corner cases that are reproduced on purpose.
#[derive(Debug, Clone)]
enum Matcher {
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

/// A compiled regular-expression pattern. Its literal head and tail (`src/` and `.js` in
/// `src/**/*.js`) are compared as text first, so most paths are turned down without running the
/// state machine, which then only sees the middle.
#[derive(Debug, Clone)]
struct Glob {
    tokens: Vec<Token>,
    /// The leading `Token::Char`s as text, and how many tokens they are.
    head: String,
    head_tokens: usize,
    /// The trailing `Token::Char`s (after the head) as text, and how many tokens they are.
    tail: String,
    tail_tokens: usize,
}

impl Glob {
    fn new(tokens: Vec<Token>) -> Glob {
        let literal = |token: &Token| match token {
            Token::Char(c) => Some(*c),
            _ => None,
        };
        let head: String = tokens.iter().map_while(literal).collect();
        let head_tokens = head.chars().count();
        let mut tail: Vec<char> = tokens[head_tokens..]
            .iter()
            .rev()
            .map_while(literal)
            .collect();
        tail.reverse();
        let tail_tokens = tail.len();
        Glob {
            head,
            head_tokens,
            tail: tail.into_iter().collect(),
            tail_tokens,
            tokens,
        }
    }

    fn matches(&self, path: &str) -> bool {
        let middle = path
            .strip_prefix(self.head.as_str())
            .and_then(|rest| rest.strip_suffix(self.tail.as_str()));
        let Some(middle) = middle else {
            return false;
        };
        let tokens = &self.tokens[self.head_tokens..self.tokens.len() - self.tail_tokens];
        run(tokens, middle, self.head_tokens == 0, |states| {
            bit(states, tokens.len())
        })
    }

    /// Whether some path starting with `below` could match; `true` when unsure. Any live state
    /// but the accepting one can still consume more of a longer path.
    fn may_match_below(&self, below: &str) -> bool {
        let accept = self.tokens.len();
        run(&self.tokens, below, true, |states| {
            states.iter().enumerate().any(|(word, &bits)| {
                let bits = if word == accept / 64 {
                    bits & !(1 << (accept % 64))
                } else {
                    bits
                };
                bits != 0
            })
        })
    }
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

/// One step of a compiled glob, matched against one character (or none).
#[derive(Debug, Clone)]
enum Token {
    Char(char),
    /// `?`: one character other than `/`.
    AnyChar,
    /// `*`: any run of characters other than `/`.
    Star,
    Class(Class),
    /// A final `**`: any run without a newline.
    AnyRun,
    /// A `**` with more after it: nothing, or any run without a newline that ends in `/`.
    OptionalDirs,
    /// `^`: the start of the path, matching no character.
    AtStart,
}

/// `[...]`: a set of character ranges, or everything outside them when negated (`/` included).
#[derive(Debug, Clone)]
struct Class {
    negated: bool,
    ranges: Vec<(char, char)>,
}

impl Class {
    fn contains(&self, c: char) -> bool {
        self.ranges.iter().any(|&(from, to)| from <= c && c <= to) != self.negated
    }
}

impl Matcher {
    /// Compiles a pattern that passed [`check_syntax`], choosing the test as Docker does.
    fn compile(pattern: &str) -> Result<Matcher, Problem> {
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

    fn matches(&self, path: &str) -> bool {
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
    fn may_match_below(&self, below: &str) -> bool {
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

/// Runs `tokens` as a set of live states over `input` (linear time, no backtracking) and hands
/// the final set to `finish`; state `tokens.len()` accepts. `at_start` tells whether `input`
/// starts the path, for `Token::AtStart`.
fn run<R>(tokens: &[Token], input: &str, at_start: bool, finish: impl FnOnce(&[u64]) -> R) -> R {
    let words = (tokens.len() + 1).div_ceil(64);
    with_words(2 * words, |buffer| {
        let (mut live, mut next) = buffer.split_at_mut(words);
        enter(tokens, live, 0, at_start);
        for c in input.chars() {
            next.fill(0);
            let mut any = false;
            for (word, &bits) in live.iter().enumerate() {
                let mut bits = bits;
                while bits != 0 {
                    let state = word * 64 + bits.trailing_zeros() as usize;
                    bits &= bits - 1;
                    any |= step(tokens, state, c, next);
                }
            }
            std::mem::swap(&mut live, &mut next);
            if !any {
                break;
            }
        }
        finish(live)
    })
}

/// Feeds `c` to live state `state`, adding the states it leads to into `next`; `false` when it
/// leads nowhere.
fn step(tokens: &[Token], state: usize, c: char, next: &mut [u64]) -> bool {
    let Some(token) = tokens.get(state) else {
        return false;
    };
    let to = match token {
        Token::Char(expected) if *expected == c => state + 1,
        Token::AnyChar if c != '/' => state + 1,
        Token::Class(class) if class.contains(c) => state + 1,
        Token::Star if c != '/' => state,
        Token::AnyRun if c != '\n' => state,
        Token::OptionalDirs if c != '\n' => {
            // Still inside the run; a `/` may also end it.
            set_bit(next, state);
            if c == '/' {
                enter(tokens, next, state + 1, false);
            }
            return true;
        }
        _ => return false,
    };
    enter(tokens, next, to, false);
    true
}

/// Adds `state` and every state reachable from it without consuming a character.
///
/// Stopping at a state already present is sound because states are fed in ascending order and
/// only ever lead forward: any state that could add `state` with its follow-ups did so before
/// `state` itself was fed (the one self-loop that adds a state alone, in `OptionalDirs`, adds
/// it while feeding that very state).
fn enter(tokens: &[Token], states: &mut [u64], mut state: usize, at_start: bool) {
    loop {
        if bit(states, state) {
            return;
        }
        match tokens.get(state) {
            Some(Token::AtStart) if at_start => state += 1,
            Some(Token::AtStart) => return,
            Some(Token::Star | Token::AnyRun | Token::OptionalDirs) => {
                set_bit(states, state);
                state += 1;
            }
            _ => {
                set_bit(states, state);
                return;
            }
        }
    }
}

/// Lends `f` a zeroed bit buffer of `words` words, on the stack when it is small.
fn with_words<R>(words: usize, f: impl FnOnce(&mut [u64]) -> R) -> R {
    const INLINE_WORDS: usize = 8;
    if words <= INLINE_WORDS {
        f(&mut [0; INLINE_WORDS][..words])
    } else {
        f(&mut vec![0; words])
    }
}

fn bit(bits: &[u64], index: usize) -> bool {
    bits[index / 64] & (1 << (index % 64)) != 0
}

fn set_bit(bits: &mut [u64], index: usize) {
    bits[index / 64] |= 1 << (index % 64);
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use super::*;

    fn parse(text: &str) -> DockerIgnore {
        DockerIgnore::parse(text).unwrap_or_else(|error| panic!("{text:?} should parse: {error}"))
    }

    fn error(text: &str) -> IgnoreError {
        match DockerIgnore::parse(text) {
            Ok(ignore) => panic!(
                "{text:?} should not parse, got {:?}",
                ignore.patterns().collect::<Vec<_>>()
            ),
            Err(error) => error,
        }
    }

    /// Docker's algorithm written out plainly (moby/patternmatcher `MatchesUsingParentResults`,
    /// called from the root down): the oracle the fast paths are checked against.
    fn buildkit_excluded(ignore: &DockerIgnore, path: &str) -> bool {
        let mut matched_above: Vec<bool> = Vec::new();
        let mut excluded = false;
        let segments: Vec<&str> = path.split('/').collect();
        for depth in 1..=segments.len() {
            let prefix = segments[..depth].join("/");
            let mut matched = vec![false; ignore.rules.len()];
            excluded = false;
            for (index, rule) in ignore.rules.iter().enumerate() {
                let mut hit = matched_above.get(index).copied().unwrap_or(false);
                if !hit {
                    if rule.exception != excluded {
                        continue;
                    }
                    hit = rule.matcher.matches(&prefix);
                }
                matched[index] = hit;
                if hit {
                    excluded = !rule.exception;
                }
            }
            matched_above = matched;
        }
        excluded
    }

    /// The documented rule of thumb (moby/patternmatcher `MatchesOrParentMatches`): a pattern
    /// matches when it matches the path or any parent; the last matching line wins.
    fn any_parent_excluded(ignore: &DockerIgnore, path: &str) -> bool {
        let mut excluded = false;
        for rule in &ignore.rules {
            if rule.exception != excluded {
                continue;
            }
            let mut prefixes = path.match_indices('/').map(|(end, _)| &path[..end]);
            if rule.matcher.matches(path) || prefixes.any(|prefix| rule.matcher.matches(prefix)) {
                excluded = !rule.exception;
            }
        }
        excluded
    }

    #[derive(Debug, Default, PartialEq, Eq)]
    struct Sent {
        files: Vec<String>,
        dirs: Vec<String>,
    }

    /// Walks an in-memory context the way the context writer does: top-down, each entry decided
    /// from its parent's answer, excluded directories skipped when `can_prune` allows. A
    /// directory is sent when it is kept or holds something kept. `entries` are files, or
    /// directories when they end in `/`; parents are implied. Also checks every answer against
    /// Docker's algorithm and that pruning changed nothing.
    fn walk(ignore: &DockerIgnore, entries: &[&str]) -> Sent {
        let mut tree: BTreeMap<String, bool> = BTreeMap::new();
        for entry in entries {
            let (path, is_dir) = entry
                .strip_suffix('/')
                .map_or((*entry, false), |dir| (dir, true));
            tree.insert(path.to_owned(), is_dir);
            let mut child = path;
            while let Some((parent, _)) = child.rsplit_once('/') {
                tree.insert(parent.to_owned(), true);
                child = parent;
            }
        }
        let mut pruned = Sent::default();
        visit(ignore, &tree, "", false, true, &mut pruned);
        let mut full = Sent::default();
        visit(ignore, &tree, "", false, false, &mut full);
        assert_eq!(
            pruned,
            full,
            "pruning changed what is sent for {:?}",
            ignore.patterns().collect::<Vec<_>>()
        );
        pruned.files.sort();
        pruned.dirs.sort();
        pruned
    }

    /// Returns whether anything below `dir` was sent.
    fn visit(
        ignore: &DockerIgnore,
        tree: &BTreeMap<String, bool>,
        dir: &str,
        dir_excluded: bool,
        prune: bool,
        sent: &mut Sent,
    ) -> bool {
        let parent_of = |path: &str| {
            path.rsplit_once('/')
                .map_or("", |(parent, _)| parent)
                .to_owned()
        };
        let mut sent_any = false;
        for (path, &is_dir) in tree.iter().filter(|(path, _)| parent_of(path) == dir) {
            let excluded = ignore.excluded(path, dir_excluded);
            assert_eq!(
                excluded,
                buildkit_excluded(ignore, path),
                "excluded({path:?}) differs from Docker's algorithm for {:?}",
                ignore.patterns().collect::<Vec<_>>()
            );
            if is_dir {
                if excluded && prune && ignore.can_prune(path) {
                    continue;
                }
                let inside = visit(ignore, tree, path, excluded, prune, sent);
                if !excluded || inside {
                    sent.dirs.push(path.clone());
                    sent_any = true;
                }
            } else if !excluded {
                sent.files.push(path.clone());
                sent_any = true;
            }
        }
        sent_any
    }

    fn kept(text: &str, entries: &[&str]) -> Vec<String> {
        walk(&parse(text), entries).files
    }

    fn matches(pattern: &str, path: &str) -> bool {
        let ignore = parse(pattern);
        assert_eq!(ignore.rules.len(), 1, "{pattern:?} should be one rule");
        let matcher = &ignore.rules[0].matcher;
        if let Matcher::Glob(glob) = matcher {
            let whole = run(&glob.tokens, path, true, |states| {
                bit(states, glob.tokens.len())
            });
            assert_eq!(
                matcher.matches(path),
                whole,
                "literal head and tail of {pattern:?} on {path:?}"
            );
        }
        matcher.matches(path)
    }

    /// The rows of Docker's answers (shared/dockerignore-vectors.md, "Cases").
    #[test]
    fn docker_cases() {
        let cases: &[(&str, &str, &[&str], &[&str])] = &[
            (
                "glob with exception",
                "*.md\n!README.md",
                &["README.md", "a.md", "docs/b.md"],
                &["README.md", "docs/b.md"],
            ),
            (
                "bare name is root-only",
                "node_modules",
                &["node_modules/x.js", "app/index.js", "app/node_modules/y.js"],
                &["app/index.js", "app/node_modules/y.js"],
            ),
            (
                "`**/` at any depth",
                "**/node_modules",
                &["node_modules/x.js", "app/index.js", "app/node_modules/y.js"],
                &["app/index.js"],
            ),
            (
                "trailing slash dropped, matches files too",
                "build/",
                &["build", "src/build"],
                &["src/build"],
            ),
            (
                "trailing slash dropped, directory",
                "build/",
                &["build/out.o", "src/build"],
                &["src/build"],
            ),
            (
                "leading slash dropped",
                "/secret.txt",
                &["secret.txt", "sub/secret.txt"],
                &["sub/secret.txt"],
            ),
            (
                "`#` is a comment only in column 1",
                " #notacomment",
                &["#notacomment", "other"],
                &["other"],
            ),
            (
                "literal re-include under an excluded dir",
                "dir\n!dir/keep.txt",
                &["dir/keep.txt", "dir/drop.txt", "dir/sub/x"],
                &["dir/keep.txt"],
            ),
            (
                "wildcard re-include under an excluded dir (BuildKit)",
                "**\n!**/*.py",
                &["a.py", "b.txt", "sub/b.py", "sub/c.txt"],
                &["a.py", "sub/b.py"],
            ),
            (
                "allow-list",
                "*\n!src",
                &["src/main.js", "README.md", "lib/x.js"],
                &["src/main.js"],
            ),
            (
                "`[!a]` is not negation",
                "[!a]b",
                &["ab", "bb", "!b"],
                &["bb"],
            ),
            ("`[^a]` is negation", "[^a]b", &["ab", "bb", "!b"], &["ab"]),
            (
                "`*` does not cross `/`",
                "src/*.js",
                &["src/a.js", "src/sub/b.js"],
                &["src/sub/b.js"],
            ),
            (
                "`**/*.log` includes the root",
                "**/*.log",
                &["a.log", "x/b.log", "c.txt"],
                &["c.txt"],
            ),
            (
                "`a/**/b` with zero dirs",
                "a/**/b",
                &["a/b", "a/x/b", "a/c"],
                &["a/c"],
            ),
            ("escaped star", "\\*.txt", &["*.txt", "a.txt"], &["a.txt"]),
            (
                "last match wins",
                "*.md\nREADME-secret.md\n!README*.md",
                &["README.md", "README-secret.md", "CHANGES.md"],
                &["README-secret.md", "README.md"],
            ),
            (
                "`..` is cleaned",
                "foo/../bar",
                &["bar", "foo/bar"],
                &["foo/bar"],
            ),
        ];
        for (name, text, entries, expected) in cases {
            assert_eq!(kept(text, entries), *expected, "case {name:?}: {text:?}");
        }
    }

    /// The "single facts" of shared/dockerignore-vectors.md.
    #[test]
    fn star_log_does_not_reach_into_directories() {
        assert_eq!(kept("*.log", &["a.log", "logs/a.log"]), ["logs/a.log"]);
    }

    #[test]
    fn star_slash_becomes_star_and_excludes_everything() {
        let ignore = parse("*/");
        assert_eq!(ignore.patterns().collect::<Vec<_>>(), ["*"]);
        assert_eq!(walk(&ignore, &["a.txt", "d/x", "d/e/y"]), Sent::default());
    }

    #[test]
    fn docs_double_star_keeps_the_directory_but_not_its_content() {
        let ignore = parse("docs/**");
        assert!(!ignore.excluded("docs", false));
        assert!(ignore.excluded("docs/a.md", false));
        let sent = walk(&ignore, &["docs/a.md", "docs/sub/b.md", "other.md"]);
        assert_eq!(sent.files, ["other.md"]);
        assert_eq!(sent.dirs, ["docs"]);
    }

    /// The "Reading the file" facts.
    #[test]
    fn reading_the_file() {
        let cases: &[(&str, &str, &[&str])] = &[
            ("byte-order mark dropped", "\u{feff}secret", &["secret"]),
            (
                "byte-order mark before a comment",
                "\u{feff}# comment\nx",
                &["x"],
            ),
            (
                "byte-order mark kept after line 1",
                "a\n\u{feff}b",
                &["a", "\u{feff}b"],
            ),
            ("comment", "# comment\n#!x\nx", &["x"]),
            ("space before # makes a pattern", " #x", &["#x"]),
            ("trimmed", "  foo \t\n\t\n", &["foo"]),
            ("CRLF", "a\r\nb\r\n", &["a", "b"]),
            (
                "exception trimmed again",
                "! foo \n!\t/a/b/",
                &["!foo", "!a/b"],
            ),
            ("leading slash", "/foo", &["foo"]),
            ("trailing slash", "foo/", &["foo"]),
            ("dot slash", "./foo", &["foo"]),
            ("repeated slashes", "foo//bar///", &["foo/bar"]),
            ("dot dot", "a/./b/../c\n../x\n/../y", &["a/c", "../x", "y"]),
            ("dot", ".\n./\na/..", &[".", ".", "."]),
            ("root", "/", &["/"]),
            ("exception cleaned", "!./a/../b/", &["!b"]),
            // Docker cleans `!` + pattern once more: `!..` is a segment that `..` removes.
            ("exception cleaned twice", "!../..", &["."]),
            // Cleaning can leave white space at an end, which Docker's second pass trims.
            ("trimmed after cleaning", "a/ /\nx/../ /", &["a"]),
            ("escaped space stays", "a\\ b", &["a\\ b"]),
            // Docker's second pass trims an exception's `!`, not the pattern after it.
            (
                "exception keeps white space left by cleaning",
                "x/../ a\n!x/../ a",
                &["a", "! a"],
            ),
        ];
        for (name, text, expected) in cases {
            assert_eq!(
                parse(text).patterns().collect::<Vec<_>>(),
                *expected,
                "{name}: {text:?}"
            );
        }
    }

    #[test]
    fn dot_and_root_match_nothing() {
        assert_eq!(
            kept(".\n/\n!.", &["a", ".hidden", "d/e"]),
            [".hidden", "a", "d/e"]
        );
    }

    #[test]
    fn empty_files() {
        assert!(DockerIgnore::empty().is_empty());
        assert!(!DockerIgnore::empty().excluded("a", false));
        assert!(DockerIgnore::empty().can_prune("a"));
        for text in ["", "\n\n", "# only a comment\n   \n", "\u{feff}"] {
            assert!(parse(text).is_empty(), "{text:?}");
        }
        assert!(!parse("x").is_empty());
    }

    #[test]
    fn root_is_never_excluded() {
        assert!(!parse("**").excluded("", false));
        assert!(!parse("**\n!a").excluded("", false));
    }

    #[test]
    fn error_texts() {
        let cases: &[(&str, &str)] = &[
            ("!", "line 1: `!` alone is not a pattern; write `!path` to re-include a path or remove the line"),
            (
                "a\n# c\n\n  !/  ",
                "line 4: `!/` is `!` alone once cleaned, which is not a pattern; write `!path` to re-include a path or remove the line",
            ),
            (
                "a[b",
                "line 1: `a[b` opens a character class with `[` but never closes it; add the missing `]`, or write `\\[` to match a literal `[`",
            ),
            (
                "[]",
                "line 1: `[]` has a malformed character class (empty, or a `-` or `]` where a character belongs); put at least one character between the brackets, and write `\\-` or `\\]` to match those characters",
            ),
            (
                "foo\\ ",
                "line 1: `foo\\` ends with `\\`, which escapes nothing; remove it, or write `\\\\` to match a backslash (a trailing space cannot be escaped: Docker trims it)",
            ),
            (
                "ok\n[z-a]",
                "line 2: the range `z-a` in `[z-a]` runs backwards, which Docker rejects once the build runs; write it from low to high, as `a-z`",
            ),
            (
                "\\d",
                "line 1: `\\d` in `\\d` is not a literal `d` to Docker, which reads it as a regular-expression escape; write `d` without the backslash, or list the characters in brackets, e.g. `[0-9]`",
            ),
            (
                "[*.]x",
                "line 1: `*` inside `[...]` in `[*.]x` is not a literal `*` to Docker, which turns it into a wildcard; write `\\*` inside the brackets",
            ),
            (
                "[[:alpha:]]",
                "line 1: `[[:alpha:]]` has `[:` inside a character class, which Docker reads as a POSIX class such as `[:alpha:]`; list the characters instead, e.g. `[a-zA-Z]`, or write `\\[` for a literal `[`",
            ),
        ];
        for (text, expected) in cases {
            assert_eq!(error(text).to_string(), *expected, "{text:?}");
        }
    }

    #[test]
    fn line_too_long() {
        let longest = "a".repeat(MAX_LINE_BYTES);
        assert_eq!(parse(&format!("x\n{longest}\n")).patterns().count(), 2);
        let error = error(&format!("x\n{longest}b"));
        assert_eq!(error.line(), 2);
        assert_eq!(
            error.to_string(),
            "line 2: the line is 65536 bytes long, but Docker reads at most 65535 bytes per line and \
             fails the build; shorten or split `aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa…`"
        );
        // The byte-order mark and the carriage return count, as in Docker's reader.
        assert!(
            DockerIgnore::parse(&format!("\u{feff}{}", "a".repeat(MAX_LINE_BYTES - 2))).is_err()
        );
        assert!(DockerIgnore::parse(&format!("{}\r\n", "a".repeat(MAX_LINE_BYTES))).is_err());
    }

    #[test]
    fn error_kinds_lines_and_patterns() {
        type Case = (&'static str, usize, &'static str, fn(&IgnoreError) -> bool);
        let cases: &[Case] = &[
            ("!", 1, "!", |e| matches!(e, IgnoreError::LoneBang { .. })),
            ("# c\n\n[", 3, "[", |e| {
                matches!(e, IgnoreError::UnclosedClass { .. })
            }),
            ("a[", 1, "a[", |e| {
                matches!(e, IgnoreError::UnclosedClass { .. })
            }),
            ("[^", 1, "[^", |e| {
                matches!(e, IgnoreError::UnclosedClass { .. })
            }),
            ("[^bc", 1, "[^bc", |e| {
                matches!(e, IgnoreError::UnclosedClass { .. })
            }),
            ("[a\\", 1, "[a\\", |e| {
                matches!(e, IgnoreError::UnclosedClass { .. })
            }),
            ("[a-", 1, "[a-", |e| {
                matches!(e, IgnoreError::UnclosedClass { .. })
            }),
            ("[^]", 1, "[^]", |e| {
                matches!(e, IgnoreError::MalformedClass { .. })
            }),
            ("[]a]", 1, "[]a]", |e| {
                matches!(e, IgnoreError::MalformedClass { .. })
            }),
            ("[-]", 1, "[-]", |e| {
                matches!(e, IgnoreError::MalformedClass { .. })
            }),
            ("[x-]", 1, "[x-]", |e| {
                matches!(e, IgnoreError::MalformedClass { .. })
            }),
            ("[-x]", 1, "[-x]", |e| {
                matches!(e, IgnoreError::MalformedClass { .. })
            }),
            ("[a-b-c]", 1, "[a-b-c]", |e| {
                matches!(e, IgnoreError::MalformedClass { .. })
            }),
            ("\\", 1, "\\", |e| {
                matches!(e, IgnoreError::TrailingBackslash { .. })
            }),
            ("a*\\", 1, "a*\\", |e| {
                matches!(e, IgnoreError::TrailingBackslash { .. })
            }),
            ("!a\\", 1, "!a\\", |e| {
                matches!(e, IgnoreError::TrailingBackslash { .. })
            }),
            // moby/moby#52203: a real-world pattern Docker only rejects during the build.
            ("[Local-Only]/", 1, "[Local-Only]/", |e| {
                matches!(
                    e,
                    IgnoreError::ReversedRange {
                        from: 'l',
                        to: 'O',
                        ..
                    }
                )
            }),
            ("x\n![z-a]", 2, "![z-a]", |e| {
                matches!(
                    e,
                    IgnoreError::ReversedRange {
                        from: 'z',
                        to: 'a',
                        ..
                    }
                )
            }),
            ("[\\~-\\!]", 1, "[\\~-\\!]", |e| {
                matches!(
                    e,
                    IgnoreError::ReversedRange {
                        from: '~',
                        to: '!',
                        ..
                    }
                )
            }),
            ("**/[b-a]*", 1, "**/[b-a]*", |e| {
                matches!(e, IgnoreError::ReversedRange { .. })
            }),
            ("a\\q", 1, "a\\q", |e| {
                matches!(e, IgnoreError::UnsupportedEscape { escaped: 'q', .. })
            }),
            ("\\é", 1, "\\é", |e| {
                matches!(e, IgnoreError::UnsupportedEscape { escaped: 'é', .. })
            }),
            ("[\\w]", 1, "[\\w]", |e| {
                matches!(e, IgnoreError::UnsupportedEscape { escaped: 'w', .. })
            }),
            ("[a?]", 1, "[a?]", |e| {
                matches!(e, IgnoreError::WildcardInClass { wildcard: '?', .. })
            }),
            ("[a**]", 1, "[a**]", |e| {
                matches!(e, IgnoreError::WildcardInClass { wildcard: '*', .. })
            }),
            ("[[:foo:]]", 1, "[[:foo:]]", |e| {
                matches!(e, IgnoreError::PosixClass { .. })
            }),
        ];
        for (text, line, pattern, is_kind) in cases {
            let error = error(text);
            assert!(is_kind(&error), "{text:?}: {error:?}");
            assert_eq!(error.line(), *line, "{text:?}");
            assert_eq!(error.pattern(), *pattern, "{text:?}");
        }
    }

    #[test]
    fn accepted_class_and_escape_forms() {
        for text in [
            "[\\]a]",
            "[\\-]",
            "[x\\-]",
            "[\\-x]",
            "[\\*\\?]",
            "[\\[:]",
            "[a-a]",
            "a]",
            "[!]",
            "\\_\\ \\.\\\\",
            "[[]",
            "[^^]",
        ] {
            assert!(DockerIgnore::parse(text).is_ok(), "{text:?} should parse");
        }
    }

    #[test]
    fn glob_matching() {
        let cases: &[(&str, &str, bool)] = &[
            ("abc", "abc", true),
            ("abc", "abcd", false),
            ("ab*ba", "aba", false),
            ("ab*ba", "abba", true),
            ("ab?ba", "ab/ba", false),
            ("\\*.txt", "*.txt", true),
            ("\\*.txt", "a.txt", false),
            ("*", "abc", true),
            ("*c", "abc", true),
            ("a*", "a", true),
            ("a*/b", "abc/b", true),
            ("a*/b", "a/c/b", false),
            ("a*b*c*d*e*/f", "axbxcxdxe/f", true),
            ("a*b*c*d*e*/f", "axbxcxdxexxx/f", true),
            ("a*b*c*d*e*/f", "axbxcxdxe/xxx/f", false),
            ("a*b*c*d*e*/f", "axbxcxdxexxx/fff", false),
            ("a*b?c*x", "abxbbxdbxebxczzx", true),
            ("a*b?c*x", "abxbbxdbxebxczzy", false),
            ("ab[c]", "abc", true),
            ("ab[b-d]", "abc", true),
            ("ab[e-g]", "abc", false),
            ("ab[^c]", "abc", false),
            ("ab[^e-g]", "abc", true),
            ("a[b-d]e", "ae", false),
            ("a?b", "a☺b", true),
            ("a[^a]b", "a☺b", true),
            ("a???b", "a☺b", false),
            ("[a-ζ]*", "α", true),
            ("*[a-ζ]", "A", false),
            ("a?b", "a/b", false),
            ("a*b", "a/b", false),
            ("[\\]a]", "]", true),
            ("[\\-]", "-", true),
            ("[x\\-]", "x", true),
            ("[x\\-]", "-", true),
            ("[x\\-]", "z", false),
            ("[\\-x]", "a", false),
            ("[\\*\\?]", "?", true),
            ("[[]", "[", true),
            ("a]", "a]", true),
            ("a\\*b", "a*b", true),
            ("a\\*b", "ab", false),
            ("a\\\\", "a\\", true),
            (".*", ".foo", true),
            (".*", "foo", false),
            ("abc.def", "abcZdef", false),
            ("abc?def", "abcZdef", true),
            ("abc?def", "abcdef", false),
            ("a(b)c/def", "a(b)c/def", true),
            ("a.|)$(}+{bc", "a.|)$(}+{bc", true),
            ("a.|)$(}+{b?", "a.|)$(}+{bc", true),
            (
                "dist/*.whl",
                "dist/proxy.py-2.4.0rc3.dev36+g08acad9-py3-none-any.whl",
                true,
            ),
            ("**", "file", true),
            ("**", "dir/file", true),
            ("**/**", "dir/file", true),
            ("***", "dir/file", true),
            ("dir/**", "dir/file", true),
            ("dir/**", "dir/dir2/file", true),
            ("dir/**", "dir", false),
            ("**/dir", "dir", true),
            ("**/dir", "x/y/dir", true),
            ("**/dir", "xdir", false),
            ("**/dir", "dir/file", false),
            ("**/dir2/*", "dir/dir2/file", true),
            ("**/dir2/**", "dir/dir2/dir3/file", true),
            ("**/file*", "dir/dir/file.txt", true),
            ("**/file*txt", "dir/dir/file.txt", true),
            ("**/**/*.txt", "dir/dir/file.txt", true),
            ("**/**/*.txt2", "dir/dir/file.txt", false),
            ("**/*.txt", "file.txt", true),
            ("**/**/*.txt", "file.txt", true),
            ("a**/*.txt", "a/file.txt", true),
            ("a**/*.txt", "a/dir/dir/file.txt", true),
            ("a/*.txt**", "a/file.txt", true),
            ("**/foo/bar", "dir/dir2/foo/bar", true),
            ("**/.foo", ".foo", true),
            ("**/.foo", "bar.foo", false),
            ("a/**/b", "a/b", true),
            ("a/**/b", "a/x/y/b", true),
            ("a/**/b", "a/xb", false),
            // `[^…]` and ranges spanning `/` match `/` in Docker's regular expression.
            ("a[^x]b", "a/b", true),
            ("a[/]b", "a/b", true),
            ("a[+-0]b", "a/b", true),
            ("[!a]b", "!b", true),
            ("[!a]b", "bb", false),
        ];
        for (pattern, path, expected) in cases {
            assert_eq!(
                matches(pattern, path),
                *expected,
                "{pattern:?} against {path:?}"
            );
        }
    }

    /// Shapes where Docker's cheaper tests or its regular expression give answers the glob rules
    /// alone would not; reproduced because they decide what Docker sends.
    #[test]
    fn docker_matching_quirks() {
        let cases: &[(&str, &str, bool)] = &[
            // `**` then plain text is a plain suffix test.
            ("**file", "file", true),
            ("**file", "xfile", true),
            ("**file", "d/xfile", true),
            ("**file*", "xfile", false),
            // Plain text then `**` is a plain prefix test.
            ("x**", "xy/z", true),
            ("x**", "x", true),
            // `^` is literal in a plain pattern and an anchor in a wildcard one.
            ("a^b", "a^b", true),
            ("a^b*", "a^bc", false),
            ("^a*", "ab", true),
            ("*^a", "a", true),
            ("**/^a", "x/^a", true),
            ("**/^a", "a", false),
            ("**/^a*", "ab", true),
            ("**/^a*", "x/ab", false),
            ("[a^]", "^", true),
            ("\\^a*", "^ab", true),
            // In a regular expression `**` stops at a newline; `*`, `?` and the plain tests do not.
            ("*/**", "a/x\ny", false),
            ("*/**", "a/xy", true),
            ("a/**", "a/x\ny", true),
            ("**/x", "a\nb/x", true),
            ("**/x*", "a\nb/x", false),
            ("*", "a\nb", true),
            ("a?b", "a\nb", true),
        ];
        for (pattern, path, expected) in cases {
            assert_eq!(
                matches(pattern, path),
                *expected,
                "{pattern:?} against {path:?}"
            );
        }
        // A byte-order mark opening a wildcard pattern is dropped; in a plain one it stays.
        let ignore = parse("x\n\u{feff}*.txt\n\u{feff}y\n\u{feff}**/z");
        assert!(ignore.rules[1].matcher.matches("a.txt"));
        assert!(!ignore.rules[2].matcher.matches("y"));
        assert!(ignore.rules[2].matcher.matches("\u{feff}y"));
        assert!(!ignore.rules[3].matcher.matches("z") && !ignore.rules[3].matcher.matches("a/z"));
    }

    /// Where Docker's walk (BuildKit and the classic builder alike) and the rule of thumb
    /// "matches the path or a parent, last match wins" part ways, Docker's walk is followed.
    #[test]
    fn docker_walk_over_rule_of_thumb() {
        let cases: &[(&str, &[&str], &[&str])] = &[
            // `!a` is skipped at `a` (nothing excluded it yet), so it does not cover `a/b`.
            ("a/b\n!a", &["a/b", "a/c"], &["a/c"]),
            // The second `a` is skipped at the excluded `a`, so it does not cover `a/c`.
            ("a\n!a/c\na", &["a/b", "a/c"], &["a/c"]),
        ];
        for (text, entries, expected) in cases {
            let ignore = parse(text);
            assert_eq!(walk(&ignore, entries).files, *expected, "{text:?}");
        }
        assert!(
            any_parent_excluded(&parse("a/b\n!a"), "a/b")
                != parse("a/b\n!a").excluded("a/b", false)
        );
    }

    #[test]
    fn exceptions_and_directories() {
        let cases: &[(&str, &[&str], &[&str])] = &[
            (
                "dir\n!dir/sub/keep",
                &["dir/sub/keep", "dir/sub/drop", "dir/x"],
                &["dir/sub/keep"],
            ),
            (
                "dir\n!dir/sub",
                &["dir/sub/a", "dir/sub/b/c", "dir/x"],
                &["dir/sub/a", "dir/sub/b/c"],
            ),
            (
                "dir\n!dir/sub/**",
                &["dir/sub/a", "dir/sub/b/c", "dir/x"],
                &["dir/sub/a", "dir/sub/b/c"],
            ),
            (
                "**\n!**/keep/**",
                &["a/keep/x", "keep/y", "a/b/c"],
                &["a/keep/x", "keep/y"],
            ),
            (
                "*\n!*.go\n**/testdata",
                &["main.go", "pkg/a.go", "README", "testdata/t.go"],
                &["main.go"],
            ),
            (
                "**/*.go\n!cmd/*.go",
                &["a.go", "cmd/b.go", "cmd/sub/c.go"],
                &["cmd/b.go"],
            ),
            ("!keep\nkeep", &["keep", "other"], &["other"]),
            (
                "*.tmp\n!important.tmp\n*.tmp",
                &["important.tmp", "x"],
                &["x"],
            ),
            ("a\n!a\n", &["a/b"], &["a/b"]),
            (
                "**/node_modules\n!app/node_modules/keep",
                &["app/node_modules/keep", "app/node_modules/x"],
                &["app/node_modules/keep"],
            ),
        ];
        for (text, entries, expected) in cases {
            assert_eq!(kept(text, entries), *expected, "{text:?}");
        }
    }

    #[test]
    fn excluded_directories_are_sent_when_something_inside_is() {
        let sent = walk(
            &parse("**\n!**/*.py"),
            &["a.py", "sub/b.py", "sub/c.txt", "other/d.txt"],
        );
        assert_eq!(sent.files, ["a.py", "sub/b.py"]);
        assert_eq!(sent.dirs, ["sub"]);
    }

    #[test]
    fn pruning() {
        let cases: &[(&str, &str, bool)] = &[
            ("node_modules", "node_modules", true),
            ("dir\n!dir/keep.txt", "dir", false),
            ("dir\n!dir/keep.txt", "other", true),
            ("dir\n!dir/keep.txt", "di", true),
            ("dir\n!dir/keep.txt", "dir/keep.txt", true),
            ("**\n!**/*.py", "sub", false),
            ("*\n!src", "lib", true),
            ("a\n!a/b/**", "a", false),
            ("a\n!a/b/**", "a/b", false),
            ("a\n!a/b/**", "a/c", true),
            ("a\n!a/b**", "a/bc", false),
            ("a\n!**/keep", "a", false),
            ("a\n![ab]/x", "a", false),
            ("a\n![ab]/x", "c", true),
            ("a\n!*/x/y", "a/x", false),
            ("a\n!*/x/y", "a/z", true),
        ];
        for (text, dir, expected) in cases {
            assert_eq!(
                parse(text).can_prune(dir),
                *expected,
                "can_prune({dir:?}) for {text:?}"
            );
        }
    }

    #[test]
    fn patterns_for_hashing() {
        let ignore = parse("# comment\n/target/\n! ./keep/ \n**/*.log\n");
        assert_eq!(
            ignore.patterns().collect::<Vec<_>>(),
            ["target", "!keep", "**/*.log"]
        );
    }

    #[test]
    fn no_input_panics() {
        let long = "a/".repeat(20_000);
        let stars = "**/".repeat(10_000);
        let classes = "[a-z]".repeat(10_000);
        let odd: Vec<String> = [
            "",
            "!",
            "!!",
            "! !",
            "[",
            "]",
            "\\",
            "**/**/**",
            "[]",
            "[^]",
            "[!]",
            "[\\",
            "[a-",
            "*?[]\\",
            "!**",
            "!/",
            "/",
            "//",
            "..",
            "../..",
            "!../..",
            "\u{feff}",
            "\u{feff}**",
            "\u{feff}[z-a]",
            "é/ü/**/文件",
            "[é-ü]",
            "\\é",
            "\u{0}",
            "\r",
            "\r\n\r\n",
            "\t!\t",
            " # ",
            "^",
            "^^",
            "$",
            "a\\ ",
            "[[",
            "[[:",
            "[[:]",
            "]]",
            "*\u{2028}",
            "\u{85}x\u{a0}",
        ]
        .iter()
        .map(|s| s.to_string())
        .chain([long, stars, classes, "x".repeat(70_000)])
        .collect();
        let paths = [
            "",
            "a",
            "a/b",
            "é/ü/文件",
            "a\nb/c",
            "[/]",
            "\\",
            "a/b/c/d/e/f/g/h",
        ];
        for text in &odd {
            for line in [text.clone(), format!("x\n!{text}"), format!("{text}\n!a")] {
                if let Ok(ignore) = DockerIgnore::parse(&line) {
                    for path in paths {
                        let excluded = ignore.excluded(path, false);
                        let _ = ignore.excluded(path, excluded);
                        let _ = ignore.can_prune(path);
                    }
                    let _ = ignore.patterns().count();
                }
            }
        }
    }

    #[test]
    fn many_rules_spill_to_the_heap() {
        let mut text: String = (0..600).map(|n| format!("f{n}\n!f{n}/keep\n")).collect();
        text.push_str("!f599");
        let ignore = parse(&text);
        assert_eq!(
            walk(&ignore, &["f1/keep", "f1/x", "f599/y", "g"]).files,
            ["f1/keep", "f599/y", "g"]
        );
    }

    #[test]
    fn long_globs_spill_to_the_heap() {
        let pattern = format!("{}*", "?".repeat(300));
        assert!(matches(&pattern, &"x".repeat(300)));
        assert!(!matches(&pattern, &"x".repeat(299)));
        assert!(matches(&pattern, &"x".repeat(400)));
    }

    /// Random ignore files over random trees: the walk must agree with Docker's algorithm for
    /// every entry (checked inside `walk`), and pruning must never change what is sent.
    #[test]
    fn random_files_agree_with_docker_and_pruning_is_safe() {
        let mut seed = 0x9e37_79b9_7f4a_7c15_u64;
        let mut next = move |below: usize| {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            (seed % below as u64) as usize
        };
        let names = ["a", "b", "a.py", "b.md", "ab"];
        let pieces = [
            "a", "b", "*", "**", "?", "[ab]", "[^a]", ".py", "/", "/", "*.md", "a/", "b/",
        ];
        for _ in 0..1000 {
            let entries: Vec<String> = (0..12)
                .map(|_| {
                    (0..=next(3))
                        .map(|_| names[next(names.len())])
                        .collect::<Vec<_>>()
                        .join("/")
                })
                .collect();
            // A path cannot be both a file and a directory: keep only leaves as files.
            let entries: Vec<&str> = entries
                .iter()
                .filter(|e| !entries.iter().any(|o| o.starts_with(&format!("{e}/"))))
                .map(String::as_str)
                .collect();
            let text: String = (0..=next(4))
                .map(|_| {
                    let bang = if next(5) < 2 { "!" } else { "" };
                    let pattern: String =
                        (0..=next(3)).map(|_| pieces[next(pieces.len())]).collect();
                    format!("{bang}{pattern}\n")
                })
                .collect();
            if let Ok(ignore) = DockerIgnore::parse(&text) {
                walk(&ignore, &entries);
            }
        }
    }
}
