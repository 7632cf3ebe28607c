//! `.dockerignore` rules against Docker's answers: reading, matching, the walk over parents,
//! pruning, every error's kind and text, and random files checked against Docker's algorithm.

use std::collections::BTreeMap;

use super::bitset::bit;
use super::glob::run;
use super::pattern::Matcher;
use super::read::MAX_LINE_BYTES;
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
    assert!(DockerIgnore::parse(&format!("\u{feff}{}", "a".repeat(MAX_LINE_BYTES - 2))).is_err());
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
        any_parent_excluded(&parse("a/b\n!a"), "a/b") != parse("a/b\n!a").excluded("a/b", false)
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
                let pattern: String = (0..=next(3)).map(|_| pieces[next(pieces.len())]).collect();
                format!("{bang}{pattern}\n")
            })
            .collect();
        if let Ok(ignore) = DockerIgnore::parse(&text) {
            walk(&ignore, &entries);
        }
    }
}
