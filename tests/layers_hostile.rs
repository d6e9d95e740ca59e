//! Hostile layers for the merged layer view: paths leaving the root, bad
//! hard links, truncated and oversized layers, each stopped with a typed
//! error naming the layer and the entry.

mod common;

use std::io::Write;
use std::path::Path;

use common::layer_images::{image, tar_of, E, Z};
use stevedore::descriptor::Descriptor;
use stevedore::manifest::{ImageManifest, Manifest, ManifestContent};
use stevedore::media_types;
use stevedore::transport::{OciLayout, Transport};
use stevedore::{ErrorKind, FilesOptions};

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
