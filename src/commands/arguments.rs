//! Command-line values that clap takes as text and the tool parses: `--tag`.

use super::failure::Failure;
use crate::error::{Diagnostic, Exit};
use crate::names::Tag;

/// Parses `--tag` values.
pub(super) fn parse_tags(tags: &[String]) -> Result<Vec<Tag>, Failure> {
    let mut out = Vec::new();
    for text in tags {
        out.push(text.parse::<Tag>().map_err(|e| ArgumentError {
            message: format!("--tag {text}: {e}"),
        })?);
    }
    Ok(out)
}

/// A command-line value that does not parse (beyond what clap checks).
#[derive(Debug, thiserror::Error)]
#[error("{message}")]
pub struct ArgumentError {
    /// What is wrong and how to write it.
    pub message: String,
}

impl Diagnostic for ArgumentError {
    fn exit(&self) -> Exit {
        Exit::BadInput
    }
}
