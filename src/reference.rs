//! Image references (`registry.example:5000/team/app:1.2@sha256:…`), parsed by the
//! distribution/reference grammar and normalised the way `docker` does:
//! `busybox` is `docker.io/library/busybox`.

use std::fmt;
use std::str::FromStr;

use crate::digest::Digest;
use crate::error::{Error, Result};

/// The registry a reference without a domain points to.
pub const DEFAULT_DOMAIN: &str = "docker.io";
/// An alias of [`DEFAULT_DOMAIN`] normalised to it.
pub const LEGACY_DEFAULT_DOMAIN: &str = "index.docker.io";
/// The namespace of Docker Hub's official images (`busybox` → `library/busybox`).
pub const OFFICIAL_REPOSITORY_NAMESPACE: &str = "library";
/// The tag used when a reference names neither tag nor digest.
pub const DEFAULT_TAG: &str = "latest";
/// The longest a name (domain and path) may be.
pub const NAME_TOTAL_LENGTH_MAX: usize = 255;
/// The longest a tag may be.
pub const TAG_LENGTH_MAX: usize = 128;

/// A normalised image reference: a domain, a repository path, and optionally a
/// tag and a digest (both may be present).
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct Reference {
    domain: String,
    path: String,
    tag: Option<String>,
    digest: Option<Digest>,
}

impl Reference {
    /// Parses and normalises `s`. Equivalent to `s.parse()`.
    pub fn parse(s: &str) -> Result<Reference> {
        s.parse()
    }

    /// The registry host, with its port if any (`docker.io`, `localhost:5000`).
    pub fn domain(&self) -> &str {
        &self.domain
    }

    /// The repository path within the registry (`library/busybox`).
    pub fn repository(&self) -> &str {
        &self.path
    }

    /// The tag, if the reference has one.
    pub fn tag(&self) -> Option<&str> {
        self.tag.as_deref()
    }

    /// The digest, if the reference has one.
    pub fn digest(&self) -> Option<&Digest> {
        self.digest.as_ref()
    }

    /// The full name without tag or digest (`docker.io/library/busybox`).
    pub fn name(&self) -> String {
        format!("{}/{}", self.domain, self.path)
    }

    /// The short form people type: `busybox:latest` for
    /// `docker.io/library/busybox:latest`, `quay.io/x/y` unchanged.
    pub fn familiar(&self) -> String {
        let mut out = if self.domain == DEFAULT_DOMAIN {
            self.path
                .strip_prefix("library/")
                .filter(|rest| !rest.contains('/'))
                .unwrap_or(&self.path)
                .to_owned()
        } else {
            self.name()
        };
        self.push_suffix(&mut out);
        out
    }

    /// This reference with its tag replaced by `tag` (validated).
    pub fn with_tag(&self, tag: &str) -> Result<Reference> {
        validate_tag(tag, tag)?;
        Ok(Reference {
            tag: Some(tag.to_owned()),
            ..self.clone()
        })
    }

    /// This reference with its digest replaced by `digest`.
    pub fn with_digest(&self, digest: Digest) -> Reference {
        Reference {
            digest: Some(digest),
            ..self.clone()
        }
    }

    fn push_suffix(&self, out: &mut String) {
        if let Some(tag) = &self.tag {
            out.push(':');
            out.push_str(tag);
        }
        if let Some(digest) = &self.digest {
            out.push('@');
            out.push_str(&digest.to_string());
        }
    }
}

impl fmt::Display for Reference {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut out = self.name();
        self.push_suffix(&mut out);
        f.write_str(&out)
    }
}

impl fmt::Debug for Reference {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Reference({self})")
    }
}

/// `s` (an image reference or a transport string) fit to echo in a
/// message: credentials before a registry address (`user:secret@host/…`,
/// RFC 3986 §3.2.1 userinfo) become `user:***@`, a user alone `***@`, and the
/// whole is cut to 300 characters. The `@` of a digest (`app@sha256:…`) is
/// left alone.
pub fn redacted(s: &str) -> String {
    let start = s.find("//").map_or(0, |i| i + 2);
    let end = s[start..].find('/').map_or(s.len(), |i| start + i);
    let shown = match s[start..end].rfind('@').map(|i| start + i) {
        Some(at) if !digest_follows(&s[at + 1..]) => {
            let userinfo = &s[start..at];
            let user = match userinfo.split_once(':') {
                Some((user, _)) => format!("{user}:"),
                None => String::new(),
            };
            format!("{}{user}***{}", &s[..start], &s[at..])
        }
        _ => s.to_owned(),
    };
    shown.chars().take(300).collect()
}

/// Whether `s` has credentials (`user:secret@`) before its first `/`,
/// where only a registry address may be.
fn has_userinfo(s: &str) -> bool {
    s.split_once('/')
        .and_then(|(first, _)| first.rfind('@'))
        .is_some_and(|at| !digest_follows(&s[at + 1..]))
}

/// Whether `tail`, what follows an `@`, starts as a digest (`sha256:…`)
/// rather than a registry address (`host.example`, `localhost:5000`): an
/// algorithm name without dots, then a `:` not followed by a port.
fn digest_follows(tail: &str) -> bool {
    let address = tail.split('/').next().unwrap_or_default();
    match address.split_once(':') {
        Some((algorithm, rest)) => {
            !algorithm.contains('.') && !rest.bytes().all(|b| b.is_ascii_digit())
        }
        None => false,
    }
}

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

fn validate_tag(tag: &str, whole: &str) -> Result<()> {
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

#[cfg(test)]
mod tests {
    use super::*;

    const D: &str = "sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";

    /// (input, full normalised form) for inputs that must parse.
    fn valid_cases() -> Vec<(String, String)> {
        let long_tag = "t".repeat(128);
        let long_name = format!("a/{}", "b".repeat(243));
        let s = |a: &str, b: &str| (a.to_owned(), b.to_owned());
        vec![
            s("busybox", "docker.io/library/busybox"),
            s("busybox:latest", "docker.io/library/busybox:latest"),
            s("busybox:1.36", "docker.io/library/busybox:1.36"),
            s("library/busybox", "docker.io/library/busybox"),
            s("docker.io/busybox", "docker.io/library/busybox"),
            s("docker.io/library/busybox", "docker.io/library/busybox"),
            s("index.docker.io/busybox", "docker.io/library/busybox"),
            s("index.docker.io/user/app:v1", "docker.io/user/app:v1"),
            s("user/app", "docker.io/user/app"),
            s("user/app/sub", "docker.io/user/app/sub"),
            s("quay.io/org/app", "quay.io/org/app"),
            s("quay.io/app", "quay.io/app"),
            s("localhost/app", "localhost/app"),
            s("localhost:5000/app", "localhost:5000/app"),
            s("localhost:5000/app:dev", "localhost:5000/app:dev"),
            s("127.0.0.1:5000/app", "127.0.0.1:5000/app"),
            s("[::1]:5000/app:1", "[::1]:5000/app:1"),
            s("[fe80::1]/app", "[fe80::1]/app"),
            s(
                "registry.example.com:443/a/b/c:t",
                "registry.example.com:443/a/b/c:t",
            ),
            s("my-registry.local/app", "my-registry.local/app"),
            s("Registry.Example.com/app", "Registry.Example.com/app"),
            s("REGISTRY/app", "REGISTRY/app"),
            s("a.b-c.d:1/x", "a.b-c.d:1/x"),
            s("app-name", "docker.io/library/app-name"),
            s("app--name", "docker.io/library/app--name"),
            s("app_name", "docker.io/library/app_name"),
            s("app__name", "docker.io/library/app__name"),
            s("app.name", "docker.io/library/app.name"),
            s("a1/b2.c3_d4-e5", "docker.io/a1/b2.c3_d4-e5"),
            s(
                "x:Tag_With.Mixed-Case",
                "docker.io/library/x:Tag_With.Mixed-Case",
            ),
            s(
                "x:_leading_underscore",
                "docker.io/library/x:_leading_underscore",
            ),
            s("x:9", "docker.io/library/x:9"),
            (
                format!("busybox@{D}"),
                format!("docker.io/library/busybox@{D}"),
            ),
            (
                format!("busybox:1@{D}"),
                format!("docker.io/library/busybox:1@{D}"),
            ),
            (
                format!("localhost:5000/a@{D}"),
                format!("localhost:5000/a@{D}"),
            ),
            (
                format!("localhost:5000/a:t@{D}"),
                format!("localhost:5000/a:t@{D}"),
            ),
            (
                format!("x:{long_tag}"),
                format!("docker.io/library/x:{long_tag}"),
            ),
            (long_name.clone(), format!("docker.io/{long_name}")),
            s("0/1", "docker.io/0/1"),
            s("deadbeef", "docker.io/library/deadbeef"),
        ]
    }

    /// Inputs that must be refused, with a word the message must contain.
    fn invalid_cases() -> Vec<(String, &'static str)> {
        let long_tag = "t".repeat(129);
        let long_name = format!("a/{}", "b".repeat(244));
        let hex64 = "a".repeat(64);
        let cases: Vec<(String, &str)> = vec![
            ("".into(), "empty"),
            (":tag".into(), "empty"),
            ("@".into(), "digest"),
            ("busybox:".into(), "empty"),
            ("busybox@".into(), "digest"),
            ("busybox@sha256:abc".into(), "digest"),
            (
                "busybox@md5:d41d8cd98f00b204e9800998ecf8427e".into(),
                "algorithm",
            ),
            ("busybox@sha256:../../x".into(), "digest"),
            ("Busybox".into(), "lowercase"),
            ("user/App".into(), "lowercase"),
            ("docker.io/User/app".into(), "lowercase"),
            ("/app".into(), "empty path component"),
            ("app/".into(), "empty path component"),
            ("a//b".into(), "empty path component"),
            ("localhost:5000/".into(), "empty path component"),
            ("-app".into(), "start and end"),
            ("app-".into(), "start and end"),
            (".app".into(), "start and end"),
            ("a...b".into(), "separators"),
            ("a_-b".into(), "separators"),
            ("a___b".into(), "separators"),
            ("a b".into(), "separators"),
            ("a$b".into(), "separators"),
            ("x:-tag".into(), "must start"),
            ("x:.tag".into(), "must start"),
            ("x:ta$g".into(), "contains"),
            ("x:täg".into(), "contains"),
            (format!("x:{long_tag}"), "at most 128"),
            (long_name, "at most 255"),
            (hex64, "image ID"),
            ("localhost:port/app".into(), "port"),
            ("localhost:/app".into(), "port"),
            ("-bad.host/app".into(), "registry host"),
            ("bad-.host/app".into(), "registry host"),
            ("bad..host/app".into(), "registry host"),
            ("[::1/app".into(), "without ']'"),
            ("[zz::1]/app".into(), "IPv6"),
            ("[::1]x/app".into(), "after the IPv6"),
        ];
        cases
    }

    #[test]
    fn table_has_enough_cases() {
        assert!(valid_cases().len() + invalid_cases().len() >= 60);
    }

    #[test]
    fn valid_references_normalise_and_round_trip() {
        for (input, full) in valid_cases() {
            let r: Reference = input
                .parse()
                .unwrap_or_else(|e| panic!("{input:?} should parse: {e}"));
            assert_eq!(r.to_string(), full, "normalising {input:?}");
            let again: Reference = full.parse().unwrap();
            assert_eq!(again, r, "round trip of {full:?}");
            let familiar: Reference = r.familiar().parse().unwrap();
            assert_eq!(familiar, r, "familiar form {:?}", r.familiar());
        }
    }

    #[test]
    fn invalid_references_are_refused_with_a_clear_message() {
        for (input, word) in invalid_cases() {
            match input.parse::<Reference>() {
                Ok(r) => panic!("{input:?} should be refused, parsed as {r}"),
                Err(e) => {
                    assert_eq!(e.kind(), crate::error::ErrorKind::InvalidInput);
                    assert!(
                        e.message().contains(word),
                        "{input:?}: message {:?} should mention {word:?}",
                        e.message()
                    );
                }
            }
        }
    }

    #[test]
    fn parts_and_familiar_forms() {
        let r: Reference = format!("busybox:1@{D}").parse().unwrap();
        assert_eq!(r.domain(), "docker.io");
        assert_eq!(r.repository(), "library/busybox");
        assert_eq!(r.tag(), Some("1"));
        assert_eq!(r.digest().unwrap().to_string(), D);
        assert_eq!(r.familiar(), format!("busybox:1@{D}"));
        let r: Reference = "user/app:v2".parse().unwrap();
        assert_eq!(r.familiar(), "user/app:v2");
        let r: Reference = "localhost:5000/library/app".parse().unwrap();
        assert_eq!(r.familiar(), "localhost:5000/library/app");
        let r: Reference = "docker.io/library/a/b".parse().unwrap();
        assert_eq!(r.familiar(), "library/a/b");
        assert_eq!(
            r.with_tag("x").unwrap().to_string(),
            "docker.io/library/a/b:x"
        );
        assert!(r.with_tag("-x").is_err());
    }

    #[test]
    fn credentials_never_appear_in_an_error() {
        for input in [
            "user:S3CRET@127.0.0.1:5000/x:1",
            "user:p@S3CRET@registry.example/x",
            "S3CRET@registry.example/x",
        ] {
            let err = input.parse::<Reference>().unwrap_err();
            assert!(!err.message().contains("S3CRET"), "{err}");
            assert!(err.message().contains("credentials"), "{err}");
        }
        assert_eq!(
            redacted("docker://user:S3CRET@host:5000/x:1"),
            "docker://user:***@host:5000/x:1"
        );
        let digest = format!("app@sha256:{}", "a".repeat(64));
        assert_eq!(redacted(&digest), digest);
    }
}
