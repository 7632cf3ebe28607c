//! The labels every built image carries: `org.opencontainers.image.revision` and `.source`, from
//! the CI's environment or the checkout the manifest is in.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

/// The revision and source labels for images built from `dir`. `git` runs on a blocking thread,
/// off the async workers. Credentials in a remote URL are never copied into a label.
pub async fn revision_labels(dir: &Path) -> HashMap<String, String> {
    let dir: PathBuf = dir.to_path_buf();
    tokio::task::spawn_blocking(move || labels_from(&dir, &|name| std::env::var(name).ok()))
        .await
        .unwrap_or_default()
}

fn labels_from(dir: &Path, env: &dyn Fn(&str) -> Option<String>) -> HashMap<String, String> {
    let mut labels = HashMap::new();
    let revision = env("GITHUB_SHA").or_else(|| git(dir, &["rev-parse", "HEAD"]));
    // (Two short `git` runs, one after the other: only a run that builds asks for them.)
    if let Some(revision) = revision {
        labels.insert("org.opencontainers.image.revision".to_string(), revision);
    }
    let source = match (env("GITHUB_SERVER_URL"), env("GITHUB_REPOSITORY")) {
        (Some(server), Some(repo)) => Some(format!("{server}/{repo}")),
        _ => git(dir, &["config", "--get", "remote.origin.url"]).map(|url| strip_userinfo(&url)),
    };
    if let Some(source) = source {
        labels.insert("org.opencontainers.image.source".to_string(), source);
    }
    labels
}

/// What `git -C dir ARGS` prints, trimmed; `None` when it fails or prints nothing.
fn git(dir: &Path, args: &[&str]) -> Option<String> {
    std::process::Command::new("git")
        .arg("-C")
        .arg(dir)
        .args(args)
        .stderr(std::process::Stdio::null())
        .output()
        .ok()
        .filter(|o| o.status.success())
        .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_string())
        .filter(|s| !s.is_empty())
}

fn strip_userinfo(url: &str) -> String {
    match url.split_once("://") {
        Some((scheme, rest)) => match rest.split_once('@') {
            Some((userinfo, host)) if !userinfo.contains('/') => format!("{scheme}://{host}"),
            _ => url.to_string(),
        },
        None => url.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn credentials_never_reach_the_source_label() {
        assert_eq!(
            strip_userinfo("https://user:ghp_secret@github.com/o/r.git"),
            "https://github.com/o/r.git"
        );
        assert_eq!(
            strip_userinfo("git@github.com:o/r.git"),
            "git@github.com:o/r.git"
        );
        assert_eq!(
            strip_userinfo("https://github.com/o/r"),
            "https://github.com/o/r"
        );
    }

    #[test]
    fn the_ci_environment_wins_over_the_checkout() {
        let dir = tempfile::tempdir().unwrap();
        let env = |name: &str| match name {
            "GITHUB_SHA" => Some("abc123".to_string()),
            "GITHUB_SERVER_URL" => Some("https://github.com".to_string()),
            "GITHUB_REPOSITORY" => Some("o/r".to_string()),
            _ => None,
        };
        let labels = labels_from(dir.path(), &env);
        assert_eq!(labels["org.opencontainers.image.revision"], "abc123");
        assert_eq!(
            labels["org.opencontainers.image.source"],
            "https://github.com/o/r"
        );
        // Outside a checkout and without CI variables there is nothing to say.
        assert!(labels_from(dir.path(), &|_| None).is_empty());
    }
}
