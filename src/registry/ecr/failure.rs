//! An ECR call that failed, as a typed error: AWS's error code and HTTP status sorted into an
//! [`EcrFailure`] (which decides the exit code and the hint), the message scrubbed of secrets.

use aws_sdk_ecr::error::{DisplayErrorContext, ProvideErrorMetadata, SdkError};

use super::Ecr;
use crate::registry::error::{AwsCause, EcrFailure};
use crate::registry::RegistryError;
use crate::secret::Redactor;

impl Ecr {
    /// The error for a failed call, classified and scrubbed.
    pub(super) fn failure<E>(
        &self,
        operation: &'static str,
        repository: Option<&str>,
        error: &SdkError<E, aws_sdk_ecr::config::http::HttpResponse>,
    ) -> RegistryError
    where
        E: ProvideErrorMetadata + std::error::Error + 'static,
    {
        let redactor = self.redactor.read().expect("redactor lock");
        let (failure, code, message) = match error {
            SdkError::ServiceError(_) => {
                let status = error.raw_response().map(|r| r.status().as_u16());
                let code = error.code().map(str::to_string);
                let message = error.message().unwrap_or_default().to_string();
                (classify(code.as_deref(), status), code, message)
            }
            SdkError::TimeoutError(_) => (
                EcrFailure::Unreachable,
                None,
                DisplayErrorContext(error).to_string(),
            ),
            SdkError::ResponseError(_) => (
                EcrFailure::Unavailable,
                None,
                DisplayErrorContext(error).to_string(),
            ),
            SdkError::DispatchFailure(_) | SdkError::ConstructionFailure(_) => {
                let message = DisplayErrorContext(error).to_string();
                // Identity resolution fails before anything is sent, and says so.
                let failure = if message.to_ascii_lowercase().contains("credential") {
                    EcrFailure::Credentials
                } else {
                    EcrFailure::Unreachable
                };
                (failure, None, message)
            }
            _ => (
                EcrFailure::Other,
                None,
                DisplayErrorContext(error).to_string(),
            ),
        };
        ecr_error(operation, repository, failure, code, &message, &redactor)
    }
}

/// The error for a failed ECR call, its AWS message scrubbed of the tokens `redactor` knows.
pub(crate) fn ecr_error(
    operation: &'static str,
    repository: Option<&str>,
    failure: EcrFailure,
    code: Option<String>,
    message: &str,
    redactor: &Redactor,
) -> RegistryError {
    RegistryError::Ecr {
        operation,
        repository: repository.map(str::to_string),
        failure,
        source: AwsCause {
            code,
            message: redactor.scrub(message),
        },
    }
}

/// What an AWS error code (and HTTP status) means for the user.
pub(crate) fn classify(code: Option<&str>, status: Option<u16>) -> EcrFailure {
    match code.unwrap_or_default() {
        "AccessDeniedException" | "AccessDenied" | "UnauthorizedOperation" => {
            EcrFailure::AccessDenied
        }
        "UnrecognizedClientException"
        | "InvalidSignatureException"
        | "SignatureDoesNotMatch"
        | "IncompleteSignature"
        | "MissingAuthenticationToken"
        | "InvalidClientTokenId"
        | "ExpiredTokenException"
        | "ExpiredToken" => EcrFailure::Credentials,
        "ThrottlingException"
        | "Throttling"
        | "TooManyRequestsException"
        | "RequestLimitExceeded"
        | "ServerException"
        | "ServiceUnavailable"
        | "InternalFailure" => EcrFailure::Unavailable,
        "RepositoryNotFoundException" => EcrFailure::RepositoryNotFound,
        _ if status.is_some_and(|s| s >= 500 || s == 429) => EcrFailure::Unavailable,
        _ => EcrFailure::Other,
    }
}
