//! The Dockerfile reader: what it reads from each form of each instruction, every error's exact
//! text, substitution, the exec form, and junk and large inputs.

use std::collections::BTreeMap;

use super::expand::{expand, ExpandError};
use super::json::parse_json_strings;
use super::*;

/// The caller's build args of a case.
type Args = &'static [(&'static str, Option<&'static str>)];
/// (name, Dockerfile, build args, expected).
type Case<T> = (&'static str, &'static str, Args, T);

fn build_args(pairs: &[(&str, Option<&str>)]) -> BTreeMap<String, Option<String>> {
    pairs
        .iter()
        .map(|(name, value)| (name.to_string(), value.map(str::to_owned)))
        .collect()
}

#[track_caller]
fn read(name: &str, text: &str, args: &[(&str, Option<&str>)]) -> Dockerfile {
    parse(text, &build_args(args)).unwrap_or_else(|error| panic!("{name}: {error}"))
}

/// `paths: a@2, b@3` or `whole@4: reason`.
fn reads(dockerfile: &Dockerfile) -> String {
    match &dockerfile.context_reads {
        ContextReads::Paths(sources) => format!(
            "paths: {}",
            sources
                .iter()
                .map(|source| format!("{}@{}", source.pattern, source.line))
                .collect::<Vec<_>>()
                .join(", ")
        ),
        ContextReads::Whole { reason, line } => format!("whole@{line}: {reason}"),
    }
}

/// `From busybox:1 @2 [BASE]`.
fn images(dockerfile: &Dockerfile) -> Vec<String> {
    dockerfile
        .external_images
        .iter()
        .map(|image| {
            let arg = image
                .arg
                .as_ref()
                .map(|arg| format!(" [{arg}]"))
                .unwrap_or_default();
            format!("{:?} {} @{}{arg}", image.via, image.reference, image.line)
        })
        .collect()
}

#[test]
fn context_reads() {
    let cases: &[Case<&str>] = &[
        ("copy dot", "FROM alpine\nCOPY . .\n", &[], "whole@2: `COPY .` reads the whole build context"),
        ("copy dot slash", "FROM alpine\nCOPY ./ /app/\n", &[], "whole@2: `COPY ./` reads the whole build context"),
        ("copy star", "FROM alpine\nCOPY * /app/\n", &[], "whole@2: `COPY *` matches every entry at the root of the build context"),
        ("dotdot inside", "FROM alpine\nCOPY a/../b/./c /x\n", &[], "paths: b/c@2"),
        ("cleans to root", "FROM alpine\nCOPY src/.. /x\n", &[], "whole@2: `COPY src/..` reads the whole build context"),
        ("leading slash", "FROM alpine\nCOPY /etc/app.conf /etc/\n", &[], "paths: etc/app.conf@2"),
        ("json form", "FROM alpine\nCOPY [\"a b.txt\", \"/x/\"]\n", &[], "paths: a b.txt@2"),
        ("json form with flags", "FROM alpine\nCOPY --chown=1:1 [ \"src\" , \"lib\", \"/dst/\" ]\n", &[], "paths: src@2, lib@2"),
        ("glob", "FROM alpine\nCOPY src/*.js /app/\n", &[], "paths: src/*.js@2"),
        ("several sources", "FROM alpine\nCOPY package.json yarn.* /app/\n", &[], "paths: package.json@2, yarn.*@2"),
        (
            "flags",
            "FROM alpine\nCOPY --chown=app:app --chmod=755 --link --parents --exclude=*.md ./x/./y /dst/\n",
            &[],
            "paths: x/y@2",
        ),
        ("add url", "FROM alpine\nADD https://example.com/a.tgz /x\n", &[], "paths: "),
        ("add git", "FROM alpine\nADD git@github.com:moby/buildkit.git /src\n", &[], "paths: "),
        ("add local archive", "FROM alpine\nADD rootfs.tar.gz /\n", &[], "paths: rootfs.tar.gz@2"),
        (
            "heredoc body is no instruction",
            "FROM alpine\nRUN <<EOF\nCOPY secret /\nFROM evil\nEOF\nCOPY app /app\n",
            &[],
            "paths: app@6",
        ),
        ("copy from heredoc", "FROM alpine\nCOPY <<EOF /etc/motd\nhello\nEOF\n", &[], "paths: "),
        (
            "chomped, quoted and several heredocs",
            "FROM alpine\nRUN <<-\"EOT\" bash\n\techo $HOME\n\tEOT\nCOPY --chmod=755 <<one <<two /usr/local/bin/\nx\none\ny\ntwo\nCOPY b /b\n",
            &[],
            "paths: b@10",
        ),
        ("heredoc with fd", "FROM alpine\nRUN cat 3<<EOF >/x\nADD y /y\nEOF\n", &[], "paths: "),
        ("json run has no heredoc", "FROM alpine\nRUN [\"cat\", \"<<EOF\"]\nCOPY a /a\n", &[], "paths: a@3"),
        ("bind mount source", "FROM golang\nRUN --mount=type=bind,source=pkg,target=/p go build\n", &[], "paths: pkg@2"),
        ("bind mount src alias", "FROM golang\nRUN --mount=type=bind,src=./tools/,target=/t make\n", &[], "paths: tools@2"),
        (
            "bind mount without source",
            "FROM golang\nRUN --mount=type=bind,target=/p go build\n",
            &[],
            "whole@2: `RUN --mount=type=bind` without `source` mounts the whole build context",
        ),
        (
            "mount type defaults to bind",
            "FROM golang\nRUN --mount=target=/p ls\n",
            &[],
            "whole@2: `RUN --mount=type=bind` without `source` mounts the whole build context",
        ),
        (
            "bind mount of the root",
            "FROM golang\nRUN --mount=type=bind,source=.,target=/p ls\n",
            &[],
            "whole@2: `RUN --mount=source=.` reads the whole build context",
        ),
        ("bind mount glob chars are literal", "FROM golang\nRUN --mount=type=bind,source=a[1],target=/p ls\n", &[], "paths: a\\[1]@2"),
        ("quoted mount value", "FROM golang\nRUN --mount=\"type=bind,source=a b,target=/x\" ls\n", &[], "paths: a b@2"),
        ("cache mount", "FROM python\nRUN --mount=type=cache,target=/root/.cache pip install x\n", &[], "paths: "),
        ("secret and tmpfs mounts", "FROM node\nRUN --mount=type=secret,id=npm,target=/root/.npmrc --mount=type=tmpfs,target=/t npm ci\n", &[], "paths: "),
        (
            "bind mount from a stage",
            "FROM golang AS builder\nFROM alpine\nRUN --mount=type=bind,from=builder,source=/out,target=/o cp /o/app /app\n",
            &[],
            "paths: ",
        ),
        ("copy from a stage", "FROM golang AS builder\nFROM alpine\nCOPY --from=builder . /app\n", &[], "paths: "),
        ("arg in source", "FROM alpine\nARG SRC=src\nCOPY ${SRC}/app.js $SRC/lib /app/\n", &[], "paths: src/app.js@3, src/lib@3"),
        ("caller arg overrides default", "FROM alpine\nARG SRC=src\nCOPY ${SRC}/app.js /app/\n", &[("SRC", Some("web"))], "paths: web/app.js@3"),
        ("caller None keeps default", "FROM alpine\nARG SRC=src\nCOPY ${SRC} /app/\n", &[("SRC", None)], "paths: src@3"),
        ("env in source", "FROM alpine\nENV DIR=lib\nCOPY ${DIR}/x /x\n", &[], "paths: lib/x@3"),
        ("env wins over arg", "FROM alpine\nENV DIR=env\nARG DIR=arg\nCOPY $DIR /x\n", &[("DIR", Some("caller"))], "paths: env@4"),
        ("default modifier", "FROM alpine\nCOPY ${MISSING:-conf}/a /a\n", &[], "paths: conf/a@2"),
        ("alternative modifier", "FROM alpine\nARG FLAG=1\nCOPY x${FLAG:+-debug} y${NONE:+-debug} /a\n", &[], "paths: x-debug@3, y@3"),
        (
            "unset variable",
            "FROM alpine\nARG SRC\nCOPY $SRC/app /app\n",
            &[],
            "whole@3: source `$SRC/app` of `COPY` uses `SRC`, which is not set",
        ),
        (
            "global arg needs redeclaring in the stage",
            "ARG V=1\nFROM alpine\nCOPY v${V} /x\n",
            &[],
            "whole@3: source `v${V}` of `COPY` uses `V`, which is not set",
        ),
        ("redeclared global arg", "ARG V=1\nFROM alpine\nARG V\nCOPY v${V} /x\n", &[], "paths: v1@4"),
        ("redeclared global arg with caller value", "ARG V=1\nFROM alpine\nARG V\nCOPY v${V} /x\n", &[("V", Some("2"))], "paths: v2@4"),
        ("env inherited from base stage", "FROM alpine AS base\nENV APP=web\nFROM base\nCOPY $APP /srv\n", &[], "paths: web@4"),
        ("escaped dollar", "FROM alpine\nCOPY \\$HOME /x\n", &[], "paths: $HOME@2"),
        ("single quotes", "FROM alpine\nCOPY '$X' /x\n", &[], "paths: $X@2"),
        (
            "continuation with comments and blank lines inside",
            "FROM alpine\nCOPY a.txt \\\n# a comment between\n  # an indented comment\n  b.txt \\\n\n  /dst/\nCOPY c /c\n",
            &[],
            "paths: a.txt@2, b.txt@2, c@8",
        ),
        ("blanks after the escape", "FROM alpine\nCOPY one \\   \n two /d/\n", &[], "paths: one@2, two@2"),
        ("escaped escape ends the line", "FROM alpine\nRUN echo \\\\\nCOPY x /x\n", &[], "paths: x@3"),
        (
            "windows file with backtick escape",
            "# escape=`\n\nFROM mcr.microsoft.com/windows/servercore:ltsc2022\nCOPY testfile.txt c:\\\nRUN dir c:\\\nCOPY app `\n     c:\\app\\\n",
            &[],
            "paths: testfile.txt@4, app@6",
        ),
        (
            "lowercase instructions",
            "from alpine as build\ncopy src /src\nadd conf /conf\nrun --mount=type=bind,source=pkg,target=/p true\n",
            &[],
            "paths: src@2, conf@3, pkg@4",
        ),
        ("duplicates kept once", "FROM alpine\nCOPY src /a\nCOPY ./src/ /b\n", &[], "paths: src@2"),
        ("onbuild trigger counts", "FROM alpine\nONBUILD COPY hooks /hooks\n", &[], "paths: hooks@2"),
        ("invalid glob", "FROM alpine\nCOPY a[ /x\n", &[], "whole@2: source `a[` is not a valid pattern"),
        ("bom and crlf", "\u{feff}FROM alpine\r\nCOPY a \\\r\n b /a\r\n", &[], "paths: a@2, b@2"),
        (
            "directive after a comment is a comment",
            "# hello\n# escape=`\nFROM alpine\nCOPY a \\\n b /x\n",
            &[],
            "paths: a@4, b@4",
        ),
        ("syntax directive ignored", "# syntax=docker/dockerfile:1\n# escape=\\\nFROM alpine\nCOPY x /x\n", &[], "paths: x@4"),
        ("numeric --from", "FROM alpine\nFROM debian\nCOPY --from=0 /etc /etc\n", &[], "paths: "),
        ("lone escape line", "\\\nFROM alpine\nCOPY a /a\n", &[], "paths: a@3"),
        ("first whole reason wins", "FROM alpine\nCOPY a /a\nCOPY . .\nRUN --mount=target=/x true\n", &[], "whole@3: `COPY .` reads the whole build context"),
    ];
    for (name, text, args, expected) in cases {
        assert_eq!(reads(&read(name, text, args)), *expected, "case `{name}`");
    }
}

#[test]
fn external_images() {
    let cases: &[Case<&[&str]>] = &[
        ("arg default", "ARG BASE=busybox:1\nFROM ${BASE}\n", &[], &["From busybox:1 @2 [BASE]"]),
        ("arg overridden", "ARG BASE=busybox:1\nFROM ${BASE}\n", &[("BASE", Some("busybox:2"))], &["From busybox:2 @2 [BASE]"]),
        ("arg passed as None", "ARG BASE=busybox:1\nFROM $BASE\n", &[("BASE", None)], &["From busybox:1 @2 [BASE]"]),
        (
            "arg without default",
            "ARG ALPHA_IMAGE\nFROM ${ALPHA_IMAGE}\n",
            &[("ALPHA_IMAGE", Some("registry.local/alpha:3"))],
            &["From registry.local/alpha:3 @2 [ALPHA_IMAGE]"],
        ),
        ("arg in the tag", "ARG TAG=3.20\nFROM alpine:${TAG}\n", &[], &["From alpine:3.20 @2 [TAG]"]),
        (
            "multi-stage",
            "FROM golang:1.22 AS builder\nRUN go build\nFROM nginx:1.27 AS nginx\nFROM alpine:3.20\nCOPY --from=builder /out/app /app\nCOPY --from=nginx:1.27 /etc/nginx /etc/nginx\nCOPY --from=0 /go /go\nCOPY --from=NGINX /x /x\n",
            &[],
            &["From golang:1.22 @1", "From nginx:1.27 @3", "From alpine:3.20 @4", "CopyFrom nginx:1.27 @6"],
        ),
        (
            "previous stage and scratch",
            "FROM alpine AS base\nFROM base AS app\nFROM scratch\nCOPY --from=app / /\n",
            &[],
            &["From alpine @1"],
        ),
        ("copy from a later stage", "FROM alpine\nCOPY --from=later /x /x\nFROM debian AS later\n", &[], &["From alpine @1", "From debian @3"]),
        ("platform flag", "FROM --platform=$BUILDPLATFORM golang:1.22 AS build\n", &[], &["From golang:1.22 @1"]),
        (
            "mounts from images",
            "FROM alpine\nRUN --mount=type=bind,from=busybox:1,target=/b true\nRUN --mount=type=cache,from=ghcr.io/x/cache:1,target=/c true\n",
            &[],
            &["From alpine @1", "MountFrom busybox:1 @2", "MountFrom ghcr.io/x/cache:1 @3"],
        ),
        (
            "a stage's ARG does not reach FROM",
            "ARG IMG=alpine\nFROM ${IMG} AS a\nARG IMG=debian\nFROM ${IMG}\n",
            &[],
            &["From alpine @2 [IMG]", "From alpine @4 [IMG]"],
        ),
        ("platform arg from the caller", "FROM alpine:${TARGETARCH}\n", &[("TARGETARCH", Some("arm64"))], &["From alpine:arm64 @1 [TARGETARCH]"]),
        ("from an arg naming a stage", "ARG B=base\nFROM alpine AS base\nFROM ${B}\n", &[], &["From alpine @2"]),
    ];
    for (name, text, args, expected) in cases {
        assert_eq!(images(&read(name, text, args)), *expected, "case `{name}`");
    }
}

#[test]
fn stages() {
    let text =
        "FROM node:20 AS Build\nUSER node\nENV NODE_ENV=production PORT=3000\nENV PORT=8080\n\
                FROM nginx:1.27\nEXPOSE 8080 9090/udp\nARG APP_USER=101\nUSER ${APP_USER}\n\
                HEALTHCHECK --interval=30s CMD wget -q -O- http://localhost:8080/ || exit 1\n\
                ENV LEGACY value \"with\" spaces\n\
                FROM build AS final\nHEALTHCHECK CMD true\nHEALTHCHECK NONE\n";
    let stage = |name: Option<&str>, base: &str, line| Stage {
        name: name.map(str::to_owned),
        base: base.to_owned(),
        line,
        user: None,
        exposed_ports: Vec::new(),
        env: Vec::new(),
        has_healthcheck: false,
    };
    let pair = |k: &str, v: &str| (k.to_owned(), v.to_owned());
    let expected = vec![
        Stage {
            user: Some("node".into()),
            env: vec![pair("NODE_ENV", "production"), pair("PORT", "8080")],
            ..stage(Some("build"), "node:20", 1)
        },
        Stage {
            user: Some("101".into()),
            exposed_ports: vec!["8080".into(), "9090/udp".into()],
            env: vec![pair("LEGACY", "value with spaces")],
            has_healthcheck: true,
            ..stage(None, "nginx:1.27", 5)
        },
        stage(Some("final"), "build", 11),
    ];
    assert_eq!(read("stages", text, &[]).stages, expected);
}

#[test]
fn env_values_see_the_variables_before_the_instruction() {
    let text = "FROM alpine\nENV A=1\nENV A=2 B=$A\nCOPY $B /x\n";
    let dockerfile = read("env", text, &[]);
    assert_eq!(
        dockerfile.stages[0].env,
        vec![("A".into(), "2".into()), ("B".into(), "1".into())]
    );
    assert_eq!(reads(&dockerfile), "paths: 1@4");
}

#[test]
fn notes() {
    let cases: &[Case<&[&str]>] = &[
        (
            "download",
            "FROM alpine\nADD https://example.com/a.tgz /x\n",
            &[],
            &["line 2: `ADD https://example.com/a.tgz` downloads at build time, so the key cannot see a change there; pin it with `--checksum=sha256:<digest>`"],
        ),
        (
            "pinned download",
            "FROM alpine\nADD --checksum=sha256:abc https://example.com/a.tgz /x\n",
            &[],
            &["line 2: `ADD https://example.com/a.tgz` downloads at build time (pinned by `--checksum`); the build needs the network"],
        ),
        (
            "git clone",
            "FROM alpine\nADD https://github.com/moby/buildkit.git#v0.13 /src\n",
            &[],
            &["line 2: `ADD https://github.com/moby/buildkit.git#v0.13` clones a git repository at build time, so the key cannot see a change there; pin a commit with `#<sha>`"],
        ),
        (
            "from with an unset arg",
            "ARG SUFFIX\nFROM alpine${SUFFIX}\n",
            &[],
            &["line 2: `FROM alpine${SUFFIX}` uses build arg `SUFFIX`, which is not set, so it expands to nothing"],
        ),
        (
            "undeclared build arg",
            "FROM alpine\n",
            &[("FOO", Some("1")), ("HTTP_PROXY", Some("http://proxy")), ("UNSET", None)],
            &["build arg `FOO` is not declared by any `ARG`, so the build does not use it"],
        ),
        ("nothing to say", "ARG A=1\nFROM alpine\nARG B\nCOPY a /a\n", &[("A", Some("2")), ("B", Some("3"))], &[]),
    ];
    for (name, text, args, expected) in cases {
        assert_eq!(read(name, text, args).notes, *expected, "case `{name}`");
    }
}

#[test]
fn error_messages() {
    let cases: &[Case<&str>] = &[
        ("copy with one word", "FROM alpine\nCOPY onlyone\n", &[], "line 2: `COPY` needs a source and a destination"),
        ("copy with nothing", "FROM alpine\ncopy --chown=1\n", &[], "line 2: `COPY` needs a source and a destination"),
        ("empty file", "", &[], "line 1: the Dockerfile has no `FROM`; start a build stage with `FROM <image>` or `FROM scratch`"),
        ("only args", "# comment\nARG A=1\n", &[], "line 2: the Dockerfile has no `FROM`; start a build stage with `FROM <image>` or `FROM scratch`"),
        (
            "run before from",
            "RUN echo hi\nFROM alpine\n",
            &[],
            "line 1: `RUN` comes before the first `FROM`; only `ARG` may come before it, so add `FROM <image>` above it",
        ),
        ("misspelled", "FROM alpine\nRUUN make\n", &[], "line 2: unknown instruction `RUUN`; did you mean `RUN`?"),
        ("two near matches", "FROM alpine\nARD x\n", &[], "line 2: unknown instruction `ARD`; did you mean `ADD` or `ARG`?"),
        ("prefix", "FROM alpine\nentry [\"x\"]\n", &[], "line 2: unknown instruction `entry`; did you mean `ENTRYPOINT`?"),
        (
            "nothing near",
            "FROM alpine\nBANANA split\n",
            &[],
            "line 2: unknown instruction `BANANA`; expected one of ADD, ARG, CMD, COPY, ENTRYPOINT, ENV, EXPOSE, FROM, HEALTHCHECK, LABEL, MAINTAINER, ONBUILD, RUN, SHELL, STOPSIGNAL, USER, VOLUME, WORKDIR",
        ),
        ("unknown before from", "FORM alpine\n", &[], "line 1: unknown instruction `FORM`; did you mean `FROM`?"),
        (
            "unterminated heredoc",
            "FROM alpine\nRUN <<EOF\necho hi\n",
            &[],
            "line 2: heredoc `<<EOF` is never closed; end it with a line that holds only `EOF`",
        ),
        (
            "heredoc terminator indented with spaces",
            "FROM alpine\nRUN <<-EOF\n  echo hi\n  EOF\n",
            &[],
            "line 2: heredoc `<<EOF` is never closed; end it with a line that holds only `EOF`",
        ),
        (
            "empty from",
            "FROM ${BASE}\n",
            &[],
            "line 1: `FROM ${BASE}` is empty: build arg `BASE` is not set; set it in the manifest's `args` or give the ARG a default",
        ),
        (
            "from set to empty",
            "ARG BASE=alpine\nFROM $BASE\n",
            &[("BASE", Some(""))],
            "line 2: `FROM $BASE` is empty: build arg `BASE` is set to an empty value; set it in the manifest's `args` or give the ARG a default",
        ),
        (
            "from of empty quotes",
            "FROM \"\"\n",
            &[],
            "line 1: `FROM \"\"` is empty: it names no image; set it in the manifest's `args` or give the ARG a default",
        ),
        ("from without image", "FROM\n", &[], "line 1: `FROM` needs an image, e.g. `FROM alpine:3.20` or `FROM scratch`"),
        ("from with two words", "FROM alpine builder\n", &[], "line 1: `FROM alpine builder` is not valid; write `FROM <image> [AS <name>]`"),
        (
            "stage name with a digit first",
            "FROM alpine AS 1st\n",
            &[],
            "line 1: stage name `1st` is invalid; a stage name starts with a letter and holds only letters, digits, `-`, `_` and `.`",
        ),
        (
            "duplicate stage name",
            "FROM alpine AS a\nFROM debian AS A\n",
            &[],
            "line 2: stage name `a` is already used on line 1; give each stage its own name",
        ),
        ("bad escape", "# escape=x\nFROM alpine\n", &[], "line 1: `# escape=x` is not valid; the escape character is `\\` or a backtick"),
        ("escape twice", "# escape=`\n# ESCAPE=\\\nFROM alpine\n", &[], "line 2: parser directive `escape` appears twice; keep only one"),
        (
            "unclosed brace",
            "FROM ${BASE\n",
            &[],
            "line 1: bad variable substitution in `${BASE`; write `$NAME`, `${NAME}` or `${NAME:-default}`",
        ),
        (
            "required arg",
            "ARG V\nFROM alpine:${V:?the-alpine-tag}\n",
            &[],
            "line 2: build arg `V` is required: the-alpine-tag; set it in the manifest's `args`",
        ),
        (
            "quoted path with a space",
            "FROM alpine\nCOPY \"a b.txt\" /x/\n",
            &[],
            "line 2: unterminated quote in `\"a`; close it (a path with spaces needs the JSON form `[\"src\", \"dest\"]`)",
        ),
        (
            "variable in --from",
            "FROM alpine AS a\nFROM alpine\nARG S=a\nCOPY --from=$S /x /x\n",
            &[],
            "line 4: `--from=$S` uses a variable, which Docker does not expand in `--from`; add a stage `FROM $S AS <name>` and copy from that stage",
        ),
        (
            "stage index too big",
            "FROM alpine\nFROM debian\nCOPY --from=5 /x /x\n",
            &[],
            "line 3: `--from=5` names stage 5, but the Dockerfile has 2 stages (numbered from 0)",
        ),
        ("empty --from", "FROM alpine\nCOPY --from= /x /y\n", &[], "line 2: `COPY` needs a stage or an image after `--from=`"),
        ("--from without value", "FROM alpine\nCOPY --from /x /y\n", &[], "line 2: `COPY` needs a stage or an image after `--from=`"),
        ("copy of a url", "FROM alpine\nCOPY https://example.com/x /x\n", &[], "line 2: `COPY` cannot download `https://example.com/x`; use `ADD` for a URL"),
        ("dotdot escapes", "FROM alpine\nCOPY ../secrets /s\n", &[], "line 2: source `../secrets` points outside the build context, which the builder cannot read"),
        ("dotdot escapes in ADD", "FROM alpine\nADD a/../../../etc/passwd /p\n", &[], "line 2: source `a/../../../etc/passwd` points outside the build context, which the builder cannot read"),
        ("env without =", "FROM alpine\nENV A=1 B\n", &[], "line 2: `ENV` expects `name=value`, found `B`"),
        ("env without value", "FROM alpine\nENV A\n", &[], "line 2: `ENV` needs a name and a value, e.g. `ENV KEY=value`"),
        ("arg without name", "ARG =1\nFROM alpine\n", &[], "line 1: `ARG` expects `name=value`, found `=1`"),
        (
            "onbuild from",
            "FROM alpine\nONBUILD FROM x\n",
            &[],
            "line 2: `ONBUILD FROM` is not allowed; `ONBUILD` cannot trigger `FROM`, `ONBUILD` or `MAINTAINER`",
        ),
        ("onbuild of nothing known", "FROM alpine\nONBUILD CPY a b\n", &[], "line 2: unknown instruction `CPY`; did you mean `COPY`?"),
        (
            "junk word is escaped and cut",
            "FROM alpine\n\u{1}ZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZ x\n",
            &[],
            "line 2: unknown instruction `\\u{1}ZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZ…`; expected one of ADD, ARG, CMD, COPY, ENTRYPOINT, ENV, EXPOSE, FROM, HEALTHCHECK, LABEL, MAINTAINER, ONBUILD, RUN, SHELL, STOPSIGNAL, USER, VOLUME, WORKDIR",
        ),
    ];
    for (name, text, args, expected) in cases {
        match parse(text, &build_args(args)) {
            Ok(dockerfile) => panic!("case `{name}`: expected an error, got {dockerfile:?}"),
            Err(error) => assert_eq!(error.to_string(), *expected, "case `{name}`"),
        }
    }
}

#[test]
fn error_fields() {
    let none = BTreeMap::new();
    assert_eq!(parse("FROM alpine\nCOPY x\n", &none).unwrap_err().line(), 2);
    let missing = parse_for_target("FROM alpine\n", &none, Some("x")).unwrap_err();
    assert_eq!(missing.line(), 0);
    let error = parse("FROM ${BASE}\n", &none).unwrap_err();
    assert_eq!(
        error,
        DockerfileError::EmptyFrom {
            line: 1,
            text: "FROM ${BASE}".into(),
            arg: Some("BASE".into()),
            arg_is_empty: false,
        }
    );
}

#[test]
fn targets() {
    let text = "FROM alpine AS a\nFROM alpine AS b\nCOPY x /x\n";
    let none = BTreeMap::new();
    type TargetCase = (
        &'static str,
        &'static str,
        Option<&'static str>,
        Result<(), &'static str>,
    );
    let cases: &[TargetCase] = &[
        ("no target", text, None, Ok(())),
        ("named target", text, Some("a"), Ok(())),
        ("target without case", text, Some("B"), Ok(())),
        ("missing target", text, Some("x"), Err("target stage `x` not found; stages are: a, b")),
        (
            "no named stage",
            "FROM alpine\n",
            Some("x"),
            Err("target stage `x` not found; no stage has a name; name one with `FROM <image> AS <name>`"),
        ),
    ];
    for (name, text, target, expected) in cases {
        let result = parse_for_target(text, &none, *target);
        match (result, expected) {
            (Ok(dockerfile), Ok(())) => {
                assert_eq!(dockerfile, parse(text, &none).unwrap(), "case `{name}`")
            }
            (Err(error), Err(message)) => {
                assert_eq!(error.to_string(), *message, "case `{name}`")
            }
            (result, _) => panic!("case `{name}`: unexpected {result:?}"),
        }
    }
}

#[test]
fn covers() {
    let cases: &[(&str, &str, bool)] = &[
        ("src", "src", true),
        ("src", "src/a.js", true),
        ("src", "srcx", false),
        ("src", "x/src", false),
        ("src", "", false),
        ("src", "./src/a", true),
        ("src", "/src/a/", true),
        ("src", "src/../src/a", true),
        ("src", "../src", false),
        ("src/*.js", "src/app.js", true),
        ("src/*.js", "src/lib/app.js", false),
        ("src/*.js", "src/app.ts", false),
        ("src/*.js", "app.js", false),
        ("*.json", "package.json", true),
        ("*.json", "a/package.json", false),
        ("*", "x/y", true),
        ("src/*", "src/a/b/c", true),
        ("a?c", "abc", true),
        ("a?c", "a/c", false),
        ("[a-c]x", "bx", true),
        ("[a-c]x", "dx", false),
        ("[^a-c]x", "bx", false),
        ("[^a-c]x", "dx", true),
        ("[!a]x", "!x", true),
        ("[!a]x", "bx", false),
        ("a\\*b", "a*b", true),
        ("a\\*b", "axb", false),
        ("a\\[1]", "a[1]/x", true),
        ("**/*.go", "a/b/c.go", true),
        ("**/*.go", "c.go", false),
        ("x/**", "x/y/z", true),
        ("yarn.*", "yarn.lock", true),
        ("*/package.json", "apps/web/package.json", false),
        ("*/package.json", "web/package.json", true),
        ("é*", "éa", true),
    ];
    for (pattern, path, expected) in cases {
        let source = ContextSource {
            pattern: pattern.to_string(),
            line: 1,
        };
        assert_eq!(
            source.covers(path),
            *expected,
            "`{pattern}` covers `{path}`"
        );
    }
}

#[test]
fn may_cover_below() {
    let cases: &[(&str, &str, bool)] = &[
        ("src/*.js", "", true),
        ("src/*.js", "src", true),
        ("src/*.js", "lib", false),
        ("src/*.js", "src/lib", false),
        ("src/app.js", "src", true),
        ("src/app.js", "srcx", false),
        ("src", "src/deep/er", true),
        ("**/*.go", "a/b", true),
        ("x/**", "x/y", true),
        ("x/**", "z", false),
        ("*/package.json", "apps", true),
        ("*/package.json", "apps/web", false),
        ("[a-c]*/x", "bee", true),
        ("[a-c]*/x", "dee", false),
        ("a?/x", "ab", true),
        ("a?/x", "abc", false),
        ("src/*.js", "../x", false),
        ("[", "x", false),
    ];
    for (pattern, dir, expected) in cases {
        let source = ContextSource {
            pattern: pattern.to_string(),
            line: 1,
        };
        assert_eq!(
            source.may_cover_below(dir),
            *expected,
            "`{pattern}` below `{dir}`"
        );
    }
}

#[test]
fn literal_prefix() {
    let cases: &[(&str, &str)] = &[
        ("src/*.js", "src"),
        ("src/app.js", "src/app.js"),
        ("*.json", ""),
        ("a/b/c?/d", "a/b"),
        ("a[1]/x", ""),
        ("a/\\*", "a"),
    ];
    for (pattern, expected) in cases {
        let source = ContextSource {
            pattern: pattern.to_string(),
            line: 1,
        };
        assert_eq!(source.literal_prefix(), *expected, "prefix of `{pattern}`");
    }
}

#[test]
fn substitution() {
    let vars: BTreeMap<&str, &str> = [("A", "x"), ("E", ""), ("P", "a/b/c")]
        .into_iter()
        .collect();
    let lookup = |name: &str| vars.get(name).map(|value| value.to_string());
    let cases: &[(&str, Result<&str, &str>, &[&str])] = &[
        ("$A", Ok("x"), &[]),
        ("${A}b", Ok("xb"), &[]),
        ("$A_b", Ok(""), &["A_b"]),
        ("${U:-def}", Ok("def"), &[]),
        ("${E:-def}", Ok("def"), &[]),
        ("${E-def}", Ok(""), &[]),
        ("${U-def}", Ok("def"), &[]),
        ("${A:+alt}", Ok("alt"), &[]),
        ("${U:+alt}", Ok(""), &[]),
        ("${E+alt}", Ok("alt"), &[]),
        ("${E:+alt}", Ok(""), &[]),
        ("${A:-$U}", Ok("x"), &[]),
        ("${U:-$V}", Ok(""), &["V"]),
        ("${U:-${A}y}", Ok("xy"), &[]),
        ("${P#*/}", Ok("b/c"), &[]),
        ("${P##*/}", Ok("c"), &[]),
        ("${P%/*}", Ok("a/b"), &[]),
        ("${P%%/*}", Ok("a"), &[]),
        ("${P/b/X}", Ok("a/X/c"), &[]),
        ("${P//\\//_}", Ok("a_b_c"), &[]),
        ("${P/[ab]}", Ok("/b/c"), &[]),
        ("${U#x}", Ok(""), &["U"]),
        ("\\$A", Ok("$A"), &[]),
        ("'$A'", Ok("$A"), &[]),
        ("\"$A b\"", Ok("x b"), &[]),
        ("\"\\$A\\\"\"", Ok("$A\""), &[]),
        ("a\"b", Err("quote"), &[]),
        ("'a", Err("quote"), &[]),
        ("${", Err("bad"), &[]),
        ("${}", Err("bad"), &[]),
        ("${A", Err("bad"), &[]),
        ("${A:x}", Err("bad"), &[]),
        ("${U:?need it}", Err("required"), &[]),
        ("${E?need it}", Ok(""), &[]),
        ("$", Ok("$"), &[]),
        ("a$", Ok("a$"), &[]),
        ("$-", Ok("$-"), &[]),
        ("$1x", Ok("x"), &["1"]),
    ];
    for (word, expected, unset) in cases {
        let result = expand(word, '\\', &lookup);
        match (result, expected) {
            (Ok(expanded), Ok(text)) => {
                assert_eq!(expanded.text, *text, "`{word}`");
                assert_eq!(expanded.unset, *unset, "unset of `{word}`");
            }
            (Err(ExpandError::UnterminatedQuote), Err("quote"))
            | (Err(ExpandError::BadSubstitution), Err("bad"))
            | (Err(ExpandError::Required { .. }), Err("required")) => {}
            (Ok(expanded), _) => panic!("`{word}` gave `{}`", expanded.text),
            (Err(_), _) => panic!("`{word}` failed with the wrong error"),
        }
    }
    let backtick = expand("`$A C:\\x", '`', &lookup).ok().map(|e| e.text);
    assert_eq!(backtick.as_deref(), Some("$A C:\\x"));
    let deep = format!("{}{}", "${A:-".repeat(200), "}".repeat(200));
    assert!(matches!(
        expand(&deep, '\\', &lookup),
        Err(ExpandError::BadSubstitution)
    ));
}

#[test]
fn json_arrays() {
    let cases: &[(&str, Option<&[&str]>)] = &[
        ("[]", Some(&[])),
        (" [ \"a\" , \"b\" ] ", Some(&["a", "b"])),
        (
            "[\"a\\\"b\\\\c\\u00e9\\ud83d\\ude00\\n\"]",
            Some(&["a\"b\\cé😀\n"]),
        ),
        ("[\"a\"] x", None),
        ("[\"a\",]", None),
        ("[1]", None),
        ("[\"a\"", None),
        ("[\"\\ud83d\"]", None),
        ("a", None),
    ];
    for (text, expected) in cases {
        let expected = expected.map(|items| items.iter().map(|s| s.to_string()).collect());
        assert_eq!(parse_json_strings(text), expected, "`{text}`");
    }
}

/// A small deterministic generator, so that a failure can be replayed.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }

    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }
}

#[test]
fn junk_never_panics() {
    let fixed = [
        "\\",
        "`",
        "# escape=`\n`",
        "[",
        "FROM alpine\nCOPY [ /x\n",
        "FROM alpine\nCOPY [\"a\", /x\n",
        "FROM alpine\nRUN [\"unterminated\n",
        "FROM alpine\nRUN <<\n",
        "FROM alpine\nRUN <<-\n",
        "FROM alpine\nCOPY <<'' /x\n",
        "FROM alpine\nRUN --mount=,,,=,type= true\n",
        "FROM alpine\nRUN --mount true\n",
        "FROM alpine\nCOPY --from= /x /y\n",
        "FROM alpine\nCOPY -- a /b\n",
        "FROM alpine\nONBUILD\n",
        "FROM alpine\nONBUILD ONBUILD COPY a b\n",
        "FROM ${A:-${B:-${C\n",
        "FROM alpine\nCOPY ${P/[/x} /y\n",
        "FROM alpine\nENV \"A=1\n",
        "\u{feff}",
        "\r\n\r\n",
    ];
    let mut rng = Rng(0x9E37_79B9_7F4A_7C15);
    let pieces = [
        "FROM ",
        "COPY ",
        "ADD ",
        "RUN ",
        "ARG ",
        "ENV ",
        "ONBUILD ",
        "USER ",
        " AS ",
        "<<EOF",
        "<<-X",
        "EOF",
        "X",
        "\n",
        "\t",
        "\r",
        " ",
        "\\",
        "`",
        "${",
        "}",
        "$",
        "[",
        "]",
        "\"",
        "'",
        "--mount=",
        "type=bind",
        "source=",
        "from=",
        ",",
        "=",
        "*",
        "?",
        "..",
        "/",
        "#",
        ":-",
        ":+",
        "#",
        "%",
        "a",
        "B",
        "0",
        "escape=`",
        "é",
        "\u{0}",
    ];
    let mut inputs: Vec<String> = fixed.iter().map(|s| s.to_string()).collect();
    for _ in 0..400 {
        let bytes: Vec<u8> = (0..rng.below(600)).map(|_| rng.next() as u8).collect();
        inputs.push(String::from_utf8_lossy(&bytes).into_owned());
        inputs.push(
            (0..rng.below(120))
                .map(|_| pieces[rng.below(pieces.len())])
                .collect(),
        );
    }
    let args = build_args(&[("A", Some("x")), ("B", None)]);
    for input in &inputs {
        if let Ok(dockerfile) = parse(input, &args) {
            if let ContextReads::Paths(sources) = &dockerfile.context_reads {
                for source in sources {
                    source.covers("a/b");
                    source.may_cover_below("a/b");
                    source.literal_prefix();
                }
            }
        }
        let _ = parse_for_target(input, &args, Some("a"));
    }
    for pattern in ["[", "\\", "[a-", "[]", "[^", "a/[b-]", "***", "é[é-ü]"] {
        let source = ContextSource {
            pattern: pattern.into(),
            line: 1,
        };
        source.covers("é/x");
        source.may_cover_below("é");
        source.literal_prefix();
    }
}

#[test]
fn large_files() {
    let mut text = String::from("ARG BASE=alpine\nFROM ${BASE} AS s0\n");
    for i in 0..10_000 {
        match i % 4 {
            0 => text.push_str(&format!("COPY dir{i}/*.txt /d/\n")),
            1 => text.push_str(&format!(
                "RUN --mount=type=bind,source=m{i},target=/m echo {i} \\\n  && true\n"
            )),
            2 => text.push_str(&format!(
                "FROM s{} AS s{i}\n",
                if i == 2 { 0 } else { i - 4 }
            )),
            _ => text.push_str("# a comment\n\n"),
        }
    }
    assert!(text.lines().count() > 10_000);
    let dockerfile = read("large", &text, &[]);
    assert_eq!(dockerfile.stages.len(), 2_501);
    assert_eq!(dockerfile.external_images.len(), 1);
    match &dockerfile.context_reads {
        ContextReads::Paths(sources) => assert_eq!(sources.len(), 5_000),
        other => panic!("{other:?}"),
    }
    let junk: String = (0..10_000)
        .map(|i| format!("{}x{i} ${{\n", ["RUN", "COPY", "\\", "FROM"][i % 4]))
        .collect();
    let _ = parse(&junk, &BTreeMap::new());
}

#[test]
fn a_source_set_answers_as_its_sources_one_by_one() {
    let patterns = [
        "src",
        "packages/setup/fleet-manager/package.json",
        "packages/plugins/people",
        "docs/*.md",
        "**/*.go",
        "a\\*b",
        "",
        "config/app.toml",
    ];
    let sources: Vec<ContextSource> = patterns
        .iter()
        .map(|p| ContextSource {
            pattern: p.to_string(),
            line: 1,
        })
        .collect();
    let set = SourceSet::new(&sources);
    let paths = [
        "",
        "src",
        "src/a.js",
        "srcx",
        "packages",
        "packages/setup",
        "packages/setup/fleet-manager",
        "packages/setup/fleet-manager/package.json",
        "packages/setup/fleet-manager/src/cli.ts",
        "packages/plugins",
        "packages/plugins/people/src/index.ts",
        "packages/plugins/command-center",
        "docs",
        "docs/a.md",
        "docs/img/a.png",
        "x/y/z.go",
        "a*b",
        "config",
        "config/app.toml",
        "config/other.toml",
        "./src/a",
        "src/../docs/a.md",
        "/config/app.toml/",
    ];
    for sources_subset in [&sources[..], &sources[..3], &sources[3..], &sources[7..]] {
        let set_of_subset = SourceSet::new(sources_subset);
        for path in paths {
            let covers = sources_subset.iter().any(|s| s.covers(path));
            let descend = sources_subset
                .iter()
                .any(|s| s.covers(path) || s.may_cover_below(path));
            assert_eq!(set_of_subset.covers(path), covers, "covers {path:?}");
            assert_eq!(set_of_subset.descend(path), descend, "descend {path:?}");
        }
    }
    assert!(set.covers("packages/plugins/people/package.json"));
}
