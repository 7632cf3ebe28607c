//! Per-image build logs under `<state dir>/logs/`.

use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};

/// A log file being written, and the last lines kept for error messages.
pub struct Log {
    path: PathBuf,
    file: Option<BufWriter<File>>,
    tail: std::collections::VecDeque<String>,
}

/// How many trailing lines a failure shows.
pub const TAIL_LINES: usize = 15;

impl Log {
    /// Creates (truncates) `<dir>/logs/<name>.log`; logging goes on without a file if it cannot.
    pub fn create(state_dir: &Path, name: &str) -> Self {
        let dir = state_dir.join("logs");
        let path = dir.join(format!("{name}.log"));
        let file = std::fs::create_dir_all(&dir)
            .and_then(|_| File::create(&path))
            .ok()
            .map(BufWriter::new);
        Self {
            path,
            file,
            tail: std::collections::VecDeque::new(),
        }
    }

    /// Appends a line.
    pub fn line(&mut self, text: &str) {
        if let Some(file) = &mut self.file {
            // Flushed per line, so `tail -f` and a crash both see everything so far.
            let _ = writeln!(file, "{text}").and_then(|_| file.flush());
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

    /// The file, when it could be created: a failure never names a log that does not exist.
    pub fn path(&self) -> Option<&Path> {
        self.file.as_ref().map(|_| self.path.as_path())
    }
}

impl Drop for Log {
    fn drop(&mut self) {
        if let Some(file) = &mut self.file {
            let _ = file.flush();
        }
    }
}
