//! The crate's one error type, with a stable kind per failure class.

use std::fmt;
use std::sync::Arc;

/// What class of failure an [`Error`] is. Stable: the C ABI maps each kind to a
/// status code that never changes meaning.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum ErrorKind {
    /// The input (a reference, a manifest, options, a path, a file) is malformed.
    InvalidInput,
    /// The image, manifest, blob, tag or repository does not exist.
    NotFound,
    /// Credentials are missing or were refused.
    Unauthorized,
    /// The credentials are valid but do not allow the operation.
    Denied,
    /// Content did not match the digest or size it was announced with.
    DigestMismatch,
    /// The operation or format is recognised but not supported.
    Unsupported,
    /// The network or the remote server failed.
    Network,
    /// A local file-system operation failed.
    Io,
    /// A policy (for example a signature policy) refused the operation.
    Policy,
    /// The remote server asked us to slow down.
    RateLimited,
    /// The caller cancelled the operation.
    Cancelled,
}

impl ErrorKind {
    /// The kind's stable, machine-readable name (`"not_found"`, …).
    pub fn as_str(self) -> &'static str {
        match self {
            ErrorKind::InvalidInput => "invalid_input",
            ErrorKind::NotFound => "not_found",
            ErrorKind::Unauthorized => "unauthorized",
            ErrorKind::Denied => "denied",
            ErrorKind::DigestMismatch => "digest_mismatch",
            ErrorKind::Unsupported => "unsupported",
            ErrorKind::Network => "network",
            ErrorKind::Io => "io",
            ErrorKind::Policy => "policy",
            ErrorKind::RateLimited => "rate_limited",
            ErrorKind::Cancelled => "cancelled",
        }
    }
}

impl fmt::Display for ErrorKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One entry of a registry's error list (`{"code", "message", "detail"}`).
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct RegistryError {
    /// The registry's error code, such as `MANIFEST_UNKNOWN`.
    pub code: String,
    /// The registry's human-readable message.
    #[serde(default)]
    pub message: String,
    /// Extra detail the registry attached, if any.
    #[serde(default, skip_serializing_if = "serde_json::Value::is_null")]
    pub detail: serde_json::Value,
}

/// An error from any Stevedore operation: a kind, a message a person can act on,
/// and, for remote failures, the HTTP status and the registry's error list.
/// An error made from an I/O error ([`Error::io`]) keeps it as its
/// [`source`](std::error::Error::source).
#[derive(Debug, Clone)]
pub struct Error {
    kind: ErrorKind,
    message: String,
    http_status: Option<u16>,
    registry_errors: Vec<RegistryError>,
    source: Option<Arc<std::io::Error>>,
}

/// Two errors are equal when kind, message, HTTP status and registry errors
/// are; the wrapped source (already part of the message) is not compared.
impl PartialEq for Error {
    fn eq(&self, other: &Error) -> bool {
        self.kind == other.kind
            && self.message == other.message
            && self.http_status == other.http_status
            && self.registry_errors == other.registry_errors
    }
}

/// The crate's result type.
pub type Result<T, E = Error> = std::result::Result<T, E>;

impl Error {
    /// An error of `kind` with `message`.
    pub fn new(kind: ErrorKind, message: impl Into<String>) -> Error {
        Error {
            kind,
            message: message.into(),
            http_status: None,
            registry_errors: Vec::new(),
            source: None,
        }
    }

    /// An [`ErrorKind::InvalidInput`] error.
    pub fn invalid(message: impl Into<String>) -> Error {
        Error::new(ErrorKind::InvalidInput, message)
    }

    /// An [`ErrorKind::NotFound`] error.
    pub fn not_found(message: impl Into<String>) -> Error {
        Error::new(ErrorKind::NotFound, message)
    }

    /// An [`ErrorKind::Unsupported`] error.
    pub fn unsupported(message: impl Into<String>) -> Error {
        Error::new(ErrorKind::Unsupported, message)
    }

    /// An error for a failed file-system operation: `what` says what was being done
    /// (for example `"reading /x/index.json"`). A missing file maps to
    /// [`ErrorKind::NotFound`], everything else to [`ErrorKind::Io`]. The I/O
    /// error is the result's [`source`](std::error::Error::source).
    ///
    /// ```
    /// use std::error::Error as _;
    /// let err = stevedore::Error::io(
    ///     "reading /x/index.json",
    ///     std::io::Error::from(std::io::ErrorKind::NotFound),
    /// );
    /// assert_eq!(err.kind(), stevedore::ErrorKind::NotFound);
    /// assert!(err.source().is_some());
    /// ```
    pub fn io(what: impl fmt::Display, err: std::io::Error) -> Error {
        let kind = match err.kind() {
            std::io::ErrorKind::NotFound => ErrorKind::NotFound,
            _ => ErrorKind::Io,
        };
        let mut error = Error::new(kind, format!("{what}: {err}"));
        error.source = Some(Arc::new(err));
        error
    }

    /// Attaches the HTTP status of the reply that caused this error.
    pub fn with_http_status(mut self, status: u16) -> Error {
        self.http_status = Some(status);
        self
    }

    /// Attaches the registry's error list.
    pub fn with_registry_errors(mut self, errors: Vec<RegistryError>) -> Error {
        self.registry_errors = errors;
        self
    }

    /// Prefixes the message with context, keeping kind and details.
    pub fn context(mut self, context: impl fmt::Display) -> Error {
        self.message = format!("{context}: {}", self.message);
        self
    }

    /// The error's kind.
    pub fn kind(&self) -> ErrorKind {
        self.kind
    }

    /// The message, without the kind.
    pub fn message(&self) -> &str {
        &self.message
    }

    /// The HTTP status of the reply that caused the error, if any.
    pub fn http_status(&self) -> Option<u16> {
        self.http_status
    }

    /// The registry's error list, empty when there was none.
    pub fn registry_errors(&self) -> &[RegistryError] {
        &self.registry_errors
    }

    /// The error as the JSON object the C ABI and `--json` output use:
    /// `{kind, message, http_status, registry_errors}`.
    pub fn to_json(&self) -> serde_json::Value {
        serde_json::json!({
            "kind": self.kind.as_str(),
            "message": self.message,
            "http_status": self.http_status,
            "registry_errors": self.registry_errors,
        })
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for Error {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        self.source
            .as_deref()
            .map(|err| err as &(dyn std::error::Error + 'static))
    }
}

impl From<Error> for std::io::Error {
    fn from(err: Error) -> std::io::Error {
        std::io::Error::other(err)
    }
}

/// Recovers a Stevedore error carried inside an `io::Error` (as readers do), or
/// wraps a plain I/O error with `what` as context.
pub fn from_io(what: impl fmt::Display, err: std::io::Error) -> Error {
    match err.downcast::<Error>() {
        Ok(inner) => inner,
        Err(err) => Error::io(what, err),
    }
}
