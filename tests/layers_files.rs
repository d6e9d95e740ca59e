//! Reading the merged layer view: files read through links only inside the
//! root, diffs of added, removed and changed paths, and the CLI's `ls`,
//! `cat`, `export` and `diff` over it.

mod common;

use common::layer_images::{changesets, image, tar_of, E, Z};
use stevedore::layer::EntryKind;
use stevedore::{ErrorKind, FilesOptions, ImageFs};

#[test]
fn read_file_follows_links_only_inside_the_root_and_names_each_failure() {
    let work = tempfile::tempdir().unwrap();
    let name = image(&work.path().join("layout"), "v1", &changesets(), Z::Gzip);
    let image = stevedore::parse_image(&name).unwrap();
    let opts = FilesOptions::default();
    let passwd = b"root:x:0:0\nuser:x:1000:1000\n".to_vec();
    for path in [
        "etc/passwd",
        "/etc/passwd",
        "etc/abs",
        "/etc/rel",
        "libdir/../../etc/passwd",
    ] {
        assert_eq!(
            stevedore::read_file(&image, path, u64::MAX, &opts).unwrap(),
            passwd,
            "{path}"
        );
    }
    assert_eq!(
        stevedore::read_file(&image, "/lib/libc.so", u64::MAX, &opts).unwrap(),
        b"\x7fELF"
    );
    assert_eq!(
        stevedore::read_file(&image, "etc/passwd-link", u64::MAX, &opts).unwrap(),
        b"root:x:0:0\n",
        "a hard link keeps the bytes it was made with"
    );
    let err = |path: &str| stevedore::read_file(&image, path, u64::MAX, &opts).unwrap_err();
    // The escape resolves inside the root, where etc/hostname does not exist,
    // never to this machine's /etc/hostname.
    let e = err("escape");
    assert_eq!(e.kind(), ErrorKind::NotFound, "{e}");
    assert!(
        e.message().contains("dangling symbolic link /escape"),
        "{e}"
    );
    let e = err("dangling");
    assert!(
        e.message().contains("dangling symbolic link /dangling"),
        "{e}"
    );
    let e = err("etc/nothing");
    assert_eq!(e.kind(), ErrorKind::NotFound);
    assert!(e.message().contains("no such file or directory"), "{e}");
    let e = err("etc");
    assert_eq!(e.kind(), ErrorKind::InvalidInput);
    assert!(e.message().contains("is a directory"), "{e}");
    let e = err("loop1");
    assert!(e.message().contains("symlink loop"), "{e}");
    let e = err("etc/passwd/x");
    assert!(e.message().contains("is not a directory"), "{e}");
    let e = stevedore::read_file(&image, "etc/passwd", 3, &opts).unwrap_err();
    assert!(e.message().contains("3-byte limit"), "{e}");
    // ls of a directory through a symlink, and of one file.
    let lib = stevedore::files_in(&image, "lib", &opts).unwrap();
    let names: Vec<&str> = lib.entries.iter().map(|e| e.path.as_str()).collect();
    assert_eq!(names, ["usr/lib/libc.so"]);
    let one = stevedore::files_in(&image, "etc/abs", &opts).unwrap();
    assert_eq!(one.entries.len(), 1);
    assert_eq!(one.entries[0].kind, EntryKind::Symlink);
    // Many reads of one layer go through one spooled copy and stay right.
    let fs = ImageFs::open(&image, &opts, false).unwrap();
    for _ in 0..3 {
        assert_eq!(fs.read("etc/rel").unwrap(), passwd);
        assert_eq!(fs.read("bin/tool-hard").unwrap(), b"#!/bin/sh\necho tool\n");
    }
}

#[test]
fn diff_reports_added_removed_and_changed_paths() {
    let work = tempfile::tempdir().unwrap();
    let layout = work.path().join("layout");
    let base = changesets();
    let a = image(&layout, "a", &base, Z::Gzip);
    let mut more = base.clone();
    more.push(tar_of(&[
        E::File("etc/passwd", 0o600, b"changed\n"),
        E::File("bin/.wh.tool-hard", 0o644, b""),
        E::File("new", 0o644, b"new\n"),
        E::Sym("etc/rel", "passwd"),
    ]));
    let b = image(&layout, "b", &more, Z::Zstd);
    let opts = FilesOptions::default();
    let d = stevedore::diff(
        &stevedore::parse_image(&a).unwrap(),
        &stevedore::parse_image(&b).unwrap(),
        &opts,
    )
    .unwrap();
    assert_eq!(d.added, ["new"]);
    assert_eq!(d.removed, ["bin/tool-hard"]);
    let changed: Vec<(&str, Vec<&str>)> = d
        .changed
        .iter()
        .map(|c| (c.path.as_str(), c.changes.clone()))
        .collect();
    assert_eq!(
        changed,
        [
            ("etc/passwd", vec!["content", "mode"]),
            ("etc/rel", vec!["link_target"])
        ]
    );
}

fn cli(args: &[&str]) -> std::process::Output {
    std::process::Command::new(env!("CARGO_BIN_EXE_stevedore"))
        .args(args)
        .stdin(std::process::Stdio::null())
        .output()
        .unwrap()
}

#[test]
fn cli_ls_cat_export_diff() {
    let work = tempfile::tempdir().unwrap();
    let layout = work.path().join("layout");
    let a = image(&layout, "a", &changesets(), Z::Gzip);
    let mut more = changesets();
    more.push(tar_of(&[E::File("new", 0o644, b"new\n")]));
    let b = image(&layout, "b", &more, Z::Zstd);

    let out = cli(&["ls", &a, "/etc"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = String::from_utf8(out.stdout).unwrap();
    assert!(
        text.contains("/etc/passwd\n") && !text.contains("/etc/secret"),
        "{text}"
    );
    let out = cli(&["ls", "-l", &a, "bin"]);
    let text = String::from_utf8(out.stdout).unwrap();
    assert!(text.contains("-4755"), "{text}");
    assert!(text.contains("/bin/tool-hard link to /bin/tool"), "{text}");
    let out = cli(&["ls", "--json", &a]);
    // -l adds nothing to JSON, which carries every field.
    assert_eq!(cli(&["ls", "-l", "--json", &a]).stdout, out.stdout);
    let json: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(json["layers"].as_array().unwrap().len(), 3);
    assert!(json["entries"]
        .as_array()
        .unwrap()
        .iter()
        .any(|e| e["path"] == "etc/abs"
            && e["type"] == "symlink"
            && e["link_target"] == "/etc/passwd"));

    let out = cli(&["cat", &a, "/etc/rel"]);
    assert_eq!(out.stdout, b"root:x:0:0\nuser:x:1000:1000\n");
    let out = cli(&["cat", &a, "/etc"]);
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("is a directory"));

    let tarball = work.path().join("out.tar");
    let out = cli(&["export", &a, "-o", tarball.to_str().unwrap()]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let listed = common::tool_ok("tar", &["-tf", tarball.to_str().unwrap()]);
    let listed = String::from_utf8(listed).unwrap();
    assert!(listed.lines().any(|l| l == "etc/passwd"), "{listed}");
    assert!(!listed.contains(".wh."), "{listed}");
    let out = cli(&["export", &a]);
    assert_eq!(
        out.stdout,
        std::fs::read(&tarball).unwrap(),
        "stdout and -o differ"
    );
    // A failed export leaves the file as it was.
    std::fs::write(&tarball, b"keep").unwrap();
    let out = cli(&[
        "export",
        &format!("oci:{}:nope", layout.display()),
        "-o",
        tarball.to_str().unwrap(),
    ]);
    assert!(!out.status.success());
    assert_eq!(std::fs::read(&tarball).unwrap(), b"keep");
    let leftovers: Vec<_> = std::fs::read_dir(work.path())
        .unwrap()
        .filter(|e| {
            e.as_ref()
                .unwrap()
                .file_name()
                .to_string_lossy()
                .starts_with(".stevedore")
        })
        .collect();
    assert!(leftovers.is_empty());

    let out = cli(&["diff", &a, &b]);
    assert_eq!(String::from_utf8(out.stdout).unwrap(), "A /new\n");
    let out = cli(&["diff", "--json", &b, &a]);
    let json: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(json["removed"], serde_json::json!(["new"]));
}
