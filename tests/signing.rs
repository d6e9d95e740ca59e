//! cosign-compatible signing and default-deny verification: real signatures
//! and keys made by cosign and containers/image (read from
//! ../shared/testdata/cosign where it is), openssl as an independent
//! verifier, skopeo as an independent reader of the stored format, and
//! round trips on docker-registry and on our own server.

mod common;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use base64::Engine;
use common::registry::Registry;
use common::*;
use p256::ecdsa::{SigningKey, VerifyingKey};
use p256::pkcs8::EncodePrivateKey;
use stevedore::auth::Secret;
use stevedore::digest::Digest;
use stevedore::manifest::{Manifest, ManifestContent};
use stevedore::registry::{Client, ClientOptions};
use stevedore::server::{Server, ServerOptions};
use stevedore::sign::keys::{generate_key_pair, private_key_from_pem, public_key_from_pem};
use stevedore::sign::{
    check_signature, sign, signature_tag, verify, IdentityRule, Policy, SignOptions, Verdict,
    SIGNATURE_ANNOTATION, SIMPLE_SIGNING,
};
use stevedore::transport::{parse_with, ImageRef, Selector};
use stevedore::{copy, CopyOptions};

/// The shared cosign test data, or `None` (with a notice) where it is absent.
fn testdata() -> Option<PathBuf> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared/testdata/cosign");
    if dir.is_dir() {
        Some(dir)
    } else {
        eprintln!(
            "NOTICE: {} is absent; skipping the cosign interop vectors",
            dir.display()
        );
        None
    }
}

fn read(path: &Path) -> Vec<u8> {
    std::fs::read(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

fn other_key() -> VerifyingKey {
    *SigningKey::random(&mut rand_core::OsRng).verifying_key()
}

fn policy(keys: Vec<VerifyingKey>) -> Policy {
    Policy {
        keys,
        identity: None,
        annotations: BTreeMap::new(),
    }
}

#[test]
fn signatures_made_by_cosign_and_containers_image_verify_with_their_key_only() {
    let Some(data) = testdata() else { return };
    for (case, identity) in [
        (
            "v1-cosign-valid",
            "192.168.64.2:5000/cosign-signed-single-sample",
        ),
        (
            "v3-cosign-valid-with-tag",
            "192.168.64.2:5000/skopeo-signed",
        ),
    ] {
        let dir = data.join(case);
        let payload = read(&dir.join("payload.json"));
        let signature = String::from_utf8(read(&dir.join("signature.b64"))).unwrap();
        let digest = Digest::sha256(&read(&dir.join("image-manifest.json")));
        let key = public_key_from_pem(&read(&dir.join("pub.pem"))).unwrap();
        let rule = IdentityRule::Exact(identity.to_owned());
        let check = |payload: &[u8], digest: &Digest, keys, rule: &IdentityRule| {
            check_signature(payload, &signature, None, digest, &policy(keys), rule)
        };
        let good = check(&payload, &digest, vec![key], &rule);
        assert_eq!(good.verdict, Verdict::Valid, "{case}: {}", good.reason);
        let wrong = check(&payload, &digest, vec![other_key()], &rule);
        assert_eq!(wrong.verdict, Verdict::UnknownKey, "{case}");
        let mut tampered = payload.clone();
        let at = tampered.iter().position(|&b| b == b'6').unwrap();
        tampered[at] = b'7';
        // cosign's signatures name no key: a tampered payload cannot be
        // told from another key's signature.
        let bad = check(&tampered, &digest, vec![key], &rule);
        assert_eq!(bad.verdict, Verdict::UnknownKey, "{case}: tampered");
        let hint = stevedore::sign::keys::key_id(&key).unwrap();
        let named = check_signature(
            &tampered,
            &signature,
            Some(&hint),
            &digest,
            &policy(vec![other_key(), key]),
            &rule,
        );
        assert_eq!(named.verdict, Verdict::BadSignature, "{case}: tampered");
        assert!(
            named.reason.contains("key 2 of the policy"),
            "{}",
            named.reason
        );
        let elsewhere = Digest::sha256(b"another image");
        let other = check(&payload, &elsewhere, vec![key], &rule);
        assert_eq!(other.verdict, Verdict::DigestMismatch, "{case}");
        let stranger = IdentityRule::Exact("192.168.64.2:5000/someone-else".to_owned());
        let named = check(&payload, &digest, vec![key], &stranger);
        assert_eq!(named.verdict, Verdict::IdentityMismatch, "{case}");
    }
    // cosign 1.13.1's .sig manifest: one simple-signing layer with its signature.
    let sig = Manifest::from_bytes(
        read(&data.join("real-sig-manifest-cosign-v1.13.1/sig-manifest.json")),
        None,
    )
    .unwrap();
    let ManifestContent::Image(image) = sig.content() else {
        panic!("a manifest")
    };
    assert_eq!(image.layers[0].media_type, SIMPLE_SIGNING);
    assert!(image.layers[0]
        .annotations
        .contains_key(SIGNATURE_ANNOTATION));
}

#[test]
fn cosigns_encrypted_keys_load_with_their_passwords() {
    let Some(data) = testdata() else { return };
    let dir = data.join("encrypted-key");
    let hello = Secret::new("hello");
    for name in ["pemcosignkey", "pemsigstorekey"] {
        let key = private_key_from_pem(&read(&dir.join(format!("{name}.pem"))), Some(&hello))
            .unwrap_or_else(|e| panic!("{name}: {e}"));
        assert_eq!(
            key.to_pkcs8_der().unwrap().as_bytes(),
            read(&dir.join(format!("{name}.plain.der"))),
            "{name}"
        );
        let public = public_key_from_pem(&read(&dir.join(format!("{name}.pub.pem")))).unwrap();
        assert_eq!(key.verifying_key(), &public);
        let wrong = private_key_from_pem(
            &read(&dir.join(format!("{name}.pem"))),
            Some(&Secret::new("x")),
        );
        assert_eq!(
            wrong.unwrap_err().kind(),
            stevedore::ErrorKind::Unauthorized
        );
    }
    let empty = private_key_from_pem(
        &read(&dir.join("sigstore-rs_cosign_generated_encrypted_empty_private.key")),
        Some(&Secret::new("")),
    )
    .unwrap();
    assert_eq!(
        empty.to_pkcs8_der().unwrap().as_bytes(),
        read(&dir.join("empty.plain.der"))
    );
    let sec1 = private_key_from_pem(&read(&dir.join("pemcosigneckey.pem")), Some(&hello));
    let err = sec1.unwrap_err();
    assert!(err.message().contains("cosign refuses"), "{err}");
}

/// A key made by openssl, in PKCS#8 and in SEC1, and its public key.
fn openssl_keys(dir: &Path) -> (PathBuf, PathBuf, PathBuf) {
    let pkcs8 = dir.join("key.pem");
    let sec1 = dir.join("key-sec1.pem");
    let public = dir.join("pub.pem");
    let s = |p: &Path| p.display().to_string();
    tool_ok(
        "openssl",
        &[
            "genpkey",
            "-algorithm",
            "EC",
            "-pkeyopt",
            "ec_paramgen_curve:P-256",
            "-out",
            &s(&pkcs8),
        ],
    );
    tool_ok("openssl", &["ec", "-in", &s(&pkcs8), "-out", &s(&sec1)]);
    tool_ok(
        "openssl",
        &["pkey", "-in", &s(&pkcs8), "-pubout", "-out", &s(&public)],
    );
    (pkcs8, sec1, public)
}

/// The payload and signature of the (last) signature stored for `image`.
fn stored_signature(image: &ImageRef, digest: &Digest) -> (Vec<u8>, String) {
    let transport = image.transport();
    let manifest = transport
        .get_manifest(&Selector::Tag(signature_tag(digest)))
        .unwrap();
    let ManifestContent::Image(sig) = manifest.content() else {
        panic!("a manifest")
    };
    let layer = sig.layers.last().unwrap();
    let payload = stevedore::resolve::small_blob(transport, layer).unwrap();
    (payload, layer.annotations[SIGNATURE_ANNOTATION].clone())
}

fn openssl_verifies(dir: &Path, public: &Path, payload: &[u8], signature_b64: &str) {
    let der = base64::engine::general_purpose::STANDARD
        .decode(signature_b64)
        .unwrap();
    std::fs::write(dir.join("payload.json"), payload).unwrap();
    std::fs::write(dir.join("sig.der"), der).unwrap();
    let s = |p: PathBuf| p.display().to_string();
    tool_ok(
        "openssl",
        &[
            "dgst",
            "-sha256",
            "-verify",
            &public.display().to_string(),
            "-signature",
            &s(dir.join("sig.der")),
            &s(dir.join("payload.json")),
        ],
    );
}

/// Signs and verifies one image on a registry at `host` reached with
/// `client`, and checks every way verification must fail.
fn sign_and_verify_on(client: &Client, host: &str, tmp: &Path) {
    let (pkcs8, sec1, public_path) = openssl_keys(tmp);
    let key = private_key_from_pem(&read(&pkcs8), None).unwrap();
    let public = public_key_from_pem(&read(&public_path)).unwrap();
    let a = make_image(&tmp.join("a"), "1", b"signed\n");
    let b = make_image(&tmp.join("b"), "1", b"unsigned\n");
    let image = |name: &str| parse_with(&format!("docker://{host}/{name}"), client).unwrap();
    for (dir, name) in [("a", "team/app:1"), ("b", "team/app:2")] {
        copy(
            &parse_with(&oci(&tmp.join(dir), "1"), client).unwrap(),
            &image(name),
            &CopyOptions::default(),
        )
        .unwrap();
    }
    // Nothing signed yet: default deny.
    let none = verify(&image("team/app:1"), &policy(vec![public])).unwrap();
    assert!(!none.verified && none.signatures.is_empty());

    let annotations: BTreeMap<String, String> = [("env".to_owned(), "prod".to_owned())].into();
    let report = sign(
        &image("team/app:1"),
        &key,
        &SignOptions {
            annotations: annotations.clone(),
            ..Default::default()
        },
    )
    .unwrap();
    assert_eq!(&report.digest, a.digest());
    assert_eq!(report.identity, format!("{host}/team/app"));
    // A second signature (the SEC1 copy of the key) is appended, not replacing.
    let second = private_key_from_pem(&read(&sec1), None).unwrap();
    let again = sign(&image("team/app:1"), &second, &SignOptions::default()).unwrap();
    assert_eq!(again.signatures, 2);
    // A third as an OCI 1.1 referrer (the Referrers API on our server, the
    // fallback tag on docker-registry).
    sign(
        &image("team/app:1"),
        &key,
        &SignOptions {
            annotations: annotations.clone(),
            referrers: true,
            ..Default::default()
        },
    )
    .unwrap();

    let required = Policy {
        keys: vec![public],
        identity: None,
        annotations: annotations.clone(),
    };
    let good = verify(&image("team/app:1"), &required).unwrap();
    assert!(good.verified, "{good:?}");
    assert_eq!(
        good.signatures
            .iter()
            .map(|s| s.verdict)
            .collect::<Vec<_>>(),
        [Verdict::Valid, Verdict::MissingAnnotation, Verdict::Valid]
    );
    let (payload, signature) = stored_signature(&image("team/app:1"), a.digest());
    openssl_verifies(tmp, &public_path, &payload, &signature);

    let wrong_key = verify(&image("team/app:1"), &policy(vec![other_key()])).unwrap();
    assert!(!wrong_key.verified);
    assert!(wrong_key
        .signatures
        .iter()
        .all(|s| s.verdict == Verdict::UnknownKey));
    let elsewhere = Policy {
        identity: Some(IdentityRule::parse("registry.example/other/*")),
        ..policy(vec![public])
    };
    let named = verify(&image("team/app:1"), &elsewhere).unwrap();
    assert!(named
        .signatures
        .iter()
        .all(|s| s.verdict == Verdict::IdentityMismatch));
    // Image A's signatures moved under image B's signature tag sign another digest.
    let transport = image("team/app:1");
    let sig_manifest = transport
        .transport()
        .get_manifest(&Selector::Tag(signature_tag(a.digest())))
        .unwrap();
    transport
        .transport()
        .put_manifest(&sig_manifest, Some(&signature_tag(b.digest())))
        .unwrap();
    let moved = verify(&image("team/app:2"), &policy(vec![public])).unwrap();
    assert!(!moved.verified);
    assert!(moved
        .signatures
        .iter()
        .all(|s| s.verdict == Verdict::DigestMismatch));
}

#[test]
fn sign_and_verify_on_docker_registry() {
    let registry = Registry::start();
    let tmp = tempfile::tempdir().unwrap();
    sign_and_verify_on(&registry.client(), &registry.addr, tmp.path());
}

#[test]
fn sign_and_verify_on_our_server() {
    let server = Server::start(ServerOptions::default()).unwrap();
    let client = Client::new(ClientOptions {
        plain_http: vec![server.host()],
        ..Default::default()
    })
    .unwrap();
    let tmp = tempfile::tempdir().unwrap();
    sign_and_verify_on(&client, &server.host(), tmp.path());
}

#[test]
fn skopeo_finds_our_signature_and_openssl_verifies_it() {
    let registry = Registry::start();
    let client = registry.client();
    let tmp = tempfile::tempdir().unwrap();
    let t = tmp.path();
    let password = Secret::new("pw");
    let (private, public) = generate_key_pair(&password).unwrap();
    std::fs::write(t.join("cosign.pub"), &public).unwrap();
    // Our public key loads in openssl.
    tool_ok(
        "openssl",
        &[
            "pkey",
            "-pubin",
            "-in",
            &t.join("cosign.pub").display().to_string(),
            "-noout",
        ],
    );
    let key = private_key_from_pem(private.as_bytes(), Some(&password)).unwrap();
    // Its private key, decrypted, loads in openssl and has our public key.
    let pem = key.to_pkcs8_pem(p256::pkcs8::LineEnding::LF).unwrap();
    std::fs::write(t.join("plain.pem"), pem.as_bytes()).unwrap();
    let derived = tool_ok(
        "openssl",
        &[
            "pkey",
            "-in",
            &t.join("plain.pem").display().to_string(),
            "-pubout",
        ],
    );
    assert_eq!(public_key_from_pem(&derived).unwrap(), *key.verifying_key());
    make_image(&t.join("src"), "1", b"for skopeo\n");
    let image = registry.image("signed/app:1");
    copy(
        &parse_with(&oci(&t.join("src"), "1"), &client).unwrap(),
        &parse_with(&image, &client).unwrap(),
        &CopyOptions::default(),
    )
    .unwrap();
    sign(
        &parse_with(&image, &client).unwrap(),
        &key,
        &SignOptions::default(),
    )
    .unwrap();
    let registries_d = t.join("registries.d");
    std::fs::create_dir(&registries_d).unwrap();
    std::fs::write(
        registries_d.join("local.yaml"),
        format!(
            "docker:\n  {}:\n    use-sigstore-attachments: true\n",
            registry.addr
        ),
    )
    .unwrap();
    std::fs::write(
        t.join("policy.json"),
        r#"{"default":[{"type":"insecureAcceptAnything"}]}"#,
    )
    .unwrap();
    let out = t.join("out");
    tool_ok(
        "skopeo",
        &[
            "--policy",
            &t.join("policy.json").display().to_string(),
            "--registries.d",
            &registries_d.display().to_string(),
            "copy",
            "-q",
            "--src-tls-verify=false",
            &image,
            &format!("dir:{}", out.display()),
        ],
    );
    let raw = read(&out.join("signature-1"));
    let json = raw
        .strip_prefix(b"\0sigstore-json\n".as_slice())
        .expect("a sigstore signature as containers/image stores it");
    let stored: serde_json::Value = serde_json::from_slice(json).unwrap();
    let payload = base64::engine::general_purpose::STANDARD
        .decode(stored["payload"].as_str().unwrap())
        .unwrap();
    let signature = stored["annotations"][SIGNATURE_ANNOTATION]
        .as_str()
        .unwrap();
    openssl_verifies(t, &t.join("cosign.pub"), &payload, signature);
}

#[test]
fn the_cli_signs_verifies_and_refuses_with_a_reason() {
    let server = Server::start(ServerOptions::default()).unwrap();
    let tmp = tempfile::tempdir().unwrap();
    let t = tmp.path();
    make_image(&t.join("src"), "1", b"cli\n");
    let cli = |args: &[&str]| {
        std::process::Command::new(env!("CARGO_BIN_EXE_stevedore"))
            .current_dir(t)
            .env("COSIGN_PASSWORD", "secret")
            .args(["--tls-verify=false"])
            .args(args)
            .output()
            .unwrap()
    };
    let image = format!("docker://{}/cli/app:1", server.host());
    assert!(cli(&["copy", &oci(&t.join("src"), "1"), &image])
        .status
        .success());
    assert!(cli(&["generate-key-pair"]).status.success());
    assert!(cli(&["generate-key-pair", "--output-key-prefix", "other"])
        .status
        .success());
    assert!(
        !cli(&["generate-key-pair"]).status.success(),
        "keys are not overwritten"
    );
    std::fs::write(t.join("lone.pub"), b"mine").unwrap();
    assert!(!cli(&["generate-key-pair", "--output-key-prefix", "lone"])
        .status
        .success());
    assert!(!t.join("lone.key").exists(), "no half-written pair");
    assert_eq!(std::fs::read(t.join("lone.pub")).unwrap(), b"mine");
    let signed = cli(&["sign", "--key", "cosign.key", "-a", "team=core", &image]);
    assert!(
        signed.status.success(),
        "{}",
        String::from_utf8_lossy(&signed.stderr)
    );
    let ok = cli(&["verify", "--key", "cosign.pub", "-a", "team=core", &image]);
    assert!(
        ok.status.success(),
        "{}",
        String::from_utf8_lossy(&ok.stderr)
    );
    let refused = cli(&["verify", "--key", "other.pub", "--json", &image]);
    assert!(!refused.status.success());
    let report: serde_json::Value = serde_json::from_slice(&refused.stdout).unwrap();
    assert_eq!(report["verified"], false);
    assert_eq!(report["signatures"][0]["verdict"], "unknown_key");
    // With --json, stderr holds only the error as JSON: no text verdicts.
    let error: serde_json::Value = serde_json::from_slice(&refused.stderr)
        .unwrap_or_else(|e| panic!("{e}: {}", String::from_utf8_lossy(&refused.stderr)));
    assert_eq!(error["kind"], "policy", "{error}");
}

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
