//! The `stevedore` CLI against docker-registry: copy both ways, inspect,
//! tags, delete, and the registry flags (`--creds`, `--authfile` with a
//! credential helper, `--tls-verify=false`, `--cert-dir` for a TLS registry).

mod common;

use std::path::Path;
use std::process::{Command, Output};

use base64::Engine as _;
use common::registry::Registry;
use common::*;

fn stevedore(args: &[&str], env: &[(&str, String)]) -> Output {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_stevedore"));
    cmd.args(args);
    for (k, v) in env {
        cmd.env(k, v);
    }
    cmd.output().expect("run stevedore")
}

fn ok(args: &[&str]) -> String {
    ok_env(args, &[])
}

fn ok_env(args: &[&str], env: &[(&str, String)]) -> String {
    let out = stevedore(args, env);
    assert!(
        out.status.success(),
        "stevedore {args:?} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

fn fails(args: &[&str], env: &[(&str, String)]) -> String {
    let out = stevedore(args, env);
    assert!(!out.status.success(), "stevedore {args:?} should fail");
    String::from_utf8(out.stderr).unwrap()
}

#[test]
fn copy_inspect_tags_and_delete_on_a_registry() {
    let registry = Registry::start();
    let tmp = tempfile::tempdir().unwrap();
    let (a, back) = (tmp.path().join("a"), tmp.path().join("back"));
    let manifest = make_image(&a, "1.0", b"cli registry\n");
    let index = make_index(&a, "multi", &["linux/amd64", "linux/arm64"]);
    let image = registry.image("cli/app:1.0");

    ok(&["--tls-verify=false", "copy", &oci(&a, "1.0"), &image]);
    ok(&[
        "--tls-verify=false",
        "copy",
        "--all",
        &oci(&a, "multi"),
        &registry.image("cli/app:multi"),
    ]);
    assert_eq!(
        ok(&["--tls-verify=false", "inspect", "--raw", &image]).as_bytes(),
        manifest.raw()
    );
    assert_eq!(
        ok(&["--tls-verify=false", "inspect", "--raw", "--config", &image]).as_bytes(),
        tool_ok(
            "skopeo",
            &["inspect", "--config", "--raw", "--tls-verify=false", &image]
        )
    );
    let arm: serde_json::Value = serde_json::from_str(&ok(&[
        "--tls-verify=false",
        "inspect",
        "--json",
        "--platform",
        "linux/arm64",
        &registry.image("cli/app:multi"),
    ]))
    .unwrap();
    assert_eq!(arm["digest"], index.digest().to_string());
    assert_eq!(arm["platform"], "linux/arm64/v8");

    ok(&["--tls-verify=false", "copy", &image, &oci(&back, "pulled")]);
    assert_eq!(
        std::fs::read(blob_path(&back, manifest.digest())).unwrap(),
        manifest.raw()
    );

    let tags = ok(&["--tls-verify=false", "tags", &registry.image("cli/app")]);
    let mut tags: Vec<&str> = tags.lines().collect();
    tags.sort();
    assert_eq!(tags, ["1.0", "multi"]);

    ok(&["--tls-verify=false", "delete", &image]);
    let err = fails(&["--tls-verify=false", "inspect", &image], &[]);
    assert!(
        err.contains("not_found") && err.contains("has no tag \"1.0\""),
        "{err}"
    );
    // Without --tls-verify=false the plain-HTTP registry is not reached.
    let err = fails(&["inspect", &registry.image("cli/app:multi")], &[]);
    assert!(
        err.contains("network") && err.contains("cannot reach registry"),
        "{err}"
    );
}

/// A `docker-credential-NAME` helper in `dir` answering with `user`/`secret`.
fn credential_helper(dir: &Path, name: &str, user: &str, secret: &str) {
    let path = dir.join(format!("docker-credential-{name}"));
    std::fs::write(
        &path,
        format!("#!/bin/sh\nread server\necho '{{\"ServerURL\":\"'$server'\",\"Username\":\"{user}\",\"Secret\":\"{secret}\"}}'\n"),
    )
    .unwrap();
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755)).unwrap();
}

#[test]
fn credentials_from_flags_auth_files_and_helpers() {
    let registry = Registry::start_with_htpasswd("bob", "cli-pw");
    let tmp = tempfile::tempdir().unwrap();
    let a = tmp.path().join("a");
    make_image(&a, "1.0", b"creds\n");
    let image = registry.image("cli/private:1");
    let empty = tmp.path().join("empty.json");
    std::fs::write(&empty, "{}").unwrap();
    let no_files = [
        ("HOME", tmp.path().display().to_string()),
        ("REGISTRY_AUTH_FILE", empty.display().to_string()),
    ];

    let err = fails(
        &["--tls-verify=false", "copy", &oci(&a, "1.0"), &image],
        &no_files,
    );
    assert!(
        err.contains("unauthorized") && err.contains("--creds"),
        "{err}"
    );
    let err = fails(
        &[
            "--tls-verify=false",
            "--creds",
            "bob:nope",
            "copy",
            &oci(&a, "1.0"),
            &image,
        ],
        &no_files,
    );
    assert!(
        err.contains("unauthorized") && !err.contains("nope"),
        "{err}"
    );
    ok_env(
        &[
            "--tls-verify=false",
            "--creds",
            "bob:cli-pw",
            "copy",
            &oci(&a, "1.0"),
            &image,
        ],
        &no_files,
    );

    // An auth file with an "auth" entry.
    let auth_file = tmp.path().join("auth.json");
    let b64 = base64::engine::general_purpose::STANDARD.encode("bob:cli-pw");
    std::fs::write(
        &auth_file,
        serde_json::json!({"auths": {registry.addr.clone(): {"auth": b64}}}).to_string(),
    )
    .unwrap();
    ok_env(
        &[
            "--tls-verify=false",
            "--authfile",
            auth_file.to_str().unwrap(),
            "inspect",
            &image,
        ],
        &no_files,
    );
    // REGISTRY_AUTH_FILE finds it too.
    let env = [
        ("HOME", tmp.path().display().to_string()),
        ("REGISTRY_AUTH_FILE", auth_file.display().to_string()),
    ];
    ok_env(&["--tls-verify=false", "inspect", &image], &env);

    // A credential helper named in credHelpers, found on PATH.
    let bin = tmp.path().join("bin");
    std::fs::create_dir(&bin).unwrap();
    credential_helper(&bin, "steve", "bob", "cli-pw");
    let helper_file = tmp.path().join("helper.json");
    std::fs::write(
        &helper_file,
        serde_json::json!({"credHelpers": {registry.addr.clone(): "steve"}}).to_string(),
    )
    .unwrap();
    let path = format!("{}:{}", bin.display(), std::env::var("PATH").unwrap());
    let env = [
        ("HOME", tmp.path().display().to_string()),
        ("REGISTRY_AUTH_FILE", helper_file.display().to_string()),
        ("PATH", path),
    ];
    ok_env(
        &["--tls-verify=false", "tags", &registry.image("cli/private")],
        &env,
    );
}

#[test]
fn a_tls_registry_is_trusted_through_cert_dir_only() {
    let dir = tempfile::tempdir().unwrap();
    let (key, cert) = tls_for_loopback(dir.path());
    let tls = format!(
        "  tls:\n    certificate: {}\n    key: {}\n",
        cert.display(),
        key.display()
    );
    let registry = Registry::start_with_http_extra(&tls);
    let certs = tempfile::tempdir().unwrap();
    std::fs::copy(dir.path().join("ca.crt"), certs.path().join("ca.crt")).unwrap();
    let tmp = tempfile::tempdir().unwrap();
    let a = tmp.path().join("a");
    make_image(&a, "1.0", b"tls\n");
    let image = registry.image("tls/app:1");

    let err = fails(&["copy", &oci(&a, "1.0"), &image], &[]);
    assert!(err.contains("network"), "an unknown CA is refused: {err}");
    ok(&[
        "--cert-dir",
        certs.path().to_str().unwrap(),
        "copy",
        &oci(&a, "1.0"),
        &image,
    ]);
    ok(&["--tls-verify=false", "inspect", &image]);
    tool_ok(
        "skopeo",
        &[
            "inspect",
            "--cert-dir",
            certs.path().to_str().unwrap(),
            &image,
        ],
    );
}
