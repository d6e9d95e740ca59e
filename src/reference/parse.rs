//! Parsing a reference by the distribution/reference grammar (domain, path
//! components, tag, digest) and normalising it as `docker` does, with the
//! checks for each part.

use std::str::FromStr;

use super::redact::{has_userinfo, redacted};
use super::{
    Reference, DEFAULT_DOMAIN, LEGACY_DEFAULT_DOMAIN, NAME_TOTAL_LENGTH_MAX,
    OFFICIAL_REPOSITORY_NAMESPACE, TAG_LENGTH_MAX,
};
use crate::digest::Digest;
use crate::error::{Error, Result};

impl FromStr for Reference {
    type Err = Error;

    fn from_str(s: &str) -> Result<Reference> {
        let bad = |why: &str| {
            let shown = redacted(s);
            Error::invalid(format!("invalid image reference {shown:?}: {why}"))
        };
        if s.is_empty() {
            return Err(bad("it is empty"));
        }
        if has_userinfo(s) {
            return Err(bad(
                "credentials (user:password@) cannot be part of an image reference: \
                 use `stevedore login`, --creds, --src-creds or --dest-creds",
            ));
        }
        let (rest, digest) = match s.split_once('@') {
            Some((rest, d)) => {
                let digest = d
                    .parse::<Digest>()
                    .map_err(|e| bad(&format!("bad digest after '@' ({})", e.message())))?;
                (rest, Some(digest))
            }
            None => (s, None),
        };
        let last_slash = rest.rfind('/').map_or(0, |i| i + 1);
        let (name, tag) = match rest[last_slash..].rfind(':') {
            Some(i) => {
                let tag = &rest[last_slash + i + 1..];
                validate_tag(tag, s)?;
                (&rest[..last_slash + i], Some(tag.to_owned()))
            }
            None => (rest, None),
        };
        if name.is_empty() {
            return Err(bad("the repository name is empty"));
        }
        if is_hex_identifier(s) {
            return Err(bad(
                "a 64-character hexadecimal string is an image ID, not a repository name",
            ));
        }
        let (domain, path) = split_domain(name);
        if let Some(domain) = domain {
            validate_domain(domain).map_err(|why| bad(&why))?;
        }
        validate_path(path).map_err(|why| bad(&why))?;
        let domain = match domain {
            None | Some(LEGACY_DEFAULT_DOMAIN) => DEFAULT_DOMAIN,
            Some(d) => d,
        };
        let path = if domain == DEFAULT_DOMAIN && !path.contains('/') {
            format!("{OFFICIAL_REPOSITORY_NAMESPACE}/{path}")
        } else {
            path.to_owned()
        };
        let total = domain.len() + 1 + path.len();
        if total > NAME_TOTAL_LENGTH_MAX {
            return Err(bad(&format!(
                "the full name is {total} characters long; at most {NAME_TOTAL_LENGTH_MAX} are allowed"
            )));
        }
        Ok(Reference {
            domain: domain.to_owned(),
            path,
            tag,
            digest,
        })
    }
}

/// Splits a name into its domain (when the first component looks like one: it has
/// a `.` or `:`, is `localhost`, or has uppercase letters) and the path.
fn split_domain(name: &str) -> (Option<&str>, &str) {
    match name.split_once('/') {
        Some((first, rest))
            if first.contains(['.', ':'])
                || first == "localhost"
                || first.bytes().any(|b| b.is_ascii_uppercase()) =>
        {
            (Some(first), rest)
        }
        _ => (None, name),
    }
}

/// Checks a repository name (`team/app`) against the distribution grammar:
/// lowercase components of letters and digits joined by `.`, `_`, `__` or
/// dashes, separated by `/`, at most 255 characters.
pub fn validate_repository(name: &str) -> Result<()> {
    if name.is_empty() || name.len() > NAME_TOTAL_LENGTH_MAX {
        return Err(Error::invalid(format!(
            "repository name {:?} must have 1 to {NAME_TOTAL_LENGTH_MAX} characters",
            name.chars().take(300).collect::<String>()
        )));
    }
    validate_path(name).map_err(Error::invalid)
}

/// Checks a registry address, `host[:port]` (a DNS name, an IPv4 address, or
/// an IPv6 address in brackets; a port from 1 to 65535), as in a reference.
pub fn validate_registry(domain: &str) -> Result<()> {
    validate_domain(domain).map_err(|e| Error::invalid(format!("invalid registry address: {e}")))
}

/// Checks a tag against `[A-Za-z0-9_][A-Za-z0-9._-]{0,127}`.
pub fn validate_tag_name(tag: &str) -> Result<()> {
    validate_tag(tag, tag)
}

fn is_hex_identifier(name: &str) -> bool {
    name.len() == 64
        && name
            .bytes()
            .all(|b| b.is_ascii_hexdigit() && !b.is_ascii_uppercase())
}

pub(super) fn validate_tag(tag: &str, whole: &str) -> Result<()> {
    let bad = |why: String| {
        let shown = redacted(whole);
        Error::invalid(format!("invalid image reference {shown:?}: {why}"))
    };
    if tag.is_empty() {
        return Err(bad("the tag after ':' is empty".into()));
    }
    if tag.len() > TAG_LENGTH_MAX {
        return Err(bad(format!(
            "the tag is {} characters long; at most {TAG_LENGTH_MAX} are allowed",
            tag.len()
        )));
    }
    let word = |b: u8| b.is_ascii_alphanumeric() || b == b'_';
    if !word(tag.as_bytes()[0]) {
        return Err(bad(format!(
            "the tag {tag:?} must start with a letter, digit or '_'"
        )));
    }
    if let Some(c) = tag
        .chars()
        .find(|&c| !(c.is_ascii() && (word(c as u8) || c == '.' || c == '-')))
    {
        return Err(bad(format!(
            "the tag {tag:?} contains {c:?}; tags may contain only letters, digits, '_', '.' and '-'"
        )));
    }
    Ok(())
}

fn validate_domain(domain: &str) -> std::result::Result<(), String> {
    let (host, port) = if let Some(rest) = domain.strip_prefix('[') {
        let (ipv6, after) = rest
            .split_once(']')
            .ok_or_else(|| format!("the registry address {domain:?} has '[' without ']'"))?;
        if ipv6.is_empty() || !ipv6.bytes().all(|b| b.is_ascii_hexdigit() || b == b':') {
            return Err(format!(
                "the registry address {domain:?} is not a valid IPv6 address in brackets"
            ));
        }
        match after {
            "" => (None, None),
            p => (
                None,
                Some(p.strip_prefix(':').ok_or_else(|| {
                    format!("unexpected {p:?} after the IPv6 address in {domain:?}")
                })?),
            ),
        }
    } else {
        match domain.split_once(':') {
            Some((h, p)) => (Some(h), Some(p)),
            None => (Some(domain), None),
        }
    };
    if let Some(port) = port {
        if port.is_empty() || !port.bytes().all(|b| b.is_ascii_digit()) {
            return Err(format!(
                "the port {port:?} of registry {domain:?} must be a number"
            ));
        }
        if !port.parse::<u16>().is_ok_and(|p| p > 0) {
            return Err(format!(
                "the port {port} of registry {domain:?} is out of range (1 to 65535)"
            ));
        }
    }
    if let Some(host) = host {
        for component in host.split('.') {
            let bytes = component.as_bytes();
            let valid = !bytes.is_empty()
                && bytes
                    .iter()
                    .all(|&b| b.is_ascii_alphanumeric() || b == b'-')
                && bytes[0] != b'-'
                && bytes[bytes.len() - 1] != b'-';
            if !valid {
                return Err(format!(
                    "the registry host {host:?} is invalid: each dot-separated part must be \
                     letters, digits and inner '-'"
                ));
            }
        }
    }
    Ok(())
}

fn validate_path(path: &str) -> std::result::Result<(), String> {
    if path.bytes().any(|b| b.is_ascii_uppercase()) {
        return Err(format!("repository name {path:?} must be lowercase"));
    }
    for component in path.split('/') {
        if component.is_empty() {
            return Err(format!(
                "repository name {path:?} has an empty path component (leading, trailing or double '/')"
            ));
        }
        validate_path_component(component)
            .map_err(|why| format!("repository path component {component:?} is invalid: {why}"))?;
    }
    Ok(())
}

/// `[a-z0-9]+` runs joined by `.`, `_`, `__` or one or more `-`.
fn validate_path_component(component: &str) -> std::result::Result<(), &'static str> {
    let bytes = component.as_bytes();
    let alnum = |b: u8| b.is_ascii_lowercase() || b.is_ascii_digit();
    if !alnum(bytes[0]) || !alnum(bytes[bytes.len() - 1]) {
        return Err("it must start and end with a lowercase letter or digit");
    }
    let mut i = 0;
    while i < bytes.len() {
        if alnum(bytes[i]) {
            i += 1;
            continue;
        }
        let start = i;
        while i < bytes.len() && !alnum(bytes[i]) {
            i += 1;
        }
        match &component[start..i] {
            "." | "_" | "__" => {}
            sep if sep.bytes().all(|b| b == b'-') => {}
            _ => {
                return Err(
                    "only lowercase letters, digits and the separators '.', '_', '__' or '-' are allowed",
                )
            }
        }
    }
    Ok(())
}
