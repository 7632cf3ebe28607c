//! The end of a run: the summary table printed on stderr, its Markdown twin appended to
//! `GITHUB_STEP_SUMMARY`, and the `--json-out` file (also when the run is interrupted, so that an
//! older file never stays in place looking current).

use std::io::Write;
use std::path::Path;

use serde_json::json;

use super::outcome::ImageResult;
use super::{format_duration, Reporter};
use crate::error::Exit;

/// Where the end of a run is said, and how much of it the user asked to see.
#[derive(Clone, Copy)]
pub struct Console<'a> {
    /// The run's reporter (stopped before the summary is printed).
    pub reporter: &'a dyn Reporter,
    /// `-q`: the table is printed only when the run failed.
    pub quiet: bool,
    /// `--progress json`: stderr carries only JSON lines, so no table.
    pub json_progress: bool,
}

/// What a finished run reports.
pub struct Summary<'a> {
    /// The step summary's heading (`fleet-images build`).
    pub title: &'a str,
    /// Every image's outcome, in dependency order.
    pub results: &'a [ImageResult],
    /// The deploy's report, `{"skipped": …}` when it was not attempted, `None` when not asked.
    pub deploy: Option<serde_json::Value>,
    /// `--json-out`.
    pub json_out: Option<&'a Path>,
}

/// Prints the summary, writes `--json-out` and the step summary, and returns the exit code: the
/// run's, or 2 when `--json-out` cannot be written.
pub fn finish(console: Console<'_>, summary: Summary<'_>, exit: Exit) -> Exit {
    console.reporter.finish();
    if !console.json_progress && (!console.quiet || exit != Exit::Success) {
        crate::errout!("\n{}", table(summary.results));
    }
    append_step_summary(summary.title, summary.results);
    if let Some(path) = summary.json_out {
        let value = json!({ "images": summary.results, "deploy": summary.deploy, "exit_code": exit.code() });
        if let Err(error) = write_json(path, &value) {
            crate::errln!("error: cannot write {}: {error}", path.display());
            return exit.worst(Exit::BadInput);
        }
    }
    exit
}

/// Ends an interrupted run: stops live output, says `message`, and writes `--json-out` saying
/// the run was interrupted. Returns exit 130.
pub fn interrupted(reporter: &dyn Reporter, message: &str, json_out: Option<&Path>) -> Exit {
    reporter.finish();
    crate::errln!("{message}");
    if let Some(path) = json_out {
        let value = json!({
            "images": [],
            "deploy": null,
            "interrupted": true,
            "exit_code": Exit::Interrupted.code(),
        });
        if let Err(error) = write_json(path, &value) {
            crate::errln!("error: cannot write {}: {error}", path.display());
        }
    }
    Exit::Interrupted
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
    let text = serde_json::to_string_pretty(value).expect("a JSON value serializes");
    std::fs::write(path, text + "\n")
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;
    use crate::names::Key;
    use crate::report::{NullReporter, Outcome};

    fn results() -> Vec<ImageResult> {
        let mut built = ImageResult::new(
            "agent".parse().unwrap(),
            Some(Key::from_bytes([1; 32])),
            Outcome::Pushed,
        );
        built.digest = Some(format!("sha256:{}", "ab".repeat(32)).parse().unwrap());
        built.duration = Duration::from_millis(1500);
        let mut failed = ImageResult::new("web".parse().unwrap(), None, Outcome::Failed);
        failed.error = Some("error: build of `web` failed\n  hint: see the log".into());
        vec![built, failed]
    }

    #[test]
    fn the_table_shows_one_row_per_image_with_the_first_line_of_an_error() {
        let table = table(&results());
        let lines: Vec<&str> = table.lines().collect();
        assert_eq!(lines[0], "IMAGE  KEY           OUTCOME  TIME  DETAIL");
        assert!(lines[1].starts_with("agent  010101010101  pushed   1.5s  sha256:abababababab"));
        assert!(lines[2].ends_with("failed   0.0s  error: build of `web` failed"));
        assert_eq!(lines.len(), 3);
        let markdown = markdown("fleet-images build", &results());
        assert!(markdown
            .starts_with("### fleet-images build\n\n| image | key | outcome | time | detail |\n"));
    }

    #[test]
    fn json_out_holds_every_image_the_deploy_and_the_exit_code() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("out.json");
        let console = Console {
            reporter: &NullReporter,
            quiet: true,
            json_progress: true,
        };
        let results = results();
        let summary = Summary {
            title: "fleet-images build",
            results: &results,
            deploy: Some(json!({ "skipped": "not every image was built and pushed" })),
            json_out: Some(&path),
        };
        assert_eq!(finish(console, summary, Exit::Failed), Exit::Failed);
        let written: serde_json::Value =
            serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
        assert_eq!(written["exit_code"], 1);
        assert_eq!(written["images"][0]["name"], "agent");
        assert_eq!(written["images"][0]["outcome"], "pushed");
        assert_eq!(written["images"][0]["duration_ms"], 1500);
        assert_eq!(written["images"][1]["outcome"], "failed");
        assert_eq!(
            written["deploy"]["skipped"],
            "not every image was built and pushed"
        );
        // A file that cannot be written raises the exit code to 2 (bad input).
        let summary = Summary {
            title: "t",
            results: &results,
            deploy: None,
            json_out: Some(dir.path()),
        };
        assert_eq!(finish(console, summary, Exit::Success), Exit::BadInput);
    }

    #[test]
    fn an_interrupted_run_still_writes_json_out() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("out.json");
        let exit = interrupted(&NullReporter, "interrupted: test", Some(&path));
        assert_eq!(exit, Exit::Interrupted);
        assert_eq!(
            std::fs::read_to_string(&path).unwrap(),
            "{\n  \"deploy\": null,\n  \"exit_code\": 130,\n  \"images\": [],\n  \"interrupted\": true\n}\n"
        );
    }
}
