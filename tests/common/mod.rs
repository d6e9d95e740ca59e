//! Test support: images made through Stevedore's own library, the real peer
//! tools (skopeo, umoci), and snapshots of directory trees.
#![allow(dead_code)]

pub mod fake;
pub mod http;
pub mod layer_images;
pub mod our_server;
pub mod raw;
pub mod raw_push;
pub mod registry;
pub mod reset_proxy;
pub mod s3;
pub mod sbom_check;
pub mod signing_keys;
pub mod store_check;
pub mod tree_rows;
pub mod web;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use stevedore::archive::LayerBuilder;
use stevedore::config::{ImageConfig, RootFs, RuntimeConfig};
use stevedore::descriptor::Descriptor;
use stevedore::manifest::{ImageIndex, ImageManifest, Manifest, ManifestContent};
use stevedore::media_types;
use stevedore::platform::Platform;
use stevedore::transport::{OciLayout, Transport};

/// One layer's entries: files (path, contents), plus a directory and a symlink.
pub struct LayerSpec<'a> {
    pub files: &'a [(&'a str, &'a [u8])],
}

/// Writes one image (config + layers) into `layout`; returns its manifest.
/// The image is not tagged; the caller tags it with `put_manifest`.
pub fn write_image(layout: &OciLayout, platform: &str, layers: &[LayerSpec]) -> Manifest {
    let platform: Platform = platform.parse().unwrap();
    let mut descriptors = Vec::new();
    let mut diff_ids = Vec::new();
    for spec in layers {
        let mut builder = LayerBuilder::new(Vec::new());
        builder.add_dir("etc", 0o755).unwrap();
        for (path, contents) in spec.files {
            builder.add_file(path, 0o644, contents).unwrap();
        }
        builder.add_symlink("etc/link", "hello").unwrap();
        let (bytes, digests) = builder.finish().unwrap();
        let desc = Descriptor::new(media_types::OCI_LAYER_GZIP, digests.digest, digests.size);
        layout.put_blob(&desc, &mut &bytes[..]).unwrap();
        descriptors.push(desc);
        diff_ids.push(digests.diff_id.to_string());
    }
    let config = ImageConfig {
        created: Some("2024-01-01T00:00:00Z".into()),
        architecture: platform.architecture.clone(),
        os: platform.os.clone(),
        variant: platform.variant.clone(),
        config: Some(RuntimeConfig {
            env: Some(vec!["PATH=/usr/bin:/bin".into()]),
            cmd: Some(vec!["/bin/sh".into()]),
            labels: Some([("org.example.test".to_owned(), "yes".to_owned())].into()),
            ..Default::default()
        }),
        rootfs: Some(RootFs {
            kind: "layers".into(),
            diff_ids,
        }),
        ..Default::default()
    };
    let manifest = image_manifest(layout, &config, descriptors);
    layout.put_child_manifest(&manifest).unwrap();
    manifest
}

/// Writes a simple single-layer image tagged `tag` into the layout at `dir`.
pub fn make_image(dir: &Path, tag: &str, hello: &[u8]) -> Manifest {
    let layout = OciLayout::new(dir);
    let files: &[(&str, &[u8])] = &[("etc/hello", hello), ("usr/share/doc/readme", b"docs\n")];
    let manifest = write_image(
        &layout,
        &host_platform(),
        &[
            LayerSpec { files },
            LayerSpec {
                files: &[("etc/second", b"2\n")],
            },
        ],
    );
    layout.put_manifest(&manifest, Some(tag)).unwrap();
    manifest
}

/// Writes an index of one image per platform, tagged `tag`; returns it.
pub fn make_index(dir: &Path, tag: &str, platforms: &[&str]) -> Manifest {
    let layout = OciLayout::new(dir);
    let mut entries = Vec::new();
    for p in platforms {
        let contents = format!("built for {p}\n");
        let files: &[(&str, &[u8])] = &[("etc/hello", contents.as_bytes())];
        let image = write_image(&layout, p, &[LayerSpec { files }]);
        let mut entry = image.descriptor();
        entry.platform = Some(p.parse().unwrap());
        entries.push(entry);
    }
    let index =
        Manifest::build(ManifestContent::Index(Box::new(ImageIndex::oci(entries)))).unwrap();
    layout.put_manifest(&index, Some(tag)).unwrap();
    index
}

pub fn host_platform() -> String {
    Platform::host().to_string()
}

/// Runs a real tool; a missing tool fails the test with how to install it.
pub fn tool(name: &str, args: &[&str]) -> Output {
    Command::new(name).args(args).output().unwrap_or_else(|e| {
        panic!("cannot run {name} ({e}); install it with scripts/test.sh, which apt-get installs the peers")
    })
}

/// Runs a tool and returns its stdout, failing the test when it fails.
pub fn tool_ok(name: &str, args: &[&str]) -> Vec<u8> {
    let out = tool(name, args);
    assert!(
        out.status.success(),
        "{name} {args:?} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    out.stdout
}

/// The exact manifest bytes skopeo reads for `image` (`skopeo inspect
/// --raw`), over plain HTTP for a loopback `docker://` registry.
pub fn skopeo_raw(image: &str) -> Vec<u8> {
    let mut args = vec!["inspect", "--raw"];
    if image.starts_with("docker://") {
        args.push("--tls-verify=false");
    }
    args.push(image);
    tool_ok("skopeo", &args)
}

/// Copies `src` to `dst` with `skopeo copy` and `extra` flags (`--all`, ...),
/// over plain HTTP for loopback `docker://` registries; fails the test when
/// skopeo fails.
pub fn skopeo_copy(src: &str, dst: &str, extra: &[&str]) {
    let mut args = vec!["--insecure-policy", "copy", "--quiet"];
    if src.starts_with("docker://") {
        args.push("--src-tls-verify=false");
    }
    if dst.starts_with("docker://") {
        args.push("--dest-tls-verify=false");
    }
    args.extend_from_slice(extra);
    args.extend([src, dst]);
    tool_ok("skopeo", &args);
}

/// Every file below `dir` with its contents; an absent directory is empty.
pub fn snapshot(dir: &Path) -> BTreeMap<PathBuf, Vec<u8>> {
    let mut out = BTreeMap::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        let Ok(entries) = std::fs::read_dir(&d) else {
            continue;
        };
        for entry in entries {
            let path = entry.unwrap().path();
            if path.is_dir() {
                stack.push(path);
            } else {
                let rel = path.strip_prefix(dir).unwrap().to_path_buf();
                out.insert(rel, std::fs::read(&path).unwrap());
            }
        }
    }
    out
}

/// The path of blob `digest` in the layout at `dir`.
pub fn blob_path(dir: &Path, digest: &stevedore::Digest) -> PathBuf {
    dir.join("blobs")
        .join(digest.algorithm().as_str())
        .join(digest.hex())
}

/// The `oci:` transport string for `dir` and `tag`.
pub fn oci(dir: &Path, tag: &str) -> String {
    format!("oci:{}:{tag}", dir.display())
}

/// Runs `program args` to completion under GNU time and returns whether it
/// succeeded, its stderr, and its peak resident memory in bytes. (`time` runs
/// it as its own child, so the test process's memory does not count.)
pub fn run_measured(program: &str, args: &[&str]) -> (bool, String, u64) {
    let report = tempfile::NamedTempFile::new().unwrap();
    let out = Command::new("/usr/bin/time")
        .args(["-f", "%M", "-o", report.path().to_str().unwrap(), program])
        .args(args)
        .output()
        .expect("run /usr/bin/time (scripts/test.sh installs it)");
    let kib: u64 = std::fs::read_to_string(report.path())
        .unwrap()
        .lines()
        .last()
        .and_then(|l| l.trim().parse().ok())
        .expect("time reports the peak RSS");
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
        kib * 1024,
    )
}

/// `len` bytes that do not compress (xorshift), the same for the same seed.
pub fn incompressible(len: usize, seed: u64) -> Vec<u8> {
    let mut state = seed | 1;
    let mut out = Vec::with_capacity(len + 8);
    while out.len() < len {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        out.extend_from_slice(&state.to_le_bytes());
    }
    out.truncate(len);
    out
}

/// A CA (`DIR/ca.crt`) and a server key and certificate it signed for
/// 127.0.0.1, made by openssl; returns (key, certificate).
pub fn tls_for_loopback(dir: &Path) -> (PathBuf, PathBuf) {
    let path = |name: &str| dir.join(name).display().to_string();
    let (ca_key, ca_crt, key_pem, csr) = (
        path("ca.key"),
        path("ca.crt"),
        path("registry.key"),
        path("registry.csr"),
    );
    let ec = [
        "-newkey",
        "ec",
        "-pkeyopt",
        "ec_paramgen_curve:prime256v1",
        "-nodes",
    ];
    let ca_args = [
        &["req", "-x509"][..],
        &ec,
        &[
            "-keyout",
            &ca_key,
            "-out",
            &ca_crt,
            "-days",
            "2",
            "-subj",
            "/CN=stevedore test CA",
            "-addext",
            "basicConstraints=critical,CA:TRUE",
            "-addext",
            "keyUsage=critical,keyCertSign",
        ],
    ]
    .concat();
    tool_ok("openssl", &ca_args);
    let csr_args = [
        &["req"][..],
        &ec,
        &["-keyout", &key_pem, "-out", &csr, "-subj", "/CN=127.0.0.1"],
    ]
    .concat();
    tool_ok("openssl", &csr_args);
    std::fs::write(
        dir.join("ext.cnf"),
        "subjectAltName=IP:127.0.0.1\nbasicConstraints=CA:FALSE\n",
    )
    .unwrap();
    tool_ok(
        "openssl",
        &[
            "x509",
            "-req",
            "-in",
            &path("registry.csr"),
            "-CA",
            &path("ca.crt"),
            "-CAkey",
            &path("ca.key"),
            "-CAcreateserial",
            "-out",
            &path("registry.crt"),
            "-days",
            "2",
            "-extfile",
            &path("ext.cnf"),
        ],
    );
    (dir.join("registry.key"), dir.join("registry.crt"))
}

/// Writes an OCI image for the host's platform into the layout `dir`, tagged
/// `tag`, from layers given as `(blob, media type, uncompressed tar)`, base
/// first; returns `oci:DIR:TAG`.
pub fn image_of_layers(dir: &Path, tag: &str, layers: &[(Vec<u8>, &str, &[u8])]) -> String {
    let layout = OciLayout::new(dir);
    let mut descriptors = Vec::new();
    let mut diff_ids = Vec::new();
    for (blob, media_type, tar) in layers {
        let desc = Descriptor::for_bytes(media_type, blob);
        layout.put_blob(&desc, &mut &blob[..]).unwrap();
        descriptors.push(desc);
        diff_ids.push(stevedore::Digest::sha256(tar).to_string());
    }
    let platform = Platform::host();
    let config = ImageConfig {
        architecture: platform.architecture.clone(),
        os: platform.os.clone(),
        rootfs: Some(RootFs {
            kind: "layers".into(),
            diff_ids,
        }),
        ..Default::default()
    };
    let manifest = image_manifest(&layout, &config, descriptors);
    layout.put_manifest(&manifest, Some(tag)).unwrap();
    oci(dir, tag)
}

/// Stores `config` in `layout` and builds the OCI image manifest over it and
/// `layers` (already stored); the caller puts the manifest.
fn image_manifest(layout: &OciLayout, config: &ImageConfig, layers: Vec<Descriptor>) -> Manifest {
    let config_bytes = config.to_bytes().unwrap();
    let config_desc = Descriptor::for_bytes(media_types::OCI_CONFIG, &config_bytes);
    layout
        .put_blob(&config_desc, &mut &config_bytes[..])
        .unwrap();
    Manifest::build(ManifestContent::Image(Box::new(ImageManifest {
        schema_version: 2,
        media_type: Some(media_types::OCI_MANIFEST.into()),
        artifact_type: None,
        config: config_desc,
        layers,
        subject: None,
        annotations: Default::default(),
    })))
    .unwrap()
}

/// Stops a `stevedore serve` process as a user would, with SIGTERM (it then
/// removes its scratch directory), killing it only if it has not ended
/// within 10 seconds.
pub fn stop_serve(child: &mut std::process::Child) {
    let _ = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status();
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    while std::time::Instant::now() < deadline {
        if let Ok(Some(_)) = child.try_wait() {
            return;
        }
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    let _ = child.kill();
    let _ = child.wait();
}
