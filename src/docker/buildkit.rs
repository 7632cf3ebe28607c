//! BuildKit's status stream turned into lines: each vertex (a step such as `[2/4] RUN npm ci`)
//! is numbered in the order it appears and reported once when it starts — or once as `CACHED` —
//! with its output lines and its end (`DONE 1.2s` or `ERROR: …`), the way
//! `docker build --progress=plain` prints them. The failing vertex's own output is kept for the
//! error. <https://github.com/moby/buildkit/blob/master/api/services/control/control.proto>

use std::collections::{HashMap, VecDeque};

use bollard::moby::buildkit::v1::{StatusResponse, VertexLog, VertexWarning};

/// A line of build output as the builders report it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BuildLine<'a> {
    /// A step started or was found in the cache (`#5 [2/4] RUN npm ci`, `#5 CACHED [2/4] …`,
    /// or the classic builder's `Step 2/4 : RUN npm ci`).
    Step(&'a str),
    /// Any other line: a step's output, its end, a warning.
    Output(&'a str),
}

/// The name BuildKit gives the vertex that reads a `cache-from` image's inline cache.
const CACHE_IMPORT: &str = "importing cache manifest from";

/// How many lines of a step's output an error quotes.
const OUTPUT_LINES: usize = 20;

#[derive(Debug, Default)]
struct Vertex {
    number: usize,
    name: String,
    announced: bool,
    done: bool,
    error: Option<String>,
    partial: String,
    output: VecDeque<String>,
}

impl Vertex {
    fn keep(&mut self, line: &str) {
        if self.output.len() == OUTPUT_LINES {
            self.output.pop_front();
        }
        self.output.push_back(line.to_owned());
    }
}

/// The state of one build's progress.
#[derive(Debug, Default)]
pub(super) struct Progress {
    vertexes: HashMap<String, Vertex>,
    failed: Option<String>,
}

/// The step that failed, with its message and output.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct FailedStep {
    pub(super) name: String,
    pub(super) error: String,
    pub(super) output: Vec<String>,
}

impl Progress {
    /// Takes one status message and passes the lines it makes to `on_line`.
    pub(super) fn status(
        &mut self,
        status: StatusResponse,
        on_line: &mut impl FnMut(BuildLine<'_>),
    ) {
        for vertex in status.vertexes {
            let next = self.vertexes.len() + 1;
            let state = self.vertexes.entry(vertex.digest.clone()).or_default();
            if state.number == 0 {
                state.number = next;
            }
            if !vertex.name.is_empty() {
                state.name = vertex.name.clone();
            }
            let n = state.number;
            if vertex.cached && !state.done {
                state.announced = true;
                state.done = true;
                on_line(BuildLine::Step(&format!("#{n} CACHED {}", state.name)));
                continue;
            }
            if vertex.started.is_some() && !state.announced {
                state.announced = true;
                on_line(BuildLine::Step(&format!("#{n} {}", state.name)));
            }
            if let Some(completed) = vertex.completed.filter(|_| !state.done) {
                state.done = true;
                if !state.partial.is_empty() {
                    let rest = std::mem::take(&mut state.partial);
                    state.keep(&rest);
                    on_line(BuildLine::Output(&format!("#{n} {rest}")));
                }
                if !vertex.error.is_empty() && state.name.starts_with(CACHE_IMPORT) {
                    // A cache source that does not exist (yet) is no failure: BuildKit goes on
                    // and builds the steps itself.
                    on_line(BuildLine::Output(&format!(
                        "#{n} no cache there: {}",
                        vertex.error
                    )));
                } else if vertex.error.is_empty() {
                    let took = vertex
                        .started
                        .map(|started| {
                            (completed.seconds - started.seconds) as f64
                                + f64::from(completed.nanos - started.nanos) / 1e9
                        })
                        .unwrap_or(0.0);
                    on_line(BuildLine::Output(&format!("#{n} DONE {took:.1}s")));
                } else {
                    on_line(BuildLine::Output(&format!("#{n} ERROR: {}", vertex.error)));
                    state.error = Some(vertex.error.clone());
                    self.failed.get_or_insert(vertex.digest.clone());
                }
            }
        }
        self.logs(status.logs, on_line);
        self.warnings(status.warnings, on_line);
    }

    /// A step's output, split into lines (a partial line waits for the rest).
    fn logs(&mut self, logs: Vec<VertexLog>, on_line: &mut impl FnMut(BuildLine<'_>)) {
        for log in logs {
            let Some(state) = self.vertexes.get_mut(&log.vertex) else {
                continue;
            };
            state.partial.push_str(&String::from_utf8_lossy(&log.msg));
            while let Some(end) = state.partial.find(['\n', '\r']) {
                let line: String = state.partial.drain(..=end).collect();
                let line = line.trim_end();
                if line.is_empty() {
                    continue;
                }
                state.keep(line);
                on_line(BuildLine::Output(&format!("#{} {line}", state.number)));
            }
        }
    }

    /// BuildKit's warnings about a step (deprecated syntax, a lint rule).
    fn warnings(&self, warnings: Vec<VertexWarning>, on_line: &mut impl FnMut(BuildLine<'_>)) {
        for warning in warnings {
            let number = self
                .vertexes
                .get(&warning.vertex)
                .map(|v| v.number)
                .unwrap_or_default();
            on_line(BuildLine::Output(&format!(
                "#{number} WARN: {}",
                String::from_utf8_lossy(&warning.short).trim_end()
            )));
        }
    }

    /// The first step that failed, if any did.
    pub(super) fn failed(&self) -> Option<FailedStep> {
        let vertex = self.vertexes.get(self.failed.as_ref()?)?;
        Some(FailedStep {
            name: vertex.name.clone(),
            error: vertex.error.clone().unwrap_or_default(),
            output: vertex.output.iter().cloned().collect(),
        })
    }
}

#[cfg(test)]
mod tests {
    use bollard::moby::buildkit::v1::{Vertex as V, VertexLog};

    use super::*;

    /// The vertex with start and completion times in seconds after the epoch (the protobuf
    /// timestamp type is not re-exported by bollard, so it is reached through the fields).
    fn timed(mut vertex: V, started: Option<i64>, completed: Option<i64>) -> V {
        if let Some(seconds) = started {
            let mut at = vertex.started.take().unwrap_or_default();
            at.seconds = seconds;
            vertex.started = Some(at);
        }
        if let Some(seconds) = completed {
            let mut at = vertex.completed.take().unwrap_or_default();
            at.seconds = seconds;
            vertex.completed = Some(at);
        }
        vertex
    }

    fn lines(progress: &mut Progress, status: StatusResponse) -> Vec<String> {
        let mut out = Vec::new();
        progress.status(status, &mut |line| {
            out.push(match line {
                BuildLine::Step(text) => format!("step {text}"),
                BuildLine::Output(text) => format!("out {text}"),
            })
        });
        out
    }

    #[test]
    fn steps_are_numbered_announced_once_and_cached_steps_say_so() {
        let mut progress = Progress::default();
        let run = timed(
            V {
                digest: "sha256:a".into(),
                name: "[2/3] RUN make".into(),
                ..Default::default()
            },
            Some(10),
            None,
        );
        let cached = timed(
            V {
                digest: "sha256:b".into(),
                name: "[1/3] FROM base".into(),
                cached: true,
                ..Default::default()
            },
            Some(10),
            Some(10),
        );
        let first = lines(
            &mut progress,
            StatusResponse {
                vertexes: vec![cached.clone(), run.clone()],
                ..Default::default()
            },
        );
        assert_eq!(
            first,
            ["step #1 CACHED [1/3] FROM base", "step #2 [2/3] RUN make"]
        );
        let second = lines(
            &mut progress,
            StatusResponse {
                vertexes: vec![cached, timed(run, None, Some(12))],
                logs: vec![VertexLog {
                    vertex: "sha256:a".into(),
                    msg: b"compiling\npart".to_vec(),
                    ..Default::default()
                }],
                ..Default::default()
            },
        );
        assert_eq!(second, ["out #2 DONE 2.0s", "out #2 compiling"]);
        assert!(progress.failed().is_none());
    }

    #[test]
    fn a_missing_cache_source_is_no_failure() {
        let mut progress = Progress::default();
        let import = V {
            digest: "sha256:c".into(),
            name: "importing cache manifest from registry.example/app:latest".into(),
            error: "registry.example/app:latest: not found".into(),
            ..Default::default()
        };
        let out = lines(
            &mut progress,
            StatusResponse {
                vertexes: vec![timed(import, Some(1), Some(1))],
                ..Default::default()
            },
        );
        assert_eq!(
            out,
            [
                "step #1 importing cache manifest from registry.example/app:latest",
                "out #1 no cache there: registry.example/app:latest: not found"
            ]
        );
        assert!(progress.failed().is_none());
    }

    #[test]
    fn the_failing_step_keeps_its_own_output() {
        let mut progress = Progress::default();
        let other = timed(
            V {
                digest: "sha256:o".into(),
                name: "[other 1/1] RUN sleep 1".into(),
                ..Default::default()
            },
            Some(1),
            None,
        );
        let failing = timed(
            V {
                digest: "sha256:f".into(),
                name: "[2/2] RUN ./check".into(),
                ..Default::default()
            },
            Some(1),
            None,
        );
        let log = |vertex: &str, msg: &str| VertexLog {
            vertex: vertex.into(),
            msg: msg.as_bytes().to_vec(),
            ..Default::default()
        };
        lines(
            &mut progress,
            StatusResponse {
                vertexes: vec![other, failing.clone()],
                logs: vec![
                    log("sha256:f", "checking\n"),
                    log("sha256:o", "unrelated\n"),
                ],
                ..Default::default()
            },
        );
        let last = lines(
            &mut progress,
            StatusResponse {
                vertexes: vec![timed(
                    V {
                        error: "process \"/bin/sh -c ./check\" did not complete successfully: exit code: 3"
                            .into(),
                        ..failing
                    },
                    None,
                    Some(2),
                )],
                ..Default::default()
            },
        );
        assert_eq!(
            last,
            ["out #2 ERROR: process \"/bin/sh -c ./check\" did not complete successfully: exit code: 3"]
        );
        let failed = progress.failed().unwrap();
        assert_eq!(failed.name, "[2/2] RUN ./check");
        assert_eq!(failed.output, ["checking"]);
    }
}
