//! The OCI Distribution (Docker Registry v2) client, on `ureq`: blocking,
//! shared by threads, cheap to clone. One [`Client`] holds the configuration,
//! the HTTP connection pools and the token cache for every registry it talks to.

mod blobs;
mod challenge;
mod endpoint;
mod http;
mod link;
mod listing;
mod manifests;
mod rate;
mod referrers;

use std::collections::{BTreeMap, HashMap};
use std::fmt;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use serde::{Deserialize, Deserializer};

pub use blobs::{BlobReader, MountResult, UploadSession};
pub use referrers::{fallback_tag, ReferrersSource};

use crate::auth::{CredentialSource, Credentials, Secret, TokenCache};
use crate::error::{Error, Result};

/// How a [`Client`] talks to registries. Deserialises from the C ABI's and
/// bindings' options JSON; unknown keys are an error.
#[derive(Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ClientOptions {
    /// Credentials, each bound to one registry: the key is the registry as
    /// references name it (`host[:port]`, `docker.io`), the value a user name
    /// and password or an identity token. They are sent to that registry
    /// (and to the token service its challenge names) and to no other host;
    /// a registry without an entry gets the auth files' credentials.
    /// In JSON: `{"registry.example:5000": {"username": "u", "password": "p"}}`
    /// or `{"registry.example": {"identity_token": "t"}}`. Defaults to none.
    #[serde(deserialize_with = "credentials_map")]
    pub credentials: BTreeMap<String, Credentials>,
    /// The auth file read first, instead of the primary one of
    /// containers-auth.json(5) (`$REGISTRY_AUTH_FILE`,
    /// `$XDG_RUNTIME_DIR/containers/auth.json`, `/run/containers/$UID/auth.json`);
    /// `~/.config/containers/auth.json` and docker's `config.json` are read
    /// after it ([`crate::auth::default_auth_files`]). Defaults to none.
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
    /// Seconds to wait for a connection (TCP and TLS handshake). Defaults to 30.
    pub connect_timeout_secs: u64,
    /// Seconds a response may stall (no reply yet, or no byte of the body)
    /// before the request fails with a network error naming the registry.
    /// Defaults to 60.
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
    /// The largest manifest or index read from a registry, in bytes; a
    /// larger one fails with `InvalidInput` before more is read. Defaults to
    /// 4 MiB, as distribution's own limit.
    pub max_manifest_bytes: u64,
    /// The largest image config read whole, in bytes; a larger one is
    /// refused (`InvalidInput`) before it is fetched. Defaults to 32 MiB.
    pub max_config_bytes: u64,
    /// The most pages of a tag list or catalog followed through `Link`
    /// headers; past it the listing fails with a network error. Defaults to
    /// 10,000.
    pub max_list_pages: u32,
    /// The most redirects one request follows (each one re-checks where
    /// credentials may go). Defaults to 10.
    pub max_redirects: u32,
    /// The most authentication challenges (401 with `WWW-Authenticate`)
    /// answered for one request before it fails as `Unauthorized`.
    /// Defaults to 1: a challenge met once and answered with 401 again
    /// means the credentials were refused.
    pub max_auth_challenges: u32,
    /// The largest response head (status line and headers) read, in bytes.
    /// Defaults to 64 KiB.
    pub max_response_header_bytes: u64,
    /// The slowest a response body may arrive, in bytes per second averaged
    /// over `body_rate_window_secs`; a slower one (a slowloris reply, a
    /// dribbling proxy) fails with a network error, and a blob download
    /// resumes with `Range` as after a dropped connection. 0 turns the check
    /// off. Defaults to 1024.
    pub min_body_bytes_per_sec: u64,
    /// The window, in seconds, over which `min_body_bytes_per_sec` is
    /// measured. Defaults to 60.
    pub body_rate_window_secs: u64,
}

impl Default for ClientOptions {
    fn default() -> ClientOptions {
        ClientOptions {
            credentials: BTreeMap::new(),
            auth_file: None,
            tls_verify: true,
            insecure: Vec::new(),
            plain_http: Vec::new(),
            cert_dir: None,
            user_agent: concat!("stevedore/", env!("CARGO_PKG_VERSION")).to_owned(),
            connect_timeout_secs: 30,
            read_timeout_secs: 60,
            max_retries: 4,
            retry_delay_ms: 250,
            chunk_size: 64 * 1024 * 1024,
            max_manifest_bytes: 4 * 1024 * 1024,
            max_config_bytes: crate::config::CONFIG_SIZE_MAX,
            max_list_pages: 10_000,
            max_redirects: 10,
            max_auth_challenges: 1,
            max_response_header_bytes: 64 * 1024,
            min_body_bytes_per_sec: 1024,
            body_rate_window_secs: 60,
        }
    }
}

impl fmt::Debug for ClientOptions {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ClientOptions")
            .field("credentials", &self.credentials)
            .field("auth_file", &self.auth_file)
            .field("tls_verify", &self.tls_verify)
            .field("insecure", &self.insecure)
            .field("plain_http", &self.plain_http)
            .field("cert_dir", &self.cert_dir)
            .field("max_retries", &self.max_retries)
            .field("chunk_size", &self.chunk_size)
            .field("max_manifest_bytes", &self.max_manifest_bytes)
            .field("max_config_bytes", &self.max_config_bytes)
            .field("max_list_pages", &self.max_list_pages)
            .field("max_redirects", &self.max_redirects)
            .field("max_auth_challenges", &self.max_auth_challenges)
            .field("max_response_header_bytes", &self.max_response_header_bytes)
            .field("min_body_bytes_per_sec", &self.min_body_bytes_per_sec)
            .field("body_rate_window_secs", &self.body_rate_window_secs)
            .finish_non_exhaustive()
    }
}

impl ClientOptions {
    fn credentials(&self) -> Result<CredentialSource> {
        let mut explicit = BTreeMap::new();
        for (registry, credentials) in &self.credentials {
            explicit.insert(registry_key(registry)?, credentials.clone());
        }
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
    endpoints: Mutex<HashMap<String, Arc<endpoint::Endpoint>>>,
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

    /// Checks that `registry` accepts `credentials`, with this client's
    /// other options (TLS, timeouts). Errors: `Unauthorized` when refused,
    /// `Network` when the registry cannot be reached.
    pub fn check_credentials(&self, registry: &str, credentials: &Credentials) -> Result<()> {
        let registry = registry_key(registry)?;
        let mut options = self.inner.options.clone();
        options.credentials = BTreeMap::from([(registry.clone(), credentials.clone())]);
        let probe = Client::new(options)?;
        let endpoint = probe.endpoint(&registry)?;
        probe.check_login(&endpoint)
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

/// The registry a credentials key names, as references name it: Docker Hub's
/// other names become `docker.io`; URLs, paths and wildcards are refused, so
/// that credentials are bound to exactly one registry.
/// (Also the form `login` and `logout` take.)
pub(crate) fn registry_key(key: &str) -> Result<String> {
    let bad = key.is_empty()
        || key.contains("://")
        || key.contains('/')
        || key.contains('*')
        || key.chars().any(|c| c.is_whitespace() || c.is_control());
    if bad {
        return Err(Error::invalid(format!(
            "credentials must be bound to a registry written host[:port] \
             (such as registry.example:5000), not {key:?}"
        )));
    }
    crate::reference::validate_registry(key)?;
    Ok(match key {
        "index.docker.io" | "registry-1.docker.io" => crate::reference::DEFAULT_DOMAIN.to_owned(),
        _ => key.to_owned(),
    })
}

/// Reads the options JSON's `credentials`: registry to `{"username",
/// "password"}` or `{"identity_token"}`.
fn credentials_map<'de, D: Deserializer<'de>>(
    deserializer: D,
) -> std::result::Result<BTreeMap<String, Credentials>, D::Error> {
    #[derive(Deserialize)]
    #[serde(deny_unknown_fields)]
    struct Entry {
        username: Option<String>,
        password: Option<Secret>,
        identity_token: Option<Secret>,
    }
    let entries = BTreeMap::<String, Entry>::deserialize(deserializer)?;
    let mut map = BTreeMap::new();
    for (registry, entry) in entries {
        let credentials = match (entry.username, entry.password, entry.identity_token) {
            (Some(username), Some(password), None) if !username.is_empty() => {
                Credentials::Basic { username, password }
            }
            (None, None, Some(token)) => Credentials::IdentityToken(token),
            _ => {
                return Err(serde::de::Error::custom(format!(
                    "the credentials for {registry} need either username and password, \
                     or identity_token"
                )))
            }
        };
        map.insert(registry, credentials);
    }
    Ok(map)
}

/// The host a registry name is reached at (Docker Hub's API lives elsewhere).
fn api_host(registry: &str) -> &str {
    if registry == crate::reference::DEFAULT_DOMAIN {
        "registry-1.docker.io"
    } else {
        registry
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn limits_come_from_the_options_json_with_safe_defaults() {
        let defaults = ClientOptions::default();
        assert_eq!(defaults.max_manifest_bytes, 4 << 20);
        assert_eq!(defaults.max_redirects, 10);
        assert_eq!(defaults.max_auth_challenges, 1);
        let options: ClientOptions = serde_json::from_str(
            r#"{"max_manifest_bytes": 1024, "max_config_bytes": 2048, "max_list_pages": 3,
                "max_redirects": 2, "max_auth_challenges": 2, "max_response_header_bytes": 4096,
                "min_body_bytes_per_sec": 10, "body_rate_window_secs": 5}"#,
        )
        .unwrap();
        assert_eq!(
            (
                options.max_manifest_bytes,
                options.max_config_bytes,
                options.max_list_pages
            ),
            (1024, 2048, 3)
        );
        assert_eq!((options.max_redirects, options.max_auth_challenges), (2, 2));
        assert_eq!(options.max_response_header_bytes, 4096);
        assert_eq!(
            (
                options.min_body_bytes_per_sec,
                options.body_rate_window_secs
            ),
            (10, 5)
        );
        assert!(serde_json::from_str::<ClientOptions>(r#"{"max_manifests": 1}"#).is_err());
    }
}
