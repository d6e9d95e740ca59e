//! The C ABI, from a C program built with `-Wall -Wextra -Werror` against the
//! checked-in header and `libstevedore.so`, run under valgrind: a client
//! handle shared by four threads, every verb, and the error paths.

mod common;

use std::path::{Path, PathBuf};
use std::process::Command;

use common::*;

/// Builds the cdylib with the same profile as this test and returns its directory.
fn build_library() -> PathBuf {
    let profile_dir = std::env::current_exe()
        .unwrap()
        .parent()
        .and_then(Path::parent)
        .unwrap()
        .to_path_buf();
    let mut cargo = Command::new(env!("CARGO"));
    cargo
        .args(["build", "--quiet", "--lib"])
        .current_dir(env!("CARGO_MANIFEST_DIR"));
    if profile_dir.ends_with("release") {
        cargo.arg("--release");
    }
    let status = cargo.status().expect("run cargo build");
    assert!(status.success(), "cargo build --lib failed");
    assert!(
        profile_dir.join("libstevedore.so").exists(),
        "no libstevedore.so in {}",
        profile_dir.display()
    );
    profile_dir
}

#[test]
fn c_program_copies_inspects_and_sees_typed_errors() {
    let lib_dir = build_library();
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let tmp = tempfile::tempdir().unwrap();
    let exe = tmp.path().join("abi_test");
    let rpath = format!("-Wl,-rpath,{}", lib_dir.display());
    tool_ok(
        "cc",
        &[
            "-std=c11",
            "-Wall",
            "-Wextra",
            "-Werror",
            "-I",
            root.join("include").to_str().unwrap(),
            root.join("tests/c/abi_test.c").to_str().unwrap(),
            "-L",
            lib_dir.to_str().unwrap(),
            "-lstevedore",
            "-pthread",
            &rpath,
            "-o",
            exe.to_str().unwrap(),
        ],
    );

    let (a, b) = (tmp.path().join("a"), tmp.path().join("b"));
    let manifest = make_image(&a, "1.0", b"from C\n");
    let args = [
        oci(&a, "1.0"),
        format!("oci:{}", b.display()),
        manifest.digest().to_string(),
        manifest.blobs()[1].digest.to_string(),
        env!("CARGO_PKG_VERSION").to_owned(),
    ];
    let out = tool(
        "valgrind",
        &[
            "--quiet",
            "--error-exitcode=97",
            "--leak-check=full",
            "--errors-for-leak-kinds=definite,indirect",
            exe.to_str().unwrap(),
            &args[0],
            &args[1],
            &args[2],
            &args[3],
            &args[4],
        ],
    );
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    println!("{stdout}");
    assert!(
        out.status.success(),
        "the C test failed (exit {:?}; 97 = valgrind found errors):\n{stdout}\n{stderr}",
        out.status.code()
    );
    assert!(stdout.contains(" passed, 0 failed"), "{stdout}");
    // The copy the C program made is a real layout.
    tool_ok(
        "umoci",
        &["stat", "--image", &format!("{}:copied", b.display())],
    );
}
