//! An image's files without unpacking it: list, read one, export, diff.

use std::ffi::c_char;
use std::path::Path;

use super::boundary::stevedore_status;
use super::client::stevedore_client;
use super::memory::{input_str, options};
use super::verb::{bytes_verb, image, json_verb};
use crate::files::FilesOptions;
use crate::layer::Limits;
use crate::platform::{self, Platform};

/// Options of `stevedore_read_file`: those of every files verb plus a size cap.
#[derive(serde::Deserialize)]
#[serde(deny_unknown_fields, default)]
struct ReadOptions {
    #[serde(deserialize_with = "platform::deserialize_optional")]
    platform: Option<Platform>,
    limits: Limits,
    max_size: u64,
}

impl Default for ReadOptions {
    fn default() -> ReadOptions {
        ReadOptions {
            platform: None,
            limits: Limits::default(),
            max_size: 512 * 1024 * 1024,
        }
    }
}

/// Lists the merged root filesystem of `image_ref` (the host's platform
/// from an index unless `{"platform": "os/arch[/variant]"}`), or with
/// `path` (NULL for all) one directory's entries. `options_json`:
/// `{"platform", "limits": {"max_layer_bytes", "max_entries",
/// "max_link_depth"}}`, NULL for defaults. On success `*out_json` receives
/// `{"name", "layers": [{"digest", "media_type", "size", "compression",
/// "mislabelled", "entries", "uncompressed_size"}], "entries": [{"path",
/// "type", "mode", "uid", "gid", "size", "mtime", "link_target"?,
/// "device"?, "xattrs"?, "layer"}]}`; free it with `stevedore_string_free`.
///
/// # Safety
/// `client` is NULL or a live handle; string arguments are NULL (`path`,
/// `options_json`) or NUL-terminated; `out_json` is valid for a write.
#[no_mangle]
pub unsafe extern "C" fn stevedore_files(
    client: *const stevedore_client,
    image_ref: *const c_char,
    path: *const c_char,
    options_json: *const c_char,
    out_json: *mut *mut c_char,
) -> stevedore_status {
    json_verb(out_json, || {
        let image = image(client, image_ref, "image_ref")?;
        let opts: FilesOptions = options(options_json)?;
        if path.is_null() {
            crate::files::files(&image, &opts)
        } else {
            crate::files::files_in(&image, input_str(path, "path")?, &opts)
        }
    })
}

/// Reads the regular file `path` of `image_ref`'s merged root, following
/// symlinks only inside the image, into `*out`/`*out_len` (free with
/// `stevedore_bytes_free`). `options_json`: as `stevedore_files`, plus
/// `"max_size"` (bytes, default 512 MiB; larger files are refused). A
/// missing path or a dangling link is `STEVEDORE_NOT_FOUND`; a directory or
/// a symlink loop `STEVEDORE_INVALID_INPUT`, each with its own message.
///
/// # Safety
/// As `stevedore_files`; `out` and `out_len` are valid for a write.
#[no_mangle]
pub unsafe extern "C" fn stevedore_read_file(
    client: *const stevedore_client,
    image_ref: *const c_char,
    path: *const c_char,
    options_json: *const c_char,
    out: *mut *mut u8,
    out_len: *mut usize,
) -> stevedore_status {
    bytes_verb(out, out_len, || {
        let image = image(client, image_ref, "image_ref")?;
        let path = input_str(path, "path")?;
        let opts: ReadOptions = options(options_json)?;
        let files = FilesOptions {
            platform: opts.platform,
            limits: opts.limits,
            store: None,
            cancel: None,
        };
        crate::files::read_file(&image, path, opts.max_size, &files)
    })
}

/// Writes the merged root of `image_ref` as one uncompressed tar to the
/// file `path`, which appears only complete. `options_json`: as
/// `stevedore_files`. On success `*out_json` receives `{"entries",
/// "content_bytes"}` (free with `stevedore_string_free`).
///
/// # Safety
/// As `stevedore_files`.
#[no_mangle]
pub unsafe extern "C" fn stevedore_export(
    client: *const stevedore_client,
    image_ref: *const c_char,
    path: *const c_char,
    options_json: *const c_char,
    out_json: *mut *mut c_char,
) -> stevedore_status {
    json_verb(out_json, || {
        let image = image(client, image_ref, "image_ref")?;
        let path = Path::new(input_str(path, "path")?);
        let opts: FilesOptions = options(options_json)?;
        crate::files::export_to_path(&image, path, &opts)
    })
}

/// Compares the merged roots of `image_a` and `image_b`. `options_json`:
/// as `stevedore_files`. On success `*out_json` receives `{"added":
/// [path…], "removed": [path…], "changed": [{"path", "changes": ["type" |
/// "content" | "mode" | "ownership" | "link_target" | "device", …]}]}`
/// (free with `stevedore_string_free`).
///
/// # Safety
/// As `stevedore_files`.
#[no_mangle]
pub unsafe extern "C" fn stevedore_diff(
    client: *const stevedore_client,
    image_a: *const c_char,
    image_b: *const c_char,
    options_json: *const c_char,
    out_json: *mut *mut c_char,
) -> stevedore_status {
    json_verb(out_json, || {
        let a = image(client, image_a, "image_a")?;
        let b = image(client, image_b, "image_b")?;
        let opts: FilesOptions = options(options_json)?;
        crate::files::diff(&a, &b, &opts)
    })
}
