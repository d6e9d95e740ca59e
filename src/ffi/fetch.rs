//! What a runtime fetches: a manifest in the shape it consumes, and blobs.

use std::ffi::c_char;
use std::path::Path;

use super::boundary::{boundary, stevedore_status};
use super::client::stevedore_client;
use super::memory::{input_str, options, OutBytes, OutString};
use super::verb::{bytes_verb, image, to_json, NoOptions};
use crate::digest::Digest;
use crate::error::{Error, Result};
use crate::platform::{self, Platform};

/// Options of `stevedore_manifest`.
#[derive(Debug, Default, serde::Deserialize)]
#[serde(deny_unknown_fields, default)]
struct ManifestOptions {
    #[serde(deserialize_with = "platform::deserialize_optional")]
    platform: Option<Platform>,
}

/// Options of `stevedore_blob`.
#[derive(Debug, serde::Deserialize)]
#[serde(deny_unknown_fields, default)]
struct BlobOptions {
    max_size: u64,
}

impl Default for BlobOptions {
    fn default() -> BlobOptions {
        BlobOptions {
            max_size: 512 * 1024 * 1024,
        }
    }
}

unsafe fn digest(ptr: *const c_char) -> Result<Digest> {
    input_str(ptr, "digest")?.parse()
}

/// Fetches the manifest `image_ref` names — with `{"platform":
/// "os/arch[/variant]"}` in `options_json`, an index is followed to that
/// platform's image. On success `*out_json` receives `{"media_type",
/// "digest", "size", "manifest"}` (`manifest` is the parsed JSON) and
/// `*raw_out`/`*raw_len_out` the exact bytes the digest is of. Free them
/// with `stevedore_string_free` and `stevedore_bytes_free`.
///
/// # Safety
/// `client` is NULL or a live handle; string arguments are NULL or
/// NUL-terminated; the out-parameters are NULL or valid for a write.
#[no_mangle]
pub unsafe extern "C" fn stevedore_manifest(
    client: *const stevedore_client,
    image_ref: *const c_char,
    options_json: *const c_char,
    out_json: *mut *mut c_char,
    raw_out: *mut *mut u8,
    raw_len_out: *mut usize,
) -> stevedore_status {
    boundary(|| {
        let out = OutString::new(out_json, "out_json")?;
        let raw = OutBytes::new(raw_out, raw_len_out)?;
        let image = image(client, image_ref, "image_ref")?;
        let opts: ManifestOptions = options(options_json)?;
        let manifest = crate::fetch::manifest(&image, opts.platform.as_ref())?;
        let parsed: serde_json::Value = serde_json::from_slice(manifest.raw())
            .map_err(|e| Error::invalid(format!("manifest is not JSON: {e}")))?;
        let json = to_json(&serde_json::json!({
            "media_type": manifest.media_type(),
            "digest": manifest.digest(),
            "size": manifest.raw().len(),
            "manifest": parsed,
        }))?;
        out.set(json)?;
        raw.set(manifest.raw().to_vec());
        Ok(())
    })
}

/// Fetches the blob `digest` of the repository or layout `image_ref` names,
/// verified, into memory: `*out`/`*out_len` receive it (free with
/// `stevedore_bytes_free`). `options_json`: `{"max_size": bytes}` (default
/// 512 MiB; larger blobs are refused — use `stevedore_blob_to_file`).
///
/// # Safety
/// As `stevedore_manifest`.
#[no_mangle]
pub unsafe extern "C" fn stevedore_blob(
    client: *const stevedore_client,
    image_ref: *const c_char,
    digest_str: *const c_char,
    options_json: *const c_char,
    out: *mut *mut u8,
    out_len: *mut usize,
) -> stevedore_status {
    bytes_verb(out, out_len, || {
        let image = image(client, image_ref, "image_ref")?;
        let opts: BlobOptions = options(options_json)?;
        crate::fetch::blob_bytes(&image, &digest(digest_str)?, opts.max_size)
    })
}

/// Fetches the blob `digest`, verified and streamed, to the file `path`: it
/// appears there only complete and verified. `options_json` must be NULL or
/// `{}`.
///
/// # Safety
/// `client` is NULL or a live handle; string arguments are NULL or
/// NUL-terminated.
#[no_mangle]
pub unsafe extern "C" fn stevedore_blob_to_file(
    client: *const stevedore_client,
    image_ref: *const c_char,
    digest_str: *const c_char,
    path: *const c_char,
    options_json: *const c_char,
) -> stevedore_status {
    boundary(|| {
        let image = image(client, image_ref, "image_ref")?;
        let _: NoOptions = options(options_json)?;
        let path = Path::new(input_str(path, "path")?);
        crate::fetch::blob_to_file(&image, &digest(digest_str)?, path, None).map(drop)
    })
}
