//! Instructions to stages, images and context reads: [`Reader`] walks the instructions in order,
//! keeps the variables of each scope, and records every external image, every context source and
//! the notes about inputs the key cannot see. This file holds the state and the dispatch; each
//! kind of instruction that needs more than a line is read in a file of its own.

mod copy;
mod from;
mod mount;
mod variables;

use std::collections::{BTreeMap, BTreeSet};

use super::error::DockerfileError;
use super::error::{missing, unknown};
use super::feature::{self, Feature};
use super::glob::tokenize;
use super::keyword::instruction_name;
use super::lex::{split_keyword, Instruction};
use super::model::{ContextReads, Dockerfile, ExternalImage, ImageUse, Stage};
use super::source::clean_path;
use super::source::ContextSource;
use super::words::split_flags;

/// Args that Docker accepts without an `ARG`, so passing them is no mistake.
const PREDEFINED_ARGS: [&str; 20] = [
    "HTTP_PROXY",
    "http_proxy",
    "HTTPS_PROXY",
    "https_proxy",
    "FTP_PROXY",
    "ftp_proxy",
    "NO_PROXY",
    "no_proxy",
    "ALL_PROXY",
    "all_proxy",
    "TARGETPLATFORM",
    "TARGETOS",
    "TARGETARCH",
    "TARGETVARIANT",
    "BUILDPLATFORM",
    "BUILDOS",
    "BUILDARCH",
    "BUILDVARIANT",
    "SOURCE_DATE_EPOCH",
    "BUILDKIT_INLINE_CACHE",
];

/// The platform args that BuildKit defines in the global scope without an `ARG`.
const PLATFORM_ARGS: [&str; 8] = [
    "TARGETPLATFORM",
    "TARGETOS",
    "TARGETARCH",
    "TARGETVARIANT",
    "BUILDPLATFORM",
    "BUILDOS",
    "BUILDARCH",
    "BUILDVARIANT",
];

struct StageState {
    stage: Stage,
    env: BTreeMap<String, String>,
    args: BTreeMap<String, Option<String>>,
}

pub(super) struct Reader<'a> {
    escape: char,
    build_args: &'a BTreeMap<String, Option<String>>,
    /// Every stage name in the file, for `--from` that names a later stage.
    all_names: BTreeSet<String>,
    stage_count: usize,
    /// Names of the stages read so far → index.
    names: BTreeMap<String, usize>,
    global: BTreeMap<String, Option<String>>,
    declared: BTreeSet<String>,
    stages: Vec<StageState>,
    reads: Vec<ContextSource>,
    read_patterns: BTreeSet<String>,
    whole: Option<(String, usize)>,
    /// The first source whose `..` leaves the context: an error at the end.
    outside: Option<(String, usize)>,
    images: Vec<ExternalImage>,
    notes: Vec<String>,
    features: Vec<Feature>,
}

impl<'a> Reader<'a> {
    pub(super) fn new(
        escape: char,
        build_args: &'a BTreeMap<String, Option<String>>,
        instructions: &[Instruction],
    ) -> Self {
        let froms = instructions
            .iter()
            .filter(|instruction| instruction.keyword.eq_ignore_ascii_case("FROM"));
        let mut all_names = BTreeSet::new();
        let mut stage_count = 0;
        for from in froms {
            stage_count += 1;
            let args: Vec<&str> = split_flags(&from.rest).1.split_whitespace().collect();
            if let [_, as_, name] = args.as_slice() {
                if as_.eq_ignore_ascii_case("as") {
                    all_names.insert(name.to_ascii_lowercase());
                }
            }
        }
        let global = PLATFORM_ARGS
            .iter()
            .filter_map(|name| {
                let value = build_args.get(*name)?.clone()?;
                Some((name.to_string(), Some(value)))
            })
            .collect();
        Reader {
            escape,
            build_args,
            all_names,
            stage_count,
            names: BTreeMap::new(),
            global,
            declared: BTreeSet::new(),
            stages: Vec::new(),
            reads: Vec::new(),
            read_patterns: BTreeSet::new(),
            whole: None,
            outside: None,
            images: Vec::new(),
            notes: Vec::new(),
            features: Vec::new(),
        }
    }

    /// Records syntax that depends on the builder.
    pub(super) fn feature(&mut self, feature: Feature) {
        self.features.push(feature);
    }

    pub(super) fn finish(self, last_line: usize) -> Result<Dockerfile, DockerfileError> {
        if self.stages.is_empty() {
            return Err(DockerfileError::NoFrom { line: last_line });
        }
        if let Some((source, line)) = self.outside {
            return Err(DockerfileError::SourceOutsideContext { line, path: source });
        }
        let mut notes = self.notes;
        for (name, value) in self.build_args {
            if value.is_some()
                && !self.declared.contains(name)
                && !PREDEFINED_ARGS.contains(&name.as_str())
            {
                notes.push(format!(
                    "build arg `{name}` is not declared by any `ARG`, so the build does not use it"
                ));
            }
        }
        let context_reads = match self.whole {
            Some((reason, line)) => ContextReads::Whole { reason, line },
            None => ContextReads::Paths(self.reads),
        };
        Ok(Dockerfile {
            stages: self.stages.into_iter().map(|state| state.stage).collect(),
            external_images: self.images,
            context_reads,
            notes,
            features: self.features,
        })
    }

    pub(super) fn instruction(&mut self, instruction: &Instruction) -> Result<(), DockerfileError> {
        let line = instruction.line;
        let Some(name) = instruction_name(&instruction.keyword) else {
            return Err(unknown(line, &instruction.keyword));
        };
        let (flags, args) = split_flags(&instruction.rest);
        if args.is_empty() && !matches!(name, "CMD" | "ENTRYPOINT") {
            return Err(missing(line, name));
        }
        if self.stages.is_empty() && !matches!(name, "FROM" | "ARG") {
            return Err(DockerfileError::BeforeFrom {
                line,
                instruction: name,
            });
        }
        self.features.extend(feature::of_instruction(
            line,
            name,
            &flags,
            instruction.heredoc,
        ));
        match name {
            "FROM" => self.from(line, args),
            "ARG" => self.arg(line, args),
            "ENV" => self.env(line, args),
            "COPY" | "ADD" => self.copy(line, name, &flags, args, instruction.heredoc),
            "RUN" => self.run(line, &flags),
            "USER" => {
                let user = self.expand(args, line)?.text;
                self.stage().user = Some(user);
                Ok(())
            }
            "EXPOSE" => {
                for word in args.split_whitespace() {
                    let port = self.expand(word, line)?.text;
                    if !port.is_empty() {
                        self.stage().exposed_ports.push(port);
                    }
                }
                Ok(())
            }
            "HEALTHCHECK" => {
                let kind = args.split_whitespace().next().unwrap_or_default();
                self.stage().has_healthcheck = !kind.eq_ignore_ascii_case("NONE");
                Ok(())
            }
            "ONBUILD" => self.onbuild(line, args, instruction.heredoc),
            _ => Ok(()),
        }
    }

    fn stage(&mut self) -> &mut Stage {
        &mut self
            .stages
            .last_mut()
            .expect("instructions before FROM are rejected")
            .stage
    }

    fn onbuild(&mut self, line: usize, args: &str, heredoc: bool) -> Result<(), DockerfileError> {
        let (keyword, rest) = split_keyword(args);
        let Some(name) = instruction_name(keyword) else {
            return Err(unknown(line, keyword));
        };
        if matches!(name, "ONBUILD" | "FROM" | "MAINTAINER") {
            return Err(DockerfileError::InvalidOnbuild {
                line,
                instruction: name,
            });
        }
        // The trigger runs where a later stage builds on this one; counting its reads here,
        // with this stage's variables, is the conservative approximation.
        let (flags, rest) = split_flags(rest);
        self.features
            .extend(feature::of_instruction(line, name, &flags, heredoc));
        match name {
            "COPY" | "ADD" => self.copy(line, name, &flags, rest, heredoc),
            "RUN" => self.run(line, &flags),
            _ => Ok(()),
        }
    }

    /// `--from=` of `COPY` or a mount: a stage (by name or index) or an external image.
    fn stage_or_image(
        &mut self,
        line: usize,
        from: &str,
        arg: Option<String>,
        via: ImageUse,
    ) -> Result<(), DockerfileError> {
        if let Ok(index) = from.parse::<usize>() {
            if index >= self.stage_count {
                return Err(DockerfileError::StageIndex {
                    line,
                    index,
                    count: self.stage_count,
                });
            }
            return Ok(());
        }
        let lower = from.to_ascii_lowercase();
        if !self.all_names.contains(&lower) && lower != "scratch" {
            self.images.push(ExternalImage {
                reference: from.to_owned(),
                line,
                via,
                arg,
            });
        }
        Ok(())
    }

    /// Records a context source, or the whole context when it cannot be narrowed.
    fn source(&mut self, line: usize, source: &str, written: &str) {
        let reason = match clean_path(source) {
            None => {
                self.outside.get_or_insert((source.to_owned(), line));
                format!("source `{source}` points outside the build context")
            }
            Some(pattern) if pattern.is_empty() => {
                format!("`{written}` reads the whole build context")
            }
            Some(pattern) if !pattern.contains('/') && pattern.chars().all(|c| c == '*') => {
                format!("`{written}` matches every entry at the root of the build context")
            }
            Some(pattern) if tokenize(&pattern, false).is_none() => {
                format!("source `{source}` is not a valid pattern")
            }
            Some(pattern) => {
                if self.read_patterns.insert(pattern.clone()) {
                    self.reads.push(ContextSource { pattern, line });
                }
                return;
            }
        };
        self.whole(reason, line);
    }

    fn whole(&mut self, reason: String, line: usize) {
        self.whole.get_or_insert((reason, line));
    }
}
