//! cosign-compatible signatures: [`sign`] an image with an ECDSA P-256 key,
//! storing the signature where cosign looks (the `sha256-<hex>.sig` tag of
//! the image's repository, appended to the signatures already there), and
//! [`verify`] it against a [`Policy`], default deny: an image passes only
//! when at least one signature satisfies the policy, and the report says
//! why each signature examined passed or failed.

pub mod keys;
pub mod payload;
pub mod policy_file;

use std::collections::BTreeMap;

use base64::engine::general_purpose::STANDARD as BASE64;
use base64::Engine;
use p256::ecdsa::signature::{Signer, Verifier};
use p256::ecdsa::{Signature, SigningKey, VerifyingKey};
use serde::Serialize;
use serde_json::json;

use crate::descriptor::Descriptor;
use crate::digest::Digest;
use crate::error::{Error, ErrorKind, Result};
use crate::manifest::{ImageManifest, Manifest, ManifestContent};
use crate::media_types;
use crate::resolve::small_blob;
use crate::transport::{DockerRegistry, ImageRef, Selector, Transport};

/// The annotation of a signature layer holding the base64 DER signature.
pub const SIGNATURE_ANNOTATION: &str = "dev.cosignproject.cosign/signature";
/// The annotation of a signature layer naming the key that made it
/// (`sha256:<hex>` of its PKIX DER, [`keys::key_id`]): written by [`sign`],
/// ignored by cosign, and read by [`verify`] to tell a signature by a key
/// outside the policy ([`Verdict::UnknownKey`]) from one altered after the
/// policy's key made it ([`Verdict::BadSignature`]).
pub const KEY_ANNOTATION: &str = "dev.stevedore.signature/public-key";
/// The media type of a signature layer (the payload).
pub const SIMPLE_SIGNING: &str = "application/vnd.dev.cosign.simplesigning.v1+json";

/// The artifact type of a signature stored as an OCI 1.1 referrer.
pub const SIGNATURE_ARTIFACT_TYPE: &str = "application/vnd.dev.cosign.artifact.sig.v1+json";

/// The tag cosign stores an image's signatures under: `sha256-<hex>.sig`.
pub fn signature_tag(digest: &Digest) -> String {
    format!("{}-{}.sig", digest.algorithm().as_str(), digest.hex())
}

/// How to sign.
#[derive(Debug, Clone, Default)]
pub struct SignOptions {
    /// The name to sign the image under (`critical.identity.docker-reference`).
    /// Defaults to the repository (`registry/path`) for `docker://`, else the
    /// transport's name.
    pub identity: Option<String>,
    /// Annotations for the payload's `optional` part.
    pub annotations: BTreeMap<String, String>,
    /// Store the signature as an OCI 1.1 referrer of the image instead of
    /// under the signature tag.
    pub referrers: bool,
}

/// What signing did.
#[derive(Debug, Clone, Serialize)]
pub struct SignReport {
    /// The digest signed: the image's top-level manifest.
    pub digest: Digest,
    /// The name it was signed under.
    pub identity: String,
    /// Where the signature is: the signature tag in the image's repository,
    /// or the digest of the referrer manifest holding it.
    pub signature_tag: String,
    /// The digest of the payload layer.
    pub payload_digest: Digest,
    /// How many signatures the tag now holds.
    pub signatures: usize,
}

/// The name an image is signed under by default.
fn default_identity(image: &ImageRef) -> String {
    match image.transport().as_any().downcast_ref::<DockerRegistry>() {
        Some(registry) => registry.repository().to_string(),
        None => image.transport().name(),
    }
}

/// The signature manifest stored under `tag`, if any.
fn signature_manifest(transport: &dyn Transport, tag: &str) -> Result<Option<ImageManifest>> {
    match transport.get_manifest(&Selector::Tag(tag.to_owned())) {
        Ok(manifest) => match manifest.content() {
            ManifestContent::Image(image) => Ok(Some(image.as_ref().clone())),
            ManifestContent::Index(_) => Err(Error::invalid(format!(
                "{tag} in {} is an index, not a signature manifest",
                transport.name()
            ))),
        },
        Err(e) if e.kind() == ErrorKind::NotFound => Ok(None),
        Err(e) => Err(e),
    }
}

/// Signs the image `image` names with `key`.
pub fn sign(image: &ImageRef, key: &SigningKey, options: &SignOptions) -> Result<SignReport> {
    let transport = image.transport();
    let digest = transport.get_manifest(&image.resolve()?)?.digest().clone();
    let identity = options
        .identity
        .clone()
        .unwrap_or_else(|| default_identity(image));
    let payload = payload::build(&identity, &digest, &options.annotations);
    let signature: Signature = key.sign(&payload);
    let mut layer = Descriptor::for_bytes(SIMPLE_SIGNING, &payload);
    layer.annotations.insert(
        SIGNATURE_ANNOTATION.to_owned(),
        BASE64.encode(signature.to_der().as_bytes()),
    );
    layer.annotations.insert(
        KEY_ANNOTATION.to_owned(),
        keys::key_id(key.verifying_key())?,
    );
    transport.put_blob(&layer, &mut payload.as_slice())?;
    if options.referrers {
        let subject = transport
            .get_manifest(&Selector::Digest(digest.clone()))?
            .descriptor();
        let config = Descriptor::for_bytes(media_types::OCI_EMPTY, crate::referrers::EMPTY_CONFIG);
        transport.put_blob(&config, &mut &crate::referrers::EMPTY_CONFIG[..])?;
        let manifest = crate::referrers::artifact_manifest(
            SIGNATURE_ARTIFACT_TYPE,
            subject,
            vec![layer.clone()],
            Default::default(),
        )?;
        transport.put_referrer(&manifest)?;
        transport.finalize()?;
        return Ok(SignReport {
            digest,
            identity,
            signature_tag: manifest.digest().to_string(),
            payload_digest: layer.digest,
            signatures: 1,
        });
    }
    let tag = signature_tag(&digest);
    let mut layers = signature_manifest(transport, &tag)?
        .map(|m| m.layers)
        .unwrap_or_default();
    if !layers.contains(&layer) {
        layers.push(layer.clone());
    }
    let config = json!({
        "architecture": "",
        "os": "",
        "config": {},
        "rootfs": {
            "type": "layers",
            "diff_ids": layers.iter().map(|l| l.digest.to_string()).collect::<Vec<_>>(),
        },
    })
    .to_string()
    .into_bytes();
    let config_descriptor = Descriptor::for_bytes(media_types::OCI_CONFIG, &config);
    transport.put_blob(&config_descriptor, &mut config.as_slice())?;
    let manifest = Manifest::build(ManifestContent::Image(Box::new(ImageManifest {
        schema_version: 2,
        media_type: Some(media_types::OCI_MANIFEST.to_owned()),
        artifact_type: None,
        config: config_descriptor,
        layers: layers.clone(),
        subject: None,
        annotations: Default::default(),
    })))?;
    transport.put_manifest(&manifest, Some(&tag))?;
    transport.finalize()?;
    Ok(SignReport {
        digest,
        identity,
        signature_tag: tag,
        payload_digest: layer.digest,
        signatures: layers.len(),
    })
}

/// The names a signature may carry to satisfy a policy.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum IdentityRule {
    /// This name, with or without a tag (`registry/repo` matches
    /// `registry/repo` and `registry/repo:1.0`); a name with a tag only itself.
    Exact(String),
    /// Any name starting with this prefix (written `registry/team/*`).
    Prefix(String),
}

/// The rule in words: `registry/repo (with any tag)`,
/// `names starting with registry/team/`.
impl std::fmt::Display for IdentityRule {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            IdentityRule::Exact(name)
                if name
                    .rsplit('/')
                    .next()
                    .is_some_and(|last| last.contains(':')) =>
            {
                f.write_str(name)
            }
            IdentityRule::Exact(name) => write!(f, "{name} (with any tag)"),
            IdentityRule::Prefix(prefix) => write!(f, "names starting with {prefix}"),
        }
    }
}

impl IdentityRule {
    /// The rule a pattern describes: a trailing `*` makes a prefix.
    pub fn parse(pattern: &str) -> IdentityRule {
        match pattern.strip_suffix('*') {
            Some(prefix) => IdentityRule::Prefix(prefix.to_owned()),
            None => IdentityRule::Exact(pattern.to_owned()),
        }
    }

    fn matches(&self, identity: &str) -> bool {
        match self {
            IdentityRule::Prefix(prefix) => identity.starts_with(prefix.as_str()),
            IdentityRule::Exact(name) => {
                identity == name
                    || identity
                        .strip_prefix(name.as_str())
                        .and_then(|rest| rest.strip_prefix(':'))
                        .is_some_and(|tag| !tag.contains('/'))
            }
        }
    }
}

/// What a signature must satisfy. Default deny: a report passes only when
/// one signature satisfies all of it.
#[derive(Debug, Clone)]
pub struct Policy {
    /// The keys a signature may be made with (at least one).
    pub keys: Vec<VerifyingKey>,
    /// The names it may be signed under; `None`: any name, as cosign
    /// verifies by default (the signed digest must still match), so a
    /// mirrored image verifies.
    pub identity: Option<IdentityRule>,
    /// Annotations the payload must carry, with these values.
    pub annotations: BTreeMap<String, String>,
}

/// Why a signature passed or failed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Verdict {
    /// It satisfies the policy.
    Valid,
    /// It names (by [`KEY_ANNOTATION`]) a key of the policy, and that key
    /// does not verify it: the payload or the signature was altered.
    BadSignature,
    /// No key of the policy verifies it, and it names none of them: it was
    /// made with another key (or, where it names no key, as cosign's
    /// signatures do not, altered after signing).
    UnknownKey,
    /// It signs another image.
    DigestMismatch,
    /// It was signed under a name the policy does not accept.
    IdentityMismatch,
    /// An annotation the policy requires is absent or different.
    MissingAnnotation,
    /// The payload or signature is not in cosign's format.
    Malformed,
}

/// One signature examined.
#[derive(Debug, Clone, Serialize)]
pub struct SignatureCheck {
    /// The digest of its payload.
    pub payload_digest: Digest,
    /// The name it was signed under, when the payload could be read.
    pub identity: Option<String>,
    /// Which key (by position in the policy) verified it.
    pub key: Option<usize>,
    /// The verdict.
    pub verdict: Verdict,
    /// The verdict in words.
    pub reason: String,
}

/// What verification found.
#[derive(Debug, Clone, Serialize)]
pub struct VerifyReport {
    /// The image.
    pub image: String,
    /// The digest checked.
    pub digest: Digest,
    /// Whether at least one signature satisfies the policy.
    pub verified: bool,
    /// Every signature examined.
    pub signatures: Vec<SignatureCheck>,
}

/// Checks one signature: `payload` signed with `signature_b64` (the
/// annotation's value) must verify with one of the policy's keys, sign
/// `digest`, carry an accepted identity (`identity` when the policy names
/// none) and the required annotations. `key_hint` is the layer's
/// [`KEY_ANNOTATION`], where it has one: it tells [`Verdict::BadSignature`]
/// from [`Verdict::UnknownKey`].
pub fn check_signature(
    payload: &[u8],
    signature_b64: &str,
    key_hint: Option<&str>,
    digest: &Digest,
    policy: &Policy,
    identity: &IdentityRule,
) -> SignatureCheck {
    let mut check = SignatureCheck {
        payload_digest: Digest::sha256(payload),
        identity: None,
        key: None,
        verdict: Verdict::Malformed,
        reason: String::new(),
    };
    let fail = |mut check: SignatureCheck, verdict, reason: String| {
        check.verdict = verdict;
        check.reason = reason;
        check
    };
    let signature = match BASE64
        .decode(signature_b64.trim())
        .ok()
        .and_then(|der| Signature::from_der(&der).ok())
    {
        Some(s) => s,
        None => {
            return fail(
                check,
                Verdict::Malformed,
                "the signature is not base64 ASN.1 DER ECDSA".to_owned(),
            )
        }
    };
    check.key = policy
        .keys
        .iter()
        .position(|key| key.verify(payload, &signature).is_ok());
    if check.key.is_none() {
        let named = key_hint.and_then(|hint| {
            policy
                .keys
                .iter()
                .position(|key| keys::key_id(key).is_ok_and(|id| id == hint))
        });
        return match (named, key_hint) {
            (Some(n), _) => fail(
                check,
                Verdict::BadSignature,
                format!(
                    "it was made with key {} of the policy, which does not verify it: the payload or the signature was altered after signing",
                    n + 1
                ),
            ),
            (None, Some(hint)) => fail(
                check,
                Verdict::UnknownKey,
                format!("it was made with another key ({hint}), not one of the policy's"),
            ),
            (None, None) => fail(
                check,
                Verdict::UnknownKey,
                "no key of the policy verifies it: it was made with another key, or altered after signing (it names no key to tell which)".to_owned(),
            ),
        };
    }
    let parsed = match payload::parse(payload) {
        Ok(p) => p,
        Err(e) => return fail(check, Verdict::Malformed, e.message().to_owned()),
    };
    check.identity = Some(parsed.critical.identity.docker_reference.clone());
    if parsed.critical.kind != payload::SIGNATURE_TYPE {
        let reason = format!(
            "the payload's type is {}, not {}",
            parsed.critical.kind,
            payload::SIGNATURE_TYPE
        );
        return fail(check, Verdict::Malformed, reason);
    }
    if parsed.critical.image.docker_manifest_digest != digest.to_string() {
        let reason = format!(
            "it signs {}, not {digest}",
            parsed.critical.image.docker_manifest_digest
        );
        return fail(check, Verdict::DigestMismatch, reason);
    }
    let rule = policy.identity.as_ref().unwrap_or(identity);
    if !rule.matches(&parsed.critical.identity.docker_reference) {
        let reason = format!(
            "it was signed as {}, but the policy accepts {rule}; if that name is right (a mirror, a copy), accept it with --identity {} (identity in the API)",
            parsed.critical.identity.docker_reference, parsed.critical.identity.docker_reference
        );
        return fail(check, Verdict::IdentityMismatch, reason);
    }
    let optional = parsed.optional.unwrap_or_default();
    for (name, value) in &policy.annotations {
        if optional.get(name).and_then(|v| v.as_str()) != Some(value.as_str()) {
            let reason = format!("the annotation {name}={value} is missing");
            return fail(check, Verdict::MissingAnnotation, reason);
        }
    }
    check.verdict = Verdict::Valid;
    check.reason = "the signature satisfies the policy".to_owned();
    check
}

/// The signature layers of the image `digest`: those under its signature
/// tag, and those of the signature referrers it has (where the transport
/// keeps referrers).
pub(crate) fn signature_layers(
    transport: &dyn Transport,
    digest: &Digest,
) -> Result<Vec<Descriptor>> {
    let mut layers: Vec<Descriptor> = signature_manifest(transport, &signature_tag(digest))?
        .map(|m| m.layers)
        .unwrap_or_default();
    let referrers = match transport.referrers(digest, Some(SIGNATURE_ARTIFACT_TYPE)) {
        Ok(list) => list,
        Err(e) if matches!(e.kind(), ErrorKind::Unsupported | ErrorKind::NotFound) => Vec::new(),
        Err(e) => return Err(e),
    };
    for referrer in referrers {
        let manifest = transport.get_manifest(&Selector::Digest(referrer.digest))?;
        if let ManifestContent::Image(image) = manifest.content() {
            layers.extend(image.layers.iter().cloned());
        }
    }
    layers.retain(|l| l.media_type == SIMPLE_SIGNING);
    Ok(layers)
}

/// Verifies the image `image` names against `policy`: every signature in
/// its signature tag and its signature referrers is checked; the report is verified when one satisfies
/// the policy. An image without signatures is reported unverified.
pub fn verify(image: &ImageRef, policy: &Policy) -> Result<VerifyReport> {
    if policy.keys.is_empty() {
        return Err(Error::invalid("a policy needs at least one public key"));
    }
    let transport = image.transport();
    let digest = transport.get_manifest(&image.resolve()?)?.digest().clone();
    // cosign's default: the signed digest must match; the name is checked
    // only when the policy names one.
    let default_rule = IdentityRule::Prefix(String::new());
    let mut signatures = Vec::new();
    for layer in signature_layers(transport, &digest)? {
        let payload = small_blob(transport, &layer)?;
        let Some(signature) = layer.annotations.get(SIGNATURE_ANNOTATION) else {
            signatures.push(SignatureCheck {
                payload_digest: layer.digest.clone(),
                identity: None,
                key: None,
                verdict: Verdict::Malformed,
                reason: format!("the layer has no {SIGNATURE_ANNOTATION} annotation"),
            });
            continue;
        };
        signatures.push(check_signature(
            &payload,
            signature,
            layer.annotations.get(KEY_ANNOTATION).map(String::as_str),
            &digest,
            policy,
            &default_rule,
        ));
    }
    Ok(VerifyReport {
        image: image.to_string(),
        digest,
        verified: signatures.iter().any(|s| s.verdict == Verdict::Valid),
        signatures,
    })
}
