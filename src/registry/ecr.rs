//! Amazon ECR through the AWS SDK: the authorization token for the registry's data plane,
//! repositories ensured with the manifest's settings, and tags written without a pull
//! (`BatchGetImage` + `PutImage`). AWS SDK types stay in this file and `ecr/failure.rs`.

use std::sync::RwLock;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use aws_config::{BehaviorVersion, Region};
use aws_sdk_ecr::error::ProvideErrorMetadata;
use aws_sdk_ecr::types::{
    EncryptionConfiguration, EncryptionType, ImageIdentifier, ImageScanningConfiguration,
    ImageTagMutability,
};
use base64::Engine as _;
use bytes::Bytes;

use super::error::{AwsCause, EcrFailure};
use super::image_manifest::{manifest_media_type, Manifest, MANIFEST_MEDIA_TYPES};
use super::retry::RetryPolicy;
use super::{lifecycle, ChangeAction, ConnectOptions, RegistryError, Secret};
use crate::manifest::TagMutability;
use crate::names::Digest;
use crate::secret::Redactor;

/// What `ensure` gives new repositories, from `[registry]`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct RepositorySettings {
    /// `scan_on_push`.
    pub scan_on_push: bool,
    /// `tag_mutability`.
    pub tag_mutability: TagMutability,
    /// `keep_images`, for the lifecycle policy.
    pub keep_images: u32,
}

/// The settings of a repository that already exists, as `DescribeRepositories` gives them.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Existing {
    scan_on_push: Option<bool>,
    /// `MUTABLE`, `IMMUTABLE`, or a newer value (`*_WITH_EXCLUSION`).
    tag_mutability: Option<String>,
    /// `AES256`, `KMS`, `KMS_DSSE`.
    encryption: Option<String>,
}

impl Existing {
    /// What differs from the settings the tool gives the repositories it creates.
    fn differences(&self, settings: &RepositorySettings) -> Vec<String> {
        let mut differences = Vec::new();
        if let Some(scan) = self.scan_on_push.filter(|s| *s != settings.scan_on_push) {
            differences.push(format!(
                "scan on push is {}, the manifest says {}",
                if scan { "on" } else { "off" },
                if settings.scan_on_push { "on" } else { "off" }
            ));
        }
        let wanted = match settings.tag_mutability {
            TagMutability::Mutable => "MUTABLE",
            TagMutability::Immutable => "IMMUTABLE",
        };
        if let Some(mutability) = self.tag_mutability.as_deref().filter(|m| *m != wanted) {
            differences.push(format!(
                "tags are {mutability}, the manifest says {wanted} (tag_mutability)"
            ));
        }
        if let Some(encryption) = self.encryption.as_deref().filter(|e| *e != "AES256") {
            differences.push(format!(
                "encryption is {encryption}, fleet-images creates AES256"
            ));
        }
        differences
    }
}

/// What `GetAuthorizationToken` gives.
pub(crate) struct Authorization {
    /// The password of user `AWS`.
    pub password: Secret,
    /// The registry endpoint, `https://<account>.dkr.ecr.<region>.amazonaws.com`.
    pub proxy_endpoint: String,
    /// When the token expires, if AWS said.
    pub expires_at: Option<SystemTime>,
}

/// What `PutImage` did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum PutOutcome {
    /// The tag was written.
    Written,
    /// `ImageAlreadyExistsException`: the tag already names this manifest (or, in moto, an
    /// immutable tag names another one: the caller looks).
    AlreadyExists,
    /// `ImageTagAlreadyExistsException`: an immutable tag names another image.
    TagTaken,
}

/// The ECR API of one account and region.
#[derive(Debug)]
pub(crate) struct Ecr {
    client: aws_sdk_ecr::Client,
    registry_id: Option<String>,
    redactor: RwLock<Redactor>,
}

impl Ecr {
    /// Loads the AWS configuration (default credential chain; `region`, else the configuration's;
    /// `AWS_ENDPOINT_URL` is read by the SDK) with the tool's retry policy.
    pub(crate) async fn connect(
        region: Option<&str>,
        account: Option<&str>,
        options: &ConnectOptions,
        retry: RetryPolicy,
    ) -> Result<Self, RegistryError> {
        let retry_config = retry.aws_retry_config();
        let timeouts = retry.aws_timeout_config();
        let mut loader = aws_config::defaults(BehaviorVersion::latest())
            .retry_config(retry_config)
            .timeout_config(timeouts);
        if let Some(region) = region {
            loader = loader.region(Region::new(region.to_string()));
        }
        if let Some(url) = &options.aws_endpoint_url {
            loader = loader.endpoint_url(url.clone());
        }
        let sdk = loader.load().await;
        if sdk.region().is_none() {
            return Err(RegistryError::NoRegion);
        }
        Ok(Self {
            client: aws_sdk_ecr::Client::new(&sdk),
            registry_id: account.map(str::to_string),
            redactor: RwLock::new(Redactor::new()),
        })
    }

    /// `GetAuthorizationToken`: the password for user `AWS` and the registry endpoint.
    pub(crate) async fn authorization(&self) -> Result<Authorization, RegistryError> {
        let operation = "GetAuthorizationToken";
        // `registryIds` is deprecated (a token opens every registry the identity may use), but
        // it is how the answer's endpoint is the one of `account`, and how moto picks the password.
        #[allow(deprecated)]
        let output = self
            .client
            .get_authorization_token()
            .set_registry_ids(self.registry_id.clone().map(|id| vec![id]))
            .send()
            .await
            .map_err(|e| self.failure(operation, None, &e))?;
        let bad = |message: &str| RegistryError::Ecr {
            operation,
            repository: None,
            failure: EcrFailure::Other,
            source: AwsCause {
                code: None,
                message: message.to_string(),
            },
        };
        let data = output
            .authorization_data()
            .first()
            .ok_or_else(|| bad("the answer has no authorization data"))?;
        let token = data
            .authorization_token()
            .ok_or_else(|| bad("the answer has no token"))?;
        let decoded = base64::engine::general_purpose::STANDARD
            .decode(token)
            .ok()
            .and_then(|b| String::from_utf8(b).ok())
            .ok_or_else(|| bad("the token is not base64 of `AWS:<password>`"))?;
        let password = decoded
            .strip_prefix("AWS:")
            .ok_or_else(|| bad("the token is not base64 of `AWS:<password>`"))?;
        let password = Secret::new(password);
        {
            let mut redactor = self.redactor.write().expect("redactor lock");
            redactor.add(Some("AWS"), &password);
            redactor.add(None, &Secret::new(token));
        }
        let proxy_endpoint = data
            .proxy_endpoint()
            .ok_or_else(|| bad("the answer has no proxy endpoint"))?
            .to_string();
        let expires_at = data
            .expires_at()
            .and_then(|t| u64::try_from(t.secs()).ok())
            .map(|secs| UNIX_EPOCH + Duration::from_secs(secs));
        Ok(Authorization {
            password,
            proxy_endpoint,
            expires_at,
        })
    }

    /// Makes `repository` exist with `settings` and carry the lifecycle policy; what it changed,
    /// each with a note when there is something to warn about. Describes first and compares the
    /// policy, so a second run makes no mutating call.
    ///
    /// A repository that exists may be another tool's (the fleet's CDK stack creates its
    /// repositories): its scan, mutability and encryption settings are left as they are, and each
    /// one that differs from the manifest's is reported ([`ChangeAction::KeptOwnSettings`]). The
    /// lifecycle policy is the manifest's (`keep_images`): it is put when missing or different,
    /// and replacing a policy that fleet-images did not write is said in the note.
    pub(crate) async fn ensure(
        &self,
        repository: &str,
        settings: &RepositorySettings,
    ) -> Result<Vec<(ChangeAction, Option<String>)>, RegistryError> {
        let mut changes = Vec::new();
        let mut created = false;
        match self.describe(repository).await? {
            None => {
                created = self.create(repository, settings).await?;
                if created {
                    changes.push((ChangeAction::Created, None));
                }
            }
            Some(existing) => {
                let differences = existing.differences(settings);
                if !differences.is_empty() {
                    changes.push((
                        ChangeAction::KeptOwnSettings,
                        Some(format!(
                            "the repository exists with settings that differ from the manifest's, left as they are: {}",
                            differences.join("; ")
                        )),
                    ));
                }
            }
        }
        let current = if created {
            None
        } else {
            self.lifecycle_policy(repository).await?
        };
        if lifecycle::needs_update(current.as_deref(), settings.keep_images) {
            self.client
                .put_lifecycle_policy()
                .set_registry_id(self.registry_id.clone())
                .repository_name(repository)
                .lifecycle_policy_text(lifecycle::policy(settings.keep_images))
                .send()
                .await
                .map_err(|e| self.failure("PutLifecyclePolicy", Some(repository), &e))?;
            let note = current
                .as_deref()
                .filter(|policy| !lifecycle::is_ours(policy))
                .map(|_| {
                    "replaced a lifecycle policy that fleet-images did not write (the manifest's `keep_images` sets it)"
                        .to_string()
                });
            changes.push((ChangeAction::LifecyclePolicySet, note));
        }
        Ok(changes)
    }

    /// The repository's settings, `None` when it does not exist.
    async fn describe(&self, repository: &str) -> Result<Option<Existing>, RegistryError> {
        match self
            .client
            .describe_repositories()
            .set_registry_id(self.registry_id.clone())
            .repository_names(repository)
            .send()
            .await
        {
            Ok(output) => Ok(output
                .repositories()
                .iter()
                .find(|r| r.repository_name() == Some(repository))
                .map(|r| Existing {
                    scan_on_push: r.image_scanning_configuration().map(|c| c.scan_on_push()),
                    tag_mutability: r.image_tag_mutability().map(|m| m.as_str().to_string()),
                    encryption: r
                        .encryption_configuration()
                        .map(|c| c.encryption_type().as_str().to_string()),
                })),
            Err(e) if e.code() == Some("RepositoryNotFoundException") => Ok(None),
            Err(e) => Err(self.failure("DescribeRepositories", Some(repository), &e)),
        }
    }

    /// Creates the repository; `false` when someone else created it first.
    async fn create(
        &self,
        repository: &str,
        settings: &RepositorySettings,
    ) -> Result<bool, RegistryError> {
        let encryption = EncryptionConfiguration::builder()
            .encryption_type(EncryptionType::Aes256)
            .build()
            .expect("encryption type is set");
        let mutability = match settings.tag_mutability {
            TagMutability::Mutable => ImageTagMutability::Mutable,
            TagMutability::Immutable => ImageTagMutability::Immutable,
        };
        match self
            .client
            .create_repository()
            .set_registry_id(self.registry_id.clone())
            .repository_name(repository)
            .image_scanning_configuration(
                ImageScanningConfiguration::builder()
                    .scan_on_push(settings.scan_on_push)
                    .build(),
            )
            .encryption_configuration(encryption)
            .image_tag_mutability(mutability)
            .send()
            .await
        {
            Ok(_) => Ok(true),
            Err(e) if e.code() == Some("RepositoryAlreadyExistsException") => Ok(false),
            Err(e) => Err(self.failure("CreateRepository", Some(repository), &e)),
        }
    }

    async fn lifecycle_policy(&self, repository: &str) -> Result<Option<String>, RegistryError> {
        match self
            .client
            .get_lifecycle_policy()
            .set_registry_id(self.registry_id.clone())
            .repository_name(repository)
            .send()
            .await
        {
            Ok(output) => Ok(output.lifecycle_policy_text().map(str::to_string)),
            Err(e) if e.code() == Some("LifecyclePolicyNotFoundException") => Ok(None),
            Err(e) => Err(self.failure("GetLifecyclePolicy", Some(repository), &e)),
        }
    }

    /// The digest `tag` names; `None` when the tag or the repository does not exist.
    pub(crate) async fn tag_digest(
        &self,
        repository: &str,
        tag: &str,
    ) -> Result<Option<Digest>, RegistryError> {
        let id = ImageIdentifier::builder().image_tag(tag).build();
        Ok(self
            .batch_get(repository, id)
            .await?
            .map(|(digest, _)| digest))
    }

    /// The manifest `digest` names, exact text and media type; `None` when ECR does not have it.
    pub(crate) async fn manifest(
        &self,
        repository: &str,
        digest: &Digest,
    ) -> Result<Option<Manifest>, RegistryError> {
        let id = ImageIdentifier::builder()
            .image_digest(digest.to_string())
            .build();
        let Some((found, image)) = self.batch_get(repository, id).await? else {
            return Ok(None);
        };
        let Some(text) = image.image_manifest else {
            return Ok(None);
        };
        let media_type = image
            .image_manifest_media_type
            .filter(|t| !t.is_empty())
            .or_else(|| manifest_media_type(text.as_bytes()))
            .unwrap_or_else(|| MANIFEST_MEDIA_TYPES[3].to_string());
        Ok(Some(Manifest {
            bytes: Bytes::from(text),
            media_type,
            // ECR's digest, which is sha256 of the bytes; moto makes up its own when the
            // digest was not given to PutImage, and that is the one it finds images by.
            digest: found,
        }))
    }

    /// `BatchGetImage` for one image, accepting every manifest media type: its digest and the
    /// image. `None` when it, or the repository, does not exist.
    async fn batch_get(
        &self,
        repository: &str,
        id: ImageIdentifier,
    ) -> Result<Option<(Digest, aws_sdk_ecr::types::Image)>, RegistryError> {
        let output = match self
            .client
            .batch_get_image()
            .set_registry_id(self.registry_id.clone())
            .repository_name(repository)
            .image_ids(id)
            .set_accepted_media_types(Some(
                MANIFEST_MEDIA_TYPES.iter().map(|t| t.to_string()).collect(),
            ))
            .send()
            .await
        {
            Ok(output) => output,
            Err(e) if e.code() == Some("RepositoryNotFoundException") => return Ok(None),
            Err(e) => return Err(self.failure("BatchGetImage", Some(repository), &e)),
        };
        let Some(image) = output.images.unwrap_or_default().into_iter().next() else {
            return Ok(None);
        };
        let digest = image
            .image_id()
            .and_then(|id| id.image_digest())
            .and_then(|d| d.parse::<Digest>().ok())
            .ok_or_else(|| RegistryError::Ecr {
                operation: "BatchGetImage",
                repository: Some(repository.to_string()),
                failure: EcrFailure::Other,
                source: AwsCause {
                    code: None,
                    message: "the image in the answer has no sha256 digest".into(),
                },
            })?;
        Ok(Some((digest, image)))
    }

    /// `PutImage`: writes `tag` for `manifest`, with its exact text and media type.
    pub(crate) async fn put_image(
        &self,
        repository: &str,
        tag: &str,
        manifest: &Manifest,
    ) -> Result<PutOutcome, RegistryError> {
        let text = String::from_utf8_lossy(&manifest.bytes).into_owned();
        match self
            .client
            .put_image()
            .set_registry_id(self.registry_id.clone())
            .repository_name(repository)
            .image_manifest(text)
            .image_manifest_media_type(&manifest.media_type)
            .image_digest(manifest.digest.to_string())
            .image_tag(tag)
            .send()
            .await
        {
            Ok(_) => Ok(PutOutcome::Written),
            Err(e) if e.code() == Some("ImageAlreadyExistsException") => {
                Ok(PutOutcome::AlreadyExists)
            }
            Err(e) if e.code() == Some("ImageTagAlreadyExistsException") => {
                Ok(PutOutcome::TagTaken)
            }
            Err(e) => Err(self.failure("PutImage", Some(repository), &e)),
        }
    }
}

pub(crate) mod failure;

#[cfg(test)]
mod tests {
    use super::failure::classify;
    use super::*;

    #[test]
    fn an_existing_repository_s_differing_settings_are_listed() {
        let settings = RepositorySettings {
            scan_on_push: true,
            tag_mutability: TagMutability::Immutable,
            keep_images: 30,
        };
        let cdk = Existing {
            scan_on_push: Some(false),
            tag_mutability: Some("MUTABLE".into()),
            encryption: Some("AES256".into()),
        };
        assert_eq!(
            cdk.differences(&settings),
            [
                "scan on push is off, the manifest says on",
                "tags are MUTABLE, the manifest says IMMUTABLE (tag_mutability)"
            ]
        );
        let same = Existing {
            scan_on_push: Some(true),
            tag_mutability: Some("IMMUTABLE".into()),
            encryption: Some("AES256".into()),
        };
        assert!(same.differences(&settings).is_empty());
        let kms = Existing {
            encryption: Some("KMS".into()),
            ..same
        };
        assert_eq!(
            kms.differences(&settings),
            ["encryption is KMS, fleet-images creates AES256"]
        );
    }

    #[test]
    fn classifies_aws_error_codes() {
        assert_eq!(
            classify(Some("AccessDeniedException"), Some(400)),
            EcrFailure::AccessDenied
        );
        assert_eq!(
            classify(Some("UnrecognizedClientException"), Some(400)),
            EcrFailure::Credentials
        );
        assert_eq!(
            classify(Some("ExpiredTokenException"), Some(400)),
            EcrFailure::Credentials
        );
        assert_eq!(
            classify(Some("ThrottlingException"), Some(400)),
            EcrFailure::Unavailable
        );
        assert_eq!(classify(None, Some(503)), EcrFailure::Unavailable);
        assert_eq!(
            classify(Some("InvalidParameterException"), Some(400)),
            EcrFailure::Other
        );
        assert_eq!(
            classify(Some("RepositoryNotFoundException"), Some(400)),
            EcrFailure::RepositoryNotFound
        );
    }
}
