//! `.dockerignore` rules, read and applied exactly as `docker build` applies them.
//!
//! This module owns all of Docker's ignore-file semantics: reading the file line by line as
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

// This file holds the rules of one file and the decision over a path and its parents. `read`
// turns the file's lines into rules as Docker reads them, `syntax` checks a pattern as Docker does
// when it reads the file, `pattern` compiles it into the test Docker picks, `glob` runs the
// regular-expression patterns as a state machine over the bit sets of `bitset`, and `error` holds
// what Docker would reject.
mod bitset;
mod error;
mod glob;
mod pattern;
mod read;
mod syntax;

pub use error::IgnoreError;

use bitset::{bit, set_bit, with_words};
use read::Rule;

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
        let rules = read::rules(text)?;
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

    /// Whether any line re-includes (`!pattern`). Without one, no excluded directory is entered,
    /// so everything sent has every parent directory sent too.
    pub fn has_exceptions(&self) -> bool {
        self.has_exceptions
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

#[cfg(test)]
mod tests;
