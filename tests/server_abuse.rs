//! Our registry server under abuse: slow clients, oversized requests, path
//! traversal, races between deletes and pulls or uploads, and `kill -9`
//! during pushes. Every server here listens on 127.0.0.1 and is stopped by
//! the test that started it.

mod common;

use std::collections::BTreeSet;
use std::io::{Read, Write};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use common::http::{request, Answer};
use serde_json::json;
use sha2::{Digest as _, Sha256};
use stevedore::server::{Server, ServerOptions};

fn sha256(bytes: &[u8]) -> String {
    format!("sha256:{:x}", Sha256::digest(bytes))
}

/// Pushes `content` as a blob of `repo` in one POST; the answer.
fn push_blob(addr: &str, repo: &str, content: &[u8]) -> Answer {
    let path = format!("/v2/{repo}/blobs/uploads/?digest={}", sha256(content));
    request(addr, "POST", &path, &[], content)
}

/// A small image (config and one layer, made from `seed`) pushed to
/// `repo:tag`; returns the manifest bytes and digest.
fn push_image(addr: &str, repo: &str, tag: &str, seed: &str) -> (Vec<u8>, String) {
    let layer = format!("layer {seed}").into_bytes();
    let config = json!({"architecture": "amd64", "os": "linux", "seed": seed})
        .to_string()
        .into_bytes();
    for blob in [&layer, &config] {
        assert_eq!(push_blob(addr, repo, blob).status, 201);
    }
    let manifest = manifest_for(&config, &layer);
    let put = request(
        addr,
        "PUT",
        &format!("/v2/{repo}/manifests/{tag}"),
        &[("Content-Type", "application/vnd.oci.image.manifest.v1+json")],
        &manifest,
    );
    assert_eq!(put.status, 201, "{}", String::from_utf8_lossy(&put.body));
    let digest = sha256(&manifest);
    (manifest, digest)
}

fn manifest_for(config: &[u8], layer: &[u8]) -> Vec<u8> {
    json!({
        "schemaVersion": 2,
        "mediaType": "application/vnd.oci.image.manifest.v1+json",
        "config": {"mediaType": "application/vnd.oci.image.config.v1+json",
                   "digest": sha256(config), "size": config.len()},
        "layers": [{"mediaType": "application/vnd.oci.image.layer.v1.tar",
                    "digest": sha256(layer), "size": layer.len()}],
    })
    .to_string()
    .into_bytes()
}

fn memory_server(options: ServerOptions) -> Server {
    Server::start(options).unwrap()
}

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

#[test]
fn a_delete_racing_pulls_answers_each_whole_or_not_found() {
    let tmp = tempfile::tempdir().unwrap();
    let server = memory_server(ServerOptions {
        root: Some(tmp.path().join("store")),
        fsync: false,
        ..Default::default()
    });
    let addr = server.host();
    let (manifest, digest) = push_image(&addr, "race/app", "1", "race");
    let stop = Arc::new(AtomicBool::new(false));
    let deleter = {
        let (stop, addr, manifest) = (Arc::clone(&stop), addr.clone(), manifest.clone());
        std::thread::spawn(move || {
            let mut rounds = 0;
            while !stop.load(Ordering::SeqCst) {
                request(
                    &addr,
                    "DELETE",
                    &format!("/v2/race/app/manifests/{}", sha256(&manifest)),
                    &[],
                    b"",
                );
                let put = request(
                    &addr,
                    "PUT",
                    "/v2/race/app/manifests/1",
                    &[("Content-Type", "application/vnd.oci.image.manifest.v1+json")],
                    &manifest,
                );
                assert_eq!(put.status, 201);
                rounds += 1;
            }
            rounds
        })
    };
    let pullers: Vec<_> = (0..4)
        .map(|i| {
            let (addr, manifest, digest) = (addr.clone(), manifest.clone(), digest.clone());
            std::thread::spawn(move || {
                let until = Instant::now() + Duration::from_secs(3);
                let mut seen = (0, 0);
                while Instant::now() < until {
                    let reference = if i % 2 == 0 { "1" } else { digest.as_str() };
                    let got = request(
                        &addr,
                        "GET",
                        &format!("/v2/race/app/manifests/{reference}"),
                        &[],
                        b"",
                    );
                    match got.status {
                        200 => {
                            assert_eq!(got.body, manifest);
                            seen.0 += 1;
                        }
                        404 => {
                            assert!(got.code().starts_with("MANIFEST_UNKNOWN"), "{}", got.code());
                            seen.1 += 1;
                        }
                        other => panic!("pull answered {other}"),
                    }
                }
                seen
            })
        })
        .collect();
    let seen: Vec<(u32, u32)> = pullers.into_iter().map(|p| p.join().unwrap()).collect();
    stop.store(true, Ordering::SeqCst);
    let rounds = deleter.join().unwrap();
    server.stop();
    eprintln!("pulls (whole, not found): {seen:?}; delete and re-push rounds: {rounds}");
    assert!(rounds > 10);
    assert!(seen.iter().map(|s| s.0).sum::<u32>() > 0);
    check_store(&tmp.path().join("store"));
}

#[test]
fn uploads_racing_deletes_of_the_repository_leave_a_consistent_store() {
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path().join("store");
    let server = memory_server(ServerOptions {
        root: Some(root.clone()),
        fsync: false,
        ..Default::default()
    });
    let addr = server.host();
    let stop = Arc::new(AtomicBool::new(false));
    // Deletes every tag, manifest and blob the repository has, in a loop.
    let deleter = {
        let (stop, addr) = (Arc::clone(&stop), addr.clone());
        std::thread::spawn(move || {
            while !stop.load(Ordering::SeqCst) {
                let tags = request(&addr, "GET", "/v2/gone/app/tags/list", &[], b"");
                let listed: serde_json::Value =
                    serde_json::from_slice(&tags.body).unwrap_or_default();
                for tag in listed["tags"].as_array().into_iter().flatten() {
                    let tag = tag.as_str().unwrap();
                    let got = request(
                        &addr,
                        "GET",
                        &format!("/v2/gone/app/manifests/{tag}"),
                        &[],
                        b"",
                    );
                    if let Some(d) = got.header("docker-content-digest") {
                        request(
                            &addr,
                            "DELETE",
                            &format!("/v2/gone/app/manifests/{d}"),
                            &[],
                            b"",
                        );
                    }
                    request(
                        &addr,
                        "DELETE",
                        &format!("/v2/gone/app/manifests/{tag}"),
                        &[],
                        b"",
                    );
                }
                for seed in 0..8 {
                    let blob = format!("layer {seed}").into_bytes();
                    request(
                        &addr,
                        "DELETE",
                        &format!("/v2/gone/app/blobs/{}", sha256(&blob)),
                        &[],
                        b"",
                    );
                }
            }
        })
    };
    let pushers: Vec<_> = (0..4)
        .map(|i| {
            let addr = addr.clone();
            std::thread::spawn(move || {
                let until = Instant::now() + Duration::from_secs(3);
                let mut n = 0;
                while Instant::now() < until {
                    let seed = (i * 2 + n % 2).to_string();
                    let layer = format!("layer {seed}").into_bytes();
                    let config = json!({"seed": seed}).to_string().into_bytes();
                    // A chunked upload of the layer, racing the deletes.
                    let started = request(&addr, "POST", "/v2/gone/app/blobs/uploads/", &[], b"");
                    let location = started.header("location").unwrap().to_owned();
                    request(&addr, "PATCH", &location, &[], &layer[..3]);
                    let sep = if location.contains('?') { '&' } else { '?' };
                    let put = request(
                        &addr,
                        "PUT",
                        &format!("{location}{sep}digest={}", sha256(&layer)),
                        &[],
                        &layer[3..],
                    );
                    assert_eq!(put.status, 201);
                    push_blob(&addr, "gone/app", &config);
                    let answer = request(
                        &addr,
                        "PUT",
                        &format!("/v2/gone/app/manifests/t{seed}"),
                        &[("Content-Type", "application/vnd.oci.image.manifest.v1+json")],
                        &manifest_for(&config, &layer),
                    );
                    // The blobs may have been unlinked before the manifest came.
                    assert!(matches!(answer.status, 201 | 400), "{}", answer.status);
                    n += 1;
                }
                n
            })
        })
        .collect();
    let pushes: usize = pushers.into_iter().map(|p| p.join().unwrap()).sum();
    stop.store(true, Ordering::SeqCst);
    deleter.join().unwrap();
    server.stop();
    eprintln!("pushes racing deletes: {pushes}");
    assert!(pushes > 10);
    check_store(&root);
}

/// The files under `dir`, recursively.
fn files_under(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let Ok(entries) = std::fs::read_dir(dir) else {
        return out;
    };
    for entry in entries.flatten() {
        let path = entry.path();
        if path.is_dir() {
            out.extend(files_under(&path));
        } else {
            out.push(path);
        }
    }
    out
}

/// The blob of `digest` (`sha256:HEX` or the record key `sha256-HEX`) in
/// the store at `root`, checked against its digest.
fn verified_blob(root: &Path, digest: &str) -> Vec<u8> {
    let hex = digest
        .strip_prefix("sha256:")
        .or_else(|| digest.strip_prefix("sha256-"))
        .unwrap();
    let path = root.join("blobs/sha256").join(hex);
    let bytes = std::fs::read(&path).unwrap_or_else(|e| panic!("blob {digest} missing: {e}"));
    assert_eq!(
        sha256(&bytes),
        format!("sha256:{hex}"),
        "blob {digest} does not verify"
    );
    bytes
}

/// Checks the store at `root` as a stopped server left it: no temporary
/// files; every manifest record's manifest and the blobs it names present
/// and verifying; every tag naming a manifest the repository has; every
/// blob link's blob present and verifying.
fn check_store(root: &Path) {
    for file in files_under(root) {
        let name = file.file_name().unwrap().to_string_lossy();
        assert!(
            !name.starts_with(".stevedore-"),
            "temporary file left: {}",
            file.display()
        );
    }
    let repos = root.join("meta/repos");
    for repo in std::fs::read_dir(&repos)
        .map(|r| r.flatten().collect::<Vec<_>>())
        .unwrap_or_default()
    {
        let repo = repo.path();
        let manifests: BTreeSet<String> = std::fs::read_dir(repo.join("manifests"))
            .map(|r| {
                r.flatten()
                    .map(|e| e.file_name().to_string_lossy().into_owned())
                    .collect()
            })
            .unwrap_or_default();
        for key in &manifests {
            let bytes = verified_blob(root, key);
            let value: serde_json::Value = serde_json::from_slice(&bytes).unwrap();
            for blob in std::iter::once(&value["config"])
                .chain(value["layers"].as_array().into_iter().flatten())
            {
                if let Some(d) = blob["digest"].as_str() {
                    verified_blob(root, d);
                }
            }
        }
        for tag in files_under(&repo.join("tags")) {
            let digest = std::fs::read_to_string(&tag).unwrap();
            let key = digest.replace(':', "-");
            assert!(
                manifests.contains(&key),
                "tag {} names {digest}, which the repository does not have",
                tag.display()
            );
        }
        for link in files_under(&repo.join("blobs")) {
            verified_blob(root, &link.file_name().unwrap().to_string_lossy());
        }
    }
}

/// A `stevedore serve` child process, killed when dropped.
struct Serving(std::process::Child);

impl Drop for Serving {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn serve_process(root: &Path) -> (Serving, String) {
    let port = common::registry::free_port();
    let addr = format!("127.0.0.1:{port}");
    let child = std::process::Command::new(env!("CARGO_BIN_EXE_stevedore"))
        .args(["serve", "--addr", &addr, "--root"])
        .arg(root)
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let child = Serving(child);
    for _ in 0..200 {
        if TcpStream::connect(&addr).is_ok() {
            break;
        }
        std::thread::sleep(Duration::from_millis(25));
    }
    (child, addr)
}

/// A request that may fail because the server was killed.
fn try_request(
    addr: &str,
    method: &str,
    path: &str,
    headers: &[(&str, &str)],
    body: &[u8],
) -> Option<u16> {
    let mut stream = TcpStream::connect(addr).ok()?;
    stream
        .set_read_timeout(Some(Duration::from_secs(10)))
        .ok()?;
    let mut head = format!(
        "{method} {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\nContent-Length: {}\r\n",
        body.len()
    );
    for (k, v) in headers {
        head.push_str(&format!("{k}: {v}\r\n"));
    }
    head.push_str("\r\n");
    stream.write_all(head.as_bytes()).ok()?;
    stream.write_all(body).ok()?;
    let mut raw = Vec::new();
    stream.read_to_end(&mut raw).ok()?;
    String::from_utf8_lossy(&raw)
        .split_whitespace()
        .nth(1)?
        .parse()
        .ok()
}

#[test]
fn twenty_kill_9_during_concurrent_pushes_leave_a_consistent_store() {
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path().join("store");
    let mut acknowledged: Vec<(String, String)> = Vec::new();
    let mut seed = 0x5eed_u64;
    for round in 0..20 {
        let (server, addr) = serve_process(&root);
        let stop = Arc::new(AtomicBool::new(false));
        let pushers: Vec<_> = (0..4)
            .map(|p| {
                let (addr, stop) = (addr.clone(), Arc::clone(&stop));
                std::thread::spawn(move || {
                    let mut acked = Vec::new();
                    let mut n = 0;
                    while !stop.load(Ordering::SeqCst) && n < 200 {
                        let seed = format!("r{round}p{p}n{n}");
                        // Layers big enough that a kill lands mid-upload too.
                        let layer: Vec<u8> = seed.bytes().cycle().take(256 * 1024).collect();
                        let config = json!({"seed": seed}).to_string().into_bytes();
                        let repo = format!("kill/p{p}");
                        let mut ok = true;
                        for blob in [&layer, &config] {
                            let path = format!("/v2/{repo}/blobs/uploads/?digest={}", sha256(blob));
                            ok &= try_request(&addr, "POST", &path, &[], blob) == Some(201);
                        }
                        if !ok {
                            break;
                        }
                        let manifest = manifest_for(&config, &layer);
                        let put = try_request(
                            &addr,
                            "PUT",
                            &format!("/v2/{repo}/manifests/{seed}"),
                            &[("Content-Type", "application/vnd.oci.image.manifest.v1+json")],
                            &manifest,
                        );
                        if put == Some(201) {
                            acked.push((repo, seed));
                        } else {
                            break;
                        }
                        n += 1;
                    }
                    acked
                })
            })
            .collect();
        // Kill at a moment drawn from 50 to 550 ms in.
        seed = seed
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        std::thread::sleep(Duration::from_millis(50 + (seed >> 33) % 500));
        drop(server);
        stop.store(true, Ordering::SeqCst);
        for pusher in pushers {
            acknowledged.extend(pusher.join().unwrap());
        }
        // Restarted: leftovers cleaned, store consistent, nothing
        // acknowledged lost, every tag pullable.
        let (server, addr) = serve_process(&root);
        check_store(&root);
        assert_eq!(std::fs::read_dir(root.join("uploads")).unwrap().count(), 0);
        for (repo, tag) in &acknowledged {
            assert_eq!(
                try_request(
                    &addr,
                    "GET",
                    &format!("/v2/{repo}/manifests/{tag}"),
                    &[],
                    b""
                ),
                Some(200),
                "round {round}: acknowledged {repo}:{tag} lost"
            );
        }
        drop(server);
    }
    eprintln!("acknowledged pushes over 20 kills: {}", acknowledged.len());
    assert!(acknowledged.len() > 20);
}
