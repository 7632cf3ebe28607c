//! `test` against fixture images in the real engine: a probe that passes, one that never answers,
//! a crash, a wrong user, an image that serves nothing, `--keep`, Ctrl+C, and no container left
//! behind.

use std::time::{Duration, Instant};

use fleet_images::error::Exit;
use fleet_images::imagetest::{test_images, TestOptions, TestOutcome, TestStatus, TestTarget};
use fleet_images::report::NullReporter;

use crate::check::{FixtureImage, Fixtures};

fn target<'a>(fixtures: &'a Fixtures, name: &str, image: &FixtureImage) -> TestTarget<'a> {
    let spec = fixtures.spec(name);
    TestTarget {
        image: spec.name.clone(),
        reference: image.id.clone(),
        spec: spec.test.as_ref().expect("fixture has a test section"),
        services: Vec::new(),
    }
}

/// Tests one fixture with default options, checking that no container is left.
async fn test_fixture(fixtures: &Fixtures, name: &str) -> TestOutcome {
    let image = fixtures.build(name).await;
    let before = fixtures.containers_from(&image).await;
    let mut outcomes = test_images(
        &fixtures.engine,
        &[target(fixtures, name, &image)],
        &TestOptions::default(),
        &NullReporter,
    )
    .await;
    assert_eq!(
        fixtures.containers_from(&image).await,
        before,
        "the test left a container behind"
    );
    outcomes.remove(0)
}

#[tokio::test(flavor = "multi_thread")]
async fn non_root_httpd_on_8080_passes_several_at_once() {
    let fixtures = Fixtures::new().await;
    let (web, sleeper, good) = tokio::join!(
        fixtures.build("web"),
        fixtures.build("sleeper"),
        fixtures.build("good")
    );
    let targets = [
        target(&fixtures, "web", &web),
        target(&fixtures, "web-tcp", &web),
        target(&fixtures, "sleeper", &sleeper),
        target(&fixtures, "good", &good),
    ];
    let before = (
        fixtures.containers_from(&web).await,
        fixtures.containers_from(&sleeper).await,
    );
    let outcomes = test_images(
        &fixtures.engine,
        &targets,
        &TestOptions {
            jobs: 3,
            ..Default::default()
        },
        &NullReporter,
    )
    .await;
    let report: Vec<String> = outcomes.iter().map(TestOutcome::render).collect();
    let names: Vec<&str> = outcomes.iter().map(|o| o.image.as_str()).collect();
    assert_eq!(
        names,
        ["web", "web-tcp", "sleeper", "good"],
        "outcomes keep the order of the targets"
    );
    for outcome in &outcomes {
        assert_eq!(outcome.status, TestStatus::Passed, "{}", report.join("\n"));
        assert!(outcome.logs.is_empty());
    }
    assert!(
        outcomes[0]
            .message
            .starts_with("GET /index.html answered 200 after"),
        "{}",
        outcomes[0].message
    );
    assert!(outcomes[0].host_port.is_some());
    assert!(
        outcomes[1].message.starts_with("accepted a TCP connection"),
        "{}",
        outcomes[1].message
    );
    assert_eq!(outcomes[2].message, "kept running for 3.0s");
    assert_eq!(TestOutcome::exit_of(&outcomes), Exit::Success);
    assert_eq!(
        (
            fixtures.containers_from(&web).await,
            fixtures.containers_from(&sleeper).await
        ),
        before
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_server_that_never_starts_fails_within_its_timeout_and_shows_its_logs() {
    let fixtures = Fixtures::new().await;
    let started = Instant::now();
    let outcome = test_fixture(&fixtures, "never-listens").await;
    let text = outcome.render();
    assert_eq!(outcome.status, TestStatus::Failed, "{text}");
    assert!(
        outcome
            .message
            .starts_with("no expected answer within 3.0s: GET /health"),
        "{text}"
    );
    assert!(
        outcome
            .logs
            .iter()
            .any(|l| l.contains("waiting for a database that never answers")),
        "{text}"
    );
    assert!(
        text.contains("| starting: waiting for a database that never answers"),
        "{text}"
    );
    let state = outcome.container.as_ref().expect("container state");
    assert!(state.running, "it was still running: {state:?}");
    // 3s of probing, plus building, creating and removing the container.
    assert!(
        outcome.duration < Duration::from_secs(10),
        "{:?}",
        outcome.duration
    );
    assert!(started.elapsed() < Duration::from_secs(60));
    assert_eq!(outcome.exit(), Exit::Failed);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_crashing_server_fails_at_once_with_its_exit_code() {
    let fixtures = Fixtures::new().await;
    let outcome = test_fixture(&fixtures, "crashes").await;
    let text = outcome.render();
    assert_eq!(outcome.status, TestStatus::Failed, "{text}");
    assert_eq!(
        outcome.message, "the container exited with code 3 before it answered",
        "{text}"
    );
    assert_eq!(
        outcome.container.as_ref().and_then(|c| c.exit_code),
        Some(3),
        "{text}"
    );
    assert!(
        outcome
            .logs
            .iter()
            .any(|l| l.contains("fatal: no configuration file")),
        "{text}"
    );
    assert!(
        outcome.duration < Duration::from_secs(15),
        "not the 30s timeout: {:?}",
        outcome.duration
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_container_running_as_another_user_fails() {
    let fixtures = Fixtures::new().await;
    let outcome = test_fixture(&fixtures, "web-wrong-user").await;
    let text = outcome.render();
    assert_eq!(outcome.status, TestStatus::Failed, "{text}");
    assert_eq!(
        outcome.message, "the container runs as `app` (uid 1000), not as `nobody` (uid 65534)",
        "{text}"
    );
    assert!(
        outcome
            .hint
            .as_deref()
            .unwrap_or_default()
            .contains("USER nobody"),
        "{text}"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn keep_leaves_the_container_running() {
    let fixtures = Fixtures::new().await;
    let image = fixtures.build("web").await;
    let options = TestOptions {
        keep: true,
        ..Default::default()
    };
    let outcomes = test_images(
        &fixtures.engine,
        &[target(&fixtures, "web", &image)],
        &options,
        &NullReporter,
    )
    .await;
    let id = outcomes[0].kept.clone().expect("kept container id");
    assert_eq!(
        outcomes[0].status,
        TestStatus::Passed,
        "{}",
        outcomes[0].render()
    );
    assert_eq!(fixtures.containers_from(&image).await, 1);
    let options = bollard::query_parameters::RemoveContainerOptions {
        force: true,
        v: true,
        link: false,
    };
    fixtures
        .docker
        .remove_container(&id, Some(options))
        .await
        .expect("remove the kept container");
    assert_eq!(fixtures.containers_from(&image).await, 0);
}

#[tokio::test(flavor = "multi_thread")]
async fn cancelling_removes_the_containers_and_says_interrupted() {
    let fixtures = Fixtures::new().await;
    let (never, web) = tokio::join!(fixtures.build("never-listens"), fixtures.build("web"));
    // A long timeout, so only the cancellation can end it.
    let mut spec = fixtures.spec("never-listens").test.clone().unwrap();
    spec.timeout = Duration::from_secs(120);
    let targets = [
        fleet_images::imagetest::TestTarget {
            image: "never-listens".parse().unwrap(),
            reference: never.id.clone(),
            spec: &spec,
            services: Vec::new(),
        },
        target(&fixtures, "web", &web),
    ];
    // One at a time: the second has not started when the first is cancelled.
    let options = TestOptions {
        jobs: 1,
        ..Default::default()
    };
    let cancel = options.cancel.clone();
    tokio::spawn(async move {
        tokio::time::sleep(Duration::from_secs(2)).await;
        cancel.cancel();
    });
    let started = Instant::now();
    let outcomes = test_images(&fixtures.engine, &targets, &options, &NullReporter).await;
    assert!(
        started.elapsed() < Duration::from_secs(30),
        "{:?}",
        started.elapsed()
    );
    assert_eq!(
        outcomes[0].status,
        TestStatus::Interrupted,
        "{}",
        outcomes[0].render()
    );
    assert_eq!(
        outcomes[1].status,
        TestStatus::Interrupted,
        "{}",
        outcomes[1].render()
    );
    assert_eq!(TestOutcome::exit_of(&outcomes), Exit::Interrupted);
    assert_eq!(fixtures.containers_from(&never).await, 0);
    assert_eq!(fixtures.containers_from(&web).await, 0);
}

#[tokio::test(flavor = "multi_thread")]
async fn dropping_the_test_future_still_removes_its_container() {
    let fixtures = Fixtures::new().await;
    let image = fixtures.build("never-listens").await;
    let mut spec = fixtures.spec("never-listens").test.clone().unwrap();
    spec.timeout = Duration::from_secs(120);
    let targets = [TestTarget {
        image: "never-listens".parse().unwrap(),
        reference: image.id.clone(),
        spec: &spec,
        services: Vec::new(),
    }];
    let options = TestOptions::default();
    // A caller that gives up on the future (as a `select!` with Ctrl+C would) instead of cancelling.
    let result = tokio::time::timeout(
        Duration::from_secs(3),
        test_images(&fixtures.engine, &targets, &options, &NullReporter),
    )
    .await;
    assert!(result.is_err(), "the test should still have been waiting");
    assert_eq!(
        fixtures.containers_from(&image).await,
        0,
        "the guard removed the container when dropped"
    );
}
