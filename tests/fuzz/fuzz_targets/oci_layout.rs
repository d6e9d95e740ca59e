//! `oci:` layouts: the input is a tarball unpacked (by the tar crate, which
//! keeps entries inside) into a fresh directory read as a layout; its index,
//! manifest and every blob are read, each a typed error at worst.
#![no_main]
use libfuzzer_sys::fuzz_target;
use std::io::Read;

fuzz_target!(|data: &[u8]| {
    let dir = tempfile::tempdir().expect("a temporary directory");
    let root = dir.path().join("layout");
    std::fs::create_dir(&root).expect("creating the layout directory");
    // Only regular files and directories: links could point out of the
    // scratch directory, which the layout reader is not asked to defend.
    let mut archive = tar::Archive::new(data);
    let Ok(entries) = archive.entries() else {
        return;
    };
    for entry in entries {
        let Ok(mut entry) = entry else {
            return;
        };
        let kind = entry.header().entry_type();
        if (kind.is_file() || kind.is_dir()) && entry.size() < 1 << 20 {
            let _ = entry.unpack_in(&root);
        }
    }
    for spec in ["", ":latest", ":@0"] {
        let Ok(image) = stevedore::transport::parse(&format!("oci:{}{spec}", root.display()))
        else {
            continue;
        };
        let _ = image.transport().list_tags();
        let Ok(selector) = image.resolve() else {
            continue;
        };
        let Ok(manifest) = image.transport().get_manifest(&selector) else {
            continue;
        };
        for blob in manifest.blobs() {
            if let Ok(mut content) = image.transport().get_blob(blob) {
                let _ = std::io::copy(&mut (&mut content).take(16 << 20), &mut std::io::sink());
            }
        }
    }
});
