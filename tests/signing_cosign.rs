//! cosign-compatible signing against cosign itself: real signatures and
//! keys made by cosign and containers/image (read from
//! ../shared/testdata/cosign where it is) verify with their key only, and
//! cosign's encrypted keys load with their passwords.

mod common;

use common::signing_keys::{other_key, policy, read, testdata};
use p256::pkcs8::EncodePrivateKey;
use stevedore::auth::Secret;
use stevedore::digest::Digest;
use stevedore::manifest::{Manifest, ManifestContent};
use stevedore::sign::keys::{private_key_from_pem, public_key_from_pem};
use stevedore::sign::{
    check_signature, IdentityRule, Verdict, SIGNATURE_ANNOTATION, SIMPLE_SIGNING,
};

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
