//! The registry server on S3: three `stevedore serve` processes sharing one
//! bucket (in moto and in s3s-fs, each started on 127.0.0.1 by the test),
//! garbage collection on S3 and on the file system, and the object store's
//! failures at start-up.

mod common;

use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use common::http::request;
use common::s3::{Kind, S3Service, KEY, SECRET};
use common::*;
use stevedore::digest::Digest;
use stevedore::manifest::Manifest;
use stevedore::registry::{Client, ClientOptions};
use stevedore::s3::S3Config;
use stevedore::server::{gc, GcOptions, GcReport, Server, ServerOptions};
use stevedore::transport::parse_with;
use stevedore::{copy, CopyOptions, ErrorKind};

/// A `stevedore serve` process, stopped (SIGTERM) when dropped.
struct Serving(Child, String);

impl Drop for Serving {
    fn drop(&mut self) {
        common::stop_serve(&mut self.0);
    }
}

/// Starts `stevedore serve --s3 URL` configured only through the standard
/// AWS environment variables (and a HOME without ~/.aws).
fn serve_process(service: &S3Service, config: &S3Config, home: &Path) -> Serving {
    let port = common::registry::free_port();
    let addr = format!("127.0.0.1:{port}");
    let child = Command::new(env!("CARGO_BIN_EXE_stevedore"))
        .args(["serve", "--addr", &addr, "--s3", &config.url])
        .env("HOME", home)
        .env("AWS_ENDPOINT_URL", &service.endpoint)
        .env("AWS_REGION", "us-east-1")
        .env("AWS_ACCESS_KEY_ID", KEY)
        .env("AWS_SECRET_ACCESS_KEY", SECRET)
        .env_remove("AWS_PROFILE")
        .env_remove("AWS_SESSION_TOKEN")
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let serving = Serving(child, addr.clone());
    for _ in 0..200 {
        if std::net::TcpStream::connect(&addr).is_ok() {
            return serving;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    panic!("stevedore serve on {addr} did not start");
}

fn client(hosts: &[String]) -> Client {
    Client::new(ClientOptions {
        plain_http: hosts.to_vec(),
        chunk_size: 512 * 1024,
        ..Default::default()
    })
    .unwrap()
}

fn three_servers_share_one_bucket(kind: Kind) {
    let tmp = tempfile::tempdir().unwrap();
    let t = tmp.path();
    let service = S3Service::start(kind);
    let config = service.bucket();
    let servers: Vec<Serving> = (0..3)
        .map(|_| serve_process(&service, &config, t))
        .collect();
    let hosts: Vec<String> = servers.iter().map(|s| s.1.clone()).collect();
    let at = |i: usize, name: &str| format!("docker://{}/{name}", hosts[i]);

    // Pushed through the first, pulled through the second and third.
    let single = make_image(&t.join("src"), "1", b"on s3\n");
    let multi = make_index(&t.join("src"), "multi", &["linux/amd64", "linux/arm64"]);
    for (tag, manifest) in [("1", &single), ("multi", &multi)] {
        skopeo_copy(
            &oci(&t.join("src"), tag),
            &at(0, &format!("app:{tag}")),
            &["--all"],
        );
        for i in [1, 2] {
            assert_eq!(skopeo_raw(&at(i, &format!("app:{tag}"))), manifest.raw());
            let out = oci(&t.join(format!("out{i}")), tag);
            skopeo_copy(&at(i, &format!("app:{tag}")), &out, &["--all"]);
            assert_eq!(skopeo_raw(&out), manifest.raw());
        }
    }

    // A chunked upload whose requests go to a different server each time:
    // a 9 MiB PATCH (two staged chunks), a small one, and the final PUT.
    let big = incompressible(9 << 20, 5);
    let small = b"the tail".to_vec();
    let whole = [big.clone(), small.clone()].concat();
    let digest = Digest::sha256(&whole);
    let started = request(&hosts[0], "POST", "/v2/chunked/blobs/uploads/", &[], b"");
    assert_eq!(started.status, 202);
    let location = started.header("location").unwrap().to_owned();
    let range = format!("0-{}", big.len() - 1);
    let first = request(
        &hosts[1],
        "PATCH",
        &location,
        &[("Content-Range", &range)],
        &big,
    );
    assert_eq!(
        first.status,
        202,
        "{}",
        String::from_utf8_lossy(&first.body)
    );
    let status = request(&hosts[0], "GET", &location, &[], b"");
    assert_eq!(status.header("range"), Some(range.as_str()));
    let range = format!("{}-{}", big.len(), whole.len() - 1);
    let second = request(
        &hosts[2],
        "PATCH",
        &location,
        &[("Content-Range", &range)],
        &small,
    );
    assert_eq!(second.status, 202);
    let wrong = request(
        &hosts[1],
        "PUT",
        &format!("{location}?digest={}", Digest::sha256(b"other")),
        &[],
        b"",
    );
    assert_eq!(
        (wrong.status, wrong.code()),
        (400, "DIGEST_INVALID".to_owned())
    );
    // The failed commit ended the upload; a new one, across servers again.
    let started = request(&hosts[2], "POST", "/v2/chunked/blobs/uploads/", &[], b"");
    let location = started.header("location").unwrap().to_owned();
    assert_eq!(
        request(&hosts[0], "PATCH", &location, &[], &big).status,
        202
    );
    let done = request(
        &hosts[1],
        "PUT",
        &format!("{location}?digest={digest}"),
        &[],
        &small,
    );
    assert_eq!(done.status, 201, "{}", String::from_utf8_lossy(&done.body));
    let back = request(
        &hosts[2],
        "GET",
        &format!("/v2/chunked/blobs/{digest}"),
        &[],
        b"",
    );
    assert_eq!(back.status, 200);
    assert!(back.body == whole, "the blob read back differs");

    // Eight concurrent pushers spread over the three servers.
    let base = incompressible(2 << 20, 11);
    let mut images = Vec::new();
    for i in 0..8u64 {
        let own = incompressible(256 * 1024, 101 + 2 * i);
        let layout = stevedore::transport::OciLayout::new(t.join(format!("p{i}")));
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
    let client = client(&hosts);
    std::thread::scope(|scope| {
        for i in 0..8 {
            let (client, host) = (&client, hosts[i % 3].clone());
            scope.spawn(move || {
                copy(
                    &parse_with(&oci(&t.join(format!("p{i}")), "1"), client).unwrap(),
                    &parse_with(&format!("docker://{host}/many:v{i}"), client).unwrap(),
                    &CopyOptions::default(),
                )
                .unwrap_or_else(|e| panic!("pusher {i}: {e}"));
            });
        }
    });
    for (i, manifest) in images.iter().enumerate() {
        let host = &hosts[(i + 1) % 3];
        let report = copy(
            &parse_with(&format!("docker://{host}/many:v{i}"), &client).unwrap(),
            &parse_with(&oci(&t.join(format!("q{i}")), "1"), &client).unwrap(),
            &CopyOptions::default(),
        )
        .unwrap();
        assert_eq!(&report.digest, manifest.digest());
    }
    drop(servers);
}

#[test]
fn three_servers_share_one_bucket_moto() {
    three_servers_share_one_bucket(Kind::Moto);
}

#[test]
fn three_servers_share_one_bucket_s3s_fs() {
    three_servers_share_one_bucket(Kind::S3sFs);
}

/// Two images sharing a base layer, pushed to `host`; their manifests.
fn push_two(t: &Path, client: &Client, host: &str) -> (Manifest, Manifest) {
    let base = incompressible(256 * 1024, 1);
    let mut pushed = Vec::new();
    for (i, tag) in ["a", "b"].iter().enumerate() {
        let own = incompressible(128 * 1024, 10 + 2 * i as u64);
        let layout = stevedore::transport::OciLayout::new(t.join(tag));
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
        copy(
            &parse_with(&oci(&t.join(tag), "1"), client).unwrap(),
            &parse_with(&format!("docker://{host}/gc:{tag}"), client).unwrap(),
            &CopyOptions::default(),
        )
        .unwrap();
        pushed.push(manifest);
    }
    let b = pushed.pop().unwrap();
    (pushed.pop().unwrap(), b)
}

/// The image's layers, then its config.
fn layers(manifest: &Manifest) -> Vec<Digest> {
    match manifest.content() {
        stevedore::manifest::ManifestContent::Image(image) => image
            .layers
            .iter()
            .chain([&image.config])
            .map(|l| l.digest.clone())
            .collect(),
        _ => panic!("not an image"),
    }
}

/// gc on a store: after deleting a tag (and the manifest it named), the
/// image's own blobs go and the shared ones stay; a dry run changes
/// nothing; a blob uploaded as the run starts (within the grace period)
/// stays.
fn gc_keeps_what_is_reachable(kind: Option<Kind>) {
    let tmp = tempfile::tempdir().unwrap();
    let t = tmp.path();
    let service = kind.map(S3Service::start);
    let config = service.as_ref().map(S3Service::bucket);
    let root = t.join("store");
    let server = Server::start(ServerOptions {
        root: config.is_none().then(|| root.clone()),
        s3: config.clone(),
        ..Default::default()
    })
    .unwrap();
    let host = server.host();
    let client = client(std::slice::from_ref(&host));
    let (a, b) = push_two(t, &client, &host);
    let (a_layers, b_layers) = (layers(&a), layers(&b));
    assert_eq!(a_layers[0], b_layers[0], "the base layer is shared");
    assert_eq!(
        request(&host, "DELETE", "/v2/gc/manifests/a", &[], b"").status,
        202
    );
    let gone = request(
        &host,
        "DELETE",
        &format!("/v2/gc/manifests/{}", a.digest()),
        &[],
        b"",
    );
    assert_eq!(gone.status, 202);
    std::thread::sleep(Duration::from_millis(3000));
    let options = |dry_run| GcOptions {
        root: config.is_none().then(|| root.clone()),
        s3: config.clone(),
        dry_run,
        grace_secs: 2.0,
    };
    let blob_status = |digest: &Digest| {
        request(&host, "HEAD", &format!("/v2/gc/blobs/{digest}"), &[], b"").status
    };
    let dry = gc(&options(true)).unwrap();
    let a_own = [a_layers[1].clone(), a_layers[2].clone()];
    assert_eq!(
        (dry.removed, dry.dry_run),
        (3, true),
        "A's layer, config and manifest: {dry:?}"
    );
    for digest in &a_own {
        assert_eq!(blob_status(digest), 200, "a dry run removed {digest}");
    }
    // Uploaded as the run starts: younger than the grace period.
    let fresh = b"uploaded while gc runs".to_vec();
    let fresh_digest = Digest::sha256(&fresh);
    let put = request(
        &host,
        "POST",
        &format!("/v2/gc/blobs/uploads/?digest={fresh_digest}"),
        &[],
        &fresh,
    );
    assert_eq!(put.status, 201);
    let report: GcReport = gc(&options(false)).unwrap();
    assert_eq!((report.removed, report.marked), (dry.removed, dry.marked));
    assert_eq!(report.kept_recent, 1, "{report:?}");
    assert!(report.removed_bytes >= 128 * 1024);
    for digest in &a_own {
        assert_eq!(blob_status(digest), 404, "{digest} survived");
    }
    for digest in b_layers.iter().chain([&fresh_digest, &a_layers[0]]) {
        assert_eq!(blob_status(digest), 200, "{digest} was collected");
    }
    let out = oci(&t.join("out"), "1");
    skopeo_copy(&format!("docker://{host}/gc:b"), &out, &[]);
    assert_eq!(skopeo_raw(&out), b.raw());
    // Again, with a grace period the fresh upload cannot outlive on a slow
    // machine: nothing reachable is left to collect.
    let again = GcOptions {
        grace_secs: 3600.0,
        ..options(false)
    };
    assert_eq!(gc(&again).unwrap().removed, 0);
    server.stop();
}

#[test]
fn gc_keeps_what_is_reachable_fs() {
    gc_keeps_what_is_reachable(None);
}

#[test]
fn gc_keeps_what_is_reachable_moto() {
    gc_keeps_what_is_reachable(Some(Kind::Moto));
}

#[test]
fn gc_keeps_what_is_reachable_s3s_fs() {
    gc_keeps_what_is_reachable(Some(Kind::S3sFs));
}

/// gc refuses a directory that is not a registry store and removes nothing
/// from it: an OCI layout umoci made (with an image of ours added) keeps
/// every file, through the library and the CLI (exit 1); a missing root is
/// `NotFound` (exit 3); a store a server made but nothing was pushed to is
/// collected (nothing to remove).
#[test]
fn gc_touches_only_a_registry_store() {
    let tmp = tempfile::tempdir().unwrap();
    let t = tmp.path();
    let layout = t.join("layout");
    tool_ok("umoci", &["init", "--layout", layout.to_str().unwrap()]);
    tool_ok(
        "umoci",
        &["new", "--image", &format!("{}:empty", layout.display())],
    );
    make_image(&layout, "1", b"kept\n");
    let before = snapshot(&layout);
    assert!(
        before.keys().filter(|p| p.starts_with("blobs")).count() >= 5,
        "{before:?}"
    );
    let options = |root: &Path| GcOptions {
        root: Some(root.to_path_buf()),
        grace_secs: 0.0,
        ..Default::default()
    };
    let refused = gc(&options(&layout)).unwrap_err();
    assert_eq!(refused.kind(), ErrorKind::InvalidInput, "{refused}");
    assert!(
        refused
            .message()
            .contains("is not a stevedore registry store (no meta/"),
        "{refused}"
    );
    let cli = |root: &Path| {
        Command::new(env!("CARGO_BIN_EXE_stevedore"))
            .args(["gc", "--grace", "0", "--root"])
            .arg(root)
            .output()
            .unwrap()
    };
    let out = cli(&layout);
    assert_eq!(out.status.code(), Some(1), "{out:?}");
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("gc never touches other directories"),
        "{out:?}"
    );
    assert_eq!(snapshot(&layout), before, "gc changed the layout");

    let missing = t.join("nonexistent");
    let error = gc(&options(&missing)).unwrap_err();
    assert_eq!(error.kind(), ErrorKind::NotFound, "{error}");
    assert!(error.message().contains("nonexistent"), "{error}");
    let out = cli(&missing);
    assert_eq!(out.status.code(), Some(3), "{out:?}");
    assert!(!missing.exists());

    let store = t.join("store");
    let server = Server::start(ServerOptions {
        root: Some(store.clone()),
        ..Default::default()
    })
    .unwrap();
    server.stop();
    assert_eq!(gc(&options(&store)).unwrap(), GcReport::default());
    assert!(cli(&store).status.success());
}

#[test]
fn the_object_stores_refusals_are_clear_at_start_up() {
    let service = S3Service::start(Kind::Moto);
    let missing = service.config("no-such-bucket", "x");
    let error = Server::start(ServerOptions {
        s3: Some(missing),
        ..Default::default()
    })
    .err()
    .unwrap();
    assert_eq!(error.kind(), ErrorKind::NotFound, "{error}");
    assert!(error.to_string().contains("no-such-bucket"), "{error}");
    let bad = S3Config::new("not-a-url");
    let error = Server::start(ServerOptions {
        s3: Some(bad),
        ..Default::default()
    })
    .err()
    .unwrap();
    assert_eq!(error.kind(), ErrorKind::InvalidInput);
}

#[test]
fn redirect_answers_blob_gets_with_a_presigned_url() {
    let service = S3Service::start(Kind::S3sFs);
    let server = Server::start(ServerOptions {
        s3: Some(service.bucket()),
        redirect: true,
        ..Default::default()
    })
    .unwrap();
    let host = server.host();
    let body = b"redirected".to_vec();
    let digest = Digest::sha256(&body);
    let path = format!("/v2/r/blobs/uploads/?digest={digest}");
    assert_eq!(request(&host, "POST", &path, &[], &body).status, 201);
    let answer = request(&host, "GET", &format!("/v2/r/blobs/{digest}"), &[], b"");
    assert_eq!(answer.status, 307);
    let location = answer.header("location").unwrap();
    assert!(location.starts_with(&service.endpoint), "{location}");
    let agent: ureq::Agent = ureq::Agent::config_builder().build().into();
    let fetched = agent
        .get(location)
        .call()
        .unwrap()
        .body_mut()
        .read_to_vec()
        .unwrap();
    assert_eq!(fetched, body);
    server.stop();
}
