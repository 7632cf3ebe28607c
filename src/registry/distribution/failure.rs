//! A registry's answer that is not a success, as a typed error: the one place that maps an HTTP
//! status to a [`RegistryError`], with the registry's own words scrubbed of secrets.

use super::{Answer, Distribution};
use crate::registry::error::{Action, Place};
use crate::registry::RegistryError;

impl Distribution {
    /// The error for an answer that is not a success: the one place that maps a registry's HTTP
    /// status to a typed error.
    pub(super) fn failure(&self, answer: &Answer, place: Place, action: Action) -> RegistryError {
        let message = self.redactor().scrub(&error_message(&answer.body));
        match answer.status {
            401 => RegistryError::AuthFailed {
                place,
                credentials: self.source(),
                message,
            },
            403 => RegistryError::AccessDenied {
                place,
                action,
                credentials: self.source(),
                ecr: self.ecr,
                message,
            },
            429 | 500..=599 => RegistryError::ServerError {
                place,
                action,
                status: answer.status,
                attempts: answer.attempts,
                message,
            },
            400..=499 => RegistryError::Rejected {
                place,
                action,
                status: answer.status,
                message,
            },
            status => RegistryError::Protocol {
                place,
                action,
                problem: format!("unexpected HTTP {status}"),
            },
        }
    }
}

/// The registry's own words: `{"errors":[{"code","message"}]}` as `CODE: message`, else the body
/// when it is short text.
pub(super) fn error_message(body: &[u8]) -> String {
    #[derive(serde::Deserialize)]
    struct Errors {
        errors: Vec<ErrorEntry>,
    }
    #[derive(serde::Deserialize)]
    struct ErrorEntry {
        #[serde(default)]
        code: String,
        #[serde(default)]
        message: String,
    }
    if let Ok(parsed) = serde_json::from_slice::<Errors>(body) {
        return parsed
            .errors
            .iter()
            .map(|e| match (e.code.is_empty(), e.message.is_empty()) {
                (false, false) => format!("{}: {}", e.code, e.message),
                (false, true) => e.code.clone(),
                _ => e.message.clone(),
            })
            .collect::<Vec<_>>()
            .join("; ");
    }
    match std::str::from_utf8(body) {
        Ok(text) if !text.trim_start().starts_with('<') => text.trim().to_string(),
        _ => String::new(),
    }
}
