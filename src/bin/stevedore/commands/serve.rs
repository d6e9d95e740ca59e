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
