//! Hand-made layers for the merged-view tests (`tests/layers_*.rs`): tar
//! entries written exactly as given, compressed each way a layer may be,
//! and the three changesets that exercise whiteouts, opaque directories,
//! hard links, symlinks and replacements.

use std::io::Write;
use std::path::Path;

use stevedore::media_types;

/// One hand-made tar entry.
pub enum E<'a> {
    Dir(&'a str, u32),
    File(&'a str, u32, &'a [u8]),
    Sym(&'a str, &'a str),
    Hard(&'a str, &'a str),
}

pub fn tar_of(entries: &[E]) -> Vec<u8> {
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
pub enum Z {
    None,
    Gzip,
    Zstd,
    /// gzip bytes under the zstd media type.
    Mislabelled,
}

pub fn compress(tar: &[u8], z: Z) -> (Vec<u8>, &'static str) {
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
pub fn image(dir: &Path, tag: &str, tars: &[Vec<u8>], z: Z) -> String {
    let layers: Vec<(Vec<u8>, &str, &[u8])> = tars
        .iter()
        .map(|tar| {
            let (bytes, media) = compress(tar, z);
            (bytes, media, tar.as_slice())
        })
        .collect();
    super::image_of_layers(dir, tag, &layers)
}

pub fn changesets() -> Vec<Vec<u8>> {
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
