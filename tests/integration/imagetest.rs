//! `test` against fixture images in the real engine: a probe that passes, one that never answers,
//! a crash, a wrong user, an image that serves nothing, `--keep`, Ctrl+C, and no container left
//! behind.

use std::time::{Duration, Instant};

use fleet_images::docker::containers::settle_removals;
use fleet_images::docker::ContainerRequest;
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
    // The dropped guard handed its container to the cleaner; `main` waits for it the same way.
    settle_removals().await;
    assert_eq!(
        fixtures.containers_from(&image).await,
        0,
        "the guard removed the container when dropped"
    );
}

// One worker thread: a `Drop` that waited for the engine would hold it for the whole removal of a
// running container (a kill and a delete, well over the bound below); the hand-off does not.
#[tokio::test(flavor = "current_thread")]
async fn a_dropped_guard_hands_its_container_to_the_cleaner_without_blocking() {
    let fixtures = Fixtures::new().await;
    let image = fixtures.build("never-listens").await;
    let request = ContainerRequest {
        image: image.id.clone(),
        name: "never-listens".into(),
        purpose: "test",
        ..Default::default()
    };
    let container = fixtures.engine.create_container(&request).await.unwrap();
    container.start().await.unwrap();
    let id = container.id().to_string();
    let exists = || async {
        fixtures
            .docker
            .inspect_container(
                &id,
                None::<bollard::query_parameters::InspectContainerOptions>,
            )
            .await
            .is_ok()
    };
    assert!(exists().await);
    let started = Instant::now();
    drop(container);
    let dropping = started.elapsed();
    settle_removals().await;
    assert!(!exists().await, "the cleaner removed the container");
    assert!(
        dropping < Duration::from_millis(50),
        "dropping the guard took {dropping:?}"
    );
}

/// Networks the tests of `image` created (`fleet-images-test-<image>-<pid>-…`) that still exist.
async fn networks_of(fixtures: &Fixtures, image: &str) -> Vec<String> {
    let prefix = format!("fleet-images-test-{image}-{}-", std::process::id());
    let options = bollard::query_parameters::ListNetworksOptions {
        filters: Some(std::collections::HashMap::from([(
            "name".to_string(),
            vec![prefix.clone()],
        )])),
    };
    fixtures
        .docker
        .list_networks(Some(options))
        .await
        .expect("list networks")
        .into_iter()
        .filter_map(|n| n.name)
        .filter(|n| n.starts_with(&prefix))
        .collect()
}

/// `(kind, name, status, message)` of each test of an outcome.
fn results(outcome: &TestOutcome) -> Vec<(String, String, TestStatus, String)> {
    outcome
        .tests
        .iter()
        .map(|t| {
            (
                serde_json::to_value(t.kind)
                    .unwrap()
                    .as_str()
                    .unwrap()
                    .to_string(),
                t.name.clone(),
                t.status,
                t.message.clone(),
            )
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread")]
async fn metadata_file_and_command_tests_pass_with_the_probe() {
    let fixtures = Fixtures::new().await;
    let outcome = test_fixture(&fixtures, "structure").await;
    let text = outcome.render();
    assert_eq!(outcome.status, TestStatus::Passed, "{text}");
    let found = results(&outcome);
    let names: Vec<(&str, &str)> = found
        .iter()
        .map(|(k, n, _, _)| (k.as_str(), n.as_str()))
        .collect();
    assert_eq!(
        names,
        [
            ("metadata", "user"),
            ("metadata", "workdir"),
            ("metadata", "entrypoint"),
            ("metadata", "cmd"),
            ("metadata", "env GREETING"),
            ("metadata", "env STRUCTURE_PORT"),
            ("metadata", "exposed_ports"),
            ("file", "/app/config.json"),
            ("file", "/app/current.json"),
            ("file", "/www"),
            ("file", "/app/.env"),
            ("command", "greets from its environment"),
            ("command", "runs as app in /app"),
        ],
        "{text}"
    );
    assert!(
        found.iter().all(|(_, _, s, _)| *s == TestStatus::Passed),
        "{text}"
    );
    assert_eq!(
        found[7].3,
        "a file, mode 0640, owner 1000:1000, contains `Fixture Fleet`, matches `\"brand\":\\s*\"Fixture`"
    );
    // The link itself is root's, while its target is app's: links are tested as links.
    assert_eq!(
        found[8].3,
        "a symbolic link, owner 0, contains `Fixture Fleet`"
    );
    assert!(found[11].3.starts_with("exited 3 after"), "{}", found[11].3);
    assert!(
        outcome
            .message
            .starts_with("GET /index.html answered 200 after"),
        "{text}"
    );
    assert!(outcome.message.ends_with("; 13 tests passed"), "{text}");
    assert!(text.contains("\n  ok     file /app/.env: absent"), "{text}");
    assert_eq!(outcome.exit(), Exit::Success);
}

#[tokio::test(flavor = "multi_thread")]
async fn every_kind_of_test_fails_with_what_was_expected_and_found() {
    let fixtures = Fixtures::new().await;
    let outcome = test_fixture(&fixtures, "structure-wrong").await;
    let text = outcome.render();
    assert_eq!(outcome.status, TestStatus::Failed, "{text}");
    assert_eq!(outcome.exit(), Exit::Failed);
    assert_eq!(outcome.message, "15 of 15 tests failed", "{text}");
    assert_eq!(outcome.probe, "3 command tests");
    let found = results(&outcome);
    assert!(
        found.iter().all(|(_, _, s, _)| *s == TestStatus::Failed),
        "{text}"
    );
    let messages: Vec<(&str, &str)> = found
        .iter()
        .map(|(_, n, _, m)| (n.as_str(), m.as_str()))
        .collect();
    let expected = [
        ("user", "expected `root`, found `app`"),
        ("workdir", "expected `/srv`, found `/app`"),
        ("entrypoint", "expected [\"/docker-entrypoint.sh\"], found []"),
        ("cmd", "expected [\"nginx\"], found [\"httpd\", \"-f\", \"-p\", \"8080\", \"-h\", \"/www\"]"),
        ("env GREETING", "expected `GREETING=goodbye`, found `GREETING=hello`"),
        ("env MISSING", "expected `MISSING=x`, found no `MISSING`"),
        ("exposed_ports", "expected [\"80/tcp\"], found [\"8080/tcp\"]"),
        ("/app/config.json", "type: expected a directory, found a file; mode: expected 0644, found 0640; owner: expected 101, found 1000:1000"),
        ("/app/current.json", "type: expected a file, found a symbolic link"),
        ("/app/config.json", "content: expected it to contain `Open Claw`, found 62 bytes without it; content: expected a match of `Element\\s+Web`, found 62 bytes without one"),
        ("/app/missing.json", "expected it to exist, found nothing at that path"),
        ("/www/index.html", "expected no such path, found a file"),
        ("wrong exit code and output", "expected exit code 0, found 2; expected stdout to contain `ready`, 4 bytes without it; expected stderr to match `^fatal`, 4 bytes without it"),
    ];
    assert_eq!(&messages[..expected.len()], expected, "{text}");
    assert_eq!(
        messages[13],
        (
            "never exits",
            "still running after 1.0s: expected it to exit (raise `timeout` in the command test if it needs longer)"
        ),
        "{text}"
    );
    assert_eq!(messages[14].0, "program missing");
    assert!(
        messages[14]
            .1
            .starts_with("`/app/no-such-program` could not be started: "),
        "{text}"
    );
    assert!(
        messages[14].1.contains("no such file or directory"),
        "{text}"
    );
    assert_eq!(
        outcome.tests[12].details,
        ["stdout: out", "stderr: err"],
        "{text}"
    );
    assert!(
        text.contains("\n  FAILED file /app/missing.json: expected it to exist"),
        "{text}"
    );
    assert!(
        text.contains("\n  FAILED command `never exits`: still running after 1.0s"),
        "{text}"
    );
    let json = serde_json::to_value(&outcome).unwrap();
    assert_eq!(json["tests"].as_array().unwrap().len(), 15);
    assert_eq!(json["tests"][10]["kind"], "file");
    assert_eq!(json["tests"][10]["status"], "failed");
}

#[tokio::test(flavor = "multi_thread")]
async fn commands_alone_do_not_start_the_image_and_the_user_is_still_checked() {
    let fixtures = Fixtures::new().await;
    let outcome = test_fixture(&fixtures, "structure-commands").await;
    let text = outcome.render();
    assert_eq!(outcome.status, TestStatus::Passed, "{text}");
    assert_eq!(outcome.probe, "1 command test");
    assert_eq!(outcome.message, "2 tests passed");
    let found = results(&outcome);
    assert_eq!((found[0].0.as_str(), found[0].1.as_str()), ("user", "app"));
    assert_eq!(found[1].1, "prints its uid");
    assert!(
        outcome.host_port.is_none(),
        "the image itself was not started"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_service_is_reached_by_its_name_and_nothing_is_left_behind() {
    let fixtures = Fixtures::new().await;
    let (image, web) = tokio::join!(fixtures.build("with-service"), fixtures.build("web"));
    let mut target = target(&fixtures, "with-service", &image);
    target.services = vec![web.id.clone()];
    let outcomes = test_images(
        &fixtures.engine,
        &[target],
        &TestOptions::default(),
        &NullReporter,
    )
    .await;
    let outcome = &outcomes[0];
    let text = outcome.render();
    assert_eq!(outcome.status, TestStatus::Passed, "{text}");
    let found = results(outcome);
    assert_eq!(found.len(), 2, "{text}");
    assert_eq!(
        (found[0].0.as_str(), found[0].1.as_str()),
        ("service", "svc")
    );
    assert!(
        found[0].3.starts_with("GET /index.html answered 200 after"),
        "{text}"
    );
    assert_eq!(found[1].1, "reaches the service by its name");
    assert_eq!(found[1].2, TestStatus::Passed, "{text}");
    assert!(
        outcome.message.starts_with("accepted a TCP connection"),
        "{text}"
    );
    assert_eq!(fixtures.containers_from(&image).await, 0);
    assert_eq!(fixtures.containers_from(&web).await, 0);
    assert_eq!(
        networks_of(&fixtures, "with-service").await,
        Vec::<String>::new()
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_service_that_never_gets_ready_fails_the_test_and_is_removed() {
    let fixtures = Fixtures::new().await;
    let (image, never) = tokio::join!(
        fixtures.build("with-broken-service"),
        fixtures.build("never-listens")
    );
    let mut target = target(&fixtures, "with-broken-service", &image);
    target.services = vec![never.id.clone()];
    let outcomes = test_images(
        &fixtures.engine,
        &[target],
        &TestOptions::default(),
        &NullReporter,
    )
    .await;
    let outcome = &outcomes[0];
    let text = outcome.render();
    assert_eq!(outcome.status, TestStatus::Failed, "{text}");
    let found = results(outcome);
    assert_eq!(found.len(), 1, "nothing runs after a service fails: {text}");
    assert_eq!(
        (found[0].1.as_str(), found[0].2),
        ("db", TestStatus::Failed)
    );
    assert!(
        found[0]
            .3
            .starts_with("not ready within 3.0s: expected TCP connection to port 8080, found: "),
        "{text}"
    );
    assert!(
        outcome.tests[0]
            .details
            .iter()
            .any(|l| l.contains("waiting for a database that never answers")),
        "{text}"
    );
    assert!(
        outcome
            .message
            .starts_with("a service did not become ready, so the image was not tested"),
        "{text}"
    );
    assert_eq!(fixtures.containers_from(&image).await, 0);
    assert_eq!(fixtures.containers_from(&never).await, 0);
    assert_eq!(
        networks_of(&fixtures, "with-broken-service").await,
        Vec::<String>::new()
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn cancelling_while_a_service_starts_removes_it_and_the_network() {
    let fixtures = Fixtures::new().await;
    let (image, never) = tokio::join!(
        fixtures.build("with-broken-service"),
        fixtures.build("never-listens")
    );
    let mut spec = fixtures.spec("with-broken-service").test.clone().unwrap();
    spec.timeout = Duration::from_secs(120);
    // A distinct image name, so the network check sees only this test's network.
    let targets = [TestTarget {
        image: "cancelled-service".parse().unwrap(),
        reference: image.id.clone(),
        spec: &spec,
        services: vec![never.id.clone()],
    }];
    let options = TestOptions::default();
    let cancel = options.cancel.clone();
    let seen = tokio::spawn({
        let docker = fixtures.docker.clone();
        async move {
            // Wait for the service's network to exist, then cancel.
            let prefix = format!(
                "fleet-images-test-cancelled-service-{}-",
                std::process::id()
            );
            for _ in 0..100 {
                let options = bollard::query_parameters::ListNetworksOptions {
                    filters: Some(std::collections::HashMap::from([(
                        "name".to_string(),
                        vec![prefix.clone()],
                    )])),
                };
                let found = docker.list_networks(Some(options)).await.unwrap();
                if !found.is_empty() {
                    tokio::time::sleep(Duration::from_millis(500)).await;
                    cancel.cancel();
                    return true;
                }
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
            cancel.cancel();
            false
        }
    });
    let outcomes = test_images(&fixtures.engine, &targets, &options, &NullReporter).await;
    assert!(seen.await.unwrap(), "the network was created");
    assert_eq!(
        outcomes[0].status,
        TestStatus::Interrupted,
        "{}",
        outcomes[0].render()
    );
    assert_eq!(fixtures.containers_from(&image).await, 0);
    assert_eq!(fixtures.containers_from(&never).await, 0);
    assert_eq!(
        networks_of(&fixtures, "cancelled-service").await,
        Vec::<String>::new()
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn keep_leaves_the_services_and_their_network_too() {
    let fixtures = Fixtures::new().await;
    let (image, web) = tokio::join!(fixtures.build("with-service"), fixtures.build("web"));
    let spec = fixtures.spec("with-service").test.clone().unwrap();
    // A distinct image name, so the network check sees only this test's network.
    let targets = [TestTarget {
        image: "kept-service".parse().unwrap(),
        reference: image.id.clone(),
        spec: &spec,
        services: vec![web.id.clone()],
    }];
    let options = TestOptions {
        keep: true,
        ..Default::default()
    };
    let outcomes = test_images(&fixtures.engine, &targets, &options, &NullReporter).await;
    let outcome = &outcomes[0];
    let text = outcome.render();
    assert_eq!(outcome.status, TestStatus::Passed, "{text}");
    let networks = networks_of(&fixtures, "kept-service").await;
    assert_eq!(networks.len(), 1, "{text}");
    assert_eq!(
        outcome.kept_also.last().unwrap(),
        &format!("network {}", networks[0])
    );
    assert!(
        outcome.kept_also[0]
            .starts_with("service container fleet-images-service-kept-service-svc-"),
        "{text}"
    );
    assert!(
        text.contains("\n  kept network fleet-images-test-kept-service-"),
        "{text}"
    );
    // The image's container and the service's are left; the command's container is not.
    assert_eq!(fixtures.containers_from(&image).await, 1);
    assert_eq!(fixtures.containers_from(&web).await, 1);
    for id in [
        outcome.kept.clone().unwrap(),
        outcome.kept_also[0]
            .trim_start_matches("service container ")
            .to_string(),
    ] {
        let options = bollard::query_parameters::RemoveContainerOptions {
            force: true,
            v: true,
            link: false,
        };
        fixtures
            .docker
            .remove_container(&id, Some(options))
            .await
            .expect("remove a kept container");
    }
    fixtures
        .docker
        .remove_network(&networks[0])
        .await
        .expect("remove the kept network");
    assert_eq!(fixtures.containers_from(&image).await, 0);
    assert_eq!(fixtures.containers_from(&web).await, 0);
}
