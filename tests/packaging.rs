//! How the crate installs for a Rust user: a project that depends on
//! `stevedore` with `default-features = false` pays for neither the CLI's
//! crates (clap, signal-hook, rpassword) nor the server's, and builds no C
//! library (the crate is an rlib; `scripts/install.sh` builds the C library).

use std::path::{Path, PathBuf};
use std::process::Command;

/// A scratch crate depending on this one by path, with `features`.
fn scratch_crate(dir: &Path, features: &str) {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    std::fs::create_dir_all(dir.join("src")).unwrap();
    std::fs::write(
        dir.join("Cargo.toml"),
        format!(
            "[package]\nname = \"scratch-dependent\"\nversion = \"0.0.0\"\nedition = \"2021\"\n\n\
             [dependencies]\nstevedore = {{ path = {root:?}, default-features = false{features} }}\n\n\
             [profile.dev.package.\"*\"]\nopt-level = 2\n\n[workspace]\n",
        ),
    )
    .unwrap();
    std::fs::write(
        dir.join("src/main.rs"),
        "fn main() {\n    let image = stevedore::parse_image(\"oci:/tmp/layout:1.0\").unwrap();\n    \
         println!(\"{image:?}\");\n}\n",
    )
    .unwrap();
    // The lock file of this crate, so the scratch build resolves offline to
    // the same versions.
    std::fs::copy(root.join("Cargo.lock"), dir.join("Cargo.lock")).unwrap();
}

/// The target directory of this build: the scratch crate reuses the
/// dependencies already compiled there (same `dev` profile), so only
/// `stevedore` itself and the few crates whose features differ are compiled.
fn shared_target() -> PathBuf {
    std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("target"))
}

/// One `compiler-artifact` message of `cargo build --message-format=json`:
/// the crate built and the files it produced (fresh or not).
#[derive(serde::Deserialize)]
struct Artifact {
    reason: String,
    #[serde(default)]
    package_id: String,
    #[serde(default)]
    target: Option<ArtifactTarget>,
    #[serde(default)]
    filenames: Vec<PathBuf>,
    #[serde(default)]
    executable: Option<PathBuf>,
}

#[derive(serde::Deserialize)]
struct ArtifactTarget {
    name: String,
    crate_types: Vec<String>,
}

#[test]
fn a_dependent_without_default_features_builds_no_clap_no_server_and_no_c_library() {
    let tmp = tempfile::tempdir().unwrap();
    scratch_crate(tmp.path(), "");
    let tree = Command::new(env!("CARGO"))
        .args(["tree", "--offline", "--edges", "normal", "--prefix", "none"])
        .current_dir(tmp.path())
        .output()
        .expect("run cargo tree");
    assert!(
        tree.status.success(),
        "{}",
        String::from_utf8_lossy(&tree.stderr)
    );
    let tree = String::from_utf8(tree.stdout).unwrap();
    assert!(tree.contains("stevedore v"), "{tree}");
    // (httparse stays: ureq, the client, uses it too.)
    for unwanted in [
        "clap ",
        "signal-hook ",
        "rpassword ",
        "chunked_transfer ",
        "bcrypt ",
    ] {
        assert!(!tree.contains(unwanted), "{unwanted}in the tree:\n{tree}");
    }

    // Every unit of the build is reported, fresh or compiled, so what
    // `scripts/install.sh` or the tests built in the same directory does not
    // count: only the artifacts of this build do.
    let build = Command::new(env!("CARGO"))
        .args(["build", "--offline", "--message-format=json"])
        .env("CARGO_TARGET_DIR", shared_target())
        .current_dir(tmp.path())
        .output()
        .expect("run cargo build");
    assert!(
        build.status.success(),
        "the scratch crate does not build:\n{}",
        String::from_utf8_lossy(&build.stderr)
    );
    let artifacts: Vec<Artifact> = String::from_utf8_lossy(&build.stdout)
        .lines()
        .filter_map(|line| serde_json::from_str::<Artifact>(line).ok())
        .filter(|a| a.reason == "compiler-artifact")
        .collect();
    let ours: Vec<&Artifact> = artifacts
        .iter()
        .filter(|a| a.target.as_ref().is_some_and(|t| t.name == "stevedore"))
        .collect();
    assert_eq!(ours.len(), 1, "stevedore is built once, as a library");
    let target = ours[0].target.as_ref().unwrap();
    assert_eq!(
        target.crate_types,
        ["rlib"],
        "crate types built for a Rust dependent"
    );
    assert!(
        ours[0]
            .filenames
            .iter()
            .all(|f| f.extension().is_some_and(|e| e == "rlib" || e == "rmeta")),
        "a C library of ours was built for a Rust dependent: {:?}",
        ours[0].filenames
    );
    let clap: Vec<&str> = artifacts
        .iter()
        .map(|a| a.package_id.as_str())
        .filter(|id| id.contains("#clap@") || id.contains("#clap_builder@"))
        .collect();
    assert!(clap.is_empty(), "clap was built: {clap:?}");
    let binary = artifacts
        .iter()
        .filter(|a| {
            a.target
                .as_ref()
                .is_some_and(|t| t.name == "scratch-dependent")
        })
        .find_map(|a| a.executable.clone())
        .expect("the scratch binary");
    let run = Command::new(binary)
        .output()
        .expect("run the scratch binary");
    assert!(run.status.success());
    assert!(String::from_utf8_lossy(&run.stdout).contains("layout"));
}

#[test]
fn the_capi_feature_alone_brings_the_server_but_not_the_cli() {
    let tmp = tempfile::tempdir().unwrap();
    scratch_crate(tmp.path(), ", features = [\"capi\"]");
    let tree = Command::new(env!("CARGO"))
        .args(["tree", "--offline", "--edges", "normal", "--prefix", "none"])
        .current_dir(tmp.path())
        .output()
        .expect("run cargo tree");
    assert!(
        tree.status.success(),
        "{}",
        String::from_utf8_lossy(&tree.stderr)
    );
    let tree = String::from_utf8(tree.stdout).unwrap();
    assert!(tree.contains("bcrypt "), "{tree}");
    assert!(!tree.contains("clap "), "{tree}");
}
