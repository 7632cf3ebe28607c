//! `FROM`: a new stage, its name checked, its base resolved with the global args only, and the
//! base recorded as an external image unless it is `scratch` or an earlier stage.

use std::collections::BTreeMap;

use super::{Reader, StageState};
use crate::hash::dockerfile::error::DockerfileError;
use crate::hash::dockerfile::expand::expand;
use crate::hash::dockerfile::{ExternalImage, ImageUse, Stage};

impl Reader<'_> {
    pub(super) fn from(&mut self, line: usize, args: &str) -> Result<(), DockerfileError> {
        let words: Vec<&str> = args.split_whitespace().collect();
        let (image, name) = match words.as_slice() {
            [image] => (*image, None),
            [image, as_, name] if as_.eq_ignore_ascii_case("as") => (*image, Some(*name)),
            _ => {
                return Err(DockerfileError::FromSyntax {
                    line,
                    text: args.to_owned(),
                })
            }
        };
        // A FROM sees only the global args, whatever the stage before it declared.
        let global = &self.global;
        let expanded = expand(image, self.escape, &|name| {
            global.get(name).cloned().flatten()
        })
        .map_err(|error| error.at(line, image))?;
        if expanded.text.is_empty() {
            let arg = expanded.used.first().cloned();
            let arg_is_empty = arg.as_ref().is_some_and(
                |arg| matches!(global.get(arg), Some(Some(value)) if value.is_empty()),
            );
            return Err(DockerfileError::EmptyFrom {
                line,
                text: format!("FROM {image}"),
                arg,
                arg_is_empty,
            });
        }
        for arg in &expanded.unset {
            self.notes.push(format!(
                "line {line}: `FROM {image}` uses build arg `{arg}`, which is not set, so it expands to nothing"
            ));
        }
        let name = match name {
            None => None,
            Some(name) => Some(self.stage_name(line, name)?),
        };
        let base = expanded.text;
        let base_stage = self.names.get(&base.to_ascii_lowercase()).copied();
        let env = base_stage
            .map(|index| self.stages[index].env.clone())
            .unwrap_or_default();
        if base_stage.is_none() && !base.eq_ignore_ascii_case("scratch") {
            self.images.push(ExternalImage {
                reference: base.clone(),
                line,
                via: ImageUse::From,
                arg: expanded.used.first().cloned(),
            });
        }
        if let Some(name) = &name {
            self.names.insert(name.clone(), self.stages.len());
        }
        self.stages.push(StageState {
            stage: Stage {
                name,
                base,
                line,
                user: None,
                exposed_ports: Vec::new(),
                env: Vec::new(),
                has_healthcheck: false,
            },
            env,
            args: BTreeMap::new(),
        });
        Ok(())
    }

    fn stage_name(&self, line: usize, name: &str) -> Result<String, DockerfileError> {
        let lower = name.to_ascii_lowercase();
        let valid = lower.starts_with(|c: char| c.is_ascii_lowercase())
            && lower
                .chars()
                .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || "-_.".contains(c));
        if !valid {
            return Err(DockerfileError::InvalidStageName {
                line,
                name: name.to_owned(),
            });
        }
        if let Some(&index) = self.names.get(&lower) {
            return Err(DockerfileError::DuplicateStageName {
                line,
                name: lower,
                first_line: self.stages[index].stage.line,
            });
        }
        Ok(lower)
    }
}
