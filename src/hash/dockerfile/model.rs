//! What reading a Dockerfile gives the hasher: [`Dockerfile`] with its build [`Stage`]s, the
//! [`ExternalImage`]s the build pulls and how ([`ImageUse`]), and the part of the build context it
//! reads ([`ContextReads`]). Plain data: the reader fills it, the hasher and the checks read it.

use super::feature::Feature;
use super::source::ContextSource;

/// What a Dockerfile tells the hasher, after build-arg substitution.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Dockerfile {
    /// Every build stage, in file order; the last one is the default target.
    pub stages: Vec<Stage>,
    /// Every use of an image from outside the Dockerfile, in file order; an image used on two
    /// lines appears twice.
    pub external_images: Vec<ExternalImage>,
    /// The part of the build context that the build can read.
    pub context_reads: ContextReads,
    /// Findings that do not stop the build but matter to the key, each starting with `line N:`
    /// (or naming a build arg): downloads at build time, build args that expand to nothing or
    /// that no `ARG` declares.
    pub notes: Vec<String>,
    /// The syntax that not every builder accepts (`# syntax=`, heredocs, `RUN --mount`,
    /// `COPY --chmod`/`--link`), in file order; the builder refuses what it cannot serve before
    /// the build starts.
    pub features: Vec<Feature>,
}

/// One build stage: a `FROM` and the instructions up to the next one.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Stage {
    /// The name given with `AS`, lowercased as Docker does; `None` for an unnamed stage.
    pub name: Option<String>,
    /// The base as resolved: an image reference, `scratch`, or the name of an earlier stage.
    pub base: String,
    /// The 1-based line of the `FROM`.
    pub line: usize,
    /// The user of the last `USER` in this stage, substituted; `None` when the stage has no
    /// `USER` (the user then comes from the base, which this reader does not follow).
    pub user: Option<String>,
    /// The ports of the stage's `EXPOSE` instructions as written (`8080`, `53/udp`), substituted.
    pub exposed_ports: Vec<String>,
    /// The variables set by this stage's `ENV` instructions, in order of first assignment; a later
    /// assignment replaces the value in place. Variables inherited from a base stage are not listed.
    pub env: Vec<(String, String)>,
    /// Whether the stage's last `HEALTHCHECK` defines a check (`HEALTHCHECK NONE` clears it);
    /// `false` when the stage has none.
    pub has_healthcheck: bool,
}

/// How the build uses an external image.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum ImageUse {
    /// The base of a stage: `FROM <image>`.
    From,
    /// A source of files: `COPY --from=<image>` (or `ADD --from=`).
    CopyFrom,
    /// A mount during a `RUN`: `RUN --mount=type=bind|cache,from=<image>`.
    MountFrom,
}

/// An image from outside the Dockerfile whose digest belongs in the key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExternalImage {
    /// The reference after build-arg substitution, as written otherwise (no `docker.io/` added).
    pub reference: String,
    /// The 1-based line of the instruction that uses it.
    pub line: usize,
    /// How the image is used.
    pub via: ImageUse,
    /// The first build arg that the written reference substitutes, e.g. `ALPHA_IMAGE` for
    /// `FROM ${ALPHA_IMAGE}`; `None` when the reference is literal.
    pub arg: Option<String>,
}

/// Which part of the build context the build can read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ContextReads {
    /// Only these sources, deduplicated, in order of first use; every `COPY`/`ADD` source and
    /// bind-mount source is known. An empty list means the build reads no context file.
    Paths(Vec<ContextSource>),
    /// Possibly any file: `COPY . .`, a bind mount without a source, a source with a variable that
    /// is not set, a source outside the context or an invalid pattern. The first such instruction
    /// is named.
    Whole {
        /// Why the whole context counts, e.g. "`COPY .` reads the whole build context".
        reason: String,
        /// The 1-based line of that instruction.
        line: usize,
    },
}
