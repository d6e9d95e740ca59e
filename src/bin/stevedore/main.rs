//! `stevedore`: the command-line shell over the library's verbs.
//!
//! This file holds the command table and `main`; each verb group lives in
//! its own file under `commands/`, as cargo's own commands do. No command
//! holds logic a verb needs: each parses its flags into the library's
//! options, calls the verb and renders the result.

mod commands;
mod output;
mod registry_args;

use std::process::ExitCode;

use clap::{Parser, Subcommand};
use commands::{build, copy, inspect, serve, sign};
use registry_args::RegistryArgs;
use stevedore::Error;

/// Stevedore: copy, inspect and list OCI container images without a daemon.
#[derive(Parser)]
#[command(name = "stevedore", version, about)]
struct Cli {
    #[command(flatten)]
    registry: RegistryArgs,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Copy an image between two locations (e.g. oci:/a:1.0 docker://registry/a:1.0).
    Copy(copy::CopyArgs),
    /// Copy many images: FILE holds one `SRC DST` pair a line (`#` comments).
    Sync(copy::SyncArgs),
    /// Describe an image: digest, platform, layers, config.
    Inspect(inspect::InspectArgs),
    /// Fetch one blob, verified, to stdout or a file.
    Blob(inspect::BlobArgs),
    /// Delete an image: a layout's tag (and blobs only it used), or a registry's manifest.
    Delete(inspect::DeleteArgs),
    /// List the tags of a repository or layout.
    Tags(inspect::TagsArgs),
    /// Sign an image as cosign does (the signature goes to the sha256-<hex>.sig tag).
    Sign(sign::SignArgs),
    /// Attach an artifact (an SBOM, a scan result) to an image as an OCI 1.1 referrer.
    Attach(sign::AttachArgs),
    /// List the artifacts attached to an image.
    Referrers(sign::ReferrersArgs),
    /// Verify an image's signatures; exits 0 only when one satisfies the policy.
    Verify(sign::VerifyArgs),
    /// Write a key pair cosign can read: PREFIX.key (encrypted with
    /// COSIGN_PASSWORD) and PREFIX.pub.
    GenerateKeyPair(sign::GenerateKeyPairArgs),
    /// Run a registry (the OCI distribution API) until interrupted.
    Serve(serve::ServeArgs),
    /// Build an image from a spec (JSON): a base, layers, config.
    Build(build::BuildArgs),
    /// Add layers (tar files or directories) onto a base image.
    Append(build::AppendArgs),
    /// Change an image's config, labels or annotations.
    Mutate(build::MutateArgs),
    /// Replace an image's old base layers by a new base's.
    Rebase(build::RebaseArgs),
    /// Make or change a multi-platform index.
    Index(build::IndexArgs),
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    match run(&cli.registry, cli.command) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("stevedore: {} error: {e}", e.kind());
            ExitCode::FAILURE
        }
    }
}

fn run(registry: &RegistryArgs, command: Command) -> Result<(), Error> {
    let client = registry.client()?;
    let mut stdout = std::io::stdout().lock();
    let out = &mut stdout;
    match command {
        Command::Copy(args) => copy::copy(args, &client, out),
        Command::Sync(args) => copy::sync(args, &client, out),
        Command::Inspect(args) => inspect::inspect(args, &client, out),
        Command::Blob(args) => inspect::blob(args, &client, out),
        Command::Delete(args) => inspect::delete(args, &client),
        Command::Tags(args) => inspect::tags(args, &client, out),
        Command::Sign(args) => sign::sign(args, &client, out),
        Command::Attach(args) => sign::attach(args, &client, out),
        Command::Referrers(args) => sign::referrers(args, &client, out),
        Command::Verify(args) => sign::verify(args, &client, out),
        Command::GenerateKeyPair(args) => sign::generate_key_pair(args, out),
        Command::Serve(args) => serve::serve(args),
        Command::Build(args) => build::build(args, &client, out),
        Command::Append(args) => build::append(args, &client, out),
        Command::Mutate(args) => build::mutate(args, &client, out),
        Command::Rebase(args) => build::rebase(args, &client, out),
        Command::Index(args) => build::index(args, &client, out),
    }
}
