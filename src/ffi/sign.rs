//! The signature and referrer verbs: sign and verify (cosign-compatible),
//! attach and list referrers.

use std::collections::BTreeMap;
use std::ffi::c_char;
use std::path::{Path, PathBuf};

use serde::Deserialize;

use super::boundary::{boundary, stevedore_status};
use super::client::stevedore_client;
use super::memory::{options, OutString};
use super::verb::{image, image_verb, json_verb, to_json};
use crate::auth::Secret;
use crate::error::{Error, ErrorKind, Result};
use crate::referrers::{self, AttachOptions};
use crate::sign::policy_file::PolicyFile;
use crate::sign::{self, keys, IdentityRule, Policy, SignOptions};
use crate::transport::ImageRef;

#[derive(Default, Deserialize)]
#[serde(deny_unknown_fields, default)]
struct SignArguments {
    key: String,
    password: Option<String>,
    identity: Option<String>,
    annotations: BTreeMap<String, String>,
    referrers: bool,
}

#[derive(Default, Deserialize)]
#[serde(deny_unknown_fields, default)]
struct VerifyArguments {
    keys: Vec<String>,
    identity: Option<String>,
    annotations: BTreeMap<String, String>,
    policy: Option<PathBuf>,
}

/// Signs the image `image_ref` names as cosign does, storing the signature
/// under its `sha256-<hex>.sig` tag (appended to those there).
/// `options_json`: `{"key": PEM (PKCS#8, SEC1 or cosign's encrypted key),
/// "password": for an encrypted key (default: $COSIGN_PASSWORD),
/// "identity": the name to sign under (default: the image's repository),
/// "annotations": {k: v}, "referrers": true to store it as an OCI 1.1
/// referrer instead}`. On success `*out_json` receives `{"digest",
/// "identity", "signature_tag", "payload_digest", "signatures"}`.
///
/// # Safety
/// `client` is NULL or a live handle; string arguments are NULL or
/// NUL-terminated; `out_json` is NULL or valid for a write.
#[no_mangle]
pub unsafe extern "C" fn stevedore_sign(
    client: *const stevedore_client,
    image_ref: *const c_char,
    options_json: *const c_char,
    out_json: *mut *mut c_char,
) -> stevedore_status {
    image_verb(
        client,
        image_ref,
        options_json,
        out_json,
        |image, args: SignArguments| {
            if args.key.is_empty() {
                return Err(Error::invalid("\"key\" (a PEM private key) is required"));
            }
            let password = args.password.map(Secret::new);
            let key = keys::private_key_from_pem(args.key.as_bytes(), password.as_ref())?;
            let options = SignOptions {
                identity: args.identity,
                annotations: args.annotations,
                referrers: args.referrers,
            };
            sign::sign(image, &key, &options)
        },
    )
}

/// Verifies the image `image_ref` names against a policy, default deny.
/// `policy_json`: `{"keys": [PEM public keys], "identity": the name the
/// signature must carry (a trailing `*` matches a prefix; default: the
/// image's repository), "annotations": {k: v} the payload must carry}`.
/// `*out_json` receives the report — `{"image", "digest", "verified",
/// "signatures": [{"payload_digest", "identity", "key", "verdict",
/// "reason"}]}` — both on success and when no signature satisfies the
/// policy, in which case the status is `STEVEDORE_ERROR_POLICY`.
///
/// Or, as `stevedore verify --policy FILE`, `policy_json` is `{"policy":
/// "/path/to/policy.json"}` alone: the image is judged by that
/// containers-policy.json(5) file's requirements for its scope, and
/// `*out_json` receives the decision — `{"image", "policy", "scope",
/// "accepted", "reasons": [...]}` — both when accepted and when refused
/// (status `STEVEDORE_ERROR_POLICY`). A missing file is
/// `STEVEDORE_ERROR_NOT_FOUND`, one that is not a policy
/// `STEVEDORE_ERROR_INVALID_INPUT`.
///
/// # Safety
/// `client` is NULL or a live handle; string arguments are NULL or
/// NUL-terminated; `out_json` is NULL or valid for a write.
#[no_mangle]
pub unsafe extern "C" fn stevedore_verify(
    client: *const stevedore_client,
    image_ref: *const c_char,
    policy_json: *const c_char,
    out_json: *mut *mut c_char,
) -> stevedore_status {
    boundary(|| {
        let out = OutString::new(out_json, "out_json")?;
        let image = image(client, image_ref, "image_ref")?;
        let args: VerifyArguments = options(policy_json)?;
        if let Some(path) = &args.policy {
            return verify_by_policy_file(&image, path, &args, out);
        }
        let policy = Policy {
            keys: args
                .keys
                .iter()
                .map(|pem| keys::public_key_from_pem(pem.as_bytes()))
                .collect::<Result<_>>()?,
            identity: args.identity.as_deref().map(IdentityRule::parse),
            annotations: args.annotations,
        };
        let report = sign::verify(&image, &policy)?;
        let verified = report.verified;
        let reasons: Vec<String> = report
            .signatures
            .iter()
            .map(|s| format!("{}: {}", s.payload_digest, s.reason))
            .collect();
        out.set(to_json(&report)?)?;
        if verified {
            Ok(())
        } else if reasons.is_empty() {
            Err(Error::new(
                ErrorKind::Policy,
                format!("{} has no signature", report.image),
            ))
        } else {
            Err(Error::new(
                ErrorKind::Policy,
                format!(
                    "no signature of {} satisfies the policy: {}",
                    report.image,
                    reasons.join("; ")
                ),
            ))
        }
    })
}

/// The body of `stevedore_verify` with `{"policy": FILE}`: the file's
/// decision goes to `out`, and the status says whether it accepted.
///
/// # Safety
/// `out`'s pointer is valid for a write.
unsafe fn verify_by_policy_file(
    image: &ImageRef,
    path: &Path,
    args: &VerifyArguments,
    out: OutString,
) -> Result<()> {
    if !args.keys.is_empty() || args.identity.is_some() || !args.annotations.is_empty() {
        return Err(Error::invalid(
            "\"policy\" (a containers-policy.json file) decides alone: give it without \
             \"keys\", \"identity\" or \"annotations\"",
        ));
    }
    let decision = PolicyFile::load(path)?.evaluate(image)?;
    out.set(to_json(&decision)?)?;
    decision.check()
}

/// Attaches an artifact (`artifact`, `artifact_len` bytes) to the image
/// `image_ref` names, as an OCI 1.1 referrer. `options_json`:
/// `{"artifact_type": required, "media_type": the blob's (default
/// application/octet-stream), "annotations": {k: v}}`. On success
/// `*out_json` receives `{"digest", "subject", "artifact_type", "blob"}`.
///
/// # Safety
/// `client` is NULL or a live handle; string arguments are NULL or
/// NUL-terminated; `artifact` points to `artifact_len` readable bytes (or is
/// NULL with length 0); `out_json` is NULL or valid for a write.
#[no_mangle]
pub unsafe extern "C" fn stevedore_attach(
    client: *const stevedore_client,
    image_ref: *const c_char,
    artifact: *const u8,
    artifact_len: usize,
    options_json: *const c_char,
    out_json: *mut *mut c_char,
) -> stevedore_status {
    let bytes: &[u8] = match (artifact.is_null(), artifact_len) {
        (true, 0) => &[],
        (true, _) => {
            return boundary(|| Err(super::memory::null_argument("artifact")));
        }
        (false, len) => std::slice::from_raw_parts(artifact, len),
    };
    image_verb(
        client,
        image_ref,
        options_json,
        out_json,
        |image, options: AttachOptions| referrers::attach(image, bytes, &options),
    )
}

#[derive(Default, Deserialize)]
#[serde(deny_unknown_fields, default)]
struct ReferrersArguments {
    artifact_type: Option<String>,
}

/// Lists the artifacts attached to the image `image_ref` names.
/// `options_json`: `{"artifact_type": only this type}` or NULL. On success
/// `*out_json` receives a JSON array of descriptors (`mediaType`, `digest`,
/// `size`, `artifactType`, `annotations`).
///
/// # Safety
/// `client` is NULL or a live handle; string arguments are NULL or
/// NUL-terminated; `out_json` is NULL or valid for a write.
#[no_mangle]
pub unsafe extern "C" fn stevedore_referrers(
    client: *const stevedore_client,
    image_ref: *const c_char,
    options_json: *const c_char,
    out_json: *mut *mut c_char,
) -> stevedore_status {
    image_verb(
        client,
        image_ref,
        options_json,
        out_json,
        |image, args: ReferrersArguments| {
            referrers::referrers(image, args.artifact_type.as_deref())
        },
    )
}

#[derive(Default, Deserialize)]
#[serde(deny_unknown_fields, default)]
struct KeyPairArguments {
    password: Option<String>,
}

/// Makes a new ECDSA P-256 key pair as cosign writes it. `options_json`:
/// `{"password": to encrypt the private key with (default:
/// $COSIGN_PASSWORD, else empty)}`. On success `*out_json` receives
/// `{"private_key": PEM (cosign's encrypted format), "public_key": PEM}`.
///
/// # Safety
/// `options_json` is NULL or NUL-terminated; `out_json` is NULL or valid for
/// a write.
#[no_mangle]
pub unsafe extern "C" fn stevedore_generate_key_pair(
    options_json: *const c_char,
    out_json: *mut *mut c_char,
) -> stevedore_status {
    json_verb(out_json, || {
        let args: KeyPairArguments = options(options_json)?;
        let password = Secret::new(
            args.password
                .or_else(|| std::env::var(keys::PASSWORD_VARIABLE).ok())
                .unwrap_or_default(),
        );
        let (private_key, public_key) = keys::generate_key_pair(&password)?;
        Ok(serde_json::json!({
            "private_key": private_key,
            "public_key": public_key,
        }))
    })
}
