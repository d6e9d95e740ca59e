//! The copy engine: parallel blob transfers with progress events,
//! cancellation (callback and token) with clean re-runs, subset indexes, and
//! mounts between repositories of one registry.

mod common;

use std::sync::{Arc, Mutex};

use common::registry::Registry;
use common::*;
use stevedore::manifest::ManifestContent;
use stevedore::progress::{CancelToken, ProgressEvent, ProgressFn};
use stevedore::transport::{parse, parse_with, OciLayout, Transport};
use stevedore::{copy, CopyOptions, Digest, ErrorKind};

/// An image with `layers` layers of `size` incompressible bytes each, tagged `tag`.
fn layered_image(
    dir: &std::path::Path,
    tag: &str,
    layers: usize,
    size: usize,
) -> stevedore::manifest::Manifest {
    let layout = OciLayout::new(dir);
    let data: Vec<Vec<u8>> = (0..layers)
        .map(|i| incompressible(size, 2 * i as u64 + 1))
        .collect();
    let files: Vec<[(&str, &[u8]); 1]> =
        data.iter().map(|d| [("data.bin", d.as_slice())]).collect();
    let specs: Vec<LayerSpec> = files.iter().map(|f| LayerSpec { files: f }).collect();
    let manifest = write_image(&layout, &host_platform(), &specs);
    layout.put_manifest(&manifest, Some(tag)).unwrap();
    manifest
}

fn recorder() -> (Arc<ProgressFn>, Arc<Mutex<Vec<ProgressEvent>>>) {
    let events = Arc::new(Mutex::new(Vec::new()));
    let log = events.clone();
    let callback: Arc<ProgressFn> = Arc::new(move |e: &ProgressEvent| {
        log.lock().unwrap().push(e.clone());
        true
    });
    (callback, events)
}

#[test]
fn blobs_move_in_parallel_with_progress_events() {
    let tmp = tempfile::tempdir().unwrap();
    let (a, b) = (tmp.path().join("a"), tmp.path().join("b"));
    let manifest = layered_image(&a, "1", 9, 3 << 20);
    let (callback, events) = recorder();
    let options = CopyOptions {
        jobs: 3,
        progress: Some(callback),
        ..Default::default()
    };
    let report = copy(
        &parse(&oci(&a, "1")).unwrap(),
        &parse(&oci(&b, "1")).unwrap(),
        &options,
    )
    .unwrap();
    assert_eq!(report.blobs_copied, 10);
    let events = events.lock().unwrap();
    let count = |f: fn(&ProgressEvent) -> bool| events.iter().filter(|e| f(e)).count();
    assert_eq!(count(|e| matches!(e, ProgressEvent::BlobStart { .. })), 10);
    assert_eq!(count(|e| matches!(e, ProgressEvent::BlobDone { .. })), 10);
    assert!(
        count(|e| matches!(e, ProgressEvent::BlobBytes { .. })) >= 27,
        "bytes reported every MiB"
    );
    assert!(matches!(
        events.first(),
        Some(ProgressEvent::ImageStart { .. })
    ));
    assert_eq!(
        events.last(),
        Some(&ProgressEvent::ImageDone {
            digest: manifest.digest().clone()
        })
    );
    for blob in manifest.blobs() {
        assert!(blob_path(&b, &blob.digest).exists());
    }
    tool_ok("umoci", &["stat", "--image", &format!("{}:1", b.display())]);

    // A second copy skips every blob, and says so.
    let (callback, events) = recorder();
    let again = CopyOptions {
        progress: Some(callback),
        ..Default::default()
    };
    let report = copy(
        &parse(&oci(&a, "1")).unwrap(),
        &parse(&oci(&b, "2")).unwrap(),
        &again,
    )
    .unwrap();
    assert_eq!((report.blobs_copied, report.blobs_skipped), (0, 10));
    let skips = events
        .lock()
        .unwrap()
        .iter()
        .filter(|e| matches!(e, ProgressEvent::BlobSkip { .. }))
        .count();
    assert_eq!(skips, 10);
}

#[test]
fn a_callback_cancels_and_a_rerun_sends_only_what_is_missing() {
    let tmp = tempfile::tempdir().unwrap();
    let (a, b) = (tmp.path().join("a"), tmp.path().join("b"));
    layered_image(&a, "1", 4, 4 << 20);
    layered_image(&b, "old", 1, 1 << 10);

    // Cancel once two blobs are done: the existing destination keeps its
    // contents and gains nothing the index does not reference.
    let before = snapshot(&b);
    let done = Arc::new(Mutex::new(0));
    let counter = done.clone();
    let callback: Arc<ProgressFn> = Arc::new(move |e: &ProgressEvent| {
        let mut n = counter.lock().unwrap();
        if matches!(e, ProgressEvent::BlobDone { .. }) {
            *n += 1;
        }
        *n < 2
    });
    let options = CopyOptions {
        jobs: 1,
        progress: Some(callback),
        ..Default::default()
    };
    let err = copy(
        &parse(&oci(&a, "1")).unwrap(),
        &parse(&oci(&b, "new")).unwrap(),
        &options,
    )
    .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Cancelled, "{err}");
    assert!(
        snapshot(&b) == before,
        "a cancelled copy changed the destination"
    );

    // A fresh destination cancelled by a token from another thread is not left behind.
    let fresh = tmp.path().join("fresh");
    let token = CancelToken::new();
    let canceller = token.clone();
    let callback: Arc<ProgressFn> = Arc::new(move |e: &ProgressEvent| {
        if matches!(e, ProgressEvent::BlobBytes { .. }) {
            let t = canceller.clone();
            std::thread::spawn(move || t.cancel()).join().unwrap();
        }
        true
    });
    let options = CopyOptions {
        progress: Some(callback),
        cancel: Some(token),
        ..Default::default()
    };
    let err = copy(
        &parse(&oci(&a, "1")).unwrap(),
        &parse(&oci(&fresh, "1")).unwrap(),
        &options,
    )
    .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Cancelled);
    assert!(!fresh.exists());

    // Re-running the copy completes, every digest verified by the store.
    let report = copy(
        &parse(&oci(&a, "1")).unwrap(),
        &parse(&oci(&b, "new")).unwrap(),
        &CopyOptions::default(),
    )
    .unwrap();
    assert_eq!(report.blobs_copied + report.blobs_skipped, 5);
    tool_ok(
        "umoci",
        &["stat", "--image", &format!("{}:new", b.display())],
    );
}

/// Copy options whose callback cancels at the `n`-th event (from 1).
fn cancelling_at(n: usize) -> CopyOptions {
    let seen = Arc::new(Mutex::new(0));
    let callback: Arc<ProgressFn> = Arc::new(move |_: &ProgressEvent| {
        let mut seen = seen.lock().unwrap();
        *seen += 1;
        *seen != n
    });
    CopyOptions {
        jobs: 1,
        progress: Some(callback),
        ..Default::default()
    }
}

#[test]
fn a_cancel_at_any_event_up_to_the_last_leaves_the_image_whole_or_absent() {
    let tmp = tempfile::tempdir().unwrap();
    let src = tmp.path().join("src");
    layered_image(&src, "1", 2, 1 << 10);
    let source = parse(&oci(&src, "1")).unwrap();
    let (callback, events) = recorder();
    let probe = CopyOptions {
        jobs: 1,
        progress: Some(callback),
        ..Default::default()
    };
    copy(
        &source,
        &parse(&oci(&tmp.path().join("probe"), "1")).unwrap(),
        &probe,
    )
    .unwrap();
    let last = events.lock().unwrap().len();
    for n in 1..=last {
        let at = tmp.path().join(n.to_string());
        std::fs::create_dir(&at).unwrap();
        let existing = at.join("existing");
        layered_image(&existing, "old", 1, 3 << 10);
        // What each destination leaves behind when cancelled: nothing, but a
        // static tree, which may be shared, keeps blobs (never the tag).
        for (dst, created) in [
            (
                format!("oci-archive:{}/x.tar:1", at.display()),
                Some(at.join("x.tar")),
            ),
            (
                format!("docker-archive:{}/y.tar:a/b:1", at.display()),
                Some(at.join("y.tar")),
            ),
            (oci(&at.join("lay"), "1"), Some(at.join("lay"))),
            (
                format!("dir:{}", at.join("dir").display()),
                Some(at.join("dir")),
            ),
            (format!("static:{}/st/app:1", at.display()), None),
        ] {
            let result = copy(&source, &parse(&dst).unwrap(), &cancelling_at(n));
            let back = parse(&dst).unwrap();
            let found = back
                .resolve()
                .and_then(|selector| back.transport().get_manifest(&selector));
            match result {
                Ok(report) => {
                    assert_eq!(
                        found.unwrap().digest(),
                        &report.digest,
                        "{dst} at event {n}"
                    );
                }
                Err(e) => {
                    assert_eq!(e.kind(), ErrorKind::Cancelled, "{dst} at event {n}: {e}");
                    assert!(
                        found.is_err(),
                        "{dst} cancelled at event {n} holds the image"
                    );
                    assert!(
                        created.is_none_or(|path| !path.exists()),
                        "{dst} cancelled at event {n} left it behind"
                    );
                }
            }
        }
        let into = parse(&oci(&existing, "new")).unwrap();
        match copy(&source, &into, &cancelling_at(n)) {
            Ok(_) => assert!(into
                .transport()
                .list_tags()
                .unwrap()
                .contains(&"new".into())),
            Err(e) => {
                assert_eq!(e.kind(), ErrorKind::Cancelled, "at event {n}: {e}");
                assert_eq!(
                    into.transport().list_tags().unwrap(),
                    ["old"],
                    "at event {n}"
                );
            }
        }
    }
}

#[test]
fn a_subset_of_an_index_is_written_as_a_new_index() {
    let tmp = tempfile::tempdir().unwrap();
    let (a, b) = (tmp.path().join("a"), tmp.path().join("b"));
    let index = make_index(
        &a,
        "multi",
        &["linux/amd64", "linux/arm64/v8", "linux/s390x"],
    );
    let options = CopyOptions {
        platforms: vec![
            "linux/s390x".parse().unwrap(),
            "linux/amd64".parse().unwrap(),
        ],
        ..Default::default()
    };
    let report = copy(
        &parse(&oci(&a, "multi")).unwrap(),
        &parse(&oci(&b, "two")).unwrap(),
        &options,
    )
    .unwrap();
    assert_eq!(&report.source_digest, index.digest());
    assert_ne!(&report.digest, index.digest(), "a new index, reported");
    assert_eq!(report.manifests, 3);
    let written = OciLayout::new(&b)
        .get_manifest(&stevedore::transport::Selector::Tag("two".into()))
        .unwrap();
    assert_eq!(written.digest(), &report.digest);
    let ManifestContent::Index(subset) = written.content() else {
        panic!("an index")
    };
    let ManifestContent::Index(original) = index.content() else {
        panic!("an index")
    };
    assert_eq!(
        subset.manifests,
        vec![original.manifests[2].clone(), original.manifests[0].clone()]
    );
    let raw: serde_json::Value =
        serde_json::from_slice(&tool_ok("skopeo", &["inspect", "--raw", &oci(&b, "two")])).unwrap();
    assert_eq!(raw["manifests"].as_array().unwrap().len(), 2);
    let err = copy(
        &parse(&oci(&a, "multi")).unwrap(),
        &parse(&oci(&b, "x")).unwrap(),
        &CopyOptions {
            all: true,
            platforms: options.platforms.clone(),
            ..Default::default()
        },
    )
    .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::InvalidInput);
}

#[test]
fn a_copy_to_another_repository_of_one_registry_mounts_every_blob() {
    let registry = Registry::start();
    let client = registry.client();
    let tmp = tempfile::tempdir().unwrap();
    let a = tmp.path().join("a");
    let manifest = layered_image(&a, "1", 3, 1 << 20);
    let image = |name: &str| parse_with(&registry.image(name), &client).unwrap();
    copy(
        &parse_with(&oci(&a, "1"), &client).unwrap(),
        &image("first/app:1"),
        &CopyOptions::default(),
    )
    .unwrap();
    let uploads_before = registry.count("PUT", "/blobs/uploads/");
    let (callback, events) = recorder();
    let options = CopyOptions {
        progress: Some(callback),
        ..Default::default()
    };
    let report = copy(&image("first/app:1"), &image("second/app:1"), &options).unwrap();
    assert_eq!(
        (
            report.blobs_mounted,
            report.blobs_copied,
            report.bytes_copied
        ),
        (4, 0, 0)
    );
    assert_eq!(
        registry.count("PUT", "/blobs/uploads/"),
        uploads_before,
        "no blob bytes moved"
    );
    let mounts = events
        .lock()
        .unwrap()
        .iter()
        .filter(|e| matches!(e, ProgressEvent::BlobMount { .. }))
        .count();
    assert_eq!(mounts, 4);
    assert_eq!(
        tool_ok(
            "skopeo",
            &[
                "inspect",
                "--raw",
                "--tls-verify=false",
                &registry.image("second/app:1")
            ]
        ),
        manifest.raw()
    );
}

#[test]
fn the_cli_prints_progress_as_json_lines_on_stderr() {
    let tmp = tempfile::tempdir().unwrap();
    let (a, b) = (tmp.path().join("a"), tmp.path().join("b"));
    layered_image(&a, "1", 2, 2 << 20);
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_stevedore"))
        .args([
            "copy",
            "--progress=json",
            "--jobs",
            "2",
            "--json",
            &oci(&a, "1"),
            &oci(&b, "1"),
        ])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let events: Vec<serde_json::Value> = String::from_utf8(out.stderr)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(events.first().unwrap()["event"], "image_start");
    assert_eq!(events.last().unwrap()["event"], "image_done");
    assert_eq!(
        events.iter().filter(|e| e["event"] == "blob_done").count(),
        3
    );
    let report: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(report["blobs_copied"], 3);
    // Quiet means nothing on stdout or stderr.
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_stevedore"))
        .args(["copy", "--quiet", &oci(&a, "1"), &oci(&b, "2")])
        .output()
        .unwrap();
    assert!(out.status.success() && out.stdout.is_empty() && out.stderr.is_empty());
}

#[test]
fn multi_arch_from_docker_registry_to_a_layout_and_back_all_subset_and_one() {
    let registry = Registry::start();
    let client = registry.client();
    let tmp = tempfile::tempdir().unwrap();
    let t = tmp.path();
    let index = make_index(
        &t.join("src"),
        "multi",
        &["linux/amd64", "linux/arm64/v8", "linux/s390x"],
    );
    let ManifestContent::Index(entries) = index.content() else {
        panic!("an index")
    };
    let pushed = registry.image("multi/app:1");
    skopeo_copy(&oci(&t.join("src"), "multi"), &pushed, &["--all"]);
    let cases = [
        (
            "all",
            CopyOptions {
                all: true,
                ..Default::default()
            },
            Some(index.digest().clone()),
        ),
        (
            "two",
            CopyOptions {
                platforms: vec![
                    "linux/arm64/v8".parse().unwrap(),
                    "linux/s390x".parse().unwrap(),
                ],
                ..Default::default()
            },
            None,
        ),
        (
            "one",
            CopyOptions {
                platform: Some("linux/s390x".parse().unwrap()),
                ..Default::default()
            },
            Some(entries.manifests[2].digest.clone()),
        ),
    ];
    for (name, options, expected) in cases {
        let layout = oci(&t.join("layout"), name);
        let there = copy(
            &parse_with(&pushed, &client).unwrap(),
            &parse_with(&layout, &client).unwrap(),
            &options,
        )
        .unwrap();
        match expected {
            Some(digest) => assert_eq!(there.digest, digest, "{name}"),
            None => assert_ne!(&there.digest, index.digest(), "{name}: a new index"),
        }
        let back_image = registry.image(&format!("back/{name}:1"));
        let back = copy(
            &parse_with(&layout, &client).unwrap(),
            &parse_with(&back_image, &client).unwrap(),
            &CopyOptions {
                all: true,
                ..Default::default()
            },
        )
        .unwrap();
        assert_eq!(back.digest, there.digest, "{name}");
        assert_eq!(skopeo_raw(&layout), skopeo_raw(&back_image), "{name}");
        assert_eq!(
            Digest::sha256(&skopeo_raw(&back_image)),
            there.digest,
            "{name}"
        );
        let manifests = match name {
            "all" => 4,
            "two" => 3,
            _ => 1,
        };
        assert_eq!(
            (there.manifests, back.manifests),
            (manifests, manifests),
            "{name}"
        );
    }
}
