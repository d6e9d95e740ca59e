//! Naming and listing: tag, digest, manifest_digest, list_tags, catalog —
//! what skopeo's and crane's `tag`, `digest`, `manifest-digest`,
//! `list-tags` and `catalog` do.

use std::ffi::c_char;

use super::boundary::stevedore_status;
use super::client::{client_or_default, stevedore_client};
use super::memory::{input_str, options};
use super::verb::{image, image_verb, json_verb, NoOptions};
use crate::digest::Digest;
use crate::error::Error;

/// A result that is one digest: `{"digest": "sha256:<hex>"}`.
#[derive(serde::Serialize)]
struct DigestResult {
    digest: Digest,
}

/// Gives the manifest `image_ref` names the tag `tag` too, in the same
/// repository or layout (crane's `tag`), without pulling it: the manifest's
/// bytes move unchanged, so its digest stays; a tag that pointed elsewhere
/// moves. `options_json` must be NULL or `{}`. On success `*out_json`
/// receives `{"digest"}` (free with `stevedore_string_free`). A tag outside
/// the distribution spec's grammar (`[A-Za-z0-9_][A-Za-z0-9._-]{0,127}`) is
/// `STEVEDORE_ERROR_INVALID_INPUT`.
///
/// # Safety
/// `client` is NULL or a live handle; string arguments are NULL or
/// NUL-terminated; `out_json` is NULL or valid for a write.
#[no_mangle]
pub unsafe extern "C" fn stevedore_tag(
    client: *const stevedore_client,
    image_ref: *const c_char,
    tag: *const c_char,
    options_json: *const c_char,
    out_json: *mut *mut c_char,
) -> stevedore_status {
    json_verb(out_json, || {
        let image = image(client, image_ref, "image_ref")?;
        let tag = input_str(tag, "tag")?;
        let _: NoOptions = options(options_json)?;
        let digest = crate::tag(&image, tag)?;
        Ok(DigestResult { digest })
    })
}

/// The digest of the manifest `image_ref` names, as it is stored (crane's
/// `digest`; an index's own digest, not one of its images'). `options_json`
/// must be NULL or `{}`. On success `*out_json` receives `{"digest"}` (free
/// with `stevedore_string_free`).
///
/// # Safety
/// As `stevedore_tag`.
#[no_mangle]
pub unsafe extern "C" fn stevedore_digest(
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
        |image, _: NoOptions| {
            Ok(DigestResult {
                digest: crate::manifest_digest(image)?,
            })
        },
    )
}

/// The digest of a manifest's bytes (`manifest`, `manifest_len` bytes;
/// skopeo's `manifest-digest`): the sha256 of exactly those bytes, which is
/// the name a registry stores them under. `options_json` must be NULL or
/// `{}`. On success `*out_json` receives `{"digest"}` (free with
/// `stevedore_string_free`). Empty input is `STEVEDORE_ERROR_INVALID_INPUT`.
///
/// # Safety
/// `manifest` points to `manifest_len` readable bytes (or is NULL with
/// length 0); `options_json` is NULL or NUL-terminated; `out_json` is NULL
/// or valid for a write.
#[no_mangle]
pub unsafe extern "C" fn stevedore_manifest_digest(
    manifest: *const u8,
    manifest_len: usize,
    options_json: *const c_char,
    out_json: *mut *mut c_char,
) -> stevedore_status {
    json_verb(out_json, || {
        let _: NoOptions = options(options_json)?;
        if manifest.is_null() || manifest_len == 0 {
            return Err(Error::invalid(
                "manifest must point to the manifest's bytes (it is NULL or empty)",
            ));
        }
        let bytes = std::slice::from_raw_parts(manifest, manifest_len);
        Ok(DigestResult {
            digest: Digest::sha256(bytes),
        })
    })
}

/// The tags of the repository or layout `image_ref` names, in skopeo's
/// `list-tags` shape: `{"Repository": "registry/repo" (or the transport
/// string of a layout), "Tags": [...]}` in `*out_json` (free with
/// `stevedore_string_free`). `options_json` must be NULL or `{}`.
/// `stevedore_tags` gives the bare array.
///
/// # Safety
/// As `stevedore_tag`.
#[no_mangle]
pub unsafe extern "C" fn stevedore_list_tags(
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
        |image, _: NoOptions| crate::list_tags(image),
    )
}

/// The repositories of the registry `registry` (`host[:port]`, a
/// `docker://` prefix allowed), every page of `GET /v2/_catalog`, as a JSON
/// array of names in `*out_json` (free with `stevedore_string_free`).
/// `client` may be NULL for default options; its credentials for that host
/// are sent. `options_json` must be NULL or `{}`.
///
/// # Safety
/// As `stevedore_tag`.
#[no_mangle]
pub unsafe extern "C" fn stevedore_catalog(
    client: *const stevedore_client,
    registry: *const c_char,
    options_json: *const c_char,
    out_json: *mut *mut c_char,
) -> stevedore_status {
    json_verb(out_json, || {
        let registry = input_str(registry, "registry")?;
        let _: NoOptions = options(options_json)?;
        crate::catalog(&client_or_default(client)?, registry)
    })
}
