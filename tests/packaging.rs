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

/// A target directory of its own that outlives the test (so a second run is
/// quick), apart from ours so that nothing `scripts/install.sh` built there
/// is mistaken for the scratch build's output.
fn scratch_target() -> PathBuf {
    let target = std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("target"));
    target.join("scratch-dependent")
}

fn files_under(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            files_under(&path, out);
        } else {
            out.push(path);
        }
    }
}

#[test]
fn a_dependent_without_default_features_builds_no_clap_no_server_and_no_c_library() {
    let tmp = tempfile::tempdir().unwrap();
    scratch_crate(tmp.path(), "");
    let target = scratch_target();
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

    let build = Command::new(env!("CARGO"))
        .args(["build", "--offline", "--quiet"])
        .env("CARGO_TARGET_DIR", &target)
        .current_dir(tmp.path())
        .output()
        .expect("run cargo build");
    assert!(
        build.status.success(),
        "the scratch crate does not build:\n{}",
        String::from_utf8_lossy(&build.stderr)
    );
    let mut built = Vec::new();
    files_under(&target.join("debug"), &mut built);
    let names: Vec<String> = built
        .iter()
        .filter_map(|p| p.file_name()?.to_str().map(str::to_owned))
        .collect();
    assert!(
        names
            .iter()
            .any(|n| n.starts_with("libstevedore-") && n.ends_with(".rlib")),
        "the rlib was built"
    );
    assert!(
        names.iter().all(|n| !(n.starts_with("libstevedore")
            && (n.ends_with(".so") || n.contains(".so.") || n.ends_with(".a")))),
        "a C library of ours was built for a Rust dependent: {names:?}"
    );
    assert!(
        names.iter().all(|n| !n.starts_with("libclap")),
        "clap was built"
    );
    let run = Command::new(target.join("debug/scratch-dependent"))
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
