//! The execute layer's logic on the engine and registry doubles: what is built, pushed, tagged
//! and skipped, in what order, and with which exit code. The integration tests prove the same
//! against the real engine and registries.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use super::builder;
use super::deploy::hand_off;
use super::push::{push_only, Pushes};
use super::run::{run, Run, RunOptions};
use super::Planned;
use crate::docker::fake::{digest_of, Call as EngineCall, FakeEngine};
use crate::docker::{Builder, EngineError};
use crate::error::Exit;
use crate::hash::{inputs, ContentCache};
use crate::manifest::{parse, LoadOptions};
use crate::names::{Digest, Key};
use crate::plan::{ImagePlan, Status};
use crate::registry::fake::{Call as RegistryCall, FakeRegistry, HOST};
use crate::report::{Event, ImageResult, Outcome, Reporter, SharedReporter};

/// Keeps every note and finished line, as `subject: text`.
#[derive(Default)]
struct Recorder(Mutex<Vec<String>>);

impl Reporter for Recorder {
    fn event(&self, event: Event<'_>) {
        let line = match event {
            Event::Note { subject, text, .. } => format!("{subject}: {text}"),
            Event::Finished {
                subject, summary, ..
            } => format!("{subject}: {summary}"),
            _ => return,
        };
        self.0.lock().unwrap().push(line);
    }

    fn print(&self, _: &str) {}
}

impl Recorder {
    fn said(&self, text: &str) -> bool {
        self.0.lock().unwrap().iter().any(|l| l.contains(text))
    }
}

/// `a` and `d` are independent and have a moving tag `latest`; `b` builds on `a`, `c` on `b`.
struct Fleet {
    _dir: tempfile::TempDir,
    state: std::path::PathBuf,
    images: Vec<Planned>,
}

fn fleet() -> Fleet {
    let dir = tempfile::tempdir().unwrap();
    let text = "[images.a]\ncontext = \"a\"\ntags = [\"latest\"]\n\
                [images.b]\ncontext = \"b\"\ndepends_on = [\"a\"]\n\
                [images.c]\ncontext = \"c\"\ndepends_on = [\"b\"]\n\
                [images.d]\ncontext = \"d\"\ntags = [\"latest\"]\n";
    for (name, from) in [
        ("a", "scratch"),
        ("b", "${A_IMAGE}"),
        ("c", "${B_IMAGE}"),
        ("d", "scratch"),
    ] {
        std::fs::create_dir_all(dir.path().join(name)).unwrap();
        std::fs::write(
            dir.path().join(name).join("Dockerfile"),
            format!("ARG A_IMAGE\nARG B_IMAGE\nFROM {from}\n"),
        )
        .unwrap();
    }
    let manifest = parse(
        &dir.path().join("fleet.toml"),
        text,
        &LoadOptions::default(),
    )
    .unwrap();
    let images = manifest
        .images
        .iter()
        .enumerate()
        .map(|(i, spec)| Planned {
            decision: ImagePlan {
                name: spec.name.clone(),
                key: Some(Key::from_bytes([i as u8; 32])),
                status: Status::Build,
                reason: "not built yet".into(),
                push: true,
            },
            spec: spec.clone(),
            inputs: Some(Arc::new(
                inputs::read(spec, &ContentCache::disabled()).unwrap(),
            )),
            local: None,
            local_tags: Vec::new(),
            remote: None,
            blocked_exit: Exit::Success,
        })
        .collect();
    Fleet {
        state: dir.path().join("state"),
        _dir: dir,
        images,
    }
}

impl Fleet {
    fn image(&mut self, name: &str) -> &mut Planned {
        self.images
            .iter_mut()
            .find(|p| p.decision.name.as_str() == name)
            .unwrap()
    }

    /// Marks an image as found in the engine under its key tag.
    fn local(&mut self, name: &str) {
        let image = self.image(name);
        image.decision.status = Status::Local;
        image.local = Some(FakeEngine::id_of(name));
    }

    fn key(&mut self, name: &str) -> Key {
        self.image(name).decision.key.unwrap()
    }

    fn options(&self) -> RunOptions {
        RunOptions {
            jobs: 2,
            state_dir: self.state.clone(),
            ..Default::default()
        }
    }
}

/// An engine whose pushes land in `registry`.
fn engine_into(registry: &Arc<FakeRegistry>) -> FakeEngine {
    let target = registry.clone();
    FakeEngine {
        build_time: Duration::from_millis(20),
        on_push: Some(Box::new(move |repository, tag, digest| {
            let path = repository
                .strip_prefix(&format!("{HOST}/"))
                .expect("pushed to the registry double");
            target.put(path, tag, digest);
        })),
        ..Default::default()
    }
}

async fn execute(
    fleet: &Fleet,
    engine: &FakeEngine,
    registry: Option<&FakeRegistry>,
    options: &RunOptions,
) -> (Vec<ImageResult>, Exit, Arc<Recorder>) {
    let recorder = Arc::new(Recorder::default());
    let reporter: SharedReporter = recorder.clone();
    let edges = Run {
        engine,
        registry,
        reporter: &reporter,
        options,
    };
    let executed = run(&edges, &fleet.images).await;
    (executed.results, executed.exit, recorder)
}

fn outcomes(results: &[ImageResult]) -> Vec<(&str, Outcome)> {
    results
        .iter()
        .map(|r| (r.name.as_str(), r.outcome))
        .collect()
}

#[tokio::test]
async fn everything_is_built_in_dependency_order_and_reported_in_plan_order() {
    let fleet = fleet();
    let engine = FakeEngine::default();
    let (results, exit, _) = execute(&fleet, &engine, None, &fleet.options()).await;
    assert_eq!(exit, Exit::Success);
    assert_eq!(
        outcomes(&results),
        [
            ("a", Outcome::Built),
            ("b", Outcome::Built),
            ("c", Outcome::Built),
            ("d", Outcome::Built)
        ]
    );
    let built = engine.built();
    let at = |n: &str| built.iter().position(|b| b == n).unwrap();
    assert!(at("a") < at("b") && at("b") < at("c"), "{built:?}");
    // Moving tags are applied locally after the build: `a:latest`, `d:latest`.
    let a = &results[0];
    assert_eq!(a.image_id.as_deref(), Some(FakeEngine::id_of("a").as_str()));
    assert!(a.tags.contains(&"a:latest".to_string()), "{:?}", a.tags);
    // Without a registry nothing is pushed.
    assert!(!engine
        .calls()
        .iter()
        .any(|c| matches!(c, EngineCall::Push(_))));
}

#[tokio::test]
async fn a_local_image_gets_only_the_tags_it_lacks_and_feeds_its_dependents() {
    let mut fleet = fleet();
    fleet.local("a");
    let key = fleet.key("a");
    fleet.image("a").local_tags = vec![format!("a:{}", key.tag())];
    let engine = FakeEngine::default();
    let (results, exit, recorder) = execute(&fleet, &engine, None, &fleet.options()).await;
    assert_eq!(exit, Exit::Success);
    assert_eq!(results[0].outcome, Outcome::Local);
    assert_eq!(
        results[0].tags,
        [format!("a:{}", key.tag()), "a:latest".to_string()]
    );
    // Only the missing tag was written, and `a` was not built.
    let id = FakeEngine::id_of("a");
    assert!(engine
        .calls()
        .contains(&EngineCall::Tag(id.clone(), "a:latest".into())));
    assert!(!engine
        .calls()
        .contains(&EngineCall::Tag(id, format!("a:{}", key.tag()))));
    assert!(!engine.built().contains(&"a".to_string()));
    assert_eq!(engine.args("b")["A_IMAGE"], format!("a:{}", key.tag()));
    assert!(recorder.said(&format!("a: up to date ({})", key.short())));
}

#[tokio::test]
async fn a_local_tag_that_cannot_be_written_fails_the_run() {
    let mut fleet = fleet();
    fleet.local("d");
    let engine = FakeEngine {
        fail_tag: vec!["d:latest".into()],
        ..Default::default()
    };
    let (results, exit, recorder) = execute(&fleet, &engine, None, &fleet.options()).await;
    // The engine's failure is a service failure (3), and `latest` is not claimed.
    assert_eq!(exit, Exit::Unavailable);
    assert!(!results[3].tags.contains(&"d:latest".to_string()));
    let id = FakeEngine::id_of("d");
    assert!(recorder.said(&format!("tag image {id} as d:latest")));
}

#[tokio::test]
async fn a_failed_build_skips_its_dependents_while_the_rest_is_pushed() {
    let fleet = fleet();
    let registry = Arc::new(FakeRegistry::default());
    let engine = FakeEngine {
        fail_build: vec!["a"],
        ..engine_into(&registry)
    };
    let (results, exit, recorder) =
        execute(&fleet, &engine, Some(&registry), &fleet.options()).await;
    assert_eq!(exit, Exit::Failed);
    assert_eq!(
        outcomes(&results),
        [
            ("a", Outcome::Failed),
            ("b", Outcome::Skipped),
            ("c", Outcome::Skipped),
            ("d", Outcome::Built)
        ]
    );
    assert_eq!(
        results[1].error.as_deref(),
        Some("it builds on `a`, which failed")
    );
    // `d` is independent: built and its key tag pushed; no moving tag moves.
    assert!(results[3].digest.is_some());
    assert_eq!(
        engine.built().iter().filter(|b| *b != "a").count(),
        1,
        "only d builds after a fails"
    );
    assert!(registry.retags().is_empty());
    assert!(recorder.said("not writing moving tags"));
}

#[tokio::test]
async fn a_build_that_loses_the_engine_is_exit_3() {
    let fleet = fleet();
    let engine = FakeEngine {
        lose_engine: vec!["d"],
        ..Default::default()
    };
    let (results, exit, _) = execute(&fleet, &engine, None, &fleet.options()).await;
    assert_eq!(results[3].outcome, Outcome::Failed);
    assert_eq!(exit, Exit::Unavailable);
}

#[tokio::test]
async fn a_blocked_image_keeps_the_exit_code_of_its_cause() {
    let mut fleet = fleet();
    let d = fleet.image("d");
    d.decision.status = Status::Blocked;
    d.decision.reason = "its context does not exist".into();
    let engine = FakeEngine::default();
    let (results, exit, recorder) = execute(&fleet, &engine, None, &fleet.options()).await;
    assert_eq!(results[3].outcome, Outcome::Blocked);
    assert_eq!(exit, Exit::BadInput);
    assert!(recorder.said("d: its context does not exist"));
    assert!(!engine.built().contains(&"d".to_string()));

    let mut fleet = self::fleet();
    let d = fleet.image("d");
    d.decision.status = Status::Blocked;
    d.blocked_exit = Exit::Unavailable;
    let (_, exit, _) = execute(&fleet, &engine, None, &fleet.options()).await;
    assert_eq!(exit, Exit::Unavailable);
}

#[tokio::test]
async fn moving_tags_are_written_only_after_every_key_tag_is_pushed() {
    let fleet = fleet();
    let registry = Arc::new(FakeRegistry::default());
    let engine = engine_into(&registry);
    let (results, exit, _) = execute(&fleet, &engine, Some(&registry), &fleet.options()).await;
    assert_eq!(exit, Exit::Success);
    let calls = registry.calls();
    let last_put = calls
        .iter()
        .rposition(|c| matches!(c, RegistryCall::Put(_)))
        .unwrap();
    let first_retag = calls
        .iter()
        .position(|c| matches!(c, RegistryCall::Retag(..)))
        .unwrap();
    assert!(last_put < first_retag, "{calls:?}");
    assert_eq!(
        calls
            .iter()
            .filter(|c| matches!(c, RegistryCall::Put(_)))
            .count(),
        4
    );
    // `latest` names what the run pushed, and the results say so.
    let a = &results[0];
    assert_eq!(registry.tag("a", "latest").as_ref(), a.digest.as_ref());
    assert!(a.tags.contains(&format!("{HOST}/a:latest")), "{:?}", a.tags);
    assert!(a
        .tags
        .contains(&format!("{HOST}/a:{}", a.key.unwrap().tag())));
}

#[tokio::test]
async fn a_failed_push_moves_no_tag_and_a_refused_login_is_exit_3() {
    let fleet = fleet();
    let registry = Arc::new(FakeRegistry::default());
    let engine = FakeEngine {
        fail_push: vec![(format!("{HOST}/d"), true)],
        ..engine_into(&registry)
    };
    let (results, exit, _) = execute(&fleet, &engine, Some(&registry), &fleet.options()).await;
    assert_eq!(results[3].outcome, Outcome::Failed);
    assert!(results[3]
        .error
        .as_deref()
        .unwrap()
        .contains("unauthorized"));
    assert_eq!(exit, Exit::Unavailable);
    assert!(registry.retags().is_empty());
}

#[tokio::test]
async fn a_failed_tag_write_puts_back_the_tags_already_moved() {
    let fleet = fleet();
    let registry = Arc::new(FakeRegistry {
        fail_retag: vec!["d:latest".into()],
        ..Default::default()
    });
    let old = digest_of("an older a");
    registry.put("a", "latest", &old);
    let engine = engine_into(&registry);
    let (results, exit, recorder) =
        execute(&fleet, &engine, Some(&registry), &fleet.options()).await;
    // 503 from the registry: a service failure.
    assert_eq!(exit, Exit::Unavailable);
    let pushed = results[0].digest.clone().unwrap();
    assert_eq!(
        registry.retags(),
        [
            ("a:latest".to_string(), pushed),
            ("d:latest".to_string(), results[3].digest.clone().unwrap()),
            ("a:latest".to_string(), old.clone()),
        ]
    );
    assert_eq!(registry.tag("a", "latest"), Some(old));
    assert!(recorder.said("moving tag `registry.test/a:latest` put back to"));
    assert!(!results[0].tags.contains(&format!("{HOST}/a:latest")));
}

#[tokio::test]
async fn a_target_missing_from_the_registry_moves_nothing() {
    let mut fleet = fleet();
    // The registry says `d`'s key tag names a digest it does not serve under `d`.
    let ghost: Digest = digest_of("ghost");
    let d = fleet.image("d");
    d.decision.status = Status::Remote;
    d.decision.push = false;
    d.remote = Some(ghost);
    let registry = Arc::new(FakeRegistry::default());
    let engine = engine_into(&registry);
    let (results, exit, recorder) =
        execute(&fleet, &engine, Some(&registry), &fleet.options()).await;
    assert_eq!(exit, Exit::Failed);
    assert!(registry.retags().is_empty());
    assert!(results[3]
        .error
        .as_deref()
        .unwrap()
        .ends_with("is not in the registry"));
    assert!(recorder.said("no moving tag was written"));
}

#[tokio::test]
async fn a_remote_image_is_not_pushed_and_its_dependents_build_from_its_digest() {
    let mut fleet = fleet();
    let digest = digest_of("a in the registry");
    let a = fleet.image("a");
    a.decision.status = Status::Remote;
    a.decision.push = false;
    a.remote = Some(digest.clone());
    let registry = Arc::new(FakeRegistry::default());
    registry.put("a", &fleet.key("a").tag().to_string(), &digest);
    let engine = engine_into(&registry);
    let (results, exit, _) = execute(&fleet, &engine, Some(&registry), &fleet.options()).await;
    assert_eq!(exit, Exit::Success);
    assert_eq!(results[0].outcome, Outcome::Remote);
    assert_eq!(engine.args("b")["A_IMAGE"], format!("{HOST}/a@{digest}"));
    assert!(!engine.calls().contains(&EngineCall::Push(format!(
        "{HOST}/a:{}",
        fleet.key("a").tag()
    ))));
    // Its moving tag still moves, to the digest the registry has.
    assert_eq!(registry.tag("a", "latest"), Some(digest));
}

#[tokio::test]
async fn no_release_pushes_key_tags_and_leaves_every_moving_tag() {
    let fleet = fleet();
    let registry = Arc::new(FakeRegistry::default());
    let engine = engine_into(&registry);
    let options = RunOptions {
        no_release: true,
        ..fleet.options()
    };
    let (results, exit, _) = execute(&fleet, &engine, Some(&registry), &options).await;
    assert_eq!(exit, Exit::Success);
    assert!(results.iter().all(|r| r.digest.is_some()));
    assert!(registry.retags().is_empty());
    assert!(!engine
        .calls()
        .iter()
        .any(|c| matches!(c, EngineCall::Tag(_, r) if r.ends_with(":latest"))));
}

#[tokio::test]
async fn push_only_fails_what_would_need_a_build_and_then_moves_nothing() {
    let mut fleet = fleet();
    fleet.local("a");
    fleet.local("d");
    let registry = Arc::new(FakeRegistry::default());
    let engine = engine_into(&registry);
    let reporter: SharedReporter = Arc::new(Recorder::default());
    let to = Pushes {
        engine: &engine,
        registry: registry.as_ref(),
        reporter: &reporter,
        jobs: 2,
    };
    let executed = push_only(&to, &fleet.images, &[]).await;
    assert_eq!(
        outcomes(&executed.results),
        [
            ("a", Outcome::Pushed),
            ("b", Outcome::Failed),
            ("c", Outcome::Failed),
            ("d", Outcome::Pushed)
        ]
    );
    assert_eq!(
        executed.results[1].error.as_deref(),
        Some("not built: run `fleet-images build --push` to build and push it")
    );
    assert!(engine.built().is_empty());
    assert_eq!(executed.exit, Exit::Failed);
    assert!(registry.retags().is_empty());
}

#[tokio::test]
async fn the_deploy_runs_only_after_a_successful_run() {
    let reporter: SharedReporter = Arc::new(Recorder::default());
    let asked = std::sync::atomic::AtomicBool::new(false);
    let deploy = || async {
        asked.store(true, std::sync::atomic::Ordering::SeqCst);
        (
            Exit::DeployIncomplete,
            Some(serde_json::json!({ "services": [] })),
        )
    };
    let (exit, report) =
        hand_off(Exit::Failed, &reporter, "not every image was built", deploy).await;
    assert_eq!(exit, Exit::Failed);
    assert_eq!(
        report,
        Some(serde_json::json!({ "skipped": "not every image was built" }))
    );
    assert!(!asked.load(std::sync::atomic::Ordering::SeqCst));
    let (exit, report) = hand_off(Exit::Success, &reporter, "-", deploy).await;
    assert_eq!(exit, Exit::DeployIncomplete);
    assert_eq!(report, Some(serde_json::json!({ "services": [] })));
}

#[tokio::test]
async fn the_builder_is_asked_only_when_something_is_built() {
    let mut fleet = fleet();
    let reporter: SharedReporter = Arc::new(Recorder::default());
    let classic = FakeEngine {
        classic_only: true,
        ..Default::default()
    };
    // BuildKit asked of an engine without it is refused before anything builds.
    let refused =
        builder::choose(&classic, &reporter, Some(Builder::BuildKit), &fleet.images).await;
    assert!(matches!(
        refused,
        Err(EngineError::NoBuildKit { asked: true })
    ));
    let recorder = Arc::new(Recorder::default());
    let shared: SharedReporter = recorder.clone();
    let chosen = builder::choose(&classic, &shared, None, &fleet.images).await;
    assert_eq!(chosen.unwrap(), Builder::Classic);
    assert!(recorder.said("the engine has no BuildKit"));
    // Nothing to build: the asked (or default) builder, the engine not consulted.
    for name in ["a", "b", "c", "d"] {
        fleet.local(name);
    }
    let chosen = builder::choose(&classic, &reporter, Some(Builder::BuildKit), &fleet.images).await;
    assert_eq!(chosen.unwrap(), Builder::BuildKit);
}

#[tokio::test]
async fn a_failed_build_quotes_its_log_and_names_the_file() {
    let fleet = fleet();
    let engine = FakeEngine {
        fail_build: vec!["d"],
        ..Default::default()
    };
    let (results, _, recorder) = execute(&fleet, &engine, None, &fleet.options()).await;
    let log = fleet.state.join("logs").join("d.log");
    // The file holds every line the build printed by the time the result is reported.
    assert_eq!(
        std::fs::read_to_string(&log).unwrap(),
        "Step 1/1 : FROM scratch\nbuilding\n"
    );
    assert!(recorder.said(&format!(
        "last lines of the log ({}):\n    Step 1/1 : FROM scratch\n    building",
        log.display()
    )));
    assert!(recorder.said("d: failed after"));
    assert_eq!(
        results[3].error.as_deref().map(|e| e.lines().next().unwrap()),
        Some("error: build of `d` failed at `Step 1/1 : RUN false`: The command '/bin/sh -c false' returned a non-zero code: 1")
    );
}
