//! Base images and their identities: what an external `FROM` (or `COPY --from`) image is, as the
//! engine knows it. The identity enters the key, so its text (`digest:…`, `image:…`,
//! `unresolved:…`) is part of the key scheme and must not change.

use std::collections::HashMap;
use std::fmt;
use std::sync::Arc;

use futures_util::future::join_all;

use crate::docker::{Engine, EngineError};
use crate::hash::inputs::Parsed;
use crate::names::{ImageName, ImageRef};

/// What identifies a base image.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Identity {
    /// The registry's manifest digest (`sha256:…`), recorded by the engine or asked of the
    /// registry.
    Digest(String),
    /// The local image id, for a local image no registry digest is known for.
    Image(String),
    /// Not asked, or not found: `plan`, `hash` and `check` still key an image whose base the
    /// engine cannot identify (and say so); commands that build need the base.
    Unresolved,
}

/// One external base of an image with its identity.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BaseIdentity {
    /// The base, after build-arg substitution.
    pub reference: ImageRef,
    /// What identifies it.
    pub identity: Identity,
}

impl BaseIdentity {
    /// Whether the engine could not identify it.
    pub fn is_unresolved(&self) -> bool {
        self.identity == Identity::Unresolved
    }

    /// The (reference, identity) text pair the key and the input record are made of.
    pub fn key_pair(&self) -> (String, String) {
        (self.reference.to_string(), self.identity_text())
    }

    /// The identity as the key, the record and `plan --json` write it.
    pub fn identity_text(&self) -> String {
        self.to_string()
    }
}

/// Prints the identity: `digest:<digest>`, `image:<id>` or `unresolved:<reference>`.
impl fmt::Display for BaseIdentity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.identity {
            Identity::Digest(digest) => write!(f, "digest:{digest}"),
            Identity::Image(id) => write!(f, "image:{id}"),
            Identity::Unresolved => write!(f, "unresolved:{}", self.reference),
        }
    }
}

/// What the engine answered for each distinct base: its identity, or why it has none.
pub type Identities = HashMap<ImageRef, Result<Identity, Arc<EngineError>>>;

/// A base to ask the engine about, with the first image that names it (for the error's text)
/// and the build arg that sets it.
#[derive(Debug, Clone)]
pub struct BaseQuery {
    reference: ImageRef,
    image: ImageName,
    arg: Option<String>,
}

/// The distinct bases of the parsed images, each once, in the order first named.
pub fn distinct(images: &[(ImageName, &Parsed)]) -> Vec<BaseQuery> {
    let mut queries: Vec<BaseQuery> = Vec::new();
    for (image, parsed) in images {
        for base in parsed.bases() {
            if !queries.iter().any(|q| q.reference == base.reference) {
                queries.push(BaseQuery {
                    reference: base.reference.clone(),
                    image: image.clone(),
                    arg: base.arg.clone(),
                });
            }
        }
    }
    queries
}

/// Asks the engine about every base at once.
pub async fn resolve_all(engine: &Engine, queries: &[BaseQuery], pull: bool) -> Identities {
    let lookups = queries.iter().map(|query| async move {
        let identity = resolve(engine, query, pull).await.map_err(Arc::new);
        (query.reference.clone(), identity)
    });
    join_all(lookups).await.into_iter().collect()
}

/// Every base left unresolved, for a run without an engine.
pub fn unresolved(queries: &[BaseQuery]) -> Identities {
    queries
        .iter()
        .map(|q| (q.reference.clone(), Ok(Identity::Unresolved)))
        .collect()
}

/// Identifies a base image: its registry digest where the engine can learn it (the local image's
/// recorded digest for the same repository, or the registry itself with `--pull` or when the image
/// is not local), else the local image id.
async fn resolve(engine: &Engine, query: &BaseQuery, pull: bool) -> Result<Identity, EngineError> {
    let reference = &query.reference;
    let local = engine.inspect(&reference.to_string()).await?;
    if let (Some(local), false) = (&local, pull) {
        let name = reference.name();
        let recorded = local.repo_digests.iter().find_map(|d| {
            d.split_once('@')
                .filter(|(n, _)| *n == name)
                .map(|(_, digest)| digest.to_string())
        });
        return Ok(match recorded {
            Some(digest) => Identity::Digest(digest),
            None => Identity::Image(local.id.clone()),
        });
    }
    match (engine.registry_digest(reference, None).await, local) {
        (Ok(digest), _) => Ok(Identity::Digest(digest.to_string())),
        (Err(_), Some(local)) => Ok(Identity::Image(local.id)),
        (Err(source), None) => Err(EngineError::BaseMissing {
            image: query.image.clone(),
            reference: reference.to_string(),
            arg: query.arg.clone(),
            source: Some(source),
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn base(identity: Identity) -> BaseIdentity {
        BaseIdentity {
            reference: "docker.io/library/node:22".parse().unwrap(),
            identity,
        }
    }

    #[test]
    fn identities_print_as_the_key_scheme_has_them() {
        let reference = base(Identity::Unresolved).reference.to_string();
        let digest = format!("sha256:{}", "a".repeat(64));
        assert_eq!(
            base(Identity::Digest(digest.clone())).key_pair(),
            (reference.clone(), format!("digest:{digest}"))
        );
        assert_eq!(
            base(Identity::Image("sha256:b".into())).identity_text(),
            "image:sha256:b"
        );
        assert_eq!(
            base(Identity::Unresolved).identity_text(),
            format!("unresolved:{reference}")
        );
        assert!(base(Identity::Unresolved).is_unresolved());
        assert!(!base(Identity::Image("x".into())).is_unresolved());
    }
}
