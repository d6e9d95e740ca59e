//! Registry credentials: where they come from (explicit and bound to one
//! registry, containers `auth.json`, docker `config.json`, credential helpers),
//! the `WWW-Authenticate` challenge, a thread-safe cache of bearer tokens, and
//! `login`/`logout` writing the auth file skopeo and podman write. Secrets
//! never appear in `Debug` output, errors or JSON.

mod challenge;
mod files;
mod store;
mod tokens;

use std::fmt;

use base64::Engine as _;

pub use challenge::{parse_challenges, Challenge};
pub use files::{default_auth_files, primary_auth_file, CredentialSource};
pub use store::{remove_login, write_login};
pub use tokens::{Scope, TokenCache};

use crate::error::{Error, Result};

/// A secret string (password or token) whose `Debug` shows nothing of it.
#[derive(Clone, PartialEq, Eq, Default, serde::Deserialize)]
#[serde(transparent)]
pub struct Secret(String);

impl Secret {
    /// Wraps `value`.
    pub fn new(value: impl Into<String>) -> Secret {
        Secret(value.into())
    }

    /// The secret itself, for the one place that must send it.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Secret(<redacted>)")
    }
}

/// How to authenticate to a registry.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub enum Credentials {
    /// No credentials.
    #[default]
    Anonymous,
    /// A user name and password (or personal access token).
    Basic {
        /// The user name.
        username: String,
        /// The password.
        password: Secret,
    },
    /// An OAuth2 refresh token (`identitytoken` in docker's config.json).
    IdentityToken(Secret),
}

impl Credentials {
    /// Parses `USER:PASSWORD`, as given to `--creds`.
    pub fn from_user_pass(s: &str) -> Result<Credentials> {
        match s.split_once(':') {
            Some((user, pass)) if !user.is_empty() => Ok(Credentials::Basic {
                username: user.to_owned(),
                password: Secret::new(pass),
            }),
            _ => Err(Error::invalid(
                "credentials must be written USER:PASSWORD, with a non-empty user",
            )),
        }
    }

    /// The `Authorization` header value for basic authentication, if these
    /// credentials can give one.
    pub(crate) fn basic_header(&self) -> Option<String> {
        match self {
            Credentials::Basic { username, password } => Some(format!(
                "Basic {}",
                base64::engine::general_purpose::STANDARD
                    .encode(format!("{username}:{}", password.expose()))
            )),
            _ => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secrets_never_show_in_debug() {
        let creds = Credentials::from_user_pass("alice:hunter2").unwrap();
        assert!(!format!("{creds:?}").contains("hunter2"));
        let token = Credentials::IdentityToken(Secret::new("tok-123"));
        assert!(!format!("{token:?}").contains("tok-123"));
        assert!(Credentials::from_user_pass("nocolon").is_err());
        assert!(Credentials::from_user_pass(":pw").is_err());
    }
}
