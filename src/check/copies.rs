//! Which context file ends up at a path of the image: the `COPY`/`ADD` instructions of the final
//! stage, read from the Dockerfile text, mapped backwards. This is what lets the static part of
//! `check` read `/app/config.json` before the image is built, from the context file the Dockerfile
//! copies there.
//!
//! Deliberately simple: instructions with `--from`, variables, URLs or archives (which `ADD`
//! unpacks) are left out, and a path no remaining instruction provides is "unknown" (the base
//! image or a `RUN` step may create it; only the built image can tell), never "missing".

use crate::hash::{Entry, EntryKind};

/// One `COPY`/`ADD` of context files.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Copy {
    /// Sources as written, relative to the context.
    pub(crate) sources: Vec<String>,
    /// Absolute destination in the image, normalised, without a trailing `/`.
    pub(crate) dest: String,
    /// Whether the destination is a directory for sure (`/`-terminated, or several sources).
    pub(crate) dest_is_dir: bool,
    /// Dockerfile line.
    pub(crate) line: usize,
}

/// What a path of the image is in the context.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum InContext {
    /// This entry (an index into the entries).
    Entry(usize),
    /// A directory copied as a whole (`COPY . /app` and the path is `/app`).
    Dir,
}

/// Normalises a path: resolves `.` and `..` (never above the root), collapses `/`. The result is
/// absolute when `absolute`, else relative (empty for the root).
pub(crate) fn normalize(path: &str, absolute: bool) -> String {
    let mut parts: Vec<&str> = Vec::new();
    for part in path.split('/') {
        match part {
            "" | "." => {}
            ".." => {
                parts.pop();
            }
            p => parts.push(p),
        }
    }
    let joined = parts.join("/");
    if absolute {
        format!("/{joined}")
    } else {
        joined
    }
}

/// Joins `rel` to the directory `dir` (absolute) unless `rel` is absolute.
pub(crate) fn join(dir: &str, rel: &str) -> String {
    if rel.starts_with('/') {
        normalize(rel, true)
    } else {
        normalize(&format!("{dir}/{rel}"), true)
    }
}

/// Splits a Dockerfile into logical instructions (continuations joined, comments dropped):
/// `(first line, keyword in upper case, arguments)`.
fn instructions(text: &str) -> Vec<(usize, String, String)> {
    let mut escape = '\\';
    let mut out = Vec::new();
    let mut current: Option<(usize, String)> = None;
    let mut heredoc: Option<String> = None;
    let mut directives = true;
    for (index, raw) in text.lines().enumerate() {
        let number = index + 1;
        let line = raw.trim_end_matches('\r');
        if let Some(end) = &heredoc {
            if line.trim() == end {
                heredoc = None;
            }
            continue;
        }
        let trimmed = line.trim();
        if directives {
            // Parser directives (`# escape=`, `# syntax=`) only at the very top.
            let directive = trimmed
                .strip_prefix('#')
                .and_then(|d| d.trim().split_once('='));
            match directive {
                Some((name, value)) if name.trim().eq_ignore_ascii_case("escape") => {
                    escape = value.trim().chars().next().unwrap_or('\\');
                    continue;
                }
                Some((name, _))
                    if ["syntax", "check"].contains(&name.trim().to_ascii_lowercase().as_str()) =>
                {
                    continue
                }
                _ => directives = false,
            }
        }
        if trimmed.starts_with('#') || trimmed.is_empty() {
            continue;
        }
        let (start, mut text) = current.take().unwrap_or((number, String::new()));
        let continued = trimmed.ends_with(escape);
        let piece = if continued {
            &trimmed[..trimmed.len() - escape.len_utf8()]
        } else {
            trimmed
        };
        text.push_str(piece);
        text.push(' ');
        if continued {
            current = Some((start, text));
            continue;
        }
        let text = text.trim().to_string();
        let (keyword, args) = text.split_once(char::is_whitespace).unwrap_or((&text, ""));
        if let Some(tag) = args.split_whitespace().find_map(|w| w.strip_prefix("<<")) {
            let tag = tag
                .trim_start_matches('-')
                .trim_matches(|c| c == '"' || c == '\'');
            if !tag.is_empty() {
                heredoc = Some(tag.to_string());
            }
        }
        out.push((start, keyword.to_ascii_uppercase(), args.trim().to_string()));
    }
    out
}

/// The arguments of a `COPY`/`ADD`: flags, then sources and destination (shell or JSON form).
fn copy_args(args: &str) -> Option<(Vec<String>, Vec<String>)> {
    let mut words: Vec<String> = Vec::new();
    let mut flags = Vec::new();
    let mut rest = args.trim();
    while let Some(stripped) = rest.strip_prefix("--") {
        let (flag, after) = stripped
            .split_once(char::is_whitespace)
            .unwrap_or((stripped, ""));
        flags.push(flag.to_string());
        rest = after.trim_start();
    }
    if rest.starts_with('[') {
        words = serde_json::from_str::<Vec<String>>(rest).ok()?;
    } else {
        words.extend(rest.split_whitespace().map(str::to_string));
    }
    Some((flags, words))
}

fn is_archive(source: &str) -> bool {
    [
        ".tar", ".tar.gz", ".tgz", ".tar.bz2", ".tbz2", ".tar.xz", ".txz", ".tar.zst",
    ]
    .iter()
    .any(|ext| source.to_ascii_lowercase().ends_with(ext))
}

/// Whether a source is a context path this reader follows: not a URL or git remote, not a heredoc,
/// not an archive that `ADD` unpacks.
fn is_followed_source(keyword: &str, source: &str) -> bool {
    let remote = source.contains("://") || source.starts_with("git@");
    let unpacked = keyword == "ADD" && is_archive(source);
    !(remote || unpacked || source.starts_with("<<"))
}

/// One stage as this reader sees it.
struct StageCopies {
    line: usize,
    name: Option<String>,
    workdir: String,
    copies: Vec<Copy>,
}

/// `FROM [--platform=…] base [AS name]` → (base, name), lower case.
fn from_args(args: &str) -> (String, Option<String>) {
    let words: Vec<&str> = args
        .split_whitespace()
        .filter(|w| !w.starts_with("--"))
        .collect();
    let base = words
        .first()
        .map(|w| w.to_ascii_lowercase())
        .unwrap_or_default();
    let name = match words.as_slice() {
        [_, as_word, name, ..] if as_word.eq_ignore_ascii_case("as") => {
            Some(name.to_ascii_lowercase())
        }
        _ => None,
    };
    (base, name)
}

/// The context copies of the stage that starts at Dockerfile line `from_line` (its `FROM`), or of
/// the last stage when no `FROM` is on that line. A stage built `FROM` an earlier stage starts
/// with that stage's copies and working directory.
pub(crate) fn stage_copies(text: &str, from_line: Option<usize>) -> Vec<Copy> {
    let mut stages: Vec<StageCopies> = Vec::new();
    for (line, keyword, args) in instructions(text) {
        if keyword == "FROM" {
            let (base, name) = from_args(&args);
            let parent = stages
                .iter()
                .rev()
                .find(|s| s.name.as_deref() == Some(base.as_str()));
            let (workdir, copies) = match parent {
                Some(parent) => (parent.workdir.clone(), parent.copies.clone()),
                None => ("/".to_string(), Vec::new()),
            };
            stages.push(StageCopies {
                line,
                name,
                workdir,
                copies,
            });
            continue;
        }
        let Some(stage) = stages.last_mut() else {
            continue;
        };
        match keyword.as_str() {
            "WORKDIR" if !args.contains('$') => {
                stage.workdir = join(&stage.workdir, args.trim_matches('"'))
            }
            "COPY" | "ADD" => {
                let Some((flags, mut words)) = copy_args(&args) else {
                    continue;
                };
                if flags.iter().any(|f| f.starts_with("from"))
                    || words.len() < 2
                    || args.contains('$')
                {
                    continue;
                }
                let dest_written = words.pop().unwrap_or_default();
                let several = words.len() > 1;
                let sources: Vec<String> = words
                    .into_iter()
                    .filter(|s| is_followed_source(&keyword, s))
                    .collect();
                if sources.is_empty() {
                    continue;
                }
                stage.copies.push(Copy {
                    sources,
                    dest: join(&stage.workdir, &dest_written),
                    dest_is_dir: dest_written.ends_with('/') || several,
                    line,
                });
            }
            _ => {}
        }
    }
    let chosen = from_line
        .and_then(|l| stages.iter().position(|s| s.line == l))
        .unwrap_or(stages.len().saturating_sub(1));
    if stages.is_empty() {
        Vec::new()
    } else {
        stages.swap_remove(chosen).copies
    }
}

/// Shell-style match of one path against a pattern with `*` and `?` (neither matches `/`).
fn glob_match(pattern: &str, path: &str) -> bool {
    fn go(p: &[u8], s: &[u8]) -> bool {
        match (p.first(), s.first()) {
            (None, None) => true,
            (Some(b'*'), _) => go(&p[1..], s) || (!s.is_empty() && s[0] != b'/' && go(p, &s[1..])),
            (Some(b'?'), Some(c)) if *c != b'/' => go(&p[1..], &s[1..]),
            (Some(a), Some(b)) if a == b => go(&p[1..], &s[1..]),
            _ => false,
        }
    }
    go(pattern.as_bytes(), path.as_bytes())
}

fn find(entries: &[Entry], path: &str) -> Option<usize> {
    entries
        .binary_search_by(|e| e.path.as_str().cmp(path))
        .ok()
        .or_else(|| entries.iter().position(|e| e.path == path))
}

/// Which sent entry the Dockerfile copies to `image_path` (absolute), if any. Later copies win.
pub(crate) fn find_in_context(
    copies: &[Copy],
    entries: &[Entry],
    image_path: &str,
) -> Option<InContext> {
    let target = normalize(image_path, true);
    for copy in copies.iter().rev() {
        for written in copy.sources.iter().rev() {
            let source = normalize(written, false);
            let literals: Vec<String> = if source.contains(['*', '?']) {
                entries
                    .iter()
                    .filter(|e| glob_match(&source, &e.path))
                    .map(|e| e.path.clone())
                    .collect()
            } else {
                vec![source]
            };
            let several = copy.dest_is_dir || literals.len() > 1;
            for literal in literals.iter().rev() {
                if let Some(found) = map_one(copy, several, literal, entries, &target) {
                    return Some(found);
                }
            }
        }
    }
    None
}

fn map_one(
    copy: &Copy,
    dest_is_dir: bool,
    source: &str,
    entries: &[Entry],
    target: &str,
) -> Option<InContext> {
    let kind = if source.is_empty() {
        Some(&EntryKind::Dir)
    } else {
        find(entries, source).map(|i| &entries[i].kind)
    };
    match kind? {
        EntryKind::File { .. } => {
            let name = source.rsplit('/').next().unwrap_or(source);
            let inside = join(&copy.dest, name);
            // Without a trailing `/`, the destination is the file itself, unless it is a directory
            // in the image already; both are possible from the text alone.
            let hit = target == inside || (!dest_is_dir && target == copy.dest);
            hit.then(|| find(entries, source).map(InContext::Entry))
                .flatten()
        }
        EntryKind::Dir => {
            if target == copy.dest {
                return Some(InContext::Dir);
            }
            let prefix = if copy.dest == "/" {
                "/".to_string()
            } else {
                format!("{}/", copy.dest)
            };
            let rel = target.strip_prefix(&prefix)?;
            let path = if source.is_empty() {
                rel.to_string()
            } else {
                format!("{source}/{rel}")
            };
            find(entries, &path).map(|i| match entries[i].kind {
                EntryKind::Dir => InContext::Dir,
                _ => InContext::Entry(i),
            })
        }
        EntryKind::Symlink { .. } => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn file(path: &str) -> Entry {
        Entry {
            path: path.into(),
            kind: EntryKind::File {
                size: 1,
                executable: false,
                sha256: [0; 32],
            },
        }
    }

    fn dir(path: &str) -> Entry {
        Entry {
            path: path.into(),
            kind: EntryKind::Dir,
        }
    }

    const ELEMENT: &str = "\
# comment
ARG ELEMENT_BASE=vectorim/element-web:v1.11.85
FROM ${ELEMENT_BASE}
USER root
RUN set -eu; \\
    sed -i -e 'x' /etc/nginx/nginx.conf
COPY images/element/config.json /app/config.json
COPY assets/logo.svg /app/branding/logo.svg
ENV ELEMENT_WEB_PORT=8080
";

    #[test]
    fn reads_the_final_stage_copies() {
        let copies = stage_copies(ELEMENT, None);
        assert_eq!(copies.len(), 2);
        assert_eq!(copies[0].sources, vec!["images/element/config.json"]);
        assert_eq!(copies[0].dest, "/app/config.json");
        assert_eq!(copies[0].line, 7);
        assert!(!copies[0].dest_is_dir);
    }

    #[test]
    fn maps_image_paths_back_to_entries() {
        let entries = vec![file("assets/logo.svg"), file("images/element/config.json")];
        let copies = stage_copies(ELEMENT, None);
        assert_eq!(
            find_in_context(&copies, &entries, "/app/config.json"),
            Some(InContext::Entry(1))
        );
        assert_eq!(
            find_in_context(&copies, &entries, "/app/branding/logo.svg"),
            Some(InContext::Entry(0))
        );
        assert_eq!(
            find_in_context(&copies, &entries, "/app/./branding/../config.json"),
            Some(InContext::Entry(1))
        );
        assert_eq!(
            find_in_context(&copies, &entries, "/app/welcome.html"),
            None
        );
    }

    #[test]
    fn workdir_stages_flags_and_directories() {
        let text = "\
FROM node:20 AS deps
WORKDIR /app
COPY package.json ./
FROM node:20
WORKDIR /app
COPY --from=deps /app/node_modules ./node_modules
COPY --chown=1000:1000 [\"site/\", \"public/\"]
COPY conf/a.toml conf/b.toml /etc/conf
COPY . /src
";
        let copies = stage_copies(text, Some(4));
        assert_eq!(copies.len(), 3, "{copies:?}");
        assert_eq!(copies[0].dest, "/app/public");
        assert!(copies[1].dest_is_dir);
        let entries = vec![
            dir("conf"),
            file("conf/a.toml"),
            file("conf/b.toml"),
            dir("site"),
            dir("site/img"),
            file("site/img/logo.png"),
        ];
        assert_eq!(
            find_in_context(&copies, &entries, "/app/public/img/logo.png"),
            Some(InContext::Entry(5))
        );
        assert_eq!(
            find_in_context(&copies, &entries, "/app/public/img"),
            Some(InContext::Dir)
        );
        assert_eq!(
            find_in_context(&copies, &entries, "/etc/conf/b.toml"),
            Some(InContext::Entry(2))
        );
        assert_eq!(
            find_in_context(&copies, &entries, "/src/conf/a.toml"),
            Some(InContext::Entry(1))
        );
        assert_eq!(
            find_in_context(&copies, &entries, "/app/package.json"),
            None,
            "copied in another stage"
        );
        // The first stage, chosen by its FROM line.
        assert_eq!(stage_copies(text, Some(1))[0].dest, "/app");
    }

    #[test]
    fn a_stage_from_an_earlier_stage_inherits_its_copies_and_workdir() {
        let text = "FROM busybox AS Base\nWORKDIR /srv\nCOPY conf.toml ./\nFROM base\nCOPY logo.svg img/\n";
        let copies = stage_copies(text, None);
        assert_eq!(copies.len(), 2);
        assert_eq!(copies[0].dest, "/srv");
        assert_eq!(copies[1].dest, "/srv/img");
        let entries = vec![file("conf.toml"), file("logo.svg")];
        assert_eq!(
            find_in_context(&copies, &entries, "/srv/conf.toml"),
            Some(InContext::Entry(0))
        );
        assert_eq!(
            find_in_context(&copies, &entries, "/srv/img/logo.svg"),
            Some(InContext::Entry(1))
        );
    }

    #[test]
    fn a_file_copied_to_a_name_without_slash() {
        let copies = stage_copies(
            "FROM x\nCOPY conduit.toml /etc/conduit.toml\nCOPY logo.svg /www\n",
            None,
        );
        let entries = vec![file("conduit.toml"), file("logo.svg")];
        assert_eq!(
            find_in_context(&copies, &entries, "/etc/conduit.toml"),
            Some(InContext::Entry(0))
        );
        // `/www` may be a directory of the base image: both readings count.
        assert_eq!(
            find_in_context(&copies, &entries, "/www"),
            Some(InContext::Entry(1))
        );
        assert_eq!(
            find_in_context(&copies, &entries, "/www/logo.svg"),
            Some(InContext::Entry(1))
        );
    }

    #[test]
    fn leaves_out_what_it_cannot_follow() {
        let text = "FROM x\nADD https://example.com/a.json /a.json\nADD site.tar.gz /srv\nCOPY ${SRC} /b\nCOPY <<EOF /c\nCOPY nothing /d\nEOF\n";
        assert_eq!(stage_copies(text, None), vec![]);
    }

    #[test]
    fn globs_and_escape_directive() {
        let text = "# escape=`\nFROM x\nCOPY img/*.svg `\n     /app/img/\n";
        let copies = stage_copies(text, None);
        assert_eq!(copies.len(), 1);
        assert_eq!(copies[0].line, 3);
        let entries = vec![file("img/a.svg"), file("img/b.png")];
        assert_eq!(
            find_in_context(&copies, &entries, "/app/img/a.svg"),
            Some(InContext::Entry(0))
        );
        assert_eq!(find_in_context(&copies, &entries, "/app/img/b.png"), None);
        assert!(glob_match("*.svg", "a.svg") && !glob_match("*.svg", "x/a.svg"));
    }

    #[test]
    fn normalizes_paths() {
        assert_eq!(normalize("./a//b/../c/", false), "a/c");
        assert_eq!(normalize("/../a", true), "/a");
        assert_eq!(join("/app", "branding/logo.svg"), "/app/branding/logo.svg");
        assert_eq!(join("/app", "/etc/x"), "/etc/x");
    }
}
