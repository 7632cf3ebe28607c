//! Live output on a terminal: one indicatif line per subject with its current step and elapsed
//! time, then ✓ or ✗ with the duration.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::Duration;

use indicatif::{MultiProgress, ProgressBar, ProgressStyle};

use super::{format_duration, Event, Reporter};

/// One spinner line per subject.
pub struct TtyReporter {
    multi: MultiProgress,
    bars: Mutex<HashMap<String, ProgressBar>>,
    verbose: bool,
    quiet: bool,
}

impl std::fmt::Debug for TtyReporter {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("TtyReporter")
    }
}

impl TtyReporter {
    /// `verbose` also prints build output lines above the bars.
    pub fn new(verbose: bool, quiet: bool) -> Self {
        Self {
            multi: MultiProgress::new(),
            bars: Mutex::new(HashMap::new()),
            verbose,
            quiet,
        }
    }

    fn bar(&self, subject: &str) -> ProgressBar {
        let mut bars = self.bars.lock().expect("bars lock");
        bars.entry(subject.to_string())
            .or_insert_with(|| {
                let bar = self.multi.add(ProgressBar::new_spinner());
                bar.set_style(
                    ProgressStyle::with_template(
                        "{spinner:.cyan} {prefix:.bold} {wide_msg} {elapsed:>4}",
                    )
                    .expect("valid template")
                    .tick_chars("⠋⠙⠹⠸⠼⠴⠦⠧⠇⠏ "),
                );
                bar.set_prefix(subject.to_string());
                bar.enable_steady_tick(Duration::from_millis(120));
                bar
            })
            .clone()
    }
}

impl Reporter for TtyReporter {
    fn event(&self, event: Event<'_>) {
        match event {
            Event::Started { subject, action } => {
                if !self.quiet {
                    self.bar(subject).set_message(format!("{action}…"));
                }
            }
            Event::Step { subject, text } => {
                if !self.quiet {
                    self.bar(subject).set_message(text.to_string());
                }
            }
            Event::Line { subject, text } => {
                if self.verbose {
                    let _ = self.multi.println(format!("[{subject}] {text}"));
                }
            }
            Event::Finished {
                subject,
                ok,
                summary,
                duration,
            } => {
                let bar = self.bar(subject);
                bar.set_style(
                    ProgressStyle::with_template("{prefix:.bold} {wide_msg}")
                        .expect("valid template"),
                );
                let mark = if ok { "✓" } else { "✗" };
                bar.finish_with_message(format!(
                    "{mark} {summary} ({})",
                    format_duration(duration)
                ));
            }
            Event::Note {
                subject,
                level,
                text,
            } => {
                if let Some(prefix) = super::note_prefix(level, self.verbose, self.quiet) {
                    let line = if subject.is_empty() {
                        format!("{prefix}{text}")
                    } else {
                        format!("[{subject}] {prefix}{text}")
                    };
                    let _ = self.multi.println(line);
                }
            }
        }
    }

    fn print(&self, text: &str) {
        self.multi.suspend(|| crate::errout!("{text}"));
    }

    fn finish(&self) {
        for bar in self.bars.lock().expect("bars lock").values() {
            if !bar.is_finished() {
                bar.abandon();
            }
        }
    }
}
