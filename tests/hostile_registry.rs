//! A hostile registry (tests/common/raw.rs, raw TCP): every way a registry
//! can lie, loop, dribble or flood, each met with its typed error within a
//! bounded time and memory, and no credential sent where it must not go.
//! Table-driven: a case is a handler that overrides a well-behaved registry
//! for the requests it cares about, an action, and the expected outcome.

mod common;

use std::io::Write;
use std::sync::Arc;
use std::time::{Duration, Instant};

use common::raw::{head, reply, RawServer, Seen, Step};
use common::*;
use stevedore::auth::{Credentials, Secret};
use stevedore::files::FilesOptions;
use stevedore::registry::{Client, ClientOptions, Repository};
use stevedore::transport::parse_with;
use stevedore::{copy, CopyOptions, Digest, ErrorKind};

const BASIC: &str = "Basic YWxpY2U6cHc="; // alice:pw

/// The image the registry serves, as bytes.
struct Img {
    manifest: Vec<u8>,
    digest: String,
    config: (String, Vec<u8>),
    /// Every blob of the image, config included.
    blobs: Vec<(String, Vec<u8>)>,
    /// Its last layer.
    layer: (String, Vec<u8>),
    /// A layer of 64 MiB of zeros in one file, gzipped (about 64 KiB).
    bomb: (String, Vec<u8>),
    bomb_manifest: Vec<u8>,
}

fn gzip_bomb() -> Vec<u8> {
    let gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::best());
    let mut tar = tar::Builder::new(gz);
    let mut header = tar::Header::new_gnu();
    header.set_size(64 << 20);
    header.set_mode(0o644);
    header.set_cksum();
    let zeros = std::io::Read::take(std::io::repeat(0), 64 << 20);
    tar.append_data(&mut header, "zeros", zeros).unwrap();
    tar.into_inner().unwrap().finish().unwrap()
}

fn image() -> Img {
    let tmp = tempfile::tempdir().unwrap();
    let manifest = make_image(tmp.path(), "1", b"hostile\n");
    let blobs = manifest.blobs();
    let read = |d: &Digest| std::fs::read(blob_path(tmp.path(), d)).unwrap();
    let all: Vec<(String, Vec<u8>)> = blobs
        .iter()
        .map(|d| (d.digest.to_string(), read(&d.digest)))
        .collect();
    let config = all[0].clone();
    let layer = all[all.len() - 1].clone();
    let bomb = gzip_bomb();
    let bomb_digest = Digest::sha256(&bomb).to_string();
    let bomb_manifest = serde_json::json!({
        "schemaVersion": 2,
        "mediaType": stevedore::media_types::OCI_MANIFEST,
        "config": {"mediaType": stevedore::media_types::OCI_CONFIG, "digest": config.0, "size": config.1.len()},
        "layers": [{"mediaType": stevedore::media_types::OCI_LAYER_GZIP, "digest": bomb_digest, "size": bomb.len()}],
    });
    Img {
        digest: manifest.digest().to_string(),
        manifest: manifest.raw().to_vec(),
        config,
        blobs: all,
        layer,
        bomb: (bomb_digest, bomb),
        bomb_manifest: serde_json::to_vec(&bomb_manifest).unwrap(),
    }
}

/// What a case's handler sees: the image and the other host's address.
struct Ctx {
    img: Arc<Img>,
    other: String,
}

/// The well-behaved registry: basic auth, the image by tag and digest.
fn honest(ctx: &Ctx, seen: &Seen) -> Vec<Step> {
    if seen.header("authorization") != Some(BASIC) {
        return reply(401, &[("WWW-Authenticate", "Basic realm=\"hostile\"")], b"");
    }
    let img = &ctx.img;
    let url = seen.url.as_str();
    let manifest = |raw: &[u8]| {
        let digest = Digest::sha256(raw).to_string();
        let ct = [
            ("Content-Type", stevedore::media_types::OCI_MANIFEST),
            ("Docker-Content-Digest", digest.as_str()),
        ];
        reply(200, &ct, raw)
    };
    let blob = |bytes: &[u8]| {
        if seen.method == "HEAD" {
            vec![Step::Bytes(head(
                200,
                &[("Content-Length", &bytes.len().to_string())],
            ))]
        } else {
            reply(200, &[], bytes)
        }
    };
    match url {
        "/v2/" => reply(200, &[], b"{}"),
        "/v2/app/tags/list" => reply(200, &[], br#"{"name":"app","tags":["latest"]}"#),
        "/v2/app/manifests/bomb" => manifest(&img.bomb_manifest),
        _ if url.starts_with("/v2/app/manifests/") => manifest(&img.manifest),
        _ if url.ends_with(&img.bomb.0) => blob(&img.bomb.1),
        _ => match img.blobs.iter().find(|(d, _)| url.ends_with(d.as_str())) {
            Some((_, bytes)) => blob(bytes),
            None => reply(404, &[], b""),
        },
    }
}

/// The other host: serves blobs to redirects, and a token service that
/// asks for credentials forever.
fn other_host(ctx: &Ctx, seen: &Seen) -> Vec<Step> {
    let url = seen.url.as_str();
    if url.starts_with("/token") {
        return reply(401, &[("WWW-Authenticate", "Basic realm=\"tokens\"")], b"");
    }
    for (digest, bytes) in &ctx.img.blobs {
        if url.ends_with(digest.as_str()) {
            return reply(200, &[], bytes);
        }
    }
    reply(404, &[], b"")
}

enum Action {
    /// `get_manifest` of this reference.
    Manifest(&'static str),
    /// A copy of `app:<tag>` into an `oci:` layout.
    Copy(&'static str),
    /// Every tag.
    Tags,
    /// The file listing of `app:<tag>`, layers limited to 8 MiB.
    Files(&'static str),
}

type Override = fn(&Ctx, &Seen) -> Option<Vec<Step>>;

struct Case {
    name: &'static str,
    handler: Override,
    action: Action,
    /// The error kind expected, `None` for success.
    expect: Option<ErrorKind>,
    /// The most seconds the action may take.
    secs: u64,
}

fn is_layer(ctx: &Ctx, seen: &Seen) -> bool {
    seen.method == "GET" && seen.url.ends_with(&ctx.img.layer.0)
}

fn authed(seen: &Seen) -> bool {
    seen.header("authorization") == Some(BASIC)
}

fn cases() -> Vec<Case> {
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

/// The process's peak resident set (VmHWM), in KiB.
fn peak_rss_kib() -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap();
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .unwrap()
}

fn run(case: &Case, img: &Arc<Img>) -> (stevedore::Result<()>, Duration, Vec<Seen>, Vec<Seen>) {
    let other_ctx = Ctx {
        img: img.clone(),
        other: String::new(),
    };
    let other = RawServer::start(move |seen| other_host(&other_ctx, seen));
    let ctx = Ctx {
        img: img.clone(),
        other: other.addr(),
    };
    let handler = case.handler;
    let registry =
        RawServer::start(move |seen| handler(&ctx, seen).unwrap_or_else(|| honest(&ctx, seen)));
    let client = Client::new(ClientOptions {
        plain_http: vec![registry.addr(), other.addr()],
        credentials: [(
            registry.addr(),
            Credentials::Basic {
                username: "alice".into(),
                password: Secret::new("pw"),
            },
        )]
        .into(),
        max_retries: 1,
        retry_delay_ms: 10,
        connect_timeout_secs: 3,
        read_timeout_secs: 3,
        max_redirects: 5,
        min_body_bytes_per_sec: 100,
        body_rate_window_secs: 2,
        ..Default::default()
    })
    .unwrap();
    let repo = Repository {
        registry: registry.addr(),
        name: "app".into(),
    };
    let tmp = tempfile::tempdir().unwrap();
    let start = Instant::now();
    let result = match case.action {
        Action::Manifest(reference) => {
            let reference = if reference == "DIGEST" {
                img.digest.as_str()
            } else {
                reference
            };
            client.get_manifest(&repo, reference).map(drop)
        }
        Action::Copy(tag) => {
            let src =
                parse_with(&format!("docker://{}/app:{tag}", registry.addr()), &client).unwrap();
            let dst = parse_with(&oci(&tmp.path().join("out"), "x"), &client).unwrap();
            copy(&src, &dst, &CopyOptions::default()).map(drop)
        }
        Action::Tags => client.list_tags(&repo, None).map(drop),
        Action::Files(tag) => {
            let src =
                parse_with(&format!("docker://{}/app:{tag}", registry.addr()), &client).unwrap();
            let mut options = FilesOptions::default();
            options.limits.max_layer_bytes = 8 << 20;
            stevedore::files::files(&src, &options).map(drop)
        }
    };
    let elapsed = start.elapsed();
    let seen = (registry.seen(), other.seen());
    drop(registry);
    drop(other);
    (result, elapsed, seen.0, seen.1)
}

#[test]
fn a_hostile_registry_gets_typed_errors_in_bounded_time_and_memory() {
    let img = Arc::new(image());
    let mut failures = Vec::new();
    for case in cases() {
        let before = peak_rss_kib();
        let (result, elapsed, at_registry, at_other) = run(&case, &img);
        let grown_mib = (peak_rss_kib() - before) / 1024;
        let kind = result.as_ref().err().map(|e| e.kind());
        let message = result
            .as_ref()
            .err()
            .map(|e| e.to_string())
            .unwrap_or_default();
        let _ = writeln!(
            std::io::stderr(),
            "{:<60} {:>6.1}s {:>4} MiB {kind:?} {message}",
            case.name,
            elapsed.as_secs_f64(),
            grown_mib
        );
        if kind != case.expect {
            failures.push(format!(
                "{}: expected {:?}, got {kind:?} ({message})",
                case.name, case.expect
            ));
        }
        if elapsed > Duration::from_secs(case.secs) {
            failures.push(format!(
                "{}: took {elapsed:?}, more than {} s",
                case.name, case.secs
            ));
        }
        if grown_mib > 64 {
            failures.push(format!("{}: the peak RSS grew {grown_mib} MiB", case.name));
        }
        assert!(
            !message.contains("pw") || !message.contains("alice:"),
            "{message}"
        );
        // Credentials: the registry sees only its own; the other host none.
        for seen in &at_registry {
            let auth = seen.header("authorization");
            if auth.is_some_and(|a| a != BASIC) {
                failures.push(format!("{}: the registry saw {auth:?}", case.name));
            }
        }
        for seen in &at_other {
            if let Some(auth) = seen.header("authorization") {
                failures.push(format!(
                    "{}: the other host {} saw Authorization {auth}",
                    case.name, seen.url
                ));
            }
        }
        if at_registry.len() > 40 {
            failures.push(format!(
                "{}: {} requests to the registry",
                case.name,
                at_registry.len()
            ));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}
