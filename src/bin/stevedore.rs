//! `stevedore`: the command-line shell over the library's verbs.

use std::io::Write;
use std::os::unix::fs::OpenOptionsExt;
use std::process::ExitCode;
use std::sync::Arc;

use clap::{ArgAction, Args, Parser, Subcommand};
use stevedore::auth::{Credentials, Secret};
use stevedore::platform::Platform;
use stevedore::progress::{ProgressEvent, ProgressFn};
use stevedore::registry::{Client, ClientOptions};
use stevedore::transport::parse_with;
use stevedore::{
    CopyOptions, CopyReport, Error, ErrorKind, ImageRef, InspectOptions, InspectReport,
    SyncOutcome, SyncResult,
};

/// Stevedore: copy, inspect and list OCI container images without a daemon.
#[derive(Parser)]
#[command(name = "stevedore", version, about)]
struct Cli {
    #[command(flatten)]
    registry: RegistryArgs,
    #[command(subcommand)]
    command: Command,
}

/// How to reach registries (for docker:// images).
#[derive(Args)]
#[command(next_help_heading = "Reaching registries (docker:// images)")]
struct RegistryArgs {
    /// Credentials for the registries, as USER:PASSWORD.
    #[arg(long, global = true, value_name = "USER:PASSWORD")]
    creds: Option<String>,
    /// The auth file to read credentials from (default: the containers and docker ones).
    #[arg(long, global = true, value_name = "FILE")]
    authfile: Option<std::path::PathBuf>,
    /// Verify TLS certificates; =false also allows plain HTTP.
    #[arg(long, global = true, default_value_t = true, action = ArgAction::Set, value_name = "BOOL")]
    tls_verify: bool,
    /// A directory of extra CA certificates (*.crt).
    #[arg(long, global = true, value_name = "DIR")]
    cert_dir: Option<std::path::PathBuf>,
}

impl RegistryArgs {
    fn client(&self) -> Result<Client, Error> {
        let (username, password) = match self
            .creds
            .as_deref()
            .map(Credentials::from_user_pass)
            .transpose()?
        {
            Some(Credentials::Basic { username, password }) => (Some(username), Some(password)),
            _ => (None, None::<Secret>),
        };
        Client::new(ClientOptions {
            username,
            password,
            auth_file: self.authfile.clone(),
            tls_verify: self.tls_verify,
            cert_dir: self.cert_dir.clone(),
            ..ClientOptions::default()
        })
    }
}

#[derive(Subcommand)]
enum Command {
    /// Copy an image between two locations (e.g. oci:/a:1.0 docker://registry/a:1.0).
    Copy {
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
        /// Print nothing but errors.
        #[arg(long, conflicts_with = "json")]
        quiet: bool,
        /// Print the result as JSON on stdout.
        #[arg(long)]
        json: bool,
        /// Progress on stderr: a live line when stderr is a terminal (auto),
        /// JSON lines (json), or none.
        #[arg(long, value_enum, default_value_t = ProgressMode::Auto)]
        progress: ProgressMode,
    },
    /// Copy many images: FILE holds one `SRC DST` pair a line (`#` comments).
    Sync {
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
        /// Print the results as JSON on stdout.
        #[arg(long)]
        json: bool,
    },
    /// Describe an image: digest, platform, layers, config.
    Inspect {
        /// The image, as TRANSPORT:LOCATION.
        image: String,
        /// Print the manifest exactly as stored.
        #[arg(long, conflicts_with = "config")]
        raw: bool,
        /// Print the config exactly as stored.
        #[arg(long)]
        config: bool,
        /// The platform to choose from an index (os/arch[/variant]); defaults to the host's.
        #[arg(long, conflicts_with = "raw")]
        platform: Option<Platform>,
        /// Print the report as JSON.
        #[arg(long, conflicts_with_all = ["raw", "config"])]
        json: bool,
    },
    /// Fetch one blob, verified, to stdout or a file.
    Blob {
        /// The repository or layout holding it, as TRANSPORT:LOCATION.
        image: String,
        /// The blob's digest.
        digest: stevedore::Digest,
        /// Write it to FILE (only once complete and verified) instead of stdout.
        #[arg(short, long, value_name = "FILE")]
        output: Option<std::path::PathBuf>,
    },
    /// Delete an image: a layout's tag (and blobs only it used), or a registry's manifest.
    Delete {
        /// The image, as TRANSPORT:LOCATION.
        image: String,
    },
    /// List the tags of a repository or layout.
    Tags {
        /// The repository or layout, as TRANSPORT:LOCATION.
        image: String,
        /// Print the tags as a JSON array.
        #[arg(long)]
        json: bool,
    },
    /// Sign an image as cosign does (the signature goes to the sha256-<hex>.sig tag).
    Sign {
        /// The private key: PEM PKCS#8, SEC1, or cosign's encrypted key
        /// (its password from COSIGN_PASSWORD).
        #[arg(long)]
        key: std::path::PathBuf,
        /// An annotation for the signature payload, as KEY=VALUE (repeatable).
        #[arg(short = 'a', long = "annotation", value_parser = key_value)]
        annotations: Vec<(String, String)>,
        /// The name to sign the image under; defaults to its repository.
        #[arg(long)]
        identity: Option<String>,
        /// Store the signature as an OCI 1.1 referrer of the image instead
        /// of under its sha256-<hex>.sig tag.
        #[arg(long)]
        referrers: bool,
        /// The image, as TRANSPORT:LOCATION.
        image: String,
        /// Print the result as JSON.
        #[arg(long)]
        json: bool,
    },
    /// Attach an artifact (an SBOM, a scan result) to an image as an OCI 1.1 referrer.
    Attach {
        /// The artifact's type, such as application/spdx+json.
        #[arg(long)]
        artifact_type: String,
        /// The media type of the file's blob (default application/octet-stream).
        #[arg(long)]
        media_type: Option<String>,
        /// An annotation of the artifact, as KEY=VALUE (repeatable).
        #[arg(short = 'a', long = "annotation", value_parser = key_value)]
        annotations: Vec<(String, String)>,
        /// The artifact's file.
        file: std::path::PathBuf,
        /// The image, as TRANSPORT:LOCATION.
        image: String,
    },
    /// List the artifacts attached to an image.
    Referrers {
        /// Only artifacts of this type.
        #[arg(long)]
        artifact_type: Option<String>,
        /// The image, as TRANSPORT:LOCATION.
        image: String,
        /// Print the list as JSON.
        #[arg(long)]
        json: bool,
    },
    /// Verify an image's signatures; exits 0 only when one satisfies the policy.
    Verify {
        /// A PEM public key (repeatable: any of them may have signed).
        #[arg(long = "key", required = true)]
        keys: Vec<std::path::PathBuf>,
        /// The name the signature must carry (a trailing * matches a
        /// prefix); defaults to the image's repository.
        #[arg(long)]
        identity: Option<String>,
        /// An annotation the payload must carry, as KEY=VALUE (repeatable).
        #[arg(short = 'a', long = "annotation", value_parser = key_value)]
        annotations: Vec<(String, String)>,
        /// The image, as TRANSPORT:LOCATION.
        image: String,
        /// Print the report as JSON on stdout.
        #[arg(long)]
        json: bool,
    },
    /// Write a key pair cosign can read: PREFIX.key (encrypted with
    /// COSIGN_PASSWORD) and PREFIX.pub.
    GenerateKeyPair {
        /// The files' path without extension.
        #[arg(long, default_value = "cosign")]
        output_key_prefix: std::path::PathBuf,
    },
    /// Run a registry (the OCI distribution API) until interrupted.
    Serve {
        /// Where to listen, as HOST:PORT (port 0 picks a free one).
        #[arg(long, default_value = "127.0.0.1:5000")]
        addr: String,
        /// The store's directory. Defaults to stevedore/registry under the
        /// user's data directory ($XDG_DATA_HOME or ~/.local/share).
        #[arg(long, conflicts_with = "memory", value_name = "DIR")]
        root: Option<std::path::PathBuf>,
        /// Keep the store in memory: it is gone when the server stops.
        #[arg(long)]
        memory: bool,
        /// An htpasswd file (bcrypt, as `htpasswd -B` writes): require its users.
        #[arg(long, value_name = "FILE")]
        htpasswd: Option<std::path::PathBuf>,
        /// Refuse every write.
        #[arg(long)]
        read_only: bool,
        /// Serve HTTPS with this PEM certificate (with --tls-key).
        #[arg(long, requires = "tls_key", value_name = "FILE")]
        tls_cert: Option<std::path::PathBuf>,
        /// The PEM private key of --tls-cert.
        #[arg(long, requires = "tls_cert", value_name = "FILE")]
        tls_key: Option<std::path::PathBuf>,
    },
}

/// Parses `KEY=VALUE`.
fn key_value(s: &str) -> Result<(String, String), String> {
    s.split_once('=')
        .map(|(k, v)| (k.to_owned(), v.to_owned()))
        .ok_or_else(|| format!("{s:?} is not KEY=VALUE"))
}

fn read_key_file(path: &std::path::Path) -> Result<Vec<u8>, Error> {
    std::fs::read(path).map_err(|e| Error::io(format!("reading {}", path.display()), e))
}

/// The default directory of `stevedore serve`'s store.
fn default_root() -> Result<std::path::PathBuf, Error> {
    let data = std::env::var_os("XDG_DATA_HOME")
        .map(std::path::PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|h| std::path::Path::new(&h).join(".local/share")))
        .ok_or_else(|| {
            Error::invalid("neither XDG_DATA_HOME nor HOME is set; give --root or --memory")
        })?;
    Ok(data.join("stevedore/registry"))
}

/// Where progress goes.
#[derive(Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
enum ProgressMode {
    /// A live line on stderr when it is a terminal; nothing otherwise.
    Auto,
    /// One JSON object a line on stderr.
    Json,
    /// Nothing.
    None,
}

/// The progress callback for `mode`, if any.
fn progress_printer(mode: ProgressMode, quiet: bool) -> Option<Arc<ProgressFn>> {
    use std::io::IsTerminal;
    match mode {
        _ if quiet => None,
        ProgressMode::None => None,
        ProgressMode::Json => Some(Arc::new(|event: &ProgressEvent| {
            if let Ok(line) = serde_json::to_string(event) {
                eprintln!("{line}");
            }
            true
        })),
        ProgressMode::Auto if std::io::stderr().is_terminal() => {
            Some(Arc::new(|event: &ProgressEvent| {
                let line = match event {
                    ProgressEvent::BlobBytes {
                        digest,
                        bytes,
                        size,
                    } => {
                        format!(
                            "copying {}  {} / {}",
                            short(digest),
                            human_size(*bytes),
                            human_size(*size)
                        )
                    }
                    ProgressEvent::BlobSkip { digest, .. } => {
                        format!("{} already present", short(digest))
                    }
                    ProgressEvent::BlobMount { digest, .. } => format!("{} mounted", short(digest)),
                    ProgressEvent::BlobDone { digest, .. } => format!("{} done", short(digest)),
                    ProgressEvent::ImageDone { digest } => format!("wrote {}\n", short(digest)),
                    _ => return true,
                };
                eprint!("\r\x1b[K{line}");
                true
            }))
        }
        ProgressMode::Auto => None,
    }
}

fn short(digest: &stevedore::Digest) -> String {
    digest.to_string().chars().take(19).collect()
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
    let parse = |s: &str| -> Result<ImageRef, Error> { parse_with(s, &client) };
    let mut stdout = std::io::stdout().lock();
    let output = match command {
        Command::Copy {
            src,
            dst,
            all,
            mut platforms,
            jobs,
            preserve_digests,
            referrers,
            quiet,
            json,
            progress,
        } => {
            let (src, dst) = (parse(&src)?, parse(&dst)?);
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
                progress: progress_printer(progress, quiet),
                cancel: None,
            };
            let report = stevedore::copy(&src, &dst, &options)?;
            if json {
                to_json(&report)?.into_bytes()
            } else if quiet {
                Vec::new()
            } else {
                describe_copy(&report).into_bytes()
            }
        }
        Command::Sync {
            file,
            all,
            jobs,
            referrers,
            json,
        } => {
            let text = std::fs::read_to_string(&file)
                .map_err(|e| Error::io(format!("reading {}", file.display()), e))?;
            let jobs_list = stevedore::sync::parse_jobs(&text)?;
            let options = CopyOptions {
                all,
                jobs,
                referrers,
                ..CopyOptions::default()
            };
            let results = stevedore::sync(&jobs_list, &options, parse);
            let output = if json {
                to_json(&results)?
            } else {
                results.iter().map(describe_sync).collect()
            };
            stdout
                .write_all(output.as_bytes())
                .map_err(|e| Error::io("writing to stdout", e))?;
            let failures: Vec<ErrorKind> = results
                .iter()
                .filter_map(|r| match &r.outcome {
                    SyncOutcome::Failed { kind, .. } => Some(*kind),
                    _ => None,
                })
                .collect();
            if let Some(kind) = failures.first() {
                return Err(Error::new(
                    *kind,
                    format!("{} of {} copies failed", failures.len(), results.len()),
                ));
            }
            Vec::new()
        }
        Command::Inspect {
            image,
            raw,
            config,
            platform,
            json,
        } => {
            let image = parse(&image)?;
            let options = InspectOptions { platform };
            if raw {
                stevedore::raw_manifest(&image)?.raw().to_vec()
            } else if config {
                stevedore::raw_config(&image, &options)?
            } else {
                let report = stevedore::inspect(&image, &options)?;
                if json {
                    to_json(&report)?.into_bytes()
                } else {
                    describe_image(&report).into_bytes()
                }
            }
        }
        Command::Blob {
            image,
            digest,
            output,
        } => {
            let image = parse(&image)?;
            match output {
                Some(path) => {
                    stevedore::fetch::blob_to_file(&image, &digest, &path)?;
                }
                None => {
                    let mut blob = stevedore::fetch::blob(&image, &digest)?;
                    stevedore::store::copy_stream(&mut blob, &mut stdout).map_err(|e| {
                        stevedore::error::from_io(format!("writing blob {digest}"), e)
                    })?;
                }
            }
            Vec::new()
        }
        Command::Delete { image } => {
            stevedore::delete(&parse(&image)?)?;
            Vec::new()
        }
        Command::Sign {
            key,
            annotations,
            identity,
            referrers,
            image,
            json,
        } => {
            let key = stevedore::sign::keys::private_key_from_pem(&read_key_file(&key)?, None)?;
            let options = stevedore::sign::SignOptions {
                identity,
                annotations: annotations.into_iter().collect(),
                referrers,
            };
            let report = stevedore::sign::sign(&parse(&image)?, &key, &options)?;
            if json {
                to_json(&report)?.into_bytes()
            } else {
                format!(
                    "Signed {} as {}\nSignature: {} ({} in the tag)\n",
                    report.digest, report.identity, report.signature_tag, report.signatures
                )
                .into_bytes()
            }
        }
        Command::Verify {
            keys,
            identity,
            annotations,
            image,
            json,
        } => {
            let keys = keys
                .iter()
                .map(|path| stevedore::sign::keys::public_key_from_pem(&read_key_file(path)?))
                .collect::<Result<Vec<_>, Error>>()?;
            let policy = stevedore::sign::Policy {
                keys,
                identity: identity
                    .as_deref()
                    .map(stevedore::sign::IdentityRule::parse),
                annotations: annotations.into_iter().collect(),
            };
            let report = stevedore::sign::verify(&parse(&image)?, &policy)?;
            for check in &report.signatures {
                let verdict = serde_json::to_value(check.verdict)
                    .ok()
                    .and_then(|v| v.as_str().map(str::to_owned))
                    .unwrap_or_default();
                eprintln!("{verdict:<18} {}  {}", check.payload_digest, check.reason);
            }
            if json {
                stdout
                    .write_all(to_json(&report)?.as_bytes())
                    .map_err(|e| Error::io("writing to stdout", e))?;
            }
            if !report.verified {
                return Err(Error::new(
                    stevedore::ErrorKind::Policy,
                    match report.signatures.len() {
                        0 => format!("{} has no signature", report.image),
                        n => format!(
                            "none of the {n} signature(s) of {} satisfies the policy",
                            report.image
                        ),
                    },
                ));
            }
            if json {
                Vec::new()
            } else {
                format!("Verified {} ({})\n", report.image, report.digest).into_bytes()
            }
        }
        Command::Attach {
            artifact_type,
            media_type,
            annotations,
            file,
            image,
        } => {
            let artifact = std::fs::read(&file)
                .map_err(|e| Error::io(format!("reading {}", file.display()), e))?;
            let options = stevedore::referrers::AttachOptions {
                artifact_type,
                media_type,
                annotations: annotations.into_iter().collect(),
            };
            let report = stevedore::referrers::attach(&parse(&image)?, &artifact, &options)?;
            format!("{}\n", report.digest).into_bytes()
        }
        Command::Referrers {
            artifact_type,
            image,
            json,
        } => {
            let list = stevedore::referrers::referrers(&parse(&image)?, artifact_type.as_deref())?;
            if json {
                to_json(&list)?.into_bytes()
            } else {
                list.iter()
                    .map(|d| {
                        format!(
                            "{}  {}  {}\n",
                            d.digest,
                            d.artifact_type.as_deref().unwrap_or("-"),
                            d.size
                        )
                    })
                    .collect::<String>()
                    .into_bytes()
            }
        }
        Command::GenerateKeyPair { output_key_prefix } => {
            let password = Secret::new(
                std::env::var(stevedore::sign::keys::PASSWORD_VARIABLE).unwrap_or_default(),
            );
            let (private, public) = stevedore::sign::keys::generate_key_pair(&password)?;
            let key_path = output_key_prefix.with_extension("key");
            let pub_path = output_key_prefix.with_extension("pub");
            if let Some(taken) = [&key_path, &pub_path].into_iter().find(|p| p.exists()) {
                return Err(Error::invalid(format!(
                    "{} exists; keys are not overwritten (choose --output-key-prefix)",
                    taken.display()
                )));
            }
            // A pair is written whole or not at all: what this call created
            // is removed when a later step fails.
            let mut created: Vec<&std::path::Path> = Vec::new();
            for (path, content, mode) in [(&key_path, private, 0o600), (&pub_path, public, 0o644)] {
                let result = std::fs::OpenOptions::new()
                    .write(true)
                    .create_new(true)
                    .mode(mode)
                    .open(path)
                    .and_then(|mut file| {
                        created.push(path);
                        file.write_all(content.as_bytes())
                    });
                if let Err(e) = result {
                    for file in &created {
                        let _ = std::fs::remove_file(file);
                    }
                    return Err(Error::io(format!("writing {}", path.display()), e));
                }
            }
            format!(
                "Private key written to {}\nPublic key written to {}\n",
                key_path.display(),
                pub_path.display()
            )
            .into_bytes()
        }
        Command::Serve {
            addr,
            root,
            memory,
            htpasswd,
            read_only,
            tls_cert,
            tls_key,
        } => {
            let root = match (root, memory) {
                (_, true) => None,
                (Some(root), false) => Some(root),
                (None, false) => Some(default_root()?),
            };
            let where_ = match &root {
                Some(root) => root.display().to_string(),
                None => "memory".to_owned(),
            };
            let server = stevedore::server::Server::start(stevedore::server::ServerOptions {
                addr,
                root,
                htpasswd,
                read_only,
                tls_cert,
                tls_key,
                ..Default::default()
            })?;
            let scheme = if server.is_tls() { "https" } else { "http" };
            eprintln!(
                "stevedore: serving {scheme}://{} (store: {where_}); stop with Ctrl-C",
                server.address()
            );
            loop {
                std::thread::park();
            }
        }
        Command::Tags { image, json } => {
            let tags = stevedore::tags(&parse(&image)?)?;
            if json {
                to_json(&tags)?.into_bytes()
            } else {
                tags.iter()
                    .map(|t| format!("{t}\n"))
                    .collect::<String>()
                    .into_bytes()
            }
        }
    };
    stdout
        .write_all(&output)
        .and_then(|()| stdout.flush())
        .map_err(|e| Error::io("writing to stdout", e))
}

fn to_json(value: &impl serde::Serialize) -> Result<String, Error> {
    serde_json::to_string_pretty(value)
        .map(|s| s + "\n")
        .map_err(|e| Error::invalid(format!("cannot render JSON: {e}")))
}

fn human_size(bytes: u64) -> String {
    const UNITS: [&str; 5] = ["B", "KiB", "MiB", "GiB", "TiB"];
    let mut value = bytes as f64;
    let mut unit = 0;
    while value >= 1024.0 && unit < UNITS.len() - 1 {
        value /= 1024.0;
        unit += 1;
    }
    if unit == 0 {
        format!("{bytes} B")
    } else {
        format!("{value:.1} {}", UNITS[unit])
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
    if r.digest != r.source_digest {
        out.push_str(&format!("From:   {} (the source index)\n", r.source_digest));
    }
    if r.referrers_copied > 0 {
        out.push_str(&format!(
            "Also:   {} signature(s) and attached artifact(s)\n",
            r.referrers_copied
        ));
    }
    if let Some(note) = &r.converted {
        out.push_str(&format!("Note:   {note}\n"));
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
