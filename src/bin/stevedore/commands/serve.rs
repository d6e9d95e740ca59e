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
    #[arg(long, conflicts_with = "s3")]
    memory: bool,
    #[command(flatten)]
    s3: S3Args,
    /// On S3, answer blob GETs with a redirect to a presigned URL.
    #[arg(long, requires = "s3")]
    redirect: bool,
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

/// Where an S3 store is; unset flags come from the standard AWS settings
/// (`AWS_ENDPOINT_URL`, `AWS_REGION`, `AWS_ACCESS_KEY_ID`,
/// `AWS_SECRET_ACCESS_KEY`, `AWS_SESSION_TOKEN`, `AWS_PROFILE` and the
/// shared files in ~/.aws).
#[derive(Args)]
pub struct S3Args {
    /// Store in S3: s3://BUCKET/PREFIX (instead of --root or --memory).
    #[arg(long, conflicts_with = "root", value_name = "URL")]
    pub s3: Option<String>,
    /// The S3 endpoint URL (default: AWS's, or $AWS_ENDPOINT_URL).
    #[arg(long, requires = "s3", value_name = "URL")]
    pub s3_endpoint: Option<String>,
    /// The S3 region (default: $AWS_REGION, the profile's, or us-east-1).
    #[arg(long, requires = "s3", value_name = "REGION")]
    pub s3_region: Option<String>,
    /// Address the bucket in the URL's path (default with a custom endpoint).
    #[arg(long, requires = "s3", value_name = "BOOL")]
    pub s3_path_style: Option<bool>,
    /// The AWS profile to read from ~/.aws (default: $AWS_PROFILE or default).
    #[arg(long, requires = "s3", value_name = "NAME")]
    pub s3_profile: Option<String>,
}

impl S3Args {
    /// The S3 configuration, when --s3 was given.
    pub fn config(&self) -> Option<stevedore::s3::S3Config> {
        let url = self.s3.clone()?;
        Some(stevedore::s3::S3Config {
            endpoint: self.s3_endpoint.clone(),
            region: self.s3_region.clone(),
            path_style: self.s3_path_style,
            profile: self.s3_profile.clone(),
            ..stevedore::s3::S3Config::new(url)
        })
    }
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

/// Runs `serve` until SIGINT or SIGTERM, then stops it (connections closed,
/// scratch directory removed) and returns; a second signal ends it at once.
pub fn serve(args: ServeArgs) -> Result<(), Error> {
    let s3 = args.s3.config();
    let root = match (args.root, args.memory || s3.is_some()) {
        (_, true) => None,
        (Some(root), false) => Some(root),
        (None, false) => Some(default_root()?),
    };
    let where_ = match (&root, &args.s3.s3) {
        (_, Some(url)) => url.clone(),
        (Some(root), None) => root.display().to_string(),
        (None, None) => "memory".to_owned(),
    };
    let server = stevedore::server::Server::start(stevedore::server::ServerOptions {
        addr: args.addr,
        root,
        s3,
        redirect: args.redirect,
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
    crate::output::note(&format!(
        "stevedore: serving {scheme}://{} (store: {where_}); stop with Ctrl-C",
        server.address()
    ));
    let stop = crate::interrupt::cancel_on_signals()?;
    while !stop.is_cancelled() {
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
    // Stops accepting, closes the connections, removes the scratch directory.
    drop(server);
    crate::output::note("stevedore: stopped");
    Ok(())
}
