//! `stevedore_client`: a registry client handle.

use std::ffi::c_char;

use super::boundary::{boundary, stevedore_status};
use super::memory::{null_argument, options};
use crate::error::Result;
use crate::registry::{Client, ClientOptions};

/// A registry client: options (credentials, TLS, retries, chunk size), the
/// connection pools and the token cache, so that a whole pull earns its
/// bearer token once. Thread-safe: one handle may be used by many threads at
/// once. Create with `stevedore_client_new`, release with
/// `stevedore_client_free`.
#[allow(non_camel_case_types)]
pub struct stevedore_client {
    pub(crate) client: Client,
}

/// The client to use: the handle's, or one of default options for NULL.
///
/// # Safety
/// `ptr` is NULL or a live handle from `stevedore_client_new`.
pub(crate) unsafe fn client_or_default(ptr: *const stevedore_client) -> Result<Client> {
    match ptr.as_ref() {
        Some(handle) => Ok(handle.client.clone()),
        None => Client::new(ClientOptions::default()),
    }
}

/// Creates a client. `options_json` (NULL for defaults): `{"credentials":
/// {"host[:port]": {"username", "password"} or {"identity_token"}},
/// "auth_file", "tls_verify", "insecure": [..],
/// "plain_http": [..], "cert_dir", "user_agent", "connect_timeout_secs",
/// "read_timeout_secs", "max_retries", "retry_delay_ms", "chunk_size"}`.
/// Credentials are bound to the registry they are listed under and never
/// sent to another host.
/// On success `*client_out` receives the handle.
///
/// # Safety
/// `options_json` is NULL or NUL-terminated; `client_out` is NULL or valid
/// for a write.
#[no_mangle]
pub unsafe extern "C" fn stevedore_client_new(
    options_json: *const c_char,
    client_out: *mut *mut stevedore_client,
) -> stevedore_status {
    boundary(|| {
        if client_out.is_null() {
            return Err(null_argument("client_out"));
        }
        let client = Client::new(options(options_json)?)?;
        *client_out = Box::into_raw(Box::new(stevedore_client { client }));
        Ok(())
    })
}

/// Releases a client. NULL is a no-op. Calls still running on other threads
/// with this handle must have returned.
///
/// # Safety
/// `client` is NULL or a handle from `stevedore_client_new`, not yet freed.
#[no_mangle]
pub unsafe extern "C" fn stevedore_client_free(client: *mut stevedore_client) {
    if !client.is_null() {
        drop(Box::from_raw(client));
    }
}
