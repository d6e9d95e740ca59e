//! `stevedore_login` and `stevedore_logout`: credentials for one registry,
//! checked with it and kept in the auth file skopeo and podman write.

use std::ffi::c_char;

use super::boundary::stevedore_status;
use super::client::{client_or_default, stevedore_client};
use super::memory::{input_str, options};
use super::verb::{string_verb, NoOptions};
use crate::auth::{Credentials, Secret};

#[derive(Default, serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct LoginOptions {
    username: String,
    password: Secret,
}

/// Checks `{"username", "password"}` (`options_json`, required) with
/// `registry` (`host[:port]`) through `client` (NULL for default options; its
/// TLS options and `auth_file` are used), then records them in the client's
/// `auth_file`, or the primary auth file of containers-auth.json(5). On
/// success `*path_out` receives the file written (free with
/// `stevedore_string_free`). A refusal is `STEVEDORE_ERROR_UNAUTHORIZED` and
/// writes nothing; the password never appears in an error.
///
/// # Safety
/// `client` is NULL or a live handle; string arguments are NULL or
/// NUL-terminated; `path_out` is NULL or valid for a write.
#[no_mangle]
pub unsafe extern "C" fn stevedore_login(
    client: *const stevedore_client,
    registry: *const c_char,
    options_json: *const c_char,
    path_out: *mut *mut c_char,
) -> stevedore_status {
    string_verb(path_out, "path_out", || {
        let registry = input_str(registry, "registry")?;
        let opts: LoginOptions = options(options_json)?;
        if opts.username.is_empty() || opts.password.expose().is_empty() {
            return Err(crate::Error::invalid(
                "options_json must give a non-empty \"username\" and \"password\"",
            ));
        }
        let credentials = Credentials::Basic {
            username: opts.username,
            password: opts.password,
        };
        let path = crate::login(&client_or_default(client)?, registry, &credentials)?;
        Ok(path.display().to_string())
    })
}

/// Removes the login for `registry` from `client`'s `auth_file`, or the
/// primary auth file. `options_json` must be NULL or `{}`. On success
/// `*path_out` receives the file written (free with `stevedore_string_free`);
/// `STEVEDORE_ERROR_NOT_FOUND` when it held no login for `registry`.
///
/// # Safety
/// As `stevedore_login`.
#[no_mangle]
pub unsafe extern "C" fn stevedore_logout(
    client: *const stevedore_client,
    registry: *const c_char,
    options_json: *const c_char,
    path_out: *mut *mut c_char,
) -> stevedore_status {
    string_verb(path_out, "path_out", || {
        let registry = input_str(registry, "registry")?;
        let _: NoOptions = options(options_json)?;
        let path = crate::logout(&client_or_default(client)?, registry)?;
        Ok(path.display().to_string())
    })
}
