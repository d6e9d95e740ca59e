//! Who may use our registry server and how: htpasswd users and read-only
//! mode enforced, TLS served to clients that trust the CA and plain HTTP
//! refused.

mod common;

use std::sync::Arc;

use common::http::request;
use common::*;
use stevedore::registry::{Client, ClientOptions};
use stevedore::server::{Action, Server, ServerOptions};
use stevedore::transport::parse_with;
use stevedore::{copy, CopyOptions, ErrorKind};

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
