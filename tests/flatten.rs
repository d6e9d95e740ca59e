//! Flatten, layer remove/replace and index annotations, judged by peers:
//! umoci unpacks what we write, buildah reads it, and the merged view of a
//! flattened image is the original's.

mod common;

use std::collections::BTreeMap;
use std::fs;
use std::os::unix::fs::PermissionsExt;
use std::path::Path;
use std::process::Command;

use common::{oci, snapshot, tool_ok};
use serde_json::Value;
use stevedore::build::{BuildSpec, Staged};
use stevedore::layer::EntryKind;
use stevedore::manifest::{ImageIndex, Manifest, ManifestContent};
use stevedore::registry::{Client, ClientOptions};
use stevedore::transport::{parse, ImageRef};
use stevedore::{CopyOptions, ErrorKind, FilesOptions, ImageFs};

fn client() -> Client {
    Client::new(ClientOptions::default()).unwrap()
}

fn write_file(path: &Path, bytes: &[u8], mode: u32) {
    fs::create_dir_all(path.parent().unwrap()).unwrap();
    fs::write(path, bytes).unwrap();
    fs::set_permissions(path, fs::Permissions::from_mode(mode)).unwrap();
}

/// Three layer trees: a base, one that deletes, overwrites and makes a
/// directory opaque (whiteouts), one that adds a symlink and a file.
fn layer_dirs(w: &Path) {
    write_file(&w.join("l0/etc/keep"), b"keep\n", 0o644);
    write_file(&w.join("l0/etc/gone"), b"gone\n", 0o644);
    write_file(&w.join("l0/etc/changed"), b"old\n", 0o644);
    write_file(&w.join("l0/var/cache/a"), b"a\n", 0o600);
    write_file(&w.join("l0/var/cache/b"), b"b\n", 0o600);
    write_file(&w.join("l1/etc/.wh.gone"), b"", 0o644);
    write_file(&w.join("l1/etc/changed"), b"new and longer\n", 0o755);
    write_file(&w.join("l1/var/cache/.wh..wh..opq"), b"", 0o644);
    write_file(&w.join("l1/var/cache/c"), b"c\n", 0o640);
    write_file(&w.join("l2/usr/bin/tool"), b"#!/bin/sh\n", 0o755);
    fs::create_dir_all(w.join("l2/usr/lib")).unwrap();
    std::os::unix::fs::symlink("../bin/tool", w.join("l2/usr/lib/tool")).unwrap();
}

/// Builds an image of the given layer directories for `platform` at `tag`
/// of `w/layout`.
fn build(w: &Path, platform: &str, dirs: &[&str], tag: &str) -> ImageRef {
    let layers: Vec<String> = dirs
        .iter()
        .map(|d| format!(r#"{{"dir": "{d}"}}"#))
        .collect();
    let spec = format!(
        r#"{{"platform": "{platform}", "layers": [{}], "config": {{"cmd": ["/usr/bin/tool"], "labels": {{"a": "b"}}}},
            "annotations": {{"org.example.kept": "yes"}}}}"#,
        layers.join(",")
    );
    let spec = BuildSpec::from_json(&spec, "test").unwrap();
    let image = stevedore::build(&spec, w, &client()).unwrap();
    let dst = parse(&oci(&w.join("layout"), tag)).unwrap();
    stevedore::write_image(&image, &dst).unwrap();
    dst
}

type Seen = (EntryKind, u32, u64, Option<String>, Option<String>);

/// The merged view of `image`: path → type, mode, size, link target, content digest.
fn view(image: &ImageRef) -> BTreeMap<String, Seen> {
    let fs = ImageFs::open(image, &FilesOptions::default(), true).unwrap();
    fs.entries()
        .map(|e| {
            let seen = (
                e.kind,
                e.mode,
                e.size,
                e.link_target.clone(),
                e.digest.as_ref().map(ToString::to_string),
            );
            (e.path.clone(), seen)
        })
        .collect()
}

/// What `umoci unpack --rootless` makes of `tag`: path → (mode, content or link target).
fn unpacked(layout: &Path, tag: &str, bundle: &Path) -> BTreeMap<String, (u32, Vec<u8>)> {
    tool_ok(
        "umoci",
        &[
            "unpack",
            "--rootless",
            "--image",
            &format!("{}:{tag}", layout.display()),
            bundle.to_str().unwrap(),
        ],
    );
    let root = bundle.join("rootfs");
    let mut tree = BTreeMap::new();
    walk(&root, &root, &mut tree);
    tree
}

fn walk(root: &Path, dir: &Path, tree: &mut BTreeMap<String, (u32, Vec<u8>)>) {
    for item in fs::read_dir(dir).unwrap() {
        let path = item.unwrap().path();
        let meta = fs::symlink_metadata(&path).unwrap();
        let rel = path.strip_prefix(root).unwrap().display().to_string();
        let mode = meta.permissions().mode() & 0o7777;
        if meta.is_dir() {
            tree.insert(rel, (mode, Vec::new()));
            walk(root, &path, tree);
        } else if meta.file_type().is_symlink() {
            let target = fs::read_link(&path).unwrap();
            tree.insert(rel, (0, target.display().to_string().into_bytes()));
        } else {
            tree.insert(rel, (mode, fs::read(&path).unwrap()));
        }
    }
}

fn config_of(image: &ImageRef) -> Value {
    serde_json::from_slice(&stevedore::raw_config(image, &Default::default()).unwrap()).unwrap()
}

fn index_entries(r: &ImageRef) -> (Manifest, ImageIndex) {
    let m = r.transport().get_manifest(&r.resolve().unwrap()).unwrap();
    let ManifestContent::Index(i) = m.content() else {
        panic!("not an index")
    };
    let i = i.as_ref().clone();
    (m, i)
}

#[test]
fn flatten_keeps_the_merged_view_in_one_layer() {
    let work = tempfile::tempdir().unwrap();
    let w = work.path();
    layer_dirs(w);
    let layout = w.join("layout");
    let original = build(w, "linux/amd64", &["l0", "l1", "l2"], "v1");
    let flat = parse(&oci(&layout, "flat")).unwrap();
    let report = stevedore::flatten(&original, None, &flat).unwrap();

    let before = view(&original);
    assert!(!before.contains_key("etc/gone") && !before.contains_key("var/cache/a"));
    assert_eq!(
        view(&flat),
        before,
        "the flattened layer lists the merged view"
    );

    let config = config_of(&flat);
    assert_eq!(config["rootfs"]["diff_ids"].as_array().unwrap().len(), 1);
    assert_eq!(config["history"].as_array().unwrap().len(), 1);
    assert_eq!(config["config"]["Labels"]["a"], "b");
    let image = stevedore::read_image(&flat, None).unwrap();
    assert_eq!(image.layers().len(), 1);
    assert_eq!(image.annotations()["org.example.kept"], "yes");

    let (a, b) = (w.join("bundle-a"), w.join("bundle-b"));
    let unpacked_original = unpacked(&layout, "v1", &a);
    assert!(unpacked_original.contains_key("usr/lib/tool"));
    assert_eq!(unpacked(&layout, "flat", &b), unpacked_original);

    let again = stevedore::flatten(&original, None, &parse(&oci(&layout, "flat2")).unwrap());
    assert_eq!(
        again.unwrap().digest,
        report.digest,
        "flatten is reproducible"
    );
}

#[test]
fn flatten_of_an_index_flattens_each_platform_or_the_one_asked() {
    let work = tempfile::tempdir().unwrap();
    let w = work.path();
    layer_dirs(w);
    let layout = w.join("layout");
    let amd = build(w, "linux/amd64", &["l0", "l1"], "amd");
    let arm = build(w, "linux/arm64/v8", &["l0", "l2"], "arm");
    let index = parse(&oci(&layout, "multi")).unwrap();
    stevedore::index_create(&[amd, arm], &index).unwrap();
    let (_, old) = index_entries(&index);

    let one = parse(&oci(&layout, "one")).unwrap();
    let arm64 = "linux/arm64".parse().unwrap();
    stevedore::flatten(&index, Some(&arm64), &one).unwrap();
    let (_, new) = index_entries(&one);
    assert_eq!(old.manifests[0], new.manifests[0], "amd64 untouched");
    assert_ne!(old.manifests[1].digest, new.manifests[1].digest);
    assert_eq!(old.manifests[1].platform, new.manifests[1].platform);

    let all = parse(&oci(&layout, "all")).unwrap();
    stevedore::flatten(&index, None, &all).unwrap();
    let (_, new) = index_entries(&all);
    for (i, entry) in new.manifests.iter().enumerate() {
        assert_ne!(entry.digest, old.manifests[i].digest);
        let child = all.with_selector(Some(stevedore::transport::Selector::Digest(
            entry.digest.clone(),
        )));
        let source = index.with_selector(Some(stevedore::transport::Selector::Digest(
            old.manifests[i].digest.clone(),
        )));
        assert_eq!(
            stevedore::read_image(&child, None).unwrap().layers().len(),
            1
        );
        assert_eq!(view(&child), view(&source));
    }
    common::skopeo_copy(
        &oci(&layout, "all"),
        &oci(&w.join("judge"), "x"),
        &["--all"],
    );

    let before = snapshot(&layout);
    let s390x = "linux/s390x".parse().unwrap();
    let err = stevedore::flatten(&index, Some(&s390x), &parse(&oci(&layout, "bad")).unwrap())
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::NotFound, "{err}");
    assert_eq!(snapshot(&layout), before, "a failed flatten writes nothing");
}

/// Runs the CLI; `Ok(stdout)` on success, `Err(stderr)` on failure.
fn cli(args: &[&str]) -> Result<String, String> {
    let out = Command::new(env!("CARGO_BIN_EXE_stevedore"))
        .args(args)
        .output()
        .unwrap();
    if out.status.success() {
        Ok(String::from_utf8(out.stdout).unwrap().trim().to_owned())
    } else {
        Err(String::from_utf8(out.stderr).unwrap())
    }
}

#[test]
fn the_cli_flattens_and_removes_and_replaces_layers() {
    let work = tempfile::tempdir().unwrap();
    let w = work.path();
    layer_dirs(w);
    let layout = w.join("layout");
    build(w, "linux/amd64", &["l0", "l1", "l2"], "v1");
    let v1 = oci(&layout, "v1");

    let flat = cli(&["flatten", &v1, "-t", &oci(&layout, "flat")]).unwrap();
    let flat_ref = parse(&oci(&layout, "flat")).unwrap();
    assert_eq!(
        flat,
        stevedore::inspect::raw_manifest(&flat_ref)
            .unwrap()
            .digest()
            .to_string()
    );

    cli(&[
        "layer",
        "remove",
        &v1,
        "--index",
        "2",
        "-t",
        &oci(&layout, "removed"),
    ])
    .unwrap();
    let tree = unpacked(&layout, "removed", &w.join("removed"));
    assert!(!tree.contains_key("usr/bin/tool"), "layer 2's file is gone");
    assert_eq!(tree["etc/changed"], (0o755, b"new and longer\n".to_vec()));
    let config = config_of(&parse(&oci(&layout, "removed")).unwrap());
    assert_eq!(config["rootfs"]["diff_ids"].as_array().unwrap().len(), 2);
    assert_eq!(config["history"].as_array().unwrap().len(), 2);

    write_file(&w.join("new/etc/changed"), b"replaced\n", 0o600);
    let tar = w.join("new.tar");
    tool_ok(
        "tar",
        &[
            "-cf",
            tar.to_str().unwrap(),
            "-C",
            w.join("new").to_str().unwrap(),
            "etc",
        ],
    );
    cli(&[
        "layer",
        "replace",
        &v1,
        "--index",
        "1",
        "-f",
        tar.to_str().unwrap(),
        "-t",
        &oci(&layout, "replaced"),
    ])
    .unwrap();
    let tree = unpacked(&layout, "replaced", &w.join("replaced"));
    assert_eq!(tree["etc/changed"], (0o600, b"replaced\n".to_vec()));
    assert!(
        tree.contains_key("etc/gone"),
        "the old layer's whiteout went with it"
    );
    assert!(tree.contains_key("usr/bin/tool"));
    let replaced = stevedore::read_image(&parse(&oci(&layout, "replaced")).unwrap(), None).unwrap();
    assert_eq!(
        replaced.layers()[1].descriptor.size,
        fs::metadata(&tar).unwrap().len()
    );

    let before = snapshot(&layout);
    let err = cli(&[
        "layer",
        "remove",
        &v1,
        "--index",
        "3",
        "-t",
        &oci(&layout, "bad"),
    ])
    .unwrap_err();
    assert!(err.contains("layer 3 does not exist"), "{err}");
    let err = cli(&[
        "layer",
        "replace",
        &v1,
        "--index",
        "0",
        "-f",
        "/nonexistent/layer.tar",
        "-t",
        &oci(&layout, "bad"),
    ])
    .unwrap_err();
    assert!(err.contains("/nonexistent/layer.tar"), "{err}");
    assert_eq!(snapshot(&layout), before, "a failed change writes nothing");
}

#[test]
fn index_add_and_remove_keep_the_index_annotations() {
    let work = tempfile::tempdir().unwrap();
    let w = work.path();
    layer_dirs(w);
    let layout = w.join("layout");
    let amd = build(w, "linux/amd64", &["l0"], "amd");
    let arm = build(w, "linux/arm64/v8", &["l2"], "arm");
    let amd_image = stevedore::read_image(&amd, None).unwrap();
    let mut index = ImageIndex::oci(vec![amd_image.index_entry().unwrap()]);
    index.annotations.insert(
        "org.opencontainers.image.version".to_owned(),
        "1.2".to_owned(),
    );
    let manifest = Manifest::build(ManifestContent::Index(Box::new(index))).unwrap();
    let staged = Staged::index(manifest, &[amd_image]).unwrap().into_ref();
    let annotated = parse(&oci(&layout, "annotated")).unwrap();
    let options = CopyOptions {
        all: true,
        ..CopyOptions::default()
    };
    stevedore::copy(&staged, &annotated, &options).unwrap();

    let added = parse(&oci(&layout, "added")).unwrap();
    stevedore::index_add(&annotated, &arm, &added).unwrap();
    let (_, index) = index_entries(&added);
    assert_eq!(index.manifests.len(), 2);
    assert_eq!(index.annotations["org.opencontainers.image.version"], "1.2");

    let removed = parse(&oci(&layout, "removed")).unwrap();
    stevedore::index_remove(&added, &"linux/amd64".parse().unwrap(), &removed).unwrap();
    let (_, index) = index_entries(&removed);
    assert_eq!(index.manifests.len(), 1);
    assert_eq!(index.annotations["org.opencontainers.image.version"], "1.2");
}

/// A directory removed on drop, with a lowercase path: buildah names an
/// `oci:` image after its path, and names must be lowercase.
struct LowercaseDir(std::path::PathBuf);

impl Drop for LowercaseDir {
    fn drop(&mut self) {
        let _ = fs::remove_dir_all(&self.0);
    }
}

#[test]
fn buildah_reads_an_image_we_build() {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_nanos();
    let work = LowercaseDir(
        std::env::temp_dir().join(format!("stevedore-buildah-{}-{nanos}", std::process::id())),
    );
    fs::create_dir_all(&work.0).unwrap();
    let w = work.0.as_path();
    layer_dirs(w);
    let layout = w.join("layout");
    build(w, "linux/amd64", &["l0", "l1", "l2"], "v1");
    stevedore::flatten(
        &parse(&oci(&layout, "v1")).unwrap(),
        None,
        &parse(&oci(&layout, "flat")).unwrap(),
    )
    .unwrap();
    let (root, runroot) = (w.join("storage"), w.join("run"));
    let buildah = |args: &[&str]| {
        let mut all = vec![
            "--root",
            root.to_str().unwrap(),
            "--runroot",
            runroot.to_str().unwrap(),
            "--storage-driver",
            "vfs",
        ];
        all.extend_from_slice(args);
        tool_ok("buildah", &all)
    };
    for tag in ["v1", "flat"] {
        let name = format!("stevedore-{tag}");
        buildah(&["from", "--name", &name, "--pull-never", &oci(&layout, tag)]);
        let inspect: Value = serde_json::from_slice(&buildah(&["inspect", &name])).unwrap();
        assert_eq!(inspect["OCIv1"]["config"]["Labels"]["a"], "b", "{tag}");
        assert_eq!(
            inspect["OCIv1"]["config"]["Cmd"],
            serde_json::json!(["/usr/bin/tool"])
        );
        let layers = if tag == "flat" { 1 } else { 3 };
        assert_eq!(
            inspect["OCIv1"]["rootfs"]["diff_ids"]
                .as_array()
                .unwrap()
                .len(),
            layers,
            "{tag}"
        );
        buildah(&["rm", &name]);
    }
}
