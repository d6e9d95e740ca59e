//! One file per verb group: the flags of each verb and how its result is shown.

pub mod build;
pub mod copy;
pub mod files;
pub mod gc;
pub mod inspect;
pub mod layer;
pub mod login;
pub mod refs;
pub mod sbom;
pub mod serve;
pub mod sign;
pub mod static_cmd;

use stevedore::registry::Client;
use stevedore::transport::parse_with;
use stevedore::{Error, ImageRef};

/// Parses an image name (containers-transports(5)) with the CLI's client,
/// the global `--creds` bound to the image's registry.
pub fn image(s: &str, client: &Client) -> Result<ImageRef, Error> {
    parse_with(s, &crate::registry_args::for_image(s, client)?)
}

/// Parses `KEY=VALUE`.
pub fn key_value(s: &str) -> Result<(String, String), String> {
    s.split_once('=')
        .map(|(k, v)| (k.to_owned(), v.to_owned()))
        .ok_or_else(|| format!("{s:?} is not KEY=VALUE"))
}

/// Parses a count or a number of seconds that must be at least 1.
pub fn at_least_one<T: std::str::FromStr + Default + PartialEq>(s: &str) -> Result<T, String> {
    match s.parse::<T>() {
        Ok(n) if n == T::default() => Err("must be at least 1".into()),
        Ok(n) => Ok(n),
        Err(_) => Err(format!("{s:?} is not a whole number")),
    }
}
