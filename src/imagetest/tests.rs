//! `test`'s logic on the container engine double: what is created and started, in what order,
//! that everything created is removed (after success, failure, Ctrl+C) unless kept, and how the
//! tests fold into one outcome per image. The integration tests (`tests/integration/imagetest`)
//! prove the same against the real engine.

use std::time::Duration;

use super::{test_images, TestKind, TestOptions, TestOutcome, TestStatus, TestTarget};
use crate::docker::fake_containers::{Behaviour, Call, FakeContainers};
use crate::docker::{ContainerRequest, ImageConfig};
use crate::manifest::{parse, LoadOptions, Manifest};
use crate::report::NullReporter;

/// A manifest of images (each with a context of its own) and their test sections.
struct Fleet {
    _dir: tempfile::TempDir,
    manifest: Manifest,
}

/// `images` are the manifest's image names; `sections` their `[images.<name>.test…]` tables.
fn fleet(images: &[&str], sections: &str) -> Fleet {
    let dir = tempfile::tempdir().unwrap();
    let mut text = String::new();
    for name in images {
        std::fs::create_dir_all(dir.path().join(name)).unwrap();
        std::fs::write(dir.path().join(name).join("Dockerfile"), "FROM scratch\n").unwrap();
        text.push_str(&format!("[images.{name}]\ncontext = \"{name}\"\n"));
    }
    text.push_str(sections);
    let manifest = parse(
        &dir.path().join("fleet.toml"),
        &text,
        &LoadOptions::default(),
    )
    .unwrap();
    Fleet {
        _dir: dir,
        manifest,
    }
}

impl Fleet {
    /// One target per image with a test section: image `<name>:1`, services by their reference.
    fn targets(&self) -> Vec<TestTarget<'_>> {
        self.manifest
            .images
            .iter()
            .filter_map(|image| {
                let spec = image.test.as_ref()?;
                Some(TestTarget {
                    image: image.name.clone(),
                    reference: format!("{}:1", image.name),
                    spec,
                    services: spec
                        .services
                        .iter()
                        .map(|s| match &s.image {
                            crate::manifest::ServiceImage::Reference(r) => r.clone(),
                            crate::manifest::ServiceImage::Fleet(name) => format!("{name}:1"),
                        })
                        .collect(),
                })
            })
            .collect()
    }

    async fn test(&self, engine: &FakeContainers, options: &TestOptions) -> Vec<TestOutcome> {
        test_images(engine, &self.targets(), options, &NullReporter).await
    }
}

/// A command test's container behaves by its argv: `exit N` exits with N, `say TEXT` prints
/// TEXT and exits 0; anything else keeps running.
fn by_argv(request: &ContainerRequest) -> Behaviour {
    let argv = request.argv.clone().unwrap_or_default();
    match argv.iter().map(String::as_str).collect::<Vec<_>>()[..] {
        ["exit", code] => Behaviour {
            exit: Some(code.parse().unwrap()),
            stderr: "FLEET_SECRET is not set\n".into(),
            ..Default::default()
        },
        ["say", text] => Behaviour {
            exit: Some(0),
            stdout: format!("{text}\n"),
            ..Default::default()
        },
        _ => Behaviour::default(),
    }
}

fn summary(outcome: &TestOutcome) -> Vec<(TestKind, String, TestStatus)> {
    outcome
        .tests
        .iter()
        .map(|t| (t.kind, t.name.clone(), t.status))
        .collect()
}

#[tokio::test]
async fn an_image_the_engine_lacks_is_an_error_and_creates_nothing() {
    let fleet = fleet(
        &["web", "api"],
        "[images.web.test.metadata]\nuser = \"app\"\n\
         [[images.web.test.files]]\npath = \"/etc/app.conf\"\n\
         [images.api.test]\ntcp = 8080\n",
    );
    let engine = FakeContainers::default();
    let outcomes = fleet.test(&engine, &TestOptions::default()).await;
    assert_eq!(outcomes[0].status, TestStatus::Error);
    assert_eq!(outcomes[0].message, "the engine has no image `web:1`");
    assert_eq!(outcomes[1].status, TestStatus::Error);
    assert!(
        outcomes[1]
            .message
            .starts_with("cannot create a container from `api:1`: "),
        "{}",
        outcomes[1].message
    );
    assert!(outcomes[1].message.contains("No such image"));
    assert_eq!(engine.calls(), []);
    assert_eq!(TestOutcome::exit_of(&outcomes).code(), 3);
}

const WITH_SERVICE: &str = "[images.web.test]\n\
    [[images.web.test.services]]\nname = \"db\"\nreference = \"db:1\"\n\
    [[images.web.test.commands]]\nname = \"talks\"\nrun = [\"say\", \"hello\"]\n";

#[tokio::test]
async fn a_service_that_does_not_start_fails_the_image_and_leaves_nothing() {
    let fleet = fleet(&["web"], WITH_SERVICE);
    let mut engine = FakeContainers::with_images(&["web:1", "db:1"]);
    engine.behave = Box::new(|request| Behaviour {
        start_error: (request.purpose == "service").then(|| "port is already allocated".into()),
        ..by_argv(request)
    });
    let outcomes = fleet.test(&engine, &TestOptions::default()).await;
    let outcome = &outcomes[0];
    assert_eq!(outcome.status, TestStatus::Failed);
    assert!(
        outcome
            .message
            .starts_with("a service did not become ready"),
        "{}",
        outcome.message
    );
    assert_eq!(outcome.tests.len(), 1);
    assert_eq!(outcome.tests[0].kind, TestKind::Service);
    assert_eq!(
        outcome.tests[0].message,
        "it did not start: port is already allocated"
    );
    // Nothing of the image itself ran, and the service went before its network.
    assert_eq!(
        engine.calls(),
        [
            Call::Network("test:web".into()),
            Call::Create("service:web-db".into()),
            Call::Start("service:web-db".into()),
            Call::Remove("service:web-db".into()),
            Call::RemoveNetwork("test:web".into()),
        ]
    );
    assert_eq!(engine.left(), Vec::<String>::new());
}

#[tokio::test]
async fn a_network_that_cannot_be_created_is_an_engine_error() {
    let fleet = fleet(&["web"], WITH_SERVICE);
    let mut engine = FakeContainers::with_images(&["web:1", "db:1"]);
    engine.fail_network = true;
    let outcomes = fleet.test(&engine, &TestOptions::default()).await;
    assert_eq!(outcomes[0].status, TestStatus::Error);
    assert!(
        outcomes[0].message.contains("create network `test:web`"),
        "{}",
        outcomes[0].message
    );
    assert_eq!(engine.calls(), []);
}

#[tokio::test]
async fn everything_is_removed_also_when_a_command_fails() {
    let sections = format!(
        "{WITH_SERVICE}[[images.web.test.commands]]\nname = \"fails\"\nrun = [\"exit\", \"2\"]\n"
    );
    let fleet = fleet(&["web"], &sections);
    let mut engine = FakeContainers::with_images(&["web:1", "db:1"]);
    engine.behave = Box::new(by_argv);
    let outcomes = fleet.test(&engine, &TestOptions::default()).await;
    let outcome = &outcomes[0];
    assert_eq!(outcome.status, TestStatus::Failed);
    assert_eq!(outcome.message, "1 of 3 tests failed");
    assert_eq!(
        summary(outcome),
        [
            (TestKind::Service, "db".into(), TestStatus::Passed),
            (TestKind::Command, "talks".into(), TestStatus::Passed),
            (TestKind::Command, "fails".into(), TestStatus::Failed),
        ]
    );
    let calls = engine.calls();
    assert_eq!(
        calls
            .iter()
            .filter(|c| matches!(c, Call::Remove(_)))
            .count(),
        3,
        "{calls:?}"
    );
    assert_eq!(calls.last(), Some(&Call::RemoveNetwork("test:web".into())));
    assert_eq!(engine.left(), Vec::<String>::new());
    assert_eq!(TestOutcome::exit_of(&outcomes).code(), 1);
}

#[tokio::test]
async fn command_tests_check_the_exit_code_and_both_streams() {
    let sections = "[images.web.test]\n\
        [[images.web.test.commands]]\nname = \"refuses\"\nrun = [\"exit\", \"1\"]\nexit_code = 1\nstderr_contains = \"FLEET_SECRET\"\n\
        [[images.web.test.commands]]\nname = \"wrong code\"\nrun = [\"exit\", \"0\"]\nexit_code = 1\n\
        [[images.web.test.commands]]\nname = \"says\"\nrun = [\"say\", \"ready 3\"]\nstdout_matches = '^ready \\d'\n\
        [[images.web.test.commands]]\nname = \"silent\"\nrun = [\"exit\", \"0\"]\nstdout_contains = \"ready\"\n";
    let fleet = fleet(&["web"], sections);
    let mut engine = FakeContainers::with_images(&["web:1"]);
    engine.behave = Box::new(by_argv);
    let outcomes = fleet.test(&engine, &TestOptions::default()).await;
    let messages: Vec<(&str, TestStatus, &str)> = outcomes[0]
        .tests
        .iter()
        .map(|t| (t.name.as_str(), t.status, t.message.as_str()))
        .collect();
    assert_eq!(messages[0].1, TestStatus::Passed, "{messages:?}");
    assert_eq!(
        messages[1..],
        [
            (
                "wrong code",
                TestStatus::Failed,
                "expected exit code 1, found 0"
            ),
            ("says", TestStatus::Passed, messages[2].2),
            (
                "silent",
                TestStatus::Failed,
                "expected stdout to contain `ready`, it was empty"
            ),
        ]
    );
    assert!(
        messages[2].2.starts_with("exited 0 after"),
        "{}",
        messages[2].2
    );
    assert_eq!(outcomes[0].message, "2 of 4 tests failed");
    assert_eq!(engine.left(), Vec::<String>::new());
}

#[tokio::test]
async fn outcomes_and_tests_come_in_order() {
    // `slow` keeps running for a second, so the others finish first.
    let sections = "[images.slow.test]\ntimeout = \"1s\"\n\
        [images.web.test]\nuser = \"1000\"\n\
        [images.web.test.metadata]\nworkdir = \"/app\"\n\
        [[images.web.test.files]]\npath = \"/etc/app.conf\"\ncontains = \"port\"\n\
        [[images.web.test.services]]\nname = \"db\"\nreference = \"db:1\"\n\
        [[images.web.test.commands]]\nname = \"talks\"\nrun = [\"say\", \"hi\"]\n\
        [images.api.test]\n[[images.api.test.commands]]\nname = \"talks\"\nrun = [\"say\", \"hi\"]\n";
    let fleet = fleet(&["slow", "web", "api"], sections);
    let mut engine = FakeContainers::with_images(&["slow:1", "web:1", "api:1", "db:1"]);
    engine.images.get_mut("web:1").unwrap().workdir = "/app".into();
    engine.files = [
        ("/etc/app.conf".to_string(), b"port = 80\n".to_vec()),
        (
            "/etc/passwd".to_string(),
            b"root:x:0:0::/root:/bin/sh\napp:x:1000:1000::/app:/bin/sh\n".to_vec(),
        ),
    ]
    .into();
    engine.behave = Box::new(|request| Behaviour {
        user: "app".into(),
        ..by_argv(request)
    });
    let options = TestOptions {
        jobs: 3,
        ..Default::default()
    };
    let outcomes = fleet.test(&engine, &options).await;
    let names: Vec<&str> = outcomes.iter().map(|o| o.image.as_str()).collect();
    assert_eq!(names, ["slow", "web", "api"]);
    assert!(outcomes.iter().all(|o| o.status == TestStatus::Passed));
    assert_eq!(outcomes[0].message, "kept running for 1.0s");
    assert_eq!(
        summary(&outcomes[1]),
        [
            (TestKind::Metadata, "workdir".into(), TestStatus::Passed),
            (TestKind::User, "1000".into(), TestStatus::Passed),
            (TestKind::File, "/etc/app.conf".into(), TestStatus::Passed),
            (TestKind::Service, "db".into(), TestStatus::Passed),
            (TestKind::Command, "talks".into(), TestStatus::Passed),
        ]
    );
    // The slow image was still running when the others had finished.
    let calls = engine.calls();
    let removed_at = |name: &str| {
        calls
            .iter()
            .position(|c| *c == Call::Remove(name.into()))
            .unwrap()
    };
    assert!(removed_at("test:slow") > removed_at("cmd:api"), "{calls:?}");
    assert_eq!(engine.left(), Vec::<String>::new());
}

#[tokio::test]
async fn an_image_that_exits_fails_with_its_code_and_logs() {
    let fleet = fleet(&["agent"], "[images.agent.test]\ntimeout = \"5s\"\n");
    let mut engine = FakeContainers::with_images(&["agent:1"]);
    engine.behave = Box::new(|_| Behaviour {
        exit: Some(3),
        stderr: "cannot reach conduit\n".into(),
        ..Default::default()
    });
    let outcomes = fleet.test(&engine, &TestOptions::default()).await;
    let outcome = &outcomes[0];
    assert_eq!(outcome.status, TestStatus::Failed);
    assert!(
        outcome
            .message
            .starts_with("the container exited with code 3"),
        "{}",
        outcome.message
    );
    assert_eq!(outcome.logs, ["cannot reach conduit"]);
    assert_eq!(
        outcome.container.as_ref().map(|c| c.exit_code),
        Some(Some(3))
    );
    assert_eq!(engine.left(), Vec::<String>::new());
}

#[tokio::test]
async fn ctrl_c_hands_everything_created_to_the_cleaner() {
    let fleet = fleet(
        &["web"],
        "[images.web.test]\ntimeout = \"3s\"\n\
         [[images.web.test.services]]\nname = \"db\"\nreference = \"db:1\"\n",
    );
    let engine = FakeContainers::with_images(&["web:1", "db:1"]);
    let options = TestOptions::default();
    let cancel = options.cancel.clone();
    tokio::spawn(async move {
        tokio::time::sleep(Duration::from_millis(300)).await;
        cancel.cancel();
    });
    let outcomes = fleet.test(&engine, &options).await;
    assert_eq!(outcomes[0].status, TestStatus::Interrupted);
    assert_eq!(outcomes[0].message, "interrupted");
    let calls = engine.calls();
    // The image's container, then the service's, then the network they were on.
    assert_eq!(
        calls[calls.len() - 3..],
        [
            Call::Dropped("test:web".into()),
            Call::Dropped("service:web-db".into()),
            Call::DroppedNetwork("test:web".into()),
        ]
    );
    assert_eq!(engine.left(), Vec::<String>::new());
}

#[tokio::test]
async fn keep_leaves_everything_and_says_what() {
    let fleet = fleet(
        &["web"],
        "[images.web.test]\ntimeout = \"1s\"\n\
         [[images.web.test.services]]\nname = \"db\"\nreference = \"db:1\"\n",
    );
    let engine = FakeContainers::with_images(&["web:1", "db:1"]);
    let options = TestOptions {
        keep: true,
        ..Default::default()
    };
    let outcomes = fleet.test(&engine, &options).await;
    assert_eq!(outcomes[0].status, TestStatus::Passed);
    assert_eq!(outcomes[0].kept.as_deref(), Some("test:web"));
    assert_eq!(
        outcomes[0].kept_also,
        ["service container service:web-db", "network test:web"]
    );
    let calls = engine.calls();
    assert!(
        !calls
            .iter()
            .any(|c| matches!(c, Call::Remove(_) | Call::RemoveNetwork(_))),
        "{calls:?}"
    );
    assert_eq!(engine.left(), Vec::<String>::new());
}

#[tokio::test]
async fn metadata_is_read_from_the_image_config() {
    let fleet = fleet(
        &["web"],
        "[images.web.test]\ntimeout = \"1s\"\n\
         [images.web.test.metadata]\nuser = \"app\"\ncmd = [\"httpd\"]\n",
    );
    let mut engine = FakeContainers::with_images(&["web:1"]);
    engine.images.insert(
        "web:1".into(),
        ImageConfig {
            user: "root".into(),
            cmd: vec!["httpd".into()],
            ..Default::default()
        },
    );
    let outcomes = fleet.test(&engine, &TestOptions::default()).await;
    assert_eq!(outcomes[0].status, TestStatus::Failed);
    assert_eq!(
        outcomes[0].message,
        "kept running for 1.0s; 1 of 2 tests failed"
    );
    assert_eq!(outcomes[0].tests[0].message, "expected `app`, found `root`");
    // Metadata only: the image itself still runs (no probe, no commands), and is removed.
    assert_eq!(engine.left(), Vec::<String>::new());
}
