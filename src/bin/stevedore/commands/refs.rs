//! `list-tags`, `tag`, `digest`, `manifest-digest`, `catalog`, `version`:
//! naming and listing, in the spellings skopeo and crane users type.

use std::io::Write;

use clap::Args;
use stevedore::registry::Client;
use stevedore::{Digest, Error};

use crate::output::{emit, to_json};

/// `stevedore list-tags REPOSITORY` (skopeo's).
#[derive(Args)]
#[command(after_help = "Examples:\n  stevedore list-tags docker://registry.example/app")]
pub struct ListTagsArgs {
    /// The repository or layout, as TRANSPORT:LOCATION.
    image: String,
}

/// `stevedore tag IMAGE TAG` (crane's).
#[derive(Args)]
#[command(after_help = "Examples:\n  stevedore tag docker://registry.example/app:1.0 stable")]
pub struct TagArgs {
    /// The image to tag, as TRANSPORT:LOCATION.
    image: String,
    /// The new tag, in the same repository or layout.
    tag: String,
}

/// `stevedore digest IMAGE` (crane's).
#[derive(Args)]
#[command(after_help = "Examples:\n  stevedore digest docker://registry.example/app:1.0")]
pub struct DigestArgs {
    /// The image, as TRANSPORT:LOCATION.
    image: String,
}

/// `stevedore manifest-digest FILE` (skopeo's).
#[derive(Args)]
#[command(after_help = "Examples:\n  stevedore manifest-digest manifest.json")]
pub struct ManifestDigestArgs {
    /// A manifest file.
    file: std::path::PathBuf,
}

/// `stevedore catalog REGISTRY` (crane's).
#[derive(Args)]
#[command(after_help = "Examples:\n  stevedore catalog registry.example:5000")]
pub struct CatalogArgs {
    /// The registry host (`host[:port]`; a docker:// prefix is allowed).
    registry: String,
    /// Print the repositories as a JSON array.
    #[arg(long)]
    pub json: bool,
}

/// Runs `list-tags`: `{"Repository": …, "Tags": […]}` as skopeo prints it.
pub fn list_tags(args: ListTagsArgs, client: &Client, out: &mut dyn Write) -> Result<(), Error> {
    let list = stevedore::list_tags(&super::image(&args.image, client)?)?;
    emit(out, to_json(&list)?.as_bytes())
}

/// Runs `tag`: prints the tagged digest.
pub fn tag(args: TagArgs, client: &Client, out: &mut dyn Write) -> Result<(), Error> {
    let digest = stevedore::tag(&super::image(&args.image, client)?, &args.tag)?;
    emit(out, format!("{digest}\n").as_bytes())
}

/// Runs `digest`.
pub fn digest(args: DigestArgs, client: &Client, out: &mut dyn Write) -> Result<(), Error> {
    let digest = stevedore::manifest_digest(&super::image(&args.image, client)?)?;
    emit(out, format!("{digest}\n").as_bytes())
}

/// Runs `manifest-digest`: the sha256 of the file's bytes.
pub fn manifest_digest(args: ManifestDigestArgs, out: &mut dyn Write) -> Result<(), Error> {
    let bytes = std::fs::read(&args.file)
        .map_err(|e| Error::io(format!("reading {}", args.file.display()), e))?;
    emit(out, format!("{}\n", Digest::sha256(&bytes)).as_bytes())
}

/// Runs `catalog`: one repository a line, or a JSON array.
pub fn catalog(args: CatalogArgs, client: &Client, out: &mut dyn Write) -> Result<(), Error> {
    let host = args.registry.trim_start_matches("docker://");
    let host = host.trim_end_matches('/');
    let client = crate::registry_args::for_image(&format!("docker://{host}/x"), client)?;
    let repositories = client.catalog(host, None)?;
    if args.json {
        emit(out, to_json(&repositories)?.as_bytes())
    } else {
        let text: String = repositories.iter().map(|r| format!("{r}\n")).collect();
        emit(out, text.as_bytes())
    }
}

/// Runs `version`: the version, and the C ABI's.
pub fn version(out: &mut dyn Write) -> Result<(), Error> {
    let text = format!(
        "stevedore {} (C ABI {})\n",
        env!("CARGO_PKG_VERSION"),
        stevedore::ffi::ABI_VERSION
    );
    emit(out, text.as_bytes())
}
