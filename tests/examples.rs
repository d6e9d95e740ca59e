//! Runnable examples, one per main verb of the Rust API, each on an image it
//! builds itself in a temporary OCI layout (no network). They stand where a
//! crate's `examples/` directory usually does: the repository's top level is
//! fixed, and here `cargo test` runs them, so they cannot rot.

use std::path::Path;

use stevedore::build::{BuildSpec, LayerSpec};
use stevedore::registry::{Client, ClientOptions};
use stevedore::{CopyOptions, FilesOptions, InspectOptions};

/// Builds a one-layer image holding `/hello.txt` = `text` into `oci:DIR:TAG`
/// with [`stevedore::build`] and [`stevedore::write_image`].
fn build_image(dir: &Path, tag: &str, text: &str) -> String {
    let context = tempfile::tempdir().unwrap();
    std::fs::write(context.path().join("hello.txt"), text).unwrap();
    let spec = BuildSpec {
        layers: vec![LayerSpec {
            files: vec!["hello.txt:/hello.txt".into()],
            ..LayerSpec::default()
        }],
        ..BuildSpec::default()
    };
    let client = Client::new(ClientOptions::default()).unwrap();
    let image = stevedore::build(&spec, context.path(), &client).unwrap();
    let name = format!("oci:{}:{tag}", dir.display());
    let report = stevedore::write_image(&image, &stevedore::parse_image(&name).unwrap()).unwrap();
    assert!(report.digest.to_string().starts_with("sha256:"));
    name
}

#[test]
fn example_build_and_inspect() {
    let tmp = tempfile::tempdir().unwrap();
    let name = build_image(&tmp.path().join("layout"), "1.0", "hello\n");
    let report = stevedore::inspect(
        &stevedore::parse_image(&name).unwrap(),
        &InspectOptions::default(),
    )
    .unwrap();
    assert_eq!(
        report.media_type,
        "application/vnd.oci.image.manifest.v1+json"
    );
    let tags = stevedore::tags(&stevedore::parse_image(&name).unwrap()).unwrap();
    assert_eq!(tags, ["1.0"]);
}

#[test]
fn example_copy() {
    let tmp = tempfile::tempdir().unwrap();
    let src = build_image(&tmp.path().join("a"), "1.0", "hello\n");
    let dst = format!("oci:{}:1.0", tmp.path().join("b").display());
    let report = stevedore::copy(
        &stevedore::parse_image(&src).unwrap(),
        &stevedore::parse_image(&dst).unwrap(),
        &CopyOptions::default(),
    )
    .unwrap();
    let copied = stevedore::inspect(
        &stevedore::parse_image(&dst).unwrap(),
        &InspectOptions::default(),
    )
    .unwrap();
    assert_eq!(report.digest, copied.digest);
}

#[test]
fn example_files_and_read_file() {
    let tmp = tempfile::tempdir().unwrap();
    let image = stevedore::parse_image(&build_image(tmp.path(), "1.0", "hello\n")).unwrap();
    let listing = stevedore::files(&image, &FilesOptions::default()).unwrap();
    assert!(listing.entries.iter().any(|e| e.path == "hello.txt"));
    let bytes =
        stevedore::read_file(&image, "/hello.txt", 1 << 20, &FilesOptions::default()).unwrap();
    assert_eq!(bytes, b"hello\n");
}

#[test]
fn example_diff() {
    let tmp = tempfile::tempdir().unwrap();
    let a = stevedore::parse_image(&build_image(tmp.path(), "a", "hello\n")).unwrap();
    let b = stevedore::parse_image(&build_image(tmp.path(), "b", "goodbye\n")).unwrap();
    let report = stevedore::diff(&a, &b, &FilesOptions::default()).unwrap();
    assert_eq!(report.changed.len(), 1);
    assert_eq!(report.changed[0].path, "hello.txt");
}

#[test]
fn example_export() {
    let tmp = tempfile::tempdir().unwrap();
    let image = stevedore::parse_image(&build_image(tmp.path(), "1.0", "hello\n")).unwrap();
    let mut tar = Vec::new();
    stevedore::export(&image, &mut tar, &FilesOptions::default()).unwrap();
    let mut archive = tar::Archive::new(tar.as_slice());
    let names: Vec<String> = archive
        .entries()
        .unwrap()
        .map(|e| e.unwrap().path().unwrap().display().to_string())
        .collect();
    assert!(
        names
            .iter()
            .any(|n| n.trim_start_matches("./") == "hello.txt"),
        "{names:?}"
    );
}
