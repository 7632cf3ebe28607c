//! `WWW-Authenticate` challenges (RFC 7235) as registries send them: `Basic realm="…"` from a
//! registry with basic auth (ECR, htpasswd), `Bearer realm="…",service="…",scope="…"` from one
//! with a token service (Docker Hub, GHCR, Harbor). See
//! <https://distribution.github.io/distribution/spec/auth/token/>.

use std::collections::BTreeMap;

/// One challenge.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Challenge {
    /// Basic auth: send the user and password with every request.
    Basic,
    /// A token service: get a token at `realm` for `service` and `scope`, then send it.
    Bearer {
        /// The token service's URL.
        realm: String,
        /// The `service` parameter to pass on.
        service: Option<String>,
        /// The `scope` parameter to pass on (`repository:fleet/element:pull,push`).
        scope: Option<String>,
    },
    /// A scheme this tool does not speak.
    Other(String),
}

/// Every challenge in the values of the `WWW-Authenticate` headers of one response.
pub(crate) fn parse_all<'a>(values: impl IntoIterator<Item = &'a str>) -> Vec<Challenge> {
    values.into_iter().flat_map(parse).collect()
}

/// The challenges in one header value.
pub(crate) fn parse(value: &str) -> Vec<Challenge> {
    let mut parser = Parser {
        text: value.as_bytes(),
        pos: 0,
    };
    let mut out = Vec::new();
    loop {
        parser.skip(|b| b == b',' || b.is_ascii_whitespace());
        let scheme = parser.token();
        if scheme.is_empty() {
            break;
        }
        let mut params = BTreeMap::new();
        loop {
            parser.skip(|b| b.is_ascii_whitespace());
            let start = parser.pos;
            let key = parser.token();
            parser.skip(|b| b.is_ascii_whitespace());
            if key.is_empty() || parser.peek() != Some(b'=') {
                parser.pos = start;
                break;
            }
            parser.pos += 1;
            parser.skip(|b| b.is_ascii_whitespace());
            let value = if parser.peek() == Some(b'"') {
                parser.quoted()
            } else {
                parser.token()
            };
            params.insert(key.to_ascii_lowercase(), value);
            parser.skip(|b| b.is_ascii_whitespace());
            if parser.peek() == Some(b',') {
                parser.pos += 1;
            } else {
                break;
            }
        }
        out.push(match scheme.to_ascii_lowercase().as_str() {
            "basic" => Challenge::Basic,
            "bearer" => match params.remove("realm") {
                Some(realm) => Challenge::Bearer {
                    realm,
                    service: params.remove("service"),
                    scope: params.remove("scope"),
                },
                None => Challenge::Other(scheme),
            },
            _ => Challenge::Other(scheme),
        });
        if parser.pos >= parser.text.len() {
            break;
        }
    }
    out
}

struct Parser<'a> {
    text: &'a [u8],
    pos: usize,
}

impl Parser<'_> {
    fn peek(&self) -> Option<u8> {
        self.text.get(self.pos).copied()
    }

    fn skip(&mut self, what: impl Fn(u8) -> bool) {
        while self.peek().is_some_and(&what) {
            self.pos += 1;
        }
    }

    /// An RFC 7230 token (plus `/`, which some registries put in unquoted realms).
    fn token(&mut self) -> String {
        let start = self.pos;
        self.skip(|b| b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~/:".contains(&b));
        String::from_utf8_lossy(&self.text[start..self.pos]).into_owned()
    }

    /// A quoted string, with `\` escapes; the cursor is on the opening quote.
    fn quoted(&mut self) -> String {
        self.pos += 1;
        let mut out = Vec::new();
        while let Some(b) = self.peek() {
            self.pos += 1;
            match b {
                b'"' => break,
                b'\\' => {
                    if let Some(next) = self.peek() {
                        out.push(next);
                        self.pos += 1;
                    }
                }
                _ => out.push(b),
            }
        }
        String::from_utf8_lossy(&out).into_owned()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn bearer(realm: &str, service: Option<&str>, scope: Option<&str>) -> Challenge {
        Challenge::Bearer {
            realm: realm.into(),
            service: service.map(Into::into),
            scope: scope.map(Into::into),
        }
    }

    #[test]
    fn parses_the_challenges_registries_send() {
        let cases: Vec<(&str, Vec<Challenge>)> = vec![
            ("Basic realm=\"fleet-test\"", vec![Challenge::Basic]),
            (
                "Basic realm=\"https://123456789012.dkr.ecr.us-east-1.amazonaws.com/\",service=\"ecr.amazonaws.com\"",
                vec![Challenge::Basic],
            ),
            (
                "Bearer realm=\"https://auth.docker.io/token\",service=\"registry.docker.io\",scope=\"repository:library/busybox:pull,push\"",
                vec![bearer(
                    "https://auth.docker.io/token",
                    Some("registry.docker.io"),
                    Some("repository:library/busybox:pull,push"),
                )],
            ),
            (
                "bearer realm=\"https://ghcr.io/token\", service=\"ghcr.io\"",
                vec![bearer("https://ghcr.io/token", Some("ghcr.io"), None)],
            ),
            (
                "Bearer realm=https://h/token,scope=\"a:b:pull\"",
                vec![bearer("https://h/token", None, Some("a:b:pull"))],
            ),
            (
                "Bearer realm=\"r\\\"q\", Basic realm=\"x\"",
                vec![bearer("r\"q", None, None), Challenge::Basic],
            ),
            ("Negotiate", vec![Challenge::Other("Negotiate".into())]),
            ("Bearer service=\"no-realm\"", vec![Challenge::Other("Bearer".into())]),
            ("", vec![]),
        ];
        for (text, want) in cases {
            assert_eq!(parse(text), want, "{text}");
        }
    }

    #[test]
    fn reads_several_headers() {
        let got = parse_all(["Basic realm=\"a\"", "Bearer realm=\"b\""]);
        assert_eq!(got, vec![Challenge::Basic, bearer("b", None, None)]);
    }
}
