//! One file per verb group: the flags of each verb and how its result is shown.

pub mod build;
pub mod copy;
pub mod inspect;
pub mod serve;
pub mod sign;

use stevedore::registry::Client;
use stevedore::transport::parse_with;
use stevedore::{Error, ImageRef};

/// Parses an image name (containers-transports(5)) with the CLI's client.
pub fn image(s: &str, client: &Client) -> Result<ImageRef, Error> {
    parse_with(s, client)
}

/// Parses `KEY=VALUE`.
pub fn key_value(s: &str) -> Result<(String, String), String> {
    s.split_once('=')
        .map(|(k, v)| (k.to_owned(), v.to_owned()))
        .ok_or_else(|| format!("{s:?} is not KEY=VALUE"))
}
