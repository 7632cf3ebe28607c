//! An instruction's arguments split as BuildKit splits them: into words at blanks outside quotes
//! (quotes and escapes kept for substitution to handle), and into the leading `--name[=value]`
//! flags and the rest.

/// Splits on blanks outside quotes, keeping quotes and escapes (BuildKit's `parseWords`).
pub(super) fn words(text: &str, escape: char) -> Vec<String> {
    let mut words = Vec::new();
    let mut word = String::new();
    let mut quote = None;
    let mut started = false;
    let mut chars = text.chars();
    while let Some(c) = chars.next() {
        if quote.is_none() && c.is_whitespace() {
            if started {
                words.push(std::mem::take(&mut word));
                started = false;
            }
            continue;
        }
        started = true;
        word.push(c);
        match quote {
            Some(q) if c == q => quote = None,
            None if c == '\'' || c == '"' => quote = Some(c),
            Some('\'') => {}
            _ if c == escape => word.extend(chars.next()),
            _ => {}
        }
    }
    if started {
        words.push(word);
    }
    words
}

pub(super) fn raw_words(text: &str) -> Vec<String> {
    words(text, '\\')
}

pub(super) struct Flag {
    pub(super) name: String,
    pub(super) value: Option<String>,
}

/// Splits the leading `--name[=value]` flags (quotes removed) from the arguments.
pub(super) fn split_flags(text: &str) -> (Vec<Flag>, &str) {
    let mut flags = Vec::new();
    let mut rest = text.trim_start();
    while rest.starts_with("--") {
        let mut word = String::new();
        let mut quote = None;
        let mut end = rest.len();
        let mut chars = rest.char_indices();
        while let Some((at, c)) = chars.next() {
            match (quote, c) {
                (None, c) if c.is_whitespace() => {
                    end = at;
                    break;
                }
                (None, '\'' | '"') => quote = Some(c),
                (Some(q), c) if c == q => quote = None,
                (_, '\\') => word.extend(chars.next().map(|(_, c)| c)),
                _ => word.push(c),
            }
        }
        rest = rest[end..].trim_start();
        if word == "--" {
            break;
        }
        let word = &word[2..];
        let (name, value) = match word.split_once('=') {
            Some((name, value)) => (name, Some(value.to_owned())),
            None => (word, None),
        };
        flags.push(Flag {
            name: name.to_ascii_lowercase(),
            value,
        });
    }
    (flags, rest.trim_end())
}

pub(super) fn flag<'f>(flags: &'f [Flag], name: &str) -> Option<&'f Flag> {
    flags.iter().rev().find(|flag| flag.name == name)
}
