//! The object store's failures: throttling and server errors retried with
//! backoff (a fake S3 on 127.0.0.1, since real services will not throttle on
//! demand), a persistent 5xx answered to registry clients as the distribution
//! spec's `UNAVAILABLE`, and credentials refused or a bucket missing as clear
//! start-up errors of `stevedore serve --s3` against a real s3s-fs and moto.

mod common;

use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use common::fake::{FakeServer, Reply, Seen};
use common::http::request;
use common::s3::{Kind, S3Service, KEY};
use stevedore::digest::Digest;
use stevedore::s3::{Bucket, S3Config};
use stevedore::server::{Server, ServerOptions};
use stevedore::ErrorKind;

/// An S3 error body with `code`.
fn s3_error(status: u16, code: &str) -> Reply {
    let body = format!(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<Error><Code>{code}</Code>\
         <Message>{code} from the fake</Message><RequestId>1</RequestId></Error>"
    );
    Reply::new(status, body).header("Content-Type", "application/xml")
}

/// A configuration of bucket `fake` at the fake server `server`.
fn fake_config(server: &FakeServer) -> S3Config {
    S3Config {
        endpoint: Some(format!("http://{}", server.addr())),
        region: Some("us-east-1".into()),
        path_style: Some(true),
        access_key_id: Some("fake".into()),
        secret_access_key: Some("fakesecret".into()),
        ..S3Config::new("s3://fake/registry")
    }
}

/// Whether `seen` is a request for the bucket itself (the start-up check).
fn is_bucket(seen: &Seen) -> bool {
    let path = seen.url.split('?').next().unwrap_or_default();
    path.trim_matches('/') == "fake"
}

fn count(seen: &[Seen], method: &str) -> usize {
    seen.iter().filter(|s| s.method == method).count()
}

#[test]
fn throttling_and_server_errors_are_retried_with_backoff() {
    // PUT: SlowDown twice, then stored; GET: InternalError, RequestTimeout,
    // ServiceUnavailable, then the bytes.
    let puts = Arc::new(AtomicUsize::new(0));
    let gets = Arc::new(AtomicUsize::new(0));
    let stored = Arc::new(Mutex::new(Vec::new()));
    let (p, g, s) = (puts.clone(), gets.clone(), stored.clone());
    let server = FakeServer::start(move |seen| match seen.method.as_str() {
        "HEAD" => Reply::new(200, ""),
        "PUT" => match p.fetch_add(1, Ordering::SeqCst) {
            0 | 1 => s3_error(503, "SlowDown"),
            _ => {
                *s.lock().unwrap() = seen.body.clone();
                Reply::new(200, "").header("ETag", "\"1\"")
            }
        },
        "GET" => match g.fetch_add(1, Ordering::SeqCst) {
            0 => s3_error(500, "InternalError"),
            1 => s3_error(400, "RequestTimeout"),
            2 => s3_error(503, "ServiceUnavailable"),
            _ => Reply::new(200, s.lock().unwrap().clone()),
        },
        _ => s3_error(501, "NotImplemented"),
    });
    let bucket = Bucket::connect(&fake_config(&server)).unwrap();
    let started = Instant::now();
    assert!(bucket.put("blobs/x", b"throttled", false).unwrap());
    let put_time = started.elapsed();
    assert_eq!(bucket.get("blobs/x").unwrap().unwrap(), b"throttled");
    let seen = server.seen();
    assert_eq!(count(&seen, "PUT"), 3, "two SlowDowns, then the write");
    assert_eq!(count(&seen, "GET"), 4, "three failures, then the read");
    // Equal jitter: at least half of 100 ms, then of 200 ms, was waited.
    assert!(put_time >= Duration::from_millis(150), "{put_time:?}");
    // Every try resent the whole body.
    for put in seen.iter().filter(|s| s.method == "PUT") {
        assert_eq!(put.body, b"throttled");
    }
}

#[test]
fn retries_are_bounded_and_a_persistent_failure_is_typed() {
    let server = FakeServer::start(|seen| match seen.method.as_str() {
        "HEAD" if is_bucket(seen) => Reply::new(200, ""),
        "PUT" => s3_error(503, "SlowDown"),
        _ => s3_error(500, "InternalError"),
    });
    let bucket = Bucket::connect(&fake_config(&server)).unwrap();
    let throttled = bucket.put("blobs/x", b"never", false).unwrap_err();
    assert_eq!(throttled.kind(), ErrorKind::RateLimited, "{throttled}");
    assert!(throttled.to_string().contains("SlowDown"), "{throttled}");
    let failing = bucket.get("blobs/x").unwrap_err();
    assert_eq!(failing.kind(), ErrorKind::Network, "{failing}");
    assert!(failing.to_string().contains("InternalError"), "{failing}");
    let seen = server.seen();
    let (puts, gets) = (count(&seen, "PUT"), count(&seen, "GET"));
    assert!((2..=10).contains(&puts), "bounded: {puts} PUTs");
    assert_eq!(puts, gets, "the same bound for every call");
}

#[test]
fn a_persistent_server_error_reaches_registry_clients_as_unavailable() {
    let server = FakeServer::start(|seen| match seen.method.as_str() {
        "HEAD" if is_bucket(seen) => Reply::new(200, ""),
        _ => s3_error(500, "InternalError"),
    });
    let registry = Server::start(ServerOptions {
        s3: Some(fake_config(&server)),
        ..Default::default()
    })
    .unwrap();
    let digest = Digest::sha256(b"absent");
    let reply = request(
        &registry.host(),
        "GET",
        &format!("/v2/r/blobs/{digest}"),
        &[],
        b"",
    );
    registry.stop();
    assert_eq!(
        reply.status,
        503,
        "{}",
        String::from_utf8_lossy(&reply.body)
    );
    let body: serde_json::Value = serde_json::from_slice(&reply.body)
        .unwrap_or_else(|e| panic!("{e}: {}", String::from_utf8_lossy(&reply.body)));
    assert_eq!(body["errors"][0]["code"], "UNAVAILABLE", "{body}");
    let message = body["errors"][0]["message"].as_str().unwrap();
    assert!(message.contains("object store"), "{message}");
    assert!(!message.contains("<Error>"), "no raw XML: {message}");
}

/// An upload's PATCH whose chunk cannot be written because the object store
/// keeps failing is answered `503 UNAVAILABLE` (retry later), not `400
/// BLOB_UPLOAD_INVALID` (a client error): the fake keeps the objects written
/// to it, except the upload's chunks, which always fail.
#[test]
fn a_patch_the_store_cannot_take_is_unavailable_not_invalid() {
    let objects: Arc<Mutex<std::collections::HashMap<String, Vec<u8>>>> = Arc::default();
    let server = FakeServer::start(move |seen| {
        let key = seen.url.split('?').next().unwrap_or_default().to_owned();
        let mut objects = objects.lock().unwrap();
        match seen.method.as_str() {
            "HEAD" if is_bucket(seen) => Reply::new(200, ""),
            // A listing: nothing under the prefix asked for.
            "GET" if is_bucket(seen) => Reply::new(
                200,
                "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<ListBucketResult xmlns=\"http://s3.amazonaws.com/doc/2006-03-01/\">\
                 <Name>fake</Name><KeyCount>0</KeyCount><IsTruncated>false</IsTruncated>\
                 </ListBucketResult>",
            )
            .header("Content-Type", "application/xml"),
            "PUT" if key.contains("/chunks/") => s3_error(500, "InternalError"),
            "PUT" => {
                objects.insert(key, seen.body.clone());
                Reply::new(200, "")
            }
            "GET" | "HEAD" => match objects.get(&key) {
                Some(body) => Reply::new(200, body.clone()),
                None => s3_error(404, "NoSuchKey"),
            },
            "DELETE" => {
                objects.remove(&key);
                Reply::new(204, "")
            }
            _ => s3_error(501, "NotImplemented"),
        }
    });
    let registry = Server::start(ServerOptions {
        s3: Some(fake_config(&server)),
        ..Default::default()
    })
    .unwrap();
    let started = request(&registry.host(), "POST", "/v2/r/blobs/uploads/", &[], b"");
    assert_eq!(
        started.status,
        202,
        "{}",
        String::from_utf8_lossy(&started.body)
    );
    let location = started.header("location").expect("an upload location");
    let path = location
        .strip_prefix(&format!("http://{}", registry.host()))
        .unwrap_or(location)
        .to_owned();
    let reply = request(
        &registry.host(),
        "PATCH",
        &path,
        &[("Content-Type", "application/octet-stream")],
        b"a chunk the store will not take",
    );
    registry.stop();
    assert_eq!(
        reply.status,
        503,
        "{}",
        String::from_utf8_lossy(&reply.body)
    );
    let body: serde_json::Value = serde_json::from_slice(&reply.body).unwrap();
    assert_eq!(reply.code(), "UNAVAILABLE", "{body}");
    let message = body["errors"][0]["message"].as_str().unwrap();
    assert!(message.contains("object store"), "{message}");
}

/// Runs `stevedore serve --s3 URL` against `service` with `secret`; it must
/// fail at start-up: returns its exit status and stderr.
fn serve_fails(service: &S3Service, url: &str, secret: &str) -> (Option<i32>, String) {
    let home = tempfile::tempdir().unwrap();
    let port = common::registry::free_port();
    let mut child = Command::new(env!("CARGO_BIN_EXE_stevedore"))
        .args(["serve", "--addr", &format!("127.0.0.1:{port}"), "--s3", url])
        .env("HOME", home.path())
        .env("AWS_ENDPOINT_URL", &service.endpoint)
        .env("AWS_REGION", "us-east-1")
        .env("AWS_ACCESS_KEY_ID", KEY)
        .env("AWS_SECRET_ACCESS_KEY", secret)
        .env_remove("AWS_PROFILE")
        .env_remove("AWS_SESSION_TOKEN")
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        if let Some(status) = child.try_wait().unwrap() {
            let mut text = String::new();
            std::io::Read::read_to_string(&mut child.stderr.take().unwrap(), &mut text).unwrap();
            return (status.code(), text);
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            let _ = child.wait();
            panic!("stevedore serve --s3 {url} started instead of failing");
        }
        std::thread::sleep(Duration::from_millis(50));
    }
}

#[test]
fn serve_s3_refused_credentials_and_a_missing_bucket_are_clear_at_start_up() {
    for kind in [Kind::S3sFs, Kind::Moto] {
        let service = S3Service::start(kind);
        let bucket = service.bucket();
        if let Kind::S3sFs = kind {
            // moto accepts any credentials; s3s-fs checks them.
            let (code, text) = serve_fails(&service, &bucket.url, "not-the-secret");
            assert_eq!(code, Some(4), "{kind:?}: {text}");
            assert!(
                text.contains("refused the credentials") && text.contains("AWS_SECRET_ACCESS_KEY"),
                "{kind:?}: {text}"
            );
            assert!(!text.contains("not-the-secret"), "no secret: {text}");
        }
        let (code, text) =
            serve_fails(&service, "s3://no-such-bucket/registry", common::s3::SECRET);
        assert_eq!(code, Some(3), "{kind:?}: {text}");
        assert!(
            text.contains("no-such-bucket") && text.contains("does not exist"),
            "{kind:?}: {text}"
        );
    }
}
