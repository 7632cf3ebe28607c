//! One JSON object per line on stderr (`--progress json`), for tools that follow a run.

use std::io::Write;
use std::sync::Mutex;

use serde_json::json;

use super::{Event, Level, Reporter};

/// Writes each event as a JSON line.
#[derive(Debug, Default)]
pub struct JsonReporter {
    lock: Mutex<()>,
}

impl JsonReporter {
    fn emit(&self, value: serde_json::Value) {
        let _guard = self.lock.lock();
        let _ = writeln!(std::io::stderr().lock(), "{value}");
    }
}

fn level(level: Level) -> &'static str {
    match level {
        Level::Debug => "debug",
        Level::Info => "info",
        Level::Warn => "warn",
        Level::Error => "error",
    }
}

impl Reporter for JsonReporter {
    fn event(&self, event: Event<'_>) {
        let value = match event {
            Event::Started { subject, action } => {
                json!({"event": "started", "subject": subject, "action": action})
            }
            Event::Step { subject, text } => {
                json!({"event": "step", "subject": subject, "text": text})
            }
            Event::Line { subject, text } => {
                json!({"event": "line", "subject": subject, "text": text})
            }
            Event::Finished {
                subject,
                ok,
                summary,
                duration,
            } => json!({
                "event": "finished", "subject": subject, "ok": ok, "summary": summary,
                "duration_ms": duration.as_millis() as u64,
            }),
            Event::Note {
                subject,
                level: l,
                text,
            } => json!({"event": "note", "subject": subject, "level": level(l), "text": text}),
        };
        self.emit(value);
    }

    fn print(&self, text: &str) {
        self.emit(json!({"event": "text", "text": text}));
    }
}
