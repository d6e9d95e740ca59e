//! `copy` and `sync`: moving images between transports.

use std::io::Write;

use clap::Args;
use stevedore::platform::Platform;
use stevedore::registry::Client;
use stevedore::{CopyOptions, CopyReport, Error, ErrorKind, SyncOutcome, SyncResult};

use crate::output::{emit, human_size, progress_printer, to_json, ProgressMode};
use crate::registry_args::SideArgs;

/// `stevedore copy SRC DST`.
#[derive(Args)]
pub struct CopyArgs {
    /// The image to copy, as TRANSPORT:LOCATION.
    src: String,
    /// Where to copy it, as TRANSPORT:LOCATION.
    dst: String,
    /// Copy every image of an index, not just one platform's.
    #[arg(long)]
    all: bool,
    /// The platform to choose from an index (os/arch[/variant]); repeat it
    /// to copy a subset of the index as a new index. Defaults to the host's.
    #[arg(long = "platform", conflicts_with = "all")]
    platforms: Vec<Platform>,
    /// How many blobs move at once.
    #[arg(long, default_value_t = stevedore::copy::DEFAULT_JOBS)]
    jobs: usize,
    /// Fail rather than convert when the destination cannot hold the
    /// image as it is (e.g. a Docker manifest into oci:).
    #[arg(long)]
    preserve_digests: bool,
    /// Bring along signatures and attached artifacts (cosign's .sig,
    /// .att, .sbom tags and OCI 1.1 referrers).
    #[arg(long)]
    referrers: bool,
    /// Neither read nor write the blob-location cache
    /// ($XDG_CACHE_HOME/stevedore): upload blobs instead of mounting them
    /// from repositories earlier runs saw holding them.
    #[arg(long)]
    no_blob_cache: bool,
    /// Print nothing but errors.
    #[arg(long, conflicts_with = "json")]
    quiet: bool,
    /// Print the result as JSON on stdout.
    #[arg(long)]
    pub json: bool,
    /// Progress on stderr: a live line when stderr is a terminal (auto),
    /// JSON lines (json), or none.
    #[arg(long, value_enum, default_value_t = ProgressMode::Auto)]
    progress: ProgressMode,
    #[command(flatten)]
    sides: SideArgs,
}

/// `stevedore sync FILE`.
#[derive(Args)]
pub struct SyncArgs {
    /// The list of copies.
    file: std::path::PathBuf,
    /// Copy every image of each index.
    #[arg(long)]
    all: bool,
    /// How many blobs move at once.
    #[arg(long, default_value_t = stevedore::copy::DEFAULT_JOBS)]
    jobs: usize,
    /// Bring along each image's signatures and attached artifacts.
    #[arg(long)]
    referrers: bool,
    /// Neither read nor write the blob-location cache
    /// ($XDG_CACHE_HOME/stevedore): upload blobs instead of mounting them
    /// from repositories earlier runs saw holding them.
    #[arg(long)]
    no_blob_cache: bool,
    /// Print the results as JSON on stdout.
    #[arg(long)]
    pub json: bool,
    #[command(flatten)]
    sides: SideArgs,
}

/// Runs `copy`.
pub fn copy(args: CopyArgs, client: &Client, out: &mut dyn Write) -> Result<(), Error> {
    let CopyArgs {
        src,
        dst,
        all,
        mut platforms,
        jobs,
        preserve_digests,
        referrers,
        no_blob_cache,
        quiet,
        json,
        progress,
        sides,
    } = args;
    let (src_client, dst_client) = sides.copy_clients(&src, &dst, client)?;
    let src = stevedore::transport::parse_with(&src, &src_client)?;
    let dst = stevedore::transport::parse_with(&dst, &dst_client)?;
    let platform = if platforms.len() == 1 {
        platforms.pop()
    } else {
        None
    };
    let options = CopyOptions {
        all,
        platform,
        platforms,
        jobs,
        preserve_digests,
        referrers,
        blob_cache: !no_blob_cache,
        blob_cache_dir: None,
        progress: progress_printer(progress, quiet),
        cancel: Some(crate::interrupt::cancel_on_signals()?),
    };
    let report = stevedore::copy(&src, &dst, &options)?;
    if json {
        emit(out, to_json(&report)?.as_bytes())
    } else if quiet {
        Ok(())
    } else {
        emit(out, describe_copy(&report).as_bytes())
    }
}

/// Runs `sync`: every job is tried; the exit status reports the failures.
pub fn sync(args: SyncArgs, client: &Client, out: &mut dyn Write) -> Result<(), Error> {
    let text = std::fs::read_to_string(&args.file)
        .map_err(|e| Error::io(format!("reading {}", args.file.display()), e))?;
    let jobs_list = stevedore::sync::parse_jobs(&text)?;
    let options = CopyOptions {
        all: args.all,
        jobs: args.jobs,
        referrers: args.referrers,
        blob_cache: !args.no_blob_cache,
        cancel: Some(crate::interrupt::cancel_on_signals()?),
        ..CopyOptions::default()
    };
    let pairs = jobs_list.iter().map(|j| (j.src.as_str(), j.dst.as_str()));
    let client = args.sides.sync_client(pairs, client)?;
    let results = stevedore::sync(&jobs_list, &options, |s| {
        stevedore::transport::parse_with(s, &client)
    });
    let output = if args.json {
        to_json(&results)?
    } else {
        results.iter().map(describe_sync).collect()
    };
    emit(out, output.as_bytes())?;
    let failures: Vec<ErrorKind> = results
        .iter()
        .filter_map(|r| match &r.outcome {
            SyncOutcome::Failed { kind, .. } => Some(*kind),
            _ => None,
        })
        .collect();
    match failures.first() {
        Some(kind) => Err(Error::new(
            *kind,
            format!("{} of {} copies failed", failures.len(), results.len()),
        )),
        None => Ok(()),
    }
}

fn describe_copy(r: &CopyReport) -> String {
    let mut out = format!(
        "Copied {} to {}\nDigest: {}\nBlobs:  {} sent ({}), {} mounted, {} already present\n",
        r.source,
        r.destination,
        r.digest,
        r.blobs_copied,
        human_size(r.bytes_copied),
        r.blobs_mounted,
        r.blobs_skipped
    );
    if let Some(tag) = &r.assumed_tag {
        out.push_str(&format!("Tag:    {tag} (the destination named no tag)\n"));
    }
    if r.digest != r.source_digest {
        out.push_str(&format!("From:   {} (the source index)\n", r.source_digest));
    }
    if r.referrers_copied > 0 {
        out.push_str(&format!(
            "Also:   {} signature(s) and attached artifact(s)\n",
            r.referrers_copied
        ));
    }
    for layer in &r.foreign_layers_skipped {
        out.push_str(&format!(
            "Foreign layer {} not copied (the source does not hold it; fetched from {})\n",
            layer.digest,
            if layer.urls.is_empty() {
                "nowhere: it has no urls".to_owned()
            } else {
                layer.urls.join(", ")
            }
        ));
    }
    if let Some(note) = &r.converted {
        out.push_str(&format!("Note:   {note}\n"));
    }
    for note in &r.notes {
        out.push_str(&format!("Warning: {note}\n"));
    }
    out
}

fn describe_sync(r: &SyncResult) -> String {
    let (src, dst) = (&r.job.src, &r.job.dst);
    match &r.outcome {
        SyncOutcome::Copied(report) => format!(
            "copied  {src} -> {dst}  {} ({} blobs sent, {} mounted, {} present)\n",
            report.digest, report.blobs_copied, report.blobs_mounted, report.blobs_skipped
        ),
        SyncOutcome::Skipped { digest } => format!("same    {src} -> {dst}  {digest}\n"),
        SyncOutcome::Failed { kind, message } => {
            format!("failed  {src} -> {dst}  {kind}: {message}\n")
        }
    }
}
