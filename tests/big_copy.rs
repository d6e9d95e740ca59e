//! A 1 GiB layer from Debian's docker-registry into an OCI layout through the
//! CLI: memory stays bounded, and a copy killed half-way leaves no partial
//! blob and, re-run, sends only what is missing, every digest verified.

mod common;

use std::fs::File;
use std::io::{self, BufRead, BufReader, Read};
use std::path::Path;
use std::process::{Command, Stdio};

use common::registry::Registry;
use common::*;
use stevedore::config::{ImageConfig, RootFs};
use stevedore::descriptor::Descriptor;
use stevedore::digest::{Digest, Hasher};
use stevedore::manifest::{ImageManifest, Manifest, ManifestContent};
use stevedore::media_types;
use stevedore::transport::{parse_with, OciLayout, Transport};
use stevedore::{copy, CopyOptions};

const GIB: u64 = 1 << 30;
const STEVEDORE: &str = env!("CARGO_BIN_EXE_stevedore");

/// `left` bytes that do not compress (xorshift), streamed.
struct Noise {
    left: u64,
    state: u64,
}

impl Read for Noise {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = buf.len().min(self.left as usize) / 8 * 8;
        let n = if n == 0 {
            buf.len().min(self.left as usize)
        } else {
            n
        };
        for chunk in buf[..n].chunks_mut(8) {
            self.state ^= self.state << 13;
            self.state ^= self.state >> 7;
            self.state ^= self.state << 17;
            chunk.copy_from_slice(&self.state.to_le_bytes()[..chunk.len()]);
        }
        self.left -= n as u64;
        Ok(n)
    }
}

/// Writes an image with a small layer and a 1 GiB uncompressed one into the
/// layout at `dir`, tagged `1`.
fn big_image(dir: &Path, scratch: &Path) -> Manifest {
    let layout = OciLayout::new(dir);
    let mut layers = Vec::new();
    let mut diff_ids = Vec::new();
    for (name, size, seed) in [("small.bin", 4096, 3), ("big.bin", GIB, 5)] {
        let path = scratch.join(name);
        let mut builder = tar::Builder::new(File::create(&path).unwrap());
        let mut header = tar::Header::new_ustar();
        header.set_size(size);
        header.set_mode(0o644);
        builder
            .append_data(
                &mut header,
                name,
                Noise {
                    left: size,
                    state: seed,
                },
            )
            .unwrap();
        builder.into_inner().unwrap().sync_all().unwrap();
        let digest = file_digest(&path);
        let desc = Descriptor::new(
            media_types::OCI_LAYER,
            digest.clone(),
            std::fs::metadata(&path).unwrap().len(),
        );
        layout
            .put_blob(&desc, &mut File::open(&path).unwrap())
            .unwrap();
        std::fs::remove_file(&path).unwrap();
        diff_ids.push(digest.to_string());
        layers.push(desc);
    }
    let config = ImageConfig {
        architecture: "amd64".into(),
        os: "linux".into(),
        rootfs: Some(RootFs {
            kind: "layers".into(),
            diff_ids,
        }),
        ..Default::default()
    }
    .to_bytes()
    .unwrap();
    let config_desc = Descriptor::for_bytes(media_types::OCI_CONFIG, &config);
    layout.put_blob(&config_desc, &mut &config[..]).unwrap();
    let manifest = Manifest::build(ManifestContent::Image(Box::new(ImageManifest {
        schema_version: 2,
        media_type: Some(media_types::OCI_MANIFEST.into()),
        artifact_type: None,
        config: config_desc,
        layers,
        subject: None,
        annotations: Default::default(),
    })))
    .unwrap();
    layout.put_manifest(&manifest, Some("1")).unwrap();
    manifest
}

/// The sha256 of the file at `path`, read in 1 MiB pieces.
fn file_digest(path: &Path) -> Digest {
    let mut hasher = Hasher::new(stevedore::digest::Algorithm::Sha256);
    let mut file = File::open(path).unwrap();
    let mut buf = vec![0u8; 1 << 20];
    loop {
        let n = file.read(&mut buf).unwrap();
        if n == 0 {
            return hasher.finish();
        }
        hasher.update(&buf[..n]);
    }
}

/// Every blob file in the layout at `dir` has the digest it is named by.
fn assert_blobs_verify(dir: &Path) {
    let blobs = dir.join("blobs/sha256");
    for entry in std::fs::read_dir(&blobs).unwrap() {
        let path = entry.unwrap().path();
        let name = path.file_name().unwrap().to_string_lossy().into_owned();
        assert_eq!(
            file_digest(&path).hex(),
            name,
            "{} verifies",
            path.display()
        );
    }
}

#[test]
fn a_one_gib_layer_streams_in_bounded_memory_and_a_killed_copy_resumes() {
    let registry = Registry::start();
    let tmp = tempfile::tempdir().unwrap();
    let t = tmp.path();
    let manifest = big_image(&t.join("src"), t);
    let image = registry.image("big/app:1");
    copy(
        &parse_with(&oci(&t.join("src"), "1"), &registry.client()).unwrap(),
        &parse_with(&image, &registry.client()).unwrap(),
        &CopyOptions::default(),
    )
    .unwrap();
    std::fs::remove_dir_all(t.join("src")).unwrap();

    // Bounded memory: the whole pull peaks far below the layer's size.
    let out = t.join("out");
    let (ok, stderr, peak) = run_measured(
        STEVEDORE,
        &[
            "--tls-verify=false",
            "copy",
            "--quiet",
            &image,
            &oci(&out, "1"),
        ],
    );
    assert!(ok, "{stderr}");
    eprintln!("peak RSS pulling a 1 GiB layer: {} MiB", peak >> 20);
    assert!(peak < 64 << 20, "peak RSS {} MiB", peak >> 20);
    assert_eq!(
        Digest::sha256(&tool_ok("skopeo", &["inspect", "--raw", &oci(&out, "1")])),
        *manifest.digest()
    );
    std::fs::remove_dir_all(&out).unwrap();

    // Killed half-way through the big layer: nothing partial is left.
    let mut child = Command::new(STEVEDORE)
        .args([
            "--tls-verify=false",
            "copy",
            "--progress=json",
            &image,
            &oci(&out, "1"),
        ])
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let events = BufReader::new(child.stderr.take().unwrap());
    for line in events.lines() {
        let event: serde_json::Value = serde_json::from_str(&line.unwrap()).unwrap();
        if event["event"] == "blob_bytes" && event["bytes"].as_u64().unwrap() > GIB / 2 {
            break;
        }
    }
    child.kill().unwrap();
    child.wait().unwrap();
    assert_blobs_verify(&out);
    let big = &manifest.blobs()[2];
    assert!(
        !blob_path(&out, &big.digest).exists(),
        "the big layer was not complete when killed"
    );

    // Re-run: only what is missing moves, and everything verifies.
    let rerun = Command::new(STEVEDORE)
        .args([
            "--tls-verify=false",
            "copy",
            "--json",
            &image,
            &oci(&out, "1"),
        ])
        .output()
        .unwrap();
    assert!(
        rerun.status.success(),
        "{}",
        String::from_utf8_lossy(&rerun.stderr)
    );
    let report: serde_json::Value = serde_json::from_slice(&rerun.stdout).unwrap();
    assert_eq!(report["digest"], manifest.digest().to_string());
    assert_eq!(report["blobs_copied"], 1, "{report}");
    assert_eq!(report["blobs_skipped"], 2, "{report}");
    assert_blobs_verify(&out);
    tool_ok(
        "umoci",
        &["stat", "--image", &format!("{}:1", out.display())],
    );
}
