//! Metadata and file tests: what the image is, without running it.
//!
//! Metadata tests compare the image's configuration (`GET /images/{name}/json`) with
//! `[….test.metadata]`, one result per key. File tests read the image's file system through a
//! created, never started container and the archive API: the stat header for the kind and the
//! permission bits (of the path itself: a symbolic link is tested as a link), the first tar header
//! of the path's archive for its owner, and the file's bytes (after links) for `contains` and
//! `matches`.

use super::outcome::{one_line, TestKind, TestResult};
use crate::docker::{EngineError, FileContent, ImageConfig, PathKind, TestContainer};
use crate::manifest::{normalise_port, FileTest, FileType, MetadataTest};

/// Most bytes of a file read for `contains` and `matches`.
const CONTENT_CAP: u64 = 16 * 1024 * 1024;

fn shown(values: &[String]) -> String {
    format!("{values:?}")
}

/// One result per key of `metadata`, in the schema's order.
pub(crate) fn metadata(expected: &MetadataTest, config: &ImageConfig) -> Vec<TestResult> {
    let mut results = Vec::new();
    let mut compare = |key: &str, want: String, found: String| {
        results.push(if want == found {
            TestResult::passed(TestKind::Metadata, key, found)
        } else {
            TestResult::failed(
                TestKind::Metadata,
                key,
                format!("expected {want}, found {found}"),
            )
        });
    };
    if let Some(user) = &expected.user {
        compare("user", format!("`{user}`"), format!("`{}`", config.user));
    }
    if let Some(workdir) = &expected.workdir {
        compare(
            "workdir",
            format!("`{workdir}`"),
            format!("`{}`", config.workdir),
        );
    }
    if let Some(entrypoint) = &expected.entrypoint {
        compare("entrypoint", shown(entrypoint), shown(&config.entrypoint));
    }
    if let Some(cmd) = &expected.cmd {
        compare("cmd", shown(cmd), shown(&config.cmd));
    }
    for (name, value) in &expected.env {
        let found = match config.env_var(name) {
            Some(v) => format!("`{name}={v}`"),
            None => format!("no `{name}`"),
        };
        compare(&format!("env {name}"), format!("`{name}={value}`"), found);
    }
    if let Some(ports) = &expected.exposed_ports {
        let mut found: Vec<String> = config
            .exposed_ports
            .iter()
            .map(|p| normalise_port(p).unwrap_or_else(|| p.clone()))
            .collect();
        found.sort();
        found.dedup();
        compare("exposed_ports", shown(ports), shown(&found));
    }
    results
}

fn kind_name(kind: PathKind) -> &'static str {
    match kind {
        PathKind::File => "a file",
        PathKind::Dir => "a directory",
        PathKind::Symlink => "a symbolic link",
        PathKind::Other => "a special file",
    }
}

fn wanted_kind(kind: FileType) -> (PathKind, &'static str) {
    match kind {
        FileType::File => (PathKind::File, "a file"),
        FileType::Dir => (PathKind::Dir, "a directory"),
        FileType::Symlink => (PathKind::Symlink, "a symbolic link"),
    }
}

/// Runs one file test against a created container. An engine failure is an `Err`.
pub(crate) async fn file(
    container: &impl TestContainer,
    test: &FileTest,
) -> Result<TestResult, EngineError> {
    let name = test.path.as_str();
    let found = container.stat(name).await?;
    let info = match (test.exists, found) {
        (false, None) => return Ok(TestResult::passed(TestKind::File, name, "absent")),
        (false, Some(info)) => {
            return Ok(TestResult::failed(
                TestKind::File,
                name,
                format!("expected no such path, found {}", kind_name(info.kind)),
            ))
        }
        (true, None) => {
            return Ok(TestResult::failed(
                TestKind::File,
                name,
                "expected it to exist, found nothing at that path",
            ))
        }
        (true, Some(info)) => info,
    };
    let mut problems = Vec::new();
    let mut seen = vec![kind_name(info.kind).to_string()];
    if let Some(kind) = test.kind {
        let (want, words) = wanted_kind(kind);
        if info.kind != want {
            problems.push(format!(
                "type: expected {words}, found {}",
                kind_name(info.kind)
            ));
        }
    }
    if let Some(mode) = test.mode {
        if info.mode != mode {
            problems.push(format!(
                "mode: expected {mode:04o}, found {:04o}",
                info.mode
            ));
        } else {
            seen.push(format!("mode {mode:04o}"));
        }
    }
    if let Some(owner) = test.owner {
        match container.path_header(name).await? {
            None => problems.push("owner: the engine sent no archive of it".into()),
            Some(header) => {
                let matches =
                    header.uid == owner.uid && owner.gid.is_none_or(|gid| gid == header.gid);
                if matches {
                    seen.push(format!("owner {owner}"));
                } else {
                    problems.push(format!(
                        "owner: expected {owner}, found {}:{}",
                        header.uid, header.gid
                    ));
                }
            }
        }
    }
    if test.contains.is_some() || test.matches.is_some() {
        check_content(container, test, &mut seen, &mut problems).await?;
    }
    Ok(if problems.is_empty() {
        TestResult::passed(TestKind::File, name, seen.join(", "))
    } else {
        TestResult::failed(TestKind::File, name, problems.join("; "))
    })
}

/// The `contains` and `matches` of a file test, against the file's content (up to
/// `CONTENT_CAP` bytes): what held goes to `seen`, what did not to `problems`.
async fn check_content(
    container: &impl TestContainer,
    test: &FileTest,
    seen: &mut Vec<String>,
    problems: &mut Vec<String>,
) -> Result<(), EngineError> {
    let name = test.path.as_str();
    match container.read_file(name, CONTENT_CAP).await? {
        FileContent::File(bytes) => {
            let text = String::from_utf8_lossy(&bytes);
            if let Some(want) = &test.contains {
                let shown = one_line(want);
                if text.contains(want.as_str()) {
                    seen.push(format!("contains `{shown}`"));
                } else {
                    problems.push(format!(
                        "content: expected it to contain `{shown}`, found {} bytes without it",
                        bytes.len()
                    ));
                }
            }
            if let Some(pattern) = &test.matches {
                if pattern.is_match(&text) {
                    seen.push(format!("matches `{pattern}`"));
                } else {
                    problems.push(format!(
                        "content: expected a match of `{pattern}`, found {} bytes without one",
                        bytes.len()
                    ));
                }
            }
        }
        FileContent::Missing => {
            problems.push("content: it is a link that leads nowhere".into());
        }
        FileContent::NotAFile(kind) => problems.push(format!(
            "content: expected a regular file to read, found {}",
            kind_name(kind)
        )),
        FileContent::TooLarge { size } => problems.push(format!(
            "content: {size} bytes, more than the {CONTENT_CAP} a test reads"
        )),
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::imagetest::TestStatus;

    #[test]
    fn metadata_reports_each_key() {
        let config = ImageConfig {
            user: "app".into(),
            workdir: "/app".into(),
            entrypoint: vec![],
            cmd: vec!["httpd".into(), "-f".into()],
            env: vec![
                ("PORT".into(), "8080".into()),
                ("PATH".into(), "/bin".into()),
            ],
            exposed_ports: vec!["8080/tcp".into()],
            ..Default::default()
        };
        let expected = MetadataTest {
            user: Some("app".into()),
            workdir: Some("/srv".into()),
            entrypoint: Some(vec![]),
            cmd: Some(vec!["httpd".into(), "-f".into()]),
            env: [
                ("PORT".to_string(), "80".to_string()),
                ("X".to_string(), "1".to_string()),
            ]
            .into(),
            exposed_ports: Some(vec!["8080/tcp".into()]),
        };
        let results = metadata(&expected, &config);
        let summary: Vec<(String, TestStatus, String)> = results
            .into_iter()
            .map(|r| (r.name, r.status, r.message))
            .collect();
        assert_eq!(
            summary,
            [
                ("user".into(), TestStatus::Passed, "`app`".into()),
                (
                    "workdir".into(),
                    TestStatus::Failed,
                    "expected `/srv`, found `/app`".into()
                ),
                ("entrypoint".into(), TestStatus::Passed, "[]".into()),
                (
                    "cmd".into(),
                    TestStatus::Passed,
                    "[\"httpd\", \"-f\"]".into()
                ),
                (
                    "env PORT".into(),
                    TestStatus::Failed,
                    "expected `PORT=80`, found `PORT=8080`".into()
                ),
                (
                    "env X".into(),
                    TestStatus::Failed,
                    "expected `X=1`, found no `X`".into()
                ),
                (
                    "exposed_ports".into(),
                    TestStatus::Passed,
                    "[\"8080/tcp\"]".into()
                ),
            ]
        );
    }
}
