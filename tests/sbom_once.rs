//! `sbom` reads each layer of an image once (issue #15): the catalogers' files
//! (package databases, metadata, a Go binary's build info) are kept while the
//! merged view is built, and the result equals cataloging the merged view by
//! reading files from the layers on demand.

mod common;

use std::collections::BTreeMap;
use std::io::{Read, Write};
use std::os::unix::fs::PermissionsExt;
use std::path::Path;
use std::sync::{Arc, Mutex};

use stevedore::digest::Digest;
use stevedore::sbom::{self, Ecosystem, SbomOptions};
use stevedore::store::{FsStore, Store};
use stevedore::{media_types, FilesOptions, ImageFs};

/// A store counting how often each blob is opened for reading.
struct Counting {
    inner: FsStore,
    opened: Mutex<BTreeMap<String, usize>>,
}

impl Store for Counting {
    fn stat(&self, digest: &Digest) -> stevedore::Result<Option<u64>> {
        self.inner.stat(digest)
    }
    fn open(&self, digest: &Digest) -> stevedore::Result<Box<dyn Read + Send>> {
        *self
            .opened
            .lock()
            .unwrap()
            .entry(digest.to_string())
            .or_default() += 1;
        self.inner.open(digest)
    }
    fn put(
        &self,
        digest: &Digest,
        size: Option<u64>,
        content: &mut dyn Read,
    ) -> stevedore::Result<u64> {
        self.inner.put(digest, size, content)
    }
    fn delete(&self, digest: &Digest) -> stevedore::Result<()> {
        self.inner.delete(digest)
    }
}

/// A gzip layer of `files` (path, mode, bytes), parents implied.
fn layer(files: &[(&str, u32, Vec<u8>)]) -> (Vec<u8>, Vec<u8>) {
    let mut b = tar::Builder::new(Vec::new());
    for (path, mode, bytes) in files {
        let mut h = tar::Header::new_gnu();
        h.set_entry_type(tar::EntryType::Regular);
        h.set_mode(*mode);
        h.set_size(bytes.len() as u64);
        b.append_data(&mut h, path, &bytes[..]).unwrap();
    }
    let tar = b.into_inner().unwrap();
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    gz.write_all(&tar).unwrap();
    (gz.finish().unwrap(), tar)
}

fn metadata(version: &str) -> Vec<u8> {
    format!("Metadata-Version: 2.1\nName: demo\nVersion: {version}\n").into_bytes()
}

#[test]
fn sbom_opens_each_layer_once_and_catalogs_as_reading_on_demand() {
    let tmp = tempfile::tempdir().unwrap();
    let t = tmp.path();
    let meta = "usr/lib/python3/dist-packages/demo.dist-info/METADATA";
    let script = b"#!/bin/sh\n# an executable that is not ELF, longer than 64 bytes\nexit 0\n";
    let go_binary = std::fs::read("/usr/bin/skopeo").expect("skopeo is a Debian Go binary");
    let host = |p: &str| std::fs::read(Path::new("/").join(p)).unwrap();
    let layers = [
        layer(&[
            ("etc/os-release", 0o644, host("etc/os-release")),
            ("var/lib/dpkg/status", 0o644, host("var/lib/dpkg/status")),
            (meta, 0o644, metadata("1.0")),
        ]),
        layer(&[
            ("usr/bin/skopeo", 0o755, go_binary),
            ("usr/bin/script", 0o755, script.to_vec()),
        ]),
        // A later layer replaces the metadata: the live bytes must win.
        layer(&[(meta, 0o644, metadata("2.0"))]),
    ];
    let specs: Vec<(Vec<u8>, &str, &[u8])> = layers
        .iter()
        .map(|(gz, tar)| (gz.clone(), media_types::OCI_LAYER_GZIP, tar.as_slice()))
        .collect();
    let name = common::image_of_layers(&t.join("img"), "1", &specs);
    let image = stevedore::transport::parse(&name).unwrap();

    let store_dir = t.join("store");
    std::fs::create_dir(&store_dir).unwrap();
    std::fs::set_permissions(&store_dir, std::fs::Permissions::from_mode(0o755)).unwrap();
    let counting = Arc::new(Counting {
        inner: FsStore::new(&store_dir),
        opened: Mutex::new(BTreeMap::new()),
    });
    let report = sbom::sbom(
        &image,
        &SbomOptions {
            store: Some(counting.clone()),
            ..Default::default()
        },
    )
    .unwrap();
    let opened = counting.opened.lock().unwrap().clone();
    assert_eq!(opened.len(), 3, "{opened:?}");
    assert!(
        opened.values().all(|&n| n == 1),
        "each layer once: {opened:?}"
    );

    let catalog = &report.catalog;
    let python: Vec<_> = catalog
        .packages
        .iter()
        .filter(|p| p.ecosystem == Ecosystem::Python)
        .map(|p| (p.name.as_str(), p.version.as_str()))
        .collect();
    assert_eq!(python, [("demo", "2.0")]);
    assert!(catalog
        .packages
        .iter()
        .any(|p| p.ecosystem == Ecosystem::Go));
    assert!(catalog
        .packages
        .iter()
        .any(|p| p.ecosystem == Ecosystem::Deb));
    assert!(catalog.os.is_some());

    // The same catalog as reading each file from its layer when asked.
    let on_demand = ImageFs::open(&image, &FilesOptions::default(), false).unwrap();
    assert_eq!(sbom::catalog(&on_demand), report.catalog);
}
