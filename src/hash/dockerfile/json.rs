//! The JSON (exec) form of an instruction's arguments, `["a", "b"]`: a strict reader of a JSON
//! array of strings, escapes and surrogate pairs included. Anything else is shell form.

/// A JSON array of strings, the exec form; `None` for anything else (then it is shell form).
pub(super) fn parse_json_strings(text: &str) -> Option<Vec<String>> {
    let mut chars = text.trim().chars().peekable();
    let skip_blanks = |chars: &mut std::iter::Peekable<std::str::Chars<'_>>| {
        while chars.next_if(|c| c.is_whitespace()).is_some() {}
    };
    if chars.next()? != '[' {
        return None;
    }
    let mut items = Vec::new();
    skip_blanks(&mut chars);
    if chars.next_if_eq(&']').is_none() {
        loop {
            skip_blanks(&mut chars);
            if chars.next()? != '"' {
                return None;
            }
            items.push(json_string(&mut chars)?);
            skip_blanks(&mut chars);
            match chars.next()? {
                ',' => continue,
                ']' => break,
                _ => return None,
            }
        }
    }
    chars.next().is_none().then_some(items)
}

fn json_string(chars: &mut std::iter::Peekable<std::str::Chars<'_>>) -> Option<String> {
    let mut out = String::new();
    loop {
        match chars.next()? {
            '"' => return Some(out),
            '\\' => match chars.next()? {
                '"' => out.push('"'),
                '\\' => out.push('\\'),
                '/' => out.push('/'),
                'b' => out.push('\u{8}'),
                'f' => out.push('\u{c}'),
                'n' => out.push('\n'),
                'r' => out.push('\r'),
                't' => out.push('\t'),
                'u' => {
                    let high = json_hex(chars)?;
                    let code = if (0xD800..0xDC00).contains(&high) {
                        if chars.next()? != '\\' || chars.next()? != 'u' {
                            return None;
                        }
                        let low = json_hex(chars)?;
                        0x10000 + ((high - 0xD800) << 10) + low.checked_sub(0xDC00)?
                    } else {
                        high
                    };
                    out.push(char::from_u32(code)?);
                }
                _ => return None,
            },
            c if (c as u32) < 0x20 => return None,
            c => out.push(c),
        }
    }
}

fn json_hex(chars: &mut std::iter::Peekable<std::str::Chars<'_>>) -> Option<u32> {
    (0..4).try_fold(0, |acc, _| Some(acc * 16 + chars.next()?.to_digit(16)?))
}
