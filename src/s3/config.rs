//! Where a bucket is and the credentials to reach it: an `s3://BUCKET/PREFIX`
//! URL, with the endpoint, region, addressing style and credentials taken
//! from the fields set here, else from the standard AWS environment
//! variables, else from the shared `~/.aws/credentials` and `~/.aws/config`
//! files of the profile in use.

use std::collections::BTreeMap;
use std::path::PathBuf;

use serde::Deserialize;

use crate::error::{Error, Result};

/// How to reach a bucket. Every field but `url` is optional; unset fields
/// come from `AWS_ENDPOINT_URL`, `AWS_REGION` (or `AWS_DEFAULT_REGION`),
/// `AWS_ACCESS_KEY_ID`, `AWS_SECRET_ACCESS_KEY`, `AWS_SESSION_TOKEN`, and
/// then the profile (`AWS_PROFILE`, else `default`) in the files named by
/// `AWS_SHARED_CREDENTIALS_FILE` and `AWS_CONFIG_FILE` (defaulting to
/// `~/.aws/credentials` and `~/.aws/config`).
#[derive(Clone, Default, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct S3Config {
    /// `s3://BUCKET` or `s3://BUCKET/PREFIX`: objects go under `PREFIX/`.
    pub url: String,
    /// The service's base URL (`http://127.0.0.1:9000`). Defaults to AWS's
    /// regional endpoint, `https://s3.REGION.amazonaws.com`.
    pub endpoint: Option<String>,
    /// The signing region. Defaults to `us-east-1`.
    pub region: Option<String>,
    /// Address the bucket in the path (`ENDPOINT/BUCKET/KEY`) rather than
    /// the host name. Defaults to true with a custom endpoint, false on AWS.
    pub path_style: Option<bool>,
    /// The access key id.
    pub access_key_id: Option<String>,
    /// The secret access key.
    pub secret_access_key: Option<String>,
    /// The session token of temporary credentials.
    pub session_token: Option<String>,
    /// The profile to read from the shared files.
    pub profile: Option<String>,
}

impl std::fmt::Debug for S3Config {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("S3Config")
            .field("url", &self.url)
            .field("endpoint", &self.endpoint)
            .field("region", &self.region)
            .field("path_style", &self.path_style)
            .field("profile", &self.profile)
            .finish_non_exhaustive()
    }
}

/// Everything resolved.
pub(super) struct Resolved {
    pub bucket: String,
    pub prefix: String,
    pub endpoint: url::Url,
    pub region: String,
    pub path_style: bool,
    pub credentials: Option<rusty_s3::Credentials>,
}

/// The sections of an INI file (`[NAME]` then `key = value` lines).
fn ini(text: &str) -> BTreeMap<String, BTreeMap<String, String>> {
    let mut sections: BTreeMap<String, BTreeMap<String, String>> = BTreeMap::new();
    let mut current = String::new();
    for line in text.lines().map(str::trim) {
        if line.is_empty() || line.starts_with('#') || line.starts_with(';') {
            continue;
        }
        if let Some(name) = line.strip_prefix('[').and_then(|l| l.strip_suffix(']')) {
            current = name.trim().to_owned();
        } else if let Some((key, value)) = line.split_once('=') {
            sections
                .entry(current.clone())
                .or_default()
                .insert(key.trim().to_owned(), value.trim().to_owned());
        }
    }
    sections
}

fn env(name: &str) -> Option<String> {
    std::env::var(name).ok().filter(|v| !v.is_empty())
}

/// A shared AWS file: `$VAR`, else `~/.aws/NAME`.
fn shared_file(var: &str, name: &str) -> Option<PathBuf> {
    env(var)
        .map(PathBuf::from)
        .or_else(|| env("HOME").map(|h| PathBuf::from(h).join(".aws").join(name)))
}

fn profile_section(var: &str, name: &str, section: &str) -> BTreeMap<String, String> {
    shared_file(var, name)
        .and_then(|path| std::fs::read_to_string(path).ok())
        .map(|text| ini(&text).remove(section).unwrap_or_default())
        .unwrap_or_default()
}

impl S3Config {
    /// A configuration of `url` with everything else from the environment.
    pub fn new(url: impl Into<String>) -> S3Config {
        S3Config {
            url: url.into(),
            ..S3Config::default()
        }
    }

    pub(super) fn resolve(&self) -> Result<Resolved> {
        let parsed = url::Url::parse(&self.url)
            .ok()
            .filter(|u| u.scheme() == "s3");
        let Some(parsed) = parsed else {
            return Err(Error::invalid(format!(
                "{:?} is not an s3://BUCKET/PREFIX URL",
                self.url
            )));
        };
        let bucket = parsed.host_str().unwrap_or_default().to_owned();
        if bucket.is_empty() {
            return Err(Error::invalid(format!("{:?} names no bucket", self.url)));
        }
        let trimmed = parsed.path().trim_matches('/');
        let prefix = if trimmed.is_empty() {
            String::new()
        } else {
            format!("{trimmed}/")
        };
        let profile = self
            .profile
            .clone()
            .or_else(|| env("AWS_PROFILE"))
            .unwrap_or_else(|| "default".to_owned());
        let creds_file = profile_section("AWS_SHARED_CREDENTIALS_FILE", "credentials", &profile);
        let config_section = if profile == "default" {
            "default".to_owned()
        } else {
            format!("profile {profile}")
        };
        let config_file = profile_section("AWS_CONFIG_FILE", "config", &config_section);
        let from_files = |key: &str| {
            creds_file
                .get(key)
                .or_else(|| config_file.get(key))
                .cloned()
        };
        let region = self
            .region
            .clone()
            .or_else(|| env("AWS_REGION"))
            .or_else(|| env("AWS_DEFAULT_REGION"))
            .or_else(|| from_files("region"))
            .unwrap_or_else(|| "us-east-1".to_owned());
        let custom = self
            .endpoint
            .clone()
            .or_else(|| env("AWS_ENDPOINT_URL_S3"))
            .or_else(|| env("AWS_ENDPOINT_URL"))
            .or_else(|| from_files("endpoint_url"));
        let path_style = self.path_style.unwrap_or(custom.is_some());
        let endpoint_text = custom.unwrap_or_else(|| format!("https://s3.{region}.amazonaws.com"));
        let endpoint = url::Url::parse(&endpoint_text).map_err(|e| {
            Error::invalid(format!(
                "the S3 endpoint {endpoint_text:?} is not a URL: {e}"
            ))
        })?;
        let key = self
            .access_key_id
            .clone()
            .or_else(|| env("AWS_ACCESS_KEY_ID"))
            .or_else(|| from_files("aws_access_key_id"));
        let secret = self
            .secret_access_key
            .clone()
            .or_else(|| env("AWS_SECRET_ACCESS_KEY"))
            .or_else(|| from_files("aws_secret_access_key"));
        let token = self
            .session_token
            .clone()
            .or_else(|| env("AWS_SESSION_TOKEN"))
            .or_else(|| from_files("aws_session_token"));
        let credentials = match (key, secret) {
            (Some(key), Some(secret)) => Some(match token {
                Some(token) => rusty_s3::Credentials::new_with_token(key, secret, token),
                None => rusty_s3::Credentials::new(key, secret),
            }),
            (None, None) => None,
            _ => {
                return Err(Error::invalid(
                    "S3 credentials need both an access key id and a secret access key",
                ))
            }
        };
        Ok(Resolved {
            bucket,
            prefix,
            endpoint,
            region,
            path_style,
            credentials,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_and_fields() {
        let config = S3Config {
            url: "s3://bucket/some/prefix/".into(),
            endpoint: Some("http://127.0.0.1:9".into()),
            region: Some("eu-west-1".into()),
            access_key_id: Some("AKID".into()),
            secret_access_key: Some("SECRET".into()),
            ..S3Config::default()
        };
        let resolved = config.resolve().unwrap();
        assert_eq!(resolved.bucket, "bucket");
        assert_eq!(resolved.prefix, "some/prefix/");
        assert_eq!(resolved.region, "eu-west-1");
        assert!(resolved.path_style);
        assert!(resolved.credentials.is_some());
        assert!(!format!("{config:?}").contains("SECRET"));
        assert!(S3Config::new("http://bucket").resolve().is_err());
        assert!(S3Config::new("s3:///x").resolve().is_err());
    }

    #[test]
    fn ini_sections() {
        let sections = ini("[default]\nregion = x\n# c\n[profile p]\nendpoint_url=http://h\n");
        assert_eq!(sections["default"]["region"], "x");
        assert_eq!(sections["profile p"]["endpoint_url"], "http://h");
    }
}
