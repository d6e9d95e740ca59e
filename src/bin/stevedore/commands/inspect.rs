//! `inspect`, `blob`, `tags`, `delete`: reading what an image is, and removing it.

use std::io::Write;

use clap::Args;
use stevedore::platform::Platform;
use stevedore::registry::Client;
use stevedore::{Error, InspectOptions, InspectReport};

use crate::output::{emit, human_size, reader_gone_is_done, to_json};

/// `stevedore inspect IMAGE`.
#[derive(Args)]
#[command(after_help = INSPECT_EXAMPLES)]
pub struct InspectArgs {
    /// The image, as TRANSPORT:LOCATION.
    image: String,
    /// Print the manifest exactly as stored (with --config: the config).
    #[arg(long)]
    raw: bool,
    /// Print the config: indented as skopeo prints it, or exactly as
    /// stored with --raw.
    #[arg(long)]
    config: bool,
    /// The platform to choose from an index (os/arch[/variant]); defaults to the host's.
    #[arg(long)]
    platform: Option<Platform>,
    /// Leave RepoTags empty instead of listing the repository's tags.
    #[arg(short = 'n', long)]
    no_tags: bool,
    /// Print the report as JSON: skopeo's keys (Name, Digest, RepoTags, …)
    /// then ours.
    #[arg(long, conflicts_with_all = ["raw", "config"])]
    pub json: bool,
}

const INSPECT_EXAMPLES: &str = "Examples:
  stevedore inspect --json docker://registry.example/app:1.0
  stevedore inspect --raw docker://registry.example/app:1.0
  stevedore inspect --config --raw --platform linux/arm64 oci:/images/app:1.0";

/// `stevedore blob IMAGE DIGEST`.
#[derive(Args)]
pub struct BlobArgs {
    /// The repository or layout holding it, as TRANSPORT:LOCATION.
    image: String,
    /// The blob's digest.
    digest: stevedore::Digest,
    /// Write it to FILE (only once complete and verified) instead of stdout.
    #[arg(short, long, value_name = "FILE")]
    output: Option<std::path::PathBuf>,
}

/// `stevedore delete IMAGE`.
#[derive(Args)]
pub struct DeleteArgs {
    /// The image, as TRANSPORT:LOCATION.
    image: String,
}

/// `stevedore tags IMAGE`.
#[derive(Args)]
pub struct TagsArgs {
    /// The repository or layout, as TRANSPORT:LOCATION.
    image: String,
    /// Print the tags as a JSON array.
    #[arg(long)]
    pub json: bool,
}

/// Runs `inspect`.
pub fn inspect(args: InspectArgs, client: &Client, out: &mut dyn Write) -> Result<(), Error> {
    let image = super::image(&args.image, client)?;
    let options = InspectOptions {
        platform: args.platform,
        no_tags: args.no_tags,
    };
    if args.raw && options.platform.is_some() && !args.config {
        return Err(Error::invalid(
            "--raw prints the manifest the name points to: add --config to print a platform's config",
        ));
    }
    match (args.raw, args.config) {
        (true, false) => emit(out, stevedore::raw_manifest(&image)?.raw()),
        (true, true) => emit(out, &stevedore::raw_config(&image, &options)?),
        (false, true) => {
            let config = stevedore::raw_config(&image, &options)?;
            emit(out, &indented(&config)?)
        }
        (false, false) => {
            let report = stevedore::inspect(&image, &options)?;
            if args.json {
                emit(out, to_json(&report)?.as_bytes())
            } else {
                emit(out, describe_image(&report).as_bytes())
            }
        }
    }
}

/// A JSON document indented by four spaces, as skopeo prints a config.
fn indented(json: &[u8]) -> Result<Vec<u8>, Error> {
    use serde::Serialize;
    let value: serde_json::Value = serde_json::from_slice(json)
        .map_err(|e| Error::invalid(format!("the config is not JSON: {e}")))?;
    let mut bytes = Vec::new();
    let formatter = serde_json::ser::PrettyFormatter::with_indent(b"    ");
    let mut serializer = serde_json::Serializer::with_formatter(&mut bytes, formatter);
    value
        .serialize(&mut serializer)
        .map_err(|e| Error::invalid(format!("rendering the config: {e}")))?;
    bytes.push(b'\n');
    Ok(bytes)
}

/// Runs `blob`.
pub fn blob(args: BlobArgs, client: &Client, out: &mut dyn Write) -> Result<(), Error> {
    let image = super::image(&args.image, client)?;
    let digest = args.digest;
    match args.output {
        Some(path) => {
            let cancel = crate::interrupt::cancel_on_signals()?;
            stevedore::fetch::blob_to_file(&image, &digest, &path, Some(&cancel)).map(drop)
        }
        None => {
            let mut blob = stevedore::fetch::blob(&image, &digest)?;
            let written = stevedore::store::copy_stream(&mut blob, out).and_then(|_| out.flush());
            reader_gone_is_done(written)
                .map_err(|e| stevedore::error::from_io(format!("writing blob {digest}"), e))
        }
    }
}

/// Runs `delete`.
pub fn delete(args: DeleteArgs, client: &Client) -> Result<(), Error> {
    stevedore::delete(&super::image(&args.image, client)?)
}

/// Runs `tags`.
pub fn tags(args: TagsArgs, client: &Client, out: &mut dyn Write) -> Result<(), Error> {
    let tags = stevedore::tags(&super::image(&args.image, client)?)?;
    if args.json {
        emit(out, to_json(&tags)?.as_bytes())
    } else {
        let mut lines = String::with_capacity(tags.iter().map(|t| t.len() + 1).sum());
        for tag in &tags {
            lines.push_str(tag);
            lines.push('\n');
        }
        emit(out, lines.as_bytes())
    }
}

fn describe_image(r: &InspectReport) -> String {
    let mut out = String::new();
    let mut line = |k: &str, v: &str| out.push_str(&format!("{k:<13}{v}\n"));
    line("Name:", &r.name);
    line("Digest:", &r.digest.to_string());
    line("Media type:", &r.media_type);
    if let Some(index) = &r.index {
        let platforms: Vec<String> = index
            .iter()
            .map(|e| e.platform.clone().unwrap_or_else(|| "(none)".into()))
            .collect();
        line("Platforms:", &platforms.join(", "));
        line("Image:", &r.image_digest.to_string());
    }
    line("Platform:", &r.platform);
    if let Some(created) = &r.created {
        line("Created:", created);
    }
    if let Some(author) = &r.author {
        line("Author:", author);
    }
    line("Config:", &r.config_digest.to_string());
    line(
        "Layers:",
        &format!("{} ({})", r.layers.len(), human_size(r.layers_size)),
    );
    for layer in &r.layers {
        line("", &format!("{}  {}", layer.digest, human_size(layer.size)));
    }
    if !r.entrypoint.is_empty() {
        line("Entrypoint:", &r.entrypoint.join(" "));
    }
    if !r.cmd.is_empty() {
        line("Cmd:", &r.cmd.join(" "));
    }
    for (i, env) in r.env.iter().enumerate() {
        line(if i == 0 { "Env:" } else { "" }, env);
    }
    for (i, (k, v)) in r.labels.iter().enumerate() {
        line(if i == 0 { "Labels:" } else { "" }, &format!("{k}={v}"));
    }
    out
}
