//! Our server pushed to over raw HTTP (`tests/server_abuse_*.rs`): blobs
//! in one POST, small images made from a seed, their manifests.

use serde_json::json;
use sha2::{Digest as _, Sha256};
use stevedore::server::{Server, ServerOptions};

use super::http::{request, Answer};

/// The `sha256:HEX` digest of `bytes`.
pub fn sha256(bytes: &[u8]) -> String {
    format!("sha256:{:x}", Sha256::digest(bytes))
}

/// Pushes `content` as a blob of `repo` in one POST; the answer.
pub fn push_blob(addr: &str, repo: &str, content: &[u8]) -> Answer {
    let path = format!("/v2/{repo}/blobs/uploads/?digest={}", sha256(content));
    request(addr, "POST", &path, &[], content)
}

/// A small image (config and one layer, made from `seed`) pushed to
/// `repo:tag`; returns the manifest bytes and digest.
pub fn push_image(addr: &str, repo: &str, tag: &str, seed: &str) -> (Vec<u8>, String) {
    let layer = format!("layer {seed}").into_bytes();
    let config = json!({"architecture": "amd64", "os": "linux", "seed": seed})
        .to_string()
        .into_bytes();
    for blob in [&layer, &config] {
        assert_eq!(push_blob(addr, repo, blob).status, 201);
    }
    let manifest = manifest_for(&config, &layer);
    let put = request(
        addr,
        "PUT",
        &format!("/v2/{repo}/manifests/{tag}"),
        &[("Content-Type", "application/vnd.oci.image.manifest.v1+json")],
        &manifest,
    );
    assert_eq!(put.status, 201, "{}", String::from_utf8_lossy(&put.body));
    let digest = sha256(&manifest);
    (manifest, digest)
}

/// An OCI image manifest of `config` and one uncompressed `layer`.
pub fn manifest_for(config: &[u8], layer: &[u8]) -> Vec<u8> {
    json!({
        "schemaVersion": 2,
        "mediaType": "application/vnd.oci.image.manifest.v1+json",
        "config": {"mediaType": "application/vnd.oci.image.config.v1+json",
                   "digest": sha256(config), "size": config.len()},
        "layers": [{"mediaType": "application/vnd.oci.image.layer.v1.tar",
                    "digest": sha256(layer), "size": layer.len()}],
    })
    .to_string()
    .into_bytes()
}

/// Our server started with `options` (in memory unless they name a root).
pub fn memory_server(options: ServerOptions) -> Server {
    Server::start(options).unwrap()
}
