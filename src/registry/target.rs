//! [`Registry`]: a connected push target, ECR or any OCI registry, with the calls the push
//! pipeline needs — repositories ensured, key tags looked up, moving tags written — all without
//! pulling an image.

use std::fmt;
use std::sync::Mutex;
use std::time::{Duration, Instant, SystemTime};

use super::credential_chain;
use super::credentials::{CredentialSource, Credentials};
use super::distribution::Distribution;
use super::ecr::{Ecr, PutOutcome, RepositorySettings};
use super::endpoint::{self, split_endpoint, split_url};
use super::error::Place;
use super::repository_change::RepositoryChange;
use super::retry::RetryPolicy;
use super::{ConnectOptions, RegistryError};
use crate::docker::EngineCredentials;
use crate::manifest::{RegistryConfig, RegistryKind};
use crate::names::{Digest, RepositoryName, Tag};

/// ECR tokens last 12 hours; one older than this is replaced before it is used.
const ECR_TOKEN_LIFETIME: Duration = Duration::from_secs(11 * 3600);
/// A token is replaced this long before AWS says it expires.
const ECR_TOKEN_MARGIN: Duration = Duration::from_secs(5 * 60);

/// A connected push target.
pub struct Registry {
    host: String,
    prefix: String,
    http: Distribution,
    ecr: Option<EcrTarget>,
}

struct EcrTarget {
    api: Ecr,
    settings: RepositorySettings,
    /// When the current token should be replaced.
    refresh_at: Mutex<Instant>,
}

impl fmt::Debug for Registry {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Registry")
            .field("host", &self.host)
            .field("prefix", &self.prefix)
            .field("ecr", &self.ecr.is_some())
            .finish_non_exhaustive()
    }
}

/// What `retag` did.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Retagged {
    /// The tag was written (created or moved).
    Written,
    /// The tag already named the digest: nothing was written.
    Unchanged,
}

/// When a token fetched now with AWS's `expires_at` should be replaced. An expiry already past
/// (moto's tokens "expired" in 2015) is ignored in favour of the documented 12 hours.
fn refresh_deadline(expires_at: Option<SystemTime>) -> Instant {
    let now = Instant::now();
    let lifetime = expires_at
        .and_then(|t| t.duration_since(SystemTime::now()).ok())
        .map(|left| left.saturating_sub(ECR_TOKEN_MARGIN))
        .filter(|left| !left.is_zero())
        .map_or(ECR_TOKEN_LIFETIME, |left| left.min(ECR_TOKEN_LIFETIME));
    now + lifetime
}

impl Registry {
    /// Connects to the registry `config` names, with the options the environment gives
    /// ([`ConnectOptions::from_env`]). ECR: AWS default credential chain, `GetAuthorizationToken`.
    /// Plain registry: credentials from the environment or the Docker config file. Either way the
    /// registry API is then checked (`GET /v2/`), so a wrong password or an unreachable registry
    /// fails here, before anything is built or pushed.
    pub async fn connect(config: &RegistryConfig) -> Result<Registry, RegistryError> {
        Self::connect_with(config, &ConnectOptions::from_env()).await
    }

    /// [`Registry::connect`] with explicit options.
    pub async fn connect_with(
        config: &RegistryConfig,
        options: &ConnectOptions,
    ) -> Result<Registry, RegistryError> {
        let retry = RetryPolicy::new(options.fast_retries);
        let registry = match &config.kind {
            RegistryKind::Registry { url } => {
                let (host, prefix) = split_url(url);
                let insecure = endpoint::is_insecure(&host, &options.insecure_registries);
                let (credentials, source) = credential_chain::resolve(&host, options).await?;
                let http = Distribution::new(
                    &host,
                    insecure,
                    credentials,
                    source,
                    retry,
                    options.fast_retries,
                    false,
                );
                Registry {
                    host,
                    prefix,
                    http,
                    ecr: None,
                }
            }
            RegistryKind::Ecr {
                region,
                account,
                endpoint: manifest_endpoint,
            } => {
                let api =
                    Ecr::connect(region.as_deref(), account.as_deref(), options, retry).await?;
                let authorization = api.authorization().await?;
                // The env override wins over the manifest's, which wins over AWS's answer.
                let chosen = options.endpoint.as_deref().or(manifest_endpoint.as_deref());
                let (host, scheme_insecure) =
                    split_endpoint(chosen.unwrap_or(&authorization.proxy_endpoint));
                let insecure = scheme_insecure
                    .unwrap_or_else(|| endpoint::is_insecure(&host, &options.insecure_registries));
                let credentials = Credentials {
                    username: "AWS".into(),
                    password: authorization.password,
                };
                let http = Distribution::new(
                    &host,
                    insecure,
                    Some(credentials),
                    CredentialSource::Ecr,
                    retry,
                    options.fast_retries,
                    true,
                );
                Registry {
                    host,
                    prefix: String::new(),
                    http,
                    ecr: Some(EcrTarget {
                        api,
                        settings: RepositorySettings {
                            scan_on_push: config.scan_on_push,
                            tag_mutability: config.tag_mutability,
                            keep_images: config.keep_images,
                        },
                        refresh_at: Mutex::new(refresh_deadline(authorization.expires_at)),
                    }),
                }
            }
        };
        registry.on_data_plane(|| registry.http.ping()).await?;
        Ok(registry)
    }

    /// The registry host, as image names carry it: `123456789012.dkr.ecr.us-east-1.amazonaws.com`,
    /// `127.0.0.1:5000`.
    pub fn host(&self) -> &str {
        &self.host
    }

    /// Whether this is Amazon ECR.
    pub fn is_ecr(&self) -> bool {
        self.ecr.is_some()
    }

    /// The repository's path within the registry, with the `url`'s path prefix of a plain
    /// registry: `team/fleet/element` for `url = "host/team"` and repository `fleet/element`.
    pub fn repository_path(&self, repository: &RepositoryName) -> String {
        if self.prefix.is_empty() {
            repository.as_str().to_string()
        } else {
            format!("{}/{}", self.prefix, repository.as_str())
        }
    }

    /// `host/path`: the name the engine tags and pushes.
    pub fn image_name(&self, repository: &RepositoryName) -> String {
        format!("{}/{}", self.host, self.repository_path(repository))
    }

    /// The credentials for the engine's push (and pulls of bases from this registry); `None`
    /// for anonymous access. For ECR, the current token: lookups refresh it when it is old, so
    /// take these after the lookups of a run, or call [`Registry::refresh_credentials`] first.
    pub fn engine_credentials(&self) -> Option<EngineCredentials> {
        self.http.credentials().map(|c| EngineCredentials {
            username: c.username,
            password: c.password,
            server: self.host.clone(),
        })
    }

    /// Makes every repository exist, for ECR: created when missing with scan on push, AES256
    /// encryption, the tag mutability and a lifecycle policy keeping the newest `keep_images`
    /// key-tagged images; an existing repository gets the policy only when its own differs. A
    /// second call makes no mutating call and returns no changes. A plain registry creates
    /// repositories on push: nothing to do.
    pub async fn ensure_repositories(
        &self,
        repositories: &[RepositoryName],
    ) -> Result<Vec<RepositoryChange>, RegistryError> {
        let Some(ecr) = &self.ecr else {
            return Ok(Vec::new());
        };
        let mut unique: Vec<&RepositoryName> = Vec::new();
        for repository in repositories {
            if !unique.contains(&repository) {
                unique.push(repository);
            }
        }
        let results =
            futures_util::future::try_join_all(unique.into_iter().map(|repository| async move {
                let actions = ecr
                    .api
                    .ensure(&self.repository_path(repository), &ecr.settings)
                    .await?;
                Ok::<_, RegistryError>(actions.into_iter().map(|(action, note)| RepositoryChange {
                    repository: repository.clone(),
                    action,
                    note,
                }))
            }))
            .await?;
        Ok(results.into_iter().flatten().collect())
    }

    /// The digest `repository:tag` names in the registry, confirmed: the tag's digest from the
    /// manifest's headers, then the manifest itself read by that digest (its bytes must hash to
    /// it). Nothing but the manifest is pulled. `None` when the tag, or the repository, does not
    /// exist, and when the registry names a digest it cannot serve: a `HEAD` answer alone never
    /// makes an image count as being in the registry (and so never skips its push or reaches a
    /// deploy).
    pub async fn lookup(
        &self,
        repository: &RepositoryName,
        tag: &Tag,
    ) -> Result<Option<Digest>, RegistryError> {
        let path = self.repository_path(repository);
        let (path, tag) = (path.as_str(), tag.as_str());
        let Some(digest) = self
            .on_data_plane(move || self.http.digest(path, tag))
            .await?
        else {
            return Ok(None);
        };
        Ok(self.confirm_at(path, &digest).await?.then_some(digest))
    }

    /// Whether the registry serves the manifest `digest` in `repository`: read by digest, its
    /// bytes hashing to it. A registry serving other bytes under the digest is an error.
    pub async fn confirm(
        &self,
        repository: &RepositoryName,
        digest: &Digest,
    ) -> Result<bool, RegistryError> {
        self.confirm_at(&self.repository_path(repository), digest)
            .await
    }

    async fn confirm_at(&self, path: &str, digest: &Digest) -> Result<bool, RegistryError> {
        let reference = digest.to_string();
        let reference = reference.as_str();
        // `manifest` refuses bytes that do not hash to a digest reference.
        Ok(self
            .on_data_plane(move || self.http.manifest(path, reference))
            .await?
            .is_some())
    }

    /// Makes `tag` name the manifest `digest` in `repository`, without pulling: the manifest is
    /// read and written back under the tag with its exact bytes and media type (ECR:
    /// `BatchGetImage` + `PutImage`; else manifest `GET` + `PUT`). When the tag already names the
    /// digest, nothing is written. An immutable tag that names another digest is
    /// [`RegistryError::TagImmutable`], naming both.
    pub async fn retag(
        &self,
        repository: &RepositoryName,
        digest: &Digest,
        tag: &Tag,
    ) -> Result<Retagged, RegistryError> {
        let path = self.repository_path(repository);
        let Some(ecr) = &self.ecr else {
            return self.retag_on_data_plane(&path, digest, tag).await;
        };
        let (current, manifest) = tokio::join!(
            ecr.api.tag_digest(&path, tag.as_str()),
            ecr.api.manifest(&path, digest)
        );
        if current?.as_ref() == Some(digest) {
            return Ok(Retagged::Unchanged);
        }
        let Some(manifest) = manifest? else {
            // The ECR API does not know the digest. In AWS it and the data plane are one store and
            // the data plane will not know it either; with an `endpoint` override (a proxy, the
            // test environment) they can differ, and the data plane is where the engine pushed.
            return self.retag_on_data_plane(&path, digest, tag).await;
        };
        match ecr.api.put_image(&path, tag.as_str(), &manifest).await? {
            PutOutcome::Written => Ok(Retagged::Written),
            PutOutcome::AlreadyExists | PutOutcome::TagTaken => {
                let place = Place::repository(&self.host, &path, Some(tag.as_str()));
                match ecr.api.tag_digest(&path, tag.as_str()).await? {
                    Some(existing) if existing == *digest => Ok(Retagged::Unchanged),
                    Some(existing) => Err(RegistryError::TagImmutable {
                        place,
                        existing,
                        wanted: digest.clone(),
                    }),
                    None => Err(RegistryError::Protocol {
                        place,
                        action: super::error::Action::WriteTag,
                        problem: "ECR refused the tag as taken but shows no image under it".into(),
                    }),
                }
            }
        }
    }

    /// Manifest `GET` by digest + `PUT` under the tag, through the distribution API.
    async fn retag_on_data_plane(
        &self,
        path: &str,
        digest: &Digest,
        tag: &Tag,
    ) -> Result<Retagged, RegistryError> {
        let tag = tag.as_str();
        if self
            .on_data_plane(move || self.http.digest(path, tag))
            .await?
            .as_ref()
            == Some(digest)
        {
            return Ok(Retagged::Unchanged);
        }
        let reference = digest.to_string();
        let manifest = self
            .on_data_plane(|| self.http.manifest(path, &reference))
            .await?
            .ok_or_else(|| RegistryError::ManifestNotFound {
                place: Place::repository(&self.host, path, Some(&reference)),
            })?;
        let refused = match self
            .on_data_plane(|| self.http.put_manifest(path, tag, &manifest))
            .await
        {
            Ok(()) => return Ok(Retagged::Written),
            Err(refused) => refused,
        };
        // Registries refuse an immutable tag with 400, 403, 409 or 412 (Harbor, Quay, Artifactory
        // differ); the tag naming another digest is what tells it apart from other refusals.
        let immutable_like = match &refused {
            RegistryError::Rejected {
                status, message, ..
            } => {
                matches!(status, 400 | 409 | 412)
                    || message.to_ascii_lowercase().contains("immutab")
            }
            RegistryError::AccessDenied { message, .. } => {
                message.to_ascii_lowercase().contains("immutab")
            }
            _ => false,
        };
        if !immutable_like {
            return Err(refused);
        }
        match self.http.digest(path, tag).await? {
            Some(existing) if existing == *digest => Ok(Retagged::Unchanged),
            Some(existing) => Err(RegistryError::TagImmutable {
                place: Place::repository(&self.host, path, Some(tag)),
                existing,
                wanted: digest.clone(),
            }),
            None => Err(refused),
        }
    }

    /// Gets a new ECR token (they expire after 12 hours). Lookups and retags do this by themselves
    /// when the token is old or refused; a plain registry has nothing to refresh.
    pub async fn refresh_credentials(&mut self) -> Result<(), RegistryError> {
        self.refresh().await
    }

    async fn refresh(&self) -> Result<(), RegistryError> {
        let Some(ecr) = &self.ecr else {
            return Ok(());
        };
        let authorization = ecr.api.authorization().await?;
        self.http.set_credentials(Some(Credentials {
            username: "AWS".into(),
            password: authorization.password,
        }));
        *ecr.refresh_at.lock().expect("refresh lock") = refresh_deadline(authorization.expires_at);
        Ok(())
    }

    /// Runs a data-plane call with a current ECR token: refreshed first when old, and once more
    /// when the registry refuses it (it may have expired in between).
    async fn on_data_plane<T, F, Call>(&self, call: Call) -> Result<T, RegistryError>
    where
        Call: Fn() -> F,
        F: std::future::Future<Output = Result<T, RegistryError>>,
    {
        let Some(ecr) = &self.ecr else {
            return call().await;
        };
        let stale = Instant::now() >= *ecr.refresh_at.lock().expect("refresh lock");
        if stale {
            self.refresh().await?;
        }
        match call().await {
            Err(error) if error.is_auth_failure() && !stale => {
                self.refresh().await?;
                call().await
            }
            other => other,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn registries_and_their_futures_can_cross_threads() {
        fn send<T: Send>(_: T) {}
        fn sync<T: Send + Sync>() {}
        fn futures(registry: &Registry, repository: &RepositoryName, digest: &Digest, tag: &Tag) {
            send(registry.lookup(repository, tag));
            send(registry.retag(repository, digest, tag));
            send(registry.ensure_repositories(&[]));
            send(Registry::connect_with(
                &RegistryConfig {
                    kind: RegistryKind::Registry { url: "h".into() },
                    repository_prefix: String::new(),
                    tag_mutability: crate::manifest::TagMutability::Mutable,
                    scan_on_push: true,
                    keep_images: 1,
                    location: crate::error::Location {
                        file: String::new(),
                        line: None,
                        key: None,
                    },
                },
                &ConnectOptions::default(),
            ));
        }
        sync::<Registry>();
        let _ = futures;
    }

    #[test]
    fn token_deadline_ignores_an_expiry_in_the_past() {
        let in_the_past = SystemTime::UNIX_EPOCH + Duration::from_secs(1_420_070_400);
        let deadline = refresh_deadline(Some(in_the_past));
        assert!(deadline > Instant::now() + Duration::from_secs(10 * 3600));
        let soon = SystemTime::now() + Duration::from_secs(3600);
        let deadline = refresh_deadline(Some(soon));
        assert!(deadline < Instant::now() + Duration::from_secs(3600));
        assert!(deadline > Instant::now() + Duration::from_secs(3000));
    }
}
