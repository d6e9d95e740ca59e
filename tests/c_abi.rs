//! The C ABI, from a C program built with `-Wall -Wextra -Werror` against the
//! header and library `scripts/install.sh` installs, found through
//! pkg-config: linked once against `libstevedore.so` (run under valgrind)
//! and once against `libstevedore.a`. It shares a client handle between four
//! threads, runs every verb against layouts and our server on loopback, and
//! walks the error paths.

mod common;

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use common::*;

/// Installs the library of this test's profile under `prefix` with
/// `scripts/install.sh`; returns the pkg-config directory.
fn install(prefix: &Path) -> PathBuf {
    let profile_dir = std::env::current_exe()
        .unwrap()
        .parent()
        .and_then(Path::parent)
        .unwrap()
        .to_path_buf();
    let profile = if profile_dir.ends_with("release") {
        "release"
    } else {
        "debug"
    };
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let status = Command::new(root.join("scripts/install.sh"))
        .arg(prefix)
        .env("PROFILE", profile)
        .status()
        .expect("run scripts/install.sh");
    assert!(status.success(), "scripts/install.sh failed");
    prefix.join("lib/pkgconfig")
}

/// Compiles the C test against the pkg-config package `package`.
fn compile(pkgconfig: &Path, package: &str, exe: &Path) {
    let flags = Command::new("pkg-config")
        .args(["--cflags", "--libs", package])
        .env("PKG_CONFIG_PATH", pkgconfig)
        .output()
        .expect("run pkg-config (scripts/test.sh installs it)");
    assert!(flags.status.success(), "pkg-config {package}");
    let flags = String::from_utf8(flags.stdout).unwrap();
    let source = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/c/abi_test.c");
    let mut args = vec![
        "-std=c11",
        "-Wall",
        "-Wextra",
        "-Werror",
        source.to_str().unwrap(),
        "-o",
        exe.to_str().unwrap(),
        "-pthread",
    ];
    args.extend(flags.split_whitespace());
    tool_ok("cc", &args);
}

fn report(out: &Output, how: &str) -> String {
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        out.status.success(),
        "the C test ({how}) failed (exit {:?}; 97 = valgrind found errors):\n{stdout}\n{stderr}",
        out.status.code()
    );
    assert!(stdout.contains(" passed, 0 failed"), "{how}: {stdout}");
    stdout
}

#[test]
fn c_program_linked_shared_and_static_runs_every_verb() {
    let tmp = tempfile::tempdir().unwrap();
    let pkgconfig = install(&tmp.path().join("prefix"));
    let shared = tmp.path().join("abi_test");
    let fixed = tmp.path().join("abi_test_static");
    compile(&pkgconfig, "stevedore", &shared);
    compile(&pkgconfig, "stevedore-static", &fixed);

    let source = tmp.path().join("a");
    let manifest = make_image(&source, "1.0", b"from C\n");
    let run = |exe: &Path, layout: &Path, valgrind: bool| {
        let args = [
            oci(&source, "1.0"),
            format!("oci:{}", layout.display()),
            manifest.digest().to_string(),
            manifest.blobs()[1].digest.to_string(),
            env!("CARGO_PKG_VERSION").to_owned(),
        ];
        let exe = exe.to_str().unwrap();
        let mut argv: Vec<&str> = Vec::new();
        if valgrind {
            argv.extend([
                "--quiet",
                "--error-exitcode=97",
                "--leak-check=full",
                "--errors-for-leak-kinds=definite,indirect",
                exe,
            ]);
        }
        argv.extend(args.iter().map(String::as_str));
        if valgrind {
            tool("valgrind", &argv)
        } else {
            tool(exe, &argv)
        }
    };
    let b = tmp.path().join("b");
    println!(
        "{}",
        report(&run(&shared, &b, true), "shared, under valgrind")
    );
    // The copy the C program made is a real layout.
    tool_ok(
        "umoci",
        &["stat", "--image", &format!("{}:copied", b.display())],
    );
    let c = tmp.path().join("c");
    report(&run(&fixed, &c, false), "static");
    let linked = tool_ok("ldd", &[fixed.to_str().unwrap()]);
    assert!(
        !String::from_utf8_lossy(&linked).contains("libstevedore"),
        "the static build does not load libstevedore.so"
    );
}
