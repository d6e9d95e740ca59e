//! Signatures and attached artifacts travelling with an image: a copy with
//! referrers brings them along, and concurrent attaches all land in the
//! fallback index.

mod common;

use common::registry::Registry;
use common::signing_keys::{openssl_keys, policy, read};
use common::*;
use stevedore::digest::Digest;
use stevedore::registry::{Client, ClientOptions};
use stevedore::server::{Server, ServerOptions};
use stevedore::sign::keys::{private_key_from_pem, public_key_from_pem};
use stevedore::sign::{sign, verify, IdentityRule, Policy, SignOptions};
use stevedore::transport::parse_with;
use stevedore::{copy, CopyOptions};

#[test]
fn copy_with_referrers_brings_signatures_and_attached_artifacts_along() {
    let registry = Registry::start();
    let client = registry.client();
    let server = Server::start(ServerOptions::default()).unwrap();
    let to_server = Client::new(ClientOptions {
        plain_http: vec![server.host()],
        ..Default::default()
    })
    .unwrap();
    let tmp = tempfile::tempdir().unwrap();
    let t = tmp.path();
    let (pkcs8, _, public_path) = openssl_keys(t);
    let key = private_key_from_pem(&read(&pkcs8), None).unwrap();
    let public = public_key_from_pem(&read(&public_path)).unwrap();
    make_image(&t.join("src"), "1", b"with an sbom\n");
    let first = registry.image("first/app:1");
    copy(
        &parse_with(&oci(&t.join("src"), "1"), &client).unwrap(),
        &parse_with(&first, &client).unwrap(),
        &CopyOptions::default(),
    )
    .unwrap();
    let image = parse_with(&first, &client).unwrap();
    sign(&image, &key, &SignOptions::default()).unwrap();
    let sbom = br#"{"spdxVersion":"SPDX-2.3"}"#;
    let attached = stevedore::referrers::attach(
        &image,
        sbom,
        &stevedore::referrers::AttachOptions {
            artifact_type: "application/spdx+json".into(),
            ..Default::default()
        },
    )
    .unwrap();
    let listed = stevedore::referrers::referrers(&image, Some("application/spdx+json")).unwrap();
    assert_eq!(listed.len(), 1);
    assert_eq!(listed[0].digest, attached.digest);

    // To a second repository of docker-registry (tag schema), and to our
    // server (Referrers API): everything comes along and verifies there.
    for (dst, through) in [
        (registry.image("second/app:1"), &client),
        (
            format!("docker://{}/third/app:1", server.host()),
            &to_server,
        ),
    ] {
        let report = copy(
            &parse_with(&first, &client).unwrap(),
            &parse_with(&dst, through).unwrap(),
            &CopyOptions {
                referrers: true,
                ..Default::default()
            },
        )
        .unwrap();
        assert_eq!(report.referrers_copied, 2, "{dst}");
        let there = parse_with(&dst, through).unwrap();
        let report = verify(
            &there,
            &Policy {
                identity: Some(IdentityRule::parse(&format!("{}/first/app", registry.addr))),
                ..policy(vec![public])
            },
        )
        .unwrap();
        assert!(report.verified, "{dst}: {report:?}");
        let sboms = stevedore::referrers::referrers(&there, Some("application/spdx+json")).unwrap();
        assert_eq!(sboms.len(), 1, "{dst}");
        assert_eq!(sboms[0].digest, attached.digest, "{dst}");
    }
    // sync brings them along too.
    let results = stevedore::sync(
        &[stevedore::sync::SyncJob::new(
            first.clone(),
            registry.image("synced/app:1"),
        )],
        &CopyOptions {
            referrers: true,
            ..Default::default()
        },
        |s| parse_with(s, &client),
    );
    match &results[0].outcome {
        stevedore::sync::SyncOutcome::Copied(report) => assert_eq!(report.referrers_copied, 2),
        other => panic!("sync: {other:?}"),
    }
    // An OCI layout keeps them too.
    let layout = oci(&t.join("layout"), "1");
    copy(
        &parse_with(&first, &client).unwrap(),
        &parse_with(&layout, &client).unwrap(),
        &CopyOptions {
            referrers: true,
            ..Default::default()
        },
    )
    .unwrap();
    let local = parse_with(&layout, &client).unwrap();
    assert_eq!(
        stevedore::referrers::referrers(&local, None).unwrap()[0].digest,
        attached.digest
    );
}

#[test]
fn concurrent_attaches_all_land_in_the_fallback_index() {
    let registry = Registry::start();
    let client = registry.client();
    let tmp = tempfile::tempdir().unwrap();
    make_image(&tmp.path().join("src"), "1", b"busy\n");
    let image = registry.image("busy/app:1");
    copy(
        &parse_with(&oci(&tmp.path().join("src"), "1"), &client).unwrap(),
        &parse_with(&image, &client).unwrap(),
        &CopyOptions::default(),
    )
    .unwrap();
    let digests: Vec<Digest> = std::thread::scope(|scope| {
        let workers: Vec<_> = (0..4)
            .map(|i| {
                let (client, image) = (&client, &image);
                scope.spawn(move || {
                    stevedore::referrers::attach(
                        &parse_with(image, client).unwrap(),
                        format!("report {i}").as_bytes(),
                        &stevedore::referrers::AttachOptions {
                            artifact_type: "application/vnd.example.report".into(),
                            ..Default::default()
                        },
                    )
                    .unwrap()
                    .digest
                })
            })
            .collect();
        workers.into_iter().map(|w| w.join().unwrap()).collect()
    });
    let listed =
        stevedore::referrers::referrers(&parse_with(&image, &client).unwrap(), None).unwrap();
    for digest in &digests {
        assert!(listed.iter().any(|d| &d.digest == digest), "{digest} kept");
    }
}
