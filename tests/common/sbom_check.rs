//! Judging SBOMs: the (name, version) pairs of a catalog, what the ecosystems'
//! own tools list (`go version -m`), and the official validators of both formats
//! (spdx-tools' `pyspdxtools`, cyclonedx-python-lib's `JsonStrictValidator`).

use std::fs;
use std::path::Path;
use std::process::Command;

use stevedore::sbom::{self, Catalog, DirRootFs, Ecosystem, Format, RenderOptions};

/// Runs `cmd`, panicking with its stderr when it fails; returns its stdout.
pub fn run(cmd: &mut Command) -> String {
    let out = cmd
        .output()
        .unwrap_or_else(|e| panic!("running {cmd:?} (see scripts/install-deps.sh): {e}"));
    assert!(
        out.status.success(),
        "{cmd:?} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

/// The sorted (name, version) pairs of `ecosystem`, only those evidenced by
/// `evidence` when given.
pub fn pairs(
    catalog: &Catalog,
    ecosystem: Ecosystem,
    evidence: Option<&str>,
) -> Vec<(String, String)> {
    let mut out: Vec<_> = catalog
        .packages
        .iter()
        .filter(|p| p.ecosystem == ecosystem)
        .filter(|p| evidence.is_none_or(|e| p.evidence.iter().any(|x| x == e)))
        .map(|p| (p.name.clone(), p.version.clone()))
        .collect();
    out.sort();
    out
}

/// The catalog of the host directory `root`.
pub fn catalog_of(root: &Path) -> Catalog {
    sbom::catalog(&DirRootFs::new(root).unwrap())
}

/// Renders `catalog` in both formats and has the official validators judge them.
pub fn validate(catalog: &Catalog) {
    let options = RenderOptions {
        name: "stevedore test root".into(),
        created: None,
    };
    validate_documents(
        &sbom::render_with(catalog, Format::SpdxJson, &options),
        &sbom::render_with(catalog, Format::CycloneDxJson, &options),
    );
}

/// Has the official validators judge an SPDX 2.3 JSON and a CycloneDX 1.5 JSON
/// document.
pub fn validate_documents(spdx_json: &[u8], cyclonedx_json: &[u8]) {
    let dir = tempfile::tempdir().unwrap();
    let spdx = dir.path().join("sbom.spdx.json");
    fs::write(&spdx, spdx_json).unwrap();
    let cdx = dir.path().join("sbom.cdx.json");
    fs::write(&cdx, cyclonedx_json).unwrap();
    let spdx_out = run(Command::new("pyspdxtools").arg("-i").arg(&spdx));
    assert!(
        !spdx_out.to_lowercase().contains("invalid"),
        "pyspdxtools: {spdx_out}"
    );
    run(Command::new("python3")
        .arg("-c")
        .arg(CYCLONEDX_VALIDATE)
        .arg(&cdx));
}

const CYCLONEDX_VALIDATE: &str = r#"
import sys
from cyclonedx.schema import SchemaVersion
from cyclonedx.validation.json import JsonStrictValidator
error = JsonStrictValidator(SchemaVersion.V1_5).validate_str(open(sys.argv[1]).read())
if error is not None:
    sys.exit(f"CycloneDX 1.5 schema: {error}")
"#;

/// What `go version -m` prints for `binary`: the toolchain as `stdlib`, the main
/// module (`(devel)` as no version) and every dependency, a module replaced by
/// another module (`=>`) as its replacement.
pub fn go_version_m(binary: &Path) -> Vec<(String, String)> {
    let out = run(Command::new("go").arg("version").arg("-m").arg(binary));
    let mut lines = out.lines();
    let toolchain = lines.next().unwrap().rsplit(' ').next().unwrap();
    let mut modules = vec![(
        "stdlib".to_string(),
        toolchain.trim_start_matches("go").to_string(),
    )];
    for line in lines {
        let fields: Vec<&str> = line.trim_start().split('\t').collect();
        match fields.as_slice() {
            ["mod" | "dep", path, version, ..] => {
                let version = if *version == "(devel)" { "" } else { version };
                modules.push((path.to_string(), version.to_string()));
            }
            ["=>", path, version, ..] if !path.starts_with(['.', '/']) => {
                *modules.last_mut().unwrap() = (path.to_string(), version.to_string());
            }
            _ => {}
        }
    }
    modules.sort();
    modules
}

/// `(name, version)` of every distribution `pip list --path SITE` lists, sorted.
pub fn pip_list(site: &Path) -> Vec<(String, String)> {
    let listed = run(Command::new("python3")
        .args([
            "-m",
            "pip",
            "list",
            "--disable-pip-version-check",
            "--format",
            "json",
            "--path",
        ])
        .arg(site));
    let listed: serde_json::Value = serde_json::from_str(&listed).unwrap();
    let mut out: Vec<(String, String)> = listed
        .as_array()
        .unwrap()
        .iter()
        .map(|d| {
            (
                d["name"].as_str().unwrap().into(),
                d["version"].as_str().unwrap().into(),
            )
        })
        .collect();
    out.sort();
    out
}
