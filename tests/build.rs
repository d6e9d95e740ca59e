//! Build and mutate, judged by peers: umoci unpacks what we build, skopeo
//! reads it, docker-registry's log shows what an append sent.

mod common;

use std::fs;
use std::os::unix::fs::PermissionsExt;
use std::path::Path;
use std::process::Command;
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use common::registry::Registry;
use common::{oci, snapshot, tool_ok};
use serde_json::Value;
use stevedore::build::{BuildSpec, ConfigChanges, Mutation};
use stevedore::image::layer::Compression;
use stevedore::platform::Platform;
use stevedore::registry::{Client, ClientOptions};
use stevedore::transport::{parse, parse_with, ImageRef, Memory};
use stevedore::{ErrorKind, Image};

fn client() -> Client {
    Client::new(ClientOptions::default()).unwrap()
}

/// A small tree: a file, an executable, a subdirectory, a symlink.
fn rootfs(dir: &Path, mtime: SystemTime, owner: Option<u32>) {
    fs::create_dir_all(dir.join("etc")).unwrap();
    fs::create_dir_all(dir.join("usr/bin")).unwrap();
    fs::write(dir.join("etc/hello"), b"hello\n").unwrap();
    fs::write(dir.join("usr/bin/app"), b"#!/bin/sh\necho app\n").unwrap();
    fs::set_permissions(dir.join("usr/bin/app"), fs::Permissions::from_mode(0o755)).unwrap();
    fs::set_permissions(dir.join("etc/hello"), fs::Permissions::from_mode(0o644)).unwrap();
    std::os::unix::fs::symlink("../../etc/hello", dir.join("usr/bin/hello-link")).unwrap();
    for p in ["etc/hello", "usr/bin/app", "etc", "usr/bin", "usr"] {
        let f = fs::File::open(dir.join(p)).unwrap();
        f.set_modified(mtime).unwrap();
        if let Some(uid) = owner {
            std::os::unix::fs::chown(dir.join(p), Some(uid), Some(uid)).unwrap();
        }
    }
}

const SPEC: &str = r#"{
  "base": "scratch",
  "platform": "linux/amd64",
  "layers": [
    {"dir": "rootfs"},
    {"files": ["extra.txt:/opt/extra/readme.txt:0600"], "compression": "zstd", "level": 3}
  ],
  "config": {
    "env": ["PATH=/usr/bin", "MODE=test"],
    "entrypoint": ["/usr/bin/app"],
    "cmd": ["--serve"],
    "working_dir": "/opt",
    "user": "1000:1000",
    "labels": {"org.example.team": "build"},
    "exposed_ports": ["8080", "53/udp"],
    "volumes": ["/data"],
    "stop_signal": "SIGTERM"
  },
  "annotations": {"org.opencontainers.image.title": "sample"},
  "history": [{"created_by": "ENV MODE=test"}]
}"#;

/// Writes the sample spec and its inputs into `dir`.
fn sample(dir: &Path, mtime: SystemTime, owner: Option<u32>) -> BuildSpec {
    sample_with(dir, mtime, owner, SPEC)
}

/// The sample with its zstd layer made gzip: umoci 0.4 reads no zstd.
fn sample_gzip(dir: &Path) -> BuildSpec {
    let spec = SPEC.replace(r#""compression": "zstd", "level": 3"#, r#""level": 9"#);
    sample_with(dir, SystemTime::now(), None, &spec)
}

fn sample_with(dir: &Path, mtime: SystemTime, owner: Option<u32>, spec: &str) -> BuildSpec {
    rootfs(&dir.join("rootfs"), mtime, owner);
    fs::write(dir.join("extra.txt"), b"extra\n").unwrap();
    fs::write(dir.join("spec.json"), spec).unwrap();
    BuildSpec::from_file(&dir.join("spec.json")).unwrap()
}

fn memory() -> ImageRef {
    ImageRef::new(Arc::new(Memory::new()), None)
}

#[test]
fn the_same_spec_builds_the_same_digest_anywhere() {
    let (a, b) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    let now = SystemTime::now();
    let spec_a = sample(a.path(), now, None);
    let spec_b = sample(
        b.path(),
        now - Duration::from_secs(86_400 * 400),
        Some(4321),
    );
    let one = stevedore::build(&spec_a, a.path(), &client()).unwrap();
    let two = stevedore::build(&spec_b, b.path(), &client()).unwrap();
    let digest = one.manifest().unwrap().digest().clone();
    assert_eq!(digest, *two.manifest().unwrap().digest());
    let written = stevedore::write_image(&one, &memory()).unwrap();
    assert_eq!(written.digest, digest);
    assert_eq!(
        digest.to_string(),
        "sha256:e08af226bba0c616ca5bb179f98b386fa5da68670a733641b78c48bc77f326bd",
        "the sample spec's digest moved: layers or config are no longer reproducible"
    );
}

fn unpack(layout: &Path, tag: &str, bundle: &Path) -> Value {
    tool_ok(
        "umoci",
        &[
            "unpack",
            "--rootless",
            "--image",
            &format!("{}:{tag}", layout.display()),
            bundle.to_str().unwrap(),
        ],
    );
    serde_json::from_slice(&fs::read(bundle.join("config.json")).unwrap()).unwrap()
}

fn mode(path: &Path) -> u32 {
    fs::symlink_metadata(path).unwrap().permissions().mode() & 0o7777
}

#[test]
fn umoci_and_skopeo_read_what_we_build() {
    let work = tempfile::tempdir().unwrap();
    let spec = sample_gzip(work.path());
    assert!(spec.layers[1].compression.is_none());
    let layout = work.path().join("layout");
    let built = stevedore::build(&spec, work.path(), &client()).unwrap();
    stevedore::write_image(&built, &parse(&oci(&layout, "v1")).unwrap()).unwrap();
    let bundle = work.path().join("bundle");
    let runtime = unpack(&layout, "v1", &bundle);
    let root = bundle.join("rootfs");
    assert_eq!(fs::read(root.join("etc/hello")).unwrap(), b"hello\n");
    assert_eq!(mode(&root.join("usr/bin/app")), 0o755);
    assert_eq!(mode(&root.join("opt/extra/readme.txt")), 0o600);
    assert_eq!(
        fs::read_link(root.join("usr/bin/hello-link")).unwrap(),
        Path::new("../../etc/hello")
    );
    assert_eq!(
        runtime["process"]["args"],
        serde_json::json!(["/usr/bin/app", "--serve"])
    );
    assert_eq!(runtime["process"]["cwd"], "/opt");
    let env = runtime["process"]["env"].as_array().unwrap();
    assert!(env.contains(&Value::from("MODE=test")), "{env:?}");

    let inspect: Value =
        serde_json::from_slice(&tool_ok("skopeo", &["inspect", &oci(&layout, "v1")])).unwrap();
    assert_eq!(inspect["Labels"]["org.example.team"], "build");
    assert_eq!(inspect["Layers"].as_array().unwrap().len(), 2);
    let copied = work.path().join("copied");
    common::skopeo_copy(&oci(&layout, "v1"), &oci(&copied, "v1"), &[]);
    assert_eq!(
        common::skopeo_raw(&oci(&copied, "v1")),
        built.manifest().unwrap().raw()
    );
}

#[test]
fn append_onto_a_registry_base_sends_only_the_new_layer_config_and_manifest() {
    let registry = Registry::start();
    let client = registry.client();
    let work = tempfile::tempdir().unwrap();
    let spec = sample(work.path(), SystemTime::now(), None);
    let base = stevedore::build(&spec, work.path(), &client).unwrap();
    let base_ref = parse_with(&format!("{}:1", registry.image("base")), &client).unwrap();
    stevedore::write_image(&base, &base_ref).unwrap();
    let before = registry.log().lines().count();

    let top = work.path().join("top");
    fs::create_dir_all(&top).unwrap();
    fs::write(top.join("added"), b"added\n").unwrap();
    let appended = stevedore::append(&base_ref, None, &[top], Compression::default()).unwrap();
    let dst = parse_with(&format!("{}:1", registry.image("app")), &client).unwrap();
    let report = stevedore::write_image(&appended, &dst).unwrap();
    assert_eq!(
        (report.blobs_copied, report.blobs_mounted),
        (2, 2),
        "{report:?}"
    );

    let log: Vec<String> = registry
        .log()
        .lines()
        .skip(before)
        .map(str::to_owned)
        .collect();
    let count = |method: &str, path: &str| {
        log.iter()
            .filter(|l| l.contains(&format!("\"{method} ")) && l.contains(path))
            .count()
    };
    for layer in base.layers() {
        let digest = layer.descriptor.digest.to_string();
        assert_eq!(
            count("GET", &digest),
            0,
            "base layer {digest} was downloaded"
        );
    }
    assert_eq!(count("POST", "/v2/app/blobs/uploads/?mount="), 2);
    assert_eq!(
        count("PUT", "/v2/app/blobs/uploads/"),
        2,
        "new layer and config"
    );
    assert_eq!(count("PUT", "/v2/app/manifests/"), 1);
    let raw = common::skopeo_raw(&format!("{}:1", registry.image("app")));
    assert_eq!(raw, appended.manifest().unwrap().raw());
}

fn layer_spec(dir: &str) -> String {
    format!(r#"{{"dir": "{dir}"}}"#)
}

fn build_in(work: &Path, base: &str, dirs: &[&str], tag: &str) -> Image {
    let layers: Vec<String> = dirs.iter().map(|d| layer_spec(d)).collect();
    let spec = format!(
        r#"{{"base": "{base}", "platform": "linux/amd64", "layers": [{}], "config": {{"cmd": ["sh"]}}}}"#,
        layers.join(",")
    );
    let spec = BuildSpec::from_json(&spec, "test").unwrap();
    let image = stevedore::build(&spec, work, &client()).unwrap();
    let dst = parse(&oci(&work.join("layout"), tag)).unwrap();
    stevedore::write_image(&image, &dst).unwrap();
    image
}

fn dir_with(work: &Path, name: &str, file: &str) {
    fs::create_dir_all(work.join(name)).unwrap();
    fs::write(work.join(name).join(file), name.as_bytes()).unwrap();
}

#[test]
fn rebase_equals_a_fresh_build_on_the_new_base() {
    let work = tempfile::tempdir().unwrap();
    let w = work.path();
    for (name, file) in [("a", "from-a"), ("b", "from-b"), ("top", "app")] {
        dir_with(w, name, file);
    }
    let layout = w.join("layout");
    build_in(w, "scratch", &["a"], "base-a");
    build_in(w, "scratch", &["b"], "base-b");
    build_in(w, &oci(&layout, "base-a"), &["top"], "app-on-a");
    let fresh = build_in(w, &oci(&layout, "base-b"), &["top"], "app-on-b");

    let img = |tag: &str| parse(&oci(&layout, tag)).unwrap();
    let rebased =
        stevedore::rebase(&img("app-on-a"), &img("base-a"), &img("base-b"), None).unwrap();
    let report = stevedore::write_image(&rebased, &img("rebased")).unwrap();
    assert_eq!(report.digest, *fresh.manifest().unwrap().digest());
    let runtime = unpack(&layout, "rebased", &w.join("bundle"));
    assert!(w.join("bundle/rootfs/from-b").exists());
    assert!(!w.join("bundle/rootfs/from-a").exists());
    assert!(w.join("bundle/rootfs/app").exists());
    assert_eq!(runtime["process"]["args"], serde_json::json!(["sh"]));

    let before = snapshot(&layout);
    let err =
        stevedore::rebase(&img("app-on-a"), &img("base-b"), &img("base-a"), None).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::InvalidInput);
    assert!(err.message().contains("not the image's base"), "{err}");
    assert_eq!(snapshot(&layout), before);
}

fn config_json(image: &Image) -> Value {
    serde_json::from_slice(&image.config_bytes().unwrap()).unwrap()
}

#[test]
fn mutate_changes_only_what_was_asked() {
    let work = tempfile::tempdir().unwrap();
    let w = work.path();
    dir_with(w, "a", "file");
    let layout = w.join("layout");
    let original = build_in(w, "scratch", &["a"], "v1");
    let mutation = Mutation {
        config: ConfigChanges {
            env: vec!["NEW=1".to_owned()],
            labels: [("k".to_owned(), "v".to_owned())].into(),
            ..ConfigChanges::default()
        },
        ..Mutation::default()
    };
    let dst = parse(&oci(&layout, "v2")).unwrap();
    stevedore::mutate(&parse(&oci(&layout, "v1")).unwrap(), &mutation, &dst).unwrap();
    let changed = stevedore::read_image(&dst, None).unwrap();
    assert_eq!(
        changed.layers()[0].descriptor,
        original.layers()[0].descriptor
    );
    let (mut before, after) = (config_json(&original), config_json(&changed));
    before["config"]["Env"] = serde_json::json!(["NEW=1"]);
    before["config"]["Labels"] = serde_json::json!({"k": "v"});
    assert_eq!(before, after);

    // An index: one platform changes, the other keeps its digest.
    let arm = "{\"base\":\"scratch\",\"platform\":\"linux/arm64/v8\",\"layers\":[{\"dir\":\"a\"}]}";
    let arm = stevedore::build(&BuildSpec::from_json(arm, "arm").unwrap(), w, &client()).unwrap();
    stevedore::write_image(&arm, &parse(&oci(&layout, "arm")).unwrap()).unwrap();
    let index = parse(&oci(&layout, "multi")).unwrap();
    let images = [
        parse(&oci(&layout, "v1")).unwrap(),
        parse(&oci(&layout, "arm")).unwrap(),
    ];
    stevedore::index_create(&images, &index).unwrap();
    let for_arm = Mutation {
        platform: Some("linux/arm64".parse().unwrap()),
        ..mutation.clone()
    };
    let out = parse(&oci(&layout, "multi2")).unwrap();
    stevedore::mutate(&index, &for_arm, &out).unwrap();
    let entries = |r: &ImageRef| {
        let m = r.transport().get_manifest(&r.resolve().unwrap()).unwrap();
        let stevedore::manifest::ManifestContent::Index(i) = m.content() else {
            panic!("not an index")
        };
        i.manifests.clone()
    };
    let (old, new) = (entries(&index), entries(&out));
    assert_eq!(old[0], new[0], "amd64 untouched");
    assert_ne!(old[1].digest, new[1].digest, "arm64 changed");
    skopeo_all(&oci(&layout, "multi2"), &w.join("judge"));

    let before = snapshot(&layout);
    let bad = Mutation {
        platform: Some(Platform::new("linux", "s390x", None)),
        ..mutation
    };
    let err =
        stevedore::mutate(&index, &bad, &parse(&oci(&layout, "multi3")).unwrap()).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::NotFound, "{err}");
    assert_eq!(snapshot(&layout), before);
    // A single image for another platform is not silently left unchanged.
    let single = parse(&oci(&layout, "v1")).unwrap();
    let err = stevedore::mutate(&single, &bad, &parse(&oci(&layout, "v9")).unwrap()).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::NotFound, "{err}");
    assert_eq!(snapshot(&layout), before);
}

fn skopeo_all(src: &str, dir: &Path) {
    common::skopeo_copy(src, &oci(dir, "x"), &["--all"]);
}

#[test]
fn bad_input_gets_a_typed_error_and_writes_nothing() {
    let work = tempfile::tempdir().unwrap();
    let w = work.path();
    fs::write(
        w.join("not-a-tar"),
        b"this is plain text, not a tar archive at all",
    )
    .unwrap();
    fs::create_dir_all(w.join("with-socket")).unwrap();
    let _socket = std::os::unix::net::UnixListener::bind(w.join("with-socket/sock")).unwrap();
    std::os::unix::fs::symlink("loop-b", w.join("loop-a")).unwrap();
    std::os::unix::fs::symlink("loop-a", w.join("loop-b")).unwrap();
    let cases = [
        (
            r#"{"layers": [{"tar": "missing.tar"}]}"#,
            ErrorKind::NotFound,
            "missing.tar",
        ),
        (
            r#"{"layers": [{"tar": "not-a-tar"}]}"#,
            ErrorKind::InvalidInput,
            "not a tar",
        ),
        (
            r#"{"layers": [{"dir": "with-socket"}]}"#,
            ErrorKind::InvalidInput,
            "is a socket",
        ),
        (
            r#"{"layers": [{"files": ["loop-a:/x"]}]}"#,
            ErrorKind::InvalidInput,
            "symbolic link loop",
        ),
        (
            r#"{"layers": [{"dir": "loop-a"}]}"#,
            ErrorKind::InvalidInput,
            "symbolic link loop",
        ),
        (
            "{\n \"layers\": [{\"dri\": \"a\"}]\n}",
            ErrorKind::InvalidInput,
            "line 2",
        ),
        (
            r#"{"layers": [{"dir": "a", "tar": "b"}]}"#,
            ErrorKind::InvalidInput,
            "layers[0]",
        ),
        (
            r#"{"base": "oci:PLACEHOLDER:multi", "platform": "linux/s390x"}"#,
            ErrorKind::NotFound,
            "s390x",
        ),
    ];
    dir_with(w, "a", "f");
    build_in(w, "scratch", &["a"], "v1");
    let multi = parse(&oci(&w.join("layout"), "multi")).unwrap();
    stevedore::index_create(&[parse(&oci(&w.join("layout"), "v1")).unwrap()], &multi).unwrap();
    let dst = w.join("dst");
    for (spec, kind, says) in cases {
        let spec = spec.replace("PLACEHOLDER", &w.join("layout").display().to_string());
        let err = BuildSpec::from_json(&spec, "spec.json")
            .and_then(|s| stevedore::build(&s, w, &client()))
            .and_then(|i| stevedore::write_image(&i, &parse(&oci(&dst, "x")).unwrap()))
            .unwrap_err();
        assert_eq!(err.kind(), kind, "{spec}: {err}");
        assert!(err.message().contains(says), "{spec}: {err}");
        assert!(!dst.exists(), "{spec} left something at the destination");
    }
}

#[test]
fn the_cli_builds_and_mutates() {
    let work = tempfile::tempdir().unwrap();
    sample(work.path(), SystemTime::now(), None);
    let layout = work.path().join("layout");
    let run = |args: &[&str]| {
        let out = Command::new(env!("CARGO_BIN_EXE_stevedore"))
            .args(args)
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8(out.stdout).unwrap().trim().to_owned()
    };
    let spec = work.path().join("spec.json");
    let built = run(&["build", spec.to_str().unwrap(), "-t", &oci(&layout, "v1")]);
    assert!(built.starts_with("sha256:"), "{built}");
    let mutated = run(&[
        "mutate",
        &oci(&layout, "v1"),
        "--env",
        "X=1",
        "--label",
        "a=b",
        "--cmd",
        "run,fast",
        "--exposed-ports",
        "9090",
        "-t",
        &oci(&layout, "v2"),
    ]);
    assert_ne!(built, mutated);
    let image = stevedore::read_image(&parse(&oci(&layout, "v2")).unwrap(), None).unwrap();
    let config = config_json(&image);
    assert_eq!(config["config"]["Cmd"], serde_json::json!(["run", "fast"]));
    assert_eq!(config["config"]["Labels"]["a"], "b");
    assert!(config["config"]["ExposedPorts"]["9090/tcp"].is_object());
    let tar = work.path().join("layer.tar");
    tool_ok(
        "tar",
        &[
            "-cf",
            tar.to_str().unwrap(),
            "-C",
            work.path().to_str().unwrap(),
            "extra.txt",
        ],
    );
    let appended = run(&[
        "append",
        "--base",
        &oci(&layout, "v2"),
        "-f",
        tar.to_str().unwrap(),
        "-f",
        work.path().join("rootfs").to_str().unwrap(),
        "-t",
        &oci(&layout, "v3"),
    ]);
    let image = stevedore::read_image(&parse(&oci(&layout, "v3")).unwrap(), None).unwrap();
    assert_eq!(image.manifest().unwrap().digest().to_string(), appended);
    assert_eq!(image.layers().len(), 4);
    assert_eq!(
        fs::read(&tar).unwrap().len() as u64,
        image.layers()[2].descriptor.size,
        "the tar is kept byte for byte"
    );
}
