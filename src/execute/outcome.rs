//! What happened to each image in a run: the summary table, its Markdown twin for
//! `GITHUB_STEP_SUMMARY`, and `--json-out`.

use std::io::Write;
use std::path::Path;
use std::time::Duration;

use serde::Serialize;

use crate::names::{Digest, ImageName, Key};
use crate::report::format_duration;

/// The outcome of one image.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Outcome {
    /// Built in this run.
    Built,
    /// The engine had it.
    Local,
    /// The registry had it.
    Remote,
    /// Pushed in this run (a local image).
    Pushed,
    /// Its build or push failed.
    Failed,
    /// Not built because an image it builds on failed.
    Skipped,
    /// Its inputs could not be read.
    Blocked,
    /// Stopped by Ctrl+C or `--fail-fast`.
    Cancelled,
}

impl Outcome {
    /// The word in the summary.
    pub fn as_str(self) -> &'static str {
        match self {
            Outcome::Built => "built",
            Outcome::Local => "local",
            Outcome::Remote => "remote",
            Outcome::Pushed => "pushed",
            Outcome::Failed => "failed",
            Outcome::Skipped => "skipped",
            Outcome::Blocked => "blocked",
            Outcome::Cancelled => "cancelled",
        }
    }

    /// Whether the image is usable after the run.
    pub fn ok(self) -> bool {
        matches!(
            self,
            Outcome::Built | Outcome::Local | Outcome::Remote | Outcome::Pushed
        )
    }
}

/// Everything `--json-out` and the summary say about one image.
#[derive(Debug, Clone, Serialize)]
pub struct ImageResult {
    /// The image.
    pub name: ImageName,
    /// Its key.
    pub key: Option<Key>,
    /// What happened.
    pub outcome: Outcome,
    /// The local image id, when known.
    pub image_id: Option<String>,
    /// Tags written (local, and `registry/repo:tag` when pushed).
    pub tags: Vec<String>,
    /// The registry digest, when pushed or found there.
    pub digest: Option<Digest>,
    /// Layers uploaded by the push.
    pub layers_uploaded: usize,
    /// Wall time spent on it.
    #[serde(rename = "duration_ms", serialize_with = "millis")]
    pub duration: Duration,
    /// Why it failed or was skipped.
    pub error: Option<String>,
    /// The exit code the failure calls for when it is not a failed build (1): 3 when the engine
    /// was lost mid-build.
    #[serde(skip)]
    pub exit: Option<crate::error::Exit>,
}

fn millis<S: serde::Serializer>(d: &Duration, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_u64(d.as_millis() as u64)
}

impl ImageResult {
    /// A result with nothing done yet.
    pub fn new(name: ImageName, key: Option<Key>, outcome: Outcome) -> Self {
        Self {
            name,
            key,
            outcome,
            image_id: None,
            tags: Vec::new(),
            digest: None,
            layers_uploaded: 0,
            duration: Duration::ZERO,
            error: None,
            exit: None,
        }
    }
}

fn rows(results: &[ImageResult]) -> Vec<[String; 5]> {
    results
        .iter()
        .map(|r| {
            [
                r.name.to_string(),
                r.key.map(|k| k.short()).unwrap_or_else(|| "-".into()),
                r.outcome.as_str().to_string(),
                format_duration(r.duration),
                r.digest
                    .as_ref()
                    .map(|d| format!("sha256:{}", d.short()))
                    .or_else(|| {
                        r.error
                            .as_ref()
                            .map(|e| e.lines().next().unwrap_or("").to_string())
                    })
                    .unwrap_or_default(),
            ]
        })
        .collect()
}

/// The summary table for the terminal.
pub fn table(results: &[ImageResult]) -> String {
    let header = ["IMAGE", "KEY", "OUTCOME", "TIME", "DETAIL"];
    let rows = rows(results);
    let mut widths = header.map(str::len);
    for row in &rows {
        for (w, cell) in widths.iter_mut().zip(row) {
            *w = (*w).max(cell.chars().count());
        }
    }
    let mut out = String::new();
    for row in std::iter::once(header.map(str::to_string)).chain(rows) {
        let line: Vec<String> = row
            .iter()
            .zip(widths)
            .map(|(c, w)| format!("{c:w$}"))
            .collect();
        out.push_str(line.join("  ").trim_end());
        out.push('\n');
    }
    out
}

/// The same table in Markdown.
pub fn markdown(title: &str, results: &[ImageResult]) -> String {
    let mut out = format!(
        "### {title}\n\n| image | key | outcome | time | detail |\n|---|---|---|---|---|\n"
    );
    for row in rows(results) {
        let cells: Vec<String> = row.iter().map(|c| c.replace('|', "\\|")).collect();
        out.push_str(&format!("| {} |\n", cells.join(" | ")));
    }
    out
}

/// Appends the Markdown table to `GITHUB_STEP_SUMMARY` when it is set.
pub fn append_step_summary(title: &str, results: &[ImageResult]) {
    if let Ok(path) = std::env::var("GITHUB_STEP_SUMMARY") {
        if let Ok(mut file) = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(path)
        {
            let _ = file.write_all(markdown(title, results).as_bytes());
        }
    }
}

/// Writes `--json-out`.
pub fn write_json(path: &Path, value: &serde_json::Value) -> std::io::Result<()> {
    let text = serde_json::to_string_pretty(value).expect("json");
    std::fs::write(path, text + "\n")
}
