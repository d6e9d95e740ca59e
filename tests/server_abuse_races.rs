//! Our registry server under racing requests: deletes racing pulls, and
//! uploads racing deletes of their repository, leaving a consistent store.
//! Every server here listens on 127.0.0.1 and is stopped by
//! the test that started it.

mod common;

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use common::http::request;
use common::raw_push::{manifest_for, memory_server, push_blob, push_image, sha256};
use common::store_check::check_store;
use serde_json::json;
use stevedore::server::ServerOptions;

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
