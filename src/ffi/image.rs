//! The image verbs: copy, inspect, tags, delete.

use std::ffi::{c_char, c_void};

use super::boundary::{boundary, stevedore_status};
use super::client::{client_or_default, stevedore_client};
use super::memory::{input_json, options};
use super::progress::{progress_fn, stevedore_progress_fn};
use super::verb::{bytes_verb, image, image_verb, json_verb, src_dst_verb, NoOptions};
use crate::copy::CopyOptions;
use crate::error::{Error, Result};
use crate::inspect::InspectOptions;
use crate::sync::SyncJob;
use crate::transport;

/// Copy options from JSON, with the caller's progress callback.
///
/// # Safety
/// As [`options`]; `progress` may be called with `userdata` from other threads.
unsafe fn copy_options(
    options_json: *const c_char,
    progress: stevedore_progress_fn,
    userdata: *mut c_void,
) -> Result<CopyOptions> {
    let mut opts: CopyOptions = options(options_json)?;
    opts.progress = progress_fn(progress, userdata);
    Ok(opts)
}

/// Copies the image `src` names to `dst` (transport strings such as
/// `"oci:/images/app:1.0"` or `"docker://registry.example/app:1.0"`).
/// `client` may be NULL for a client of default options. `options_json`
/// (NULL for defaults): `{"all": bool, "platform": "os/arch[/variant]",
/// "platforms": ["os/arch", …], "jobs": n, "compress_format": "gzip" |
/// "zstd", "compress_level": n}` — every image of an index, one, or a subset
/// written as a new index; `jobs` blobs move at once (default 6); layers
/// recompressed to `compress_format` at `compress_level` (gzip 1-9, zstd
/// 1-22), as `CopyOptions` says. On success `*out_json` receives the result
/// — `{"source", "destination", "digest", "media_type", "source_digest",
/// "manifests", "blobs_copied", "blobs_mounted", "blobs_skipped",
/// "bytes_copied", "recompressed": [{"from", "digest", "size",
/// "media_type"}], …}` — to free with
/// `stevedore_string_free`. `progress` (may be NULL) receives every event
/// with `userdata`; its non-zero return cancels the copy. Safe to call from
/// many threads at once, with one client.
///
/// # Safety
/// `client` is NULL or a live handle; string arguments are NULL or
/// NUL-terminated; `progress`, if not NULL, may be called from other threads
/// with `userdata` until the call returns; `out_json` is NULL or valid for a
/// write.
#[no_mangle]
pub unsafe extern "C" fn stevedore_copy(
    client: *const stevedore_client,
    src: *const c_char,
    dst: *const c_char,
    options_json: *const c_char,
    progress: stevedore_progress_fn,
    userdata: *mut c_void,
    out_json: *mut *mut c_char,
) -> stevedore_status {
    src_dst_verb(client, src, "src", dst, out_json, |src, dst| {
        crate::copy(src, dst, &copy_options(options_json, progress, userdata)?)
    })
}

/// Runs many copies: `jobs_json` is `[{"src": …, "dst": …}, …]`, each job
/// optionally with its own `"all": bool`, `"platforms": ["os/arch", …]`
/// (one: that platform's image; several: a subset index) and
/// `"referrers": bool`; `options_json`, `progress` and `userdata` are as for
/// `stevedore_copy`, applied to each job where it names no choice of its own. One failure does not stop the others, and images
/// already identical at their destination are skipped. On success (which the
/// call is even when jobs failed) `*out_json` receives one result per job —
/// `[{"src", "dst", "outcome": {"status": "copied", …report} |
/// {"status": "skipped", "digest", "referrers_copied"} (referrers the
/// destination lacked, copied to an image already there) | {"status": "failed", "kind",
/// "message"}}]` — to free with `stevedore_string_free`.
///
/// # Safety
/// As `stevedore_copy`.
#[no_mangle]
pub unsafe extern "C" fn stevedore_sync(
    client: *const stevedore_client,
    jobs_json: *const c_char,
    options_json: *const c_char,
    progress: stevedore_progress_fn,
    userdata: *mut c_void,
    out_json: *mut *mut c_char,
) -> stevedore_status {
    json_verb(out_json, || {
        let jobs: Vec<SyncJob> = input_json(jobs_json, "jobs_json")?;
        let opts = copy_options(options_json, progress, userdata)?;
        let client = client_or_default(client)?;
        Ok(crate::sync(&jobs, &opts, |s| {
            transport::parse_with(s, &client)
        }))
    })
}

/// Describes the image `image_ref` names. `options_json` (NULL for defaults):
/// `{"platform": "os/arch[/variant]"}` to choose from an index. On success
/// `*out_json` receives the report — `{"name", "digest", "media_type",
/// "index", "image_digest", "platform", "created", "author", "config_digest",
/// "layers", "layers_size", "env", "entrypoint", "cmd", "labels",
/// "annotations"}` — to free with `stevedore_string_free`.
///
/// # Safety
/// As `stevedore_copy`.
#[no_mangle]
pub unsafe extern "C" fn stevedore_inspect(
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
        |image, opts: InspectOptions| crate::inspect(image, &opts),
    )
}

/// Options of `stevedore_inspect_raw`.
#[derive(Debug, Default, serde::Deserialize)]
#[serde(deny_unknown_fields, default)]
struct RawOptions {
    config: bool,
    #[serde(deserialize_with = "crate::platform::deserialize_optional")]
    platform: Option<crate::platform::Platform>,
}

/// The exact bytes of the manifest `image_ref` names, or with
/// `{"config": true}` in `options_json` those of its config (of the image for
/// `"platform"`, or the host's, when the reference names an index). On
/// success `*out` and `*out_len` receive a buffer to free with
/// `stevedore_bytes_free(*out, *out_len)`.
///
/// # Safety
/// `client` is NULL or a live handle; string arguments are NULL or
/// NUL-terminated; `out` and `out_len` are NULL or valid for a write.
#[no_mangle]
pub unsafe extern "C" fn stevedore_inspect_raw(
    client: *const stevedore_client,
    image_ref: *const c_char,
    options_json: *const c_char,
    out: *mut *mut u8,
    out_len: *mut usize,
) -> stevedore_status {
    bytes_verb(out, out_len, || {
        let image = image(client, image_ref, "image_ref")?;
        let opts: RawOptions = options(options_json)?;
        if opts.config {
            crate::raw_config(
                &image,
                &InspectOptions {
                    platform: opts.platform,
                    ..InspectOptions::default()
                },
            )
        } else if opts.platform.is_some() {
            Err(Error::invalid(
                "\"platform\" applies only with \"config\": true",
            ))
        } else {
            Ok(crate::raw_manifest(&image)?.raw().to_vec())
        }
    })
}

/// The tags of the repository or layout `image_ref` names, as a JSON array
/// of strings in `*out_json` (free with `stevedore_string_free`).
/// `options_json` must be NULL or `{}`.
///
/// # Safety
/// As `stevedore_copy`.
#[no_mangle]
pub unsafe extern "C" fn stevedore_tags(
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
        |image, _: NoOptions| crate::tags(image),
    )
}

/// Deletes the image `image_ref` names: a layout's tag (and the blobs only it
/// used), or a registry's manifest (with every tag pointing to it).
/// `options_json` must be NULL or `{}`.
///
/// # Safety
/// `client` is NULL or a live handle; string arguments are NULL or
/// NUL-terminated.
#[no_mangle]
pub unsafe extern "C" fn stevedore_delete(
    client: *const stevedore_client,
    image_ref: *const c_char,
    options_json: *const c_char,
) -> stevedore_status {
    boundary(|| {
        let image = image(client, image_ref, "image_ref")?;
        let _: NoOptions = options(options_json)?;
        crate::delete(&image)
    })
}
