//! The merged layer view judged by umoci: hand-made layers with whiteouts,
//! opaque directories, hard links, symlinks and replacements, and a real
//! tree of this machine, listed, read, exported and diffed; hostile layers
//! stopped with typed errors.

mod common;

use std::collections::BTreeSet;
use std::io::Write;
use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::Path;

use stevedore::descriptor::Descriptor;
use stevedore::layer::EntryKind;
use stevedore::manifest::{ImageManifest, Manifest, ManifestContent};
use stevedore::media_types;
use stevedore::transport::{OciLayout, Transport};
use stevedore::{Digest, ErrorKind, FilesOptions, ImageFs};

/// One hand-made tar entry.
enum E<'a> {
    Dir(&'a str, u32),
    File(&'a str, u32, &'a [u8]),
    Sym(&'a str, &'a str),
    Hard(&'a str, &'a str),
}

fn tar_of(entries: &[E]) -> Vec<u8> {
    let mut b = tar::Builder::new(Vec::new());
    for e in entries {
        let mut h = tar::Header::new_gnu();
        h.set_uid(0);
        h.set_gid(0);
        h.set_mtime(1_700_000_000);
        h.set_size(0);
        match e {
            E::Dir(p, m) => {
                h.set_entry_type(tar::EntryType::Directory);
                h.set_mode(*m);
                b.append_data(&mut h, p, std::io::empty()).unwrap();
            }
            E::File(p, m, c) => {
                h.set_entry_type(tar::EntryType::Regular);
                h.set_mode(*m);
                h.set_size(c.len() as u64);
                b.append_data(&mut h, p, *c).unwrap();
            }
            E::Sym(p, t) => {
                h.set_entry_type(tar::EntryType::Symlink);
                h.set_mode(0o777);
                b.append_link(&mut h, p, t).unwrap();
            }
            E::Hard(p, t) => {
                h.set_entry_type(tar::EntryType::Link);
                h.set_mode(0o644);
                b.append_link(&mut h, p, t).unwrap();
            }
        }
    }
    b.into_inner().unwrap()
}

#[derive(Clone, Copy)]
enum Z {
    None,
    Gzip,
    Zstd,
    /// gzip bytes under the zstd media type.
    Mislabelled,
}

fn compress(tar: &[u8], z: Z) -> (Vec<u8>, &'static str) {
    match z {
        Z::None => (tar.to_vec(), media_types::OCI_LAYER),
        Z::Gzip | Z::Mislabelled => {
            let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
            gz.write_all(tar).unwrap();
            let media = if matches!(z, Z::Gzip) {
                media_types::OCI_LAYER_GZIP
            } else {
                media_types::OCI_LAYER_ZSTD
            };
            (gz.finish().unwrap(), media)
        }
        Z::Zstd => (
            zstd::encode_all(tar, 3).unwrap(),
            media_types::OCI_LAYER_ZSTD,
        ),
    }
}

/// Writes an image of `tars` (uncompressed, base first) into the layout at
/// `dir` under `tag`, each layer compressed as `z`; returns `oci:DIR:TAG`.
fn image(dir: &Path, tag: &str, tars: &[Vec<u8>], z: Z) -> String {
    let layers: Vec<(Vec<u8>, &str, &[u8])> = tars
        .iter()
        .map(|tar| {
            let (bytes, media) = compress(tar, z);
            (bytes, media, tar.as_slice())
        })
        .collect();
    common::image_of_layers(dir, tag, &layers)
}

/// (path, type, mode, size, link target, content digest) of one entry.
type Row = (
    String,
    &'static str,
    u32,
    u64,
    Option<String>,
    Option<String>,
);

fn ours(name: &str) -> BTreeSet<Row> {
    let image = stevedore::parse_image(name).unwrap();
    let fs = ImageFs::open(&image, &FilesOptions::default(), true).unwrap();
    fs.entries()
        .map(|e| {
            let kind = match e.kind {
                EntryKind::File | EntryKind::Hardlink => "file",
                EntryKind::Dir => "dir",
                EntryKind::Symlink => "symlink",
                _ => "other",
            };
            let size = if kind == "file" { e.size } else { 0 };
            let link = (kind == "symlink").then(|| e.link_target.clone().unwrap());
            let digest = e.digest.as_ref().map(|d| d.hex().to_owned());
            (e.path.clone(), kind, e.mode, size, link, digest)
        })
        .collect()
}

/// The same rows for a directory tree on disk.
fn walk(root: &Path) -> BTreeSet<Row> {
    let mut rows = BTreeSet::new();
    let mut stack = vec![root.to_path_buf()];
    while let Some(dir) = stack.pop() {
        for item in std::fs::read_dir(&dir).unwrap() {
            let path = item.unwrap().path();
            let meta = std::fs::symlink_metadata(&path).unwrap();
            let rel = path
                .strip_prefix(root)
                .unwrap()
                .to_str()
                .unwrap()
                .to_owned();
            let mode = meta.permissions().mode() & 0o7777;
            let t = meta.file_type();
            let row = if t.is_symlink() {
                let target = std::fs::read_link(&path).unwrap();
                (
                    rel,
                    "symlink",
                    mode,
                    0,
                    Some(target.to_str().unwrap().to_owned()),
                    None,
                )
            } else if t.is_dir() {
                stack.push(path.clone());
                (rel, "dir", mode, 0, None, None)
            } else if t.is_file() {
                let bytes = std::fs::read(&path).unwrap();
                let digest = Digest::sha256(&bytes).hex().to_owned();
                (rel, "file", mode, meta.size(), None, Some(digest))
            } else {
                (rel, "other", mode, 0, None, None)
            };
            rows.insert(row);
        }
    }
    rows
}

/// Symlink rows carry mode 0777 on disk whatever the tar said: compare
/// their modes as Linux shows them.
fn normalise(rows: BTreeSet<Row>) -> BTreeSet<Row> {
    rows.into_iter()
        .map(|mut r| {
            if r.1 == "symlink" {
                r.2 = 0o777;
            }
            r
        })
        .collect()
}

fn umoci_rows(layout: &Path, tag: &str, work: &Path) -> BTreeSet<Row> {
    let bundle = work.join(format!("bundle-{tag}"));
    let image = format!("{}:{tag}", layout.display());
    common::tool_ok(
        "umoci",
        &[
            "unpack",
            "--rootless",
            "--image",
            &image,
            bundle.to_str().unwrap(),
        ],
    );
    walk(&bundle.join("rootfs"))
}

fn export_rows(name: &str, work: &Path) -> BTreeSet<Row> {
    let image = stevedore::parse_image(name).unwrap();
    let tarball = work.join("export.tar");
    let report = stevedore::export_to_path(&image, &tarball, &FilesOptions::default()).unwrap();
    assert!(report.entries > 0);
    let out = work.join("export");
    std::fs::create_dir_all(&out).unwrap();
    common::tool_ok(
        "tar",
        &[
            "-xpf",
            tarball.to_str().unwrap(),
            "-C",
            out.to_str().unwrap(),
            "--no-same-owner",
        ],
    );
    let rows = walk(&out);
    std::fs::remove_dir_all(&out).unwrap();
    rows
}

fn changesets() -> Vec<Vec<u8>> {
    vec![
        tar_of(&[
            E::Dir("etc", 0o755),
            E::File("etc/passwd", 0o644, b"root:x:0:0\n"),
            E::File("etc/secret", 0o600, b"hidden later\n"),
            E::Dir("opt", 0o755),
            E::Dir("opt/app", 0o755),
            E::File("opt/app/old", 0o644, b"old\n"),
            E::Dir("opt/app/sub", 0o750),
            E::File("opt/app/sub/x", 0o644, b"x\n"),
            E::Dir("swap", 0o755),
            E::File("swap/inner", 0o644, b"inner\n"),
            E::File("flip", 0o644, b"a file first\n"),
            E::Dir("bin", 0o755),
            E::File("bin/tool", 0o4755, b"#!/bin/sh\necho tool\n"),
            E::Hard("bin/tool-hard", "bin/tool"),
            E::Dir("gone", 0o755),
            E::File("gone/deep", 0o644, b"deep\n"),
        ]),
        tar_of(&[
            E::File("etc/.wh.secret", 0o644, b""),
            E::Dir("opt/app", 0o700),
            E::File("opt/app/.wh..wh..opq", 0o644, b""),
            E::File("opt/app/new", 0o644, b"new\n"),
            E::File("swap", 0o644, b"was a directory\n"),
            E::Dir("flip", 0o755),
            E::File("flip/child", 0o644, b"now a dir\n"),
            E::Hard("etc/passwd-link", "etc/passwd"),
            E::File(".wh.gone", 0o644, b""),
            E::Sym("lib", "usr/lib"),
            E::Dir("usr", 0o755),
            E::Dir("usr/lib", 0o755),
            E::File("usr/lib/libc.so", 0o755, b"\x7fELF"),
        ]),
        tar_of(&[
            E::Dir("swap", 0o711),
            E::File("swap/again", 0o644, b"a directory again\n"),
            E::File("flip", 0o600, b"a file again\n"),
            E::File("etc/passwd", 0o644, b"root:x:0:0\nuser:x:1000:1000\n"),
            E::Sym("etc/abs", "/etc/passwd"),
            E::Sym("etc/rel", "../etc/passwd"),
            E::Sym("escape", "../../../../../etc/hostname"),
            E::Sym("dangling", "nowhere/at/all"),
            E::Sym("loop1", "loop2"),
            E::Sym("loop2", "loop1"),
            E::Sym("libdir", "/lib"),
        ]),
    ]
}

#[test]
fn hand_made_layers_match_umoci_and_export_gives_the_same_tree() {
    let work = tempfile::tempdir().unwrap();
    let layout = work.path().join("layout");
    let name = image(&layout, "v1", &changesets(), Z::Gzip);
    let ours = normalise(ours(&name));
    let theirs = normalise(umoci_rows(&layout, "v1", work.path()));
    assert_eq!(ours, theirs, "merged view differs from umoci unpack");
    // A few rules, checked by name so the test says which rule broke.
    let paths: BTreeSet<&str> = ours.iter().map(|r| r.0.as_str()).collect();
    for absent in [
        "etc/secret",
        "opt/app/old",
        "opt/app/sub",
        "gone",
        "swap/inner",
        "flip/child",
    ] {
        assert!(!paths.contains(absent), "{absent} should be hidden");
    }
    for present in [
        "opt/app/new",
        "swap/again",
        "etc/passwd-link",
        "bin/tool-hard",
    ] {
        assert!(paths.contains(present), "{present} missing");
    }
    assert_eq!(
        normalise(export_rows(&name, work.path())),
        theirs,
        "export differs"
    );
}

#[test]
fn a_real_tree_of_this_machine_matches_umoci() {
    let work = tempfile::tempdir().unwrap();
    let mut tars = Vec::new();
    for dirs in [&["doc"][..], &["zoneinfo", "common-licenses"], &["perl5"]] {
        let mut b = tar::Builder::new(Vec::new());
        b.follow_symlinks(false);
        for d in dirs {
            let src = Path::new("/usr/share").join(d);
            if src.exists() {
                b.append_dir_all(format!("usr/share/{d}"), &src).unwrap();
            }
        }
        tars.push(b.into_inner().unwrap());
    }
    // A fourth layer removes one package's docs, to show whiteouts on real data.
    let victim = std::fs::read_dir("/usr/share/doc")
        .unwrap()
        .next()
        .unwrap()
        .unwrap()
        .file_name();
    let whiteout = format!("usr/share/doc/.wh.{}", victim.to_str().unwrap());
    tars.push(tar_of(&[E::File(&whiteout, 0o644, b"")]));
    let layout = work.path().join("layout");
    let name = image(&layout, "usr", &tars, Z::Gzip);
    let ours = normalise(ours(&name));
    assert!(ours.len() > 3000, "only {} entries", ours.len());
    let theirs = normalise(umoci_rows(&layout, "usr", work.path()));
    // umoci makes the parent directories the tar does not name (usr,
    // usr/share) with its own modes: compare everything below them.
    let below = |rows: BTreeSet<Row>| -> BTreeSet<Row> {
        rows.into_iter()
            .filter(|r| r.0.starts_with("usr/share/"))
            .collect()
    };
    assert_eq!(below(ours), below(theirs.clone()));
    assert_eq!(
        below(normalise(export_rows(&name, work.path()))),
        below(theirs)
    );
}

#[test]
fn read_file_follows_links_only_inside_the_root_and_names_each_failure() {
    let work = tempfile::tempdir().unwrap();
    let name = image(&work.path().join("layout"), "v1", &changesets(), Z::Gzip);
    let image = stevedore::parse_image(&name).unwrap();
    let opts = FilesOptions::default();
    let passwd = b"root:x:0:0\nuser:x:1000:1000\n".to_vec();
    for path in [
        "etc/passwd",
        "/etc/passwd",
        "etc/abs",
        "/etc/rel",
        "libdir/../../etc/passwd",
    ] {
        assert_eq!(
            stevedore::read_file(&image, path, u64::MAX, &opts).unwrap(),
            passwd,
            "{path}"
        );
    }
    assert_eq!(
        stevedore::read_file(&image, "/lib/libc.so", u64::MAX, &opts).unwrap(),
        b"\x7fELF"
    );
    assert_eq!(
        stevedore::read_file(&image, "etc/passwd-link", u64::MAX, &opts).unwrap(),
        b"root:x:0:0\n",
        "a hard link keeps the bytes it was made with"
    );
    let err = |path: &str| stevedore::read_file(&image, path, u64::MAX, &opts).unwrap_err();
    // The escape resolves inside the root, where etc/hostname does not exist,
    // never to this machine's /etc/hostname.
    let e = err("escape");
    assert_eq!(e.kind(), ErrorKind::NotFound, "{e}");
    assert!(
        e.message().contains("dangling symbolic link /escape"),
        "{e}"
    );
    let e = err("dangling");
    assert!(
        e.message().contains("dangling symbolic link /dangling"),
        "{e}"
    );
    let e = err("etc/nothing");
    assert_eq!(e.kind(), ErrorKind::NotFound);
    assert!(e.message().contains("no such file or directory"), "{e}");
    let e = err("etc");
    assert_eq!(e.kind(), ErrorKind::InvalidInput);
    assert!(e.message().contains("is a directory"), "{e}");
    let e = err("loop1");
    assert!(e.message().contains("symlink loop"), "{e}");
    let e = err("etc/passwd/x");
    assert!(e.message().contains("is not a directory"), "{e}");
    let e = stevedore::read_file(&image, "etc/passwd", 3, &opts).unwrap_err();
    assert!(e.message().contains("3-byte limit"), "{e}");
    // ls of a directory through a symlink, and of one file.
    let lib = stevedore::files_in(&image, "lib", &opts).unwrap();
    let names: Vec<&str> = lib.entries.iter().map(|e| e.path.as_str()).collect();
    assert_eq!(names, ["usr/lib/libc.so"]);
    let one = stevedore::files_in(&image, "etc/abs", &opts).unwrap();
    assert_eq!(one.entries.len(), 1);
    assert_eq!(one.entries[0].kind, EntryKind::Symlink);
    // Many reads of one layer go through one spooled copy and stay right.
    let fs = ImageFs::open(&image, &opts, false).unwrap();
    for _ in 0..3 {
        assert_eq!(fs.read("etc/rel").unwrap(), passwd);
        assert_eq!(fs.read("bin/tool-hard").unwrap(), b"#!/bin/sh\necho tool\n");
    }
}

#[test]
fn zstd_and_uncompressed_twins_list_and_read_as_the_gzip_image() {
    let work = tempfile::tempdir().unwrap();
    let layout = work.path().join("layout");
    let gzip = image(&layout, "gzip", &changesets(), Z::Gzip);
    let zstd = image(&layout, "zstd", &changesets(), Z::Zstd);
    let plain = image(&layout, "plain", &changesets(), Z::None);
    let mislabelled = image(&layout, "mislabelled", &changesets(), Z::Mislabelled);
    let expected = ours(&gzip);
    let opts = FilesOptions::default();
    for name in [&zstd, &plain, &mislabelled] {
        assert_eq!(ours(name), expected, "{name}");
        let image = stevedore::parse_image(name).unwrap();
        assert_eq!(
            stevedore::read_file(&image, "/etc/abs", u64::MAX, &opts).unwrap(),
            b"root:x:0:0\nuser:x:1000:1000\n"
        );
        let diff = stevedore::diff(&stevedore::parse_image(&gzip).unwrap(), &image, &opts).unwrap();
        assert_eq!(diff, stevedore::DiffReport::default(), "{name}");
    }
    let listing = stevedore::files(&stevedore::parse_image(&zstd).unwrap(), &opts).unwrap();
    assert!(listing
        .layers
        .iter()
        .all(|l| l.format.mislabelled.is_none()));
    assert_eq!(
        listing.layers[0].format.compression,
        stevedore::layer::Compression::Zstd
    );
    let listing = stevedore::files(&stevedore::parse_image(&mislabelled).unwrap(), &opts).unwrap();
    let note = listing.layers[0].format.mislabelled.clone().unwrap();
    assert!(
        note.contains("labelled zstd") && note.contains("bytes are gzip"),
        "{note}"
    );
}

#[test]
fn diff_reports_added_removed_and_changed_paths() {
    let work = tempfile::tempdir().unwrap();
    let layout = work.path().join("layout");
    let base = changesets();
    let a = image(&layout, "a", &base, Z::Gzip);
    let mut more = base.clone();
    more.push(tar_of(&[
        E::File("etc/passwd", 0o600, b"changed\n"),
        E::File("bin/.wh.tool-hard", 0o644, b""),
        E::File("new", 0o644, b"new\n"),
        E::Sym("etc/rel", "passwd"),
    ]));
    let b = image(&layout, "b", &more, Z::Zstd);
    let opts = FilesOptions::default();
    let d = stevedore::diff(
        &stevedore::parse_image(&a).unwrap(),
        &stevedore::parse_image(&b).unwrap(),
        &opts,
    )
    .unwrap();
    assert_eq!(d.added, ["new"]);
    assert_eq!(d.removed, ["bin/tool-hard"]);
    let changed: Vec<(&str, Vec<&str>)> = d
        .changed
        .iter()
        .map(|c| (c.path.as_str(), c.changes.clone()))
        .collect();
    assert_eq!(
        changed,
        [
            ("etc/passwd", vec!["content", "mode"]),
            ("etc/rel", vec!["link_target"])
        ]
    );
}

fn expect_invalid(name: &str, opts: &FilesOptions, needles: &[&str]) {
    let image = stevedore::parse_image(name).unwrap();
    let err = stevedore::files(&image, opts).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::InvalidInput, "{err}");
    for needle in needles {
        assert!(err.message().contains(needle), "{needle:?} not in: {err}");
    }
}

fn layer_digest(layout: &Path, tag: &str) -> String {
    let image = stevedore::parse_image(&common::oci(layout, tag)).unwrap();
    let report = stevedore::inspect(&image, &Default::default()).unwrap();
    report.layers.last().unwrap().digest.to_string()
}

#[test]
fn hostile_layers_stop_with_typed_errors_naming_layer_and_entry() {
    let work = tempfile::tempdir().unwrap();
    let layout = work.path().join("layout");
    let opts = FilesOptions::default();
    // Paths leaving the root, and hard links to nothing or to a later path.
    let cases: Vec<(&str, Vec<u8>, &str)> = vec![
        ("dotdot", raw_tar_with_name(b"a/../../evil"), "`..`"),
        ("absolute", raw_tar_with_name(b"/etc/evil"), "absolute"),
        (
            "missing-link",
            tar_of(&[E::Hard("a", "nothing")]),
            "hard link a points to nothing",
        ),
        (
            "later-link",
            tar_of(&[E::Hard("a", "b"), E::File("b", 0o644, b"b")]),
            "hard link a points to b",
        ),
    ];
    for (tag, tar, needle) in cases {
        let name = image(&layout, tag, &[tar], Z::Gzip);
        expect_invalid(&name, &opts, &[needle, &layer_digest(&layout, tag)]);
    }
    // A truncated layer (its digest matches the truncated bytes).
    let mut tar = tar_of(&[E::File("big", 0o644, &vec![7u8; 100_000])]);
    tar.truncate(50_000);
    let name = image(&layout, "truncated", &[tar], Z::None);
    expect_invalid(
        &name,
        &opts,
        &["truncated", &layer_digest(&layout, "truncated")],
    );

    // A gzip bomb: 256 MiB of zeros in a few hundred KiB, against a 16 MiB limit.
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::best());
    let mut header = tar::Header::new_gnu();
    header.set_size(256 << 20);
    header.set_mode(0o644);
    header.set_uid(0);
    header.set_gid(0);
    header.set_mtime(0);
    header.set_path("bomb").unwrap();
    header.set_cksum();
    gz.write_all(header.as_bytes()).unwrap();
    let zeros = vec![0u8; 1 << 20];
    for _ in 0..256 {
        gz.write_all(&zeros).unwrap();
    }
    let bomb = gz.finish().unwrap();
    assert!(bomb.len() < 1 << 20);
    let layout_t = OciLayout::new(&layout);
    let desc = Descriptor::for_bytes(media_types::OCI_LAYER_GZIP, &bomb);
    layout_t.put_blob(&desc, &mut &bomb[..]).unwrap();
    let name = single_layer_image(&layout, "bomb", desc.clone());
    let low = FilesOptions {
        limits: stevedore::layer::Limits {
            max_layer_bytes: 16 << 20,
            ..Default::default()
        },
        ..Default::default()
    };
    expect_invalid(&name, &low, &["max_layer_bytes", &desc.digest.to_string()]);

    // A layer of 1,000,000 entries against a limit of 100,000.
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    let mut b = tar::Builder::new(&mut gz);
    for i in 0..1_000_000u32 {
        let mut h = tar::Header::new_gnu();
        h.set_size(0);
        h.set_mode(0o644);
        b.append_data(&mut h, format!("f{i}"), std::io::empty())
            .unwrap();
    }
    b.into_inner().unwrap();
    let many = gz.finish().unwrap();
    let desc = Descriptor::for_bytes(media_types::OCI_LAYER_GZIP, &many);
    layout_t.put_blob(&desc, &mut &many[..]).unwrap();
    let name = single_layer_image(&layout, "many", desc.clone());
    let low = FilesOptions {
        limits: stevedore::layer::Limits {
            max_entries: 100_000,
            ..Default::default()
        },
        ..Default::default()
    };
    expect_invalid(&name, &low, &["max_entries", &desc.digest.to_string()]);
}

/// A one-file tar whose header names `name` exactly (the tar crate refuses
/// to write such names itself).
fn raw_tar_with_name(name: &[u8]) -> Vec<u8> {
    let mut h = tar::Header::new_old();
    h.as_old_mut().name[..name.len()].copy_from_slice(name);
    h.set_size(1);
    h.set_mode(0o644);
    h.set_entry_type(tar::EntryType::Regular);
    h.set_cksum();
    let mut tar = h.as_bytes().to_vec();
    let mut data = vec![0u8; 512];
    data[0] = b'x';
    tar.extend_from_slice(&data);
    tar.extend_from_slice(&[0u8; 1024]);
    tar
}

/// An image whose one layer is the blob `desc` already in the layout.
fn single_layer_image(layout: &Path, tag: &str, desc: Descriptor) -> String {
    let layout_t = OciLayout::new(layout);
    let platform = stevedore::platform::Platform::host();
    let config_bytes = format!(
        r#"{{"architecture":"{}","os":"{}","rootfs":{{"type":"layers","diff_ids":[]}}}}"#,
        platform.architecture, platform.os
    )
    .into_bytes();
    let config_desc = Descriptor::for_bytes(media_types::OCI_CONFIG, &config_bytes);
    layout_t
        .put_blob(&config_desc, &mut &config_bytes[..])
        .unwrap();
    let manifest = Manifest::build(ManifestContent::Image(Box::new(ImageManifest {
        schema_version: 2,
        media_type: Some(media_types::OCI_MANIFEST.into()),
        artifact_type: None,
        config: config_desc,
        layers: vec![desc],
        subject: None,
        annotations: Default::default(),
    })))
    .unwrap();
    layout_t.put_manifest(&manifest, Some(tag)).unwrap();
    common::oci(layout, tag)
}

fn cli(args: &[&str]) -> std::process::Output {
    std::process::Command::new(env!("CARGO_BIN_EXE_stevedore"))
        .args(args)
        .stdin(std::process::Stdio::null())
        .output()
        .unwrap()
}

#[test]
fn cli_ls_cat_export_diff() {
    let work = tempfile::tempdir().unwrap();
    let layout = work.path().join("layout");
    let a = image(&layout, "a", &changesets(), Z::Gzip);
    let mut more = changesets();
    more.push(tar_of(&[E::File("new", 0o644, b"new\n")]));
    let b = image(&layout, "b", &more, Z::Zstd);

    let out = cli(&["ls", &a, "/etc"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = String::from_utf8(out.stdout).unwrap();
    assert!(
        text.contains("/etc/passwd\n") && !text.contains("/etc/secret"),
        "{text}"
    );
    let out = cli(&["ls", "-l", &a, "bin"]);
    let text = String::from_utf8(out.stdout).unwrap();
    assert!(text.contains("-4755"), "{text}");
    assert!(text.contains("/bin/tool-hard link to /bin/tool"), "{text}");
    let out = cli(&["ls", "--json", &a]);
    // -l adds nothing to JSON, which carries every field.
    assert_eq!(cli(&["ls", "-l", "--json", &a]).stdout, out.stdout);
    let json: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(json["layers"].as_array().unwrap().len(), 3);
    assert!(json["entries"]
        .as_array()
        .unwrap()
        .iter()
        .any(|e| e["path"] == "etc/abs"
            && e["type"] == "symlink"
            && e["link_target"] == "/etc/passwd"));

    let out = cli(&["cat", &a, "/etc/rel"]);
    assert_eq!(out.stdout, b"root:x:0:0\nuser:x:1000:1000\n");
    let out = cli(&["cat", &a, "/etc"]);
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("is a directory"));

    let tarball = work.path().join("out.tar");
    let out = cli(&["export", &a, "-o", tarball.to_str().unwrap()]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let listed = common::tool_ok("tar", &["-tf", tarball.to_str().unwrap()]);
    let listed = String::from_utf8(listed).unwrap();
    assert!(listed.lines().any(|l| l == "etc/passwd"), "{listed}");
    assert!(!listed.contains(".wh."), "{listed}");
    let out = cli(&["export", &a]);
    assert_eq!(
        out.stdout,
        std::fs::read(&tarball).unwrap(),
        "stdout and -o differ"
    );
    // A failed export leaves the file as it was.
    std::fs::write(&tarball, b"keep").unwrap();
    let out = cli(&[
        "export",
        &format!("oci:{}:nope", layout.display()),
        "-o",
        tarball.to_str().unwrap(),
    ]);
    assert!(!out.status.success());
    assert_eq!(std::fs::read(&tarball).unwrap(), b"keep");
    let leftovers: Vec<_> = std::fs::read_dir(work.path())
        .unwrap()
        .filter(|e| {
            e.as_ref()
                .unwrap()
                .file_name()
                .to_string_lossy()
                .starts_with(".stevedore")
        })
        .collect();
    assert!(leftovers.is_empty());

    let out = cli(&["diff", &a, &b]);
    assert_eq!(String::from_utf8(out.stdout).unwrap(), "A /new\n");
    let out = cli(&["diff", "--json", &b, &a]);
    let json: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(json["removed"], serde_json::json!(["new"]));
}
