//! `ls`, `cat`, `export`, `diff`: looking inside an image without unpacking it.

use std::io::{IsTerminal, Write};
use std::path::PathBuf;

use clap::Args;
use stevedore::layer::Entry;
use stevedore::platform::Platform;
use stevedore::registry::Client;
use stevedore::{Error, FilesOptions};

use crate::output::{
    emit, emit_json, emit_with, reader_gone_ends_verb, reader_gone_is_done, to_json,
};

/// `stevedore ls IMAGE [PATH]`.
#[derive(Args)]
pub struct LsArgs {
    /// The image, as TRANSPORT:LOCATION.
    image: String,
    /// List only this directory (or this one file); every path when absent.
    path: Option<String>,
    /// Show type, mode, owner, size and link targets.
    #[arg(short, long)]
    long: bool,
    /// Print the listing (layers and entries) as JSON; it carries every
    /// field, so `-l` changes nothing there.
    #[arg(long)]
    json: bool,
    /// The platform to choose from an index (os/arch[/variant]); defaults to the host's.
    #[arg(long)]
    platform: Option<Platform>,
}

/// `stevedore cat IMAGE PATH`.
#[derive(Args)]
pub struct CatArgs {
    /// The image, as TRANSPORT:LOCATION.
    image: String,
    /// The file to print; symlinks are followed inside the image only.
    path: String,
    /// The platform to choose from an index (os/arch[/variant]); defaults to the host's.
    #[arg(long)]
    platform: Option<Platform>,
}

/// `stevedore export IMAGE`.
#[derive(Args)]
pub struct ExportArgs {
    /// The image, as TRANSPORT:LOCATION.
    image: String,
    /// Write the tar to FILE (whole, or not at all) instead of stdout.
    #[arg(short, long, value_name = "FILE")]
    output: Option<PathBuf>,
    /// The platform to choose from an index (os/arch[/variant]); defaults to the host's.
    #[arg(long)]
    platform: Option<Platform>,
}

/// `stevedore diff IMAGE IMAGE`.
#[derive(Args)]
pub struct DiffArgs {
    /// The first image, as TRANSPORT:LOCATION.
    first: String,
    /// The second image, as TRANSPORT:LOCATION.
    second: String,
    /// Print the report as JSON.
    #[arg(long)]
    json: bool,
    /// The platform to choose from an index (os/arch[/variant]); defaults to the host's.
    #[arg(long)]
    platform: Option<Platform>,
}

fn options(platform: Option<Platform>) -> FilesOptions {
    FilesOptions {
        platform,
        ..Default::default()
    }
}

/// Runs `ls`.
pub fn ls(args: LsArgs, client: &Client, out: &mut dyn Write) -> Result<(), Error> {
    let image = super::image(&args.image, client)?;
    let options = options(args.platform.clone());
    let Some(path) = &args.path else {
        // The whole root: printed from the open view, not copied out of it.
        let fs = stevedore::ImageFs::open(&image, &options, false)?;
        let listing = fs.listing_ref();
        return print_listing(&args, &listing, &listing.entries, out);
    };
    let listing = stevedore::files_in(&image, path, &options)?;
    let entries: Vec<&Entry> = listing.entries.iter().collect();
    print_listing(&args, &listing, &entries, out)
}

/// Prints `listing` as JSON, or `entries` a line each (`-l`: long lines).
fn print_listing(
    args: &LsArgs,
    listing: &impl serde::Serialize,
    entries: &[&Entry],
    out: &mut dyn Write,
) -> Result<(), Error> {
    if args.json {
        return emit_json(out, listing);
    }
    emit_with(out, |w| {
        for e in entries {
            if args.long {
                w.write_all(long_line(e).as_bytes())?;
            } else {
                writeln!(w, "/{}", e.path)?;
            }
        }
        Ok(())
    })
}

fn long_line(e: &Entry) -> String {
    let link = match (&e.link_target, e.kind) {
        (Some(t), stevedore::layer::EntryKind::Hardlink) => format!(" link to /{t}"),
        (Some(t), _) => format!(" -> {t}"),
        (None, _) => String::new(),
    };
    format!(
        "{}{:04o} {:>5}:{:<5} {:>12} /{}{link}\n",
        e.kind.letter(),
        e.mode,
        e.uid,
        e.gid,
        e.size,
        e.path
    )
}

/// Runs `cat`.
pub fn cat(args: CatArgs, client: &Client, out: &mut dyn Write) -> Result<(), Error> {
    let image = super::image(&args.image, client)?;
    let fs = stevedore::ImageFs::open(&image, &options(args.platform), false)?;
    let mut file = fs.open_file(&args.path)?;
    reader_gone_is_done(stevedore::store::copy_stream(&mut file, out).and_then(|_| out.flush()))
        .map(drop)
        .map_err(|e| stevedore::error::from_io(format!("writing {}", args.path), e))
}

/// Runs `export`.
pub fn export(args: ExportArgs, client: &Client, out: &mut dyn Write) -> Result<(), Error> {
    let image = super::image(&args.image, client)?;
    let options = options(args.platform);
    match args.output {
        Some(path) => {
            let options = FilesOptions {
                cancel: Some(crate::interrupt::cancel_on_signals()?),
                ..options
            };
            stevedore::export_to_path(&image, &path, &options).map(drop)
        }
        None if std::io::stdout().is_terminal() => Err(Error::invalid(
            "refusing to write a tar archive to a terminal: redirect stdout or use -o FILE",
        )),
        None => {
            let mut buffered = std::io::BufWriter::with_capacity(1 << 20, out);
            reader_gone_ends_verb(
                stevedore::export(&image, &mut buffered, &options)
                    .map(drop)
                    .and_then(|()| {
                        reader_gone_is_done(buffered.flush())
                            .map_err(|e| Error::io("writing to stdout", e))
                    }),
            )
        }
    }
}

/// Runs `diff`.
pub fn diff(args: DiffArgs, client: &Client, out: &mut dyn Write) -> Result<(), Error> {
    let first = super::image(&args.first, client)?;
    let second = super::image(&args.second, client)?;
    let report = stevedore::diff(&first, &second, &options(args.platform))?;
    if args.json {
        return emit(out, to_json(&report)?.as_bytes());
    }
    let mut text = String::new();
    for p in &report.added {
        text.push_str(&format!("A /{p}\n"));
    }
    for p in &report.removed {
        text.push_str(&format!("D /{p}\n"));
    }
    for c in &report.changed {
        text.push_str(&format!("M /{} ({})\n", c.path, c.changes.join(", ")));
    }
    emit(out, text.as_bytes())
}
