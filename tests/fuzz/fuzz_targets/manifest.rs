//! Manifests and indexes (OCI and Docker v2s2) with and without a declared
//! media type, and image configs: parsed or refused with a typed error; the
//! raw bytes and their digest are kept as given.
#![no_main]
use libfuzzer_sys::fuzz_target;
use stevedore::manifest::Manifest;
use stevedore::media_types::MANIFEST_TYPES;

fuzz_target!(|data: &[u8]| {
    let Some((&first, bytes)) = data.split_first() else {
        return;
    };
    let declared = MANIFEST_TYPES.get(first as usize % (MANIFEST_TYPES.len() + 1));
    if let Ok(manifest) = Manifest::from_bytes(bytes.to_vec(), declared.copied()) {
        assert_eq!(manifest.raw(), bytes);
        let _ = manifest.blobs();
        let _ = manifest.descriptor();
        let _ = manifest.referrer_descriptor();
    }
    if let Ok(config) = stevedore::config::ImageConfig::from_bytes(bytes) {
        let _ = config.to_bytes();
    }
});
