//! Who may do what: users from an htpasswd file (bcrypt entries), checked
//! from the `Authorization: Basic` header, and a decision per user,
//! repository and action — a read-only server denies writes, and an
//! embedding program can add its own rule.

use std::collections::{HashMap, HashSet};
use std::path::Path;
use std::sync::{Arc, Mutex};

use base64::Engine;

use crate::auth::Secret;
use crate::digest::Digest;
use crate::error::{Error, Result};

/// What a request does to a repository.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Action {
    /// Read manifests, blobs, tags, referrers (and the catalog, with an empty repository).
    Pull,
    /// Upload blobs and manifests, mount.
    Push,
    /// Delete manifests, tags and blobs.
    Delete,
}

/// A rule deciding whether `user` (`None`: anonymous) may do `action` on
/// `repository`; it runs after authentication and the read-only check.
pub type Authorizer = dyn Fn(Option<&str>, &str, Action) -> bool + Send + Sync;

/// Users and their bcrypt hashes.
pub struct Htpasswd {
    users: HashMap<String, String>,
    /// (user, SHA-256 of the password) pairs already verified: bcrypt is
    /// slow by design, and clients send credentials with every request.
    verified: Mutex<HashSet<(String, Digest)>>,
}

impl Htpasswd {
    /// Reads an htpasswd file of `user:hash` lines; only bcrypt hashes
    /// (`$2a$`, `$2b$`, `$2y$`, as `htpasswd -B` writes) are accepted.
    pub fn load(path: &Path) -> Result<Htpasswd> {
        let text = std::fs::read_to_string(path)
            .map_err(|e| Error::io(format!("reading {}", path.display()), e))?;
        let mut users = HashMap::new();
        for (number, line) in text.lines().enumerate() {
            let line = line.trim();
            if line.is_empty() || line.starts_with('#') {
                continue;
            }
            let (user, hash) = line.split_once(':').ok_or_else(|| {
                Error::invalid(format!(
                    "{} line {}: expected USER:HASH",
                    path.display(),
                    number + 1
                ))
            })?;
            if !["$2a$", "$2b$", "$2y$"].iter().any(|p| hash.starts_with(p)) {
                return Err(Error::invalid(format!(
                    "{} line {}: the hash of {user:?} is not bcrypt; write the file with htpasswd -B",
                    path.display(),
                    number + 1
                )));
            }
            users.insert(user.to_owned(), hash.to_owned());
        }
        Ok(Htpasswd {
            users,
            verified: Mutex::new(HashSet::new()),
        })
    }

    /// Whether `password` is `user`'s.
    fn check(&self, user: &str, password: &Secret) -> bool {
        let Some(hash) = self.users.get(user) else {
            return false;
        };
        let key = (
            user.to_owned(),
            Digest::sha256(password.expose().as_bytes()),
        );
        let mut verified = self.verified.lock().unwrap_or_else(|p| p.into_inner());
        if verified.contains(&key) {
            return true;
        }
        let ok = bcrypt::verify(password.expose(), hash).unwrap_or(false);
        if ok {
            verified.insert(key);
        }
        ok
    }
}

/// The access policy of a server.
#[derive(Clone, Default)]
pub struct Access {
    pub htpasswd: Option<Arc<Htpasswd>>,
    pub read_only: bool,
    pub authorizer: Option<Arc<Authorizer>>,
}

/// Why a request was refused.
pub enum Refusal {
    /// No or wrong credentials.
    Unauthenticated,
    /// Authenticated, but not allowed.
    Denied(String),
}

impl Access {
    /// The user the `Authorization` header names, checked: `Ok(None)` for an
    /// anonymous request where that is allowed.
    pub fn authenticate(&self, authorization: Option<&str>) -> Result<Option<String>, Refusal> {
        let Some(htpasswd) = &self.htpasswd else {
            return Ok(None);
        };
        let credentials = authorization
            .and_then(|h| {
                h.strip_prefix("Basic ")
                    .or_else(|| h.strip_prefix("basic "))
            })
            .and_then(|b| {
                base64::engine::general_purpose::STANDARD
                    .decode(b.trim())
                    .ok()
            })
            .and_then(|b| String::from_utf8(b).ok())
            .ok_or(Refusal::Unauthenticated)?;
        let (user, password) = credentials
            .split_once(':')
            .ok_or(Refusal::Unauthenticated)?;
        if htpasswd.check(user, &Secret::new(password)) {
            Ok(Some(user.to_owned()))
        } else {
            Err(Refusal::Unauthenticated)
        }
    }

    /// Whether `user` may do `action` on `repository`.
    pub fn authorize(
        &self,
        user: Option<&str>,
        repository: &str,
        action: Action,
    ) -> Result<(), Refusal> {
        if self.read_only && action != Action::Pull {
            return Err(Refusal::Denied("this registry is read-only".to_owned()));
        }
        match &self.authorizer {
            Some(rule) if !rule(user, repository, action) => Err(Refusal::Denied(format!(
                "{} may not {} {repository:?}",
                user.unwrap_or("anonymous"),
                match action {
                    Action::Pull => "pull from",
                    Action::Push => "push to",
                    Action::Delete => "delete from",
                }
            ))),
            _ => Ok(()),
        }
    }
}
