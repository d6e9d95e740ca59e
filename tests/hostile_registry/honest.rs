//! The well-behaved registry every case starts from: basic auth as
//! alice, the image (and a gzip bomb) by tag and digest; and the other host
//! that redirects and token realms point to.

use std::sync::Arc;

use super::common::raw::{head, reply, Seen, Step};
use super::common::*;
use stevedore::Digest;

pub const BASIC: &str = "Basic YWxpY2U6cHc="; // alice:pw

/// The image the registry serves, as bytes.
pub struct Img {
    pub manifest: Vec<u8>,
    pub digest: String,
    pub config: (String, Vec<u8>),
    /// Every blob of the image, config included.
    pub blobs: Vec<(String, Vec<u8>)>,
    /// Its last layer.
    pub layer: (String, Vec<u8>),
    /// A layer of 64 MiB of zeros in one file, gzipped (about 64 KiB).
    pub bomb: (String, Vec<u8>),
    pub bomb_manifest: Vec<u8>,
}

fn gzip_bomb() -> Vec<u8> {
    let gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::best());
    let mut tar = tar::Builder::new(gz);
    let mut header = tar::Header::new_gnu();
    header.set_size(64 << 20);
    header.set_mode(0o644);
    header.set_cksum();
    let zeros = std::io::Read::take(std::io::repeat(0), 64 << 20);
    tar.append_data(&mut header, "zeros", zeros).unwrap();
    tar.into_inner().unwrap().finish().unwrap()
}

pub fn image() -> Img {
    let tmp = tempfile::tempdir().unwrap();
    let manifest = make_image(tmp.path(), "1", b"hostile\n");
    let blobs = manifest.blobs();
    let read = |d: &Digest| std::fs::read(blob_path(tmp.path(), d)).unwrap();
    let all: Vec<(String, Vec<u8>)> = blobs
        .iter()
        .map(|d| (d.digest.to_string(), read(&d.digest)))
        .collect();
    let config = all[0].clone();
    let layer = all[all.len() - 1].clone();
    let bomb = gzip_bomb();
    let bomb_digest = Digest::sha256(&bomb).to_string();
    let bomb_manifest = serde_json::json!({
        "schemaVersion": 2,
        "mediaType": stevedore::media_types::OCI_MANIFEST,
        "config": {"mediaType": stevedore::media_types::OCI_CONFIG, "digest": config.0, "size": config.1.len()},
        "layers": [{"mediaType": stevedore::media_types::OCI_LAYER_GZIP, "digest": bomb_digest, "size": bomb.len()}],
    });
    Img {
        digest: manifest.digest().to_string(),
        manifest: manifest.raw().to_vec(),
        config,
        blobs: all,
        layer,
        bomb: (bomb_digest, bomb),
        bomb_manifest: serde_json::to_vec(&bomb_manifest).unwrap(),
    }
}

/// What a case's handler sees: the image and the other host's address.
pub struct Ctx {
    pub img: Arc<Img>,
    pub other: String,
}

/// The well-behaved registry: basic auth, the image by tag and digest.
pub fn honest(ctx: &Ctx, seen: &Seen) -> Vec<Step> {
    if seen.header("authorization") != Some(BASIC) {
        return reply(401, &[("WWW-Authenticate", "Basic realm=\"hostile\"")], b"");
    }
    let img = &ctx.img;
    let url = seen.url.as_str();
    let manifest = |raw: &[u8]| {
        let digest = Digest::sha256(raw).to_string();
        let ct = [
            ("Content-Type", stevedore::media_types::OCI_MANIFEST),
            ("Docker-Content-Digest", digest.as_str()),
        ];
        reply(200, &ct, raw)
    };
    let blob = |bytes: &[u8]| {
        if seen.method == "HEAD" {
            vec![Step::Bytes(head(
                200,
                &[("Content-Length", &bytes.len().to_string())],
            ))]
        } else {
            reply(200, &[], bytes)
        }
    };
    match url {
        "/v2/" => reply(200, &[], b"{}"),
        "/v2/app/tags/list" => reply(200, &[], br#"{"name":"app","tags":["latest"]}"#),
        "/v2/app/manifests/bomb" => manifest(&img.bomb_manifest),
        _ if url.starts_with("/v2/app/manifests/") => manifest(&img.manifest),
        _ if url.ends_with(&img.bomb.0) => blob(&img.bomb.1),
        _ => match img.blobs.iter().find(|(d, _)| url.ends_with(d.as_str())) {
            Some((_, bytes)) => blob(bytes),
            None => reply(404, &[], b""),
        },
    }
}

/// The other host: serves blobs to redirects, and a token service that
/// asks for credentials forever.
pub fn other_host(ctx: &Ctx, seen: &Seen) -> Vec<Step> {
    let url = seen.url.as_str();
    if url.starts_with("/token") {
        return reply(401, &[("WWW-Authenticate", "Basic realm=\"tokens\"")], b"");
    }
    for (digest, bytes) in &ctx.img.blobs {
        if url.ends_with(digest.as_str()) {
            return reply(200, &[], bytes);
        }
    }
    reply(404, &[], b"")
}
