//! The table of hostile behaviours: for each, the requests a handler
//! answers instead of the well-behaved registry, the action taken, the
//! error kind expected and the time allowed.

use std::time::Duration;

use super::common::host_platform;
use super::common::raw::{head, reply, Seen, Step};
use super::honest::{Ctx, BASIC};
use stevedore::{Digest, ErrorKind};

pub enum Action {
    /// `get_manifest` of this reference.
    Manifest(&'static str),
    /// A copy of `app:<tag>` into an `oci:` layout.
    Copy(&'static str),
    /// Every tag.
    Tags,
    /// The file listing of `app:<tag>`, layers limited to 8 MiB.
    Files(&'static str),
}

pub type Override = fn(&Ctx, &Seen) -> Option<Vec<Step>>;

pub struct Case {
    pub name: &'static str,
    pub handler: Override,
    pub action: Action,
    /// The error kind expected, `None` for success.
    pub expect: Option<ErrorKind>,
    /// The most seconds the action may take.
    pub secs: u64,
}

pub fn is_layer(ctx: &Ctx, seen: &Seen) -> bool {
    seen.method == "GET" && seen.url.ends_with(&ctx.img.layer.0)
}

pub fn authed(seen: &Seen) -> bool {
    seen.header("authorization") == Some(BASIC)
}

pub fn cases() -> Vec<Case> {
    vec![
        Case {
            name: "manifest with the wrong digest",
            handler: |ctx, seen| {
                (authed(seen) && seen.url.contains("/manifests/sha256:")).then(|| {
                    reply(
                        200,
                        &[("Content-Type", stevedore::media_types::OCI_MANIFEST)],
                        &ctx.img.config.1,
                    )
                })
            },
            action: Action::Manifest("DIGEST"),
            expect: Some(ErrorKind::DigestMismatch),
            secs: 5,
        },
        Case {
            name: "manifest whose Docker-Content-Digest lies",
            handler: |ctx, seen| {
                (authed(seen) && seen.url.ends_with("/manifests/latest")).then(|| {
                    let lie = Digest::sha256(b"lie").to_string();
                    let headers = [
                        ("Content-Type", stevedore::media_types::OCI_MANIFEST),
                        ("Docker-Content-Digest", lie.as_str()),
                    ];
                    reply(200, &headers, &ctx.img.manifest)
                })
            },
            action: Action::Manifest("latest"),
            expect: Some(ErrorKind::DigestMismatch),
            secs: 5,
        },
        Case {
            name: "blob with the wrong digest",
            handler: |ctx, seen| {
                is_layer(ctx, seen).then(|| {
                    let mut bytes = ctx.img.layer.1.clone();
                    bytes[0] ^= 0xff;
                    reply(200, &[], &bytes)
                })
            },
            action: Action::Copy("latest"),
            expect: Some(ErrorKind::DigestMismatch),
            secs: 10,
        },
        Case {
            name: "Content-Length larger than the manifest",
            handler: |ctx, seen| {
                (authed(seen) && seen.url.ends_with("/manifests/latest")).then(|| {
                    let len = (ctx.img.manifest.len() + 100).to_string();
                    reply(
                        200,
                        &[
                            ("Content-Type", stevedore::media_types::OCI_MANIFEST),
                            ("Content-Length", &len),
                        ],
                        &ctx.img.manifest,
                    )
                })
            },
            action: Action::Manifest("latest"),
            expect: Some(ErrorKind::Network),
            secs: 5,
        },
        Case {
            name: "Content-Length larger than the blob",
            handler: |ctx, seen| {
                is_layer(ctx, seen).then(|| {
                    let len = (ctx.img.layer.1.len() + 100).to_string();
                    reply(
                        200,
                        &[("Content-Length", &len)],
                        &ctx.img.layer.1[..ctx.img.layer.1.len() - 1],
                    )
                })
            },
            action: Action::Copy("latest"),
            expect: Some(ErrorKind::Network),
            secs: 10,
        },
        Case {
            name: "Content-Length smaller than the blob",
            handler: |ctx, seen| {
                is_layer(ctx, seen).then(|| {
                    let len = (ctx.img.layer.1.len() - 10).to_string();
                    reply(200, &[("Content-Length", &len)], &ctx.img.layer.1)
                })
            },
            action: Action::Copy("latest"),
            expect: Some(ErrorKind::DigestMismatch),
            secs: 10,
        },
        Case {
            name: "endless manifest",
            handler: |_, seen| {
                (authed(seen) && seen.url.ends_with("/manifests/latest")).then(|| {
                    vec![
                        Step::Bytes(head(
                            200,
                            &[("Content-Type", stevedore::media_types::OCI_MANIFEST)],
                        )),
                        Step::Repeat(vec![b' '; 64 * 1024], usize::MAX),
                    ]
                })
            },
            action: Action::Manifest("latest"),
            expect: Some(ErrorKind::InvalidInput),
            secs: 10,
        },
        Case {
            name: "endless blob",
            handler: |ctx, seen| {
                is_layer(ctx, seen).then(|| {
                    vec![
                        Step::Bytes(head(200, &[])),
                        Step::Repeat(vec![b'x'; 64 * 1024], usize::MAX),
                    ]
                })
            },
            action: Action::Copy("latest"),
            expect: Some(ErrorKind::DigestMismatch),
            secs: 10,
        },
        Case {
            name: "200 MiB manifest, length declared",
            handler: |_, seen| {
                (authed(seen) && seen.url.ends_with("/manifests/latest")).then(|| {
                    let len = (200u64 << 20).to_string();
                    vec![
                        Step::Bytes(head(
                            200,
                            &[
                                ("Content-Type", stevedore::media_types::OCI_MANIFEST),
                                ("Content-Length", &len),
                            ],
                        )),
                        Step::Repeat(vec![b' '; 64 * 1024], 3200),
                    ]
                })
            },
            action: Action::Manifest("latest"),
            expect: Some(ErrorKind::InvalidInput),
            secs: 5,
        },
        Case {
            name: "Link pointing to itself",
            handler: |_, seen| {
                (authed(seen) && seen.url.starts_with("/v2/app/tags/list")).then(|| {
                    reply(
                        200,
                        &[("Link", "</v2/app/tags/list>; rel=\"next\"")],
                        br#"{"name":"app","tags":["a"]}"#,
                    )
                })
            },
            action: Action::Tags,
            expect: Some(ErrorKind::Network),
            secs: 5,
        },
        Case {
            name: "Link in a cycle",
            handler: |_, seen| {
                (authed(seen) && seen.url.starts_with("/v2/app/tags/list")).then(|| {
                    let next = if seen.url.contains("page=b") {
                        "</v2/app/tags/list?page=a>; rel=\"next\""
                    } else {
                        "</v2/app/tags/list?page=b>; rel=\"next\""
                    };
                    reply(200, &[("Link", next)], br#"{"name":"app","tags":["a"]}"#)
                })
            },
            action: Action::Tags,
            expect: Some(ErrorKind::Network),
            secs: 5,
        },
        Case {
            name: "an index that names itself",
            handler: |_, seen| {
                (authed(seen) && seen.url.contains("/manifests/")).then(|| {
                    // The index lists a digest; asked for it, the registry
                    // answers with the index again.
                    let index = serde_json::json!({
                        "schemaVersion": 2,
                        "mediaType": stevedore::media_types::OCI_INDEX,
                        "manifests": [{"mediaType": stevedore::media_types::OCI_INDEX,
                            "digest": Digest::sha256(b"me").to_string(), "size": 300,
                            "platform": {"os": "linux", "architecture": host_platform().split('/').nth(1).unwrap()}}],
                    });
                    reply(200, &[("Content-Type", stevedore::media_types::OCI_INDEX)], &serde_json::to_vec(&index).unwrap())
                })
            },
            action: Action::Copy("latest"),
            expect: Some(ErrorKind::DigestMismatch),
            secs: 5,
        },
        Case {
            name: "gzip bomb as a layer",
            handler: |_, _| None,
            action: Action::Files("bomb"),
            expect: Some(ErrorKind::InvalidInput),
            secs: 20,
        },
        Case {
            name: "slowloris body, a byte a second",
            handler: |ctx, seen| {
                (authed(seen) && seen.url.ends_with("/manifests/latest")).then(|| {
                    let len = ctx.img.manifest.len().to_string();
                    vec![
                        Step::Bytes(head(
                            200,
                            &[
                                ("Content-Type", stevedore::media_types::OCI_MANIFEST),
                                ("Content-Length", &len),
                            ],
                        )),
                        Step::Dribble(ctx.img.manifest.clone(), Duration::from_secs(1)),
                    ]
                })
            },
            action: Action::Manifest("latest"),
            expect: Some(ErrorKind::Network),
            secs: 6,
        },
        Case {
            name: "slowloris head, a byte a second",
            handler: |_, seen| {
                (authed(seen) && seen.url.ends_with("/manifests/latest")).then(|| {
                    vec![Step::Dribble(
                        head(200, &[("X-Pad", &"p".repeat(100))]),
                        Duration::from_secs(1),
                    )]
                })
            },
            action: Action::Manifest("latest"),
            expect: Some(ErrorKind::Network),
            secs: 10,
        },
        Case {
            name: "redirect loop",
            handler: |_, seen| {
                (authed(seen) && seen.url.ends_with("/manifests/latest"))
                    .then(|| reply(302, &[("Location", "/v2/app/manifests/latest")], b""))
            },
            action: Action::Manifest("latest"),
            expect: Some(ErrorKind::Network),
            secs: 5,
        },
        Case {
            name: "redirect to another host",
            handler: |ctx, seen| {
                (authed(seen) && seen.method == "GET" && seen.url.contains("/blobs/")).then(|| {
                    let digest = seen.url.rsplit('/').next().unwrap();
                    reply(
                        307,
                        &[("Location", &format!("http://{}/cdn/{digest}", ctx.other))],
                        b"",
                    )
                })
            },
            action: Action::Copy("latest"),
            expect: None,
            secs: 10,
        },
        Case {
            name: "redirect to file://",
            handler: |_, seen| {
                (authed(seen) && seen.url.ends_with("/manifests/latest"))
                    .then(|| reply(302, &[("Location", "file:///etc/passwd")], b""))
            },
            action: Action::Manifest("latest"),
            expect: Some(ErrorKind::Network),
            secs: 5,
        },
        Case {
            name: "malformed JSON",
            handler: |_, seen| {
                (authed(seen) && seen.url.ends_with("/manifests/latest")).then(|| {
                    reply(
                        200,
                        &[("Content-Type", stevedore::media_types::OCI_MANIFEST)],
                        b"{\"schemaVersion\": 2, \"layers\": [{",
                    )
                })
            },
            action: Action::Manifest("latest"),
            expect: Some(ErrorKind::InvalidInput),
            secs: 5,
        },
        Case {
            name: "401 forever",
            handler: |_, _| {
                Some(reply(
                    401,
                    &[("WWW-Authenticate", "Basic realm=\"never\"")],
                    b"",
                ))
            },
            action: Action::Manifest("latest"),
            expect: Some(ErrorKind::Unauthorized),
            secs: 5,
        },
        Case {
            name: "a token service on another host asking for the credentials",
            handler: |ctx, seen| {
                (seen.url != "/v2/" || seen.header("authorization").is_none()).then(|| {
                    let challenge =
                        format!("Bearer realm=\"http://{}/token\",service=\"x\"", ctx.other);
                    reply(401, &[("WWW-Authenticate", &challenge)], b"")
                })
            },
            action: Action::Manifest("latest"),
            expect: Some(ErrorKind::Unauthorized),
            secs: 5,
        },
        Case {
            name: "connection closed mid-header",
            handler: |_, seen| {
                (authed(seen) && seen.url.ends_with("/manifests/latest"))
                    .then(|| vec![Step::Bytes(b"HTTP/1.1 200 OK\r\nContent-Ty".to_vec())])
            },
            action: Action::Manifest("latest"),
            expect: Some(ErrorKind::Network),
            secs: 5,
        },
    ]
}
