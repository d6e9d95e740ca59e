//! The `oci:` transport and the copy/inspect/tags verbs, judged by the real
//! peers: umoci and skopeo read what we write, we read what skopeo writes.

mod common;

use std::fs;

use common::*;
use stevedore::manifest::ManifestContent;
use stevedore::transport::{parse, OciLayout, Selector, Transport};
use stevedore::{copy, inspect, CopyOptions, ErrorKind, InspectOptions};

fn copy_str(
    src: &str,
    dst: &str,
    options: &CopyOptions,
) -> stevedore::Result<stevedore::CopyReport> {
    copy(&parse(src)?, &parse(dst)?, options)
}

#[test]
fn a_layout_we_write_passes_umoci_and_skopeo() {
    let tmp = tempfile::tempdir().unwrap();
    let (a, b) = (tmp.path().join("a"), tmp.path().join("b"));
    let manifest = make_image(&a, "1.0", b"hello from stevedore\n");
    let report = copy_str(&oci(&a, "1.0"), &oci(&b, "latest"), &CopyOptions::default()).unwrap();
    assert_eq!(&report.digest, manifest.digest());
    assert_eq!(report.blobs_copied, 3);

    tool_ok(
        "umoci",
        &["stat", "--image", &format!("{}:latest", b.display())],
    );
    let bundle = tmp.path().join("bundle");
    tool_ok(
        "umoci",
        &[
            "unpack",
            "--rootless",
            "--image",
            &format!("{}:latest", b.display()),
            bundle.to_str().unwrap(),
        ],
    );
    let rootfs = bundle.join("rootfs");
    assert_eq!(
        fs::read(rootfs.join("etc/hello")).unwrap(),
        b"hello from stevedore\n"
    );
    assert_eq!(fs::read(rootfs.join("etc/second")).unwrap(), b"2\n");
    assert_eq!(
        fs::read(rootfs.join("usr/share/doc/readme")).unwrap(),
        b"docs\n"
    );
    assert_eq!(
        fs::read_link(rootfs.join("etc/link")).unwrap().to_str(),
        Some("hello")
    );

    let raw = tool_ok("skopeo", &["inspect", "--raw", &oci(&b, "latest")]);
    assert_eq!(raw, manifest.raw(), "skopeo sees our exact manifest bytes");
    let info: serde_json::Value =
        serde_json::from_slice(&tool_ok("skopeo", &["inspect", &oci(&b, "latest")])).unwrap();
    assert_eq!(info["Digest"], manifest.digest().to_string());
    assert_eq!(info["Layers"].as_array().unwrap().len(), 2);
    let config = tool_ok(
        "skopeo",
        &["inspect", "--config", "--raw", &oci(&b, "latest")],
    );
    let ours = stevedore::raw_config(
        &parse(&oci(&b, "latest")).unwrap(),
        &InspectOptions::default(),
    )
    .unwrap();
    assert_eq!(config, ours);
}

#[test]
fn a_layout_skopeo_writes_is_read_by_us_byte_for_byte() {
    let tmp = tempfile::tempdir().unwrap();
    let (a, s, c) = (
        tmp.path().join("a"),
        tmp.path().join("s"),
        tmp.path().join("c"),
    );
    let manifest = make_image(&a, "1.0", b"made for skopeo\n");
    skopeo_copy(&oci(&a, "1.0"), &oci(&s, "skopeo-tag"), &[]);

    let src = parse(&oci(&s, "skopeo-tag")).unwrap();
    let report = inspect(&src, &InspectOptions::default()).unwrap();
    assert_eq!(&report.digest, manifest.digest());
    assert_eq!(report.layers.len(), 2);
    assert_eq!(report.labels["org.example.test"], "yes");
    assert_eq!(stevedore::tags(&src).unwrap(), ["skopeo-tag"]);

    let copied = copy_str(
        &oci(&s, "skopeo-tag"),
        &oci(&c, "mine"),
        &CopyOptions::default(),
    )
    .unwrap();
    assert_eq!(&copied.digest, manifest.digest());
    // Every manifest and blob byte is preserved across both copies.
    for blob in manifest.blobs() {
        let original = fs::read(blob_path(&a, &blob.digest)).unwrap();
        assert_eq!(fs::read(blob_path(&s, &blob.digest)).unwrap(), original);
        assert_eq!(fs::read(blob_path(&c, &blob.digest)).unwrap(), original);
    }
    assert_eq!(
        fs::read(blob_path(&c, manifest.digest())).unwrap(),
        manifest.raw()
    );
}

#[test]
fn a_layout_or_dir_under_missing_parents_is_created_with_them_and_removed_on_cancel() {
    let tmp = tempfile::tempdir().unwrap();
    let t = tmp.path();
    let manifest = make_image(&t.join("src"), "1", b"deep\n");
    let src = oci(&t.join("src"), "1");
    let layout = oci(&t.join("missing/dir/lay"), "1");
    let dir = format!("dir:{}", t.join("other/missing/dir").display());
    for dst in [&layout, &dir] {
        let report = copy_str(&src, dst, &CopyOptions::default()).unwrap();
        assert_eq!(&report.digest, manifest.digest());
        assert_eq!(
            stevedore::Digest::sha256(&skopeo_raw(dst)),
            report.digest,
            "{dst}"
        );
    }
    tool_ok(
        "umoci",
        &[
            "stat",
            "--image",
            &format!("{}:1", t.join("missing/dir/lay").display()),
        ],
    );

    // What a cancelled copy created, parents included, is removed.
    let cancel_early = CopyOptions {
        progress: Some(std::sync::Arc::new(
            |_: &stevedore::progress::ProgressEvent| false,
        )),
        ..Default::default()
    };
    for dst in [
        oci(&t.join("gone/a/lay"), "1"),
        format!("dir:{}", t.join("gone/b/dir").display()),
    ] {
        let err = copy_str(&src, &dst, &cancel_early).unwrap_err();
        assert_eq!(err.kind(), ErrorKind::Cancelled, "{dst}: {err}");
        assert!(!t.join("gone").exists(), "{dst} left its parents behind");
    }
}

#[test]
fn tags_share_blobs_retagging_replaces_and_indexes_are_entries() {
    let tmp = tempfile::tempdir().unwrap();
    let (a, b) = (tmp.path().join("a"), tmp.path().join("b"));
    let one = make_image(&a, "one", b"1\n");
    let two = make_image(&a, "two", b"2\n");
    let index = make_index(&a, "multi", &["linux/amd64", "linux/arm64/v8"]);

    let first = copy_str(&oci(&a, "one"), &oci(&b, "x"), &CopyOptions::default()).unwrap();
    assert_eq!(first.blobs_copied, 3);
    let also = copy_str(&oci(&a, "one"), &oci(&b, "y"), &CopyOptions::default()).unwrap();
    assert_eq!(
        (also.blobs_copied, also.blobs_skipped),
        (0, 3),
        "a second tag shares blobs"
    );
    // Retagging x to another image replaces the entry rather than adding one.
    let moved = copy_str(&oci(&a, "two"), &oci(&b, "x"), &CopyOptions::default()).unwrap();
    assert_eq!(
        moved.blobs_skipped, 1,
        "the shared second layer is not copied again"
    );
    let all = CopyOptions {
        all: true,
        ..Default::default()
    };
    let copied = copy_str(&oci(&a, "multi"), &oci(&b, "multi"), &all).unwrap();
    assert_eq!(&copied.digest, index.digest());
    assert_eq!(copied.manifests, 3);

    let layout = OciLayout::new(&b);
    assert_eq!(layout.list_tags().unwrap(), ["y", "x", "multi"]);
    let index_json: serde_json::Value =
        serde_json::from_slice(&fs::read(b.join("index.json")).unwrap()).unwrap();
    assert_eq!(index_json["manifests"].as_array().unwrap().len(), 3);
    let x = layout.get_manifest(&Selector::Tag("x".into())).unwrap();
    assert_eq!(x.digest(), two.digest());
    let y = layout.get_manifest(&Selector::Tag("y".into())).unwrap();
    assert_eq!(y.digest(), one.digest());
    let multi = layout.get_manifest(&Selector::Tag("multi".into())).unwrap();
    assert_eq!(multi.raw(), index.raw());
    assert!(matches!(multi.content(), ManifestContent::Index(_)));

    // skopeo reads the index and picks the arm64 image from it.
    let arm = tool_ok(
        "skopeo",
        &[
            "--override-arch",
            "arm64",
            "--override-os",
            "linux",
            "inspect",
            &oci(&b, "multi"),
        ],
    );
    let arm: serde_json::Value = serde_json::from_slice(&arm).unwrap();
    assert_eq!(arm["Architecture"], "arm64");
    tool_ok("umoci", &["stat", "--image", &format!("{}:y", b.display())]);
}

#[test]
fn copying_one_platform_from_an_index() {
    let tmp = tempfile::tempdir().unwrap();
    let (a, b) = (tmp.path().join("a"), tmp.path().join("b"));
    let index = make_index(
        &a,
        "multi",
        &["linux/amd64", "linux/arm64/v8", "linux/s390x"],
    );
    let ManifestContent::Index(entries) = index.content() else {
        panic!()
    };
    let arm = CopyOptions {
        platform: Some("linux/aarch64".parse().unwrap()),
        ..Default::default()
    };
    let report = copy_str(&oci(&a, "multi"), &oci(&b, "arm"), &arm).unwrap();
    assert_eq!(
        report.digest, entries.manifests[1].digest,
        "the arm64 image alone"
    );
    let info = inspect(&parse(&oci(&b, "arm")).unwrap(), &InspectOptions::default()).unwrap();
    assert_eq!(info.platform, "linux/arm64/v8");

    let report = inspect(
        &parse(&oci(&a, "multi")).unwrap(),
        &InspectOptions {
            platform: Some("linux/s390x".parse().unwrap()),
            ..InspectOptions::default()
        },
    )
    .unwrap();
    assert_eq!(report.digest, *index.digest());
    assert_eq!(report.image_digest, entries.manifests[2].digest);
    assert_eq!(report.index.unwrap().len(), 3);

    let missing = CopyOptions {
        platform: Some("linux/riscv64".parse().unwrap()),
        ..Default::default()
    };
    let err = copy_str(&oci(&a, "multi"), &oci(&b, "none"), &missing).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::NotFound);
    assert!(
        err.message().contains("linux/riscv64") && err.message().contains("linux/s390x"),
        "{err}"
    );
}

#[test]
fn delete_removes_the_tag_and_only_unshared_blobs() {
    let tmp = tempfile::tempdir().unwrap();
    let a = tmp.path().join("a");
    let one = make_image(&a, "one", b"1\n");
    let two = make_image(&a, "two", b"2\n");
    let layout = OciLayout::new(&a);
    layout.delete(&Selector::Tag("one".into())).unwrap();
    assert_eq!(layout.list_tags().unwrap(), ["two"]);
    assert!(!blob_path(&a, one.digest()).exists());
    assert!(
        !blob_path(&a, &one.blobs()[1].digest).exists(),
        "the unshared layer is gone"
    );
    for blob in two.blobs() {
        assert!(
            blob_path(&a, &blob.digest).exists(),
            "blob of the kept image {}",
            blob.digest
        );
    }
    tool_ok(
        "umoci",
        &["stat", "--image", &format!("{}:two", a.display())],
    );
    let err = layout.delete(&Selector::Tag("one".into())).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::NotFound);
}

/// A failing copy gives `kind` with a message containing `word`, and leaves the
/// destination exactly as it was: an existing layout unchanged, a new one not created.
fn assert_copy_fails_cleanly(src: &str, kind: ErrorKind, word: &str) {
    let tmp = tempfile::tempdir().unwrap();
    let existing = tmp.path().join("existing");
    make_image(&existing, "keep", b"keep me\n");
    let before = snapshot(&existing);
    let err = copy_str(src, &oci(&existing, "new"), &CopyOptions::default()).unwrap_err();
    assert_eq!(err.kind(), kind, "{src}: {err}");
    assert!(
        err.message().contains(word),
        "{src}: message {:?} should mention {word:?}",
        err.message()
    );
    assert_eq!(
        snapshot(&existing).keys().collect::<Vec<_>>(),
        before.keys().collect::<Vec<_>>()
    );
    assert!(
        snapshot(&existing) == before,
        "the existing destination changed"
    );

    let fresh = tmp.path().join("fresh");
    let err = copy_str(src, &oci(&fresh, "new"), &CopyOptions::default()).unwrap_err();
    assert_eq!(err.kind(), kind);
    assert!(
        !fresh.exists(),
        "a failed copy left {} behind",
        fresh.display()
    );
}

#[test]
fn a_corrupt_blob_is_a_digest_mismatch_and_changes_nothing() {
    let tmp = tempfile::tempdir().unwrap();
    let a = tmp.path().join("a");
    let m = make_image(&a, "1", b"x\n");
    // The first layer: the second is shared with the destination's image.
    let layer = blob_path(&a, &m.blobs()[1].digest);
    let mut bytes = fs::read(&layer).unwrap();
    let last = bytes.len() - 1;
    bytes[last] ^= 0xff;
    fs::write(&layer, bytes).unwrap();
    assert_copy_fails_cleanly(&oci(&a, "1"), ErrorKind::DigestMismatch, "does not match");
}

#[test]
fn a_blob_of_the_wrong_size_fails_before_anything_is_written() {
    let tmp = tempfile::tempdir().unwrap();
    let a = tmp.path().join("a");
    let m = make_image(&a, "1", b"x\n");
    let layer = blob_path(&a, &m.blobs()[1].digest);
    let mut bytes = fs::read(&layer).unwrap();
    bytes.extend_from_slice(b"extra");
    fs::write(&layer, bytes).unwrap();
    assert_copy_fails_cleanly(&oci(&a, "1"), ErrorKind::DigestMismatch, "bytes");
}

#[test]
fn a_missing_blob_is_not_found() {
    let tmp = tempfile::tempdir().unwrap();
    let a = tmp.path().join("a");
    let m = make_image(&a, "1", b"x\n");
    // The first layer, which the destinations lack (a blob the destination
    // has is not read from the source at all).
    fs::remove_file(blob_path(&a, &m.blobs()[1].digest)).unwrap();
    assert_copy_fails_cleanly(&oci(&a, "1"), ErrorKind::NotFound, "missing");
}

#[test]
fn a_malformed_index_json_is_invalid_input() {
    let tmp = tempfile::tempdir().unwrap();
    let a = tmp.path().join("a");
    make_image(&a, "1", b"x\n");
    fs::write(
        a.join("index.json"),
        b"{\"schemaVersion\": 2, \"manifests\": [",
    )
    .unwrap();
    assert_copy_fails_cleanly(&oci(&a, "1"), ErrorKind::InvalidInput, "index.json");
    fs::write(a.join("index.json"), b"{\"schemaVersion\": 2}").unwrap();
    assert_copy_fails_cleanly(&oci(&a, "1"), ErrorKind::InvalidInput, "manifests");
}

#[test]
fn digests_that_try_path_traversal_are_refused() {
    let tmp = tempfile::tempdir().unwrap();
    let a = tmp.path().join("a");
    let m = make_image(&a, "1", b"x\n");
    fs::write(tmp.path().join("x"), b"outside").unwrap();
    // In index.json.
    let index = fs::read_to_string(a.join("index.json")).unwrap();
    fs::write(
        a.join("index.json"),
        index.replace(&m.digest().to_string(), "sha256:../../x"),
    )
    .unwrap();
    assert_copy_fails_cleanly(&oci(&a, "1"), ErrorKind::InvalidInput, "sha256:../../x");
    fs::write(a.join("index.json"), index).unwrap();

    // In a manifest's layer list: the manifest is re-digested and re-tagged so
    // that only the traversal is wrong.
    let b = tmp.path().join("b");
    let raw = String::from_utf8(m.raw().to_vec()).unwrap();
    let hostile = raw.replace(&m.blobs()[1].digest.to_string(), "sha256:../../../../x");
    let hostile_digest = stevedore::Digest::sha256(hostile.as_bytes());
    fs::create_dir_all(b.join("blobs/sha256")).unwrap();
    fs::write(b.join("oci-layout"), br#"{"imageLayoutVersion":"1.0.0"}"#).unwrap();
    fs::write(blob_path(&b, &hostile_digest), &hostile).unwrap();
    let entry = serde_json::json!({"schemaVersion": 2, "manifests": [{
        "mediaType": "application/vnd.oci.image.manifest.v1+json",
        "digest": hostile_digest.to_string(), "size": hostile.len(),
        "annotations": {"org.opencontainers.image.ref.name": "1"}}]});
    fs::write(b.join("index.json"), entry.to_string()).unwrap();
    assert_copy_fails_cleanly(
        &oci(&b, "1"),
        ErrorKind::InvalidInput,
        "sha256:../../../../x",
    );
}

#[test]
fn unknown_tags_and_layouts_are_not_found_with_the_tags_listed() {
    let tmp = tempfile::tempdir().unwrap();
    let a = tmp.path().join("a");
    make_image(&a, "1.0", b"x\n");
    let err = copy_str(
        &oci(&a, "2.0"),
        &oci(&tmp.path().join("b"), "x"),
        &CopyOptions::default(),
    )
    .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::NotFound);
    assert!(
        err.message().contains("\"2.0\"") && err.message().contains("1.0"),
        "{err}"
    );
    let err = inspect(
        &parse(&oci(&tmp.path().join("nope"), "x")).unwrap(),
        &InspectOptions::default(),
    )
    .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::NotFound);
    assert!(err.message().contains("no OCI layout"), "{err}");
    // A non-empty directory that is not a layout is never written into.
    let busy = tmp.path().join("busy");
    fs::create_dir(&busy).unwrap();
    fs::write(busy.join("notes.txt"), b"mine").unwrap();
    let err = copy_str(&oci(&a, "1.0"), &oci(&busy, "x"), &CopyOptions::default()).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::InvalidInput);
    assert_eq!(snapshot(&busy).len(), 1);
}
