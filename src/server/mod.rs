//! A registry server speaking the OCI Distribution API v1.1, on a pool of
//! threads (tiny_http: a maintained blocking HTTP/1.1 server with TLS by
//! rustls and no async runtime). Embed it with [`Server::start`], or run
//! `stevedore serve`.
//!
//! Blobs live in a content-addressed store shared by all repositories; each
//! repository records which blobs and manifests it has, its tags and its
//! referrers. Uploads stream into files, hashed as they arrive, and are
//! committed by a rename; records are replaced atomically, so a server
//! killed at any point restarts with a consistent store. Blob files are not
//! flushed to disk as they are committed (nor are docker-registry's): a
//! killed process loses nothing, a power cut may.

mod access;
mod handlers;
mod meta;
mod reply;
mod routes;
mod storage;
mod uploads;

use std::collections::HashMap;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc;
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::Duration;

use percent_encoding::percent_decode_str;
use serde::Deserialize;

use access::{Access, Htpasswd};
pub use access::{Action, Authorizer};
use handlers::{Incoming, Method, Registry};
use meta::{FsMeta, MemoryMeta};
use reply::Body;
use storage::Storage;
use uploads::Uploads;

use crate::error::{Error, Result};
use crate::store::{FsStore, MemoryStore};

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
    /// How many requests are served at once. Defaults to 64.
    pub threads: usize,
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
            htpasswd: None,
            read_only: false,
            tls_cert: None,
            tls_key: None,
            upload_expiry_secs: 900.0,
            max_uploads: 1024,
            threads: 64,
            authorizer: None,
        }
    }
}

impl std::fmt::Debug for ServerOptions {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ServerOptions")
            .field("addr", &self.addr)
            .field("root", &self.root)
            .field("htpasswd", &self.htpasswd)
            .field("read_only", &self.read_only)
            .field("tls", &self.tls_cert.is_some())
            .field("authorizer", &self.authorizer.is_some())
            .finish()
    }
}

/// A running registry server; stopped by [`Server::stop`] or when dropped.
pub struct Server {
    address: SocketAddr,
    tls: bool,
    http: Arc<tiny_http::Server>,
    stopping: Arc<AtomicBool>,
    workers: Vec<JoinHandle<()>>,
    janitor: Option<(mpsc::Sender<()>, JoinHandle<()>)>,
    _scratch: Option<tempfile::TempDir>,
}

fn read_file(path: &PathBuf, what: &str) -> Result<Vec<u8>> {
    std::fs::read(path).map_err(|e| Error::io(format!("reading the {what} {}", path.display()), e))
}

impl Server {
    /// Binds and starts serving.
    pub fn start(options: ServerOptions) -> Result<Server> {
        if options.threads == 0 || options.max_uploads == 0 {
            return Err(Error::invalid(
                "\"threads\" and \"max_uploads\" must be at least 1",
            ));
        }
        let expiry = Duration::try_from_secs_f64(options.upload_expiry_secs)
            .ok()
            .filter(|d| !d.is_zero())
            .ok_or_else(|| Error::invalid("\"upload_expiry_secs\" must be a positive number"))?;
        let access = Access {
            htpasswd: match &options.htpasswd {
                Some(path) => Some(Arc::new(Htpasswd::load(path)?)),
                None => None,
            },
            read_only: options.read_only,
            authorizer: options.authorizer.clone(),
        };
        let (storage, upload_dir, scratch) = match &options.root {
            Some(root) => (
                Storage::new(
                    Box::new(FsStore::new(root)),
                    Box::new(FsMeta::new(root.join("meta"))),
                ),
                root.join("uploads"),
                None,
            ),
            None => {
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
        let uploads = Uploads::new(upload_dir, expiry, options.max_uploads)?;
        let http = match (&options.tls_cert, &options.tls_key) {
            (Some(cert), Some(key)) => tiny_http::Server::https(
                options.addr.as_str(),
                tiny_http::SslConfig {
                    certificate: read_file(cert, "TLS certificate")?,
                    private_key: read_file(key, "TLS key")?,
                },
            ),
            (None, None) => tiny_http::Server::http(options.addr.as_str()),
            _ => {
                return Err(Error::invalid(
                    "TLS needs both a certificate (tls_cert) and its key (tls_key)",
                ))
            }
        }
        .map_err(|e| Error::invalid(format!("cannot serve on {}: {e}", options.addr)))?;
        let address = http
            .server_addr()
            .to_ip()
            .ok_or_else(|| Error::invalid("the server is not on an IP address"))?;
        let http = Arc::new(http);
        let registry = Arc::new(Registry {
            storage,
            uploads,
            access,
        });
        let stopping = Arc::new(AtomicBool::new(false));
        let workers = (0..options.threads)
            .map(|_| {
                let (http, registry, stopping) = (
                    Arc::clone(&http),
                    Arc::clone(&registry),
                    Arc::clone(&stopping),
                );
                std::thread::spawn(move || serve(&http, &registry, &stopping))
            })
            .collect();
        let (stop_janitor, stopped) = mpsc::channel();
        let janitor = {
            let registry = Arc::clone(&registry);
            std::thread::spawn(move || {
                let every = registry.uploads.sweep_interval();
                while let Err(mpsc::RecvTimeoutError::Timeout) = stopped.recv_timeout(every) {
                    registry.uploads.expire();
                }
            })
        };
        Ok(Server {
            address,
            tls: options.tls_cert.is_some(),
            http,
            stopping,
            workers,
            janitor: Some((stop_janitor, janitor)),
            _scratch: scratch,
        })
    }

    /// The address the server listens on.
    pub fn address(&self) -> SocketAddr {
        self.address
    }

    /// The server as a registry host for image references (`127.0.0.1:PORT`).
    pub fn host(&self) -> String {
        self.address.to_string()
    }

    /// Whether the server speaks HTTPS.
    pub fn is_tls(&self) -> bool {
        self.tls
    }

    /// Stops serving and waits for the requests in progress to finish.
    pub fn stop(mut self) {
        self.shutdown();
    }

    fn shutdown(&mut self) {
        self.stopping.store(true, Ordering::SeqCst);
        for _ in 0..self.workers.len() {
            self.http.unblock();
        }
        for worker in self.workers.drain(..) {
            let _ = worker.join();
        }
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

/// One worker: takes requests until the server stops.
fn serve(http: &tiny_http::Server, registry: &Registry, stopping: &AtomicBool) {
    while !stopping.load(Ordering::SeqCst) {
        let Ok(request) = http.recv() else {
            continue;
        };
        if stopping.load(Ordering::SeqCst) {
            let _ = request.respond(tiny_http::Response::empty(503));
            return;
        }
        respond(registry, request);
    }
}

fn decode(s: &str) -> String {
    percent_decode_str(s).decode_utf8_lossy().into_owned()
}

/// Answers one HTTP request.
fn respond(registry: &Registry, mut request: tiny_http::Request) {
    let method = match request.method() {
        tiny_http::Method::Get => Method::Get,
        tiny_http::Method::Head => Method::Head,
        tiny_http::Method::Put => Method::Put,
        tiny_http::Method::Post => Method::Post,
        tiny_http::Method::Patch => Method::Patch,
        tiny_http::Method::Delete => Method::Delete,
        _ => Method::Other,
    };
    let url = request.url().to_owned();
    let (path, query) = url.split_once('?').unwrap_or((&url, ""));
    let query: HashMap<String, String> = query
        .split('&')
        .filter(|p| !p.is_empty())
        .map(|p| {
            let (k, v) = p.split_once('=').unwrap_or((p, ""));
            (decode(k), decode(v))
        })
        .collect();
    let headers: HashMap<String, String> = request
        .headers()
        .iter()
        .map(|h| {
            (
                h.field.as_str().as_str().to_ascii_lowercase(),
                h.value.as_str().to_owned(),
            )
        })
        .collect();
    let length = headers.get("content-length").and_then(|l| l.parse().ok());
    let reply = {
        let mut incoming = Incoming {
            method,
            path: decode(path),
            query,
            headers,
            body: request.as_reader(),
            length,
        };
        registry.handle(&mut incoming)
    };
    let mut headers: Vec<tiny_http::Header> = reply
        .headers
        .iter()
        .filter_map(|(k, v)| tiny_http::Header::from_bytes(k.as_bytes(), v.as_bytes()).ok())
        .collect();
    headers.extend(tiny_http::Header::from_bytes(
        &b"Docker-Distribution-API-Version"[..],
        &b"registry/2.0"[..],
    ));
    let (body, length): (Box<dyn std::io::Read + Send>, u64) = match reply.body {
        Body::Empty => (Box::new(std::io::empty()), 0),
        Body::Bytes(bytes) => {
            let len = bytes.len() as u64;
            (Box::new(std::io::Cursor::new(bytes)), len)
        }
        Body::Stream(reader, len) => (reader, len),
    };
    let response = tiny_http::Response::new(
        tiny_http::StatusCode(reply.status),
        headers,
        body,
        Some(length as usize),
        None,
    );
    // A client that went away cannot be answered; nothing else to do.
    let _ = request.respond(response);
}
