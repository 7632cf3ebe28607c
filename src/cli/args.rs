//! The command line, as clap reads it. `mod.rs` turns it into validated options before any work.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand, ValueEnum};

/// Builds the container images of an agent fleet, skips what did not change, pushes to ECR (or
/// any OCI registry) and rolls the new images out to ECS.
#[derive(Debug, Parser)]
#[command(
    name = "fleet-images",
    version,
    about,
    max_term_width = 100,
    after_help = "Exit codes: 0 done; 1 a build, push, test, check or deploy failed; 2 bad input; 3 a service (engine, registry, AWS) could not be reached or refused; 4 a deploy did not complete; 130 interrupted."
)]
pub struct Cli {
    /// The fleet manifest.
    #[arg(
        long,
        global = true,
        env = "FLEET_IMAGES_MANIFEST",
        default_value = "images/fleet.toml",
        value_name = "PATH"
    )]
    pub manifest: PathBuf,

    /// Sets a manifest variable (`${NAME}`), over env `FLEET_VAR_<NAME>` and `[vars]`.
    #[arg(long = "var", global = true, value_name = "NAME=VALUE")]
    pub vars: Vec<String>,

    /// Builds, checks and tests every image for this platform instead of the manifest's (e.g. the
    /// ARM64 fleet as `linux/amd64` on an amd64 laptop or runner). Part of every image's key.
    #[arg(
        long,
        global = true,
        env = "FLEET_IMAGES_PLATFORM",
        value_name = "PLATFORM"
    )]
    pub platform: Option<String>,

    /// Shows build output and debug notes.
    #[arg(short, long, global = true, conflicts_with = "quiet")]
    pub verbose: bool,

    /// Shows only warnings, errors and results.
    #[arg(short, long, global = true)]
    pub quiet: bool,

    /// How progress is shown: live lines on a terminal, prefixed lines, or JSON events (stderr).
    #[arg(
        long,
        global = true,
        value_enum,
        default_value = "auto",
        env = "FLEET_IMAGES_PROGRESS"
    )]
    pub progress: Progress,

    /// Where logs, the content cache and input records are kept.
    #[arg(
        long,
        global = true,
        env = "FLEET_IMAGES_STATE_DIR",
        default_value = ".fleet-images",
        value_name = "DIR"
    )]
    pub state_dir: PathBuf,

    /// What to do.
    #[command(subcommand)]
    pub command: Command,
}

/// `--progress`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Progress {
    /// A terminal gets live lines; CI (`CI=true`) and pipes get plain lines.
    Auto,
    /// Live lines.
    Tty,
    /// Lines prefixed with the image name.
    Plain,
    /// One JSON object per line.
    Json,
}

/// The subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Says, for every image in dependency order, whether it must be built and why.
    Plan(PlanArgs),
    /// Lists every entry that will be sent to the engine for an image.
    Inputs(InputsArgs),
    /// Prints one `name key` line per image.
    Hash(SelectArgs),
    /// Builds every image whose key the engine (or, with --push, the registry) does not have.
    Build(BuildArgs),
    /// Pushes built images under their key tag and moving tags, building nothing.
    Push(PushArgs),
    /// Moves every ECS service and task family whose image changed to the new image.
    Deploy(DeployArgs),
    /// Returns each service of the last deploy of the selected images to the revision it replaced.
    Rollback(RollbackArgs),
    /// Checks images against the fleet's deployment lessons.
    Check(CheckArgs),
    /// Starts each image locally and probes that it serves what it should.
    Test(TestArgs),
    /// Releases what runners built with `build --push --no-release`: checks that every selected
    /// key is in the registry, moves the tags, deploys.
    Release(ReleaseArgs),
    /// Prints a shell completion script (bash, zsh, fish).
    Completions(CompletionsArgs),
    /// Prints the man page (roff) to stdout.
    Man,
}

/// Image selection.
#[derive(Debug, Args, Clone, Default)]
pub struct SelectArgs {
    /// Images to work on (with what they depend on); all when none is named.
    #[arg(value_name = "IMAGE")]
    pub images: Vec<String>,
}

/// `plan`.
#[derive(Debug, Args)]
pub struct PlanArgs {
    #[command(flatten)]
    pub select: SelectArgs,
    /// Prints JSON.
    #[arg(long)]
    pub json: bool,
    /// Compares each image's inputs with the last successful plan or build on this machine.
    #[arg(long)]
    pub explain: bool,
    /// Also asks the registry which keys it has (status `remote`).
    #[arg(long)]
    pub push: bool,
}

/// `inputs`.
#[derive(Debug, Args)]
pub struct InputsArgs {
    /// The image.
    #[arg(value_name = "IMAGE")]
    pub image: String,
    /// Prints JSON.
    #[arg(long)]
    pub json: bool,
}

/// Options shared by the commands that push.
#[derive(Debug, Args, Clone, Default)]
pub struct PushOptions {
    /// Extra moving tag (for example a git sha), written after every image was pushed.
    #[arg(long = "tag", value_name = "TAG")]
    pub tags: Vec<String>,
    /// Writes the result of every image (and deploy target) as JSON to FILE.
    #[arg(long, value_name = "FILE")]
    pub json_out: Option<PathBuf>,
}

/// Options of a deploy.
#[derive(Debug, Args, Clone)]
pub struct DeployOptions {
    /// Does not wait for the rollouts to complete.
    #[arg(long)]
    pub no_wait: bool,
    /// How long to wait for the rollouts.
    #[arg(long, default_value = "30m", value_name = "DURATION")]
    pub timeout: String,
}

/// `build`.
#[derive(Debug, Args)]
pub struct BuildArgs {
    #[command(flatten)]
    pub select: SelectArgs,
    /// How many images build at once.
    #[arg(long, short = 'j', default_value_t = 2, value_name = "N")]
    pub jobs: usize,
    /// Builds even images whose key exists.
    #[arg(long)]
    pub force: bool,
    /// Builds without the engine's layer cache.
    #[arg(long)]
    pub no_cache: bool,
    /// Asks the registry for newer base images.
    #[arg(long)]
    pub pull: bool,
    /// Stops at the first failure instead of building the independent images.
    #[arg(long)]
    pub fail_fast: bool,
    /// Pushes to the registry too, which then also serves as the cache.
    #[arg(long)]
    pub push: bool,
    /// Deploys to ECS after every push succeeded (needs --push).
    #[arg(long, requires = "push")]
    pub deploy: bool,
    /// Pushes key tags only: no moving tag, no deploy. For one runner of many; `release` moves
    /// the tags once every runner is done.
    #[arg(long, requires = "push", conflicts_with_all = ["deploy", "tags"])]
    pub no_release: bool,
    /// Prints the plan and stops.
    #[arg(long)]
    pub dry_run: bool,
    /// The engine's builder: `buildkit` (the default where the engine has it) or `classic`;
    /// over the manifest's `[defaults] builder`.
    #[arg(long, value_name = "BUILDER", env = "FLEET_IMAGES_BUILDER")]
    pub builder: Option<crate::docker::Builder>,
    #[command(flatten)]
    pub push_options: PushOptions,
    #[command(flatten)]
    pub deploy_options: DeployOptions,
}

/// `push`.
#[derive(Debug, Args)]
pub struct PushArgs {
    #[command(flatten)]
    pub select: SelectArgs,
    /// How many images push at once.
    #[arg(long, short = 'j', default_value_t = 2, value_name = "N")]
    pub jobs: usize,
    /// Prints the plan and stops.
    #[arg(long)]
    pub dry_run: bool,
    #[command(flatten)]
    pub push_options: PushOptions,
}

/// `deploy`.
#[derive(Debug, Args)]
pub struct DeployArgs {
    #[command(flatten)]
    pub select: SelectArgs,
    /// Prints each target's task-definition change and stops.
    #[arg(long)]
    pub dry_run: bool,
    /// Forces a new deployment of each service's current task definition.
    #[arg(long)]
    pub force: bool,
    #[command(flatten)]
    pub deploy_options: DeployOptions,
    /// Writes the result of every target as JSON to FILE.
    #[arg(long, value_name = "FILE")]
    pub json_out: Option<PathBuf>,
}

/// `rollback`.
#[derive(Debug, Args)]
pub struct RollbackArgs {
    /// Images whose last deploy is rolled back (only these, not what they depend on); the whole
    /// last deploy when none is named.
    #[arg(value_name = "IMAGE")]
    pub images: Vec<String>,
    /// Reads the deploy to roll back from FILE (the --json-out of `deploy` or
    /// `build --push --deploy`) instead of the state directory's records.
    #[arg(long, value_name = "FILE")]
    pub from: Option<PathBuf>,
    /// Prints what would return where and stops.
    #[arg(long)]
    pub dry_run: bool,
    #[command(flatten)]
    pub deploy_options: DeployOptions,
    /// Writes the result of every target as JSON to FILE.
    #[arg(long, value_name = "FILE")]
    pub json_out: Option<PathBuf>,
}

/// `check`.
#[derive(Debug, Args)]
pub struct CheckArgs {
    #[command(flatten)]
    pub select: SelectArgs,
    /// Prints the findings as JSON.
    #[arg(long)]
    pub json: bool,
}

/// `test`.
#[derive(Debug, Args)]
pub struct TestArgs {
    #[command(flatten)]
    pub select: SelectArgs,
    /// Keeps the containers running after the test.
    #[arg(long)]
    pub keep: bool,
    /// How many images are tested at once.
    #[arg(long, short = 'j', default_value_t = 2, value_name = "N")]
    pub jobs: usize,
    /// Prints the outcomes as JSON (one object per image, with each of its tests).
    #[arg(long)]
    pub json: bool,
}

/// `release`.
#[derive(Debug, Args)]
pub struct ReleaseArgs {
    #[command(flatten)]
    pub select: SelectArgs,
    /// Deploys to ECS after the tags moved.
    #[arg(long)]
    pub deploy: bool,
    /// Says what would move and stops.
    #[arg(long)]
    pub dry_run: bool,
    #[command(flatten)]
    pub push_options: PushOptions,
    #[command(flatten)]
    pub deploy_options: DeployOptions,
}

/// `completions`.
#[derive(Debug, Args)]
pub struct CompletionsArgs {
    /// The shell.
    #[arg(value_enum)]
    pub shell: Shell,
}

/// The shells `completions` writes for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Shell {
    /// bash: `source <(fleet-images completions bash)`.
    Bash,
    /// zsh: write it as `_fleet-images` in a directory of `$fpath`.
    Zsh,
    /// fish: write it to `~/.config/fish/completions/fleet-images.fish`.
    Fish,
}
