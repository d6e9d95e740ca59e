//! What a real registry will not do on demand, from small test servers:
//! redirects to another host, 429/503 with Retry-After, 500 forever, paged
//! and looping tag lists, a connection dropped mid-blob, lies about digests.

mod common;

use std::io::Read;
use std::path::PathBuf;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

use common::fake::{FakeServer, Reply, Seen};
use common::*;
use stevedore::auth::{Credentials, Secret};
use stevedore::registry::{Client, ClientOptions, Repository};
use stevedore::transport::parse_with;
use stevedore::{copy, CopyOptions, Digest, ErrorKind};

const BASIC: &str = "Basic YWxpY2U6cHc="; // alice:pw

fn client_for(server: &FakeServer, max_retries: u32) -> Client {
    Client::new(ClientOptions {
        plain_http: vec![server.addr()],
        credentials: [(
            server.addr(),
            Credentials::Basic {
                username: "alice".into(),
                password: Secret::new("pw"),
            },
        )]
        .into(),
        max_retries,
        retry_delay_ms: 10,
        ..Default::default()
    })
    .unwrap()
}

fn repo(server: &FakeServer) -> Repository {
    Repository {
        registry: server.addr(),
        name: "app".into(),
    }
}

/// The blob file of `digest` named at the end of `url`, from `layout`.
fn blob(layout: &std::path::Path, url: &str) -> Option<Vec<u8>> {
    let digest: Digest = url.rsplit('/').next()?.parse().ok()?;
    std::fs::read(blob_path(layout, &digest)).ok()
}

#[test]
fn redirects_keep_authorization_on_the_registry_only() {
    let tmp = tempfile::tempdir().unwrap();
    let layout: PathBuf = tmp.path().join("a");
    let manifest = make_image(&layout, "1", b"redirected\n");
    let config_digest = manifest.blobs()[0].digest.to_string();

    let cdn_layout = layout.clone();
    let cdn = FakeServer::start(move |seen: &Seen| match blob(&cdn_layout, &seen.url) {
        Some(bytes) => Reply::new(200, bytes),
        None => Reply::new(404, ""),
    });
    let cdn_port = cdn.port;
    let (reg_layout, raw) = (layout.clone(), manifest.raw().to_vec());
    let registry = FakeServer::start(move |seen: &Seen| {
        if seen.header("authorization") != Some(BASIC) {
            return Reply::new(401, "").header("WWW-Authenticate", "Basic realm=\"fake\"");
        }
        let url = seen.url.as_str();
        if url == "/v2/" {
            Reply::new(200, "{}")
        } else if url.starts_with("/v2/app/manifests/") {
            Reply::new(200, raw.clone())
                .header("Content-Type", stevedore::media_types::OCI_MANIFEST)
        } else if let Some(rest) = url.strip_prefix("/v2/app/same-origin/") {
            Reply::new(200, blob(&reg_layout, rest).unwrap())
        } else if seen.method == "HEAD" {
            Reply::new(200, blob(&reg_layout, url).unwrap())
        } else if url.ends_with(&config_digest) {
            Reply::new(307, "").header("Location", &format!("/v2/app/same-origin/{config_digest}"))
        } else {
            let digest = url.rsplit('/').next().unwrap();
            Reply::new(307, "").header(
                "Location",
                &format!("http://localhost:{cdn_port}/blob/{digest}"),
            )
        }
    });

    let client = client_for(&registry, 0);
    let out = tmp.path().join("out");
    let report = copy(
        &parse_with(&format!("docker://{}/app:1", registry.addr()), &client).unwrap(),
        &parse_with(&oci(&out, "1"), &client).unwrap(),
        &CopyOptions::default(),
    )
    .unwrap();
    assert_eq!(&report.digest, manifest.digest());
    let cdn_seen = cdn.seen();
    assert_eq!(cdn_seen.len(), 2, "both layers came from the other host");
    assert!(
        cdn_seen.iter().all(|s| s.header("authorization").is_none()),
        "credentials leaked to another host"
    );
    let same = registry
        .seen()
        .into_iter()
        .find(|s| s.url.contains("/same-origin/"))
        .unwrap();
    assert_eq!(
        same.header("authorization"),
        Some(BASIC),
        "the same origin keeps them"
    );
}

/// A registry answering the manifest with `statuses` in turn (then 200).
fn flaky(
    statuses: Vec<(u16, Option<&'static str>)>,
) -> (FakeServer, Arc<AtomicUsize>, stevedore::manifest::Manifest) {
    let tmp = tempfile::tempdir().unwrap();
    let manifest = make_image(tmp.path(), "1", b"flaky\n");
    let raw = manifest.raw().to_vec();
    let calls = Arc::new(AtomicUsize::new(0));
    let counter = calls.clone();
    let server = FakeServer::start(move |seen: &Seen| {
        if seen.url == "/v2/" {
            return Reply::new(200, "{}");
        }
        let n = counter.fetch_add(1, Ordering::SeqCst);
        match statuses.get(n) {
            Some((status, retry_after)) => {
                let reply = Reply::new(
                    *status,
                    r#"{"errors":[{"code":"UNAVAILABLE","message":"try later"}]}"#,
                );
                match retry_after {
                    Some(v) => reply.header("Retry-After", v),
                    None => reply,
                }
            }
            None => Reply::new(200, raw.clone())
                .header("Content-Type", stevedore::media_types::OCI_MANIFEST),
        }
    });
    (server, calls, manifest)
}

#[test]
fn rate_limits_and_unavailability_are_retried_after_the_servers_delay() {
    let (server, calls, manifest) = flaky(vec![(429, Some("1")), (503, Some("1"))]);
    let started = std::time::Instant::now();
    let got = client_for(&server, 4)
        .get_manifest(&repo(&server), "1")
        .unwrap();
    assert_eq!(got.digest(), manifest.digest());
    assert_eq!(calls.load(Ordering::SeqCst), 3);
    assert!(
        started.elapsed() >= std::time::Duration::from_secs(2),
        "Retry-After was honoured"
    );
}

#[test]
fn a_server_failing_forever_is_given_up_after_max_retries() {
    let (server, calls, _) = flaky(vec![(500, None); 50]);
    let err = client_for(&server, 2)
        .get_manifest(&repo(&server), "1")
        .unwrap_err();
    assert_eq!(calls.load(Ordering::SeqCst), 3, "one try and two retries");
    assert_eq!(err.kind(), ErrorKind::Network);
    assert_eq!(err.http_status(), Some(500));
    assert_eq!(err.registry_errors()[0].code, "UNAVAILABLE");
    assert!(
        err.message().contains("HTTP 500") && err.message().contains("try later"),
        "{err}"
    );
}

#[test]
fn tag_lists_follow_link_pages_and_refuse_a_loop() {
    let server = FakeServer::start(|seen: &Seen| {
        let url = seen.url.as_str();
        if url == "/v2/" {
            return Reply::new(200, "{}");
        }
        let start: usize = url
            .split("last=t")
            .nth(1)
            .and_then(|v| v.parse::<usize>().ok())
            .map_or(0, |l| l + 1);
        let tags: Vec<String> = (start..(start + 100).min(250))
            .map(|i| format!("t{i:03}"))
            .collect();
        let body = serde_json::json!({"name": "app", "tags": tags}).to_string();
        let reply = Reply::new(200, body);
        if url.contains("/loop/") {
            return reply.header("Link", "</v2/loop/tags/list?n=100>; rel=\"next\"");
        }
        match tags.last() {
            Some(last) if start + 100 < 250 => reply.header(
                "Link",
                &format!("</v2/app/tags/list?n=100&last={last}>; rel=\"next\""),
            ),
            _ => reply,
        }
    });
    let client = client_for(&server, 0);
    let tags = client.list_tags(&repo(&server), Some(100)).unwrap();
    assert_eq!(tags.len(), 250);
    assert_eq!(tags[249], "t249");
    assert_eq!(
        server
            .seen()
            .iter()
            .filter(|s| s.url.contains("tags/list"))
            .count(),
        3
    );
    let looping = Repository {
        registry: server.addr(),
        name: "loop".into(),
    };
    let err = client.list_tags(&looping, Some(100)).unwrap_err();
    assert!(err.message().contains("loops"), "{err}");
}

/// Yields `limit` bytes of `data`, then fails, as a dropped connection does.
struct Truncated {
    data: Vec<u8>,
    at: usize,
    limit: usize,
}

impl Read for Truncated {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        if self.at >= self.limit {
            return Err(std::io::Error::new(
                std::io::ErrorKind::ConnectionReset,
                "dropped",
            ));
        }
        let n = buf.len().min(self.limit - self.at);
        buf[..n].copy_from_slice(&self.data[self.at..self.at + n]);
        self.at += n;
        Ok(n)
    }
}

#[test]
fn a_blob_download_cut_mid_way_resumes_with_range() {
    let data = incompressible(3 * 1024 * 1024, 11);
    let digest = Digest::sha256(&data);
    let served = data.clone();
    let gets = Arc::new(AtomicUsize::new(0));
    let counter = gets.clone();
    let server = FakeServer::start(move |seen: &Seen| {
        if seen.url == "/v2/" {
            return Reply::new(200, "{}");
        }
        if counter.fetch_add(1, Ordering::SeqCst) == 0 {
            return Reply {
                status: 200,
                headers: Vec::new(),
                body: Box::new(Truncated {
                    data: served.clone(),
                    at: 0,
                    limit: served.len() / 3,
                }),
                length: Some(served.len()),
            };
        }
        let from: usize = seen
            .header("range")
            .and_then(|r| r.strip_prefix("bytes="))
            .and_then(|r| r.trim_end_matches('-').parse().ok())
            .unwrap_or(0);
        Reply::new(206, served[from..].to_vec()).header(
            "Content-Range",
            &format!("bytes {from}-{}/{}", served.len() - 1, served.len()),
        )
    });
    let descriptor = stevedore::descriptor::Descriptor::new(
        "application/octet-stream",
        digest,
        data.len() as u64,
    );
    let mut reader = client_for(&server, 3)
        .get_blob(&repo(&server), &descriptor)
        .unwrap();
    let mut got = Vec::new();
    reader.read_to_end(&mut got).unwrap();
    assert!(got == data, "the resumed download has the exact bytes");
    let ranged = server
        .seen()
        .into_iter()
        .filter(|s| s.header("range").is_some())
        .count();
    assert!(ranged >= 1, "the rest was asked for with Range");
}

#[test]
fn a_registry_that_lies_about_digests_is_caught() {
    let tmp = tempfile::tempdir().unwrap();
    let manifest = make_image(tmp.path(), "1", b"honest\n");
    let other = make_image(tmp.path(), "2", b"other\n");
    let (raw, other_digest) = (manifest.raw().to_vec(), other.digest().to_string());
    let layer = manifest.blobs()[1].clone();
    let server = FakeServer::start(move |seen: &Seen| {
        let url = seen.url.as_str();
        if url == "/v2/" {
            Reply::new(200, "{}")
        } else if url.ends_with("/manifests/wrong-header") {
            Reply::new(200, raw.clone())
                .header("Content-Type", stevedore::media_types::OCI_MANIFEST)
                .header("Docker-Content-Digest", &other_digest)
        } else if url.contains("/manifests/") {
            // Whatever digest is asked for, the same bytes come back.
            Reply::new(200, raw.clone())
                .header("Content-Type", stevedore::media_types::OCI_MANIFEST)
        } else {
            Reply::new(200, b"not the layer".to_vec())
        }
    });
    let client = client_for(&server, 0);
    let err = client
        .get_manifest(&repo(&server), "wrong-header")
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::DigestMismatch, "{err}");
    let err = client
        .get_manifest(&repo(&server), &other.digest().to_string())
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::DigestMismatch, "{err}");
    let mut reader = client.get_blob(&repo(&server), &layer).unwrap();
    let err = reader.read_to_end(&mut Vec::new()).unwrap_err();
    let err = stevedore::error::from_io("reading", err);
    assert_eq!(err.kind(), ErrorKind::DigestMismatch, "{err}");
}

#[test]
fn the_referrers_api_is_used_and_filtered_when_the_registry_did_not() {
    use stevedore::registry::ReferrersSource;
    let subject = Digest::sha256(b"subject");
    let entry = |t: &str| {
        serde_json::json!({"mediaType": stevedore::media_types::OCI_MANIFEST,
            "digest": Digest::sha256(t.as_bytes()).to_string(), "size": 10, "artifactType": t})
    };
    let body = serde_json::json!({"schemaVersion": 2, "mediaType": stevedore::media_types::OCI_INDEX,
        "manifests": [entry("application/spdx+json"), entry("application/vnd.dev.cosign.simplesigning.v1+json")]})
    .to_string();
    let server = FakeServer::start(move |seen: &Seen| {
        if seen.url == "/v2/" {
            return Reply::new(200, "{}");
        }
        Reply::new(200, body.clone()).header("Content-Type", stevedore::media_types::OCI_INDEX)
    });
    let client = client_for(&server, 0);
    let (all, source) = client.referrers(&repo(&server), &subject, None).unwrap();
    assert_eq!((all.len(), source), (2, ReferrersSource::Api));
    let (sboms, _) = client
        .referrers(&repo(&server), &subject, Some("application/spdx+json"))
        .unwrap();
    assert_eq!(
        sboms.len(),
        1,
        "filtered here, as the server did not say it filtered"
    );
    let asked = server.seen().last().unwrap().url.clone();
    assert!(
        asked.contains("artifactType=application%2Fspdx%2Bjson"),
        "{asked}"
    );
}

#[test]
fn a_copy_reports_each_retry_as_a_progress_event() {
    let tmp = tempfile::tempdir().unwrap();
    let layout = tmp.path().join("src");
    let manifest = make_image(&layout, "1", b"retried\n");
    let raw = manifest.raw().to_vec();
    let failed_once = Arc::new(AtomicUsize::new(0));
    let failures = failed_once.clone();
    let server = FakeServer::start(move |seen: &Seen| {
        if seen.url == "/v2/" {
            return Reply::new(200, "{}");
        }
        if seen.url.contains("/manifests/") {
            return Reply::new(200, raw.clone())
                .header("Content-Type", stevedore::media_types::OCI_MANIFEST);
        }
        let first_get = seen.method == "GET" && failures.fetch_add(1, Ordering::SeqCst) == 0;
        match blob(&layout, &seen.url) {
            _ if first_get => Reply::new(503, "busy"),
            Some(bytes) => Reply::new(200, bytes),
            None => Reply::new(404, ""),
        }
    });
    let events = Arc::new(std::sync::Mutex::new(Vec::new()));
    let log = events.clone();
    let options = CopyOptions {
        jobs: 1,
        progress: Some(Arc::new(move |e: &stevedore::progress::ProgressEvent| {
            log.lock().unwrap().push(e.clone());
            true
        })),
        ..Default::default()
    };
    let client = client_for(&server, 3);
    let src = parse_with(&format!("docker://{}/app:1", server.addr()), &client).unwrap();
    let out = tmp.path().join("out");
    copy(
        &src,
        &parse_with(&oci(&out, "1"), &client).unwrap(),
        &options,
    )
    .unwrap();
    let retries: Vec<_> = events
        .lock()
        .unwrap()
        .iter()
        .filter_map(|e| match e {
            stevedore::progress::ProgressEvent::Retry {
                digest,
                attempt,
                reason,
            } => Some((digest.clone(), *attempt, reason.clone())),
            _ => None,
        })
        .collect();
    assert_eq!(retries.len(), 1, "{retries:?}");
    let (digest, attempt, reason) = &retries[0];
    assert!(digest.is_some() && *attempt == 1, "{retries:?}");
    assert!(reason.contains("503"), "{reason}");
}
