//! `sign`, `verify`, `generate-key-pair`, `attach`, `referrers`: signatures
//! and the artifacts that refer to an image.

use std::io::Write;
use std::os::unix::fs::OpenOptionsExt;

use clap::Args;
use stevedore::registry::Client;
use stevedore::Error;

use super::key_value;
use crate::output::{emit, to_json};

/// `stevedore sign --key KEY IMAGE`.
#[derive(Args)]
pub struct SignArgs {
    /// The private key: PEM PKCS#8, SEC1, or cosign's encrypted key
    /// (its password from COSIGN_PASSWORD, else asked on the terminal).
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
    pub json: bool,
}

/// `stevedore attach --artifact-type T FILE IMAGE`.
#[derive(Args)]
pub struct AttachArgs {
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
}

/// `stevedore referrers IMAGE`.
#[derive(Args)]
pub struct ReferrersArgs {
    /// Only artifacts of this type.
    #[arg(long)]
    artifact_type: Option<String>,
    /// The image, as TRANSPORT:LOCATION.
    image: String,
    /// Print the list as JSON.
    #[arg(long)]
    pub json: bool,
}

/// `stevedore verify --key PUB IMAGE`.
#[derive(Args)]
pub struct VerifyArgs {
    /// A PEM public key (repeatable: any of them may have signed); without
    /// one, the global --policy file decides.
    #[arg(long = "key")]
    keys: Vec<std::path::PathBuf>,
    /// The name the signature must carry (a trailing * matches a
    /// prefix); by default any name, as cosign verifies (the signed digest
    /// must match either way).
    #[arg(long)]
    identity: Option<String>,
    /// An annotation the payload must carry, as KEY=VALUE (repeatable).
    #[arg(short = 'a', long = "annotation", value_parser = key_value)]
    annotations: Vec<(String, String)>,
    /// The image, as TRANSPORT:LOCATION.
    image: String,
    /// Print the report as JSON on stdout.
    #[arg(long)]
    pub json: bool,
}

/// `stevedore generate-key-pair`.
#[derive(Args)]
pub struct GenerateKeyPairArgs {
    /// The files' path without extension.
    #[arg(long, default_value = "cosign")]
    output_key_prefix: std::path::PathBuf,
    /// Write the private key unencrypted when no password is given
    /// (COSIGN_PASSWORD set to an empty value asks the same).
    #[arg(long)]
    allow_empty_password: bool,
}

pub(crate) fn read_key_file(path: &std::path::Path) -> Result<Vec<u8>, Error> {
    std::fs::read(path).map_err(|e| Error::io(format!("reading {}", path.display()), e))
}

/// Runs `sign`.
pub fn sign(args: SignArgs, client: &Client, out: &mut dyn Write) -> Result<(), Error> {
    let key = crate::password::private_key(&read_key_file(&args.key)?)?;
    let options = stevedore::sign::SignOptions {
        identity: args.identity,
        annotations: args.annotations.into_iter().collect(),
        referrers: args.referrers,
    };
    let report = stevedore::sign::sign(&super::image(&args.image, client)?, &key, &options)?;
    if args.json {
        emit(out, to_json(&report)?.as_bytes())
    } else {
        let text = format!(
            "Signed {} as {}\nSignature: {} ({} in the tag)\n",
            report.digest, report.identity, report.signature_tag, report.signatures
        );
        emit(out, text.as_bytes())
    }
}

/// Runs `verify`: every signature's verdict goes to stderr; the status is
/// a policy error unless one satisfies the policy.
pub fn verify(
    args: VerifyArgs,
    policy_file: Option<std::path::PathBuf>,
    client: &Client,
    out: &mut dyn Write,
) -> Result<(), Error> {
    if args.keys.is_empty() {
        return verify_by_policy(args, policy_file, client, out);
    }
    let keys = args
        .keys
        .iter()
        .map(|path| stevedore::sign::keys::public_key_from_pem(&read_key_file(path)?))
        .collect::<Result<Vec<_>, Error>>()?;
    let policy = stevedore::sign::Policy {
        keys,
        identity: args
            .identity
            .as_deref()
            .map(stevedore::sign::IdentityRule::parse),
        annotations: args.annotations.into_iter().collect(),
    };
    let report = stevedore::sign::verify(&super::image(&args.image, client)?, &policy)?;
    // With --json the verdicts are in the JSON report, and nothing else is printed.
    for check in report.signatures.iter().filter(|_| !args.json) {
        let verdict = serde_json::to_value(check.verdict)
            .ok()
            .and_then(|v| v.as_str().map(str::to_owned))
            .unwrap_or_default();
        crate::output::note(&format!(
            "{verdict:<18} {}  {}",
            check.payload_digest, check.reason
        ));
    }
    if args.json {
        emit(out, to_json(&report)?.as_bytes())?;
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
    if args.json {
        Ok(())
    } else {
        let text = format!("Verified {} ({})\n", report.image, report.digest);
        emit(out, text.as_bytes())
    }
}

/// Runs `verify --policy FILE` (no `--key`): the policy file's verdict.
fn verify_by_policy(
    args: VerifyArgs,
    policy_file: Option<std::path::PathBuf>,
    client: &Client,
    out: &mut dyn Write,
) -> Result<(), Error> {
    let Some(path) = policy_file else {
        return Err(Error::invalid(
            "verify needs --key PUB (repeatable) or --policy FILE",
        ));
    };
    let image = super::image(&args.image, client)?;
    let decision = stevedore::sign::policy_file::PolicyFile::load(&path)?.evaluate(&image)?;
    for reason in decision.reasons.iter().filter(|_| !args.json) {
        crate::output::note(reason);
    }
    if args.json {
        emit(out, to_json(&decision)?.as_bytes())?;
    }
    decision.check()?;
    if args.json {
        Ok(())
    } else {
        let text = format!(
            "Accepted {} by {} ({})\n",
            decision.image,
            path.display(),
            decision.scope
        );
        emit(out, text.as_bytes())
    }
}

/// Runs `attach`.
pub fn attach(args: AttachArgs, client: &Client, out: &mut dyn Write) -> Result<(), Error> {
    let artifact = std::fs::read(&args.file)
        .map_err(|e| Error::io(format!("reading {}", args.file.display()), e))?;
    let options = stevedore::referrers::AttachOptions {
        artifact_type: args.artifact_type,
        media_type: args.media_type,
        annotations: args.annotations.into_iter().collect(),
    };
    let image = super::image(&args.image, client)?;
    let report = stevedore::referrers::attach(&image, &artifact, &options)?;
    emit(out, format!("{}\n", report.digest).as_bytes())
}

/// Runs `referrers`.
pub fn referrers(args: ReferrersArgs, client: &Client, out: &mut dyn Write) -> Result<(), Error> {
    let image = super::image(&args.image, client)?;
    let list = stevedore::referrers::referrers(&image, args.artifact_type.as_deref())?;
    if args.json {
        emit(out, to_json(&list)?.as_bytes())
    } else {
        let text: String = list
            .iter()
            .map(|d| {
                format!(
                    "{}  {}  {}\n",
                    d.digest,
                    d.artifact_type.as_deref().unwrap_or("-"),
                    d.size
                )
            })
            .collect();
        emit(out, text.as_bytes())
    }
}

/// Runs `generate-key-pair`: the pair is written whole or not at all.
pub fn generate_key_pair(args: GenerateKeyPairArgs, out: &mut dyn Write) -> Result<(), Error> {
    let password = crate::password::for_new_key(args.allow_empty_password)?;
    let (private, public) = stevedore::sign::keys::generate_key_pair(&password)?;
    let key_path = args.output_key_prefix.with_extension("key");
    let pub_path = args.output_key_prefix.with_extension("pub");
    if let Some(taken) = [&key_path, &pub_path].into_iter().find(|p| p.exists()) {
        return Err(Error::invalid(format!(
            "{} exists; keys are not overwritten (choose --output-key-prefix)",
            taken.display()
        )));
    }
    // What this call created is removed when a later step fails.
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
    let text = format!(
        "Private key written to {}\nPublic key written to {}\n",
        key_path.display(),
        pub_path.display()
    );
    emit(out, text.as_bytes())
}
