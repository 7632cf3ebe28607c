//! Running a pattern as Docker's regular expression would: the tokens of a compiled glob, and a
//! state machine that follows every live state at once over the path's characters, in linear time
//! and without backtracking, after comparing the pattern's literal head and tail as text.

use super::bitset::{bit, set_bit, with_words};

/// A compiled regular-expression pattern. Its literal head and tail (`src/` and `.js` in
/// `src/**/*.js`) are compared as text first, so most paths are turned down without running the
/// state machine, which then only sees the middle.
#[derive(Debug, Clone)]
pub(super) struct Glob {
    pub(super) tokens: Vec<Token>,
    /// The leading `Token::Char`s as text, and how many tokens they are.
    head: String,
    head_tokens: usize,
    /// The trailing `Token::Char`s (after the head) as text, and how many tokens they are.
    tail: String,
    tail_tokens: usize,
}

impl Glob {
    pub(super) fn new(tokens: Vec<Token>) -> Glob {
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

    pub(super) fn matches(&self, path: &str) -> bool {
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
    pub(super) fn may_match_below(&self, below: &str) -> bool {
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

/// One step of a compiled glob, matched against one character (or none).
#[derive(Debug, Clone)]
pub(super) enum Token {
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
pub(super) struct Class {
    pub(super) negated: bool,
    pub(super) ranges: Vec<(char, char)>,
}

impl Class {
    fn contains(&self, c: char) -> bool {
        self.ranges.iter().any(|&(from, to)| from <= c && c <= to) != self.negated
    }
}

/// Runs `tokens` as a set of live states over `input` (linear time, no backtracking) and hands
/// the final set to `finish`; state `tokens.len()` accepts. `at_start` tells whether `input`
/// starts the path, for `Token::AtStart`.
pub(super) fn run<R>(
    tokens: &[Token],
    input: &str,
    at_start: bool,
    finish: impl FnOnce(&[u64]) -> R,
) -> R {
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
