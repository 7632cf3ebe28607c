//! Per-image build logs under `<state dir>/logs/`. The file is created and written on a thread
//! of its own: a build's output arrives on an async worker, which only queues each line (and keeps
//! the last few for error messages) and never waits for the disk.

use std::collections::VecDeque;
use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};
use std::sync::mpsc;
use std::thread::JoinHandle;

/// A log file being written, and the last lines kept for error messages.
pub struct Log {
    /// The file, when it could be created: a failure never names a log that does not exist.
    path: Option<PathBuf>,
    /// Lines for the writer thread; `None` once closed, or when there is no file.
    lines: Option<mpsc::Sender<String>>,
    writer: Option<JoinHandle<()>>,
    tail: VecDeque<String>,
}

/// How many trailing lines a failure shows.
pub const TAIL_LINES: usize = 15;

impl Log {
    /// Creates (truncates) `<dir>/logs/<name>.log` on a blocking thread; logging goes on without
    /// a file if it cannot.
    pub async fn create(state_dir: &Path, name: &str) -> Self {
        let dir = state_dir.join("logs");
        let path = dir.join(format!("{name}.log"));
        let created = {
            let path = path.clone();
            tokio::task::spawn_blocking(move || {
                std::fs::create_dir_all(&dir).and_then(|_| File::create(&path))
            })
            .await
        };
        let mut log = Self {
            path: None,
            lines: None,
            writer: None,
            tail: VecDeque::new(),
        };
        if let Ok(Ok(file)) = created {
            let (sender, receiver) = mpsc::channel();
            log.writer = Some(std::thread::spawn(move || write_lines(file, receiver)));
            log.lines = Some(sender);
            log.path = Some(path);
        }
        log
    }

    /// Appends a line: queued for the file, kept in the tail. Never blocks on the disk.
    pub fn line(&mut self, text: &str) {
        if let Some(lines) = &self.lines {
            let _ = lines.send(text.to_string());
        }
        if self.tail.len() == TAIL_LINES {
            self.tail.pop_front();
        }
        self.tail.push_back(text.to_string());
    }

    /// The last lines.
    pub fn tail(&self) -> Vec<String> {
        self.tail.iter().cloned().collect()
    }

    /// The file, when it could be created.
    pub fn path(&self) -> Option<&Path> {
        self.path.as_deref()
    }

    /// Stops taking lines and returns what waits for the file to have every line queued so far
    /// (call it without holding a lock, then await the result).
    pub fn close(&mut self) -> impl std::future::Future<Output = ()> {
        self.lines = None;
        let writer = self.writer.take();
        async move {
            if let Some(writer) = writer {
                let _ = tokio::task::spawn_blocking(move || writer.join()).await;
            }
        }
    }
}

/// The writer thread: every line, flushed as it comes, so that `tail -f` and a crash both see
/// everything so far. Ends when the log is closed or dropped.
fn write_lines(file: File, lines: mpsc::Receiver<String>) {
    let mut file = BufWriter::new(file);
    for line in lines {
        if writeln!(file, "{line}").and_then(|_| file.flush()).is_err() {
            return;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn every_line_is_in_the_file_once_closed_and_the_tail_keeps_the_last() {
        let dir = tempfile::tempdir().unwrap();
        let mut log = Log::create(dir.path(), "agent").await;
        for i in 0..40 {
            log.line(&format!("line {i}"));
        }
        log.close().await;
        let path = log.path().expect("the file was created").to_path_buf();
        assert_eq!(path, dir.path().join("logs").join("agent.log"));
        let text = std::fs::read_to_string(&path).unwrap();
        assert_eq!(text.lines().count(), 40);
        assert!(text.starts_with("line 0\n") && text.ends_with("line 39\n"));
        let tail = log.tail();
        assert_eq!(tail.len(), TAIL_LINES);
        assert_eq!(tail.last().map(String::as_str), Some("line 39"));
        // A line after closing is kept for the message but no longer written.
        log.line("late");
        assert_eq!(log.tail().last().map(String::as_str), Some("late"));
    }

    #[tokio::test]
    async fn no_file_is_named_when_it_cannot_be_created() {
        let dir = tempfile::tempdir().unwrap();
        // `logs` is a file, so the directory cannot be created.
        std::fs::write(dir.path().join("logs"), "").unwrap();
        let mut log = Log::create(dir.path(), "agent").await;
        log.line("still kept");
        log.close().await;
        assert_eq!(log.path(), None);
        assert_eq!(log.tail(), ["still kept"]);
    }
}
