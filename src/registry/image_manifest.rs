//! Image manifests as the tool moves them between tags: the exact bytes (their sha256 is the
//! digest), the media type, and how both are read from a registry's answer. The tool accepts OCI
//! indexes and manifests and Docker manifest lists and v2 manifests, and writes them back
//! unchanged, so a moving tag names the very digest the key tag names.

use bytes::Bytes;
use reqwest::header::{HeaderMap, HeaderValue, ACCEPT, CONTENT_TYPE};
use sha2::{Digest as _, Sha256};

use crate::names::Digest;

/// The manifest media types the tool accepts and writes back unchanged: OCI index and manifest,
/// Docker manifest list and v2 manifest.
pub(crate) const MANIFEST_MEDIA_TYPES: [&str; 4] = [
    "application/vnd.oci.image.index.v1+json",
    "application/vnd.oci.image.manifest.v1+json",
    "application/vnd.docker.distribution.manifest.list.v2+json",
    "application/vnd.docker.distribution.manifest.v2+json",
];

/// The header that carries a manifest's digest.
const DIGEST_HEADER: &str = "docker-content-digest";

/// A manifest as the registry stores it: the exact bytes (the digest is over them), with its
/// media type.
#[derive(Debug, Clone)]
pub(crate) struct Manifest {
    /// The bytes, unchanged.
    pub bytes: Bytes,
    /// Its media type.
    pub media_type: String,
    /// Its digest: sha256 of the bytes (ECR's own word for it when read through the ECR API).
    pub digest: Digest,
}

/// An `Accept` header listing every manifest media type, so the registry answers with the
/// manifest as stored (an index stays an index) rather than converting it.
pub(crate) fn accept_manifests() -> HeaderMap {
    let mut headers = HeaderMap::new();
    headers.insert(
        ACCEPT,
        HeaderValue::from_str(&MANIFEST_MEDIA_TYPES.join(", "))
            .expect("static media types are valid"),
    );
    headers
}

/// The digest in `Docker-Content-Digest`, when there is a `sha256:` one.
pub(crate) fn header_digest(headers: &HeaderMap) -> Option<Digest> {
    headers
        .get(DIGEST_HEADER)?
        .to_str()
        .ok()?
        .trim()
        .parse()
        .ok()
}

/// sha256 of `bytes`, as a digest.
pub(crate) fn sha256_digest(bytes: &[u8]) -> Digest {
    format!("sha256:{}", hex::encode(Sha256::digest(bytes)))
        .parse()
        .expect("64 hex characters make a digest")
}

/// The manifest's media type: `Content-Type` when it names a manifest type, else the body's
/// `mediaType` (some registries answer `application/json`).
pub(crate) fn media_type(headers: &HeaderMap, body: &[u8]) -> Option<String> {
    let from_header = headers
        .get(CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .map(|v| v.split(';').next().unwrap_or(v).trim().to_string())
        .filter(|v| MANIFEST_MEDIA_TYPES.contains(&v.as_str()));
    from_header.or_else(|| manifest_media_type(body))
}

/// The `mediaType` field of a manifest.
pub(crate) fn manifest_media_type(body: &[u8]) -> Option<String> {
    #[derive(serde::Deserialize)]
    struct Typed {
        #[serde(rename = "mediaType")]
        media_type: Option<String>,
    }
    serde_json::from_slice::<Typed>(body)
        .ok()?
        .media_type
        .filter(|t| !t.is_empty())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_the_media_type_in_header_or_body() {
        let mut headers = HeaderMap::new();
        headers.insert(
            CONTENT_TYPE,
            HeaderValue::from_static("application/json; charset=utf-8"),
        );
        let body =
            br#"{"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json"}"#;
        assert_eq!(
            media_type(&headers, body).as_deref(),
            Some(MANIFEST_MEDIA_TYPES[1])
        );
        headers.insert(
            CONTENT_TYPE,
            HeaderValue::from_static(MANIFEST_MEDIA_TYPES[3]),
        );
        assert_eq!(
            media_type(&headers, b"{}").as_deref(),
            Some(MANIFEST_MEDIA_TYPES[3])
        );
        assert_eq!(media_type(&HeaderMap::new(), b"{}"), None);
    }

    #[test]
    fn digests_are_sha256_of_the_bytes() {
        assert_eq!(
            sha256_digest(b"").to_string(),
            "sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
        );
        let mut headers = HeaderMap::new();
        headers.insert(
            "docker-content-digest",
            HeaderValue::from_static("sha512:abc"),
        );
        assert_eq!(header_digest(&headers), None);
    }
}
