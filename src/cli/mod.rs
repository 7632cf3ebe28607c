//! The command line: parsing (`args.rs`) and turning it into the session every command works in.

pub mod args;
pub mod color;
pub mod completions;
pub mod signal;

use std::collections::BTreeMap;
use std::io::IsTerminal;
use std::path::PathBuf;
use std::sync::Arc;

pub use args::Cli;
use args::Progress;

use crate::manifest::{self, LoadOptions, Manifest, ManifestError};
use crate::names::Platform;
use crate::report::{JsonReporter, PlainReporter, SharedReporter, TtyReporter};

/// What every command gets: the manifest options, the state directory and the reporter.
#[derive(Clone)]
pub struct Session {
    /// The manifest path.
    pub manifest: PathBuf,
    /// Variables and environment for loading it.
    pub load: LoadOptions,
    /// `--platform`: every image's platform, over the manifest's.
    pub platform: Option<Platform>,
    /// `.fleet-images` (logs, content cache, input records).
    pub state_dir: PathBuf,
    /// Progress output.
    pub reporter: SharedReporter,
    /// `-v`.
    pub verbose: bool,
    /// `--progress json`: stderr carries only JSON lines, so the summary table is not printed.
    pub json_progress: bool,
    /// `-q`.
    pub quiet: bool,
}

impl Session {
    /// Validates the global options.
    pub fn from_cli(cli: &Cli) -> Result<Session, ManifestError> {
        let mut vars = Vec::new();
        for text in &cli.vars {
            match text.split_once('=') {
                Some((name, value)) if !name.is_empty() => {
                    vars.push((name.to_string(), value.to_string()))
                }
                _ => return Err(ManifestError::BadVarArgument { text: text.clone() }),
            }
        }
        let platform =
            match cli.platform.as_deref() {
                None | Some("") => None,
                Some(text) => Some(text.parse::<Platform>().map_err(|e| {
                    ManifestError::BadPlatformArgument {
                        text: text.to_string(),
                        message: e.to_string(),
                    }
                })?),
            };
        let env: BTreeMap<String, String> = std::env::vars()
            .filter(|(k, _)| k.starts_with("FLEET_VAR_"))
            .collect();
        let ci = std::env::var("CI").is_ok_and(|v| !v.is_empty() && v != "false" && v != "0");
        let progress = match cli.progress {
            Progress::Auto if !ci && std::io::stderr().is_terminal() => Progress::Tty,
            Progress::Auto => Progress::Plain,
            other => other,
        };
        let reporter: SharedReporter = match progress {
            Progress::Tty => Arc::new(TtyReporter::new(cli.verbose, cli.quiet)),
            Progress::Json => Arc::new(JsonReporter::default()),
            _ => Arc::new(PlainReporter::new(cli.verbose, cli.quiet)),
        };
        Ok(Session {
            manifest: cli.manifest.clone(),
            load: LoadOptions { vars, env },
            platform,
            state_dir: cli.state_dir.clone(),
            reporter,
            verbose: cli.verbose,
            json_progress: matches!(progress, Progress::Json),
            quiet: cli.quiet,
        })
    }

    /// Loads the manifest, with `--platform` applied to every image.
    pub fn load_manifest(&self) -> Result<Manifest, ManifestError> {
        let mut manifest = manifest::load(&self.manifest, &self.load)?;
        if let Some(platform) = &self.platform {
            for image in &mut manifest.images {
                image.platform = platform.clone();
                image.platform_declared = true;
            }
        }
        Ok(manifest)
    }
}
