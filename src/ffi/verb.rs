//! The shapes every ABI function's body shares: check the out-parameters
//! before any work, run the verb inside the panic boundary, and hand its
//! result to the caller (as JSON, a string or bytes) only on success.

use std::ffi::c_char;

use serde::de::DeserializeOwned;
use serde::Serialize;

use super::boundary::{boundary, stevedore_status};
use super::client::{client_or_default, stevedore_client};
use super::memory::{input_str, options, OutBytes, OutString};
use crate::error::{Error, Result};
use crate::transport::{self, ImageRef};

/// An options object that accepts no keys.
#[derive(Debug, Default, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct NoOptions {}

/// Parses the image string `ptr` (a transport string such as
/// `"oci:/images/app:1.0"`) with the handle's client; `what` names the
/// argument in the error.
///
/// # Safety
/// `client` is NULL or a live handle; `ptr` is NULL or NUL-terminated.
pub(crate) unsafe fn image(
    client: *const stevedore_client,
    ptr: *const c_char,
    what: &str,
) -> Result<ImageRef> {
    transport::parse_with(input_str(ptr, what)?, &client_or_default(client)?)
}

/// Renders a verb's result as JSON text.
pub(crate) fn to_json(value: &impl Serialize) -> Result<String> {
    serde_json::to_string(value).map_err(|e| Error::invalid(format!("cannot render result: {e}")))
}

/// The body of a verb whose result is a string: checks the out-parameter
/// `ptr` (named `what` in the error) first, then runs `body` in the panic
/// boundary and writes its string to `*ptr` on success.
///
/// # Safety
/// `ptr` is NULL or valid for a write.
pub(crate) unsafe fn string_verb(
    ptr: *mut *mut c_char,
    what: &str,
    body: impl FnOnce() -> Result<String>,
) -> stevedore_status {
    boundary(|| {
        let out = OutString::new(ptr, what)?;
        out.set(body()?)
    })
}

/// The body of a verb whose result is JSON: as [`string_verb`] for
/// `out_json`, with `body`'s result rendered as JSON.
///
/// # Safety
/// `out_json` is NULL or valid for a write.
pub(crate) unsafe fn json_verb<T: Serialize>(
    out_json: *mut *mut c_char,
    body: impl FnOnce() -> Result<T>,
) -> stevedore_status {
    string_verb(out_json, "out_json", || to_json(&body()?))
}

/// The body of a verb whose result is a byte buffer: checks `out` and
/// `out_len` first, then runs `body` in the panic boundary and hands its
/// bytes to the caller on success.
///
/// # Safety
/// `out` and `out_len` are NULL or valid for a write.
pub(crate) unsafe fn bytes_verb(
    out: *mut *mut u8,
    out_len: *mut usize,
    body: impl FnOnce() -> Result<Vec<u8>>,
) -> stevedore_status {
    boundary(|| {
        let out = OutBytes::new(out, out_len)?;
        out.set(body()?);
        Ok(())
    })
}

/// The body of a verb over one image (`image_ref`) with options `O` (from
/// `options_json`, NULL for defaults) and a JSON result.
///
/// # Safety
/// As [`image`] and [`json_verb`]; `options_json` is NULL or NUL-terminated.
pub(crate) unsafe fn image_verb<O, T>(
    client: *const stevedore_client,
    image_ref: *const c_char,
    options_json: *const c_char,
    out_json: *mut *mut c_char,
    verb: impl FnOnce(&ImageRef, O) -> Result<T>,
) -> stevedore_status
where
    O: DeserializeOwned + Default,
    T: Serialize,
{
    json_verb(out_json, || {
        let image = image(client, image_ref, "image_ref")?;
        verb(&image, options(options_json)?)
    })
}

/// The body of a verb from the image `src` names (the argument `src_what`)
/// to the image `dst` names, with a JSON result. Both are parsed before
/// `verb` runs.
///
/// # Safety
/// As [`image`] and [`json_verb`].
pub(crate) unsafe fn src_dst_verb<T: Serialize>(
    client: *const stevedore_client,
    src: *const c_char,
    src_what: &str,
    dst: *const c_char,
    out_json: *mut *mut c_char,
    verb: impl FnOnce(&ImageRef, &ImageRef) -> Result<T>,
) -> stevedore_status {
    json_verb(out_json, || {
        let (src, dst) = (image(client, src, src_what)?, image(client, dst, "dst")?);
        verb(&src, &dst)
    })
}
