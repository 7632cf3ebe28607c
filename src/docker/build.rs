//! One image build through the engine's `/build` endpoint, on BuildKit (with a session) or the
//! classic builder: the deterministic context tar streamed from a blocking writer thread as the
//! request body (moby hands it to BuildKit as the context when no remote context is named),
//! progress passed to the caller as lines, the image id taken from the `aux` message.

use std::collections::HashMap;
use std::io::{self, Write};
use std::sync::Arc;

use bollard::models::BuildInfoAux;
use bollard::query_parameters::{BuildImageOptions, BuilderVersion};
use bytes::Bytes;
use futures_util::StreamExt;
use tokio::sync::mpsc;

use super::builder::Builder;
use super::buildkit::{BuildLine, Progress};
use super::cache::{self, Pulled};
use super::engine::{Engine, EngineCredentials, KEY_LABEL, NAME_LABEL};
use super::refusal::refusal;
use super::EngineError;
use crate::hash::{tarball, ImageInputs};
use crate::names::{Key, Platform};

/// Size of each chunk sent to the engine, and how many may wait in the channel: at most
/// `CHUNK * (QUEUE + 1)` bytes of context are in memory at once.
const CHUNK: usize = 256 * 1024;
const QUEUE: usize = 4;

/// What to build.
#[derive(Debug, Clone)]
pub struct BuildRequest {
    /// The image's inputs (shared with the writer thread).
    pub inputs: Arc<ImageInputs>,
    /// Its key (goes into a label).
    pub key: Key,
    /// Build args, including the `<DEP>_IMAGE` ones.
    pub args: HashMap<String, String>,
    /// Target stage.
    pub target: Option<String>,
    /// Platform.
    pub platform: Platform,
    /// Extra labels (revision, source).
    pub labels: HashMap<String, String>,
    /// The first tag (`repository:keytag`), applied by the engine only when the build succeeds.
    pub tag: String,
    /// `--no-cache`.
    pub no_cache: bool,
    /// `--pull`.
    pub pull: bool,
    /// Credentials for registries the bases come from.
    pub credentials: Vec<EngineCredentials>,
    /// The builder.
    pub builder: Builder,
    /// Images whose layers may serve as cache (`cache-from`), as full references in a registry;
    /// pulled before the build. BuildKit uses the inline cache metadata they carry, the classic
    /// builder their layers' history.
    pub cache_from: Vec<String>,
    /// Write BuildKit's inline cache metadata into the image (`BUILDKIT_INLINE_CACHE=1`), so
    /// that a later build elsewhere can use it as cache once it is pushed. Ignored by the classic
    /// builder, whose images always carry their layer history.
    pub inline_cache: bool,
}

/// How long asking a registry for a `# syntax=` frontend image may take.
const SYNTAX_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(15);

/// A session id no other build shares: BuildKit ties the context and registry logins to it.
fn session_id(key: &Key) -> String {
    static COUNT: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_nanos())
        .unwrap_or_default();
    let count = COUNT.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    format!(
        "fleet-images-{}-{}-{nanos:x}-{count}",
        &key.hex()[..12],
        std::process::id()
    )
}

/// Refuses Dockerfile syntax that `builder` cannot build on this engine, naming the line; a
/// `# syntax=` frontend image counts as available when a registry the engine reaches has it.
/// Called for every image of a run before the first build starts.
pub async fn check_dockerfile(
    engine: &Engine,
    inputs: &ImageInputs,
    builder: Builder,
) -> Result<(), EngineError> {
    if inputs.parsed.features.is_empty() {
        return Ok(());
    }
    let capabilities = engine.capabilities().await?;
    let mut frontends = HashMap::new();
    if builder == Builder::BuildKit {
        for feature in &inputs.parsed.features {
            if let crate::hash::dockerfile::FeatureKind::Syntax(image) = &feature.kind {
                let found = tokio::time::timeout(
                    SYNTAX_TIMEOUT,
                    engine.docker.inspect_registry_image(image, None),
                )
                .await;
                let answer = match found {
                    Ok(Ok(_)) => Ok(()),
                    Ok(Err(error)) => Err(error.to_string()),
                    Err(_) => Err(format!(
                        "no registry answered within {}s",
                        SYNTAX_TIMEOUT.as_secs()
                    )),
                };
                frontends.insert(image.clone(), answer);
            }
        }
    }
    refusal(inputs, builder, capabilities, |image| {
        frontends.get(image).cloned().unwrap_or(Ok(()))
    })
}

/// A writer that sends full chunks into a channel, blocking when the engine reads slower than
/// the files are read.
struct ChannelWriter {
    tx: mpsc::Sender<Result<Bytes, io::Error>>,
    buffer: Vec<u8>,
}

impl ChannelWriter {
    fn send(&mut self) -> io::Result<()> {
        if self.buffer.is_empty() {
            return Ok(());
        }
        let chunk = Bytes::from(std::mem::replace(
            &mut self.buffer,
            Vec::with_capacity(CHUNK),
        ));
        self.tx.blocking_send(Ok(chunk)).map_err(|_| {
            io::Error::new(
                io::ErrorKind::BrokenPipe,
                "the engine stopped reading the context",
            )
        })
    }
}

impl Write for ChannelWriter {
    fn write(&mut self, data: &[u8]) -> io::Result<usize> {
        let room = CHUNK - self.buffer.len();
        let n = room.min(data.len());
        self.buffer.extend_from_slice(&data[..n]);
        if self.buffer.len() == CHUNK {
            self.send()?;
        }
        Ok(n)
    }

    fn flush(&mut self) -> io::Result<()> {
        self.send()
    }
}

/// Why the context could not be written, kept for the build's error: the engine only sees the
/// upload break off, which the HTTP client reports as "client error (SendRequest)".
type SendFailure = Arc<std::sync::Mutex<Option<String>>>;

/// Starts writing the context tar on a blocking thread; returns the stream of its chunks. A
/// writer error is recorded in `failure` before it breaks the stream.
fn context_stream(
    inputs: Arc<ImageInputs>,
    failure: SendFailure,
) -> impl futures_util::Stream<Item = Result<Bytes, io::Error>> + Send + 'static {
    let (tx, rx) = mpsc::channel(QUEUE);
    tokio::task::spawn_blocking(move || {
        let mut writer = ChannelWriter {
            tx: tx.clone(),
            buffer: Vec::with_capacity(CHUNK),
        };
        if let Err(error) = tarball::write(&inputs, &mut writer) {
            if let Ok(mut slot) = failure.lock() {
                *slot = Some(error.to_string());
            }
            // Make the upload fail, so the engine never builds from a partial context.
            let _ = tx.blocking_send(Err(error));
        }
    });
    futures_util::stream::unfold(rx, |mut rx| async move {
        rx.recv().await.map(|item| (item, rx))
    })
}

/// Builds an image; `on_line` receives every line of build output. Returns the image id. The
/// `cache_from` images are pulled first and their added tags removed after (see `cache.rs`).
pub async fn build(
    engine: &Engine,
    request: BuildRequest,
    mut on_line: impl FnMut(BuildLine<'_>),
) -> Result<String, EngineError> {
    check_base_platforms(engine, &request).await?;
    let pulled = if request.cache_from.is_empty() {
        Pulled::default()
    } else {
        cache::pull_sources(
            engine,
            &request.cache_from,
            &request.platform,
            &request.credentials,
            &mut on_line,
        )
        .await
    };
    let result = build_with(engine, &request, &pulled.sources, &mut on_line).await;
    cache::forget(engine, &pulled).await;
    result
}

/// How long asking a registry which platforms a base offers may take.
const PLATFORMS_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(15);

/// Refuses a build whose external base exists only for another platform. Neither builder stops
/// it on an engine with the classic image store: the classic builder ignores `platform`, and
/// BuildKit takes a single-platform base as it is and labels the result with the requested
/// platform, so an image "for linux/arm64" would carry amd64 programs (`exec format error` only
/// once ECS starts it). A base is fine when its local image is for the platform, or when the
/// registry offers the platform (a multi-platform index BuildKit picks from). Unknown stays
/// allowed: the build itself then says what it finds.
async fn check_base_platforms(engine: &Engine, request: &BuildRequest) -> Result<(), EngineError> {
    let wanted = &request.platform;
    for base in &request.inputs.bases {
        let reference = base.reference.to_string();
        let Some(local) = engine.inspect(&reference).await? else {
            continue;
        };
        if local.architecture.is_empty()
            || (local.os == wanted.os() && local.architecture == wanted.architecture())
        {
            continue;
        }
        let offered = tokio::time::timeout(
            PLATFORMS_TIMEOUT,
            engine.docker.inspect_registry_image(&reference, None),
        )
        .await;
        if let Ok(Ok(inspect)) = offered {
            let platforms = inspect.platforms;
            if platforms.iter().any(|p| {
                p.os.as_deref() == Some(wanted.os())
                    && p.architecture.as_deref() == Some(wanted.architecture())
            }) {
                continue;
            }
        }
        return Err(EngineError::BasePlatform {
            image: request.inputs.image.clone(),
            base: reference,
            line: base.line,
            arg: base.arg.clone(),
            wanted: wanted.to_string(),
            got: format!("{}/{}", local.os, local.architecture),
        });
    }
    Ok(())
}

/// One `/build` call: the context streamed as the body, the answer read line by line, the image
/// checked once built.
async fn build_with(
    engine: &Engine,
    request: &BuildRequest,
    cache_from: &[String],
    mut on_line: impl FnMut(BuildLine<'_>),
) -> Result<String, EngineError> {
    let image = request.inputs.image.clone();
    let credentials: HashMap<String, bollard::auth::DockerCredentials> = request
        .credentials
        .iter()
        .map(|c| (c.server.clone(), c.to_bollard()))
        .collect();
    let send_failure = SendFailure::default();
    let body =
        bollard::body_try_stream(context_stream(request.inputs.clone(), send_failure.clone()));
    // The writer's own error, when the context could not be sent, says more than the engine's.
    let with_cause = |message: String| match send_failure.lock().ok().and_then(|s| s.clone()) {
        Some(cause) => format!("the build context could not be sent: {cause}"),
        None => message,
    };
    let mut stream = engine.docker.build_image(
        build_options(request, cache_from),
        (!credentials.is_empty()).then_some(credentials),
        Some(body),
    );
    let mut reading = Reading::default();
    while let Some(item) = stream.next().await {
        match item {
            Ok(info) => {
                if let Some(message) = reading.read(info, &mut on_line) {
                    return Err(reading.failure(&image, with_cause(message)));
                }
            }
            Err(error) => {
                reading.flush(&mut on_line);
                let sent = send_failure.lock().ok().and_then(|s| s.clone()).is_none();
                return Err(match lost_engine(error, sent, &image, &reading) {
                    Ok(lost) => lost,
                    Err(message) => reading.failure(&image, with_cause(message)),
                });
            }
        }
    }
    reading.flush(&mut on_line);
    checked_image(engine, request, reading.image_id).await
}

/// The engine's build options for `request`.
fn build_options(request: &BuildRequest, cache_from: &[String]) -> BuildImageOptions {
    let buildkit = request.builder == Builder::BuildKit;
    let mut args = request.args.clone();
    if buildkit && request.inline_cache {
        args.insert("BUILDKIT_INLINE_CACHE".into(), "1".into());
    }
    let mut labels = request.labels.clone();
    labels.insert(KEY_LABEL.to_string(), request.key.hex());
    labels.insert(NAME_LABEL.to_string(), request.inputs.image.to_string());
    BuildImageOptions {
        dockerfile: request.inputs.dockerfile_path.clone(),
        t: Some(request.tag.clone()),
        nocache: request.no_cache,
        pull: request.pull.then(|| "1".to_string()),
        rm: true,
        // Without forcerm a failed build leaves its intermediate container behind.
        forcerm: true,
        buildargs: Some(args),
        labels: Some(labels),
        platform: request.platform.to_string(),
        target: request.target.clone().unwrap_or_default(),
        cachefrom: (!cache_from.is_empty()).then(|| cache_from.to_vec()),
        version: if buildkit {
            BuilderVersion::BuilderBuildKit
        } else {
            BuilderVersion::BuilderV1
        },
        session: buildkit.then(|| session_id(&request.key)),
        ..Default::default()
    }
}

/// What the build's answer said so far: the image id, the current classic step, a line not yet
/// ended, and BuildKit's progress.
#[derive(Default)]
struct Reading {
    image_id: Option<String>,
    step: Option<String>,
    partial: String,
    progress: Progress,
}

impl Reading {
    /// Passes one message's lines on; returns the engine's error message when it reports one.
    fn read(
        &mut self,
        info: bollard::models::BuildInfo,
        on_line: &mut impl FnMut(BuildLine<'_>),
    ) -> Option<String> {
        if let Some(text) = info.stream {
            self.partial.push_str(&text);
            while let Some(i) = self.partial.find('\n') {
                let line: String = self.partial.drain(..=i).collect();
                let line = line.trim_end();
                if line.starts_with("Step ") {
                    self.step = Some(line.to_string());
                    on_line(BuildLine::Step(line));
                } else {
                    on_line(BuildLine::Output(line));
                }
            }
        }
        if let Some(status) = info.status {
            on_line(BuildLine::Output(status.trim_end()));
        }
        match info.aux {
            Some(BuildInfoAux::BuildKit(status)) => self.progress.status(status, on_line),
            Some(BuildInfoAux::Default(aux)) => self.image_id = aux.id.or(self.image_id.take()),
            None => {}
        }
        info.error_detail.and_then(|d| d.message)
    }

    /// Passes on the last line when the answer did not end it.
    fn flush(&mut self, on_line: &mut impl FnMut(BuildLine<'_>)) {
        if !self.partial.trim().is_empty() {
            on_line(BuildLine::Output(self.partial.trim_end()));
        }
    }

    /// A failed build: at BuildKit's failing step (with its output) or the last classic step.
    fn failure(&self, image: &crate::names::ImageName, message: String) -> EngineError {
        let failed = self.progress.failed();
        EngineError::Build {
            image: image.clone(),
            step: failed
                .as_ref()
                .map(|f| f.name.clone())
                .or_else(|| self.step.clone()),
            message: message.trim().to_string(),
            log: None,
            output: failed.map(|f| f.output).unwrap_or_default(),
        }
    }
}

/// A stream error that is not the build's answer: the engine was lost (it died, or the connection
/// to it broke mid-build), a service failure rather than a failed step. Otherwise `Err` with the
/// build's message.
fn lost_engine(
    error: bollard::errors::Error,
    sent: bool,
    image: &crate::names::ImageName,
    reading: &Reading,
) -> Result<EngineError, String> {
    match error {
        bollard::errors::Error::DockerStreamError { error } => Err(error),
        bollard::errors::Error::DockerResponseServerError { message, .. } => Err(message),
        lost @ (bollard::errors::Error::HyperResponseError { .. }
        | bollard::errors::Error::HyperLegacyError { .. }
        | bollard::errors::Error::IOError { .. }
        | bollard::errors::Error::RequestTimeoutError)
            if sent =>
        {
            Ok(EngineError::Api {
                action: format!(
                    "build `{image}` (the connection to the engine broke{})",
                    reading
                        .step
                        .as_ref()
                        .map(|s| format!(" during `{s}`"))
                        .unwrap_or_default()
                ),
                source: lost,
            })
        }
        other => Err(other.to_string()),
    }
}

/// The built image's id (from the answer, or for older engines from its tag), refused and
/// untagged when the engine built it for another platform.
async fn checked_image(
    engine: &Engine,
    request: &BuildRequest,
    image_id: Option<String>,
) -> Result<String, EngineError> {
    let image = request.inputs.image.clone();
    let id = match image_id {
        Some(id) => id,
        // Older engines print "Successfully built <id>" instead of an aux message.
        None => engine
            .inspect(&request.tag)
            .await?
            .map(|d| d.id)
            .ok_or_else(|| EngineError::Build {
                image: image.clone(),
                step: None,
                message: "the engine reported no image id".into(),
                log: None,
                output: Vec::new(),
            })?,
    };
    let details = engine.inspect(&id).await?.unwrap_or_default();
    if details.architecture != request.platform.architecture() {
        // Remove the wrong image's tag so nothing mistakes it for a good build.
        let _ = engine.remove_image(&request.tag).await;
        return Err(EngineError::PlatformMismatch {
            image,
            wanted: request.platform.to_string(),
            got: format!("{}/{}", details.os, details.architecture),
        });
    }
    Ok(id)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::hash::{inputs, ContentCache};
    use crate::manifest::{parse, LoadOptions};

    /// A file changed after it was hashed is refused by the writer; the reason is kept for the
    /// build's error instead of being lost behind the broken upload.
    #[tokio::test]
    async fn a_writer_error_is_kept_with_its_cause() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(dir.path().join("web")).unwrap();
        std::fs::write(
            dir.path().join("web/Dockerfile"),
            "FROM scratch\nCOPY a.txt /\n",
        )
        .unwrap();
        std::fs::write(dir.path().join("web/a.txt"), "hashed\n").unwrap();
        let manifest = parse(
            &dir.path().join("fleet.toml"),
            "[images.web]\ncontext = \"web\"\n",
            &LoadOptions::default(),
        )
        .unwrap();
        let inputs = inputs::read(&manifest.images[0], &ContentCache::disabled()).unwrap();
        std::fs::write(dir.path().join("web/a.txt"), "HASHED\n").unwrap();
        let failure = SendFailure::default();
        let items: Vec<_> = context_stream(Arc::new(inputs), failure.clone())
            .collect()
            .await;
        assert!(items.last().unwrap().is_err());
        let cause = failure.lock().unwrap().clone().unwrap();
        assert!(
            cause.contains("a.txt` changed after it was hashed"),
            "{cause}"
        );
    }
}
