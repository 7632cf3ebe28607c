//! `entrypoint-exists`: the program the image's `ENTRYPOINT`/`CMD` starts is in the image.
//!
//! The fleet's own build shipped a `CMD ["node", "dist/index.js"]` whose file the build never
//! produced: the image built, was pushed, and failed only when ECS started it. This rule reads the
//! built image's configuration and its file system (a created, never started container and the
//! archive API) and checks:
//!
//! - the executable: an absolute path as it is, a relative one against `WORKDIR`, a bare name on
//!   the image's `PATH` (as the engine looks it up); it must be a file with an execute bit;
//! - for an interpreter (`node`, `sh`/`bash`/`dash`/`ash`, `python*`), the script it is given,
//!   against `WORKDIR`; for `node` also with `.js`/`.mjs`/`.cjs` added or as a directory with a
//!   `package.json` or `index.js`, as Node resolves a main module;
//! - with an `ENTRYPOINT`, the `CMD` too when it starts a program of its own (an interpreter or a
//!   path), as wrappers such as Node's `docker-entrypoint.sh` or `tini --` run it.
//!
//! What it cannot analyse is a note, never a guess: a shell's `-c` string (the shell form of
//! `CMD`), `node -e`, `python -c` and `python -m`.

use super::{rules, Finding, Note, Severity};
use crate::docker::{EngineError, ImageConfig, PathInfo, PathKind, TestContainer};
use crate::names::ImageName;

/// The `PATH` the engine uses when the image sets none.
const DEFAULT_PATH: &str = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";

/// One command line the image starts, and where it comes from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Launch {
    /// `ENTRYPOINT` (with the `CMD` appended) or `CMD`.
    pub(crate) origin: &'static str,
    /// The argv.
    pub(crate) argv: Vec<String>,
}

/// The command lines to check: the entrypoint with its arguments, and the `CMD` on its own when it
/// starts a program of its own.
pub(crate) fn launches(config: &ImageConfig) -> Vec<Launch> {
    let mut out = Vec::new();
    if !config.entrypoint.is_empty() {
        let mut argv = config.entrypoint.clone();
        argv.extend(config.cmd.iter().cloned());
        out.push(Launch {
            origin: "ENTRYPOINT",
            argv,
        });
        let starts_program = config
            .cmd
            .first()
            .is_some_and(|first| first.contains('/') || interpreter(first).is_some());
        if starts_program {
            out.push(Launch {
                origin: "CMD",
                argv: config.cmd.clone(),
            });
        }
    } else if !config.cmd.is_empty() {
        out.push(Launch {
            origin: "CMD",
            argv: config.cmd.clone(),
        });
    }
    out
}

/// An interpreter whose script argument is checked.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Interpreter {
    Node,
    Shell,
    Python,
}

/// The interpreter a program is, by its file name.
pub(crate) fn interpreter(program: &str) -> Option<Interpreter> {
    let base = program.rsplit('/').next().unwrap_or(program);
    match base {
        "node" | "nodejs" => Some(Interpreter::Node),
        "sh" | "bash" | "dash" | "ash" | "zsh" => Some(Interpreter::Shell),
        _ if base.starts_with("python")
            && base[6..].chars().all(|c| c.is_ascii_digit() || c == '.') =>
        {
            Some(Interpreter::Python)
        }
        _ => None,
    }
}

/// What an interpreter is asked to run.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Script {
    /// A file.
    File(String),
    /// Code or a module given on the command line, which is not analysed: how it was given.
    NotAnalysed(&'static str),
    /// Nothing (an interactive shell, `node` reading stdin).
    None,
}

/// The script an interpreter's arguments name.
pub(crate) fn script(interpreter: Interpreter, args: &[String]) -> Script {
    // Options that take the next argument as their value.
    let takes_value: &[&str] = match interpreter {
        Interpreter::Node => &[
            "-r",
            "--require",
            "--import",
            "--loader",
            "--experimental-loader",
            "-C",
            "--conditions",
            "--env-file",
            "--title",
        ],
        Interpreter::Shell => &["-o", "+o"],
        Interpreter::Python => &["-W", "-X", "--check-hash-based-pycs"],
    };
    let mut args = args.iter();
    while let Some(arg) = args.next() {
        let not_analysed = match (interpreter, arg.as_str()) {
            (Interpreter::Node, "-e" | "--eval" | "-p" | "--print") => Some("`node -e` code"),
            (Interpreter::Shell, "-c") => Some("the shell's `-c` command string"),
            (Interpreter::Shell, a)
                if a.starts_with('-') && !a.starts_with("--") && a.contains('c') =>
            {
                Some("the shell's `-c` command string")
            }
            (Interpreter::Python, "-c") => Some("`python -c` code"),
            (Interpreter::Python, "-m") => Some("the `python -m` module"),
            _ => None,
        };
        if let Some(what) = not_analysed {
            return Script::NotAnalysed(what);
        }
        if arg == "--" {
            return args
                .next()
                .map_or(Script::None, |a| Script::File(a.clone()));
        }
        if takes_value.contains(&arg.as_str()) {
            args.next();
            continue;
        }
        if arg.starts_with('-') || (interpreter == Interpreter::Shell && arg.starts_with('+')) {
            continue;
        }
        return Script::File(arg.clone());
    }
    Script::None
}

/// `path` made absolute against `workdir` (empty: `/`), with `.` and `..` resolved.
pub(crate) fn absolute(path: &str, workdir: &str) -> String {
    let joined = if path.starts_with('/') {
        path.to_string()
    } else {
        format!("{}/{path}", if workdir.is_empty() { "/" } else { workdir })
    };
    let mut parts: Vec<&str> = Vec::new();
    for part in joined.split('/') {
        match part {
            "" | "." => {}
            ".." => {
                parts.pop();
            }
            p => parts.push(p),
        }
    }
    format!("/{}", parts.join("/"))
}

/// Where the engine looks for a program: the path itself when it has a `/`, else each `PATH`
/// directory.
pub(crate) fn program_candidates(program: &str, workdir: &str, path: Option<&str>) -> Vec<String> {
    if program.contains('/') {
        return vec![absolute(program, workdir)];
    }
    path.unwrap_or(DEFAULT_PATH)
        .split(':')
        .filter(|dir| dir.starts_with('/'))
        .map(|dir| absolute(program, dir))
        .collect()
}

/// Where an interpreter finds its script: the path against `WORKDIR`, and for Node the
/// extensions it tries.
pub(crate) fn script_candidates(
    interpreter: Interpreter,
    script: &str,
    workdir: &str,
) -> Vec<String> {
    let path = absolute(script, workdir);
    match interpreter {
        Interpreter::Node => ["", ".js", ".mjs", ".cjs"]
            .iter()
            .map(|ext| format!("{path}{ext}"))
            .collect(),
        _ => vec![path],
    }
}

/// The rule over a built image.
pub(crate) async fn check(
    image: &ImageName,
    config: &ImageConfig,
    container: &impl TestContainer,
    notes: &mut Vec<Note>,
) -> Result<Vec<Finding>, EngineError> {
    let mut findings = Vec::new();
    let launches = launches(config);
    if launches.is_empty() {
        notes.push(Note {
            image: image.clone(),
            rule: Some(rules::ENTRYPOINT_EXISTS),
            text: "the image has no ENTRYPOINT or CMD: it starts nothing by itself".into(),
        });
    }
    let path = config.env_var("PATH");
    for launch in launches {
        let program = &launch.argv[0];
        let shown = launch.argv.join(" ");
        let candidates = program_candidates(program, &config.workdir, path);
        let found = first_file(container, &candidates).await?;
        let Some((at, info)) = found else {
            findings.push(missing_program(image, &launch, &candidates, path));
            continue;
        };
        if info.mode & 0o111 == 0 {
            findings.push(
                Finding::new(
                    rules::ENTRYPOINT_EXISTS,
                    Severity::Error,
                    image,
                    format!("`{}` runs `{shown}`, but `{at}` is not executable (mode {:04o})", launch.origin, info.mode),
                    format!("make it executable in the Dockerfile (`COPY --chmod=0755 …` or `RUN chmod +x {at}`)"),
                )
                .at(format!("{at} (in the image)")),
            );
            continue;
        }
        let Some(kind) = interpreter(program) else {
            continue;
        };
        match script(kind, &launch.argv[1..]) {
            Script::None => {}
            Script::NotAnalysed(what) => notes.push(Note {
                image: image.clone(),
                rule: Some(rules::ENTRYPOINT_EXISTS),
                text: format!(
                    "`{}` runs `{shown}`: `{program}` exists; {what} was not analysed",
                    launch.origin
                ),
            }),
            Script::File(script) => {
                if !script_exists(container, kind, &script, &config.workdir).await? {
                    let at = absolute(&script, &config.workdir);
                    let workdir = if config.workdir.is_empty() {
                        "/"
                    } else {
                        &config.workdir
                    };
                    findings.push(
                        Finding::new(
                            rules::ENTRYPOINT_EXISTS,
                            Severity::Error,
                            image,
                            format!(
                                "`{}` runs `{shown}`, but `{at}` is not in the image (`{script}` against WORKDIR `{workdir}`)",
                                launch.origin
                            ),
                            "the build never produced it: check that the build step writes it there (for TypeScript, `tsc`'s `outDir`) and that the final stage COPYs it from the build stage",
                        )
                        .at(format!("{at} (in the image)")),
                    );
                }
            }
        }
    }
    Ok(findings)
}

/// The first of `candidates` that is a regular file in the image (after symbolic links).
async fn first_file(
    container: &impl TestContainer,
    candidates: &[String],
) -> Result<Option<(String, PathInfo)>, EngineError> {
    for candidate in candidates {
        if let Some((_, info)) = container.resolve(candidate).await? {
            if info.kind == PathKind::File {
                return Ok(Some((candidate.clone(), info)));
            }
        }
    }
    Ok(None)
}

/// The finding for a launch whose program is not in the image: not at its path, or not on PATH.
fn missing_program(
    image: &ImageName,
    launch: &Launch,
    candidates: &[String],
    path: Option<&str>,
) -> Finding {
    let program = &launch.argv[0];
    let shown = launch.argv.join(" ");
    let (message, hint) = if program.contains('/') {
        (
            format!("`{}` runs `{shown}`, but `{}` is not a file in the image", launch.origin, candidates[0]),
            "the build did not put it there: check the COPY (or the build step) that should produce it, and the path in ENTRYPOINT/CMD".to_string(),
        )
    } else {
        (
            format!(
                "`{}` runs `{shown}`, but `{program}` is not on the image's PATH ({})",
                launch.origin,
                path.unwrap_or(DEFAULT_PATH)
            ),
            format!("install `{program}` in the final stage, or name it by its absolute path"),
        )
    };
    Finding::new(
        rules::ENTRYPOINT_EXISTS,
        Severity::Error,
        image,
        message,
        hint,
    )
}

async fn script_exists(
    container: &impl TestContainer,
    kind: Interpreter,
    script: &str,
    workdir: &str,
) -> Result<bool, EngineError> {
    for candidate in script_candidates(kind, script, workdir) {
        match container.resolve(&candidate).await? {
            Some((_, info)) if info.kind == PathKind::File => return Ok(true),
            Some((dir, info)) if info.kind == PathKind::Dir && kind == Interpreter::Node => {
                for main in ["package.json", "index.js"] {
                    if container.resolve(&format!("{dir}/{main}")).await?.is_some() {
                        return Ok(true);
                    }
                }
            }
            _ => {}
        }
    }
    Ok(false)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn argv(words: &[&str]) -> Vec<String> {
        words.iter().map(|w| w.to_string()).collect()
    }

    #[test]
    fn what_runs() {
        let node_base = ImageConfig {
            entrypoint: argv(&["docker-entrypoint.sh"]),
            cmd: argv(&["node", "dist/index.js"]),
            ..Default::default()
        };
        let found = launches(&node_base);
        assert_eq!(found.len(), 2);
        assert_eq!(
            found[0].argv,
            argv(&["docker-entrypoint.sh", "node", "dist/index.js"])
        );
        assert_eq!(
            (found[1].origin, found[1].argv.clone()),
            ("CMD", argv(&["node", "dist/index.js"]))
        );
        let nginx = ImageConfig {
            entrypoint: argv(&["/docker-entrypoint.sh"]),
            cmd: argv(&["nginx", "-g", "daemon off;"]),
            ..Default::default()
        };
        assert_eq!(
            launches(&nginx).len(),
            1,
            "a bare non-interpreter CMD may be a subcommand"
        );
        assert!(launches(&ImageConfig::default()).is_empty());
    }

    #[test]
    fn scripts_of_interpreters() {
        assert_eq!(
            script(Interpreter::Node, &argv(&["dist/index.js"])),
            Script::File("dist/index.js".into())
        );
        assert_eq!(
            script(
                Interpreter::Node,
                &argv(&[
                    "--enable-source-maps",
                    "-r",
                    "dotenv/config",
                    "cli.js",
                    "start"
                ])
            ),
            Script::File("cli.js".into())
        );
        assert!(matches!(
            script(Interpreter::Node, &argv(&["-e", "x"])),
            Script::NotAnalysed(_)
        ));
        assert!(matches!(
            script(Interpreter::Shell, &argv(&["-c", "node x"])),
            Script::NotAnalysed(_)
        ));
        assert!(matches!(
            script(Interpreter::Shell, &argv(&["-ec", "x"])),
            Script::NotAnalysed(_)
        ));
        assert_eq!(
            script(Interpreter::Shell, &argv(&["-e", "/start.sh"])),
            Script::File("/start.sh".into())
        );
        assert_eq!(script(Interpreter::Shell, &argv(&[])), Script::None);
        assert!(matches!(
            script(Interpreter::Python, &argv(&["-m", "http.server"])),
            Script::NotAnalysed(_)
        ));
        assert_eq!(
            script(Interpreter::Python, &argv(&["-u", "app.py"])),
            Script::File("app.py".into())
        );
        assert_eq!(
            interpreter("/usr/bin/python3.11"),
            Some(Interpreter::Python)
        );
        assert_eq!(interpreter("pythonic"), None);
        assert_eq!(interpreter("/bin/sh"), Some(Interpreter::Shell));
        assert_eq!(interpreter("nginx"), None);
    }

    #[test]
    fn paths_resolve_like_the_engine() {
        assert_eq!(absolute("dist/index.js", "/app"), "/app/dist/index.js");
        assert_eq!(absolute("./x/../y.js", "/app/"), "/app/y.js");
        assert_eq!(absolute("x", ""), "/x");
        assert_eq!(
            program_candidates("node", "/app", Some("/usr/local/bin:/usr/bin")),
            ["/usr/local/bin/node", "/usr/bin/node"]
        );
        assert_eq!(
            program_candidates("./server", "/app", None),
            ["/app/server"]
        );
        assert_eq!(program_candidates("sh", "", None).len(), 6);
        assert_eq!(
            script_candidates(Interpreter::Node, "dist/index", "/app"),
            [
                "/app/dist/index",
                "/app/dist/index.js",
                "/app/dist/index.mjs",
                "/app/dist/index.cjs"
            ]
        );
    }
}
