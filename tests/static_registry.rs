//! Static registry trees (`static:` and `stevedore static`) served by real
//! nginx and Caddy, pulled by skopeo and by Stevedore's own client.

mod common;

use std::collections::{BTreeMap, HashSet};
use std::os::unix::fs::MetadataExt;
use std::path::Path;
use std::process::Command;

use common::http::request;
use common::web::WebServer;
use common::{make_image, make_index, oci, skopeo_copy, skopeo_raw, tool_ok};
use stevedore::registry::{Client, ClientOptions};
use stevedore::transport::parse_with;
use stevedore::{CopyOptions, ErrorKind, StaticOptions};

fn client(addr: &str) -> Client {
    Client::new(ClientOptions {
        insecure: vec![addr.to_owned()],
        ..ClientOptions::default()
    })
    .unwrap()
}

fn export(src: &str, tree: &Path, name: &str, options: StaticOptions) -> stevedore::StaticReport {
    let src = stevedore::parse_image(src).unwrap();
    let options = StaticOptions {
        name: Some(name.to_owned()),
        ..options
    };
    stevedore::export_static(&src, tree, &options).unwrap()
}

fn stevedore_cli(args: &[&str]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_stevedore"))
        .args(args)
        .env("COSIGN_PASSWORD", "static-test")
        .output()
        .unwrap()
}

fn cli_ok(args: &[&str]) -> String {
    let out = stevedore_cli(args);
    assert!(
        out.status.success(),
        "stevedore {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

#[test]
fn nginx_serves_single_and_multi_arch_images_to_skopeo_and_stevedore() {
    let work = tempfile::tempdir().unwrap();
    let src = work.path().join("src");
    let single = make_image(&src, "1.0", b"hello static\n");
    let multi = make_index(&src, "multi", &["linux/amd64", "linux/arm64"]);
    let tree = work.path().join("tree");
    let conf = work.path().join("registry.conf");
    // The CLI writes the first image; the library the index, with --all.
    let cli = cli_ok(&[
        "static",
        &oci(&src, "1.0"),
        tree.to_str().unwrap(),
        "--name",
        "team/app",
        "--nginx-conf",
        conf.to_str().unwrap(),
        "--progress",
        "none",
    ]);
    assert!(cli.contains(&single.digest().to_string()), "{cli}");
    let report = export(
        &oci(&src, "multi"),
        &tree,
        "team/app",
        StaticOptions {
            tag: Some("multi".into()),
            nginx_conf: Some(conf.clone()),
            copy: CopyOptions {
                all: true,
                ..CopyOptions::default()
            },
            ..StaticOptions::default()
        },
    );
    assert_eq!(&report.copy.digest, multi.digest());
    // index + 2 images by digest, 2 tags, and the single image's digest.
    assert_eq!(report.manifests_served, 6);

    let server = WebServer::nginx(&conf, WebServer::port());
    let addr = server.addr.clone();
    let image = |tag: &str| format!("docker://{addr}/team/app:{tag}");

    // Exact bytes, media types and digests as a registry serves them.
    assert_eq!(skopeo_raw(&image("1.0")), single.raw());
    assert_eq!(skopeo_raw(&image("multi")), multi.raw());
    for (reference, manifest) in [("1.0", &single), ("multi", &multi)] {
        for method in ["GET", "HEAD"] {
            let a = request(
                &addr,
                method,
                &format!("/v2/team/app/manifests/{reference}"),
                &[],
                b"",
            );
            assert_eq!(a.status, 200, "{method} {reference}");
            assert_eq!(a.header("content-type"), Some(manifest.media_type()));
            assert_eq!(
                a.header("docker-content-digest"),
                Some(manifest.digest().to_string().as_str())
            );
            assert_eq!(
                a.header("content-length"),
                Some(manifest.raw().len().to_string().as_str())
            );
        }
    }
    let inspected: serde_json::Value = serde_json::from_slice(&tool_ok(
        "skopeo",
        &["inspect", "--tls-verify=false", &image("1.0")],
    ))
    .unwrap();
    assert_eq!(inspected["Digest"], single.digest().to_string());
    assert_eq!(inspected["RepoTags"], serde_json::json!(["1.0", "multi"]));
    let expected_layers: Vec<String> = single.blobs()[1..]
        .iter()
        .map(|b| b.digest.to_string())
        .collect();
    assert_eq!(inspected["Layers"], serde_json::json!(expected_layers));
    // skopeo 1.9 shows media types in the manifest it reads (no LayersData yet).
    for (tag, media_type) in [
        ("1.0", stevedore::media_types::OCI_MANIFEST),
        ("multi", stevedore::media_types::OCI_INDEX),
    ] {
        let raw: serde_json::Value = serde_json::from_slice(&skopeo_raw(&image(tag))).unwrap();
        assert_eq!(raw["mediaType"], media_type);
    }
    let tags: serde_json::Value = serde_json::from_slice(&tool_ok(
        "skopeo",
        &[
            "list-tags",
            "--tls-verify=false",
            &format!("docker://{addr}/team/app"),
        ],
    ))
    .unwrap();
    assert_eq!(tags["Tags"], serde_json::json!(["1.0", "multi"]));

    // Blobs: octet-stream with their digest, HEAD and Range.
    let layer = match single.content() {
        stevedore::manifest::ManifestContent::Image(m) => m.layers[0].clone(),
        _ => unreachable!(),
    };
    let blob_path = format!("/v2/team/app/blobs/{}", layer.digest);
    let whole = request(&addr, "GET", &blob_path, &[], b"");
    assert_eq!(whole.status, 200);
    assert_eq!(
        whole.header("content-type"),
        Some("application/octet-stream")
    );
    assert_eq!(
        whole.header("docker-content-digest"),
        Some(layer.digest.to_string().as_str())
    );
    assert_eq!(whole.body.len() as u64, layer.size);
    let part = request(&addr, "GET", &blob_path, &[("Range", "bytes=2-9")], b"");
    assert_eq!(part.status, 206);
    assert_eq!(part.body, whole.body[2..10]);
    let head = request(&addr, "HEAD", &blob_path, &[], b"");
    assert_eq!(head.status, 200);
    assert!(head.body.is_empty());

    // 404s carry the distribution spec's error body.
    let missing = request(&addr, "GET", "/v2/team/app/manifests/nope", &[], b"");
    assert_eq!(
        (missing.status, missing.code().as_str()),
        (404, "MANIFEST_UNKNOWN")
    );
    assert_eq!(missing.header("content-type"), Some("application/json"));
    let missing = request(
        &addr,
        "GET",
        &format!("/v2/team/app/blobs/sha256:{}", "0".repeat(64)),
        &[],
        b"",
    );
    assert_eq!(
        (missing.status, missing.code().as_str()),
        (404, "BLOB_UNKNOWN")
    );
    let missing = request(&addr, "GET", "/v2/nobody/tags/list", &[], b"");
    assert_eq!(
        (missing.status, missing.code().as_str()),
        (404, "NAME_UNKNOWN")
    );
    let root = request(&addr, "GET", "/v2/", &[], b"");
    assert_eq!(root.status, 200);
    assert_eq!(root.header("content-type"), Some("application/json"));
    // Nothing outside /v2/ of the tree is served.
    assert_eq!(
        request(&addr, "GET", "/stevedore-static.json", &[], b"").status,
        404
    );

    // skopeo and Stevedore pull identical digests.
    let pulled = work.path().join("pulled");
    skopeo_copy(&image("1.0"), &oci(&pulled, "single"), &[]);
    skopeo_copy(&image("multi"), &oci(&pulled, "multi"), &["--all"]);
    assert_eq!(skopeo_raw(&oci(&pulled, "single")), single.raw());
    assert_eq!(skopeo_raw(&oci(&pulled, "multi")), multi.raw());
    let ours = work.path().join("ours");
    let c = client(&addr);
    for (tag, all, expected) in [("1.0", false, &single), ("multi", true, &multi)] {
        let report = stevedore::copy(
            &parse_with(&image(tag), &c).unwrap(),
            &parse_with(&oci(&ours, tag), &c).unwrap(),
            &CopyOptions {
                all,
                ..CopyOptions::default()
            },
        )
        .unwrap();
        assert_eq!(&report.digest, expected.digest());
    }
    assert_eq!(skopeo_raw(&oci(&ours, "multi")), multi.raw());
    drop(server);
}

#[test]
fn caddy_serves_an_image() {
    let work = tempfile::tempdir().unwrap();
    let src = work.path().join("src");
    let single = make_image(&src, "1.0", b"hello caddy\n");
    let tree = work.path().join("tree");
    let site = work.path().join("Caddyfile.site");
    let port = WebServer::port();
    let report = export(
        &oci(&src, "1.0"),
        &tree,
        "app",
        StaticOptions {
            caddyfile: Some(site.clone()),
            base_url: Some(format!("http://127.0.0.1:{port}")),
            ..StaticOptions::default()
        },
    );
    assert_eq!(report.pull, format!("127.0.0.1:{port}/app:1.0"));
    let server = WebServer::caddy(&site, port);
    let addr = server.addr.clone();
    let image = format!("docker://{addr}/app:1.0");
    assert_eq!(skopeo_raw(&image), single.raw());
    let a = request(&addr, "HEAD", "/v2/app/manifests/1.0", &[], b"");
    assert_eq!(a.status, 200);
    assert_eq!(a.header("content-type"), Some(single.media_type()));
    assert_eq!(
        a.header("docker-content-digest"),
        Some(single.digest().to_string().as_str())
    );
    let tags: serde_json::Value = serde_json::from_slice(&tool_ok(
        "skopeo",
        &[
            "list-tags",
            "--tls-verify=false",
            &format!("docker://{addr}/app"),
        ],
    ))
    .unwrap();
    assert_eq!(tags["Tags"], serde_json::json!(["1.0"]));
    let missing = request(&addr, "GET", "/v2/app/manifests/nope", &[], b"");
    assert_eq!(
        (missing.status, missing.code().as_str()),
        (404, "MANIFEST_UNKNOWN")
    );
    assert_eq!(
        request(&addr, "GET", "/stevedore-static.json", &[], b"").status,
        404
    );
    let pulled = work.path().join("pulled");
    skopeo_copy(&image, &oci(&pulled, "1"), &[]);
    assert_eq!(skopeo_raw(&oci(&pulled, "1")), single.raw());
    let report = stevedore::copy(
        &parse_with(&image, &client(&addr)).unwrap(),
        &stevedore::parse_image(&oci(&work.path().join("ours"), "1")).unwrap(),
        &CopyOptions::default(),
    )
    .unwrap();
    assert_eq!(&report.digest, single.digest());
    drop(server);
}

#[test]
fn a_signed_image_exported_with_referrers_verifies_against_nginx() {
    let work = tempfile::tempdir().unwrap();
    let src = work.path().join("src");
    make_image(&src, "1.0", b"signed\n");
    let port = WebServer::port();
    let identity = format!("127.0.0.1:{port}/app");
    let prefix = work.path().join("cosign");
    cli_ok(&[
        "generate-key-pair",
        "--output-key-prefix",
        prefix.to_str().unwrap(),
    ]);
    let key = format!("{}.key", prefix.display());
    let public = format!("{}.pub", prefix.display());
    // One signature under the .sig tag, one as an OCI 1.1 referrer.
    cli_ok(&[
        "sign",
        "--key",
        &key,
        "--identity",
        &identity,
        &oci(&src, "1.0"),
    ]);
    cli_ok(&[
        "sign",
        "--key",
        &key,
        "--identity",
        &identity,
        "--referrers",
        &oci(&src, "1.0"),
    ]);
    let tree = work.path().join("tree");
    let conf = work.path().join("registry.conf");
    let report = export(
        &oci(&src, "1.0"),
        &tree,
        "app",
        StaticOptions {
            nginx_conf: Some(conf.clone()),
            copy: CopyOptions {
                referrers: true,
                ..CopyOptions::default()
            },
            ..StaticOptions::default()
        },
    );
    assert_eq!(report.copy.referrers_copied, 2);
    let server = WebServer::nginx(&conf, port);
    let image = format!("docker://{}/app:1.0", server.addr);
    let out = cli_ok(&[
        "--tls-verify=false",
        "verify",
        "--key",
        &public,
        "--json",
        &image,
    ]);
    let verdict: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(verdict["verified"], true, "{out}");
    assert_eq!(verdict["signatures"].as_array().unwrap().len(), 2, "{out}");
    // Another key does not verify it.
    let other = work.path().join("other");
    cli_ok(&[
        "generate-key-pair",
        "--output-key-prefix",
        other.to_str().unwrap(),
    ]);
    let out = stevedore_cli(&[
        "--tls-verify=false",
        "verify",
        "--key",
        &format!("{}.pub", other.display()),
        &image,
    ]);
    assert!(!out.status.success());
    drop(server);
}

/// Files below `dir`: how many distinct files (inodes) and their bytes.
fn distinct_files(dir: &Path) -> (usize, u64) {
    let mut seen = HashSet::new();
    let mut bytes = 0;
    for path in common::snapshot(dir).keys() {
        let meta = std::fs::metadata(dir.join(path)).unwrap();
        if seen.insert(meta.ino()) {
            bytes += meta.len();
        }
    }
    (seen.len(), bytes)
}

#[test]
fn a_second_export_adds_a_tag_and_shares_every_blob() {
    let work = tempfile::tempdir().unwrap();
    let src = work.path().join("src");
    let image = make_image(&src, "1.0", b"shared\n");
    let tree = work.path().join("tree");
    let first = export(&oci(&src, "1.0"), &tree, "app", StaticOptions::default());
    let blobs = image.blobs().len();
    assert_eq!(first.copy.blobs_copied, blobs);
    let (files, bytes) = distinct_files(&tree.join("blobs"));
    assert_eq!(files, blobs);
    let (all_files, all_bytes) = distinct_files(&tree);

    // The same image as a new tag of the same repository, and in another.
    let again = export(
        &oci(&src, "1.0"),
        &tree,
        "app",
        StaticOptions {
            tag: Some("2.0".into()),
            ..StaticOptions::default()
        },
    );
    assert_eq!(
        (again.copy.blobs_copied, again.copy.blobs_skipped),
        (0, blobs)
    );
    let other = export(
        &oci(&src, "1.0"),
        &tree,
        "mirror/app",
        StaticOptions::default(),
    );
    assert_eq!(
        (other.copy.blobs_copied, other.copy.blobs_mounted),
        (0, blobs)
    );
    assert_eq!(distinct_files(&tree.join("blobs")), (files, bytes));
    // Only small files were added: tags/list rewritten, repositories.json.
    let (now_files, now_bytes) = distinct_files(&tree);
    assert!(now_files <= all_files + 3, "{all_files} -> {now_files}");
    assert!(now_bytes < all_bytes + 1024, "{all_bytes} -> {now_bytes}");
    let list: serde_json::Value =
        serde_json::from_slice(&std::fs::read(tree.join("v2/app/tags/list")).unwrap()).unwrap();
    assert_eq!(
        list,
        serde_json::json!({"name": "app", "tags": ["1.0", "2.0"]})
    );
    // Every blob of both repositories is the one stored file.
    for repo in ["app", "mirror/app"] {
        for blob in image.blobs() {
            let linked =
                std::fs::metadata(tree.join(format!("v2/{repo}/blobs/{}", blob.digest))).unwrap();
            let stored = std::fs::metadata(common::blob_path(&tree, &blob.digest)).unwrap();
            assert_eq!(linked.ino(), stored.ino(), "{repo} {}", blob.digest);
        }
    }
    // No temporary file is left where a client could read it.
    let stray: BTreeMap<_, _> = common::snapshot(&tree)
        .into_iter()
        .filter(|(p, _)| p.to_string_lossy().contains(".stevedore-"))
        .collect();
    assert!(stray.is_empty(), "{:?}", stray.keys());
}

#[test]
fn the_static_reader_copies_an_image_back_to_oci_without_a_server() {
    let work = tempfile::tempdir().unwrap();
    let src = work.path().join("src");
    let multi = make_index(&src, "multi", &["linux/amd64", "linux/arm64"]);
    let tree = work.path().join("tree");
    let to_tree = stevedore::copy(
        &stevedore::parse_image(&oci(&src, "multi")).unwrap(),
        &stevedore::parse_image(&format!("static:{}//team/app:multi", tree.display())).unwrap(),
        &CopyOptions {
            all: true,
            ..CopyOptions::default()
        },
    )
    .unwrap();
    assert_eq!(&to_tree.digest, multi.digest());
    // The tree is found by its marker: no `//` needed once it exists.
    let back = work.path().join("back");
    let report = stevedore::copy(
        &stevedore::parse_image(&format!("static:{}/team/app:multi", tree.display())).unwrap(),
        &stevedore::parse_image(&oci(&back, "multi")).unwrap(),
        &CopyOptions {
            all: true,
            ..CopyOptions::default()
        },
    )
    .unwrap();
    assert_eq!(&report.digest, multi.digest());
    assert_eq!(skopeo_raw(&oci(&back, "multi")), multi.raw());
    let by_digest = stevedore::parse_image(&format!(
        "static:{}/team/app@{}",
        tree.display(),
        multi.digest()
    ))
    .unwrap();
    assert_eq!(
        stevedore::inspect(&by_digest, &Default::default())
            .unwrap()
            .digest,
        *multi.digest()
    );
    assert_eq!(
        stevedore::tags(
            &stevedore::parse_image(&format!("static:{}/team/app", tree.display())).unwrap()
        )
        .unwrap(),
        vec!["multi".to_owned()]
    );
}

#[test]
fn bad_trees_names_and_tags_are_refused() {
    let work = tempfile::tempdir().unwrap();
    let src = work.path().join("src");
    make_image(&src, "1.0", b"x\n");
    let source = stevedore::parse_image(&oci(&src, "1.0")).unwrap();
    // A directory that is not a tree and not empty.
    let foreign = work.path().join("foreign");
    std::fs::create_dir(&foreign).unwrap();
    std::fs::write(foreign.join("index.html"), b"mine").unwrap();
    let options = StaticOptions {
        name: Some("app".into()),
        ..StaticOptions::default()
    };
    let err = stevedore::export_static(&source, &foreign, &options).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::InvalidInput);
    assert!(
        err.message().contains("not a static registry tree"),
        "{err}"
    );
    assert_eq!(std::fs::read_dir(&foreign).unwrap().count(), 1);
    // Names that would leave the tree, tags the URL space cannot hold.
    let tree = work.path().join("tree");
    for name in ["../escape", "/abs", "a/../../b", "UPPER", "a//b"] {
        let options = StaticOptions {
            name: Some(name.into()),
            ..StaticOptions::default()
        };
        let err = stevedore::export_static(&source, &tree, &options).unwrap_err();
        assert_eq!(err.kind(), ErrorKind::InvalidInput, "{name}: {err}");
    }
    for tag in ["a/b", "../x", "with space", ".hidden", "x?y"] {
        let options = StaticOptions {
            name: Some("app".into()),
            tag: Some(tag.into()),
            ..StaticOptions::default()
        };
        let err = stevedore::export_static(&source, &tree, &options).unwrap_err();
        assert_eq!(err.kind(), ErrorKind::InvalidInput, "{tag}: {err}");
    }
    assert!(!tree.join("v2").exists(), "nothing was written");
    for s in ["static:app:1", "static:/t//app:a/b"] {
        assert!(stevedore::parse_image(s).is_err(), "{s}");
    }
}
