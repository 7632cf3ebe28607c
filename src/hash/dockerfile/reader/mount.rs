//! `RUN --mount`: a bind mount reads its source from the context (or the whole context when it
//! names none), and a bind or cache mount `from=` an image uses that image.

use super::Reader;
use crate::hash::dockerfile::error::DockerfileError;
use crate::hash::dockerfile::glob::escape_glob;
use crate::hash::dockerfile::words::Flag;
use crate::hash::dockerfile::ImageUse;

impl Reader<'_> {
    pub(super) fn run(&mut self, line: usize, flags: &[Flag]) -> Result<(), DockerfileError> {
        for mount in flags.iter().filter(|flag| flag.name == "mount") {
            let mut kind = "bind".to_owned();
            let (mut from, mut source) = (None, None);
            for field in csv_fields(mount.value.as_deref().unwrap_or_default()) {
                let (key, value) = field.split_once('=').unwrap_or((field.as_str(), ""));
                match key.trim().to_ascii_lowercase().as_str() {
                    "type" => kind = value.trim().to_ascii_lowercase(),
                    "from" => from = Some(value.to_owned()),
                    "source" | "src" => source = Some(value.to_owned()),
                    _ => {}
                }
            }
            if kind != "bind" && kind != "cache" {
                continue;
            }
            let from = match from {
                Some(from) => Some(self.expand(&from, line)?),
                None => None,
            };
            if let Some(from) = from.filter(|from| !from.text.is_empty()) {
                self.stage_or_image(
                    line,
                    &from.text,
                    from.used.first().cloned(),
                    ImageUse::MountFrom,
                )?;
                continue;
            }
            if kind == "cache" {
                continue;
            }
            let whole_mount =
                "`RUN --mount=type=bind` without `source` mounts the whole build context";
            match source.filter(|source| !source.is_empty()) {
                None => self.whole(whole_mount.to_owned(), line),
                Some(source) => {
                    let expanded = self.expand(&source, line)?;
                    match expanded.unset.first() {
                        Some(arg) => self.whole(
                            format!("mount source `{source}` uses `{arg}`, which is not set"),
                            line,
                        ),
                        // A mount source is a plain path: its glob characters are literal.
                        None => self.source(
                            line,
                            &escape_glob(&expanded.text),
                            &format!("RUN --mount=source={}", expanded.text),
                        ),
                    }
                }
            }
        }
        Ok(())
    }
}

/// Splits a `--mount` value on commas outside double quotes, as a CSV reader does.
fn csv_fields(value: &str) -> Vec<String> {
    let mut fields = vec![String::new()];
    let mut quoted = false;
    for c in value.chars() {
        match c {
            '"' => quoted = !quoted,
            ',' if !quoted => fields.push(String::new()),
            c => fields.last_mut().expect("starts with one field").push(c),
        }
    }
    fields.retain(|field| !field.trim().is_empty());
    fields
}
