//! The registry client and the `docker://` transport against Debian's
//! `docker-registry`, judged by skopeo.

mod common;

use common::registry::Registry;
use common::*;
use stevedore::digest::Digest;
use stevedore::manifest::{ImageManifest, Manifest, ManifestContent};
use stevedore::registry::{MountResult, Repository};
use stevedore::transport::parse_with;
use stevedore::{copy, media_types, CopyOptions, ErrorKind, InspectOptions};

fn repo(registry: &Registry, name: &str) -> Repository {
    Repository {
        registry: registry.addr.clone(),
        name: name.to_owned(),
    }
}

#[test]
fn push_and_pull_keep_every_digest_and_skopeo_agrees() {
    let registry = Registry::start();
    let client = registry.client();
    let tmp = tempfile::tempdir().unwrap();
    let (a, back) = (tmp.path().join("a"), tmp.path().join("back"));
    let manifest = make_image(&a, "1.0", b"pushed by stevedore\n");

    let pushed = copy(
        &parse_with(&oci(&a, "1.0"), &client).unwrap(),
        &parse_with(&registry.image("team/app:1.0"), &client).unwrap(),
        &CopyOptions::default(),
    )
    .unwrap();
    assert_eq!(&pushed.digest, manifest.digest());
    assert_eq!(pushed.blobs_copied, 3);
    assert_eq!(skopeo_raw(&registry.image("team/app:1.0")), manifest.raw());

    // skopeo pulls what we pushed unchanged.
    let theirs = tmp.path().join("theirs");
    skopeo_copy(&registry.image("team/app:1.0"), &oci(&theirs, "x"), &[]);
    for blob in manifest.blobs() {
        assert_eq!(
            std::fs::read(blob_path(&theirs, &blob.digest)).unwrap(),
            std::fs::read(blob_path(&a, &blob.digest)).unwrap()
        );
    }

    // We pull it back byte for byte.
    let pulled = copy(
        &parse_with(&registry.image("team/app:1.0"), &client).unwrap(),
        &parse_with(&oci(&back, "1.0"), &client).unwrap(),
        &CopyOptions::default(),
    )
    .unwrap();
    assert_eq!(&pulled.digest, manifest.digest());
    assert_eq!(snapshot(&back.join("blobs")), snapshot(&a.join("blobs")));

    let by_digest = format!("{}@{}", registry.image("team/app"), manifest.digest());
    let report = stevedore::inspect(
        &parse_with(&by_digest, &client).unwrap(),
        &InspectOptions::default(),
    )
    .unwrap();
    assert_eq!(&report.digest, manifest.digest());
    assert_eq!(
        stevedore::tags(&parse_with(&registry.image("team/app"), &client).unwrap()).unwrap(),
        ["1.0"]
    );
}

#[test]
fn docker_typed_manifests_and_indexes_pull_with_skopeos_digests() {
    let registry = Registry::start();
    let client = registry.client();
    let tmp = tempfile::tempdir().unwrap();
    let a = tmp.path().join("a");
    make_image(&a, "1.0", b"docker typed\n");
    let index = make_index(&a, "multi", &["linux/amd64", "linux/arm64"]);
    // skopeo writes a Docker schema 2 manifest, and an OCI index with its images.
    skopeo_copy(
        &oci(&a, "1.0"),
        &registry.image("docker/app:1"),
        &["--format", "v2s2"],
    );
    skopeo_copy(
        &oci(&a, "multi"),
        &registry.image("multi/app:1"),
        &["--all"],
    );

    let docker = client
        .get_manifest(&repo(&registry, "docker/app"), "1")
        .unwrap();
    assert_eq!(docker.media_type(), media_types::DOCKER_MANIFEST);
    assert_eq!(docker.raw(), skopeo_raw(&registry.image("docker/app:1")));
    let multi = client
        .get_manifest(&repo(&registry, "multi/app"), "1")
        .unwrap();
    assert_eq!(multi.digest(), index.digest());
    assert_eq!(multi.raw(), skopeo_raw(&registry.image("multi/app:1")));

    // Every blob of the Docker-typed image streams and verifies.
    let out = tmp.path().join("out");
    let report = copy(
        &parse_with(&registry.image("docker/app:1"), &client).unwrap(),
        &parse_with(&oci(&out, "d"), &client).unwrap(),
        &CopyOptions::default(),
    )
    .unwrap();
    // A layout holds OCI manifests only (skopeo and umoci read no other):
    // the manifest is converted, the blobs are the same.
    assert_eq!(&report.source_digest, docker.digest());
    assert!(report.converted.is_some());
    let converted = skopeo_raw(&oci(&out, "d"));
    assert_eq!(Digest::sha256(&converted), report.digest);
    let (ManifestContent::Image(before), ManifestContent::Image(after)) = (
        docker.content(),
        Manifest::from_bytes(converted, None)
            .unwrap()
            .content()
            .clone(),
    ) else {
        panic!("two image manifests")
    };
    assert_eq!(after.media_type.as_deref(), Some(media_types::OCI_MANIFEST));
    let digests = |m: &ImageManifest| {
        m.layers
            .iter()
            .map(|l| l.digest.clone())
            .collect::<Vec<_>>()
    };
    assert_eq!(digests(before), digests(&after));
    tool_ok(
        "umoci",
        &["stat", "--image", &format!("{}:d", out.display())],
    );

    // The whole index, and one platform of it.
    let all = CopyOptions {
        all: true,
        ..Default::default()
    };
    let report = copy(
        &parse_with(&registry.image("multi/app:1"), &client).unwrap(),
        &parse_with(&oci(&out, "all"), &client).unwrap(),
        &all,
    )
    .unwrap();
    assert_eq!((&report.digest, report.manifests), (index.digest(), 3));
    let ManifestContent::Index(entries) = index.content() else {
        panic!("an index")
    };
    let head = client
        .head_manifest(
            &repo(&registry, "multi/app"),
            &entries.manifests[1].digest.to_string(),
        )
        .unwrap()
        .unwrap();
    assert_eq!(head.digest, entries.manifests[1].digest);
    assert_eq!(head.size, entries.manifests[1].size);
    assert!(client
        .head_manifest(&repo(&registry, "multi/app"), "missing")
        .unwrap()
        .is_none());
}

#[test]
fn tags_paginate_blobs_mount_and_manifests_delete() {
    let registry = Registry::start();
    let client = registry.client();
    let tmp = tempfile::tempdir().unwrap();
    let a = tmp.path().join("a");
    let manifest = make_image(&a, "1.0", b"tags\n");
    copy(
        &parse_with(&oci(&a, "1.0"), &client).unwrap(),
        &parse_with(&registry.image("many/tags:t000"), &client).unwrap(),
        &CopyOptions::default(),
    )
    .unwrap();
    let many = repo(&registry, "many/tags");
    for i in 1..250 {
        client
            .put_manifest(&many, &format!("t{i:03}"), &manifest)
            .unwrap();
    }
    // docker-registry 2.8 answers tags in one page (pagination of tags is
    // proven against a test server in registry_faults.rs).
    let mut tags = client.list_tags(&many, Some(100)).unwrap();
    tags.sort();
    let expected: Vec<String> = (0..250).map(|i| format!("t{i:03}")).collect();
    assert_eq!(tags, expected);

    // A cross-repository mount links the blob without uploading it.
    let other = repo(&registry, "other/repo");
    let layer = manifest.blobs()[1].clone();
    assert_eq!(client.blob_size(&other, &layer.digest).unwrap(), None);
    let uploads = registry.count("PUT", "/blobs/uploads/");
    match client
        .mount_blob(&other, &layer.digest, "many/tags")
        .unwrap()
    {
        MountResult::Mounted => {}
        MountResult::NotMounted(_) => panic!("docker-registry mounts blobs it has"),
    }
    assert_eq!(
        registry.count("PUT", "/blobs/uploads/"),
        uploads,
        "nothing uploaded"
    );
    assert_eq!(
        client.blob_size(&other, &layer.digest).unwrap(),
        Some(layer.size)
    );
    // An unknown blob is not mounted: the session it opens takes an upload.
    let absent = stevedore::Digest::sha256(b"absent");
    match client.mount_blob(&other, &absent, "many/tags").unwrap() {
        MountResult::NotMounted(session) => {
            let desc =
                stevedore::descriptor::Descriptor::for_bytes("application/octet-stream", b"absent");
            client
                .upload_blob(&other, &desc, &mut &b"absent"[..], Some(session))
                .unwrap();
            assert_eq!(client.blob_size(&other, &absent).unwrap(), Some(6));
        }
        MountResult::Mounted => panic!("the blob did not exist"),
    }

    // The catalog follows docker-registry's Link pagination, one repository a page.
    let before = registry.count("GET", "/v2/_catalog");
    let catalog = client.catalog(&registry.addr, Some(1)).unwrap();
    assert_eq!(catalog, ["many/tags", "other/repo"]);
    assert!(
        registry.count("GET", "/v2/_catalog") - before >= 2,
        "followed the Link"
    );

    // Deleting the manifest removes every tag of it.
    client.delete_manifest(&many, manifest.digest()).unwrap();
    let err = client.get_manifest(&many, "t001").unwrap_err();
    assert_eq!(err.kind(), ErrorKind::NotFound);
    assert_eq!(err.http_status(), Some(404));
    assert_eq!(err.registry_errors()[0].code, "MANIFEST_UNKNOWN");
}

#[test]
fn basic_auth_with_htpasswd() {
    let registry = Registry::start_with_htpasswd("alice", "s3cret-pw");
    let tmp = tempfile::tempdir().unwrap();
    let a = tmp.path().join("a");
    make_image(&a, "1.0", b"auth\n");
    let options = |user: Option<&str>, pass: &str| stevedore::registry::ClientOptions {
        insecure: vec![registry.addr.clone()],
        credentials: user
            .map(|user| {
                let creds = stevedore::auth::Credentials::Basic {
                    username: user.to_owned(),
                    password: stevedore::auth::Secret::new(pass),
                };
                (registry.addr.clone(), creds)
            })
            .into_iter()
            .collect(),
        auth_file: Some(tmp.path().join("no-auth-file.json")),
        ..Default::default()
    };
    let push = |options| {
        let client = stevedore::registry::Client::new(options).unwrap();
        copy(
            &parse_with(&oci(&a, "1.0"), &client).unwrap(),
            &parse_with(&registry.image("private/app:1"), &client).unwrap(),
            &CopyOptions::default(),
        )
    };
    let err = push(options(None, "")).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Unauthorized);
    assert!(
        err.message().contains("needs credentials for private/app"),
        "{err}"
    );
    let err = push(options(Some("alice"), "wrong")).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Unauthorized, "{err}");
    assert!(
        !err.message().contains("wrong"),
        "the password leaked: {err}"
    );
    assert!(!format!("{:?}", options(Some("alice"), "wrong")).contains("wrong"));
    push(options(Some("alice"), "s3cret-pw")).unwrap();
    // skopeo, with the same credentials, reads it.
    tool_ok(
        "skopeo",
        &[
            "inspect",
            "--tls-verify=false",
            "--creds",
            "alice:s3cret-pw",
            &registry.image("private/app:1"),
        ],
    );
}

#[test]
fn a_blob_over_64_mib_moves_in_chunks_with_flat_memory() {
    let registry = Registry::start();
    let tmp = tempfile::tempdir().unwrap();
    let (a, back) = (tmp.path().join("a"), tmp.path().join("back"));
    let big = incompressible(70 * 1024 * 1024, 7);
    let layout = stevedore::transport::OciLayout::new(&a);
    let manifest = write_image(
        &layout,
        &host_platform(),
        &[LayerSpec {
            files: &[("big.bin", &big)],
        }],
    );
    drop(big);
    stevedore::transport::Transport::put_manifest(&layout, &manifest, Some("1")).unwrap();
    let layer = manifest.blobs()[1].clone();
    assert!(layer.size > 64 * 1024 * 1024);

    let stevedore = |args: &[&str]| {
        let args: Vec<&str> = ["--tls-verify=false"].iter().chain(args).copied().collect();
        run_measured(env!("CARGO_BIN_EXE_stevedore"), &args)
    };
    let (ok, stderr, push_rss) = stevedore(&["copy", &oci(&a, "1"), &registry.image("big/app:1")]);
    assert!(ok, "push failed: {stderr}");
    let patches = registry.count("PATCH", "/v2/big/app/blobs/uploads/");
    assert!(
        patches >= 2,
        "70 MiB in 64 MiB chunks is at least 2 PATCHes, saw {patches}"
    );

    let (ok, stderr, pull_rss) =
        stevedore(&["copy", &registry.image("big/app:1"), &oci(&back, "1")]);
    assert!(ok, "pull failed: {stderr}");
    assert_eq!(
        std::fs::read(blob_path(&back, &layer.digest)).unwrap(),
        std::fs::read(blob_path(&a, &layer.digest)).unwrap()
    );
    println!(
        "peak RSS: push {} MiB, pull {} MiB",
        push_rss >> 20,
        pull_rss >> 20
    );
    for (what, rss) in [("push", push_rss), ("pull", pull_rss)] {
        assert!(
            rss < 32 * 1024 * 1024,
            "{what} of a 70 MiB blob peaked at {} MiB",
            rss >> 20
        );
    }
}

#[test]
fn referrers_fall_back_to_the_tag_schema_on_docker_registry() {
    use stevedore::descriptor::Descriptor;
    use stevedore::manifest::{ImageIndex, Manifest};
    use stevedore::registry::ReferrersSource;
    let registry = Registry::start();
    let client = registry.client();
    let tmp = tempfile::tempdir().unwrap();
    let a = tmp.path().join("a");
    let subject = make_image(&a, "1", b"subject\n");
    let app = repo(&registry, "ref/app");
    copy(
        &parse_with(&oci(&a, "1"), &client).unwrap(),
        &parse_with(&registry.image("ref/app:1"), &client).unwrap(),
        &CopyOptions::default(),
    )
    .unwrap();
    // An SBOM artifact whose subject is the image, and the fallback index
    // another client would have written for it.
    let empty = Descriptor::for_bytes(media_types::OCI_EMPTY, b"{}");
    let sbom_layer =
        Descriptor::for_bytes("application/spdx+json", br#"{"spdxVersion":"SPDX-2.3"}"#);
    client
        .upload_blob(&app, &empty, &mut &b"{}"[..], None)
        .unwrap();
    client
        .upload_blob(
            &app,
            &sbom_layer,
            &mut &br#"{"spdxVersion":"SPDX-2.3"}"#[..],
            None,
        )
        .unwrap();
    let artifact = Manifest::build(ManifestContent::Image(Box::new(
        stevedore::manifest::ImageManifest {
            schema_version: 2,
            media_type: Some(media_types::OCI_MANIFEST.into()),
            artifact_type: Some("application/spdx+json".into()),
            config: empty,
            layers: vec![sbom_layer],
            subject: Some(subject.descriptor()),
            annotations: Default::default(),
        },
    )))
    .unwrap();
    client
        .put_manifest(&app, &artifact.digest().to_string(), &artifact)
        .unwrap();
    let mut sbom = artifact.descriptor();
    sbom.artifact_type = Some("application/spdx+json".into());
    let index = Manifest::build(ManifestContent::Index(Box::new(ImageIndex {
        schema_version: 2,
        media_type: Some(media_types::OCI_INDEX.into()),
        artifact_type: None,
        manifests: vec![sbom.clone()],
        subject: None,
        annotations: Default::default(),
    })))
    .unwrap();
    let tag = stevedore::registry::fallback_tag(subject.digest());
    client.put_manifest(&app, &tag, &index).unwrap();

    let (found, source) = client.referrers(&app, subject.digest(), None).unwrap();
    assert_eq!(
        (found, source),
        (vec![sbom.clone()], ReferrersSource::TagSchema)
    );
    let (found, _) = client
        .referrers(&app, subject.digest(), Some("application/spdx+json"))
        .unwrap();
    assert_eq!(found.len(), 1);
    let (found, _) = client
        .referrers(&app, subject.digest(), Some("application/other"))
        .unwrap();
    assert!(found.is_empty());
    let (found, _) = client
        .referrers(&app, &stevedore::Digest::sha256(b"no referrers"), None)
        .unwrap();
    assert!(found.is_empty());
}

#[test]
fn a_corrupt_blob_pushed_in_chunks_is_a_digest_mismatch() {
    let registry = Registry::start();
    let client = registry.client();
    let tmp = tempfile::tempdir().unwrap();
    let a = tmp.path().join("a");
    let data = incompressible(3 * 1024 * 1024, 99);
    let layout = stevedore::transport::OciLayout::new(&a);
    let manifest = write_image(
        &layout,
        &host_platform(),
        &[LayerSpec {
            files: &[("data.bin", &data)],
        }],
    );
    stevedore::transport::Transport::put_manifest(&layout, &manifest, Some("1")).unwrap();
    let layer = blob_path(&a, &manifest.blobs()[1].digest);
    let mut bytes = std::fs::read(&layer).unwrap();
    bytes[1000] ^= 0xff;
    std::fs::write(&layer, bytes).unwrap();
    let small_chunks = stevedore::registry::Client::new(stevedore::registry::ClientOptions {
        insecure: vec![registry.addr.clone()],
        chunk_size: 1024 * 1024,
        ..Default::default()
    })
    .unwrap();
    let err = copy(
        &parse_with(&oci(&a, "1"), &small_chunks).unwrap(),
        &parse_with(&registry.image("corrupt/app:1"), &small_chunks).unwrap(),
        &CopyOptions::default(),
    )
    .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::DigestMismatch, "{err}");
    let err = client
        .get_manifest(&repo(&registry, "corrupt/app"), "1")
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::NotFound, "no manifest was written");
}
