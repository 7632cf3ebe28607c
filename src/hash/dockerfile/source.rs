//! A context source of `COPY`, `ADD` or a bind mount, cleaned to a context-relative pattern, and
//! the questions a walker of the build context asks it: does it cover a path, may it cover
//! something below a directory, and where can the walk start.

use std::collections::{BTreeSet, HashSet};

use super::glob::{glob_match, has_glob, token_accepts, tokenize, Token};

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
    /// Whether the source is a plain path (no glob characters, clean, not the root): it covers
    /// itself and what is below it, nothing else.
    pub fn is_literal(&self) -> bool {
        !self.pattern.is_empty() && !has_glob(&self.pattern) && is_clean(&self.pattern)
    }

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

/// Cleans a source like Go's `path.Clean` relative to the context root; `None` when `..` would
/// leave the root (Docker forbids it).
pub(super) fn clean_path(path: &str) -> Option<String> {
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

/// A Dockerfile's context sources, indexed for the walk: asking whether any of them covers a
/// path costs a few hash lookups per path component instead of a pass over every source, so a
/// Dockerfile with thousands of `COPY` lines walks in time linear in its context. Only sources
/// with glob characters are asked one by one. Answers exactly as [`ContextSource::covers`] and
/// [`ContextSource::may_cover_below`] over the whole list.
#[derive(Debug)]
pub struct SourceSet<'a> {
    /// Every source, for a path that is not clean (the walk never makes one).
    all: &'a [ContextSource],
    /// Glob-free sources: a path is covered when it or one of its ancestors is one of them.
    literal: HashSet<&'a str>,
    /// Every proper ancestor directory of a glob-free source: the walk descends into them.
    literal_parents: HashSet<&'a str>,
    /// Sources with glob characters, asked one by one.
    globs: Vec<&'a ContextSource>,
}

impl<'a> SourceSet<'a> {
    /// Indexes `sources`.
    pub fn new(sources: &'a [ContextSource]) -> Self {
        let mut set = SourceSet {
            all: sources,
            literal: HashSet::new(),
            literal_parents: HashSet::new(),
            globs: Vec::new(),
        };
        for source in sources {
            let pattern = source.pattern.as_str();
            if !source.is_literal() {
                set.globs.push(source);
                continue;
            }
            set.literal.insert(pattern);
            let mut end = pattern.len();
            while let Some(slash) = pattern[..end].rfind('/') {
                set.literal_parents.insert(&pattern[..slash]);
                end = slash;
            }
        }
        set
    }

    /// Whether any source covers `rel` ([`ContextSource::covers`]).
    pub fn covers(&self, rel: &str) -> bool {
        if rel.is_empty() || !is_clean(rel) {
            return self.all.iter().any(|s| s.covers(rel));
        }
        self.literal_covers(rel) || self.globs.iter().any(|s| s.covers(rel))
    }

    /// Whether the walk must descend into `dir` for some source ([`ContextSource::covers`] or
    /// [`ContextSource::may_cover_below`]).
    pub fn descend(&self, dir: &str) -> bool {
        let slow = |s: &ContextSource| s.covers(dir) || s.may_cover_below(dir);
        if dir.is_empty() || !is_clean(dir) {
            return self.all.iter().any(slow);
        }
        self.literal_covers(dir)
            || self.literal_parents.contains(dir)
            || self.globs.iter().any(|s| slow(s))
    }

    /// `rel` (clean, not empty) or one of its ancestors is a glob-free source.
    fn literal_covers(&self, rel: &str) -> bool {
        if self.literal.contains(rel) {
            return true;
        }
        let mut end = rel.len();
        while let Some(slash) = rel[..end].rfind('/') {
            if self.literal.contains(&rel[..slash]) {
                return true;
            }
            end = slash;
        }
        false
    }
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
