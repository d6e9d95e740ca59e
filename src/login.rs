//! `login` and `logout`: credentials for one registry, checked with it and
//! kept in the auth file skopeo and podman write (containers-auth.json(5)),
//! where every later command (and skopeo, podman, buildah) finds them.

use std::path::PathBuf;

use crate::auth::{remove_login, write_login, Credentials};
use crate::error::Result;
use crate::registry::Client;

/// Checks `credentials` (a user name and password) with `registry`
/// (`host[:port]`, `docker.io`) through `client` (its TLS options), then
/// records them in the client's `auth_file`, or else the primary auth file
/// (`$REGISTRY_AUTH_FILE`, `$XDG_RUNTIME_DIR/containers/auth.json`,
/// `/run/containers/$UID/auth.json`). Returns the file written. Errors:
/// `Unauthorized` when the registry refuses them (nothing is written),
/// `Network`, `InvalidInput` for a registry that is not `host[:port]`, `Io`.
pub fn login(client: &Client, registry: &str, credentials: &Credentials) -> Result<PathBuf> {
    let registry = crate::registry::registry_key(registry)?;
    client.check_credentials(&registry, credentials)?;
    write_login(
        client.options().auth_file.as_deref(),
        &registry,
        credentials,
    )
}

/// Removes the login for `registry` from the client's `auth_file`, or else
/// the primary auth file. Returns the file written. Errors: `NotFound` when
/// it holds no login for `registry`, `Io`.
pub fn logout(client: &Client, registry: &str) -> Result<PathBuf> {
    let registry = crate::registry::registry_key(registry)?;
    remove_login(client.options().auth_file.as_deref(), &registry)
}
