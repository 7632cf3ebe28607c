//! `env-file` (lesson 1): Conduit did not start from environment variables alone; it needs
//! `CONDUIT_CONFIG` naming a TOML file that exists. `[images.<name>.check] env_files` lists such
//! variables; each must be set in the image and name a regular file in it.
//!
//! From the built image this is certain. Before the build, the Dockerfile's final stage is read:
//! a variable it does not set is a warning (the base image may set it), and a file it does not
//! copy in from the context is a note (the base image or a `RUN` step may create it).

use super::files::{FileState, Files};
use super::run_config::{Origin, RunConfig};
use super::{rules, Finding, Note, Severity};
use crate::docker::{EngineError, TestContainer};
use crate::names::ImageName;

/// What one variable's check concluded, before it becomes a finding or a note.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Verdict {
    Ok,
    Finding(Severity, String, String),
    Note(String),
}

/// Judges one variable from its value (as the config sets it) and what is at that path.
pub(crate) fn judge(var: &str, config: &RunConfig, state: Option<&FileState>) -> Verdict {
    let example = format!("`COPY <file> /etc/<file>` and `ENV {var}=/etc/<file>`");
    let Some(value) = config.env_var(var) else {
        return match config.origin {
            Origin::Image => Verdict::Finding(
                Severity::Error,
                format!("`{var}` is not set in the image"),
                format!("the program reads its configuration from the file `{var}` names: add {example} to the Dockerfile"),
            ),
            Origin::Dockerfile => Verdict::Finding(
                Severity::Warning,
                format!("the Dockerfile does not set `{var}` (unless the base image does, the program will not find its configuration)"),
                format!("add {example} to the Dockerfile; once the image is built, `check` reads the variable from it"),
            ),
        };
    };
    if value.trim().is_empty() {
        return Verdict::Finding(
            Severity::Error,
            format!("`{var}` is set but empty in {}", config.subject()),
            format!("set it to the absolute path of the file: {example}"),
        );
    }
    if !value.starts_with('/') {
        return Verdict::Note(format!(
            "`{var}={value}` is a relative path; `check` only follows absolute ones"
        ));
    }
    match state {
        None | Some(FileState::File(_)) | Some(FileState::TooLarge(_)) => Verdict::Ok,
        Some(FileState::Missing) => Verdict::Finding(
            Severity::Error,
            format!("`{var}={value}` names a file that does not exist in the image"),
            format!("copy the file there (`COPY <file> {value}`), or point `{var}` at where the Dockerfile puts it"),
        ),
        Some(FileState::NotAFile(what)) => Verdict::Finding(
            Severity::Error,
            format!("`{var}={value}` names {what}, not a file"),
            format!("point `{var}` at the configuration file itself"),
        ),
        Some(FileState::Unknown) => Verdict::Note(format!(
            "`{var}={value}`: the Dockerfile copies nothing there from the build context; build the image so `check` can look inside it"
        )),
    }
}

/// Checks every `env_files` variable.
pub(crate) async fn check(
    image: &ImageName,
    vars: &[String],
    config: &RunConfig,
    files: &Files<'_, impl TestContainer>,
    notes: &mut Vec<Note>,
) -> Result<Vec<Finding>, EngineError> {
    let mut findings = Vec::new();
    for var in vars {
        let state = match config.env_var(var) {
            Some(value) if value.starts_with('/') => Some(files.get(value, false).await?),
            _ => None,
        };
        match judge(var, config, state.as_ref()) {
            Verdict::Ok => {}
            Verdict::Finding(severity, message, hint) => {
                findings.push(Finding::new(
                    rules::ENV_FILE,
                    severity,
                    image,
                    message,
                    hint,
                ));
            }
            Verdict::Note(text) => notes.push(Note {
                image: image.clone(),
                rule: Some(rules::ENV_FILE),
                text,
            }),
        }
    }
    Ok(findings)
}

#[cfg(test)]
mod tests {
    use super::super::run_config::tests::dockerfile;
    use super::*;

    fn image_config(env: &[&str]) -> RunConfig {
        RunConfig::from_image(&crate::docker::ImageDetails {
            env: env.iter().map(|s| s.to_string()).collect(),
            ..Default::default()
        })
    }

    #[test]
    fn unset_is_an_error_in_the_image_and_a_warning_in_the_dockerfile() {
        match judge("CONDUIT_CONFIG", &image_config(&["PATH=/bin"]), None) {
            Verdict::Finding(Severity::Error, message, hint) => {
                assert_eq!(message, "`CONDUIT_CONFIG` is not set in the image");
                assert!(hint.contains("ENV CONDUIT_CONFIG="), "{hint}");
            }
            other => panic!("{other:?}"),
        }
        assert!(matches!(
            judge("CONDUIT_CONFIG", &dockerfile(None, &[], &[]), None),
            Verdict::Finding(Severity::Warning, _, _)
        ));
    }

    #[test]
    fn the_named_file_must_exist_and_be_a_file() {
        let config = image_config(&["CONDUIT_CONFIG=/etc/conduit.toml"]);
        assert_eq!(
            judge("CONDUIT_CONFIG", &config, Some(&FileState::File(vec![]))),
            Verdict::Ok
        );
        match judge("CONDUIT_CONFIG", &config, Some(&FileState::Missing)) {
            Verdict::Finding(Severity::Error, message, _) => {
                assert_eq!(message, "`CONDUIT_CONFIG=/etc/conduit.toml` names a file that does not exist in the image")
            }
            other => panic!("{other:?}"),
        }
        assert!(matches!(
            judge("CONDUIT_CONFIG", &config, Some(&FileState::NotAFile("a directory"))),
            Verdict::Finding(Severity::Error, m, _) if m.contains("a directory")
        ));
    }

    #[test]
    fn what_only_the_image_can_tell_is_a_note() {
        let config = dockerfile(None, &[], &[("CONDUIT_CONFIG", "/etc/base.toml")]);
        assert!(matches!(
            judge("CONDUIT_CONFIG", &config, Some(&FileState::Unknown)),
            Verdict::Note(_)
        ));
        let relative = dockerfile(None, &[], &[("CONDUIT_CONFIG", "conduit.toml")]);
        assert!(matches!(
            judge("CONDUIT_CONFIG", &relative, None),
            Verdict::Note(_)
        ));
        let empty = image_config(&["CONDUIT_CONFIG="]);
        assert!(matches!(
            judge("CONDUIT_CONFIG", &empty, None),
            Verdict::Finding(Severity::Error, _, _)
        ));
    }
}
