//! The reference grammar's table of valid and invalid cases, the forms a
//! reference is shown in, and credentials kept out of errors.

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
        ("localhost:99999/app".into(), "out of range"),
        ("localhost:0/app".into(), "out of range"),
        ("[::1]:65536/app".into(), "out of range"),
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
