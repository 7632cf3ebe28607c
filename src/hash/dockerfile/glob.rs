//! Glob patterns in two dialects: the path mode of `COPY` sources, Go's `filepath.Match` (where
//! `*` and `?` stop at `/`) with `**` taken to cross `/`, and the shell mode of `${NAME#pattern}`
//! and `${NAME/pattern/…}`. Matching takes time proportional to tokens × characters.

pub(super) fn has_glob(pattern: &str) -> bool {
    pattern.contains(['*', '?', '[', '\\'])
}

pub(super) fn escape_glob(path: &str) -> String {
    let mut out = String::new();
    for c in path.chars() {
        if matches!(c, '*' | '?' | '[' | '\\') {
            out.push('\\');
        }
        out.push(c);
    }
    out
}

pub(super) enum Token {
    Literal(char),
    AnyChar,
    /// `*`: any run of characters, in path mode without `/`.
    Star,
    /// `**` in path mode: any run of characters, `/` included.
    AnyDepth,
    Class {
        negated: bool,
        ranges: Vec<(char, char)>,
    },
}

/// Tokenizes a glob. Path mode follows Go's `filepath.Match` (`[^…]` negates, and a bad class is
/// an error); shell mode (for `${NAME#pattern}`) also negates with `!` and lets `*` cross `/`.
pub(super) fn tokenize(pattern: &str, shell: bool) -> Option<Vec<Token>> {
    let chars: Vec<char> = pattern.chars().collect();
    let mut tokens = Vec::new();
    let mut at = 0;
    while at < chars.len() {
        tokens.push(match chars[at] {
            '*' if !shell && chars.get(at + 1) == Some(&'*') => {
                while chars.get(at + 1) == Some(&'*') {
                    at += 1;
                }
                Token::AnyDepth
            }
            '*' => Token::Star,
            '?' => Token::AnyChar,
            '\\' => {
                at += 1;
                Token::Literal(*chars.get(at)?)
            }
            '[' => {
                at += 1;
                let negated = chars.get(at) == Some(&'^') || (shell && chars.get(at) == Some(&'!'));
                at += usize::from(negated);
                let mut ranges = Vec::new();
                while chars.get(at)? != &']' || ranges.is_empty() {
                    let low = class_char(&chars, &mut at)?;
                    let high = if chars.get(at) == Some(&'-') {
                        at += 1;
                        class_char(&chars, &mut at)?
                    } else {
                        low
                    };
                    ranges.push((low, high));
                }
                Token::Class { negated, ranges }
            }
            c => Token::Literal(c),
        });
        at += 1;
    }
    Some(tokens)
}

fn class_char(chars: &[char], at: &mut usize) -> Option<char> {
    let mut c = *chars.get(*at)?;
    if c == '-' || c == ']' {
        return None;
    }
    if c == '\\' {
        *at += 1;
        c = *chars.get(*at)?;
    }
    *at += 1;
    Some(c)
}

pub(super) fn shell_tokens(pattern: &str) -> Vec<Token> {
    tokenize(pattern, true).unwrap_or_else(|| pattern.chars().map(Token::Literal).collect())
}

/// Whether a single-character token accepts `c` (stars are handled by the caller).
pub(super) fn token_accepts(token: &Token, c: char) -> bool {
    match token {
        Token::AnyChar => c != '/',
        Token::Literal(literal) => *literal == c,
        Token::Class { negated, ranges } => {
            ranges.iter().any(|(low, high)| (*low..=*high).contains(&c)) != *negated
        }
        Token::Star | Token::AnyDepth => false,
    }
}

/// Whether the whole of `text` matches, in time proportional to tokens × characters.
pub(super) fn glob_match(tokens: &[Token], text: &[char], shell: bool) -> bool {
    let n = text.len();
    // after[j]: do the tokens after the current one match text[j..]?
    let mut after = vec![false; n + 1];
    after[n] = true;
    for token in tokens.iter().rev() {
        let mut here = vec![false; n + 1];
        for j in (0..=n).rev() {
            let c = text.get(j).copied();
            here[j] = match token {
                Token::Star => after[j] || c.is_some_and(|c| shell || c != '/') && here[j + 1],
                Token::AnyDepth => after[j] || c.is_some() && here[j + 1],
                Token::AnyChar => c.is_some_and(|c| shell || c != '/') && after[j + 1],
                Token::Literal(literal) => c == Some(*literal) && after[j + 1],
                Token::Class { negated, ranges } => {
                    c.is_some_and(|c| {
                        ranges.iter().any(|(low, high)| (*low..=*high).contains(&c)) != *negated
                    }) && after[j + 1]
                }
            };
        }
        after = here;
    }
    after[0]
}
