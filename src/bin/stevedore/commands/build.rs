//! `build`, `append`, `mutate`, `rebase` and `index`: making and changing
//! images, in crane's words (`flatten` and `layer` are in `layer.rs`).

use std::collections::BTreeMap;
use std::io::Write;
use std::path::PathBuf;

use clap::{Args, Subcommand};
use stevedore::build::{BuildSpec, ConfigChanges, Mutation};
use stevedore::image::layer::Compression;
use stevedore::platform::Platform;
use stevedore::registry::Client;
use stevedore::{BuildReport, Error};

use super::{image, key_value};
use crate::output::{emit, to_json};

/// How every command here shows its result.
#[derive(Args)]
pub struct ReportArgs {
    /// Print the result as JSON on stdout (else the digest).
    #[arg(long)]
    json: bool,
}

impl ReportArgs {
    /// Prints `report` as asked.
    pub fn show(&self, report: &BuildReport, out: &mut dyn Write) -> Result<(), Error> {
        let text = if self.json {
            to_json(report)?
        } else {
            report.digest.to_string()
        };
        emit(out, format!("{text}\n").as_bytes())
    }
}

/// `stevedore build SPEC -t DST`.
#[derive(Args)]
pub struct BuildArgs {
    /// The build spec (JSON; see the README). Relative paths in it are
    /// taken from its directory.
    spec: PathBuf,
    /// Where to write the image, as TRANSPORT:LOCATION.
    #[arg(short = 't', long = "tag", value_name = "DST")]
    tag: String,
    #[command(flatten)]
    report: ReportArgs,
}

/// `stevedore append --base IMAGE -f LAYER… -t DST`.
#[derive(Args)]
pub struct AppendArgs {
    /// The base image, as TRANSPORT:LOCATION.
    #[arg(long)]
    base: String,
    /// A layer to add: a tar file (kept as it is) or a directory; repeat
    /// it for more, bottom first.
    #[arg(short = 'f', long = "new-layer", value_name = "LAYER", required = true)]
    layers: Vec<PathBuf>,
    /// Compression of layers made from directories: gzip, zstd or none.
    #[arg(long, default_value = "gzip")]
    compression: String,
    /// The platform to choose when the base is an index.
    #[arg(long)]
    platform: Option<Platform>,
    /// Where to write the image.
    #[arg(short = 't', long = "tag", value_name = "DST")]
    tag: String,
    #[command(flatten)]
    report: ReportArgs,
}

/// `stevedore mutate IMAGE [--env K=V]… -t DST`.
#[derive(Args)]
pub struct MutateArgs {
    /// The image to change.
    image: String,
    /// Set an environment variable (repeatable).
    #[arg(long, value_parser = key_value)]
    env: Vec<(String, String)>,
    /// Replace the entrypoint (comma-separated arguments).
    #[arg(long, value_delimiter = ',')]
    entrypoint: Option<Vec<String>>,
    /// Replace the default arguments (comma-separated).
    #[arg(long, value_delimiter = ',')]
    cmd: Option<Vec<String>>,
    /// Set the working directory.
    #[arg(long)]
    workdir: Option<String>,
    /// Set the user.
    #[arg(long)]
    user: Option<String>,
    /// Set a label (repeatable).
    #[arg(long, value_parser = key_value)]
    label: Vec<(String, String)>,
    /// Set a manifest annotation (repeatable).
    #[arg(short = 'a', long, value_parser = key_value)]
    annotation: Vec<(String, String)>,
    /// Expose a port, such as 8080 or 53/udp (repeatable).
    #[arg(long = "exposed-ports", value_delimiter = ',')]
    exposed_ports: Vec<String>,
    /// Set the creation time (RFC 3339).
    #[arg(long)]
    created: Option<String>,
    /// For an index: the one platform whose image changes.
    #[arg(long)]
    platform: Option<Platform>,
    /// Where to write the result.
    #[arg(short = 't', long = "tag", value_name = "DST")]
    tag: String,
    #[command(flatten)]
    report: ReportArgs,
}

/// `stevedore rebase IMAGE --old-base A --new-base B -t DST`.
#[derive(Args)]
pub struct RebaseArgs {
    /// The image to rebase.
    image: String,
    /// The base it was built on.
    #[arg(long)]
    old_base: String,
    /// The base to put under it instead.
    #[arg(long)]
    new_base: String,
    /// The platform to choose from indexes.
    #[arg(long)]
    platform: Option<Platform>,
    /// Where to write the result.
    #[arg(short = 't', long = "tag", value_name = "DST")]
    tag: String,
    #[command(flatten)]
    report: ReportArgs,
}

/// `stevedore index create|append|remove`.
#[derive(Args)]
pub struct IndexArgs {
    #[command(subcommand)]
    command: IndexCommand,
}

#[derive(Subcommand)]
enum IndexCommand {
    /// Make an index of images, one per platform (`-m IMAGE`, repeated).
    Create {
        /// An image to list (repeatable).
        #[arg(short = 'm', long = "manifest", required = true)]
        images: Vec<String>,
        /// Where to write the index.
        #[arg(short = 't', long = "tag", value_name = "DST")]
        tag: String,
        #[command(flatten)]
        report: ReportArgs,
    },
    /// Add an image to an index (replacing its platform's entry).
    Append {
        /// The index.
        index: String,
        /// The image to add.
        #[arg(short = 'm', long = "manifest")]
        image: String,
        /// Where to write the index.
        #[arg(short = 't', long = "tag", value_name = "DST")]
        tag: String,
        #[command(flatten)]
        report: ReportArgs,
    },
    /// Remove a platform's image from an index.
    Remove {
        /// The index.
        index: String,
        /// The platform to remove.
        #[arg(long)]
        platform: Platform,
        /// Where to write the index.
        #[arg(short = 't', long = "tag", value_name = "DST")]
        tag: String,
        #[command(flatten)]
        report: ReportArgs,
    },
}

/// Runs `build`.
pub fn build(args: BuildArgs, client: &Client, out: &mut dyn Write) -> Result<(), Error> {
    let spec = BuildSpec::from_file(&args.spec)?;
    let dir = args.spec.parent().map(PathBuf::from).unwrap_or_default();
    let dst = image(&args.tag, client)?;
    let built = stevedore::build(&spec, &dir, client)?;
    args.report
        .show(&stevedore::write_image(&built, &dst)?, out)
}

/// Runs `append`.
pub fn append(args: AppendArgs, client: &Client, out: &mut dyn Write) -> Result<(), Error> {
    let base = image(&args.base, client)?;
    let dst = image(&args.tag, client)?;
    let compression = Compression::parse(&args.compression, None)?;
    let built = stevedore::append(&base, args.platform.as_ref(), &args.layers, compression)?;
    args.report
        .show(&stevedore::write_image(&built, &dst)?, out)
}

/// Runs `mutate`.
pub fn mutate(args: MutateArgs, client: &Client, out: &mut dyn Write) -> Result<(), Error> {
    let src = image(&args.image, client)?;
    let dst = image(&args.tag, client)?;
    let mutation = Mutation {
        config: ConfigChanges {
            env: args.env.iter().map(|(k, v)| format!("{k}={v}")).collect(),
            entrypoint: args.entrypoint,
            cmd: args.cmd,
            working_dir: args.workdir,
            user: args.user,
            labels: args.label.into_iter().collect(),
            exposed_ports: args.exposed_ports,
            created: args.created,
            ..ConfigChanges::default()
        },
        annotations: args.annotation.into_iter().collect::<BTreeMap<_, _>>(),
        platform: args.platform,
    };
    args.report
        .show(&stevedore::mutate(&src, &mutation, &dst)?, out)
}

/// Runs `rebase`.
pub fn rebase(args: RebaseArgs, client: &Client, out: &mut dyn Write) -> Result<(), Error> {
    let src = image(&args.image, client)?;
    let old = image(&args.old_base, client)?;
    let new = image(&args.new_base, client)?;
    let dst = image(&args.tag, client)?;
    let rebased = stevedore::rebase(&src, &old, &new, args.platform.as_ref())?;
    args.report
        .show(&stevedore::write_image(&rebased, &dst)?, out)
}

/// Runs `index`.
pub fn index(args: IndexArgs, client: &Client, out: &mut dyn Write) -> Result<(), Error> {
    match args.command {
        IndexCommand::Create {
            images,
            tag,
            report,
        } => {
            let images = images
                .iter()
                .map(|i| image(i, client))
                .collect::<Result<Vec<_>, _>>()?;
            let dst = image(&tag, client)?;
            report.show(&stevedore::index_create(&images, &dst)?, out)
        }
        IndexCommand::Append {
            index,
            image: added,
            tag,
            report,
        } => {
            let (src, added, dst) = (
                image(&index, client)?,
                image(&added, client)?,
                image(&tag, client)?,
            );
            report.show(&stevedore::index_add(&src, &added, &dst)?, out)
        }
        IndexCommand::Remove {
            index,
            platform,
            tag,
            report,
        } => {
            let (src, dst) = (image(&index, client)?, image(&tag, client)?);
            report.show(&stevedore::index_remove(&src, &platform, &dst)?, out)
        }
    }
}
