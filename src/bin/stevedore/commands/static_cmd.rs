//! `static`: export an image into a static registry tree and write the
//! web-server configuration that serves it.

use std::io::Write;
use std::path::PathBuf;

use clap::Args;
use stevedore::platform::Platform;
use stevedore::registry::Client;
use stevedore::{CopyOptions, Error, StaticOptions, StaticReport};

use crate::output::{emit, human_size, progress_printer, to_json, ProgressMode};

/// `stevedore static SRC DIR`.
#[derive(Args)]
pub struct StaticArgs {
    /// The image to export, as TRANSPORT:LOCATION.
    src: String,
    /// The tree's directory (created when missing; an existing one must be
    /// empty or a tree).
    dir: PathBuf,
    /// The repository name in the tree (default: a docker:// source's).
    #[arg(long)]
    name: Option<String>,
    /// The tag in the tree (default: the source's tag, else latest).
    #[arg(long)]
    tag: Option<String>,
    /// Write an nginx snippet to FILE (include it inside a server block).
    #[arg(long, value_name = "FILE")]
    nginx_conf: Option<PathBuf>,
    /// Write a Caddyfile site block to FILE.
    #[arg(long, value_name = "FILE")]
    caddyfile: Option<PathBuf>,
    /// Where clients reach the tree, http(s)://HOST[:PORT] (the Caddy site
    /// address and the pull reference shown).
    #[arg(long, value_name = "URL")]
    base_url: Option<String>,
    /// Export every image of an index, not just one platform's.
    #[arg(long)]
    all: bool,
    /// The platform to choose from an index (os/arch[/variant]); repeat it
    /// to export a subset of the index as a new index.
    #[arg(long = "platform", conflicts_with = "all")]
    platforms: Vec<Platform>,
    /// Bring along signatures and attached artifacts.
    #[arg(long)]
    referrers: bool,
    /// How many blobs move at once.
    #[arg(long, default_value_t = stevedore::copy::DEFAULT_JOBS)]
    jobs: usize,
    /// Print the result as JSON on stdout.
    #[arg(long)]
    json: bool,
    /// Progress on stderr: auto, json or none.
    #[arg(long, value_enum, default_value_t = ProgressMode::Auto)]
    progress: ProgressMode,
}

/// Runs `static`.
pub fn export(args: StaticArgs, client: &Client, out: &mut dyn Write) -> Result<(), Error> {
    let src = super::image(&args.src, client)?;
    let mut platforms = args.platforms;
    let platform = if platforms.len() == 1 {
        platforms.pop()
    } else {
        None
    };
    let options = StaticOptions {
        name: args.name,
        tag: args.tag,
        nginx_conf: args.nginx_conf,
        caddyfile: args.caddyfile,
        base_url: args.base_url,
        copy: CopyOptions {
            all: args.all,
            platform,
            platforms,
            jobs: args.jobs,
            referrers: args.referrers,
            progress: progress_printer(args.progress, args.json),
            ..CopyOptions::default()
        },
    };
    let report = stevedore::export_static(&src, &args.dir, &options)?;
    if args.json {
        emit(out, to_json(&report)?.as_bytes())
    } else {
        emit(out, describe(&report).as_bytes())
    }
}

fn describe(r: &StaticReport) -> String {
    let mut out = format!(
        "Exported {} to {} as {}\nDigest: {}\nBlobs:  {} written ({}), {} shared, {} already there\n\
         Served: {} manifest URLs\nPull:   {}\n",
        r.copy.source,
        r.dir.display(),
        r.image,
        r.copy.digest,
        r.copy.blobs_copied,
        human_size(r.copy.bytes_copied),
        r.copy.blobs_mounted,
        r.copy.blobs_skipped,
        r.manifests_served,
        r.pull
    );
    for (what, path) in [("nginx:", &r.nginx_conf), ("Caddy:", &r.caddyfile)] {
        if let Some(path) = path {
            out.push_str(&format!("{what:<7} {}\n", path.display()));
        }
    }
    out
}
