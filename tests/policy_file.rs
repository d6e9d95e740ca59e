//! containers-policy.json(5): `copy` enforces the policy on its source
//! (sigstoreSigned with keyPath/keyData and signedIdentity rules, reject,
//! insecureAcceptAnything), `verify --policy` reports the same verdict, and
//! key-only `verify` checks the name only with `--identity`, as cosign.

mod common;

use std::path::Path;
use std::process::{Command, Output};

use base64::Engine as _;
use common::registry::Registry;
use common::*;

fn run(dir: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_stevedore"))
        .current_dir(dir)
        .env("COSIGN_PASSWORD", "pw")
        .env("HOME", dir)
        .arg("--tls-verify=false")
        .args(args)
        .output()
        .expect("run stevedore")
}

fn ok(dir: &Path, args: &[&str]) -> String {
    let out = run(dir, args);
    assert!(
        out.status.success(),
        "{args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

fn refused(dir: &Path, args: &[&str]) -> String {
    let out = run(dir, args);
    assert_eq!(
        out.status.code(),
        Some(7),
        "{args:?} should be refused by the policy: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stderr).unwrap()
}

#[test]
fn copy_follows_a_sigstore_policy() {
    let registry = Registry::start();
    let tmp = tempfile::tempdir().unwrap();
    let t = tmp.path();
    make_image(&t.join("src"), "1", b"policy\n");
    let host = registry
        .image("")
        .trim_start_matches("docker://")
        .trim_end_matches('/')
        .to_owned();
    let image = |repo: &str| registry.image(repo);
    ok(t, &["generate-key-pair", "--output-key-prefix", "ours"]);
    ok(t, &["generate-key-pair", "--output-key-prefix", "theirs"]);
    for repo in ["pol/unsigned:1", "pol/signed:1", "pol/other:1"] {
        ok(
            t,
            &[
                "--insecure-policy",
                "copy",
                &oci(&t.join("src"), "1"),
                &image(repo),
            ],
        );
    }
    // Signed as skopeo signs (name and tag), by copying with the key.
    ok(
        t,
        &[
            "--insecure-policy",
            "copy",
            "--sign-by-sigstore-private-key",
            "ours.key",
            &oci(&t.join("src"), "1"),
            &image("pol/signed:1"),
        ],
    );
    ok(
        t,
        &[
            "sign",
            "--key",
            "theirs.key",
            "--identity",
            &format!("{host}/pol/other:1"),
            &image("pol/other:1"),
        ],
    );
    let key_data = base64::engine::general_purpose::STANDARD
        .encode(std::fs::read(t.join("ours.pub")).unwrap());
    let policy = serde_json::json!({
        "default": [{"type": "reject"}],
        "transports": {
            "docker": {
                format!("{host}/pol"): [{
                    "type": "sigstoreSigned",
                    "keyPath": t.join("ours.pub"),
                    "signedIdentity": {"type": "matchRepoDigestOrExact"}
                }],
                format!("{host}/mirror"): [{
                    "type": "sigstoreSigned",
                    "keyData": key_data,
                    "signedIdentity": {
                        "type": "remapIdentity",
                        "prefix": format!("{host}/mirror"),
                        "signedPrefix": format!("{host}/pol")
                    }
                }],
                format!("{host}/open"): [{"type": "insecureAcceptAnything"}]
            },
            "oci": {"": [{"type": "insecureAcceptAnything"}]}
        }
    });
    let policy_path = t.join("policy.json");
    std::fs::write(&policy_path, serde_json::to_vec_pretty(&policy).unwrap()).unwrap();
    let p = policy_path.to_str().unwrap();
    let dst = |n: &str| oci(&t.join("out"), n);

    let text = refused(
        t,
        &["--policy", p, "copy", &image("pol/unsigned:1"), &dst("u")],
    );
    assert!(text.contains("has no sigstore signature"), "{text}");
    ok(
        t,
        &[
            "--policy",
            p,
            "copy",
            "--referrers",
            &image("pol/signed:1"),
            &dst("s"),
        ],
    );
    let text = refused(
        t,
        &["--policy", p, "copy", &image("pol/other:1"), &dst("o")],
    );
    assert!(text.contains("no signature is accepted"), "{text}");
    // The policy found in $HOME/.config/containers is followed too.
    std::fs::create_dir_all(t.join(".config/containers")).unwrap();
    std::fs::copy(&policy_path, t.join(".config/containers/policy.json")).unwrap();
    refused(t, &["copy", &image("pol/unsigned:1"), &dst("u")]);
    ok(
        t,
        &[
            "--insecure-policy",
            "copy",
            &image("pol/unsigned:1"),
            &dst("u"),
        ],
    );
    // A scope with reject (the default here) refuses; an open one accepts.
    ok(
        t,
        &[
            "--insecure-policy",
            "copy",
            &image("pol/unsigned:1"),
            &image("elsewhere/app:1"),
        ],
    );
    let text = refused(t, &["copy", &image("elsewhere/app:1"), &dst("e")]);
    assert!(text.contains("reject"), "{text}");
    ok(
        t,
        &[
            "--insecure-policy",
            "copy",
            &image("pol/unsigned:1"),
            &image("open/app:1"),
        ],
    );
    ok(t, &["copy", &image("open/app:1"), &dst("open")]);

    // A mirror: signed as pol/signed:1, accepted at mirror/signed:1 only
    // through remapIdentity.
    ok(
        t,
        &[
            "--insecure-policy",
            "copy",
            "--referrers",
            &image("pol/signed:1"),
            &image("mirror/signed:1"),
        ],
    );
    ok(
        t,
        &["--policy", p, "copy", &image("mirror/signed:1"), &dst("m")],
    );
    ok(
        t,
        &[
            "--insecure-policy",
            "copy",
            "--referrers",
            &image("pol/signed:1"),
            &image("pol/renamed:1"),
        ],
    );
    let text = refused(
        t,
        &["--policy", p, "copy", &image("pol/renamed:1"), &dst("r")],
    );
    assert!(text.contains("but the policy wants"), "{text}");

    // verify --policy gives the same verdicts.
    let decision: serde_json::Value = serde_json::from_str(&ok(
        t,
        &["--policy", p, "verify", "--json", &image("mirror/signed:1")],
    ))
    .unwrap();
    assert_eq!(decision["accepted"], true);
    refused(t, &["--policy", p, "verify", &image("pol/other:1")]);

    // Key-only verify: cosign's default checks the digest, not the name, so
    // the mirror verifies; --identity asks for the name.
    ok(
        t,
        &["verify", "--key", "ours.pub", &image("mirror/signed:1")],
    );
    let text = refused(
        t,
        &[
            "verify",
            "--key",
            "ours.pub",
            "--identity",
            &format!("{host}/mirror/signed"),
            &image("mirror/signed:1"),
        ],
    );
    assert!(text.contains("--identity"), "{text}");
    refused(t, &["verify", "--key", "ours.pub", &image("pol/other:1")]);
}

#[test]
fn skopeo_agrees_on_reject_and_accept_scopes() {
    // Debian's skopeo 1.9 cannot judge sigstoreSigned here (it reads
    // sigstore attachments only when registries.d enables them, and its
    // sigstore verification is compiled out), so it is compared on the
    // scope rules only; the sigstore verdicts follow containers-policy.json(5).
    let registry = Registry::start();
    let tmp = tempfile::tempdir().unwrap();
    let t = tmp.path();
    make_image(&t.join("src"), "1", b"scopes\n");
    let host = registry
        .image("")
        .trim_start_matches("docker://")
        .trim_end_matches('/')
        .to_owned();
    for repo in ["closed/app:1", "open/app:1"] {
        ok(
            t,
            &[
                "--insecure-policy",
                "copy",
                &oci(&t.join("src"), "1"),
                &registry.image(repo),
            ],
        );
    }
    let policy = serde_json::json!({
        "default": [{"type": "reject"}],
        "transports": {"docker": {format!("{host}/open"): [{"type": "insecureAcceptAnything"}]}}
    });
    let p = t.join("policy.json");
    std::fs::write(&p, serde_json::to_vec(&policy).unwrap()).unwrap();
    let p = p.to_str().unwrap();
    for (repo, accepted) in [("closed/app:1", false), ("open/app:1", true)] {
        let src = registry.image(repo);
        let dst = format!("oci:{}:x", t.join(repo.replace(['/', ':'], "-")).display());
        let theirs = tool(
            "skopeo",
            &["--policy", p, "copy", "--src-tls-verify=false", &src, &dst],
        );
        let ours = run(t, &["--policy", p, "copy", &src, &dst]);
        assert_eq!(theirs.status.success(), accepted, "skopeo on {repo}");
        assert_eq!(ours.status.success(), accepted, "stevedore on {repo}");
    }
}
