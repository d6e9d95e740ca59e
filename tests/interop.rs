//! Issue #13: inputs modelled on what real registries, archives and images
//! send — `Link` forms, URLs after a redirect, legacy `docker save`
//! tarballs, a referrers fallback tag that holds something else, foreign
//! layers — against docker-registry, skopeo and umoci where they can show
//! it, and fakes (127.0.0.1 only) for replies docker-registry never sends.

mod common;

use std::path::Path;
use std::sync::{Arc, OnceLock};

use common::fake::{FakeServer, Reply, Seen};
use common::registry::Registry;
use common::*;
use stevedore::descriptor::Descriptor;
use stevedore::manifest::{ImageIndex, ImageManifest, Manifest, ManifestContent};
use stevedore::media_types;
use stevedore::progress::collecting_notes;
use stevedore::referrers::{attach, AttachOptions};
use stevedore::registry::{fallback_tag, Client, ClientOptions, Repository};
use stevedore::transport::{parse, parse_with, OciLayout, Transport};
use stevedore::{copy, CopyOptions, Digest};

fn plain_client(addr: &str) -> Client {
    Client::new(ClientOptions {
        plain_http: vec![addr.to_owned()],
        max_retries: 0,
        ..Default::default()
    })
    .unwrap()
}

fn repo(addr: &str, name: &str) -> Repository {
    Repository {
        registry: addr.to_owned(),
        name: name.to_owned(),
    }
}

fn list(field: &str, items: &[&str]) -> Vec<u8> {
    serde_json::json!({ "name": "app", field: items })
        .to_string()
        .into_bytes()
}

fn referrers_page(digests: &[Digest]) -> Vec<u8> {
    let entries: Vec<Descriptor> = digests
        .iter()
        .map(|d| {
            let mut e = Descriptor::new(media_types::OCI_MANIFEST, d.clone(), 100);
            e.artifact_type = Some("application/spdx+json".into());
            e
        })
        .collect();
    serde_json::to_vec(&ImageIndex::oci(entries)).unwrap()
}

#[test]
fn every_link_form_pages_tags_catalog_and_referrers_and_a_bad_link_fails() {
    let port = Arc::new(OnceLock::<u16>::new());
    let subject = Digest::sha256(b"subject");
    let (r1, r2) = (Digest::sha256(b"r1"), Digest::sha256(b"r2"));
    let (p, s) = (port.clone(), subject.clone());
    let (a, b) = (r1.clone(), r2.clone());
    let server = FakeServer::start(move |seen: &Seen| {
        let port = p.get().copied().unwrap_or(0);
        let url = seen.url.as_str();
        let referrers = format!("/v2/app/referrers/{s}");
        match url {
            "/v2/" => Reply::new(200, "{}"),
            // The form of the issue: no angle brackets, relative.
            "/v2/app/tags/list?n=3" => Reply::new(200, list("tags", &["t000", "t001", "t002"]))
                .header("Link", "/v2/app/tags/list?n=3&last=t002; rel=\"next\""),
            // Absolute, unquoted rel, an extra parameter.
            "/v2/app/tags/list?n=3&last=t002" => {
                Reply::new(200, list("tags", &["t003", "t004", "t005"])).header(
                    "Link",
                    &format!("<http://127.0.0.1:{port}/v2/app/tags/list?n=3&last=t005>; rel=next; type=\"application/json\""),
                )
            }
            "/v2/app/tags/list?n=3&last=t005" => Reply::new(200, list("tags", &["t006"])),
            // Query-only, then a last page that only points back.
            "/v2/_catalog?n=2" => Reply::new(200, list("repositories", &["a", "b"]))
                .header("Link", "<?n=2&last=b>; rel=\"next\""),
            "/v2/_catalog?n=2&last=b" => Reply::new(200, list("repositories", &["c"]))
                .header("Link", "</v2/_catalog?n=2>; rel=\"prev\""),
            // Links that cannot be followed.
            "/v2/bad/tags/list" => {
                Reply::new(200, list("tags", &["x"])).header("Link", "/v2/bad/tags/list?last=x")
            }
            "/v2/badrel/tags/list" => {
                Reply::new(200, list("tags", &["x"])).header("Link", "<>; rel=next")
            }
            _ if url == referrers => Reply::new(200, referrers_page(std::slice::from_ref(&a)))
                .header("Content-Type", media_types::OCI_INDEX)
                .header("Link", &format!("{referrers}?last=1; rel=next")),
            _ if url == format!("{referrers}?last=1") => {
                Reply::new(200, referrers_page(std::slice::from_ref(&b)))
                    .header("Content-Type", media_types::OCI_INDEX)
            }
            _ => Reply::new(404, ""),
        }
    });
    port.set(server.port).unwrap();
    let client = plain_client(&server.addr());
    let tags = client
        .list_tags(&repo(&server.addr(), "app"), Some(3))
        .unwrap();
    let expected: Vec<String> = (0..7).map(|i| format!("t{i:03}")).collect();
    assert_eq!(tags, expected, "every page of tags");
    assert_eq!(
        client.catalog(&server.addr(), Some(2)).unwrap(),
        ["a", "b", "c"]
    );
    let (found, _) = client
        .referrers(&repo(&server.addr(), "app"), &subject, None)
        .unwrap();
    let digests: Vec<Digest> = found.into_iter().map(|d| d.digest).collect();
    assert_eq!(digests, [r1, r2], "both pages of referrers");
    for name in ["bad", "badrel"] {
        let e = client
            .list_tags(&repo(&server.addr(), name), None)
            .expect_err("a Link that cannot be followed is an error, not a short list");
        assert!(e.message().contains("Link"), "{e}");
    }
}

#[test]
fn urls_after_a_redirect_resolve_against_the_url_that_answered() {
    let port = Arc::new(OnceLock::<u16>::new());
    let p = port.clone();
    let server = FakeServer::start(move |seen: &Seen| {
        let port = p.get().copied().unwrap_or(0);
        let url = seen.url.as_str();
        if url.contains("/auth/token?") {
            return Reply::new(200, r#"{"token":"t0k"}"#);
        }
        if seen.header("authorization") != Some("Bearer t0k") {
            // A relative realm: it resolves against the URL that answered.
            return Reply::new(401, "").header(
                "WWW-Authenticate",
                r#"Bearer realm="../auth/token",service="fake""#,
            );
        }
        match (seen.method.as_str(), url) {
            ("GET", "/v2/") => Reply::new(200, "{}"),
            // Moved to a protocol-relative URL with dot segments.
            ("GET", "/v2/app/tags/list?n=3") => Reply::new(307, "").header(
                "Location",
                &format!("//127.0.0.1:{port}/mirror/./x/../v2/app/tags/list?n=3"),
            ),
            ("GET", "/mirror/v2/app/tags/list?n=3") => {
                Reply::new(200, list("tags", &["a", "b", "c"]))
                    .header("Link", "list?n=3&last=c; rel=next")
            }
            ("GET", "/mirror/v2/app/tags/list?n=3&last=c") => Reply::new(200, list("tags", &["d"])),
            ("POST", "/v2/app/blobs/uploads/") => {
                Reply::new(307, "").header("Location", "/elsewhere/uploads/")
            }
            // A query-only Location: the session is at the URL that answered.
            ("POST", "/elsewhere/uploads/") => Reply::new(202, "").header("Location", "?_state=s1"),
            ("PUT", u) if u.starts_with("/elsewhere/uploads/?_state=s1&digest=sha256") => {
                Reply::new(201, "")
            }
            _ => Reply::new(404, ""),
        }
    });
    port.set(server.port).unwrap();
    let client = plain_client(&server.addr());
    let app = repo(&server.addr(), "app");
    assert_eq!(
        client.list_tags(&app, Some(3)).unwrap(),
        ["a", "b", "c", "d"]
    );
    let blob = b"uploaded after a redirect\n";
    let descriptor = Descriptor::for_bytes("application/octet-stream", blob);
    client
        .upload_blob(&app, &descriptor, &mut &blob[..], None)
        .unwrap();
    let seen = server.seen();
    assert!(
        seen.iter()
            .any(|s| s.method == "PUT" && s.url.starts_with("/elsewhere/uploads/?_state=s1&")),
        "the upload went on at the URL that answered: {seen:#?}"
    );
    assert!(
        seen.iter()
            .any(|s| s.url.starts_with("/v2/app/auth/token?")),
        "the relative realm resolved against the URL that answered (/v2/app/…)"
    );
}

/// A legacy `docker save` tarball: `<id>/layer.tar` (plain tar), `<id>/json`,
/// `<id>/VERSION`, the config, `manifest.json` and `repositories`; no OCI
/// layout inside.
fn legacy_docker_save(path: &Path) {
    let mut layer = tar::Builder::new(Vec::new());
    let mut header = tar::Header::new_gnu();
    let content = b"from a legacy docker save\n";
    header.set_size(content.len() as u64);
    header.set_mode(0o644);
    header.set_mtime(1_600_000_000);
    header.set_cksum();
    layer
        .append_data(&mut header, "etc/legacy", &content[..])
        .unwrap();
    let layer = layer.into_inner().unwrap();
    let diff_id = Digest::sha256(&layer);
    let platform = stevedore::platform::Platform::host();
    let config = serde_json::json!({
        "architecture": platform.architecture,
        "os": "linux",
        "config": {"Cmd": ["/bin/sh"]},
        "rootfs": {"type": "layers", "diff_ids": [diff_id.to_string()]},
    })
    .to_string();
    let config_file = format!("{}.json", Digest::sha256(config.as_bytes()).hex());
    let id = diff_id.hex().to_owned();
    let manifest = serde_json::json!([{
        "Config": config_file,
        "RepoTags": ["legacy:1"],
        "Layers": [format!("{id}/layer.tar")],
    }])
    .to_string();
    let repositories = serde_json::json!({"legacy": {"1": id}}).to_string();
    let mut outer = tar::Builder::new(std::fs::File::create(path).unwrap());
    let files: Vec<(String, Vec<u8>)> = vec![
        (format!("{id}/VERSION"), b"1.0".to_vec()),
        (format!("{id}/json"), br#"{"id":"x"}"#.to_vec()),
        (format!("{id}/layer.tar"), layer),
        (config_file, config.into_bytes()),
        ("manifest.json".into(), manifest.into_bytes()),
        ("repositories".into(), repositories.into_bytes()),
    ];
    for (name, bytes) in files {
        let mut header = tar::Header::new_gnu();
        header.set_size(bytes.len() as u64);
        header.set_mode(0o644);
        header.set_cksum();
        outer.append_data(&mut header, name, &bytes[..]).unwrap();
    }
    outer.finish().unwrap();
}

fn layer_types(manifest: &Manifest) -> Vec<String> {
    let ManifestContent::Image(image) = manifest.content() else {
        panic!("an image manifest");
    };
    image.layers.iter().map(|l| l.media_type.clone()).collect()
}

fn unpacked_by_umoci(layout: &Path, tag: &str, bundle: &Path) -> Vec<u8> {
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
    std::fs::read(bundle.join("rootfs/etc/legacy")).unwrap()
}

#[test]
fn a_legacy_docker_save_tarball_gets_layer_types_that_describe_its_bytes() {
    let registry = Registry::start();
    let tmp = tempfile::tempdir().unwrap();
    let archive = tmp.path().join("legacy.tar");
    legacy_docker_save(&archive);
    let client = registry.client();
    let src = parse_with(&format!("docker-archive:{}", archive.display()), &client).unwrap();
    let pushed = registry.image("legacy:1");
    let dir = tmp.path().join("dir");
    for dst in [pushed.clone(), format!("dir:{}", dir.display())] {
        let report = copy(
            &src,
            &parse_with(&dst, &client).unwrap(),
            &CopyOptions::default(),
        )
        .unwrap();
        let written = parse_with(&dst, &client).unwrap();
        let manifest = written
            .transport()
            .get_manifest(&written.resolve().unwrap())
            .unwrap();
        assert_eq!(manifest.digest(), &report.digest);
        assert_eq!(
            layer_types(&manifest),
            [media_types::DOCKER_LAYER],
            "{dst}: a plain tar is labelled a plain tar"
        );
    }
    for (from, name) in [(pushed, "o1"), (format!("dir:{}", dir.display()), "o2")] {
        let layout = tmp.path().join(name);
        skopeo_copy(&from, &oci(&layout, "1"), &[]);
        let bundle = tmp.path().join(format!("{name}-bundle"));
        assert_eq!(
            unpacked_by_umoci(&layout, "1", &bundle),
            b"from a legacy docker save\n",
            "{from}"
        );
    }
}

#[test]
fn a_fallback_tag_that_is_no_referrers_index_lists_nothing_and_is_not_merged() {
    let registry = Registry::start();
    let tmp = tempfile::tempdir().unwrap();
    let client = registry.client();
    let layout = tmp.path().join("src");
    let index = make_index(&layout, "1", &["linux/amd64", "linux/arm64"]);
    let all = CopyOptions {
        all: true,
        ..Default::default()
    };
    let tag = fallback_tag(index.digest());
    for dst in [
        registry.image("app:1"),
        registry.image(&format!("app:{tag}")),
    ] {
        copy(
            &parse(&oci(&layout, "1")).unwrap(),
            &parse_with(&dst, &client).unwrap(),
            &all,
        )
        .unwrap();
    }
    let app = repo(&registry.addr, "app");
    let ((found, _), notes) =
        collecting_notes(|| client.referrers(&app, index.digest(), None).unwrap());
    assert!(
        found.is_empty(),
        "the subject itself is no referrer: {found:?}"
    );
    assert!(
        notes.iter().any(|n| n.contains("is the subject itself")),
        "{notes:?}"
    );

    let report = copy(
        &parse_with(&registry.image("app:1"), &client).unwrap(),
        &parse_with(&registry.image("copy:1"), &client).unwrap(),
        &CopyOptions {
            referrers: true,
            ..all.clone()
        },
    )
    .unwrap();
    assert_eq!(report.referrers_copied, 0);
    assert!(!report.notes.is_empty(), "the report warns");

    let attached = attach(
        &parse_with(&registry.image("app:1"), &client).unwrap(),
        b"{\"spdxVersion\":\"SPDX-2.3\"}",
        &AttachOptions {
            artifact_type: "application/spdx+json".into(),
            ..Default::default()
        },
    )
    .unwrap();
    let fallback = client.get_manifest(&app, &tag).unwrap();
    let ManifestContent::Index(written) = fallback.content() else {
        panic!("the fallback tag now holds an index");
    };
    let entries: Vec<&Digest> = written.manifests.iter().map(|d| &d.digest).collect();
    assert_eq!(
        entries,
        [&attached.digest],
        "no platform manifest merged in"
    );
    let (found, _) = client.referrers(&app, index.digest(), None).unwrap();
    assert_eq!(found.len(), 1);

    // An index at the fallback tag whose entries name no subject.
    let image = make_image(&layout, "single", b"single\n");
    copy(
        &parse(&oci(&layout, "single")).unwrap(),
        &parse_with(&registry.image("app:single"), &client).unwrap(),
        &CopyOptions::default(),
    )
    .unwrap();
    let unrelated = Manifest::build(ManifestContent::Index(Box::new(ImageIndex::oci(
        match index.content() {
            ManifestContent::Index(i) => i.manifests.clone(),
            ManifestContent::Image(_) => unreachable!(),
        },
    ))))
    .unwrap();
    client
        .put_manifest(&app, &fallback_tag(image.digest()), &unrelated)
        .unwrap();
    let ((found, _), notes) =
        collecting_notes(|| client.referrers(&app, image.digest(), None).unwrap());
    assert!(found.is_empty(), "{found:?}");
    assert!(
        notes.iter().any(|n| n.contains("does not name")),
        "{notes:?}"
    );
}

const FOREIGN_URL: &str = "http://127.0.0.1:1/foreign/layer.tar.gz";

/// An image in `dir` tagged `tag` whose last layer is foreign (`media_type`,
/// with `urls`); its blob is written only when `with_blob`.
fn image_with_foreign_layer(dir: &Path, tag: &str, media_type: &str, with_blob: bool) -> Manifest {
    let layout = OciLayout::new(dir);
    let base = make_image(dir, "base", b"base\n");
    let ManifestContent::Image(image) = base.content() else {
        unreachable!()
    };
    let foreign_bytes = b"\x1f\x8b pretend this is a Windows base layer";
    let mut foreign = Descriptor::for_bytes(media_type, foreign_bytes);
    foreign.urls = vec![FOREIGN_URL.to_owned()];
    if with_blob {
        layout.put_blob(&foreign, &mut &foreign_bytes[..]).unwrap();
    }
    let mut layers = image.layers.clone();
    layers.push(foreign);
    let manifest = Manifest::build(ManifestContent::Image(Box::new(ImageManifest {
        layers,
        ..image.as_ref().clone()
    })))
    .unwrap();
    layout.put_manifest(&manifest, Some(tag)).unwrap();
    manifest
}

#[test]
fn foreign_layers_the_source_lacks_are_skipped_in_every_transport() {
    // docker-registry refuses foreign layers unless their URLs are allowed.
    let registry = Registry::start_with_auth(
        "validation:\n  manifests:\n    urls:\n      allow:\n        - ^http://127\\.0\\.0\\.1:1/\n",
        None,
    );
    let tmp = tempfile::tempdir().unwrap();
    let client = registry.client();
    let src = tmp.path().join("src");
    let manifest = image_with_foreign_layer(
        &src,
        "1",
        media_types::OCI_LAYER_NONDISTRIBUTABLE_GZIP,
        false,
    );
    let foreign = match manifest.content() {
        ManifestContent::Image(i) => i.layers.last().unwrap().clone(),
        ManifestContent::Index(_) => unreachable!(),
    };
    let destinations = [
        (
            registry.image("foreign:1"),
            Some(registry.image("foreign:1")),
        ),
        (
            oci(&tmp.path().join("oci"), "1"),
            Some(oci(&tmp.path().join("oci"), "1")),
        ),
        (
            format!("dir:{}", tmp.path().join("dir").display()),
            Some(format!("dir:{}", tmp.path().join("dir").display())),
        ),
        (
            format!("oci-archive:{}:1", tmp.path().join("a.tar").display()),
            Some(format!(
                "oci-archive:{}:1",
                tmp.path().join("a.tar").display()
            )),
        ),
        // skopeo reads a docker-archive through manifest.json, rebuilding.
        (
            format!(
                "docker-archive:{}:foreign:1",
                tmp.path().join("d.tar").display()
            ),
            None,
        ),
    ];
    for (n, (dst, skopeo_name)) in destinations.iter().enumerate() {
        let report = copy(
            &parse(&oci(&src, "1")).unwrap(),
            &parse_with(dst, &client).unwrap(),
            &CopyOptions::default(),
        )
        .unwrap_or_else(|e| panic!("{dst}: {e}"));
        assert_eq!(&report.digest, manifest.digest(), "{dst}: digest unchanged");
        assert_eq!(
            report.foreign_layers_skipped,
            std::slice::from_ref(&foreign),
            "{dst}"
        );
        let written = parse_with(dst, &client).unwrap();
        let read = written
            .transport()
            .get_manifest(&written.resolve().unwrap())
            .unwrap();
        assert_eq!(
            read.raw(),
            manifest.raw(),
            "{dst}: the manifest, urls and all"
        );
        if let Some(name) = skopeo_name {
            assert_eq!(
                Digest::sha256(&skopeo_raw(name)),
                *manifest.digest(),
                "skopeo reads the same manifest from {dst}"
            );
        }
        // And onward again, from the copy.
        let again = tmp.path().join(format!("again-{n}"));
        let onward = copy(
            &parse_with(dst, &client).unwrap(),
            &parse(&oci(&again, "1")).unwrap(),
            &CopyOptions::default(),
        )
        .unwrap_or_else(|e| panic!("onward from {dst}: {e}"));
        assert_eq!(&onward.digest, manifest.digest());
        assert_eq!(onward.foreign_layers_skipped.len(), 1);
    }

    // Held by the source, the foreign blob is copied; Docker's form too.
    let held = tmp.path().join("held");
    let manifest = image_with_foreign_layer(&held, "1", media_types::DOCKER_FOREIGN_LAYER, true);
    let out = tmp.path().join("held-out");
    let report = copy(
        &parse(&oci(&held, "1")).unwrap(),
        &parse(&oci(&out, "1")).unwrap(),
        &CopyOptions::default(),
    )
    .unwrap();
    assert!(report.foreign_layers_skipped.is_empty());
    let last = match manifest.content() {
        ManifestContent::Image(i) => i.layers.last().unwrap().digest.clone(),
        ManifestContent::Index(_) => unreachable!(),
    };
    assert!(
        blob_path(&out, &last).exists(),
        "a held foreign blob is copied"
    );
}

#[test]
fn sync_skips_foreign_layers_too() {
    let tmp = tempfile::tempdir().unwrap();
    let src = tmp.path().join("src");
    let manifest = image_with_foreign_layer(&src, "1", media_types::DOCKER_FOREIGN_LAYER, false);
    let jobs = vec![stevedore::SyncJob::new(
        oci(&src, "1"),
        oci(&tmp.path().join("dst"), "1"),
    )];
    let results = stevedore::sync(&jobs, &CopyOptions::default(), parse);
    match &results[0].outcome {
        stevedore::SyncOutcome::Copied(report) => {
            assert_eq!(&report.digest, manifest.digest());
            assert_eq!(report.foreign_layers_skipped.len(), 1);
        }
        other => panic!("{other:?}"),
    }
}

#[test]
fn the_cli_names_each_foreign_layer_it_skipped() {
    let tmp = tempfile::tempdir().unwrap();
    let src = tmp.path().join("src");
    image_with_foreign_layer(&src, "1", media_types::DOCKER_FOREIGN_LAYER, false);
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_stevedore"))
        .args(["copy", &oci(&src, "1"), &oci(&tmp.path().join("dst"), "1")])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        text.contains("Foreign layer sha256:") && text.contains(FOREIGN_URL),
        "{text}"
    );
}
