//! `stevedore`: the command-line shell over the library's verbs.
//!
//! This file holds the command table and `main`; each verb group lives in
//! its own file under `commands/`, as cargo's own commands do. No command
//! holds logic a verb needs: each parses its flags into the library's
//! options, calls the verb and renders the result.

mod commands;
mod exit;
mod interrupt;
mod man;
mod output;
mod password;
mod policy_args;
mod progress_bars;
mod registry_args;

use std::process::ExitCode;

use clap::{Parser, Subcommand};
use commands::{
    build, copy, files, gc, inspect, layer, login, refs, sbom, serve, sign, static_cmd,
};
use policy_args::PolicyArgs;
use registry_args::RegistryArgs;
use stevedore::Error;

/// Stevedore: copy, inspect, list and look inside OCI container images without a daemon.
#[derive(Parser)]
#[command(name = "stevedore", version, about, after_help = exit::HELP)]
struct Cli {
    #[command(flatten)]
    registry: RegistryArgs,
    #[command(flatten)]
    policy: PolicyArgs,
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
    /// List the tags of a repository or layout (crane's `ls`; our `ls` lists files).
    Tags(inspect::TagsArgs),
    /// List the tags as skopeo does: {"Repository": …, "Tags": […]}.
    ListTags(refs::ListTagsArgs),
    /// Give an image another tag in its repository or layout, without pulling it.
    Tag(refs::TagArgs),
    /// Print the digest of the manifest an image name points to.
    Digest(refs::DigestArgs),
    /// Print the digest of a manifest file.
    ManifestDigest(refs::ManifestDigestArgs),
    /// List the repositories of a registry.
    Catalog(refs::CatalogArgs),
    /// Print the version.
    Version,
    /// Print a shell completion script (bash, zsh, fish, elvish, powershell).
    #[command(
        after_help = "Examples:\n  stevedore completion bash > /etc/bash_completion.d/stevedore\n  stevedore completion zsh > \"${fpath[1]}/_stevedore\""
    )]
    Completion {
        /// The shell.
        shell: clap_complete::Shell,
    },
    /// Write the man pages (stevedore.1, stevedore-VERB.1) into DIR
    /// (scripts/gen-man.sh runs it).
    #[command(hide = true)]
    Man {
        /// The directory to write them to.
        dir: std::path::PathBuf,
    },
    /// List the files of an image's merged root (or of one directory), without unpacking it.
    Ls(files::LsArgs),
    /// Print one file of an image (symlinks followed inside the image only).
    Cat(files::CatArgs),
    /// Write an image's merged root as one uncompressed tar, to stdout or a file.
    Export(files::ExportArgs),
    /// Show the paths two images add, remove and change.
    Diff(files::DiffArgs),
    /// Write an image's software bill of materials (SPDX or CycloneDX JSON),
    /// optionally attaching it to the image as a referrer.
    Sbom(sbom::SbomArgs),
    /// Sign an image as cosign does (the signature goes to the sha256-<hex>.sig tag).
    Sign(sign::SignArgs),
    /// Attach an artifact (an SBOM, a scan result) to an image as an OCI 1.1 referrer.
    Attach(sign::AttachArgs),
    /// List the artifacts attached to an image.
    Referrers(sign::ReferrersArgs),
    /// Verify an image's signatures; exits 0 only when one satisfies the policy.
    Verify(sign::VerifyArgs),
    /// Write a key pair cosign can read: PREFIX.key (encrypted with
    /// COSIGN_PASSWORD, else a password asked twice) and PREFIX.pub.
    GenerateKeyPair(sign::GenerateKeyPairArgs),
    /// Run a registry (the OCI distribution API) until interrupted.
    Serve(serve::ServeArgs),
    /// Remove the blobs of a registry's store (--root or --s3) that no
    /// manifest reaches, older than a grace period; safe while servers serve.
    Gc(gc::GcArgs),
    /// Export an image into a static registry tree (DIR) that nginx, Caddy or
    /// any static host serves as /v2, and write the web-server configuration.
    Static(static_cmd::StaticArgs),
    /// Log in to a registry: check the credentials, keep them in the auth file.
    Login(login::LoginArgs),
    /// Log out of a registry: remove its credentials from the auth file.
    Logout(login::LogoutArgs),
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
    /// Squash an image's layers into one (each image of an index, or one platform's).
    Flatten(layer::FlattenArgs),
    /// Remove or replace one layer of an image (`layer remove|replace IMAGE --index N`).
    Layer(layer::LayerArgs),
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let json = cli.command.json();
    match run(&cli.registry, &cli.policy, cli.command) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => exit::fail(&e, json),
    }
}

impl Command {
    /// Whether the verb was asked for JSON, so that a failure is JSON too.
    fn json(&self) -> bool {
        match self {
            Command::Copy(a) => a.json,
            Command::Sync(a) => a.json,
            Command::Inspect(a) => a.json,
            Command::Tags(a) => a.json,
            Command::Catalog(a) => a.json,
            Command::Sign(a) => a.json,
            Command::Referrers(a) => a.json,
            Command::Sbom(a) => a.json,
            Command::Verify(a) => a.json,
            Command::Gc(a) => a.json,
            _ => false,
        }
    }
}

fn run(registry: &RegistryArgs, policy: &PolicyArgs, command: Command) -> Result<(), Error> {
    let client = registry.client()?;
    let mut stdout = std::io::stdout().lock();
    let out = &mut stdout;
    match command {
        Command::Copy(args) => copy::copy(args, policy.file(), &client, out),
        Command::Sync(args) => copy::sync(args, policy.file(), &client, out),
        Command::Inspect(args) => inspect::inspect(args, &client, out),
        Command::Blob(args) => inspect::blob(args, &client, out),
        Command::Delete(args) => inspect::delete(args, &client),
        Command::Tags(args) => inspect::tags(args, &client, out),
        Command::ListTags(args) => refs::list_tags(args, &client, out),
        Command::Tag(args) => refs::tag(args, &client, out),
        Command::Digest(args) => refs::digest(args, &client, out),
        Command::ManifestDigest(args) => refs::manifest_digest(args, out),
        Command::Catalog(args) => refs::catalog(args, &client, out),
        Command::Version => refs::version(out),
        Command::Completion { shell } => {
            use clap::CommandFactory;
            let mut script = Vec::new();
            clap_complete::generate(shell, &mut Cli::command(), "stevedore", &mut script);
            output::emit(out, &script)
        }
        Command::Man { dir } => {
            use clap::CommandFactory;
            man::write_all(Cli::command(), &dir)
        }
        Command::Ls(args) => files::ls(args, &client, out),
        Command::Cat(args) => files::cat(args, &client, out),
        Command::Export(args) => files::export(args, &client, out),
        Command::Diff(args) => files::diff(args, &client, out),
        Command::Sbom(args) => sbom::sbom(args, &client, out),
        Command::Sign(args) => sign::sign(args, &client, out),
        Command::Attach(args) => sign::attach(args, &client, out),
        Command::Referrers(args) => sign::referrers(args, &client, out),
        Command::Verify(args) => sign::verify(args, policy.named(), &client, out),
        Command::GenerateKeyPair(args) => sign::generate_key_pair(args, out),
        Command::Serve(args) => serve::serve(args),
        Command::Gc(args) => gc::gc(args, out),
        Command::Static(args) => static_cmd::export(args, &client, out),
        Command::Login(args) => login::login(args, &client, out),
        Command::Logout(args) => login::logout(args, &client, out),
        Command::Build(args) => build::build(args, &client, out),
        Command::Append(args) => build::append(args, &client, out),
        Command::Mutate(args) => build::mutate(args, &client, out),
        Command::Rebase(args) => build::rebase(args, &client, out),
        Command::Index(args) => build::index(args, &client, out),
        Command::Flatten(args) => layer::flatten(args, &client, out),
        Command::Layer(args) => layer::layer(args, &client, out),
    }
}

#[cfg(test)]
mod tests {
    use clap::CommandFactory;

    /// clap's own consistency checks over every verb (conflicting or
    /// missing argument names panic at run time otherwise).
    #[test]
    fn the_command_table_is_consistent() {
        super::Cli::command().debug_assert();
    }
}
