//! `gc`: remove the blobs of a registry's store that no manifest reaches.

use std::io::Write;

use clap::Args;
use stevedore::server::{gc as collect, GcOptions};
use stevedore::Error;

use super::serve::S3Args;

/// `stevedore gc`.
#[derive(Args)]
pub struct GcArgs {
    /// The store's directory (as `serve --root`).
    #[arg(long, value_name = "DIR", required_unless_present = "s3")]
    root: Option<std::path::PathBuf>,
    #[command(flatten)]
    s3: S3Args,
    /// Report what would be removed; remove nothing.
    #[arg(long)]
    dry_run: bool,
    /// Keep unreferenced blobs written less than this many seconds ago.
    #[arg(long, default_value_t = 3600.0, value_name = "SECS")]
    grace: f64,
    /// Print the report as JSON.
    #[arg(long)]
    pub json: bool,
}

/// Runs `gc`.
pub fn gc(args: GcArgs, out: &mut dyn Write) -> Result<(), Error> {
    let report = collect(&GcOptions {
        root: args.root,
        s3: args.s3.config(),
        dry_run: args.dry_run,
        grace_secs: args.grace,
    })?;
    let written = if args.json {
        writeln!(
            out,
            "{}",
            serde_json::to_string(&report).unwrap_or_default()
        )
    } else {
        let verb = if report.dry_run {
            "would remove"
        } else {
            "removed"
        };
        writeln!(
            out,
            "{verb} {} blobs ({} bytes) and {} abandoned uploads; kept {} reachable and {} recent",
            report.removed,
            report.removed_bytes,
            report.removed_uploads,
            report.marked,
            report.kept_recent
        )
    };
    written.map_err(|e| Error::io("writing the report", e))
}
