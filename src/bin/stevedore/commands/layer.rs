//! `flatten` and `layer remove|replace`: changing an image's layers.

use std::io::Write;
use std::path::PathBuf;

use clap::{Args, Subcommand};
use stevedore::image::layer::Compression;
use stevedore::platform::Platform;
use stevedore::registry::Client;
use stevedore::Error;

use super::build::ReportArgs;
use super::image;

/// `stevedore flatten IMAGE -t DST [--platform P]`.
#[derive(Args)]
pub struct FlattenArgs {
    /// The image (or index) to flatten.
    image: String,
    /// For an index: flatten only this platform's image (the others keep
    /// their digests). Every image is flattened by default.
    #[arg(long)]
    platform: Option<Platform>,
    /// Where to write the result.
    #[arg(short = 't', long = "tag", value_name = "DST")]
    tag: String,
    #[command(flatten)]
    report: ReportArgs,
}

/// `stevedore layer remove|replace`.
#[derive(Args)]
pub struct LayerArgs {
    #[command(subcommand)]
    command: LayerCommand,
}

#[derive(Subcommand)]
enum LayerCommand {
    /// Remove the layer at --index (0 is the bottom) and its history entry.
    Remove {
        /// The image.
        image: String,
        /// The layer's position, 0 for the bottom layer.
        #[arg(long)]
        index: usize,
        /// The platform to choose when the image is an index.
        #[arg(long)]
        platform: Option<Platform>,
        /// Where to write the result.
        #[arg(short = 't', long = "tag", value_name = "DST")]
        tag: String,
        #[command(flatten)]
        report: ReportArgs,
    },
    /// Replace the layer at --index (0 is the bottom) by a tar file (kept
    /// as it is) or a directory; its history entry stays.
    Replace {
        /// The image.
        image: String,
        /// The layer's position, 0 for the bottom layer.
        #[arg(long)]
        index: usize,
        /// The new layer: a tar file or a directory.
        #[arg(short = 'f', long = "layer", value_name = "LAYER")]
        layer: PathBuf,
        /// Compression of a layer made from a directory: gzip, zstd or none.
        #[arg(long, default_value = "gzip")]
        compression: String,
        /// The platform to choose when the image is an index.
        #[arg(long)]
        platform: Option<Platform>,
        /// Where to write the result.
        #[arg(short = 't', long = "tag", value_name = "DST")]
        tag: String,
        #[command(flatten)]
        report: ReportArgs,
    },
}

/// Runs `flatten`.
pub fn flatten(args: FlattenArgs, client: &Client, out: &mut dyn Write) -> Result<(), Error> {
    let (src, dst) = (image(&args.image, client)?, image(&args.tag, client)?);
    args.report.show(
        &stevedore::flatten(&src, args.platform.as_ref(), &dst)?,
        out,
    )
}

/// Runs `layer`.
pub fn layer(args: LayerArgs, client: &Client, out: &mut dyn Write) -> Result<(), Error> {
    match args.command {
        LayerCommand::Remove {
            image: src,
            index,
            platform,
            tag,
            report,
        } => {
            let (src, dst) = (image(&src, client)?, image(&tag, client)?);
            let changed = stevedore::remove_layer(&src, index, platform.as_ref())?;
            report.show(&stevedore::write_image(&changed, &dst)?, out)
        }
        LayerCommand::Replace {
            image: src,
            index,
            layer,
            compression,
            platform,
            tag,
            report,
        } => {
            let (src, dst) = (image(&src, client)?, image(&tag, client)?);
            let compression = Compression::parse(&compression, None)?;
            let changed =
                stevedore::replace_layer(&src, index, &layer, compression, platform.as_ref())?;
            report.show(&stevedore::write_image(&changed, &dst)?, out)
        }
    }
}
