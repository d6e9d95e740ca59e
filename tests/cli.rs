//! The `stevedore` command line: copy, inspect and tags on `oci:` layouts, and
//! errors on stderr with a non-zero exit.

mod common;

use std::process::{Command, Output};

use common::*;

fn stevedore(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_stevedore"))
        .args(args)
        .output()
        .expect("run stevedore")
}

fn ok(args: &[&str]) -> String {
    let out = stevedore(args);
    assert!(
        out.status.success(),
        "stevedore {args:?} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(out.stderr.is_empty(), "stderr should be quiet on success");
    String::from_utf8(out.stdout).unwrap()
}

#[test]
fn copy_inspect_and_tags() {
    let tmp = tempfile::tempdir().unwrap();
    let (a, b) = (tmp.path().join("a"), tmp.path().join("b"));
    let manifest = make_image(&a, "1.0", b"cli\n");

    let human = ok(&["copy", &oci(&a, "1.0"), &oci(&b, "copied")]);
    assert!(human.contains(&manifest.digest().to_string()), "{human}");
    let again: serde_json::Value =
        serde_json::from_str(&ok(&["copy", "--json", &oci(&a, "1.0"), &oci(&b, "again")])).unwrap();
    assert_eq!(again["digest"], manifest.digest().to_string());
    assert_eq!(again["blobs_skipped"], 3);

    let raw = ok(&["inspect", "--raw", &oci(&b, "copied")]);
    assert_eq!(raw.as_bytes(), manifest.raw());
    let config = ok(&["inspect", "--raw", "--config", &oci(&b, "copied")]);
    assert_eq!(
        config.as_bytes(),
        tool_ok(
            "skopeo",
            &["inspect", "--config", "--raw", &oci(&b, "copied")]
        )
    );
    let report: serde_json::Value =
        serde_json::from_str(&ok(&["inspect", "--json", &oci(&b, "copied")])).unwrap();
    assert_eq!(report["digest"], manifest.digest().to_string());
    assert_eq!(report["layers"].as_array().unwrap().len(), 2);
    assert_eq!(report["platform"], host_platform());
    let human = ok(&["inspect", &oci(&b, "copied")]);
    assert!(
        human.contains("Layers:") && human.contains("org.example.test=yes"),
        "{human}"
    );

    assert_eq!(
        ok(&["tags", &format!("oci:{}", b.display())]),
        "copied\nagain\n"
    );
    let tags: Vec<String> =
        serde_json::from_str(&ok(&["tags", "--json", &format!("oci:{}", b.display())])).unwrap();
    assert_eq!(tags, ["copied", "again"]);
}

#[test]
fn an_index_is_copied_whole_or_by_platform() {
    let tmp = tempfile::tempdir().unwrap();
    let (a, b) = (tmp.path().join("a"), tmp.path().join("b"));
    let index = make_index(&a, "multi", &["linux/amd64", "linux/arm64"]);
    ok(&["copy", "--all", &oci(&a, "multi"), &oci(&b, "all")]);
    assert_eq!(
        ok(&["inspect", "--raw", &oci(&b, "all")]).as_bytes(),
        index.raw()
    );
    ok(&[
        "copy",
        "--platform",
        "linux/arm64",
        &oci(&a, "multi"),
        &oci(&b, "arm"),
    ]);
    let report: serde_json::Value =
        serde_json::from_str(&ok(&["inspect", "--json", &oci(&b, "arm")])).unwrap();
    assert_eq!(report["platform"], "linux/arm64/v8");
    let out = stevedore(&[
        "copy",
        "--all",
        "--platform",
        "linux/arm64",
        &oci(&a, "multi"),
        &oci(&b, "x"),
    ]);
    assert!(!out.status.success());
}

#[test]
fn errors_go_to_stderr_with_a_nonzero_exit() {
    let tmp = tempfile::tempdir().unwrap();
    let a = tmp.path().join("a");
    make_image(&a, "1.0", b"x\n");
    for (args, word) in [
        (vec!["inspect".to_owned(), oci(&a, "nope")], "not_found"),
        (
            vec!["inspect".to_owned(), "a/b".to_owned()],
            "names no transport",
        ),
        (
            vec!["inspect".to_owned(), "containers-storage:app".to_owned()],
            "does not use",
        ),
        (
            vec!["inspect".to_owned(), "ftp:x".to_owned()],
            "unknown transport",
        ),
        (
            vec![
                "inspect".to_owned(),
                "docker://127.0.0.1:1/Upper".to_owned(),
            ],
            "must be lowercase",
        ),
        (
            vec!["copy".to_owned(), oci(&a, "1.0"), "oci:".to_owned()],
            "needs a directory",
        ),
        (
            vec!["tags".to_owned(), "oci:/nonexistent/layout".to_owned()],
            "no OCI layout",
        ),
    ] {
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        let out = stevedore(&args);
        assert!(!out.status.success(), "{args:?} should fail");
        assert!(out.stdout.is_empty(), "{args:?} printed to stdout");
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(
            stderr.contains(word),
            "{args:?}: stderr {stderr:?} should mention {word:?}"
        );
    }
}

#[test]
fn blobs_come_out_verified_to_stdout_or_a_file() {
    let tmp = tempfile::tempdir().unwrap();
    let a = tmp.path().join("a");
    let manifest = make_image(&a, "1.0", b"blob\n");
    let layer = manifest.blobs()[1].digest.to_string();
    let out = stevedore(&["blob", &format!("oci:{}", a.display()), &layer]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(
        out.stdout,
        std::fs::read(blob_path(&a, &manifest.blobs()[1].digest)).unwrap()
    );
    let file = tmp.path().join("layer.tar.gz");
    ok(&[
        "blob",
        "-o",
        file.to_str().unwrap(),
        &oci(&a, "1.0"),
        &layer,
    ]);
    assert_eq!(std::fs::read(&file).unwrap(), out.stdout);

    // A corrupt blob fails, and leaves no file behind.
    let path = blob_path(&a, &manifest.blobs()[1].digest);
    let mut bytes = std::fs::read(&path).unwrap();
    bytes[0] ^= 0xff;
    std::fs::write(&path, bytes).unwrap();
    let bad = tmp.path().join("bad.tar.gz");
    let out = stevedore(&["blob", "-o", bad.to_str().unwrap(), &oci(&a, "1.0"), &layer]);
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("digest_mismatch"));
    assert!(!bad.exists());
    let out = stevedore(&["blob", &oci(&a, "1.0"), "sha256:../../etc/passwd"]);
    assert!(!out.status.success() && out.stdout.is_empty());
}
