//! `docker-archive:` tarballs (docker save): the input is the archive; its
//! image, manifest and every blob are read, each a typed error at worst.
#![no_main]
use libfuzzer_sys::fuzz_target;
use std::io::Read;

fuzz_target!(|data: &[u8]| {
    let dir = tempfile::tempdir().expect("a temporary directory");
    let path = dir.path().join("image.tar");
    std::fs::write(&path, data).expect("writing the archive");
    let Ok(image) = stevedore::transport::parse(&format!("docker-archive:{}", path.display()))
    else {
        return;
    };
    read_image(&image);
});

fn read_image(image: &stevedore::ImageRef) {
    let _ = image.transport().list_tags();
    let Ok(selector) = image.resolve() else {
        return;
    };
    let Ok(manifest) = image.transport().get_manifest(&selector) else {
        return;
    };
    for blob in manifest.blobs() {
        if let Ok(mut content) = image.transport().get_blob(blob) {
            let _ = std::io::copy(&mut (&mut content).take(16 << 20), &mut std::io::sink());
        }
    }
}
