//! Our registry server under abuse from its clients: slowloris connections,
//! request heads without an end, oversized heads and blobs, and names,
//! tags, digests and upload IDs that try path traversal. Every server here
//! listens on 127.0.0.1 and is stopped by the test that started it.

mod common;

use std::collections::BTreeSet;
use std::io::{Read, Write};
use std::net::TcpStream;
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use common::http::request;
use common::raw_push::{memory_server, push_blob, push_image, sha256};
use stevedore::server::ServerOptions;

/// Raises this process's open-file limit to its hard limit.
fn raise_fd_limit() -> u64 {
    let mut limit = libc::rlimit {
        rlim_cur: 0,
        rlim_max: 0,
    };
    // SAFETY: getrlimit/setrlimit only read and write `limit`.
    unsafe {
        libc::getrlimit(libc::RLIMIT_NOFILE, &mut limit);
        limit.rlim_cur = limit.rlim_max;
        libc::setrlimit(libc::RLIMIT_NOFILE, &limit);
    }
    limit.rlim_cur
}

#[test]
fn a_slowloris_client_holding_500_connections_does_not_stop_a_pull() {
    assert!(raise_fd_limit() >= 2048, "needs at least 2048 open files");
    let server = memory_server(ServerOptions::default());
    let addr = server.host();
    let (manifest, digest) = push_image(&addr, "victim/app", "1", "slowloris");

    // 500 connections, each sending one header line a second and never
    // finishing its request head; those closed are opened again. Bounded to
    // 40 seconds whatever happens.
    let stop = Arc::new(AtomicBool::new(false));
    let reopened = Arc::new(AtomicUsize::new(0));
    let attacker = {
        let (stop, reopened, addr) = (Arc::clone(&stop), Arc::clone(&reopened), addr.clone());
        std::thread::spawn(move || {
            let open = |addr: &str| -> Option<TcpStream> {
                let mut s = TcpStream::connect(addr).ok()?;
                s.write_all(b"GET /v2/ HTTP/1.1\r\nHost: x\r\n").ok()?;
                Some(s)
            };
            let mut sockets: Vec<Option<TcpStream>> = (0..500).map(|_| open(&addr)).collect();
            let until = Instant::now() + Duration::from_secs(40);
            while !stop.load(Ordering::SeqCst) && Instant::now() < until {
                for slot in sockets.iter_mut() {
                    let alive = slot
                        .as_mut()
                        .is_some_and(|s| s.write_all(b"X-Slow: 1\r\n").is_ok());
                    if !alive {
                        *slot = open(&addr);
                        reopened.fetch_add(1, Ordering::SeqCst);
                    }
                }
                std::thread::sleep(Duration::from_secs(1));
            }
        })
    };
    std::thread::sleep(Duration::from_secs(2));
    let mut slowest = Duration::ZERO;
    let mut outcomes = Vec::new();
    for _ in 0..20 {
        let started = Instant::now();
        let got = request(&addr, "GET", "/v2/victim/app/manifests/1", &[], b"");
        let blob = request(
            &addr,
            "GET",
            &format!("/v2/victim/app/blobs/{}", sha256(b"layer slowloris")),
            &[],
            b"",
        );
        slowest = slowest.max(started.elapsed());
        outcomes.push((got.status, got.body == manifest, blob.status));
        std::thread::sleep(Duration::from_millis(100));
    }
    stop.store(true, Ordering::SeqCst);
    attacker.join().unwrap();
    server.stop();
    eprintln!(
        "slowest pull under slowloris: {slowest:?}; attacker connections reopened: {}",
        reopened.load(Ordering::SeqCst)
    );
    assert!(
        outcomes.iter().all(|o| *o == (200, true, 200)),
        "pulls under slowloris: {outcomes:?}"
    );
    assert!(slowest < Duration::from_secs(2), "slowest pull {slowest:?}");
    let _ = digest;
}

/// Reads from `stream` until it closes; how long that took.
fn time_to_close(stream: &mut TcpStream) -> Duration {
    let started = Instant::now();
    stream
        .set_read_timeout(Some(Duration::from_secs(10)))
        .unwrap();
    let mut sink = Vec::new();
    let _ = stream.read_to_end(&mut sink);
    started.elapsed()
}

#[test]
fn request_heads_have_a_deadline_and_idle_connections_close() {
    let server = memory_server(ServerOptions {
        head_timeout_secs: 1.0,
        idle_timeout_secs: 1.5,
        ..Default::default()
    });
    let addr = server.host();
    // Silent from the start: closed at the head deadline.
    let mut silent = TcpStream::connect(&addr).unwrap();
    let waited = time_to_close(&mut silent);
    assert!(waited < Duration::from_secs(3), "silent: {waited:?}");
    // A head trickling in line by line, each well within the idle time.
    let mut slow = TcpStream::connect(&addr).unwrap();
    let started = Instant::now();
    let mut closed_after = None;
    for _ in 0..10 {
        if slow.write_all(b"X-Slow: 1\r\n").is_err() {
            closed_after = Some(started.elapsed());
            break;
        }
        std::thread::sleep(Duration::from_millis(400));
    }
    let closed_after = closed_after.unwrap_or_else(|| started.elapsed() + time_to_close(&mut slow));
    assert!(
        closed_after < Duration::from_secs(3),
        "trickle: {closed_after:?}"
    );
    // A kept-alive connection is served, then closed once idle.
    let mut kept = TcpStream::connect(&addr).unwrap();
    kept.write_all(b"GET /v2/ HTTP/1.1\r\nHost: x\r\n\r\n")
        .unwrap();
    let mut first = [0u8; 12];
    kept.read_exact(&mut first).unwrap();
    assert_eq!(&first, b"HTTP/1.1 200");
    let idle = time_to_close(&mut kept);
    assert!(
        idle > Duration::from_millis(1000) && idle < Duration::from_secs(4),
        "idle: {idle:?}"
    );
    server.stop();
}

#[test]
fn oversized_heads_and_blobs_are_refused() {
    let server = memory_server(ServerOptions {
        max_head_bytes: 4096,
        max_blob_bytes: 1000,
        ..Default::default()
    });
    let addr = server.host();
    let big = "a".repeat(5000);
    let answer = request(&addr, "GET", "/v2/", &[("X-Big", &big)], b"");
    assert_eq!(answer.status, 400);
    assert_eq!(request(&addr, "GET", "/v2/", &[], b"").status, 200);

    let blob = vec![7u8; 2000];
    let whole = push_blob(&addr, "big/one", &blob);
    assert_eq!((whole.status, whole.code().as_str()), (413, "SIZE_INVALID"));
    assert_eq!(push_blob(&addr, "big/one", &blob[..1000]).status, 201);

    let started = request(&addr, "POST", "/v2/big/two/blobs/uploads/", &[], b"");
    let location = started.header("location").unwrap().to_owned();
    assert_eq!(
        request(&addr, "PATCH", &location, &[], &blob[..800]).status,
        202
    );
    let past = request(&addr, "PATCH", &location, &[], &blob[800..1600]);
    assert_eq!((past.status, past.code().as_str()), (413, "SIZE_INVALID"));
    assert_eq!(request(&addr, "GET", &location, &[], b"").status, 404);
    server.stop();
}

#[test]
fn names_tags_digests_and_upload_ids_that_try_path_traversal_are_refused() {
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path().join("store");
    let server = memory_server(ServerOptions {
        root: Some(root.clone()),
        ..Default::default()
    });
    let addr = server.host();
    push_image(&addr, "team/app", "1", "traversal");
    std::fs::write(tmp.path().join("outside"), b"keep").unwrap();
    let before = common::snapshot(tmp.path());
    let config = b"{}".to_vec();
    let attempts: &[(&str, &str)] = &[
        ("GET", "/v2/../../outside/manifests/1"),
        ("GET", "/v2/%2e%2e/%2e%2e/outside/tags/list"),
        ("GET", "/v2/team/app/manifests/.."),
        ("GET", "/v2/team/app/manifests/%2e%2e"),
        ("DELETE", "/v2/team/app/manifests/.."),
        ("DELETE", "/v2/team/app/manifests/%2e%2e%2f%2e%2e"),
        ("PUT", "/v2/team/app/manifests/.."),
        ("GET", "/v2/team/app/blobs/sha256:..%2f..%2f..%2foutside"),
        ("GET", "/v2/team/app/blobs/sha256%3a..%2f..%2foutside"),
        ("DELETE", "/v2/team/app/blobs/sha256:../../meta"),
        ("GET", "/v2/team/app/blobs/uploads/..%2f..%2fmeta"),
        ("PATCH", "/v2/team/app/blobs/uploads/../../meta"),
        (
            "PUT",
            "/v2/team/app/blobs/uploads/..?digest=sha256:..%2f..%2foutside",
        ),
        ("GET", "/v2/team+app/tags/list"),
        ("GET", "/v2/team/app/referrers/sha256:..%2f..%2f"),
        (
            "POST",
            "/v2/team/app/blobs/uploads/?mount=sha256:..%2f..&from=..%2f..",
        ),
    ];
    for (method, path) in attempts {
        let answer = request(&addr, method, path, &[], &config);
        assert!(
            (400..500).contains(&answer.status),
            "{method} {path}: {} {}",
            answer.status,
            String::from_utf8_lossy(&answer.body)
        );
    }
    server.stop();
    // Nothing changed, inside the store or beside it (the upload directory
    // aside, which the POST with a mount that failed may use).
    let after = common::snapshot(tmp.path());
    let keys = |s: &std::collections::BTreeMap<PathBuf, Vec<u8>>| -> BTreeSet<PathBuf> {
        s.keys()
            .filter(|p| !p.starts_with(root.join("uploads")))
            .cloned()
            .collect()
    };
    assert_eq!(keys(&before), keys(&after));
    assert_eq!(std::fs::read(tmp.path().join("outside")).unwrap(), b"keep");
}
