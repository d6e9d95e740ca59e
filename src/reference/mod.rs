//! Image references (`registry.example:5000/team/app:1.2@sha256:…`), parsed by the
//! distribution/reference grammar and normalised the way `docker` does:
//! `busybox` is `docker.io/library/busybox`.
//!
//! The model and its display forms are here; parsing and the grammar's
//! checks are in `parse`, spotting and hiding credentials in `redact`.

mod parse;
mod redact;
#[cfg(test)]
mod tests;

use parse::validate_tag;
pub use parse::{validate_registry, validate_repository, validate_tag_name};
pub use redact::redacted;

use std::fmt;

use crate::digest::Digest;
use crate::error::Result;

/// The registry a reference without a domain points to.
pub const DEFAULT_DOMAIN: &str = "docker.io";
/// An alias of [`DEFAULT_DOMAIN`] normalised to it.
pub const LEGACY_DEFAULT_DOMAIN: &str = "index.docker.io";
/// The namespace of Docker Hub's official images (`busybox` → `library/busybox`).
pub const OFFICIAL_REPOSITORY_NAMESPACE: &str = "library";
/// The tag used when a reference names neither tag nor digest.
pub const DEFAULT_TAG: &str = "latest";
/// The longest a name (domain and path) may be.
pub const NAME_TOTAL_LENGTH_MAX: usize = 255;
/// The longest a tag may be.
pub const TAG_LENGTH_MAX: usize = 128;

/// A normalised image reference: a domain, a repository path, and optionally a
/// tag and a digest (both may be present).
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct Reference {
    domain: String,
    path: String,
    tag: Option<String>,
    digest: Option<Digest>,
}

impl Reference {
    /// Parses and normalises `s`. Equivalent to `s.parse()`.
    pub fn parse(s: &str) -> Result<Reference> {
        s.parse()
    }

    /// The registry host, with its port if any (`docker.io`, `localhost:5000`).
    pub fn domain(&self) -> &str {
        &self.domain
    }

    /// The repository path within the registry (`library/busybox`).
    pub fn repository(&self) -> &str {
        &self.path
    }

    /// The tag, if the reference has one.
    pub fn tag(&self) -> Option<&str> {
        self.tag.as_deref()
    }

    /// The digest, if the reference has one.
    pub fn digest(&self) -> Option<&Digest> {
        self.digest.as_ref()
    }

    /// The full name without tag or digest (`docker.io/library/busybox`).
    pub fn name(&self) -> String {
        format!("{}/{}", self.domain, self.path)
    }

    /// The short form people type: `busybox:latest` for
    /// `docker.io/library/busybox:latest`, `quay.io/x/y` unchanged.
    pub fn familiar(&self) -> String {
        let mut out = if self.domain == DEFAULT_DOMAIN {
            self.path
                .strip_prefix("library/")
                .filter(|rest| !rest.contains('/'))
                .unwrap_or(&self.path)
                .to_owned()
        } else {
            self.name()
        };
        self.push_suffix(&mut out);
        out
    }

    /// This reference with its tag replaced by `tag` (validated).
    pub fn with_tag(&self, tag: &str) -> Result<Reference> {
        validate_tag(tag, tag)?;
        Ok(Reference {
            tag: Some(tag.to_owned()),
            ..self.clone()
        })
    }

    /// This reference with its digest replaced by `digest`.
    pub fn with_digest(&self, digest: Digest) -> Reference {
        Reference {
            digest: Some(digest),
            ..self.clone()
        }
    }

    fn push_suffix(&self, out: &mut String) {
        if let Some(tag) = &self.tag {
            out.push(':');
            out.push_str(tag);
        }
        if let Some(digest) = &self.digest {
            out.push('@');
            out.push_str(&digest.to_string());
        }
    }
}

impl fmt::Display for Reference {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut out = self.name();
        self.push_suffix(&mut out);
        f.write_str(&out)
    }
}

impl fmt::Debug for Reference {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Reference({self})")
    }
}
