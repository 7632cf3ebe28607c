//! A client for the part of the OCI distribution API the tool needs
//! (<https://github.com/opencontainers/distribution-spec/blob/main/spec.md>): `GET /v2/`, and
//! manifests by tag or digest (`HEAD`, `GET`, `PUT`). Layers are never moved here: the engine
//! pushes them. Auth is basic when credentials are known, and the bearer-token flow when a
//! registry answers 401 with a `Bearer` challenge. Transient failures are retried
//! ([`RetryPolicy`]); each request's answer is mapped to a typed error in one place
//! ([`Distribution::failure`]).

use std::collections::HashMap;
use std::sync::RwLock;
use std::time::Duration;

use bytes::Bytes;
use reqwest::header::{HeaderMap, HeaderValue, CONTENT_TYPE, RETRY_AFTER, WWW_AUTHENTICATE};
use reqwest::Method;

use super::challenge::{self, Challenge};
use super::credentials::{CredentialSource, Credentials};
use super::endpoint::api_host;
use super::error::{Action, Place};
use super::image_manifest::{accept_manifests, header_digest, media_type, sha256_digest, Manifest};
use super::retry::RetryPolicy;
use super::{RegistryError, Secret};
use crate::names::Digest;
use crate::secret::Redactor;

/// How long a connection may take before the attempt counts as failed.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);
const FAST_CONNECT_TIMEOUT: Duration = Duration::from_secs(2);
/// How long a whole request may take (manifests are small).
const REQUEST_TIMEOUT: Duration = Duration::from_secs(60);
const FAST_REQUEST_TIMEOUT: Duration = Duration::from_secs(10);

/// One registry's API.
#[derive(Debug)]
pub(crate) struct Distribution {
    host: String,
    base: String,
    client: reqwest::Client,
    retry: RetryPolicy,
    ecr: bool,
    auth: RwLock<AuthState>,
}

#[derive(Debug)]
struct AuthState {
    credentials: Option<Credentials>,
    source: CredentialSource,
    /// Bearer tokens by repository path ("" for the API check).
    tokens: HashMap<String, Secret>,
}

/// What a request sends to authenticate.
enum Auth {
    None,
    Basic(Credentials),
    Bearer(Secret),
}

/// A response, read whole.
#[derive(Debug)]
struct Answer {
    status: u16,
    headers: HeaderMap,
    body: Bytes,
    attempts: u32,
}

impl Distribution {
    /// A client for `host`, over `http://` when `insecure`, else `https://`.
    pub(crate) fn new(
        host: &str,
        insecure: bool,
        credentials: Option<Credentials>,
        source: CredentialSource,
        retry: RetryPolicy,
        fast: bool,
        ecr: bool,
    ) -> Self {
        let scheme = if insecure { "http" } else { "https" };
        let (connect, request) = if fast {
            (FAST_CONNECT_TIMEOUT, FAST_REQUEST_TIMEOUT)
        } else {
            (CONNECT_TIMEOUT, REQUEST_TIMEOUT)
        };
        let client = reqwest::Client::builder()
            .user_agent(concat!("fleet-images/", env!("CARGO_PKG_VERSION")))
            .connect_timeout(connect)
            .timeout(request)
            .build()
            .expect("a reqwest client with static settings builds");
        Self {
            host: host.to_string(),
            base: format!("{scheme}://{}", api_host(host)),
            client,
            retry,
            ecr,
            auth: RwLock::new(AuthState {
                credentials,
                source,
                tokens: HashMap::new(),
            }),
        }
    }

    /// The credentials in use, if any.
    pub(crate) fn credentials(&self) -> Option<Credentials> {
        self.auth.read().expect("auth lock").credentials.clone()
    }

    /// Replaces the credentials (a refreshed ECR token) and forgets bearer tokens.
    pub(crate) fn set_credentials(&self, credentials: Option<Credentials>) {
        let mut state = self.auth.write().expect("auth lock");
        state.credentials = credentials;
        state.tokens.clear();
    }

    /// A redactor that knows every secret this client holds.
    pub(crate) fn redactor(&self) -> Redactor {
        let state = self.auth.read().expect("auth lock");
        let mut redactor = Redactor::new();
        if let Some(c) = &state.credentials {
            redactor.add(Some(&c.username), &c.password);
        }
        for token in state.tokens.values() {
            redactor.add(None, token);
        }
        redactor
    }

    fn source(&self) -> CredentialSource {
        self.auth.read().expect("auth lock").source.clone()
    }

    /// `GET /v2/`: the registry answers and accepts the credentials.
    pub(crate) async fn ping(&self) -> Result<(), RegistryError> {
        let place = Place::host(&self.host);
        let answer = self
            .request(Method::GET, "/v2/", "", HeaderMap::new(), None, &place)
            .await?;
        match answer.status {
            200..=299 => Ok(()),
            404 => Err(RegistryError::Protocol {
                place,
                action: Action::Ping,
                problem: "there is no registry API under `/v2/` (HTTP 404)".into(),
            }),
            _ => Err(self.failure(&answer, place, Action::Ping)),
        }
    }

    /// The digest `reference` (a tag or digest) names in `repository`, without reading the
    /// manifest when the registry sends `Docker-Content-Digest` on `HEAD`. `None` on 404, which
    /// registries also answer when the repository does not exist.
    pub(crate) async fn digest(
        &self,
        repository: &str,
        reference: &str,
    ) -> Result<Option<Digest>, RegistryError> {
        let place = Place::repository(&self.host, repository, Some(reference));
        let path = format!("/v2/{repository}/manifests/{reference}");
        let answer = self
            .request(
                Method::HEAD,
                &path,
                repository,
                accept_manifests(),
                None,
                &place,
            )
            .await?;
        match answer.status {
            200..=299 => match header_digest(&answer.headers) {
                Some(digest) => Ok(Some(digest)),
                // No usable digest header: read the manifest and hash it.
                None => Ok(self
                    .manifest(repository, reference)
                    .await?
                    .map(|m| m.digest)),
            },
            404 => Ok(None),
            405 => Ok(self
                .manifest(repository, reference)
                .await?
                .map(|m| m.digest)),
            _ => Err(self.failure(&answer, place, Action::Lookup)),
        }
    }

    /// The manifest `reference` names, exact bytes and media type; `None` on 404.
    pub(crate) async fn manifest(
        &self,
        repository: &str,
        reference: &str,
    ) -> Result<Option<Manifest>, RegistryError> {
        let place = Place::repository(&self.host, repository, Some(reference));
        let path = format!("/v2/{repository}/manifests/{reference}");
        let answer = self
            .request(
                Method::GET,
                &path,
                repository,
                accept_manifests(),
                None,
                &place,
            )
            .await?;
        match answer.status {
            200..=299 => {}
            404 => return Ok(None),
            _ => return Err(self.failure(&answer, place, Action::ReadManifest)),
        }
        let digest = sha256_digest(&answer.body);
        if reference.starts_with("sha256:") && digest.to_string() != reference {
            return Err(RegistryError::Protocol {
                place,
                action: Action::ReadManifest,
                problem: format!("the manifest it sent has digest {digest}"),
            });
        }
        let media_type = media_type(&answer.headers, &answer.body).ok_or_else(|| RegistryError::Protocol {
            place: place.clone(),
            action: Action::ReadManifest,
            problem: "the manifest has no media type the tool knows (neither `Content-Type` nor `mediaType`)".into(),
        })?;
        Ok(Some(Manifest {
            bytes: answer.body,
            media_type,
            digest,
        }))
    }

    /// Writes `manifest` under `tag`. Refusals come back as the registry's error; the caller
    /// decides whether an existing tag explains them.
    pub(crate) async fn put_manifest(
        &self,
        repository: &str,
        tag: &str,
        manifest: &Manifest,
    ) -> Result<(), RegistryError> {
        let place = Place::repository(&self.host, repository, Some(tag));
        let path = format!("/v2/{repository}/manifests/{tag}");
        let mut headers = HeaderMap::new();
        headers.insert(
            CONTENT_TYPE,
            HeaderValue::from_str(&manifest.media_type).map_err(|_| RegistryError::Protocol {
                place: place.clone(),
                action: Action::WriteTag,
                problem: format!(
                    "media type `{}` is not a valid header value",
                    manifest.media_type
                ),
            })?,
        );
        let answer = self
            .request(
                Method::PUT,
                &path,
                repository,
                headers,
                Some(manifest.bytes.clone()),
                &place,
            )
            .await?;
        if !(200..=299).contains(&answer.status) {
            return Err(self.failure(&answer, place, Action::WriteTag));
        }
        match header_digest(&answer.headers) {
            Some(stored) if stored != manifest.digest => Err(RegistryError::Protocol {
                place,
                action: Action::WriteTag,
                problem: format!("it stored digest {stored}, not {}", manifest.digest),
            }),
            _ => Ok(()),
        }
    }

    /// Sends a request with the auth it needs: basic credentials or a cached bearer token; on a
    /// 401 with a `Bearer` challenge, one token request and one more try.
    async fn request(
        &self,
        method: Method,
        path: &str,
        repository: &str,
        headers: HeaderMap,
        body: Option<Bytes>,
        place: &Place,
    ) -> Result<Answer, RegistryError> {
        let url = format!("{}{path}", self.base);
        let mut token_fetched = false;
        loop {
            let auth = {
                let state = self.auth.read().expect("auth lock");
                match (state.tokens.get(repository), &state.credentials) {
                    (Some(token), _) => Auth::Bearer(token.clone()),
                    (None, Some(credentials)) => Auth::Basic(credentials.clone()),
                    (None, None) => Auth::None,
                }
            };
            let answer = self
                .send(&method, &url, &headers, body.as_ref(), &auth, place)
                .await?;
            if answer.status != 401 || token_fetched {
                return Ok(answer);
            }
            let challenges = challenge::parse_all(
                answer
                    .headers
                    .get_all(WWW_AUTHENTICATE)
                    .iter()
                    .filter_map(|v| v.to_str().ok()),
            );
            let Some(Challenge::Bearer {
                realm,
                service,
                scope,
            }) = challenges
                .into_iter()
                .find(|c| matches!(c, Challenge::Bearer { .. }))
            else {
                return Ok(answer);
            };
            let scope = scope.or_else(|| {
                (!repository.is_empty()).then(|| {
                    let actions = if method == Method::PUT {
                        "pull,push"
                    } else {
                        "pull"
                    };
                    format!("repository:{repository}:{actions}")
                })
            });
            let token = self
                .token(&realm, service.as_deref(), scope.as_deref(), place)
                .await?;
            self.auth
                .write()
                .expect("auth lock")
                .tokens
                .insert(repository.to_string(), token);
            token_fetched = true;
        }
    }

    /// The bearer-token flow: `GET realm?service=…&scope=…`, with basic auth when credentials
    /// are known; the answer's `token` (or `access_token`).
    async fn token(
        &self,
        realm: &str,
        service: Option<&str>,
        scope: Option<&str>,
        place: &Place,
    ) -> Result<Secret, RegistryError> {
        let mut url = reqwest::Url::parse(realm).map_err(|_| RegistryError::Protocol {
            place: place.clone(),
            action: Action::Token,
            problem: format!("its token service `{realm}` is not a URL"),
        })?;
        {
            let mut query = url.query_pairs_mut();
            if let Some(service) = service {
                query.append_pair("service", service);
            }
            if let Some(scope) = scope {
                query.append_pair("scope", scope);
            }
        }
        let auth = match self.credentials() {
            Some(credentials) => Auth::Basic(credentials),
            None => Auth::None,
        };
        let answer = self
            .send(
                &Method::GET,
                url.as_str(),
                &HeaderMap::new(),
                None,
                &auth,
                place,
            )
            .await?;
        if !(200..=299).contains(&answer.status) {
            return Err(self.failure(&answer, place.clone(), Action::Token));
        }
        #[derive(serde::Deserialize)]
        struct TokenAnswer {
            #[serde(default)]
            token: Option<String>,
            #[serde(default)]
            access_token: Option<String>,
        }
        let parsed: Option<TokenAnswer> = serde_json::from_slice(&answer.body).ok();
        match parsed.and_then(|t| t.token.filter(|t| !t.is_empty()).or(t.access_token)) {
            Some(token) if !token.is_empty() => Ok(Secret::new(token)),
            _ => Err(RegistryError::Protocol {
                place: place.clone(),
                action: Action::Token,
                problem: "the token service's answer has no `token`".into(),
            }),
        }
    }

    /// One request, retried on transient failures (connection errors, timeouts, 5xx, 429).
    async fn send(
        &self,
        method: &Method,
        url: &str,
        headers: &HeaderMap,
        body: Option<&Bytes>,
        auth: &Auth,
        place: &Place,
    ) -> Result<Answer, RegistryError> {
        let mut attempt = 0;
        loop {
            attempt += 1;
            let mut request = self
                .client
                .request(method.clone(), url)
                .headers(headers.clone());
            request = match auth {
                Auth::None => request,
                Auth::Basic(c) => request.basic_auth(&c.username, Some(c.password.expose())),
                Auth::Bearer(token) => request.bearer_auth(token.expose()),
            };
            if let Some(body) = body {
                request = request.body(body.clone());
            }
            let result = async {
                let response = request.send().await?;
                let status = response.status().as_u16();
                let headers = response.headers().clone();
                let body = response.bytes().await?;
                Ok::<_, reqwest::Error>(Answer {
                    status,
                    headers,
                    body,
                    attempts: attempt,
                })
            }
            .await;
            let last = attempt >= self.retry.attempts;
            match result {
                Ok(answer) if !last && (answer.status == 429 || answer.status >= 500) => {
                    let retry_after = answer
                        .headers
                        .get(RETRY_AFTER)
                        .and_then(|v| v.to_str().ok())
                        .and_then(|v| v.trim().parse::<u64>().ok())
                        .map(Duration::from_secs);
                    tokio::time::sleep(self.retry.delay(attempt, retry_after)).await;
                }
                Ok(answer) => return Ok(answer),
                Err(error) if !last && !error.is_builder() && !error.is_redirect() => {
                    tokio::time::sleep(self.retry.delay(attempt, None)).await;
                }
                Err(error) => {
                    let host = reqwest::Url::parse(url)
                        .ok()
                        .and_then(|u| {
                            u.host_str().map(|h| {
                                u.port()
                                    .map(|p| format!("{h}:{p}"))
                                    .unwrap_or_else(|| h.to_string())
                            })
                        })
                        .unwrap_or_else(|| place.host.clone());
                    return Err(RegistryError::Unreachable {
                        host,
                        attempts: attempt,
                        source: error,
                    });
                }
            }
        }
    }
}

mod failure;

#[cfg(test)]
#[path = "distribution_tests.rs"]
mod tests;
