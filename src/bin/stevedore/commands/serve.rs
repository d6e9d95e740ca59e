//! `serve`: run the /v2 registry until interrupted.

use clap::Args;
use stevedore::Error;

/// `stevedore serve`.
#[derive(Args)]
pub struct ServeArgs {
    /// Where to listen, as HOST:PORT (port 0 picks a free one).
    #[arg(long, default_value = "127.0.0.1:5000")]
    addr: String,
    /// The store's directory. Defaults to stevedore/registry under the
    /// user's data directory ($XDG_DATA_HOME or ~/.local/share).
    #[arg(long, conflicts_with = "memory", value_name = "DIR")]
    root: Option<std::path::PathBuf>,
    /// Keep the store in memory: it is gone when the server stops.
    #[arg(long)]
    memory: bool,
    /// An htpasswd file (bcrypt, as `htpasswd -B` writes): require its users.
    #[arg(long, value_name = "FILE")]
    htpasswd: Option<std::path::PathBuf>,
    /// Refuse every write.
    #[arg(long)]
    read_only: bool,
    /// Serve HTTPS with this PEM certificate (with --tls-key).
    #[arg(long, requires = "tls_key", value_name = "FILE")]
    tls_cert: Option<std::path::PathBuf>,
    /// The PEM private key of --tls-cert.
    #[arg(long, requires = "tls_cert", value_name = "FILE")]
    tls_key: Option<std::path::PathBuf>,
    /// Connections served at once; when all are taken, the one waiting
    /// longest for a request head is closed to make room.
    #[arg(long, default_value_t = 256, value_name = "N")]
    max_connections: usize,
    /// Seconds a client has to send a whole request head.
    #[arg(long, default_value_t = 10.0, value_name = "SECS")]
    head_timeout: f64,
    /// Seconds a connection may sit idle (between requests or mid-body).
    #[arg(long, default_value_t = 60.0, value_name = "SECS")]
    idle_timeout: f64,
    /// The largest request head, in bytes.
    #[arg(long, default_value_t = 65536, value_name = "BYTES")]
    max_head_bytes: usize,
    /// The largest blob an upload may make, in bytes (default 64 GiB).
    #[arg(long, default_value_t = 64 << 30, value_name = "BYTES")]
    max_blob_bytes: u64,
    /// Answer manifest PUTs without first flushing them, their blobs and
    /// records to disk: faster, but a power cut may lose acknowledged pushes.
    #[arg(long)]
    no_fsync: bool,
}

/// The default directory of `stevedore serve`'s store.
fn default_root() -> Result<std::path::PathBuf, Error> {
    let data = std::env::var_os("XDG_DATA_HOME")
        .map(std::path::PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|h| std::path::Path::new(&h).join(".local/share")))
        .ok_or_else(|| {
            Error::invalid("neither XDG_DATA_HOME nor HOME is set; give --root or --memory")
        })?;
    Ok(data.join("stevedore/registry"))
}

/// Runs `serve`; returns only when the server cannot start.
pub fn serve(args: ServeArgs) -> Result<(), Error> {
    let root = match (args.root, args.memory) {
        (_, true) => None,
        (Some(root), false) => Some(root),
        (None, false) => Some(default_root()?),
    };
    let where_ = match &root {
        Some(root) => root.display().to_string(),
        None => "memory".to_owned(),
    };
    let server = stevedore::server::Server::start(stevedore::server::ServerOptions {
        addr: args.addr,
        root,
        htpasswd: args.htpasswd,
        read_only: args.read_only,
        tls_cert: args.tls_cert,
        tls_key: args.tls_key,
        max_connections: args.max_connections,
        head_timeout_secs: args.head_timeout,
        idle_timeout_secs: args.idle_timeout,
        max_head_bytes: args.max_head_bytes,
        max_blob_bytes: args.max_blob_bytes,
        fsync: !args.no_fsync,
        ..Default::default()
    })?;
    let scheme = if server.is_tls() { "https" } else { "http" };
    eprintln!(
        "stevedore: serving {scheme}://{} (store: {where_}); stop with Ctrl-C",
        server.address()
    );
    loop {
        std::thread::park();
    }
}
