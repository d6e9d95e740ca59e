//! Trees as rows (path, type, mode, size, link target, content digest) for
//! the merged-view tests: our view of an image, a directory on disk, what
//! umoci unpacks and what our export extracts to.

use std::collections::BTreeSet;
use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::Path;

use stevedore::layer::EntryKind;
use stevedore::{Digest, FilesOptions, ImageFs};

/// (path, type, mode, size, link target, content digest) of one entry.
pub type Row = (
    String,
    &'static str,
    u32,
    u64,
    Option<String>,
    Option<String>,
);

pub fn ours(name: &str) -> BTreeSet<Row> {
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
pub fn walk(root: &Path) -> BTreeSet<Row> {
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
pub fn normalise(rows: BTreeSet<Row>) -> BTreeSet<Row> {
    rows.into_iter()
        .map(|mut r| {
            if r.1 == "symlink" {
                r.2 = 0o777;
            }
            r
        })
        .collect()
}

pub fn umoci_rows(layout: &Path, tag: &str, work: &Path) -> BTreeSet<Row> {
    let bundle = work.join(format!("bundle-{tag}"));
    let image = format!("{}:{tag}", layout.display());
    super::tool_ok(
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

pub fn export_rows(name: &str, work: &Path) -> BTreeSet<Row> {
    let image = stevedore::parse_image(name).unwrap();
    let tarball = work.join("export.tar");
    let report = stevedore::export_to_path(&image, &tarball, &FilesOptions::default()).unwrap();
    assert!(report.entries > 0);
    let out = work.join("export");
    std::fs::create_dir_all(&out).unwrap();
    super::tool_ok(
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
