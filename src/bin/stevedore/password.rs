//! Key passwords: from `COSIGN_PASSWORD` when it is set (even to nothing),
//! else asked for on the terminal without echo, as cosign does.

use std::io::IsTerminal;

use p256::ecdsa::SigningKey;
use stevedore::auth::Secret;
use stevedore::sign::keys::{private_key_from_pem, PASSWORD_VARIABLE};
use stevedore::{Error, ErrorKind};

/// What `COSIGN_PASSWORD` holds, if it is set.
fn from_env() -> Option<Secret> {
    std::env::var(PASSWORD_VARIABLE).ok().map(Secret::new)
}

fn ask(prompt: &str) -> Result<String, Error> {
    rpassword::prompt_password(prompt).map_err(|e| Error::io("reading the password", e))
}

fn on_terminal() -> bool {
    std::io::stdin().is_terminal()
}

/// The private key in `pem`; an encrypted one is opened with
/// `COSIGN_PASSWORD`, else a password asked on the terminal, else (no
/// terminal) the empty password, refused with the variable named.
pub fn private_key(pem: &[u8]) -> Result<SigningKey, Error> {
    let open = |password: &Secret| private_key_from_pem(pem, Some(password));
    if !stevedore::sign::keys::is_encrypted(pem) {
        return private_key_from_pem(pem, None);
    }
    match from_env() {
        Some(password) => open(&password),
        None if on_terminal() => open(&Secret::new(ask("Enter password for private key: ")?)),
        None => open(&Secret::new(String::new())).map_err(|e| match e.kind() {
            ErrorKind::Unauthorized => Error::new(
                ErrorKind::Unauthorized,
                format!(
                    "the private key is encrypted and there is no terminal to ask for its password on: set {PASSWORD_VARIABLE}"
                ),
            ),
            _ => e,
        }),
    }
}

/// The password for a new key pair: `COSIGN_PASSWORD` when set, as cosign
/// takes it (an empty value is an explicit empty password: no prompt, and
/// `allow_empty` is not needed), else asked twice on the terminal, where an
/// empty one is refused unless `allow_empty`; with neither, the empty password
/// only with `allow_empty`.
pub fn for_new_key(allow_empty: bool) -> Result<Secret, Error> {
    if let Some(password) = from_env() {
        return Ok(password);
    }
    let refuse_empty = || {
        Error::invalid(format!(
            "an empty password leaves the private key unprotected: type one, set {PASSWORD_VARIABLE}, or pass --allow-empty-password"
        ))
    };
    if !on_terminal() {
        return match allow_empty {
            true => Ok(Secret::new(String::new())),
            false => Err(Error::invalid(format!(
                "no password for the private key and no terminal to ask on: set {PASSWORD_VARIABLE} (empty for none), or pass --allow-empty-password"
            ))),
        };
    }
    let first = ask("Enter password for private key: ")?;
    let again = ask("Enter password for private key again: ")?;
    if first != again {
        return Err(Error::invalid(
            "the two passwords differ; nothing was written",
        ));
    }
    if first.is_empty() && !allow_empty {
        return Err(refuse_empty());
    }
    Ok(Secret::new(first))
}
