//! Our registry server (`stevedore serve`) killed with `kill -9` during
//! concurrent pushes, twenty times, leaving a consistent store.
//! Every server here listens on 127.0.0.1 and is stopped by
//! the test that started it.

mod common;

use std::io::{Read, Write};
use std::net::TcpStream;
use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use common::raw_push::{manifest_for, sha256};
use common::store_check::check_store;
use serde_json::json;

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
