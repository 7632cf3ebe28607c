//! Keys: what changes them, what does not, and a golden key. Runs the real binary; the images use
//! `FROM scratch`, so no base image needs resolving.

use std::os::unix::fs::PermissionsExt;

use crate::support::Fleet;

const MANIFEST: &str = r#"
[images.alpha]
context = "alpha"
args = { GREETING = "hello" }

[images.beta]
context = "beta"
depends_on = ["alpha"]

[images.gamma]
context = "gamma"
"#;

fn fleet() -> Fleet {
    let fleet = Fleet::new();
    fleet
        .manifest(MANIFEST)
        .write(
            "alpha/Dockerfile",
            "FROM scratch\nARG GREETING\nCOPY app.txt run.sh /\nCOPY conf /conf\n",
        )
        .write("alpha/app.txt", "alpha v1\n")
        .write("alpha/run.sh", "#!/bin/sh\necho hi\n")
        .write("alpha/conf/a.toml", "a = 1\n")
        .write("alpha/unused.txt", "not copied\n")
        .write(
            "beta/Dockerfile",
            "ARG ALPHA_IMAGE\nFROM ${ALPHA_IMAGE}\nCOPY b.txt /\n",
        )
        .write("beta/b.txt", "beta\n")
        .write(
            "gamma/Dockerfile",
            "FROM scratch AS build\nCOPY . /src\nFROM scratch AS final\nCOPY --from=build /src /\n",
        )
        .write("gamma/g.txt", "gamma\n");
    std::fs::set_permissions(
        fleet.file("alpha/run.sh"),
        std::fs::Permissions::from_mode(0o755),
    )
    .unwrap();
    fleet
}

fn keys(fleet: &Fleet, args: &[&str]) -> Vec<(String, String)> {
    let mut all = vec!["--manifest", "fleet.toml", "hash"];
    all.extend_from_slice(args);
    let run = fleet.run(&all);
    run.ok();
    run.stdout
        .lines()
        .map(|l| {
            l.split_once(' ')
                .map(|(a, b)| (a.to_string(), b.to_string()))
                .unwrap()
        })
        .collect()
}

fn key_of(fleet: &Fleet, image: &str) -> String {
    keys(fleet, &[])
        .into_iter()
        .find(|(n, _)| n == image)
        .unwrap()
        .1
}

/// A directory whose stamp is unchanged is not read again: its names come from the listing cache.
/// Each way its names can change must show in that stamp, or a new file would go unseen.
#[test]
fn the_listing_cache_sees_every_change_to_a_directory() {
    let fleet = fleet();
    fleet.write("gamma/sub/s.txt", "sub\n");
    // Nothing modified in the last two seconds is cached.
    std::thread::sleep(std::time::Duration::from_millis(2100));
    let first = key_of(&fleet, "gamma");
    let listings = std::fs::read(fleet.file(".fleet-images/listing-cache-v2")).unwrap();
    let holds = |name: &[u8]| listings.windows(name.len()).any(|w| w == name);
    assert!(
        holds(b"g.txt") && holds(b"s.txt"),
        "both directories are cached"
    );
    assert_eq!(key_of(&fleet, "gamma"), first, "served from the caches");

    // A new name, with the directory's mtime put back: its ctime still moves.
    let mtime = std::fs::metadata(fleet.file("gamma/sub"))
        .unwrap()
        .modified()
        .unwrap();
    fleet.write("gamma/sub/new.txt", "new\n");
    std::fs::File::open(fleet.file("gamma/sub"))
        .unwrap()
        .set_modified(mtime)
        .unwrap();
    let added = key_of(&fleet, "gamma");
    assert_ne!(
        added, first,
        "a file added below a cached directory is seen"
    );

    // An edit in place in a cached directory: the file's own stamp moves.
    std::fs::remove_file(fleet.file("gamma/sub/new.txt")).unwrap();
    assert_eq!(key_of(&fleet, "gamma"), first, "a removed file is seen");
    std::thread::sleep(std::time::Duration::from_millis(2100));
    assert_eq!(key_of(&fleet, "gamma"), first);
    fleet.write("gamma/sub/s.txt", "sub, edited\n");
    assert_ne!(
        key_of(&fleet, "gamma"),
        first,
        "an edit in a cached directory is seen"
    );

    // A file replaced by a directory of the same name.
    std::fs::remove_file(fleet.file("gamma/sub/s.txt")).unwrap();
    fleet.write("gamma/sub/s.txt/inner", "sub\n");
    assert_ne!(
        key_of(&fleet, "gamma"),
        first,
        "a file turned directory is seen"
    );
}

#[test]
fn golden_key_of_a_fixed_tree() {
    let fleet = fleet();
    let all = keys(&fleet, &[]);
    let names: Vec<&str> = all.iter().map(|(n, _)| n.as_str()).collect();
    assert_eq!(names, ["alpha", "beta", "gamma"]);
    // Pinned: a change here changes every user's keys, so it must be deliberate (bump the scheme).
    assert_eq!(
        all[0].1,
        "486bade9aa90f5065f7d3e008fd621f6444cc66952060fd2db1dbe7c3bdc7e5d"
    );
}

#[test]
fn keys_ignore_location_mtime_and_umask() {
    let a = fleet();
    let b = fleet();
    // Other mtimes and group/other permission bits (another umask); same content and exec bits.
    for file in ["alpha/app.txt", "alpha/conf/a.toml", "beta/b.txt"] {
        let path = b.file(file);
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o600)).unwrap();
        let f = std::fs::File::options().write(true).open(&path).unwrap();
        f.set_modified(
            std::time::SystemTime::UNIX_EPOCH + std::time::Duration::from_secs(1_000_000),
        )
        .unwrap();
    }
    std::fs::set_permissions(
        b.file("alpha/run.sh"),
        std::fs::Permissions::from_mode(0o700),
    )
    .unwrap();
    assert_eq!(keys(&a, &[]), keys(&b, &[]));
}

#[test]
fn keys_change_with_each_input() {
    let fleet = fleet();
    let mut seen = vec![key_of(&fleet, "alpha")];
    let mut expect_new = |fleet: &Fleet, what: &str| {
        let key = key_of(fleet, "alpha");
        assert!(!seen.contains(&key), "{what} did not change the key");
        seen.push(key);
    };
    fleet.write("alpha/app.txt", "alpha v2\n");
    expect_new(&fleet, "content");
    std::fs::set_permissions(
        fleet.file("alpha/app.txt"),
        std::fs::Permissions::from_mode(0o755),
    )
    .unwrap();
    expect_new(&fleet, "exec bit");
    std::fs::rename(
        fleet.file("alpha/conf/a.toml"),
        fleet.file("alpha/conf/b.toml"),
    )
    .unwrap();
    expect_new(&fleet, "rename");
    std::os::unix::fs::symlink("b.toml", fleet.file("alpha/conf/link")).unwrap();
    expect_new(&fleet, "new symlink");
    std::fs::remove_file(fleet.file("alpha/conf/link")).unwrap();
    std::os::unix::fs::symlink("other", fleet.file("alpha/conf/link")).unwrap();
    expect_new(&fleet, "symlink target");
    fleet.manifest(&MANIFEST.replace("\"hello\"", "\"\""));
    expect_new(&fleet, "arg value (empty)");
    fleet.manifest(&MANIFEST.replace("args = { GREETING = \"hello\" }", ""));
    expect_new(&fleet, "arg unset");
    fleet.manifest(&MANIFEST.replace(
        "context = \"alpha\"",
        "context = \"alpha\"\nplatform = \"linux/arm64\"",
    ));
    expect_new(&fleet, "platform");
    fleet.write("alpha/Dockerfile", "FROM scratch AS one\nARG GREETING\nCOPY app.txt run.sh /\nCOPY conf /conf\nFROM one AS two\n");
    fleet.manifest(&MANIFEST.replace(
        "context = \"alpha\"",
        "context = \"alpha\"\ntarget = \"one\"",
    ));
    expect_new(&fleet, "target");
}

#[test]
fn a_file_only_one_image_reads_changes_that_image_and_its_dependents() {
    let fleet = fleet();
    let before = keys(&fleet, &[]);
    fleet.write("alpha/unused.txt", "still not copied\n");
    assert_eq!(
        keys(&fleet, &[]),
        before,
        "a file no COPY reads changed a key"
    );
    fleet.write("alpha/app.txt", "alpha v2\n");
    let after = keys(&fleet, &[]);
    assert_ne!(after[0].1, before[0].1, "alpha");
    assert_ne!(after[1].1, before[1].1, "beta builds on alpha");
    assert_eq!(after[2].1, before[2].1, "gamma is independent");
}

#[test]
fn symlinks_are_sent_as_symlinks() {
    let fleet = fleet();
    std::os::unix::fs::symlink("/etc/passwd", fleet.file("gamma/passwd")).unwrap();
    let run = fleet.run(&["--manifest", "fleet.toml", "inputs", "gamma", "--json"]);
    run.ok();
    let json = run.json();
    let entry = json["entries"]
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["path"] == "passwd")
        .unwrap()
        .clone();
    assert_eq!(entry["type"], "symlink");
    assert_eq!(entry["target"], "/etc/passwd");
}

/// A path longer than the kernel's PATH_MAX (4096 bytes) below a cached directory is still read:
/// deep directories are opened rather than reached from the context root.
#[test]
fn a_context_deeper_than_path_max_is_walked_from_the_caches_too() {
    let fleet = fleet();
    let deep: Vec<String> = (0..24)
        .map(|i| format!("{i:02}{}", "d".repeat(200)))
        .collect();
    let deep = format!("gamma/{}/leaf.txt", deep.join("/"));
    assert!(deep.len() > 4096);
    // Made relative to each directory: the whole path is too long for one system call.
    let mut dir = std::fs::File::open(fleet.file("gamma")).unwrap();
    let mut parts: Vec<&str> = deep.split('/').skip(1).collect();
    let leaf = parts.pop().unwrap();
    for part in parts {
        let fd = rustix::fs::openat(&dir, part, rustix::fs::OFlags::RDONLY, 0o755.into())
            .or_else(|_| {
                rustix::fs::mkdirat(&dir, part, 0o755.into())?;
                rustix::fs::openat(&dir, part, rustix::fs::OFlags::RDONLY, 0o755.into())
            })
            .unwrap();
        dir = std::fs::File::from(fd);
    }
    let file = rustix::fs::openat(
        &dir,
        leaf,
        rustix::fs::OFlags::WRONLY | rustix::fs::OFlags::CREATE,
        0o644.into(),
    )
    .unwrap();
    rustix::io::write(&file, b"deep\n").unwrap();
    std::thread::sleep(std::time::Duration::from_millis(2100));
    let first = key_of(&fleet, "gamma");
    assert_eq!(key_of(&fleet, "gamma"), first, "from the caches");
    rustix::io::write(&file, b"deeper\n").unwrap();
    assert_ne!(
        key_of(&fleet, "gamma"),
        first,
        "an edit at the bottom is seen"
    );
}

/// Every sent entry has its parent directory sent too, also when it lies in an excluded directory:
/// the Dockerfile (always sent) and a re-included file.
#[test]
fn entries_in_excluded_directories_come_with_their_parents() {
    let fleet = Fleet::new();
    fleet
        .manifest(
            "[images.whole]\ncontext = \"w\"\ndockerfile = \"w/build/docker/Dockerfile\"\n\
             [images.plain]\ncontext = \"p\"\ndockerfile = \"p/build/Dockerfile\"\n",
        )
        .write("p/build/Dockerfile", "FROM scratch\nCOPY . /\n")
        .write("p/.dockerignore", "build\n")
        .write("p/app.txt", "app\n")
        .write("w/build/docker/Dockerfile", "FROM scratch\nCOPY . /\n")
        .write("w/.dockerignore", "build\nlogs\n!logs/keep/this.txt\n")
        .write("w/logs/keep/this.txt", "kept\n")
        .write("w/logs/drop.txt", "dropped\n")
        .write("w/app.txt", "app\n");
    let paths = |image: &str| -> Vec<String> {
        let run = fleet.run(&["--manifest", "fleet.toml", "inputs", image, "--json"]);
        run.ok();
        run.json()["entries"]
            .as_array()
            .unwrap()
            .iter()
            .map(|e| e["path"].as_str().unwrap().to_string())
            .collect()
    };
    assert_eq!(
        paths("plain"),
        [".dockerignore", "app.txt", "build", "build/Dockerfile"]
    );
    assert_eq!(
        paths("whole"),
        [
            ".dockerignore",
            "app.txt",
            "build",
            "build/docker",
            "build/docker/Dockerfile",
            "logs",
            "logs/keep",
            "logs/keep/this.txt"
        ]
    );
}

#[test]
fn only_what_the_dockerfile_reads_is_sent() {
    let fleet = fleet();
    let run = fleet.run(&["--manifest", "fleet.toml", "inputs", "alpha", "--json"]);
    run.ok();
    let json = run.json();
    let paths: Vec<&str> = json["entries"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["path"].as_str().unwrap())
        .collect();
    assert_eq!(
        paths,
        ["Dockerfile", "app.txt", "conf", "conf/a.toml", "run.sh"]
    );
    assert_eq!(json["whole_context"], serde_json::Value::Null);
}

#[test]
fn a_non_utf8_file_name_is_a_clear_error() {
    use std::os::unix::ffi::OsStrExt;
    let fleet = fleet();
    std::fs::write(
        fleet
            .file("gamma")
            .join(std::ffi::OsStr::from_bytes(b"bad\xffname")),
        "x",
    )
    .unwrap();
    let run = fleet.run(&["--manifest", "fleet.toml", "inputs", "gamma"]);
    run.expect_code(2);
    assert!(run.stderr.contains("is not UTF-8"), "{}", run.stderr);
    assert!(
        run.stderr
            .contains("hint: rename the file, or exclude it in .dockerignore"),
        "{}",
        run.stderr
    );
}

#[test]
fn a_context_of_100000_files() {
    let fleet = fleet();
    for d in 0..100 {
        let dir = fleet.file(&format!("gamma/d{d}"));
        std::fs::create_dir_all(&dir).unwrap();
        for f in 0..1000 {
            std::fs::write(dir.join(format!("f{f}")), format!("{d}/{f}")).unwrap();
        }
    }
    let run = fleet.run(&["--manifest", "fleet.toml", "plan", "gamma", "--json"]);
    run.ok();
    assert_eq!(run.json()["images"][0]["inputs"]["files"], 100_002);
}

#[test]
fn a_missing_context_blocks_that_image_and_plans_the_others() {
    let fleet = Fleet::new();
    fleet
        .manifest("[vars]\nsource = \"../nowhere\"\n[images.app]\ncontext = \"${source}/app\"\n[images.web]\ncontext = \"web\"\n")
        .write("web/Dockerfile", "FROM scratch\nCOPY index.html /\n")
        .write("web/index.html", "hi");
    let run = fleet.run(&["--manifest", "fleet.toml", "plan"]);
    // Everything is planned and printed, and the blocked image fails the run (issue 14).
    run.expect_code(2);
    assert!(run.stdout.contains("app    blocked  -"), "{}", run.stdout);
    assert!(
        run.stdout
            .contains("build context `../nowhere/app` of image `app` does not exist"),
        "{}",
        run.stdout
    );
    assert!(
        run.stdout
            .contains("hint: set it with `--var source=PATH` (or env `FLEET_VAR_SOURCE`)"),
        "{}",
        run.stdout
    );
    assert!(run.stdout.contains("web    build"), "{}", run.stdout);
}

#[test]
fn explain_lists_what_changed_since_the_last_plan() {
    let fleet = fleet();
    fleet.run(&["--manifest", "fleet.toml", "plan"]).ok();
    let run = fleet.run(&["--manifest", "fleet.toml", "plan", "alpha", "--explain"]);
    assert!(
        run.stdout
            .contains("inputs unchanged since the last recorded run"),
        "{}",
        run.stdout
    );

    fleet.write("alpha/app.txt", "alpha v2\n");
    fleet.write("alpha/conf/new.toml", "n = 1\n");
    std::fs::remove_file(fleet.file("alpha/conf/a.toml")).unwrap();
    fleet.manifest(&MANIFEST.replace("\"hello\"", "\"s3cret-value\""));
    let run = fleet.run(&["--manifest", "fleet.toml", "plan", "--explain", "--json"]);
    run.ok();
    let json = run.json();
    let changes: Vec<String> = json["images"][0]["changes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c.as_str().unwrap().to_string())
        .collect();
    assert_eq!(
        changes,
        [
            "changed: app.txt",
            "added: conf/new.toml",
            "removed: conf/a.toml",
            "arg changed: GREETING"
        ]
    );
    let beta: Vec<String> = json["images"][1]["changes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c.as_str().unwrap().to_string())
        .collect();
    assert_eq!(beta, ["dependency changed: alpha"]);
    assert!(
        !run.stdout.contains("s3cret-value"),
        "an arg's value was printed"
    );
    assert!(
        !std::fs::read_dir(fleet.file(".fleet-images/inputs"))
            .unwrap()
            .any(|e| std::fs::read_to_string(e.unwrap().path())
                .unwrap()
                .contains("s3cret-value")),
        "an arg's value was stored"
    );
}

#[test]
fn bad_input_is_exit_2_with_file_line_and_hint() {
    let fleet = fleet();
    fleet.write("gamma/.dockerignore", "*.tmp\n!\n");
    let run = fleet.run(&["--manifest", "fleet.toml", "hash", "gamma"]);
    run.expect_code(2);
    assert!(run.stderr.contains("bad ignore file `gamma/.dockerignore` of image `gamma`: line 2: `!` alone is not a pattern"), "{}", run.stderr);
    assert!(
        run.stderr.contains("--> gamma/.dockerignore:2"),
        "{}",
        run.stderr
    );

    fleet.write("gamma/.dockerignore", "[abc\n");
    let run = fleet.run(&["--manifest", "fleet.toml", "inputs", "gamma"]);
    run.expect_code(2);
    assert!(run.stderr.contains("line 1"), "{}", run.stderr);

    fleet.write("gamma/.dockerignore", "");
    fleet.write("gamma/Dockerfile", "FROM scratch\nCOPYY . /src\n");
    let run = fleet.run(&["--manifest", "fleet.toml", "inputs", "gamma"]);
    run.expect_code(2);
    assert!(run.stderr.contains("error: cannot read the Dockerfile of image `gamma`: line 2: unknown instruction `COPYY`"), "{}", run.stderr);
    assert!(
        run.stderr.contains("--> gamma/Dockerfile:2"),
        "{}",
        run.stderr
    );

    fleet.manifest("[images.gamma]\ncontxt = \"gamma\"\n");
    let run = fleet.run(&["--manifest", "fleet.toml", "plan"]);
    run.expect_code(2);
    assert_eq!(run.stderr, "error: unknown key `contxt` in `[images.gamma]`\n  --> fleet.toml:2 (images.gamma.contxt)\n  hint: did you mean `context`?\n");

    let run = fleet.run(&["--manifest", "missing.toml", "plan"]);
    run.expect_code(2);
    assert!(
        run.stderr
            .starts_with("error: cannot read manifest `missing.toml`: No such file or directory"),
        "{}",
        run.stderr
    );

    let run = fleet.run(&["--manifest", "fleet.toml", "--var", "novalue", "plan"]);
    run.expect_code(2);
    assert!(
        run.stderr
            .contains("`--var novalue` is not of the form NAME=VALUE"),
        "{}",
        run.stderr
    );

    let run = fleet.run(&["--manifest", "fleet.toml", "no-such-command"]);
    run.expect_code(2);
}
