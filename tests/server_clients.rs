//! Our registry server with skopeo and our own client as its clients:
//! images copied in, out and between repositories; chunked and whole
//! pushes, pulls, mounts, paging, referrers and deletes; concurrent pushers.

mod common;

use common::http::request;
use common::our_server::{client_for, repo, Backend};
use common::*;
use stevedore::descriptor::Descriptor;
use stevedore::manifest::{ImageManifest, Manifest, ManifestContent};
use stevedore::media_types;
use stevedore::transport::parse_with;
use stevedore::{copy, CopyOptions, ErrorKind};

on_every_store!(
    skopeo_copies_images_in_out_and_between_repositories,
    our_client_pushes_chunked_and_whole_pulls_mounts_pages_refers_and_deletes,
    eight_concurrent_pushers_of_overlapping_images_all_succeed
);

fn skopeo_copies_images_in_out_and_between_repositories(backend: Backend) {
    let tmp = tempfile::tempdir().unwrap();
    let t = tmp.path();
    let (_s3, server) = backend.serve(&t.join("store"));
    let single = make_image(&t.join("src"), "1", b"served\n");
    let multi = make_index(&t.join("src"), "multi", &["linux/amd64", "linux/arm64"]);
    let at = |name: &str| format!("docker://{}/{name}", server.host());
    for (tag, manifest, name) in [
        ("1", &single, "team/app:1"),
        ("multi", &multi, "team/multi:1"),
    ] {
        skopeo_copy(&oci(&t.join("src"), tag), &at(name), &["--all"]);
        assert_eq!(skopeo_raw(&at(name)), manifest.raw(), "{name}");
        let out = oci(&t.join("out"), tag);
        skopeo_copy(&at(name), &out, &["--all"]);
        assert_eq!(skopeo_raw(&out), manifest.raw(), "{name} back in a layout");
        // Into a second repository of the same server: skopeo mounts.
        let other = at(&format!("mirror/{name}"));
        skopeo_copy(&at(name), &other, &["--all"]);
        assert_eq!(skopeo_raw(&other), manifest.raw(), "{name} mirrored");
    }
    tool_ok(
        "umoci",
        &[
            "unpack",
            "--rootless",
            "--image",
            &format!("{}:1", t.join("out").display()),
            &t.join("bundle").display().to_string(),
        ],
    );
    assert_eq!(
        std::fs::read(t.join("bundle/rootfs/etc/hello")).unwrap(),
        b"served\n"
    );
    let tags: serde_json::Value = serde_json::from_slice(&tool_ok(
        "skopeo",
        &["list-tags", "--tls-verify=false", &at("team/app")],
    ))
    .unwrap();
    assert_eq!(tags["Tags"], serde_json::json!(["1"]));
}

fn our_client_pushes_chunked_and_whole_pulls_mounts_pages_refers_and_deletes(backend: Backend) {
    let tmp = tempfile::tempdir().unwrap();
    let t = tmp.path();
    let (_s3, server) = backend.serve(&t.join("store"));
    // 256 KiB chunks: the 3 MiB layer goes up in a dozen PATCHes; small blobs whole.
    let client = client_for(&server, 256 * 1024);
    let data = incompressible(3 << 20, 7);
    let files: &[(&str, &[u8])] = &[("big.bin", &data)];
    let layout = stevedore::transport::OciLayout::new(t.join("src"));
    let manifest = write_image(&layout, &host_platform(), &[LayerSpec { files }]);
    stevedore::transport::Transport::put_manifest(&layout, &manifest, Some("1")).unwrap();
    let image =
        |name: &str| parse_with(&format!("docker://{}/{name}", server.host()), &client).unwrap();
    let pushed = copy(
        &parse_with(&oci(&t.join("src"), "1"), &client).unwrap(),
        &image("one/app:1"),
        &CopyOptions::default(),
    )
    .unwrap();
    assert_eq!(
        (pushed.blobs_copied, &pushed.digest),
        (2, manifest.digest())
    );
    // Pull back, verified.
    let pulled = copy(
        &image("one/app:1"),
        &parse_with(&oci(&t.join("back"), "1"), &client).unwrap(),
        &CopyOptions::default(),
    )
    .unwrap();
    assert_eq!(&pulled.digest, manifest.digest());
    // Another repository: every blob mounted.
    let mounted = copy(
        &image("one/app:1"),
        &image("two/app:1"),
        &CopyOptions::default(),
    )
    .unwrap();
    assert_eq!((mounted.blobs_mounted, mounted.blobs_copied), (2, 0));
    // Tags, page by page.
    let one = repo(&server, "one/app");
    for tag in ["b", "a", "d", "c"] {
        client.put_manifest(&one, tag, &manifest).unwrap();
    }
    assert_eq!(
        client.list_tags(&one, Some(2)).unwrap(),
        ["1", "a", "b", "c", "d"]
    );
    let page = request(&server.host(), "GET", "/v2/one/app/tags/list?n=2", &[], b"");
    assert_eq!(
        page.header("link"),
        Some("</v2/one/app/tags/list?n=2&last=a>; rel=\"next\"")
    );
    assert_eq!(
        client.catalog(&server.host(), Some(1)).unwrap(),
        ["one/app", "two/app"]
    );
    // Referrers: an artifact whose subject is the image, found by type.
    let empty = b"{}";
    let config = Descriptor::for_bytes(media_types::OCI_EMPTY, empty);
    client
        .upload_blob(&one, &config, &mut &empty[..], None)
        .unwrap();
    let artifact = Manifest::build(ManifestContent::Image(Box::new(ImageManifest {
        schema_version: 2,
        media_type: Some(media_types::OCI_MANIFEST.into()),
        artifact_type: Some("application/vnd.example.sbom".into()),
        config: config.clone(),
        layers: vec![config.clone()],
        subject: Some(manifest.descriptor()),
        annotations: [("org.example.kind".to_owned(), "sbom".to_owned())].into(),
    })))
    .unwrap();
    client
        .put_manifest(&one, &artifact.digest().to_string(), &artifact)
        .unwrap();
    let (found, _) = client
        .referrers(
            &one,
            manifest.digest(),
            Some("application/vnd.example.sbom"),
        )
        .unwrap();
    assert_eq!(found.len(), 1);
    assert_eq!(&found[0].digest, artifact.digest());
    assert_eq!(found[0].annotations["org.example.kind"], "sbom");
    let (none, _) = client
        .referrers(&one, manifest.digest(), Some("application/other"))
        .unwrap();
    assert!(none.is_empty());
    let raw = request(
        &server.host(),
        "GET",
        &format!(
            "/v2/one/app/referrers/{}?artifactType=application/vnd.example.sbom",
            manifest.digest()
        ),
        &[],
        b"",
    );
    assert_eq!(raw.header("oci-filters-applied"), Some("artifactType"));
    // Delete: the manifest (and its tags) and then a blob.
    client.delete_manifest(&one, manifest.digest()).unwrap();
    let err = client.get_manifest(&one, "1").unwrap_err();
    assert_eq!(err.kind(), ErrorKind::NotFound);
    let layer = &manifest.blobs()[1].digest;
    let gone = request(
        &server.host(),
        "DELETE",
        &format!("/v2/one/app/blobs/{layer}"),
        &[],
        b"",
    );
    assert_eq!(gone.status, 202);
    assert_eq!(client.blob_size(&one, layer).unwrap(), None);
    // The mounted copy still has everything.
    assert_eq!(
        client.blob_size(&repo(&server, "two/app"), layer).unwrap(),
        Some(manifest.blobs()[1].size)
    );
}

fn eight_concurrent_pushers_of_overlapping_images_all_succeed(backend: Backend) {
    let tmp = tempfile::tempdir().unwrap();
    let t = tmp.path();
    let (_s3, server) = backend.serve(&t.join("store"));
    // Eight images sharing a 2 MiB base layer and each with its own layer.
    let base = incompressible(2 << 20, 101);
    let mut images = Vec::new();
    for i in 0..8u64 {
        let own = incompressible(512 * 1024, 2 * i + 201);
        let layout = stevedore::transport::OciLayout::new(t.join(format!("src{i}")));
        let base_files: &[(&str, &[u8])] = &[("base.bin", &base)];
        let own_files: &[(&str, &[u8])] = &[("own.bin", &own)];
        let manifest = write_image(
            &layout,
            &host_platform(),
            &[
                LayerSpec { files: base_files },
                LayerSpec { files: own_files },
            ],
        );
        stevedore::transport::Transport::put_manifest(&layout, &manifest, Some("1")).unwrap();
        images.push(manifest);
    }
    let client = client_for(&server, 512 * 1024);
    std::thread::scope(|scope| {
        for i in 0..8 {
            let (client, t, host) = (&client, t, server.host());
            scope.spawn(move || {
                // Two repositories each get four pushers; every pusher also
                // moves the shared tag "latest".
                let repo = format!("shared/r{}", i % 2);
                for tag in [format!("v{i}"), "latest".to_owned()] {
                    copy(
                        &parse_with(&oci(&t.join(format!("src{i}")), "1"), client).unwrap(),
                        &parse_with(&format!("docker://{host}/{repo}:{tag}"), client).unwrap(),
                        &CopyOptions::default(),
                    )
                    .unwrap_or_else(|e| panic!("pusher {i}: {e}"));
                }
            });
        }
    });
    for (i, manifest) in images.iter().enumerate() {
        let out = t.join(format!("out{i}"));
        let report = copy(
            &parse_with(
                &format!("docker://{}/shared/r{}:v{i}", server.host(), i % 2),
                &client,
            )
            .unwrap(),
            &parse_with(&oci(&out, "1"), &client).unwrap(),
            &CopyOptions::default(),
        )
        .unwrap();
        assert_eq!(&report.digest, manifest.digest());
        tool_ok(
            "umoci",
            &["stat", "--image", &format!("{}:1", out.display())],
        );
    }
    let latest = client
        .get_manifest(&repo(&server, "shared/r0"), "latest")
        .unwrap();
    assert!(images.iter().any(|m| m.digest() == latest.digest()));
}
