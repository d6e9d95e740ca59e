//! `stevedore_server`: a registry server running inside the calling process.

use std::ffi::{c_char, CString};

use super::boundary::{boundary, stevedore_status};
use super::memory::{null_argument, options};
use super::verb::json_verb;
use crate::server::{GcOptions, Server, ServerOptions};

/// A running registry server. Create with `stevedore_server_start`; stop and
/// release with `stevedore_server_stop`.
#[allow(non_camel_case_types)]
pub struct stevedore_server {
    server: Server,
    address: CString,
}

/// Starts a registry server (the OCI distribution API) in this process.
/// `options_json` (NULL for defaults): `{"addr": "127.0.0.1:0", "root":
/// DIR or null (in memory), "s3": {"url": "s3://BUCKET/PREFIX", …} (as
/// `stevedore_gc`) or null, "redirect": false, "htpasswd": FILE, "read_only": false,
/// "tls_cert": FILE, "tls_key": FILE, "upload_expiry_secs": 900,
/// "max_uploads": 1024, "max_connections": 256, "head_timeout_secs": 10,
/// "idle_timeout_secs": 60, "max_head_bytes": 65536, "max_blob_bytes":
/// 68719476736, "fsync": true}`. Port 0 picks a free port;
/// `stevedore_server_address` tells which. On success `*server_out`
/// receives the handle.
///
/// # Safety
/// `options_json` is NULL or NUL-terminated; `server_out` is NULL or valid
/// for a write.
#[no_mangle]
pub unsafe extern "C" fn stevedore_server_start(
    options_json: *const c_char,
    server_out: *mut *mut stevedore_server,
) -> stevedore_status {
    boundary(|| {
        if server_out.is_null() {
            return Err(null_argument("server_out"));
        }
        let server = Server::start(options::<ServerOptions>(options_json)?)?;
        let address = CString::new(server.host()).unwrap_or_default();
        *server_out = Box::into_raw(Box::new(stevedore_server { server, address }));
        Ok(())
    })
}

/// The server's address as `HOST:PORT` (`127.0.0.1:5000`), usable as the
/// registry part of image references. Owned by the handle: valid until
/// `stevedore_server_stop`; do not free it. NULL for a NULL handle.
///
/// # Safety
/// `server` is NULL or a live handle from `stevedore_server_start`.
#[no_mangle]
pub unsafe extern "C" fn stevedore_server_address(
    server: *const stevedore_server,
) -> *const c_char {
    match server.as_ref() {
        Some(handle) => handle.address.as_ptr(),
        None => std::ptr::null(),
    }
}

/// Stops the server (closing its connections and waiting for their
/// threads) and releases the handle. NULL is a no-op.
///
/// # Safety
/// `server` is NULL or a handle from `stevedore_server_start`, not yet stopped.
#[no_mangle]
pub unsafe extern "C" fn stevedore_server_stop(server: *mut stevedore_server) {
    if !server.is_null() {
        let handle = Box::from_raw(server);
        handle.server.stop();
    }
}

/// Collects the garbage of a registry's store (as `stevedore gc`): removes
/// the blobs no manifest reaches that were written before the grace period.
/// Safe while servers serve the store. `options_json`: `{"root": DIR}` or
/// `{"s3": {"url": "s3://BUCKET/PREFIX", "endpoint": URL, "region": R,
/// "path_style": BOOL, "access_key_id": K, "secret_access_key": S,
/// "session_token": T, "profile": P}}` (unset S3 fields come from the AWS
/// environment), with `"dry_run": false` and `"grace_secs": 3600`. On
/// success `*out_json` receives `{"dry_run", "marked", "kept_recent",
/// "removed", "removed_bytes", "removed_uploads"}`, freed with
/// `stevedore_string_free`.
///
/// # Safety
/// `options_json` is NULL or NUL-terminated; `out_json` is NULL or valid
/// for a write.
#[no_mangle]
pub unsafe extern "C" fn stevedore_gc(
    options_json: *const c_char,
    out_json: *mut *mut c_char,
) -> stevedore_status {
    json_verb(out_json, || {
        crate::server::gc(&options::<GcOptions>(options_json)?)
    })
}
