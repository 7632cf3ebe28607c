//! Reads a Dockerfile the way BuildKit's parser does and extracts what an image's key needs: the
//! build stages, every image the build pulls from outside (`FROM`, `COPY --from=<image>`,
//! `RUN --mount=from=<image>`), the paths of the build context it reads (`COPY`, `ADD`, bind
//! mounts) and notes about inputs the key cannot see (downloads at build time). This module owns
//! the Dockerfile syntax — parser directives, comments, line continuations, heredocs, flags, JSON
//! and shell forms, `ARG`/`ENV` substitution with the caller's build args — and the glob rules of
//! `COPY` sources (Go's `filepath.Match`). It reads no file and resolves no image.
//!
//! Where Docker's behaviour is uncertain the reader chooses the answer that sends and hashes
//! more, never less: an unsent file that the build needs fails the build loudly, but a context
//! read that the key does not see would let a stale image pass as current.

// This file holds the two entry points; `model` holds the public types they return. The work is split by step: `lex`
// turns lines into instructions (`words` and `json` split their arguments), `reader` turns the
// instructions into stages, images and context reads (`expand` substitutes variables, `keyword`
// knows the instruction names), `source` says which paths a context source covers with the
// patterns of `glob`, and `error` holds what can go wrong.
mod error;
mod expand;
mod feature;
mod glob;
mod json;
mod keyword;
mod lex;
mod model;
mod reader;
mod source;
mod words;

pub use error::DockerfileError;
pub use feature::{Feature, FeatureKind};
pub use model::{ContextReads, Dockerfile, ExternalImage, ImageUse, Stage};
pub use source::{ContextSource, SourceSet};

use std::collections::BTreeMap;

use lex::lex;
use reader::Reader;

/// Reads a Dockerfile with the caller's build args (name → value; a missing name or `None` leaves
/// the `ARG` default in force, `Some("")` sets the arg to empty). The automatic platform args
/// (`TARGETPLATFORM`, `TARGETARCH`, `BUILDPLATFORM`, …) have values only when the caller passes
/// them. Every stage's reads count, as in Docker's classic builder.
pub fn parse(
    text: &str,
    build_args: &BTreeMap<String, Option<String>>,
) -> Result<Dockerfile, DockerfileError> {
    let lexed = lex(text)?;
    let mut reader = Reader::new(lexed.escape, build_args, &lexed.instructions);
    if let Some((line, image)) = lexed.syntax {
        reader.feature(Feature {
            line,
            kind: FeatureKind::Syntax(image),
        });
    }
    for instruction in &lexed.instructions {
        reader.instruction(instruction)?;
    }
    reader.finish(lexed.last_line)
}

/// Like [`parse`], and fails when `target` names no stage (compared without case). The result
/// still counts the reads and images of every stage, not only those the target needs: BuildKit
/// would skip the others, the classic builder runs them, and counting them can only make the key
/// change more often, never less.
pub fn parse_for_target(
    text: &str,
    build_args: &BTreeMap<String, Option<String>>,
    target: Option<&str>,
) -> Result<Dockerfile, DockerfileError> {
    let dockerfile = parse(text, build_args)?;
    if let Some(target) = target {
        let names = || {
            dockerfile
                .stages
                .iter()
                .filter_map(|stage| stage.name.clone())
        };
        if !names().any(|name| name.eq_ignore_ascii_case(target)) {
            return Err(DockerfileError::TargetNotFound {
                target: target.to_owned(),
                stages: names().collect(),
            });
        }
    }
    Ok(dockerfile)
}

#[cfg(test)]
mod tests;
