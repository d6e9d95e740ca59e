//! Building and changing images: build, append, mutate, rebase, index,
//! flatten, layer remove and replace.
//! Every result is `{"destination", "digest", "media_type", "blobs_copied",
//! "blobs_mounted", "blobs_skipped"}`.

use std::ffi::c_char;
use std::path::PathBuf;

use serde::Deserialize;

use super::boundary::stevedore_status;
use super::client::{client_or_default, stevedore_client};
use super::memory::{input_json, input_str, options};
use super::verb::{image, json_verb, src_dst_verb};
use crate::build::{BuildSpec, Mutation};
use crate::error::Result;
use crate::image::layer::Compression;
use crate::platform::{self, Platform};

/// Options of `stevedore_append`.
#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields, default)]
struct AppendOptions {
    /// The layers: tar files or directories, bottom first.
    layers: Vec<PathBuf>,
    /// `gzip` (default), `zstd` or `none`, for directories.
    compression: Option<String>,
    /// The compression level.
    level: Option<i32>,
    /// The platform to choose from an index.
    #[serde(deserialize_with = "platform::deserialize_optional")]
    platform: Option<Platform>,
}

/// Options of `stevedore_rebase`.
#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields, default)]
struct RebaseOptions {
    #[serde(deserialize_with = "platform::deserialize_optional")]
    platform: Option<Platform>,
}

/// The layer compression `name` (default `gzip`) names, at `level`.
fn compression(name: Option<&str>, level: Option<i32>) -> Result<Compression> {
    Compression::parse(name.unwrap_or("gzip"), level)
}

/// Builds the image `spec_json` describes (the README's spec format) and
/// writes it to `dst`. Relative paths in the spec are taken from
/// `base_dir` (NULL: the current directory). On success `*out_json`
/// receives the result, to free with `stevedore_string_free`. Nothing is
/// written at `dst` when the build fails. Safe from many threads.
///
/// # Safety
/// `client` is NULL or a live handle; strings are NULL or NUL-terminated;
/// `out_json` is NULL or valid for a write.
#[no_mangle]
pub unsafe extern "C" fn stevedore_build(
    client: *const stevedore_client,
    spec_json: *const c_char,
    base_dir: *const c_char,
    dst: *const c_char,
    out_json: *mut *mut c_char,
) -> stevedore_status {
    json_verb(out_json, || {
        let spec = BuildSpec::from_json(input_str(spec_json, "spec_json")?, "spec_json")?;
        let dir = if base_dir.is_null() {
            PathBuf::from(".")
        } else {
            PathBuf::from(input_str(base_dir, "base_dir")?)
        };
        let dst = image(client, dst, "dst")?;
        let built = crate::build(&spec, &dir, &client_or_default(client)?)?;
        crate::write_image(&built, &dst)
    })
}

/// Adds layers onto the image `base` names and writes the result to `dst`.
/// `options_json`: `{"layers": ["a.tar", "dir/", …], "compression":
/// "gzip"|"zstd"|"none", "level": n, "platform": "os/arch"}` (`layers`
/// required). The base's layers are mounted or skipped, never downloaded.
///
/// # Safety
/// As `stevedore_build`.
#[no_mangle]
pub unsafe extern "C" fn stevedore_append(
    client: *const stevedore_client,
    base: *const c_char,
    dst: *const c_char,
    options_json: *const c_char,
    out_json: *mut *mut c_char,
) -> stevedore_status {
    src_dst_verb(client, base, "base", dst, out_json, |base, dst| {
        let opts: AppendOptions = options(options_json)?;
        let compression = compression(opts.compression.as_deref(), opts.level)?;
        let built = crate::append(base, opts.platform.as_ref(), &opts.layers, compression)?;
        crate::write_image(&built, dst)
    })
}

/// Changes the image `src` names and writes it to `dst`. `mutation_json`:
/// `{"config": {"env": ["K=V"], "entrypoint": […], "cmd": […],
/// "working_dir", "user", "labels": {…}, "exposed_ports": […], "volumes":
/// […], "stop_signal", "os", "architecture", "variant", "created",
/// "author"}, "annotations": {…}, "platform": "os/arch"}` (`platform`
/// required for an index: only that image changes).
///
/// # Safety
/// As `stevedore_build`.
#[no_mangle]
pub unsafe extern "C" fn stevedore_mutate(
    client: *const stevedore_client,
    src: *const c_char,
    mutation_json: *const c_char,
    dst: *const c_char,
    out_json: *mut *mut c_char,
) -> stevedore_status {
    src_dst_verb(client, src, "src", dst, out_json, |src, dst| {
        let mutation: Mutation = input_json(mutation_json, "mutation_json")?;
        crate::mutate(src, &mutation, dst)
    })
}

/// Replaces `old_base`'s layers at the bottom of the image `src` names by
/// `new_base`'s and writes it to `dst`. `options_json` (NULL for
/// defaults): `{"platform": "os/arch"}`. `STEVEDORE_ERROR_INVALID_INPUT` when
/// `old_base` is not the image's base.
///
/// # Safety
/// As `stevedore_build`.
#[no_mangle]
pub unsafe extern "C" fn stevedore_rebase(
    client: *const stevedore_client,
    src: *const c_char,
    old_base: *const c_char,
    new_base: *const c_char,
    dst: *const c_char,
    options_json: *const c_char,
    out_json: *mut *mut c_char,
) -> stevedore_status {
    json_verb(out_json, || {
        let src = image(client, src, "src")?;
        let old = image(client, old_base, "old_base")?;
        let new = image(client, new_base, "new_base")?;
        let dst = image(client, dst, "dst")?;
        let opts: RebaseOptions = options(options_json)?;
        let rebased = crate::rebase(&src, &old, &new, opts.platform.as_ref())?;
        crate::write_image(&rebased, &dst)
    })
}

/// Writes to `dst` an OCI index of the images `images_json` names
/// (`["oci:/a:amd64", "docker://…", …]`), one entry per platform.
///
/// # Safety
/// As `stevedore_build`.
#[no_mangle]
pub unsafe extern "C" fn stevedore_index_create(
    client: *const stevedore_client,
    images_json: *const c_char,
    dst: *const c_char,
    out_json: *mut *mut c_char,
) -> stevedore_status {
    json_verb(out_json, || {
        let names: Vec<String> = input_json(images_json, "images_json")?;
        let client_ref = client_or_default(client)?;
        let images = names
            .iter()
            .map(|n| crate::transport::parse_with(n, &client_ref))
            .collect::<Result<Vec<_>>>()?;
        let dst = image(client, dst, "dst")?;
        crate::index_create(&images, &dst)
    })
}

/// Writes to `dst` the index `index` names with the image `image_ref` names
/// added (replacing its platform's entry); other entries keep their digests.
///
/// # Safety
/// As `stevedore_build`.
#[no_mangle]
pub unsafe extern "C" fn stevedore_index_add(
    client: *const stevedore_client,
    index: *const c_char,
    image_ref: *const c_char,
    dst: *const c_char,
    out_json: *mut *mut c_char,
) -> stevedore_status {
    json_verb(out_json, || {
        let index = image(client, index, "index")?;
        let added = image(client, image_ref, "image_ref")?;
        let dst = image(client, dst, "dst")?;
        crate::index_add(&index, &added, &dst)
    })
}

/// Writes to `dst` the index `index` names without its image for
/// `platform` (`"os/arch[/variant]"`); `STEVEDORE_ERROR_NOT_FOUND` when it has
/// none.
///
/// # Safety
/// As `stevedore_build`.
#[no_mangle]
pub unsafe extern "C" fn stevedore_index_remove(
    client: *const stevedore_client,
    index: *const c_char,
    platform: *const c_char,
    dst: *const c_char,
    out_json: *mut *mut c_char,
) -> stevedore_status {
    json_verb(out_json, || {
        let index = image(client, index, "index")?;
        let platform: Platform = input_str(platform, "platform")?.parse()?;
        let dst = image(client, dst, "dst")?;
        crate::index_remove(&index, &platform, &dst)
    })
}

/// Options of `stevedore_flatten` and `stevedore_layer_remove`.
#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields, default)]
struct PlatformOptions {
    #[serde(deserialize_with = "platform::deserialize_optional")]
    platform: Option<Platform>,
}

/// Options of `stevedore_layer_replace`.
#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields, default)]
struct ReplaceOptions {
    compression: Option<String>,
    level: Option<i32>,
    #[serde(deserialize_with = "platform::deserialize_optional")]
    platform: Option<Platform>,
}

/// Squashes the layers of the image `src` names into one (its merged
/// root, reproducibly: see the README) and writes it to `dst`; the config
/// then lists one diff_id and one history entry. For an index, every image
/// is flattened, or only `platform`'s. `options_json` (NULL for defaults):
/// `{"platform": "os/arch"}`. `STEVEDORE_ERROR_NOT_FOUND` for a platform the
/// index lacks. Nothing is written at `dst` on failure.
///
/// # Safety
/// As `stevedore_build`.
#[no_mangle]
pub unsafe extern "C" fn stevedore_flatten(
    client: *const stevedore_client,
    src: *const c_char,
    dst: *const c_char,
    options_json: *const c_char,
    out_json: *mut *mut c_char,
) -> stevedore_status {
    src_dst_verb(client, src, "src", dst, out_json, |src, dst| {
        let opts: PlatformOptions = options(options_json)?;
        crate::flatten(src, opts.platform.as_ref(), dst)
    })
}

/// Removes the layer at `position` (0 is the bottom) of the image `src`
/// names, with its history entry, and writes the result to `dst`.
/// `options_json` (NULL for defaults): `{"platform": "os/arch"}`, the image
/// to choose from an index. `STEVEDORE_ERROR_INVALID_INPUT` when there is no
/// such layer.
///
/// # Safety
/// As `stevedore_build`.
#[no_mangle]
pub unsafe extern "C" fn stevedore_layer_remove(
    client: *const stevedore_client,
    src: *const c_char,
    position: usize,
    dst: *const c_char,
    options_json: *const c_char,
    out_json: *mut *mut c_char,
) -> stevedore_status {
    src_dst_verb(client, src, "src", dst, out_json, |src, dst| {
        let opts: PlatformOptions = options(options_json)?;
        let changed = crate::remove_layer(src, position, opts.platform.as_ref())?;
        crate::write_image(&changed, dst)
    })
}

/// Replaces the layer at `position` (0 is the bottom) of the image `src`
/// names by a layer of `layer_path` (a tar file, kept as it is, or a
/// directory) and writes the result to `dst`; the history entry stays.
/// `options_json` (NULL for defaults): `{"compression": "gzip"|"zstd"|"none",
/// "level": n, "platform": "os/arch"}`. `STEVEDORE_ERROR_INVALID_INPUT` when
/// there is no such layer or the file is not a tar.
///
/// # Safety
/// As `stevedore_build`.
#[no_mangle]
pub unsafe extern "C" fn stevedore_layer_replace(
    client: *const stevedore_client,
    src: *const c_char,
    position: usize,
    layer_path: *const c_char,
    dst: *const c_char,
    options_json: *const c_char,
    out_json: *mut *mut c_char,
) -> stevedore_status {
    src_dst_verb(client, src, "src", dst, out_json, |src, dst| {
        let path = PathBuf::from(input_str(layer_path, "layer_path")?);
        let opts: ReplaceOptions = options(options_json)?;
        let compression = compression(opts.compression.as_deref(), opts.level)?;
        let changed =
            crate::replace_layer(src, position, &path, compression, opts.platform.as_ref())?;
        crate::write_image(&changed, dst)
    })
}
