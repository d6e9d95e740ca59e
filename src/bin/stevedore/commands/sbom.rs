//! `sbom`: an image's software bill of materials.

use std::io::Write;
use std::path::PathBuf;

use clap::Args;
use stevedore::platform::Platform;
use stevedore::registry::Client;
use stevedore::sbom::Format;
use stevedore::{Error, SbomOptions};

use crate::output::{emit, to_json};

/// `stevedore sbom IMAGE`.
#[derive(Args)]
pub struct SbomArgs {
    /// The image, as TRANSPORT:LOCATION.
    image: String,
    /// The document format: spdx-json (SPDX 2.3) or cyclonedx-json (CycloneDX 1.5).
    #[arg(long, default_value = "spdx-json")]
    format: Format,
    /// Write the document to FILE (whole, or not at all) instead of stdout.
    #[arg(short, long, value_name = "FILE")]
    output: Option<PathBuf>,
    /// Also push the document to the image as an OCI 1.1 referrer
    /// (artifact type application/spdx+json or application/vnd.cyclonedx+json).
    #[arg(long)]
    attach: bool,
    /// The platform to choose from an index (os/arch[/variant]); defaults to the host's.
    #[arg(long)]
    platform: Option<Platform>,
    /// Print the report (summary, warnings, referrer) as JSON instead of the
    /// document; with -o the document still goes to FILE.
    #[arg(long)]
    pub json: bool,
}

/// Runs `sbom`: the document to stdout or FILE; warnings and the attached
/// referrer's digest to stderr (or the report as JSON with --json).
pub fn sbom(args: SbomArgs, client: &Client, out: &mut dyn Write) -> Result<(), Error> {
    let image = super::image(&args.image, client)?;
    let report = stevedore::sbom(
        &image,
        &SbomOptions {
            format: args.format,
            platform: args.platform,
            attach: args.attach,
            ..Default::default()
        },
    )?;
    if let Some(path) = &args.output {
        report.write_document(path)?;
    }
    if args.json {
        return emit(out, to_json(&report)?.as_bytes());
    }
    if args.output.is_none() {
        emit(out, &report.document)?;
    }
    let mut notes = String::new();
    for warning in &report.warnings {
        notes.push_str(&format!("warning: {warning}\n"));
    }
    if let Some(attached) = &report.attached {
        notes.push_str(&format!(
            "attached {} as {} to {}\n",
            attached.artifact_type, attached.digest, attached.subject
        ));
    }
    std::io::stderr()
        .write_all(notes.as_bytes())
        .map_err(|e| Error::io("writing to stderr", e))
}
