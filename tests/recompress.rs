//! `copy --dest-compress-format gzip|zstd` and `--dest-compress-level`:
//! layers recompressed on the way, judged by peers. skopeo reads and copies
//! the zstd results; umoci 0.4 reads no zstd, so the zstd image is brought
//! back to gzip (by skopeo, and by us at level 1) and umoci unpacks those to
//! the same tree as the gzip original.

mod common;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use common::registry::Registry;
use common::*;
use serde_json::Value;

const ZSTD: &str = "application/vnd.oci.image.layer.v1.tar+zstd";
const GZIP: &str = "application/vnd.oci.image.layer.v1.tar+gzip";
const ZSTD_MAGIC: [u8; 4] = [0x28, 0xb5, 0x2f, 0xfd];

fn stevedore(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_stevedore"))
        .args(args)
        .output()
        .expect("run stevedore")
}

fn ours(args: &[&str]) -> Vec<u8> {
    let out = stevedore(args);
    assert!(
        out.status.success(),
        "stevedore {args:?} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    out.stdout
}

fn json(bytes: &[u8]) -> Value {
    serde_json::from_slice(bytes).unwrap()
}

/// What `umoci unpack` makes of `dir:tag`: every file below rootfs with its
/// contents.
fn unpacked(dir: &Path, tag: &str, work: &Path) -> BTreeMap<PathBuf, Vec<u8>> {
    let bundle = work.join(format!(
        "bundle-{}",
        dir.file_name().unwrap().to_string_lossy()
    ));
    tool_ok(
        "umoci",
        &[
            "unpack",
            "--rootless",
            "--image",
            &format!("{}:{tag}", dir.display()),
            bundle.to_str().unwrap(),
        ],
    );
    let tree = snapshot(&bundle.join("rootfs"));
    assert!(tree.contains_key(Path::new("etc/hello")), "{tree:?}");
    tree
}

fn layers(manifest: &Value) -> Vec<(String, String)> {
    manifest["layers"]
        .as_array()
        .unwrap()
        .iter()
        .map(|l| {
            (
                l["mediaType"].as_str().unwrap().to_owned(),
                l["digest"].as_str().unwrap().to_owned(),
            )
        })
        .collect()
}

#[test]
fn zstd_copies_are_read_by_skopeo_and_unpack_as_the_gzip_original() {
    let registry = Registry::start();
    let tmp = tempfile::tempdir().unwrap();
    let original = tmp.path().join("original");
    let source = make_image(&original, "1.0", b"recompressed\n");
    make_index(&original, "multi", &["linux/amd64", "linux/arm64"]);
    let source = json(source.raw());

    // Into oci: and into docker-registry, reporting the new layer digests.
    let zst = tmp.path().join("zst");
    let report = json(&ours(&[
        "copy",
        "--json",
        "--dest-compress-format",
        "zstd",
        &oci(&original, "1.0"),
        &oci(&zst, "1.0"),
    ]));
    let pushed = registry.image("z/app:1.0");
    let text = String::from_utf8(ours(&[
        "--tls-verify=false",
        "copy",
        "--dest-compress-format",
        "zstd",
        &oci(&original, "1.0"),
        &pushed,
    ]))
    .unwrap();
    // The source is an image manifest, rewritten: never called an index.
    assert!(
        text.contains("(the source's top-level manifest)") && !text.contains("index"),
        "{text}"
    );
    for image in [oci(&zst, "1.0"), pushed.clone()] {
        let manifest = json(&skopeo_raw(&image));
        assert_eq!(manifest["config"], source["config"], "config unchanged");
        let (new, old) = (layers(&manifest), layers(&source));
        assert_eq!(new.len(), old.len());
        for ((media_type, digest), (_, old_digest)) in new.iter().zip(&old) {
            assert_eq!(media_type, ZSTD);
            assert_ne!(digest, old_digest);
        }
        let mut inspect = vec!["inspect"];
        if image.starts_with("docker://") {
            inspect.push("--tls-verify=false");
        }
        inspect.push(&image);
        let skopeo = json(&tool_ok("skopeo", &inspect));
        assert_eq!(skopeo["Digest"], report["digest"], "{image}");
        let recompressed: Vec<&str> = report["recompressed"]
            .as_array()
            .unwrap()
            .iter()
            .map(|r| r["digest"].as_str().unwrap())
            .collect();
        let new_digests: Vec<&str> = new.iter().map(|(_, d)| d.as_str()).collect();
        assert_eq!(recompressed, new_digests);
    }
    let (_, first) = &layers(&json(&skopeo_raw(&oci(&zst, "1.0"))))[0];
    let blob = std::fs::read(blob_path(&zst, &first.parse().unwrap())).unwrap();
    assert_eq!(blob[..4], ZSTD_MAGIC, "the blob is zstd");

    // Our own readers take the zstd image.
    let listing = String::from_utf8(ours(&["ls", &oci(&zst, "1.0")])).unwrap();
    assert!(listing.contains("etc/second"), "{listing}");
    assert_eq!(
        ours(&["--tls-verify=false", "cat", &pushed, "/etc/hello"]),
        b"recompressed\n"
    );

    // skopeo copies our zstd image back to gzip; umoci unpacks it as the
    // original.
    let by_skopeo = tmp.path().join("by-skopeo");
    skopeo_copy(
        &pushed,
        &oci(&by_skopeo, "1.0"),
        &["--dest-compress-format", "gzip"],
    );
    let expected = unpacked(&original, "1.0", tmp.path());
    assert_eq!(unpacked(&by_skopeo, "1.0", tmp.path()), expected);

    // And so do we, at level 1.
    let back = tmp.path().join("back");
    ours(&[
        "copy",
        "--dest-compress-format",
        "gzip",
        "--dest-compress-level",
        "1",
        &oci(&zst, "1.0"),
        &oci(&back, "1.0"),
    ]);
    let manifest = json(&skopeo_raw(&oci(&back, "1.0")));
    assert!(layers(&manifest).iter().all(|(t, _)| t == GZIP));
    assert_eq!(manifest["config"], source["config"]);
    assert_eq!(unpacked(&back, "1.0", tmp.path()), expected);

    // Multi-arch: every platform's layers.
    let multi = registry.image("z/app:multi");
    ours(&[
        "--tls-verify=false",
        "copy",
        "--all",
        "--dest-compress-format",
        "zstd",
        &oci(&original, "multi"),
        &multi,
    ]);
    let index = json(&skopeo_raw(&multi));
    let entries = index["manifests"].as_array().unwrap();
    assert_eq!(entries.len(), 2);
    for entry in entries {
        let child = registry.image(&format!("z/app@{}", entry["digest"].as_str().unwrap()));
        let child = json(&skopeo_raw(&child));
        assert!(layers(&child).iter().all(|(t, _)| t == ZSTD), "{child}");
    }
}

#[test]
fn bad_compression_requests_are_refused_clearly() {
    let tmp = tempfile::tempdir().unwrap();
    let original = tmp.path().join("original");
    make_image(&original, "1.0", b"refused\n");
    let src = oci(&original, "1.0");
    let dst = tmp.path().join("dst");
    let dst_arg = format!("dir:{}", dst.display());
    let refused = |args: &[&str], status: i32, says: &str| {
        let mut all = vec!["copy"];
        all.extend_from_slice(args);
        all.extend([src.as_str(), dst_arg.as_str()]);
        let out = stevedore(&all);
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(status), "{args:?}: {stderr}");
        assert!(stderr.contains(says), "{args:?}: {stderr}");
        assert!(!dst.exists(), "{args:?} left a destination behind");
    };
    refused(&["--dest-compress-format", "lz4"], 2, "gzip or zstd");
    refused(
        &[
            "--dest-compress-format",
            "zstd",
            "--dest-compress-level",
            "99",
        ],
        2,
        "1..=22",
    );
    refused(
        &[
            "--dest-compress-format",
            "gzip",
            "--dest-compress-level",
            "15",
        ],
        2,
        "Gzip takes 1 to 9",
    );
    refused(&["--dest-compress-level", "3"], 2, "--dest-compress-format");
    refused(&["--jobs", "0"], 2, "--jobs");
    refused(
        &["--dest-compress-format", "zstd", "--format", "v2s2"],
        1,
        "no zstd layer media type",
    );
    refused(
        &["--dest-compress-format", "gzip", "--referrers"],
        1,
        "signatures would not sign the copy",
    );
}
