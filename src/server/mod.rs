//! A registry server speaking the OCI Distribution API v1.1, a thread per
//! connection and no async runtime. Embed it with [`Server::start`], or run
//! `stevedore serve`.
//!
//! Blobs live in a content-addressed store shared by all repositories; each
//! repository records which blobs and manifests it has, its tags and its
//! referrers. Uploads stream into files, hashed as they arrive, and are
//! committed by a rename; records are replaced atomically, so a server
//! killed at any point restarts with a consistent store (temporary files a
//! killed server left are removed when it starts again). A manifest PUT is
//! answered `201 Created` only once the manifest, the blobs it names and the
//! repository's records are flushed to disk, directories included, so a
//! power cut after the answer loses nothing; [`ServerOptions::fsync`] may
//! trade that away for speed, as docker-registry does.
//!
//! Clients are held to limits (see [`ServerOptions`]): a deadline for each
//! request head, an idle timeout, a head size, a blob size, and a
//! connection cap that clients which never finish a request cannot exhaust.

mod access;
#[cfg(feature = "fuzzing")]
pub mod fuzzing;
mod gc;
mod handlers;
mod http;
mod listing_cache;
mod meta;
mod reply;
mod routes;
mod storage;
mod uploads;
mod workers;

use std::net::{SocketAddr, TcpListener};
use std::path::{Path, PathBuf};
use std::sync::mpsc;
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::Duration;

use serde::Deserialize;

use access::{Access, Htpasswd};
pub use access::{Action, Authorizer};
pub use gc::{gc, GcOptions, GcReport};
use handlers::{Incoming, Registry};
use http::{Handler, Limits, Listener};
use meta::MemoryMeta;
use storage::Storage;
use uploads::Uploads;

use crate::error::{Error, Result};
use crate::s3::S3Config;
use crate::store::MemoryStore;

/// How to run a server.
#[derive(Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ServerOptions {
    /// Where to listen, as `HOST:PORT`; port 0 picks a free one. Defaults to
    /// `127.0.0.1:0`.
    pub addr: String,
    /// The directory of the store. Defaults to none: the store is in memory
    /// (uploads still stream through temporary files).
    pub root: Option<PathBuf>,
    /// The S3 bucket of the store, instead of `root`: blobs, records and
    /// uploads in progress all live in it, so several servers may share it.
    /// Defaults to none.
    pub s3: Option<S3Config>,
    /// On S3, answer blob GETs with a `307` redirect to a presigned URL of
    /// the object (valid for an hour) instead of streaming it. Defaults to
    /// false.
    pub redirect: bool,
    /// An htpasswd file (bcrypt entries): every request must then carry the
    /// credentials of one of its users. Defaults to none: anonymous access.
    pub htpasswd: Option<PathBuf>,
    /// Refuse every write with `DENIED`. Defaults to false.
    pub read_only: bool,
    /// A PEM certificate (chain) to serve HTTPS with, beside `tls_key`.
    pub tls_cert: Option<PathBuf>,
    /// The PEM private key of `tls_cert`.
    pub tls_key: Option<PathBuf>,
    /// How long an upload may sit idle before it is removed. Defaults to
    /// 15 minutes.
    pub upload_expiry_secs: f64,
    /// How many uploads may be open at once. Defaults to 1024.
    pub max_uploads: usize,
    /// How many connections are served at once (a thread each). When all
    /// are taken, the connection that has waited longest for a request head
    /// is closed to make room; only when every one is in the middle of a
    /// request is a new one answered 503. Defaults to 256.
    pub max_connections: usize,
    /// Seconds a client has to send a whole request head, from the moment
    /// its connection is accepted (or, on a kept-alive connection, from the
    /// head's first byte). Defaults to 10.
    pub head_timeout_secs: f64,
    /// Seconds a connection may sit idle, between requests or in the middle
    /// of a body, before it is closed. Defaults to 60.
    pub idle_timeout_secs: f64,
    /// The largest request head (request line and headers), in bytes;
    /// larger ones are answered 400. Defaults to 65536.
    pub max_head_bytes: usize,
    /// The largest blob an upload may make, in bytes; more is answered 413
    /// `SIZE_INVALID`. Defaults to 64 GiB.
    pub max_blob_bytes: u64,
    /// Flush a pushed manifest, its blobs and the repository's records to
    /// disk before answering the PUT. Defaults to true; false answers sooner
    /// and may lose acknowledged pushes in a power cut (never in a crash of
    /// the server alone).
    pub fsync: bool,
    /// A rule deciding per (user, repository, action), after authentication
    /// and the read-only check. Defaults to none: everything allowed.
    #[serde(skip)]
    pub authorizer: Option<Arc<Authorizer>>,
}

impl Default for ServerOptions {
    fn default() -> ServerOptions {
        ServerOptions {
            addr: "127.0.0.1:0".to_owned(),
            root: None,
            s3: None,
            redirect: false,
            htpasswd: None,
            read_only: false,
            tls_cert: None,
            tls_key: None,
            upload_expiry_secs: 900.0,
            max_uploads: 1024,
            max_connections: 256,
            head_timeout_secs: 10.0,
            idle_timeout_secs: 60.0,
            max_head_bytes: http::DEFAULT_HEAD_BYTES,
            max_blob_bytes: 64 << 30,
            fsync: true,
            authorizer: None,
        }
    }
}

impl std::fmt::Debug for ServerOptions {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ServerOptions")
            .field("addr", &self.addr)
            .field("root", &self.root)
            .field("s3", &self.s3)
            .field("redirect", &self.redirect)
            .field("htpasswd", &self.htpasswd)
            .field("read_only", &self.read_only)
            .field("tls", &self.tls_cert.is_some())
            .field("max_connections", &self.max_connections)
            .field("head_timeout_secs", &self.head_timeout_secs)
            .field("idle_timeout_secs", &self.idle_timeout_secs)
            .field("max_head_bytes", &self.max_head_bytes)
            .field("max_blob_bytes", &self.max_blob_bytes)
            .field("fsync", &self.fsync)
            .field("authorizer", &self.authorizer.is_some())
            .finish()
    }
}

/// A running registry server; stopped by [`Server::stop`] or when dropped.
pub struct Server {
    listener: Listener,
    tls: bool,
    janitor: Option<(mpsc::Sender<()>, JoinHandle<()>)>,
    _scratch: Option<tempfile::TempDir>,
}

fn read_file(path: &Path, what: &str) -> Result<Vec<u8>> {
    std::fs::read(path).map_err(|e| Error::io(format!("reading the {what} {}", path.display()), e))
}

/// The rustls configuration serving `cert` (a PEM chain) with `key`.
fn tls_config(cert: &Path, key: &Path) -> Result<Arc<rustls::ServerConfig>> {
    use rustls::pki_types::pem::PemObject;
    use rustls::pki_types::{CertificateDer, PrivateKeyDer};
    let chain = CertificateDer::pem_slice_iter(&read_file(cert, "TLS certificate")?)
        .collect::<std::result::Result<Vec<_>, _>>()
        .map_err(|e| {
            Error::invalid(format!(
                "{} is not a PEM certificate chain: {e}",
                cert.display()
            ))
        })?;
    if chain.is_empty() {
        return Err(Error::invalid(format!(
            "{} holds no certificate",
            cert.display()
        )));
    }
    let key = PrivateKeyDer::from_pem_slice(&read_file(key, "TLS key")?)
        .map_err(|e| Error::invalid(format!("{} is not a PEM private key: {e}", key.display())))?;
    let config = rustls::ServerConfig::builder_with_provider(Arc::new(
        rustls::crypto::ring::default_provider(),
    ))
    .with_safe_default_protocol_versions()
    .map_err(|e| Error::invalid(format!("TLS setup: {e}")))?
    .with_no_client_auth()
    .with_single_cert(chain, key)
    .map_err(|e| Error::invalid(format!("the TLS certificate and key do not fit: {e}")))?;
    Ok(Arc::new(config))
}

/// `secs` as a duration, when it is a positive number of seconds.
fn positive_secs(secs: f64, name: &str) -> Result<Duration> {
    Duration::try_from_secs_f64(secs)
        .ok()
        .filter(|d| !d.is_zero())
        .ok_or_else(|| Error::invalid(format!("\"{name}\" must be a positive number of seconds")))
}

impl Server {
    /// Binds and starts serving.
    ///
    /// Errors: `InvalidInput` for a limit out of range or a bad TLS
    /// certificate or key, `Io` when the address cannot be bound or the
    /// store's directory cannot be prepared.
    pub fn start(options: ServerOptions) -> Result<Server> {
        if options.max_connections == 0
            || options.max_uploads == 0
            || options.max_blob_bytes == 0
            || options.max_head_bytes < 1024
        {
            return Err(Error::invalid(
                "\"max_connections\", \"max_uploads\" and \"max_blob_bytes\" must be at least 1, \
                 \"max_head_bytes\" at least 1024",
            ));
        }
        let expiry = positive_secs(options.upload_expiry_secs, "upload_expiry_secs")?;
        let limits = Limits {
            max_connections: options.max_connections,
            head_timeout: positive_secs(options.head_timeout_secs, "head_timeout_secs")?,
            idle_timeout: positive_secs(options.idle_timeout_secs, "idle_timeout_secs")?,
            max_head_bytes: options.max_head_bytes,
        };
        let tls = match (&options.tls_cert, &options.tls_key) {
            (Some(cert), Some(key)) => Some(tls_config(cert, key)?),
            (None, None) => None,
            _ => {
                return Err(Error::invalid(
                    "TLS needs both a certificate (tls_cert) and its key (tls_key)",
                ))
            }
        };
        let access = Access {
            htpasswd: match &options.htpasswd {
                Some(path) => Some(Arc::new(Htpasswd::load(path)?)),
                None => None,
            },
            read_only: options.read_only,
            authorizer: options.authorizer.clone(),
        };
        if options.s3.is_some() && options.root.is_some() {
            return Err(Error::invalid(
                "a server stores either in a directory (root) or in S3 (s3), not both",
            ));
        }
        let bucket = match &options.s3 {
            Some(config) => Some(Arc::new(crate::s3::Bucket::connect(config)?)),
            None => None,
        };
        let (storage, upload_dir, scratch) = match (&bucket, &options.root) {
            (Some(bucket), _) => {
                let scratch = tempfile::Builder::new()
                    .prefix("stevedore-uploads-")
                    .tempdir()
                    .map_err(|e| Error::io("creating a directory for uploads", e))?;
                (
                    Storage::in_bucket(Arc::clone(bucket), options.redirect),
                    scratch.path().join("uploads"),
                    Some(scratch),
                )
            }
            (None, Some(root)) => {
                storage::prepare(root)?;
                storage::remove_leftovers(root)?;
                (
                    Storage::on_disk(root, options.fsync),
                    root.join("uploads"),
                    None,
                )
            }
            (None, None) => {
                let scratch = tempfile::Builder::new()
                    .prefix("stevedore-uploads-")
                    .tempdir()
                    .map_err(|e| Error::io("creating a directory for uploads", e))?;
                (
                    Storage::new(
                        Box::new(MemoryStore::new()),
                        Box::new(MemoryMeta::default()),
                    ),
                    scratch.path().join("uploads"),
                    Some(scratch),
                )
            }
        };
        let mut uploads = Uploads::new(
            upload_dir,
            expiry,
            options.max_uploads,
            options.max_blob_bytes,
        )?;
        if let Some(bucket) = bucket {
            uploads = uploads.in_bucket(bucket);
        }
        let socket = TcpListener::bind(options.addr.as_str())
            .map_err(|e| Error::io(format!("cannot listen on {}", options.addr), e))?;
        let registry = Arc::new(Registry {
            storage,
            uploads,
            access,
        });
        let handler: Arc<Handler> = {
            let registry = Arc::clone(&registry);
            Arc::new(move |request: &mut Incoming| registry.handle(request))
        };
        let tls_on = tls.is_some();
        let listener = Listener::start(socket, tls, handler, limits)
            .map_err(|e| Error::io("starting the server", e))?;
        let (stop_janitor, stopped) = mpsc::channel();
        let janitor = std::thread::spawn(move || {
            let every = registry.uploads.sweep_interval();
            while let Err(mpsc::RecvTimeoutError::Timeout) = stopped.recv_timeout(every) {
                registry.uploads.expire();
            }
        });
        Ok(Server {
            listener,
            tls: tls_on,
            janitor: Some((stop_janitor, janitor)),
            _scratch: scratch,
        })
    }

    /// The address the server listens on.
    pub fn address(&self) -> SocketAddr {
        self.listener.address()
    }

    /// The server as a registry host for image references (`127.0.0.1:PORT`).
    pub fn host(&self) -> String {
        self.address().to_string()
    }

    /// Whether the server speaks HTTPS.
    pub fn is_tls(&self) -> bool {
        self.tls
    }

    /// Stops serving: closes every connection and waits for its thread.
    pub fn stop(mut self) {
        self.shutdown();
    }

    fn shutdown(&mut self) {
        self.listener.stop();
        if let Some((stop, janitor)) = self.janitor.take() {
            let _ = stop.send(());
            let _ = janitor.join();
        }
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        self.shutdown();
    }
}
