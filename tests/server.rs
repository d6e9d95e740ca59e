//! Our registry server, with skopeo and our own client as its clients, and
//! raw HTTP for the spec's exact statuses and error codes.

mod common;

use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use common::http::request;
use common::*;
use stevedore::descriptor::Descriptor;
use stevedore::digest::Digest;
use stevedore::manifest::{ImageManifest, Manifest, ManifestContent};
use stevedore::media_types;
use stevedore::registry::{Client, ClientOptions, Repository};
use stevedore::server::{Action, Server, ServerOptions};
use stevedore::transport::parse_with;
use stevedore::{copy, CopyOptions, ErrorKind};

fn serve(root: &Path) -> Server {
    Server::start(ServerOptions {
        root: Some(root.to_owned()),
        ..Default::default()
    })
    .unwrap()
}

/// Where the server of a test in the table keeps its store.
#[derive(Clone, Copy)]
enum Backend {
    Fs,
    S3(s3::Kind),
}

impl Backend {
    /// A server on this backend (a directory under `root`, or a fresh
    /// bucket in an S3 service started for the test, returned beside it).
    fn serve(self, root: &Path) -> (Option<s3::S3Service>, Server) {
        match self {
            Backend::Fs => (None, serve(root)),
            Backend::S3(kind) => {
                let service = s3::S3Service::start(kind);
                let server = Server::start(ServerOptions {
                    s3: Some(service.bucket()),
                    ..Default::default()
                })
                .unwrap();
                (Some(service), server)
            }
        }
    }
}

/// Runs the table test `$name(Backend)` on the file system and on both S3
/// services: `$name::fs`, `$name::moto`, `$name::s3s_fs`.
macro_rules! on_every_store {
    ($($name:ident),*) => {$(
        mod $name {
            use super::*;
            #[test]
            fn fs() {
                super::$name(Backend::Fs)
            }
            #[test]
            fn moto() {
                super::$name(Backend::S3(s3::Kind::Moto))
            }
            #[test]
            fn s3s_fs() {
                super::$name(Backend::S3(s3::Kind::S3sFs))
            }
        }
    )*};
}

on_every_store!(
    skopeo_copies_images_in_out_and_between_repositories,
    our_client_pushes_chunked_and_whole_pulls_mounts_pages_refers_and_deletes,
    every_error_answers_the_spec_status_and_code,
    eight_concurrent_pushers_of_overlapping_images_all_succeed
);

fn client_for(server: &Server, chunk_size: u64) -> Client {
    Client::new(ClientOptions {
        plain_http: vec![server.host()],
        chunk_size,
        ..Default::default()
    })
    .unwrap()
}

fn repo(server: &Server, name: &str) -> Repository {
    Repository {
        registry: server.host(),
        name: name.into(),
    }
}

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

fn every_error_answers_the_spec_status_and_code(backend: Backend) {
    let tmp = tempfile::tempdir().unwrap();
    let (_s3, server) = backend.serve(&tmp.path().join("store"));
    let host = server.host();
    let manifest = make_image(&tmp.path().join("src"), "1", b"errors\n");
    let missing = Digest::sha256(b"nothing");
    // A started upload, for the chunk cases.
    let started = request(&host, "POST", "/v2/app/blobs/uploads/", &[], b"");
    assert_eq!(started.status, 202);
    let location = started.header("location").unwrap().to_owned();
    assert_eq!(started.header("range"), Some("0-0"));
    let first = request(
        &host,
        "PATCH",
        &location,
        &[("Content-Range", "0-3")],
        b"abcd",
    );
    assert_eq!((first.status, first.header("range")), (202, Some("0-3")));
    let bad_manifest_type = [("Content-Type", media_types::OCI_MANIFEST)];
    // method, path, headers, body, expected status and code
    type Case<'a> = (
        &'a str,
        String,
        Vec<(&'a str, &'a str)>,
        Vec<u8>,
        u16,
        &'a str,
    );
    let cases: Vec<Case> = vec![
        (
            "GET",
            "/v2/app/blobs/sha256:xyz".into(),
            vec![],
            vec![],
            400,
            "DIGEST_INVALID",
        ),
        (
            "GET",
            format!("/v2/app/blobs/{missing}"),
            vec![],
            vec![],
            404,
            "BLOB_UNKNOWN",
        ),
        (
            "HEAD",
            format!("/v2/app/blobs/{missing}"),
            vec![],
            vec![],
            404,
            "",
        ),
        (
            "GET",
            "/v2/app/manifests/nope".into(),
            vec![],
            vec![],
            404,
            "NAME_UNKNOWN",
        ),
        (
            "GET",
            format!("/v2/app/manifests/{missing}"),
            vec![],
            vec![],
            404,
            "MANIFEST_UNKNOWN",
        ),
        (
            "PUT",
            "/v2/app/manifests/1".into(),
            bad_manifest_type.to_vec(),
            b"{not json".to_vec(),
            400,
            "MANIFEST_INVALID",
        ),
        (
            "PUT",
            "/v2/app/manifests/1".into(),
            bad_manifest_type.to_vec(),
            manifest.raw().to_vec(),
            400,
            "MANIFEST_BLOB_UNKNOWN",
        ),
        (
            "PUT",
            format!("/v2/app/manifests/{missing}"),
            bad_manifest_type.to_vec(),
            manifest.raw().to_vec(),
            400,
            "DIGEST_INVALID",
        ),
        (
            "PUT",
            "/v2/app/manifests/1".into(),
            bad_manifest_type.to_vec(),
            vec![b' '; 5 << 20],
            413,
            "SIZE_INVALID",
        ),
        (
            "PATCH",
            location.clone(),
            vec![("Content-Range", "10-13")],
            b"wxyz".to_vec(),
            416,
            "BLOB_UPLOAD_INVALID",
        ),
        (
            "PUT",
            format!("{location}?digest={missing}"),
            vec![],
            vec![],
            400,
            "DIGEST_INVALID",
        ),
        (
            "PATCH",
            "/v2/app/blobs/uploads/0123456789abcdef".into(),
            vec![],
            b"x".to_vec(),
            404,
            "BLOB_UPLOAD_UNKNOWN",
        ),
        (
            "GET",
            "/v2/Bad/Name/tags/list".into(),
            vec![],
            vec![],
            400,
            "NAME_INVALID",
        ),
        (
            "GET",
            "/v2/a..b/manifests/1".into(),
            vec![],
            vec![],
            400,
            "NAME_INVALID",
        ),
        (
            "GET",
            "/v2/unknown/tags/list".into(),
            vec![],
            vec![],
            404,
            "NAME_UNKNOWN",
        ),
        (
            "POST",
            "/v2/app/manifests/1".into(),
            vec![],
            vec![],
            405,
            "UNSUPPORTED",
        ),
        (
            "DELETE",
            format!("/v2/app/blobs/{missing}"),
            vec![],
            vec![],
            404,
            "BLOB_UNKNOWN",
        ),
        (
            "GET",
            "/v2/app/referrers/sha256:zz".into(),
            vec![],
            vec![],
            400,
            "DIGEST_INVALID",
        ),
    ];
    for (method, path, headers, body, status, code) in cases {
        let answer = request(&host, method, &path, &headers, &body);
        assert_eq!(
            (answer.status, answer.code().as_str()),
            (status, code),
            "{method} {path}: {}",
            String::from_utf8_lossy(&answer.body)
        );
    }
    // After a failed commit the upload is gone.
    let after = request(&host, "GET", &location, &[], b"");
    assert_eq!(
        (after.status, after.code().as_str()),
        (404, "BLOB_UPLOAD_UNKNOWN")
    );
}

#[test]
fn an_abandoned_upload_is_removed_after_its_expiry() {
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path().join("store");
    let server = Server::start(ServerOptions {
        root: Some(root.clone()),
        upload_expiry_secs: 0.3,
        ..Default::default()
    })
    .unwrap();
    let host = server.host();
    let started = request(&host, "POST", "/v2/app/blobs/uploads/", &[], b"");
    let location = started.header("location").unwrap().to_owned();
    request(&host, "PATCH", &location, &[], b"partial");
    assert_eq!(std::fs::read_dir(root.join("uploads")).unwrap().count(), 1);
    let status = request(&host, "GET", &location, &[], b"");
    assert_eq!((status.status, status.header("range")), (204, Some("0-6")));
    std::thread::sleep(Duration::from_millis(1500));
    let gone = request(&host, "GET", &location, &[], b"");
    assert_eq!(
        (gone.status, gone.code().as_str()),
        (404, "BLOB_UPLOAD_UNKNOWN")
    );
    assert_eq!(std::fs::read_dir(root.join("uploads")).unwrap().count(), 0);
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

#[test]
fn htpasswd_users_and_read_only_are_enforced() {
    let tmp = tempfile::tempdir().unwrap();
    let htpasswd = tmp.path().join("htpasswd");
    std::fs::write(&htpasswd, tool_ok("htpasswd", &["-Bbn", "alice", "s3cret"])).unwrap();
    let server = Server::start(ServerOptions {
        root: Some(tmp.path().join("store")),
        htpasswd: Some(htpasswd.clone()),
        ..Default::default()
    })
    .unwrap();
    let host = server.host();
    let anonymous = request(&host, "GET", "/v2/", &[], b"");
    assert_eq!(
        (anonymous.status, anonymous.code().as_str()),
        (401, "UNAUTHORIZED")
    );
    assert!(anonymous
        .header("www-authenticate")
        .unwrap()
        .starts_with("Basic"));
    make_image(&tmp.path().join("src"), "1", b"private\n");
    let with = |password: &str| {
        Client::new(ClientOptions {
            plain_http: vec![host.clone()],
            credentials: [(
                host.clone(),
                stevedore::auth::Credentials::Basic {
                    username: "alice".into(),
                    password: stevedore::auth::Secret::new(password),
                },
            )]
            .into(),
            ..Default::default()
        })
        .unwrap()
    };
    let push = |client: &Client| {
        copy(
            &parse_with(&oci(&tmp.path().join("src"), "1"), client).unwrap(),
            &parse_with(&format!("docker://{host}/private/app:1"), client).unwrap(),
            &CopyOptions::default(),
        )
    };
    let err = push(&with("wrong")).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Unauthorized, "{err}");
    push(&with("s3cret")).unwrap();
    let anonymous_pull = request(&host, "GET", "/v2/private/app/manifests/1", &[], b"");
    assert_eq!(anonymous_pull.status, 401);
    tool_ok(
        "skopeo",
        &[
            "inspect",
            "--raw",
            "--tls-verify=false",
            "--creds",
            "alice:s3cret",
            &format!("docker://{host}/private/app:1"),
        ],
    );
    server.stop();

    // The same store, read-only: pulls work, pushes are DENIED.
    let read_only = Server::start(ServerOptions {
        root: Some(tmp.path().join("store")),
        read_only: true,
        ..Default::default()
    })
    .unwrap();
    let host = read_only.host();
    assert_eq!(
        request(&host, "GET", "/v2/private/app/manifests/1", &[], b"").status,
        200
    );
    let denied = request(&host, "POST", "/v2/private/app/blobs/uploads/", &[], b"");
    assert_eq!((denied.status, denied.code().as_str()), (403, "DENIED"));

    // A rule of the embedding program: only "ci" may push to release/.
    let rule: Arc<stevedore::server::Authorizer> = Arc::new(|user, repo, action| {
        action == Action::Pull || !repo.starts_with("release/") || user == Some("ci")
    });
    let ruled = Server::start(ServerOptions {
        authorizer: Some(rule),
        ..Default::default()
    })
    .unwrap();
    let refused = request(
        &ruled.host(),
        "POST",
        "/v2/release/app/blobs/uploads/",
        &[],
        b"",
    );
    assert_eq!((refused.status, refused.code().as_str()), (403, "DENIED"));
    let allowed = request(
        &ruled.host(),
        "POST",
        "/v2/dev/app/blobs/uploads/",
        &[],
        b"",
    );
    assert_eq!(allowed.status, 202);
}

#[test]
fn tls_serves_clients_that_trust_the_ca_and_refuses_plain_http() {
    let tmp = tempfile::tempdir().unwrap();
    let (key, cert) = tls_for_loopback(tmp.path());
    let certs = tmp.path().join("certs");
    std::fs::create_dir(&certs).unwrap();
    std::fs::copy(tmp.path().join("ca.crt"), certs.join("ca.crt")).unwrap();
    let server = Server::start(ServerOptions {
        tls_cert: Some(cert),
        tls_key: Some(key),
        ..Default::default()
    })
    .unwrap();
    assert!(server.is_tls());
    let manifest = make_image(&tmp.path().join("src"), "1", b"over tls\n");
    let client = Client::new(ClientOptions {
        cert_dir: Some(certs.clone()),
        ..Default::default()
    })
    .unwrap();
    let image = format!("docker://{}/tls/app:1", server.host());
    let report = copy(
        &parse_with(&oci(&tmp.path().join("src"), "1"), &client).unwrap(),
        &parse_with(&image, &client).unwrap(),
        &CopyOptions::default(),
    )
    .unwrap();
    assert_eq!(&report.digest, manifest.digest());
    let raw = tool_ok(
        "skopeo",
        &[
            "inspect",
            "--raw",
            "--cert-dir",
            certs.to_str().unwrap(),
            &image,
        ],
    );
    assert_eq!(raw, manifest.raw());
    let plain = request(&server.host(), "GET", "/v2/", &[], b"");
    assert_eq!(plain.status, 400);
}

/// A `stevedore serve` process, killed when dropped.
struct Serving(std::process::Child);

impl Drop for Serving {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

#[test]
fn a_server_killed_mid_upload_restarts_consistent() {
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path().join("store");
    let manifest = make_image(&tmp.path().join("src"), "1", b"survives\n");
    let start = || {
        let port = common::registry::free_port();
        let child = std::process::Command::new(env!("CARGO_BIN_EXE_stevedore"))
            .args(["serve", "--addr", &format!("127.0.0.1:{port}"), "--root"])
            .arg(&root)
            .stderr(std::process::Stdio::null())
            .spawn()
            .unwrap();
        let child = Serving(child);
        let addr = format!("127.0.0.1:{port}");
        for _ in 0..100 {
            if std::net::TcpStream::connect(&addr).is_ok() {
                break;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        (child, addr)
    };
    let (first, addr) = start();
    let client = Client::new(ClientOptions {
        plain_http: vec![addr.clone()],
        ..Default::default()
    })
    .unwrap();
    let image = format!("docker://{addr}/keep/app:1");
    copy(
        &parse_with(&oci(&tmp.path().join("src"), "1"), &client).unwrap(),
        &parse_with(&image, &client).unwrap(),
        &CopyOptions::default(),
    )
    .unwrap();
    // An upload half sent, then the server is killed.
    let started = request(&addr, "POST", "/v2/keep/other/blobs/uploads/", &[], b"");
    let location = started.header("location").unwrap().to_owned();
    request(&addr, "PATCH", &location, &[], &[7u8; 4096]);
    drop(first);
    assert_eq!(std::fs::read_dir(root.join("uploads")).unwrap().count(), 1);

    let (second, addr) = start();
    assert_eq!(std::fs::read_dir(root.join("uploads")).unwrap().count(), 0);
    let client = Client::new(ClientOptions {
        plain_http: vec![addr.clone()],
        ..Default::default()
    })
    .unwrap();
    let back = copy(
        &parse_with(&format!("docker://{addr}/keep/app:1"), &client).unwrap(),
        &parse_with(&oci(&tmp.path().join("back"), "1"), &client).unwrap(),
        &CopyOptions::default(),
    );
    drop(second);
    assert_eq!(&back.unwrap().digest, manifest.digest());
}

#[test]
fn an_upload_of_a_blob_already_stored_is_dropped_not_renamed_over() {
    use std::os::unix::fs::MetadataExt;
    let tmp = tempfile::tempdir().unwrap();
    let server = serve(&tmp.path().join("store"));
    let client = client_for(&server, 1 << 20);
    let data = incompressible(2 << 20, 21);
    let digest = Digest::sha256(&data);
    let blob = Descriptor::new(
        media_types::OCI_LAYER_GZIP,
        digest.clone(),
        data.len() as u64,
    );
    client
        .upload_blob(&repo(&server, "first"), &blob, &mut &data[..], None)
        .unwrap();
    let file = walkdir_find(&tmp.path().join("store"), digest.hex());
    let inode = std::fs::metadata(&file).unwrap().ino();
    // The same bytes uploaded again (not mounted) into another repository.
    client
        .upload_blob(&repo(&server, "second"), &blob, &mut &data[..], None)
        .unwrap();
    assert_eq!(
        std::fs::metadata(&file).unwrap().ino(),
        inode,
        "the stored file was replaced"
    );
    assert_eq!(
        client.blob_size(&repo(&server, "second"), &digest).unwrap(),
        Some(data.len() as u64)
    );
}

/// The one file named `name` under `dir`.
fn walkdir_find(dir: &Path, name: &str) -> std::path::PathBuf {
    let mut stack = vec![dir.to_owned()];
    while let Some(d) = stack.pop() {
        for entry in std::fs::read_dir(&d).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                stack.push(path);
            } else if path.file_name().is_some_and(|n| n == name) {
                return path;
            }
        }
    }
    panic!("no {name} under {}", dir.display())
}
