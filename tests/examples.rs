//! The runnable examples, one per main verb of the Rust API (build, copy,
//! inspect and tags, files and read_file, diff, export). They live in
//! `tests/examples/` (the repository's top level is fixed, so there is no
//! `examples/`) and are declared as `[[example]]` targets in Cargo.toml, so
//! `cargo run --example copy -- SRC DST` works as usual. Here each runs as a
//! user runs it, through `cargo run --example`: with no arguments (its own
//! demo image, offline) and with arguments, chained on one image.

use std::path::Path;
use std::process::Command;

/// `cargo run --example NAME -- ARGS`; its standard output, after asserting
/// that it succeeded.
fn run_example(name: &str, args: &[&str]) -> String {
    let out = Command::new(env!("CARGO"))
        .args(["run", "--quiet", "--offline", "--example", name, "--"])
        .args(args)
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .output()
        .expect("run cargo");
    assert!(
        out.status.success(),
        "cargo run --example {name} {args:?} failed:\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

#[test]
fn every_example_runs_as_it_stands() {
    for name in ["build", "copy", "inspect", "files", "diff", "export"] {
        let out = run_example(name, &[]);
        assert!(!out.is_empty(), "{name} printed nothing");
    }
}

#[test]
fn the_examples_chained_on_one_image() {
    let tmp = tempfile::tempdir().unwrap();
    let context = tmp.path().join("context");
    std::fs::create_dir(&context).unwrap();
    std::fs::write(context.join("hello.txt"), "hello\n").unwrap();
    let a = format!("oci:{}:1.0", tmp.path().join("a").display());
    let b = format!("oci:{}:1.0", tmp.path().join("b").display());

    let built = run_example("build", &[context.to_str().unwrap(), &a]);
    assert!(
        built.starts_with(&a) && built.contains("sha256:"),
        "{built}"
    );
    let digest = built.split_whitespace().nth(1).unwrap().to_owned();

    let copied = run_example("copy", &[&a, &b]);
    assert!(copied.contains(&digest), "{copied}");

    let inspected = run_example("inspect", &[&b]);
    assert!(inspected.starts_with(&digest), "{inspected}");
    assert!(inspected.contains("tags: [\"1.0\"]"), "{inspected}");

    let files = run_example("files", &[&b, "/hello.txt"]);
    assert!(files.lines().any(|l| l == "hello.txt"), "{files}");
    assert!(files.ends_with("hello\n"), "{files}");

    let diff = run_example("diff", &[&a, &b]);
    assert!(diff.contains("0 added, 0 removed, 0 changed"), "{diff}");

    let tar = tmp.path().join("rootfs.tar");
    run_example("export", &[&b, tar.to_str().unwrap()]);
    let mut archive = tar::Archive::new(std::fs::File::open(&tar).unwrap());
    let names: Vec<String> = archive
        .entries()
        .unwrap()
        .map(|e| e.unwrap().path().unwrap().display().to_string())
        .collect();
    assert!(
        names
            .iter()
            .any(|n| Path::new(n.trim_start_matches("./")) == Path::new("hello.txt")),
        "{names:?}"
    );
}
