//! The OCI Distribution (Docker Registry v2) client, on `ureq`: blocking,
//! shared by threads, cheap to clone. One [`Client`] holds the configuration,
//! the HTTP connection pools and the token cache for every registry it talks to.

mod blobs;
mod http;
mod link;
mod listing;
mod manifests;
mod referrers;

use std::collections::HashMap;
use std::fmt;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use serde::Deserialize;

pub use blobs::{BlobReader, MountResult, UploadSession};
pub use referrers::{fallback_tag, ReferrersSource};

use crate::auth::{CredentialSource, Credentials, Secret, TokenCache};
use crate::error::{Error, Result};

/// How a [`Client`] talks to registries. Deserialises from the C ABI's and
/// bindings' options JSON; unknown keys are an error.
#[derive(Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ClientOptions {
    /// A user name for every registry (with `password`). Defaults to none:
    /// credentials come from the auth files.
    pub username: Option<String>,
    /// The password for `username`.
    pub password: Option<Secret>,
    /// An OAuth2 refresh token for every registry. Defaults to none.
    pub identity_token: Option<Secret>,
    /// The auth file to read instead of the default ones
    /// (`REGISTRY_AUTH_FILE`, `XDG_RUNTIME_DIR/containers/auth.json`,
    /// `DOCKER_CONFIG/config.json`, `~/.docker/config.json`).
    pub auth_file: Option<PathBuf>,
    /// Verify TLS certificates, and never fall back to plain HTTP. Defaults to
    /// true; false is the same as listing every registry in `insecure`.
    pub tls_verify: bool,
    /// Registries (`host[:port]`) reached without TLS verification, falling back
    /// to plain HTTP. Defaults to none.
    pub insecure: Vec<String>,
    /// Registries (`host[:port]`) reached over plain HTTP only, without
    /// trying HTTPS first. Defaults to none.
    pub plain_http: Vec<String>,
    /// A directory of extra CA certificates (`*.crt`, PEM), trusted besides the
    /// system's. Defaults to none.
    pub cert_dir: Option<PathBuf>,
    /// The `User-Agent`. Defaults to `stevedore/<version>`.
    pub user_agent: String,
    /// Seconds to wait for a connection. Defaults to 30.
    pub connect_timeout_secs: u64,
    /// Seconds a response may stall before the request fails. Defaults to 300.
    pub read_timeout_secs: u64,
    /// How often a failed request is retried (connection errors, 408, 429,
    /// 5xx). Defaults to 4.
    pub max_retries: u32,
    /// The first retry's delay in milliseconds; each later one doubles, with
    /// jitter. A `Retry-After` from the server wins. Defaults to 250.
    pub retry_delay_ms: u64,
    /// The size of one chunk of a chunked blob upload (blobs over 1 MiB go in
    /// chunks, streamed, never held in memory). Defaults to 64 MiB: each
    /// chunk waits for the registry's answer before the next is sent, and
    /// smaller chunks left a 1 GiB push a quarter slower.
    pub chunk_size: u64,
}

impl Default for ClientOptions {
    fn default() -> ClientOptions {
        ClientOptions {
            username: None,
            password: None,
            identity_token: None,
            auth_file: None,
            tls_verify: true,
            insecure: Vec::new(),
            plain_http: Vec::new(),
            cert_dir: None,
            user_agent: concat!("stevedore/", env!("CARGO_PKG_VERSION")).to_owned(),
            connect_timeout_secs: 30,
            read_timeout_secs: 300,
            max_retries: 4,
            retry_delay_ms: 250,
            chunk_size: 64 * 1024 * 1024,
        }
    }
}

impl fmt::Debug for ClientOptions {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ClientOptions")
            .field("username", &self.username)
            .field("password", &self.password)
            .field("identity_token", &self.identity_token)
            .field("auth_file", &self.auth_file)
            .field("tls_verify", &self.tls_verify)
            .field("insecure", &self.insecure)
            .field("plain_http", &self.plain_http)
            .field("cert_dir", &self.cert_dir)
            .field("max_retries", &self.max_retries)
            .field("chunk_size", &self.chunk_size)
            .finish_non_exhaustive()
    }
}

impl ClientOptions {
    fn credentials(&self) -> Result<CredentialSource> {
        let explicit = match (&self.username, &self.password, &self.identity_token) {
            (Some(username), Some(password), None) => Some(Credentials::Basic {
                username: username.clone(),
                password: password.clone(),
            }),
            (None, None, Some(token)) => Some(Credentials::IdentityToken(token.clone())),
            (None, None, None) => None,
            _ => {
                return Err(Error::invalid(
                    "give either username and password, or identity_token",
                ))
            }
        };
        Ok(CredentialSource {
            explicit,
            auth_file: self.auth_file.clone(),
        })
    }

    fn is_insecure(&self, registry: &str) -> bool {
        !self.tls_verify || self.insecure.iter().any(|r| r == registry)
    }

    /// The URL schemes to try for `registry`, in order.
    fn schemes(&self, registry: &str) -> &'static [&'static str] {
        if self.plain_http.iter().any(|r| r == registry) {
            &["http"]
        } else if self.is_insecure(registry) {
            &["https", "http"]
        } else {
            &["https"]
        }
    }
}

/// A registry client. Clones share configuration, connections and tokens, and
/// may be used from many threads at once.
#[derive(Clone, Debug)]
pub struct Client {
    inner: Arc<Inner>,
}

struct Inner {
    options: ClientOptions,
    credentials: CredentialSource,
    verifying: ureq::Agent,
    trusting: ureq::Agent,
    tokens: TokenCache,
    /// Locks by key, for work one thread at a time does: fetching a token
    /// (per registry and scope), updating a fallback referrers index (per
    /// repository and tag), uploading a blob (per repository and digest).
    key_locks: Mutex<HashMap<String, Arc<Mutex<()>>>>,
    endpoints: Mutex<HashMap<String, Arc<http::Endpoint>>>,
    /// Where on each registry a blob was last seen or pushed: mount sources.
    blob_locations: Mutex<HashMap<(String, crate::digest::Digest), String>>,
}

impl fmt::Debug for Inner {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Client")
            .field("options", &self.options)
            .finish_non_exhaustive()
    }
}

impl Client {
    /// A client with `options`.
    pub fn new(options: ClientOptions) -> Result<Client> {
        let credentials = options.credentials()?;
        let verifying = http::agent(&options, true)?;
        let trusting = http::agent(&options, false)?;
        Ok(Client {
            inner: Arc::new(Inner {
                options,
                credentials,
                verifying,
                trusting,
                tokens: TokenCache::default(),
                key_locks: Mutex::new(HashMap::new()),
                endpoints: Mutex::new(HashMap::new()),
                blob_locations: Mutex::new(HashMap::new()),
            }),
        })
    }

    /// The lock its threads hold while uploading `digest` to `repo`.
    pub(crate) fn upload_lock(
        &self,
        repo: &Repository,
        digest: &crate::digest::Digest,
    ) -> Arc<Mutex<()>> {
        self.key_lock(format!("upload {repo} {digest}"))
    }

    /// The lock for `key` among this client's threads (see `key_locks`).
    fn key_lock(&self, key: String) -> Arc<Mutex<()>> {
        self.inner
            .key_locks
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .entry(key)
            .or_default()
            .clone()
    }

    /// The options the client was made with.
    pub fn options(&self) -> &ClientOptions {
        &self.inner.options
    }

    /// Remembers that `repo` holds `digest`, as a source for later mounts.
    pub(crate) fn remember_blob(&self, repo: &Repository, digest: &crate::digest::Digest) {
        self.inner
            .blob_locations
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .insert((repo.registry.clone(), digest.clone()), repo.name.clone());
    }

    /// A repository of `registry` other than `except` known to hold `digest`.
    pub fn known_location(
        &self,
        registry: &str,
        digest: &crate::digest::Digest,
        except: &str,
    ) -> Option<String> {
        self.inner
            .blob_locations
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .get(&(registry.to_owned(), digest.clone()))
            .filter(|repo| repo.as_str() != except)
            .cloned()
    }

    fn retry_delay(&self) -> Duration {
        Duration::from_millis(self.inner.options.retry_delay_ms)
    }
}

/// A repository on a registry: what every registry operation is about.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Repository {
    /// The registry, as named in references (`docker.io`, `localhost:5000`).
    pub registry: String,
    /// The repository path (`library/busybox`).
    pub name: String,
}

impl Repository {
    /// The repository a reference names.
    pub fn of(reference: &crate::reference::Reference) -> Repository {
        Repository {
            registry: reference.domain().to_owned(),
            name: reference.repository().to_owned(),
        }
    }
}

impl fmt::Display for Repository {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.registry, self.name)
    }
}

/// The host a registry name is reached at (Docker Hub's API lives elsewhere).
fn api_host(registry: &str) -> &str {
    if registry == crate::reference::DEFAULT_DOMAIN {
        "registry-1.docker.io"
    } else {
        registry
    }
}
