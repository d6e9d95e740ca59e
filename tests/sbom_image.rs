//! The SBOM of an image, from layers made of real data no one here wrote: this
//! machine's dpkg database and os-release, distributions `pip` installs (pip's own
//! bundled wheels, so no network), Debian's `skopeo`. The image's SBOM lists what
//! `dpkg-query -W`, `pip list` and `go version -m` list; both formats validate; a
//! whiteout removes a distribution; `--attach` reaches docker-registry and our
//! server, where `referrers` lists it and `copy --referrers` carries it.

mod common;

use std::cell::Cell;
use std::fs;
use std::io::Write;
use std::os::unix::fs::PermissionsExt;
use std::path::Path;
use std::process::Command;

use common::registry::Registry;
use common::sbom_check::{go_version_m, pairs, pip_list, run, validate_documents};
use stevedore::media_types;
use stevedore::registry::{Client, ClientOptions};
use stevedore::sbom::{self, DirRootFs, Ecosystem, Format, RootFs, SbomOptions};
use stevedore::server::{Server, ServerOptions};
use stevedore::transport::parse_with;
use stevedore::{copy, CopyOptions};

/// A tar of `files` (path, mode, bytes), with their parent directories.
fn tar_of(files: &[(String, u32, Vec<u8>)]) -> Vec<u8> {
    let mut b = tar::Builder::new(Vec::new());
    let mut dirs = std::collections::BTreeSet::new();
    for (path, mode, bytes) in files {
        let mut parent = Path::new(path).parent();
        let mut missing = Vec::new();
        while let Some(p) = parent.filter(|p| !p.as_os_str().is_empty()) {
            if dirs.insert(p.to_path_buf()) {
                missing.push(p.to_path_buf());
            }
            parent = p.parent();
        }
        for dir in missing.iter().rev() {
            let mut h = tar::Header::new_gnu();
            h.set_entry_type(tar::EntryType::Directory);
            h.set_mode(0o755);
            h.set_size(0);
            h.set_mtime(1_700_000_000);
            b.append_data(&mut h, dir, std::io::empty()).unwrap();
        }
        let mut h = tar::Header::new_gnu();
        h.set_entry_type(tar::EntryType::Regular);
        h.set_mode(*mode);
        h.set_size(bytes.len() as u64);
        h.set_mtime(1_700_000_000);
        b.append_data(&mut h, path, &bytes[..]).unwrap();
    }
    b.into_inner().unwrap()
}

/// Every regular file under `dir`, as (`prefix`/relative path, mode, bytes).
fn files_under(dir: &Path, prefix: &str) -> Vec<(String, u32, Vec<u8>)> {
    let mut out = Vec::new();
    let mut pending = vec![dir.to_path_buf()];
    while let Some(d) = pending.pop() {
        for item in fs::read_dir(&d).unwrap() {
            let path = item.unwrap().path();
            let meta = fs::symlink_metadata(&path).unwrap();
            if meta.is_dir() {
                pending.push(path);
            } else if meta.is_file() {
                let rel = path.strip_prefix(dir).unwrap().to_str().unwrap();
                out.push((
                    format!("{prefix}/{rel}"),
                    meta.permissions().mode() & 0o7777,
                    fs::read(&path).unwrap(),
                ));
            }
        }
    }
    out.sort();
    out
}

/// Writes an image of gzip layers made of `tars` (base first) tagged `tag`
/// into the layout `dir`; returns `oci:DIR:TAG`.
fn image(dir: &Path, tag: &str, tars: &[Vec<u8>]) -> String {
    let layers: Vec<(Vec<u8>, &str, &[u8])> = tars
        .iter()
        .map(|tar| {
            let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
            gz.write_all(tar).unwrap();
            (
                gz.finish().unwrap(),
                media_types::OCI_LAYER_GZIP,
                tar.as_slice(),
            )
        })
        .collect();
    common::image_of_layers(dir, tag, &layers)
}

/// The layer of this machine's dpkg database and os-release.
fn dpkg_layer() -> Vec<u8> {
    tar_of(&[
        (
            "etc/os-release".into(),
            0o644,
            fs::read("/etc/os-release").unwrap(),
        ),
        (
            "var/lib/dpkg/status".into(),
            0o644,
            fs::read("/var/lib/dpkg/status").unwrap(),
        ),
    ])
}

/// What `dpkg-query -W` lists on this machine, sorted.
fn dpkg_query() -> Vec<(String, String)> {
    let listed = run(Command::new("dpkg-query").args(["-W", "-f", "${Package} ${Version}\n"]));
    let mut out: Vec<(String, String)> = listed
        .lines()
        .map(|l| {
            let (n, v) = l.split_once(' ').unwrap();
            (n.to_string(), v.to_string())
        })
        .collect();
    out.sort();
    out
}

/// `pip install --target` of the wheels pip itself bundles (pip, setuptools: real
/// PyPI distributions, installed without the network) into `site`; returns what
/// `pip list --path` says is there, sorted.
fn pip_install(site: &Path) -> Vec<(String, String)> {
    let bundled = run(Command::new("python3").args([
        "-c",
        "import ensurepip, os; print(os.path.join(os.path.dirname(ensurepip.__file__), '_bundled'))",
    ]));
    let wheels: Vec<_> = fs::read_dir(bundled.trim())
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "whl"))
        .collect();
    assert!(wheels.len() >= 2, "{wheels:?}");
    run(Command::new("python3")
        .args([
            "-m",
            "pip",
            "install",
            "--quiet",
            "--no-index",
            "--no-deps",
            "--disable-pip-version-check",
            "--target",
        ])
        .arg(site)
        .args(&wheels));
    pip_list(site)
}

const SITE: &str = "usr/lib/python3/site-packages";

#[test]
fn image_sbom_lists_what_dpkg_pip_and_go_list_and_validates() {
    let tmp = tempfile::tempdir().unwrap();
    let t = tmp.path();
    let site = t.join("site");
    let pip = pip_install(&site);
    let python = tar_of(&files_under(&site, SITE));
    let skopeo = tar_of(&[(
        "usr/bin/skopeo".into(),
        0o755,
        fs::read("/usr/bin/skopeo").unwrap(),
    )]);
    let name = image(
        &t.join("layout"),
        "1",
        &[dpkg_layer(), python.clone(), skopeo],
    );
    let image_ref = stevedore::parse_image(&name).unwrap();

    let spdx = stevedore::sbom(&image_ref, &SbomOptions::default()).unwrap();
    let catalog = &spdx.catalog;
    assert_eq!(pairs(catalog, Ecosystem::Deb, None), dpkg_query());
    assert_eq!(pairs(catalog, Ecosystem::Python, None), pip);
    assert_eq!(
        pairs(catalog, Ecosystem::Go, Some("usr/bin/skopeo")),
        go_version_m(Path::new("/usr/bin/skopeo"))
    );
    assert!(spdx.warnings.is_empty(), "{:?}", spdx.warnings);
    assert_eq!(spdx.packages, catalog.packages.len());
    assert_eq!(spdx.ecosystems[&Ecosystem::Python], pip.len());
    assert_eq!(spdx.artifact_type, "application/spdx+json");
    assert!(spdx.attached.is_none());
    let os = spdx.os.as_ref().unwrap();
    assert_eq!(os.evidence, "etc/os-release");

    let cdx = stevedore::sbom(
        &image_ref,
        &SbomOptions {
            format: Format::CycloneDxJson,
            ..Default::default()
        },
    )
    .unwrap();
    assert_eq!(cdx.catalog, spdx.catalog);
    validate_documents(&spdx.document, &cdx.document);

    // A later layer whites out one distribution's metadata: it leaves the SBOM.
    let (gone, kept) = (&pip[0], &pip[1..]);
    let dist_info = files_under(&site, SITE)
        .into_iter()
        .map(|(p, _, _)| p)
        .find(|p| {
            p.ends_with(".dist-info/METADATA")
                && p.to_lowercase()
                    .contains(&format!("/{}-{}", gone.0.to_lowercase(), gone.1))
        })
        .unwrap();
    let dir = Path::new(&dist_info).parent().unwrap();
    let whiteout = dir.parent().unwrap().join(format!(
        ".wh.{}",
        dir.file_name().unwrap().to_str().unwrap()
    ));
    let removal = tar_of(&[(whiteout.to_str().unwrap().to_string(), 0o644, Vec::new())]);
    let name = image(&t.join("layout"), "2", &[dpkg_layer(), python, removal]);
    let report =
        stevedore::sbom(&stevedore::parse_image(&name).unwrap(), &Default::default()).unwrap();
    assert_eq!(pairs(&report.catalog, Ecosystem::Python, None), kept);
    assert_eq!(pairs(&report.catalog, Ecosystem::Deb, None), dpkg_query());
}

/// A [`RootFs`] counting the bytes it hands out.
struct Counting {
    inner: DirRootFs,
    bytes: Cell<u64>,
}

impl RootFs for Counting {
    fn entries(&self) -> stevedore::Result<Vec<sbom::Entry>> {
        self.inner.entries()
    }
    fn read(&self, path: &str, max_bytes: u64) -> stevedore::Result<Vec<u8>> {
        let b = self.inner.read(path, max_bytes)?;
        self.bytes.set(self.bytes.get() + b.len() as u64);
        Ok(b)
    }
    fn read_range(&self, path: &str, offset: u64, len: u64) -> stevedore::Result<Vec<u8>> {
        let b = self.inner.read_range(path, offset, len)?;
        self.bytes.set(self.bytes.get() + b.len() as u64);
        Ok(b)
    }
}

#[test]
fn binaries_are_read_by_their_headers_and_sections_not_whole() {
    let dir = tempfile::tempdir().unwrap();
    let bin = dir.path().join("usr/bin");
    fs::create_dir_all(&bin).unwrap();
    fs::copy("/usr/bin/skopeo", bin.join("skopeo")).unwrap();
    let size = fs::metadata(bin.join("skopeo")).unwrap().len();
    let fs = Counting {
        inner: DirRootFs::new(dir.path()).unwrap(),
        bytes: Cell::new(0),
    };
    let catalog = sbom::catalog(&fs);
    assert_eq!(
        pairs(&catalog, Ecosystem::Go, None),
        go_version_m(&bin.join("skopeo"))
    );
    assert!(
        fs.bytes.get() < 1 << 20,
        "read {} bytes of a {size}-byte binary",
        fs.bytes.get()
    );
}

/// Pushes the small dpkg image to `dst` (through `client`), runs `sbom --attach`
/// there, and checks `referrers` and `copy --referrers` to `mirror`.
fn attach_and_carry(src: &str, dst: &str, mirror: &str, client: &Client, format: Format) {
    let src = parse_with(src, client).unwrap();
    let dst_ref = parse_with(dst, client).unwrap();
    copy(&src, &dst_ref, &CopyOptions::default()).unwrap();
    let report = stevedore::sbom(
        &dst_ref,
        &SbomOptions {
            format,
            attach: true,
            ..Default::default()
        },
    )
    .unwrap();
    let attached = report.attached.clone().unwrap();
    assert_eq!(attached.artifact_type, format.artifact_type());
    let listed = stevedore::referrers::referrers(&dst_ref, Some(format.artifact_type())).unwrap();
    assert_eq!(listed.len(), 1, "{dst}");
    assert_eq!(listed[0].digest, attached.digest);
    assert_eq!(
        listed[0].artifact_type.as_deref(),
        Some(format.artifact_type())
    );
    let blob = stevedore::fetch::blob(&dst_ref, &attached.blob).unwrap();
    let mut bytes = Vec::new();
    std::io::copy(&mut { blob }, &mut bytes).unwrap();
    assert_eq!(bytes, report.document);

    let mirror_ref = parse_with(mirror, client).unwrap();
    let copied = copy(
        &dst_ref,
        &mirror_ref,
        &CopyOptions {
            referrers: true,
            ..Default::default()
        },
    )
    .unwrap();
    assert_eq!(copied.referrers_copied, 1, "{mirror}");
    let there = stevedore::referrers::referrers(&mirror_ref, Some(format.artifact_type())).unwrap();
    assert_eq!(there.len(), 1, "{mirror}");
    assert_eq!(there[0].digest, attached.digest);
}

#[test]
fn sbom_attach_reaches_docker_registry_and_our_server() {
    let tmp = tempfile::tempdir().unwrap();
    let src = image(tmp.path(), "1", &[dpkg_layer()]);
    let registry = Registry::start();
    attach_and_carry(
        &src,
        &registry.image("app/sbom:1"),
        &registry.image("mirror/sbom:1"),
        &registry.client(),
        Format::SpdxJson,
    );
    let server = Server::start(ServerOptions::default()).unwrap();
    let client = Client::new(ClientOptions {
        plain_http: vec![server.host()],
        ..Default::default()
    })
    .unwrap();
    attach_and_carry(
        &src,
        &format!("docker://{}/app/sbom:1", server.host()),
        &format!("docker://{}/mirror/sbom:1", server.host()),
        &client,
        Format::CycloneDxJson,
    );
}

#[test]
fn cli_sbom_writes_the_document_and_attaches_it() {
    let tmp = tempfile::tempdir().unwrap();
    let t = tmp.path();
    let src = image(&t.join("layout"), "1", &[dpkg_layer()]);
    let out = t.join("sbom.cdx.json");
    let cli = |args: &[&str]| {
        Command::new(env!("CARGO_BIN_EXE_stevedore"))
            .args(args)
            .output()
            .unwrap()
    };
    let ran = cli(&[
        "sbom",
        &src,
        "--format",
        "cyclonedx-json",
        "-o",
        out.to_str().unwrap(),
        "--attach",
    ]);
    assert!(
        ran.status.success(),
        "{}",
        String::from_utf8_lossy(&ran.stderr)
    );
    assert!(ran.stdout.is_empty());
    assert!(
        String::from_utf8_lossy(&ran.stderr).contains("attached application/vnd.cyclonedx+json")
    );
    let document: serde_json::Value = serde_json::from_slice(&fs::read(&out).unwrap()).unwrap();
    assert_eq!(document["specVersion"], "1.5");
    let listed = cli(&["referrers", "--json", &src]);
    assert!(listed.status.success());
    assert!(String::from_utf8_lossy(&listed.stdout).contains("application/vnd.cyclonedx+json"));

    let spdx = cli(&["sbom", &src]);
    assert!(spdx.status.success());
    let document: serde_json::Value = serde_json::from_slice(&spdx.stdout).unwrap();
    assert_eq!(document["spdxVersion"], "SPDX-2.3");

    let bad = cli(&[
        "sbom",
        &src,
        "--format",
        "yaml",
        "-o",
        t.join("no").to_str().unwrap(),
    ]);
    assert!(!bad.status.success());
    assert!(!t.join("no").exists());
    let missing = cli(&[
        "sbom",
        "oci:/nonexistent/layout:1",
        "-o",
        t.join("no").to_str().unwrap(),
    ]);
    assert!(!missing.status.success());
    assert!(!t.join("no").exists());
}
