//! Signing and default-deny verification round trips on docker-registry and
//! on our own server, with openssl as an independent verifier and skopeo as
//! an independent reader of the stored format, and the CLI's sign and
//! verify.

mod common;

use std::collections::BTreeMap;
use std::path::Path;

use base64::Engine;
use common::registry::Registry;
use common::signing_keys::{openssl_keys, openssl_verifies, other_key, policy, read};
use common::*;
use p256::pkcs8::EncodePrivateKey;
use stevedore::auth::Secret;
use stevedore::digest::Digest;
use stevedore::manifest::ManifestContent;
use stevedore::registry::{Client, ClientOptions};
use stevedore::server::{Server, ServerOptions};
use stevedore::sign::keys::{generate_key_pair, private_key_from_pem, public_key_from_pem};
use stevedore::sign::{
    sign, signature_tag, verify, IdentityRule, Policy, SignOptions, Verdict, SIGNATURE_ANNOTATION,
};
use stevedore::transport::{parse_with, ImageRef, Selector};
use stevedore::{copy, CopyOptions};

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
