//! What a handler answers: a status, headers and a body, and the errors of
//! the distribution spec as their JSON with their status codes.

use std::io::Read;

use serde_json::json;

use crate::error::{Error, ErrorKind};

/// A response body.
pub enum Body {
    /// No body.
    Empty,
    /// These bytes.
    Bytes(Vec<u8>),
    /// A stream of this many bytes.
    Stream(Box<dyn Read + Send>, u64),
}

/// A response.
pub struct Reply {
    pub status: u16,
    pub headers: Vec<(&'static str, String)>,
    pub body: Body,
}

impl Reply {
    /// A reply with `status` and no body.
    pub fn empty(status: u16) -> Reply {
        Reply {
            status,
            headers: Vec::new(),
            body: Body::Empty,
        }
    }

    /// A reply of JSON.
    pub fn json(status: u16, value: &serde_json::Value) -> Reply {
        Reply::bytes(status, "application/json", value.to_string().into_bytes())
    }

    /// A reply of `bytes` of type `content_type`.
    pub fn bytes(status: u16, content_type: &str, bytes: Vec<u8>) -> Reply {
        Reply {
            status,
            headers: vec![("Content-Type", content_type.to_owned())],
            body: Body::Bytes(bytes),
        }
    }

    /// This reply with one more header.
    pub fn header(mut self, name: &'static str, value: impl Into<String>) -> Reply {
        self.headers.push((name, value.into()));
        self
    }
}

/// An error of the distribution spec: a status and one of its codes.
#[derive(Debug)]
pub struct ApiError {
    pub status: u16,
    pub code: &'static str,
    pub message: String,
    /// Extra headers (a challenge with `UNAUTHORIZED`, `Range` with an upload error).
    pub headers: Vec<(&'static str, String)>,
}

impl ApiError {
    /// An error with `status`, `code` and `message`.
    pub fn new(status: u16, code: &'static str, message: impl Into<String>) -> ApiError {
        ApiError {
            status,
            code,
            message: message.into(),
            headers: Vec::new(),
        }
    }

    /// This error with one more header.
    pub fn header(mut self, name: &'static str, value: impl Into<String>) -> ApiError {
        self.headers.push((name, value.into()));
        self
    }

    /// The error as a reply.
    pub fn reply(self) -> Reply {
        let body = json!({
            "errors": [{"code": self.code, "message": self.message, "detail": {}}]
        });
        let mut reply = Reply::json(self.status, &body);
        reply.headers.extend(self.headers);
        reply
    }
}

/// The spec's errors, by name.
pub mod codes {
    use super::ApiError;

    /// The blob is not in the repository.
    pub fn blob_unknown(what: impl std::fmt::Display) -> ApiError {
        ApiError::new(
            404,
            "BLOB_UNKNOWN",
            format!("blob unknown to registry: {what}"),
        )
    }
    /// The upload does not exist (or expired).
    pub fn upload_unknown() -> ApiError {
        ApiError::new(
            404,
            "BLOB_UPLOAD_UNKNOWN",
            "blob upload unknown to registry",
        )
    }
    /// The upload is not valid.
    pub fn upload_invalid(status: u16, why: impl Into<String>) -> ApiError {
        ApiError::new(status, "BLOB_UPLOAD_INVALID", why)
    }
    /// A digest was malformed or did not match the content.
    pub fn digest_invalid(why: impl Into<String>) -> ApiError {
        ApiError::new(400, "DIGEST_INVALID", why)
    }
    /// A manifest references what the repository lacks.
    pub fn manifest_blob_unknown(what: impl std::fmt::Display) -> ApiError {
        ApiError::new(
            400,
            "MANIFEST_BLOB_UNKNOWN",
            format!("manifest references {what}, which is unknown to the repository"),
        )
    }
    /// The manifest is malformed.
    pub fn manifest_invalid(why: impl Into<String>) -> ApiError {
        ApiError::new(400, "MANIFEST_INVALID", why)
    }
    /// The manifest is not in the repository.
    pub fn manifest_unknown(what: impl std::fmt::Display) -> ApiError {
        ApiError::new(404, "MANIFEST_UNKNOWN", format!("manifest unknown: {what}"))
    }
    /// The repository name is malformed.
    pub fn name_invalid(why: impl Into<String>) -> ApiError {
        ApiError::new(400, "NAME_INVALID", why)
    }
    /// The repository does not exist.
    pub fn name_unknown(name: &str) -> ApiError {
        ApiError::new(
            404,
            "NAME_UNKNOWN",
            format!("repository name not known to registry: {name}"),
        )
    }
    /// A size or length is wrong or too large.
    pub fn size_invalid(status: u16, why: impl Into<String>) -> ApiError {
        ApiError::new(status, "SIZE_INVALID", why)
    }
    /// Authentication is needed.
    pub fn unauthorized() -> ApiError {
        ApiError::new(401, "UNAUTHORIZED", "authentication required")
            .header("WWW-Authenticate", "Basic realm=\"stevedore\"")
    }
    /// The operation is not allowed.
    pub fn denied(why: impl Into<String>) -> ApiError {
        ApiError::new(403, "DENIED", why)
    }
    /// The operation is not supported.
    pub fn unsupported(why: impl Into<String>) -> ApiError {
        ApiError::new(405, "UNSUPPORTED", why)
    }
    /// Too many requests (upload sessions) at once.
    pub fn too_many(why: impl Into<String>) -> ApiError {
        ApiError::new(429, "TOOMANYREQUESTS", why)
    }
}

impl From<Error> for ApiError {
    fn from(e: Error) -> ApiError {
        match e.kind() {
            ErrorKind::DigestMismatch => codes::digest_invalid(e.message()),
            ErrorKind::InvalidInput => ApiError::new(400, "UNSUPPORTED", e.message()),
            ErrorKind::NotFound => ApiError::new(404, "NAME_UNKNOWN", e.message()),
            ErrorKind::RateLimited => ApiError::new(429, "TOOMANYREQUESTS", e.message()),
            ErrorKind::Network | ErrorKind::Unauthorized => {
                ApiError::new(503, "UNAVAILABLE", e.message())
            }
            _ => ApiError::new(500, "UNKNOWN", e.message()),
        }
    }
}
