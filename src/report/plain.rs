//! Plain lines prefixed with the subject (`[element] Step 2/5 : COPY …`), for CI logs and pipes.

use std::io::Write;
use std::sync::Mutex;

use super::{format_duration, Event, Reporter};

/// Writes one line per event to stderr.
#[derive(Debug)]
pub struct PlainReporter {
    verbose: bool,
    quiet: bool,
    lock: Mutex<()>,
}

impl PlainReporter {
    /// `verbose` shows build output lines; `quiet` shows only warnings and errors.
    pub fn new(verbose: bool, quiet: bool) -> Self {
        Self {
            verbose,
            quiet,
            lock: Mutex::new(()),
        }
    }

    /// One line in one write (stderr is unbuffered): a line is never split in a CI log that
    /// interleaves several processes, and a long run does not pay five system calls a line.
    fn line(&self, subject: &str, text: &str) {
        let line = if subject.is_empty() {
            format!("{text}\n")
        } else {
            format!("[{subject}] {text}\n")
        };
        let _guard = self.lock.lock();
        let _ = std::io::stderr().lock().write_all(line.as_bytes());
    }
}

impl Reporter for PlainReporter {
    fn event(&self, event: Event<'_>) {
        match event {
            Event::Started { subject, action } if !self.quiet => {
                self.line(subject, &format!("{action} started"))
            }
            Event::Step { subject, text } if !self.quiet => self.line(subject, text),
            Event::Line { subject, text } if self.verbose => self.line(subject, text),
            Event::Finished {
                subject,
                ok,
                summary,
                duration,
            } if !ok || !self.quiet => {
                let mark = if ok { "ok" } else { "FAILED" };
                self.line(
                    subject,
                    &format!("{mark}: {summary} ({})", format_duration(duration)),
                );
            }
            Event::Note {
                subject,
                level,
                text,
            } => {
                if let Some(prefix) = super::note_prefix(level, self.verbose, self.quiet) {
                    self.line(subject, &format!("{prefix}{text}"));
                }
            }
            _ => {}
        }
    }

    fn print(&self, text: &str) {
        let _guard = self.lock.lock();
        let _ = write!(std::io::stderr().lock(), "{text}");
    }
}
