//! `COPY` and `ADD`: their sources as context reads, `--from` as a stage or an external image, and
//! the downloads of `ADD` (URLs and git repositories) as notes, since the key cannot see them.

use super::Reader;
use crate::hash::dockerfile::error::missing;
use crate::hash::dockerfile::error::DockerfileError;
use crate::hash::dockerfile::json::parse_json_strings;
use crate::hash::dockerfile::lex::heredoc;
use crate::hash::dockerfile::words::{flag, Flag};
use crate::hash::dockerfile::ImageUse;

impl Reader<'_> {
    pub(super) fn copy(
        &mut self,
        line: usize,
        name: &'static str,
        flags: &[Flag],
        args: &str,
        has_heredocs: bool,
    ) -> Result<(), DockerfileError> {
        let (words, json) = match parse_json_strings(args) {
            Some(words) => (words, true),
            None => (args.split_whitespace().map(str::to_owned).collect(), false),
        };
        let Some((_, sources)) = words
            .split_last()
            .filter(|(_, sources)| !sources.is_empty())
        else {
            return Err(missing(line, name));
        };
        if let Some(from) = flag(flags, "from") {
            let from = from.value.clone().unwrap_or_default();
            if from.is_empty() {
                return Err(DockerfileError::MissingArguments {
                    line,
                    instruction: name,
                    needs: "a stage or an image after `--from=`",
                });
            }
            if from.contains('$') {
                return Err(DockerfileError::FromVariable { line, text: from });
            }
            return self.stage_or_image(line, &from, None, ImageUse::CopyFrom);
        }
        let pinned = flag(flags, "checksum").is_some();
        for source in sources {
            if has_heredocs && !json && heredoc(source).is_some() {
                continue;
            }
            let expanded = self.expand(source, line)?;
            if let Some(arg) = expanded.unset.first() {
                self.whole(
                    format!("source `{source}` of `{name}` uses `{arg}`, which is not set"),
                    line,
                );
                continue;
            }
            let value = expanded.text;
            match remote(&value) {
                Some(Remote::Url) if name == "COPY" => {
                    return Err(DockerfileError::CopyUrl { line, url: value })
                }
                Some(kind) if name == "ADD" => {
                    self.notes.push(remote_note(line, &value, kind, pinned))
                }
                _ => self.source(line, &value, &format!("{name} {value}")),
            }
        }
        Ok(())
    }
}

#[derive(Clone, Copy)]
enum Remote {
    Url,
    Git,
}

/// Whether an `ADD` source is downloaded rather than read from the context.
fn remote(source: &str) -> Option<Remote> {
    let lower = source.to_ascii_lowercase();
    if lower.starts_with("git@") || lower.starts_with("git://") || lower.starts_with("ssh://") {
        Some(Remote::Git)
    } else if lower.starts_with("http://") || lower.starts_with("https://") {
        let path = lower.split('#').next().unwrap_or_default();
        Some(if path.ends_with(".git") {
            Remote::Git
        } else {
            Remote::Url
        })
    } else {
        None
    }
}

fn remote_note(line: usize, source: &str, kind: Remote, pinned: bool) -> String {
    match (kind, pinned) {
        (Remote::Url, true) => format!(
            "line {line}: `ADD {source}` downloads at build time (pinned by `--checksum`); the build needs the network"
        ),
        (Remote::Url, false) => format!(
            "line {line}: `ADD {source}` downloads at build time, so the key cannot see a change there; pin it with `--checksum=sha256:<digest>`"
        ),
        (Remote::Git, _) => format!(
            "line {line}: `ADD {source}` clones a git repository at build time, so the key cannot see a change there; pin a commit with `#<sha>`"
        ),
    }
}
