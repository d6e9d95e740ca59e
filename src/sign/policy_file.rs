//! Signature policy files as skopeo and podman read them
//! (containers-policy.json(5)): which images are accepted, per transport
//! and scope, by `insecureAcceptAnything`, `reject` and `sigstoreSigned`
//! (public keys, with a `signedIdentity` rule). `signedBy` (GPG) and
//! keyless (`fulcio`) requirements are refused as unsupported.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use base64::engine::general_purpose::STANDARD as BASE64;
use base64::Engine;
use p256::ecdsa::VerifyingKey;
use serde::{Deserialize, Serialize};

use super::{check_signature, keys, signature_layers, IdentityRule, Policy, Verdict};
use super::{KEY_ANNOTATION, SIGNATURE_ANNOTATION};
use crate::error::{Error, ErrorKind, Result};
use crate::reference::Reference;
use crate::resolve::small_blob;
use crate::transport::{DockerRegistry, ImageRef, Selector};

/// A parsed policy.json.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PolicyFile {
    /// The requirements of images no scope below names.
    pub default: Vec<Requirement>,
    /// Per transport (`docker`, `oci`, …), per scope, the requirements.
    #[serde(default)]
    pub transports: BTreeMap<String, BTreeMap<String, Vec<Requirement>>>,
    /// Where the file was read from (for messages).
    #[serde(skip)]
    pub path: PathBuf,
}

/// One requirement; an image is accepted when it meets every requirement
/// of its scope.
#[derive(Debug, Clone, Deserialize)]
#[serde(tag = "type", rename_all = "camelCase")]
pub enum Requirement {
    /// Accept anything.
    InsecureAcceptAnything,
    /// Accept nothing.
    Reject,
    /// A GPG signature (simple signing): not supported, so never met.
    SignedBy(serde_json::Map<String, serde_json::Value>),
    /// A sigstore (cosign) signature made with one of the keys.
    SigstoreSigned(SigstoreSigned),
}

/// The `sigstoreSigned` requirement's fields.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SigstoreSigned {
    /// A PEM public key file.
    pub key_path: Option<PathBuf>,
    /// Several PEM public key files (any may have signed).
    pub key_paths: Option<Vec<PathBuf>>,
    /// A PEM public key, base64-encoded.
    pub key_data: Option<String>,
    /// Several base64-encoded PEM public keys.
    pub key_datas: Option<Vec<String>>,
    /// Keyless signing (Fulcio): not supported.
    pub fulcio: Option<serde_json::Value>,
    /// Rekor's public key: ignored (no transparency log is consulted).
    pub rekor_public_key_path: Option<PathBuf>,
    /// Rekor's public key data: ignored.
    pub rekor_public_key_data: Option<String>,
    /// Which names the signature may carry; defaults to
    /// `matchRepoDigestOrExact`.
    pub signed_identity: Option<SignedIdentity>,
}

/// How the name in a signature must relate to the image's.
#[derive(Debug, Clone, Deserialize)]
#[serde(tag = "type", rename_all = "camelCase")]
pub enum SignedIdentity {
    /// The same repository and tag (or digest).
    MatchExact,
    /// The same repository; and the same tag when the image is named by tag.
    MatchRepoDigestOrExact,
    /// The same repository, any tag.
    MatchRepository,
    /// Exactly this reference, whatever the image's name.
    ExactReference {
        /// The reference.
        #[serde(rename = "dockerReference")]
        docker_reference: String,
    },
    /// This repository, whatever the image's name.
    ExactRepository {
        /// The repository.
        #[serde(rename = "dockerRepository")]
        docker_repository: String,
    },
    /// The image's name with `prefix` replaced by `signed_prefix`, then
    /// as `matchRepoDigestOrExact` (for mirrors).
    RemapIdentity {
        /// The prefix of the image's name (host, namespace or repository).
        prefix: String,
        /// What the signature's name has in its place.
        #[serde(rename = "signedPrefix")]
        signed_prefix: String,
    },
}

/// What a policy decided for an image.
#[derive(Debug, Clone, Serialize)]
pub struct PolicyDecision {
    /// The image.
    pub image: String,
    /// The policy file.
    pub policy: PathBuf,
    /// The transport and scope whose requirements applied (`default` when none).
    pub scope: String,
    /// Whether every requirement was met.
    pub accepted: bool,
    /// Each requirement's outcome, in words.
    pub reasons: Vec<String>,
}

/// The policy file to use when none is named: `$HOME/.config/containers/policy.json`,
/// else `/etc/containers/policy.json`, else none (skopeo then refuses every
/// copy; we accept, as copies without a policy always did).
pub fn default_path() -> Option<PathBuf> {
    let home =
        std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".config/containers/policy.json"));
    home.into_iter()
        .chain([PathBuf::from("/etc/containers/policy.json")])
        .find(|p| p.is_file())
}

impl PolicyFile {
    /// Reads and parses the file at `path`.
    pub fn load(path: &Path) -> Result<PolicyFile> {
        let bytes = std::fs::read(path)
            .map_err(|e| Error::io(format!("reading the policy {}", path.display()), e))?;
        let mut file: PolicyFile = serde_json::from_slice(&bytes).map_err(|e| {
            Error::invalid(format!(
                "{} is not a containers-policy.json(5) file: {e}",
                path.display()
            ))
        })?;
        file.path = path.to_owned();
        Ok(file)
    }

    /// The requirements for `image` and the scope they came from: the most
    /// specific scope of its transport (for `docker`: `host/repo:tag`,
    /// `host/repo`, each namespace, `host`, `*.domain`), else the
    /// transport's `""`, else `default`.
    fn requirements(&self, image: &ImageRef) -> (String, &[Requirement]) {
        let name = image.transport().name();
        let (transport, location) = match name.split_once(':') {
            Some(("docker", rest)) => ("docker", rest.trim_start_matches('/').to_owned()),
            Some((t, rest)) => (t, rest.to_owned()),
            None => (name.as_str(), String::new()),
        };
        if let Some(scopes) = self.transports.get(transport) {
            for scope in scopes_of(transport, &location, image.selector()) {
                if let Some(reqs) = scopes.get(&scope) {
                    return (format!("{transport} {scope:?}"), reqs);
                }
            }
        }
        ("default".to_owned(), &self.default)
    }

    /// Decides whether `image` is accepted.
    pub fn evaluate(&self, image: &ImageRef) -> Result<PolicyDecision> {
        let (scope, requirements) = self.requirements(image);
        if requirements.is_empty() {
            return Err(Error::invalid(format!(
                "{}: the requirements of {scope} are empty (containers-policy.json(5) forbids it)",
                self.path.display()
            )));
        }
        let mut reasons = Vec::new();
        let mut accepted = true;
        for requirement in requirements {
            let (met, reason) = meets(requirement, image)?;
            accepted &= met;
            reasons.push(reason);
        }
        Ok(PolicyDecision {
            image: image.to_string(),
            policy: self.path.clone(),
            scope,
            accepted,
            reasons,
        })
    }

    /// Refuses `image` with [`ErrorKind::Policy`] unless it is accepted.
    pub fn enforce(&self, image: &ImageRef) -> Result<()> {
        let decision = self.evaluate(image)?;
        if decision.accepted {
            return Ok(());
        }
        Err(Error::new(
            ErrorKind::Policy,
            format!(
                "{} is refused by the policy {} ({}): {}",
                decision.image,
                decision.policy.display(),
                decision.scope,
                decision.reasons.join("; ")
            ),
        ))
    }
}

/// The scopes to try, most specific first (containers-policy.json(5)).
fn scopes_of(transport: &str, location: &str, selector: Option<&Selector>) -> Vec<String> {
    let mut scopes = Vec::new();
    match selector {
        Some(Selector::Tag(t)) => scopes.push(format!("{location}:{t}")),
        Some(Selector::Digest(d)) => scopes.push(format!("{location}@{d}")),
        _ => {}
    }
    let mut name = location.to_owned();
    loop {
        scopes.push(name.clone());
        match name.rsplit_once('/') {
            Some((parent, _)) => name = parent.to_owned(),
            None => break,
        }
    }
    if transport == "docker" {
        let host = name.split(':').next().unwrap_or_default().to_owned();
        let mut rest = host.as_str();
        while let Some((_, parent)) = rest.split_once('.') {
            scopes.push(format!("*.{parent}"));
            rest = parent;
        }
    }
    scopes.push(String::new());
    scopes
}

/// Whether `image` meets `requirement`, and why.
fn meets(requirement: &Requirement, image: &ImageRef) -> Result<(bool, String)> {
    match requirement {
        Requirement::InsecureAcceptAnything => Ok((true, "insecureAcceptAnything".to_owned())),
        Requirement::Reject => Ok((false, "the scope's requirement is reject".to_owned())),
        Requirement::SignedBy(_) => Ok((
            false,
            "signedBy (GPG simple signing) is not supported: use sigstoreSigned".to_owned(),
        )),
        Requirement::SigstoreSigned(s) => sigstore_signed(s, image),
    }
}

fn sigstore_signed(req: &SigstoreSigned, image: &ImageRef) -> Result<(bool, String)> {
    if req.fulcio.is_some() {
        return Err(Error::unsupported(
            "sigstoreSigned with fulcio (keyless signatures) is not supported: name a key",
        ));
    }
    let keys = keys_of(req)?;
    let transport = image.transport();
    let digest = transport.get_manifest(&image.resolve()?)?.digest().clone();
    let anything = IdentityRule::Prefix(String::new());
    let policy = Policy {
        keys,
        identity: Some(anything.clone()),
        annotations: BTreeMap::new(),
    };
    let rule = req
        .signed_identity
        .clone()
        .unwrap_or(SignedIdentity::MatchRepoDigestOrExact);
    let image_name = docker_reference(image);
    let mut why = Vec::new();
    for layer in signature_layers(transport, &digest)? {
        let Some(signature) = layer.annotations.get(SIGNATURE_ANNOTATION) else {
            continue;
        };
        let payload = small_blob(transport, &layer)?;
        let check = check_signature(
            &payload,
            signature,
            layer.annotations.get(KEY_ANNOTATION).map(String::as_str),
            &digest,
            &policy,
            &anything,
        );
        if check.verdict != Verdict::Valid {
            why.push(check.reason);
            continue;
        }
        let signed = check.identity.unwrap_or_default();
        match identity_matches(&rule, image_name.as_ref(), &signed) {
            Ok(()) => return Ok((true, format!("a sigstore signature as {signed} verifies"))),
            Err(reason) => why.push(reason),
        }
    }
    if why.is_empty() {
        return Ok((false, format!("{digest} has no sigstore signature")));
    }
    Ok((
        false,
        format!("no signature is accepted: {}", why.join(", ")),
    ))
}

/// The public keys a `sigstoreSigned` requirement names (exactly one of
/// its key fields must be set).
fn keys_of(req: &SigstoreSigned) -> Result<Vec<VerifyingKey>> {
    let mut pems: Vec<Vec<u8>> = Vec::new();
    let mut fields = 0;
    let read = |p: &PathBuf| {
        std::fs::read(p).map_err(|e| Error::io(format!("reading the key {}", p.display()), e))
    };
    let decode = |d: &String| {
        BASE64
            .decode(d.trim())
            .map_err(|_| Error::invalid("a sigstoreSigned keyData is not base64"))
    };
    if let Some(p) = &req.key_path {
        fields += 1;
        pems.push(read(p)?);
    }
    if let Some(ps) = &req.key_paths {
        fields += 1;
        pems.extend(ps.iter().map(read).collect::<Result<Vec<_>>>()?);
    }
    if let Some(d) = &req.key_data {
        fields += 1;
        pems.push(decode(d)?);
    }
    if let Some(ds) = &req.key_datas {
        fields += 1;
        pems.extend(ds.iter().map(decode).collect::<Result<Vec<_>>>()?);
    }
    if fields != 1 || pems.is_empty() {
        return Err(Error::invalid(
            "a sigstoreSigned requirement needs exactly one of keyPath, keyPaths, keyData, keyDatas",
        ));
    }
    pems.iter().map(|p| keys::public_key_from_pem(p)).collect()
}

/// The image's name as a docker reference (`docker://` images only).
fn docker_reference(image: &ImageRef) -> Option<Reference> {
    let registry = image
        .transport()
        .as_any()
        .downcast_ref::<DockerRegistry>()?;
    let name = registry.repository().to_string();
    let full = match image.selector() {
        Some(Selector::Tag(t)) => format!("{name}:{t}"),
        Some(Selector::Digest(d)) => format!("{name}@{d}"),
        _ => format!("{name}:latest"),
    };
    Reference::parse(&full).ok()
}

fn same_reference(a: &Reference, b: &Reference) -> bool {
    a.name() == b.name() && a.tag() == b.tag() && a.digest() == b.digest()
}

/// Whether the signature's name `signed` satisfies `rule` for the image
/// named `image`; the reason when not.
fn identity_matches(
    rule: &SignedIdentity,
    image: Option<&Reference>,
    signed: &str,
) -> std::result::Result<(), String> {
    let refuse = |what: &str| {
        Err(format!(
            "it was signed as {signed}, but the policy wants {what}"
        ))
    };
    let Ok(sig) = Reference::parse(signed) else {
        return refuse("a docker reference");
    };
    let need_image = || image.ok_or_else(|| format!("{rule:?} needs a docker:// image name"));
    let repo_digest_or_exact = |image: &Reference| {
        if image.tag().is_none() && image.digest().is_some() {
            image.name() == sig.name()
        } else {
            same_reference(image, &sig)
        }
    };
    let (ok, wanted) = match rule {
        SignedIdentity::MatchExact => {
            let image = need_image()?;
            (same_reference(image, &sig), image.to_string())
        }
        SignedIdentity::MatchRepoDigestOrExact => {
            let image = need_image()?;
            (repo_digest_or_exact(image), image.to_string())
        }
        SignedIdentity::MatchRepository => {
            let image = need_image()?;
            (
                image.name() == sig.name(),
                format!("{} (any tag)", image.name()),
            )
        }
        SignedIdentity::ExactReference { docker_reference } => {
            let want = Reference::parse(docker_reference).map_err(|e| e.to_string())?;
            (same_reference(&want, &sig), docker_reference.clone())
        }
        SignedIdentity::ExactRepository { docker_repository } => {
            let want = Reference::parse(docker_repository).map_err(|e| e.to_string())?;
            (want.name() == sig.name(), docker_repository.clone())
        }
        SignedIdentity::RemapIdentity {
            prefix,
            signed_prefix,
        } => {
            let image = need_image()?;
            let full = image.to_string();
            let remapped = match full.strip_prefix(prefix.as_str()) {
                Some(rest) if rest.starts_with(['/', ':', '@']) || prefix.ends_with('/') => {
                    Reference::parse(&format!("{signed_prefix}{rest}"))
                        .map_err(|e| e.to_string())?
                }
                _ => image.clone(),
            };
            (repo_digest_or_exact(&remapped), remapped.to_string())
        }
    };
    if ok {
        Ok(())
    } else {
        refuse(&wanted)
    }
}
