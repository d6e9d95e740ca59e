//! Bad input met on the command line, each refused with the right kind and
//! exit status: malformed `mutate` flags, a corrupted layer, a tar with `..`
//! or absolute names given to `append`, `-o` or an archive into a missing
//! directory; and `verify --json` printing nothing but JSON.

mod common;

use std::path::Path;
use std::process::{Command, Output, Stdio};

use common::*;

const BIN: &str = env!("CARGO_BIN_EXE_stevedore");

/// Runs stevedore in `dir` with no terminal on stdin and `COSIGN_PASSWORD`
/// set to `pw`.
fn run_in(dir: &Path, args: &[&str]) -> Output {
    Command::new(BIN)
        .current_dir(dir)
        .env("COSIGN_PASSWORD", "pw")
        .stdin(Stdio::null())
        .args(args)
        .output()
        .expect("run stevedore")
}

fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

#[test]
fn mutate_refuses_a_malformed_created_time_or_exposed_port_as_usage() {
    let tmp = tempfile::tempdir().unwrap();
    let t = tmp.path();
    make_image(&t.join("src"), "1", b"mutate\n");
    let src = oci(&t.join("src"), "1");
    let dst = oci(&t.join("dst"), "1");
    for (flag, value, form) in [
        ("--created", "notatime", "RFC 3339"),
        ("--created", "2024-13-01T00:00:00Z", "RFC 3339"),
        ("--exposed-ports", "abc/tcp", "PORT[/tcp|udp|sctp]"),
        ("--exposed-ports", "99999", "PORT[/tcp|udp|sctp]"),
        ("--exposed-ports", "80/icmp", "PORT[/tcp|udp|sctp]"),
        ("--exposed-ports", "0", "PORT[/tcp|udp|sctp]"),
    ] {
        let out = run_in(t, &["mutate", &src, flag, value, "-t", &dst]);
        assert_eq!(
            out.status.code(),
            Some(2),
            "{flag} {value}: {}",
            stderr(&out)
        );
        let text = stderr(&out);
        assert!(text.contains(flag) && text.contains(form), "{text}");
    }
    assert!(!t.join("dst").exists());
    let good = run_in(
        t,
        &[
            "mutate",
            &src,
            "--created",
            "2024-01-01T02:00:00+02:00",
            "--exposed-ports",
            "53/udp,8080,9/sctp",
            "-t",
            &dst,
        ],
    );
    assert!(good.status.success(), "{}", stderr(&good));
    let config = run_in(t, &["inspect", "--config", &dst]);
    let config: serde_json::Value = serde_json::from_slice(&config.stdout).unwrap();
    assert_eq!(config["created"], "2024-01-01T02:00:00+02:00");
    let ports = config["config"]["ExposedPorts"].as_object().unwrap();
    let keys: Vec<&str> = ports.keys().map(String::as_str).collect();
    assert_eq!(keys, ["53/udp", "8080/tcp", "9/sctp"]);
}

#[test]
fn the_library_refuses_the_same_config_changes() {
    let tmp = tempfile::tempdir().unwrap();
    make_image(&tmp.path().join("src"), "1", b"mutate\n");
    let src = stevedore::transport::parse(&oci(&tmp.path().join("src"), "1")).unwrap();
    let dst = stevedore::transport::parse(&oci(&tmp.path().join("dst"), "1")).unwrap();
    for config in [
        stevedore::build::ConfigChanges {
            created: Some("yesterday".into()),
            ..Default::default()
        },
        stevedore::build::ConfigChanges {
            exposed_ports: vec!["65536/tcp".into()],
            ..Default::default()
        },
    ] {
        let mutation = stevedore::Mutation {
            config,
            ..Default::default()
        };
        let err = stevedore::mutate(&src, &mutation, &dst).unwrap_err();
        assert_eq!(err.kind(), stevedore::ErrorKind::InvalidInput, "{err}");
    }
}

#[test]
fn a_corrupted_layer_is_a_digest_mismatch_naming_the_layer() {
    let tmp = tempfile::tempdir().unwrap();
    let t = tmp.path();
    let manifest = make_image(&t.join("img"), "1", b"corrupt me\n");
    let layer = manifest.blobs()[1].digest.clone();
    let blob = t.join("img/blobs").join("sha256").join(layer.hex());
    let mut bytes = std::fs::read(&blob).unwrap();
    let middle = bytes.len() / 2;
    bytes[middle] ^= 0xff;
    bytes[middle + 1] ^= 0x55;
    std::fs::write(&blob, bytes).unwrap();
    let image = oci(&t.join("img"), "1");
    let out_file = t.join("out.tar");
    for args in [
        vec!["ls", image.as_str()],
        vec!["cat", image.as_str(), "/etc/hello"],
        vec!["export", image.as_str(), "-o", out_file.to_str().unwrap()],
    ] {
        let out = run_in(t, &args);
        assert_eq!(out.status.code(), Some(6), "{args:?}: {}", stderr(&out));
        let text = stderr(&out);
        assert!(
            text.contains("digest_mismatch") && text.contains(&layer.to_string()),
            "{text}"
        );
    }
    assert!(!out_file.exists());
}

/// A tar file holding one file entry named `name` (written raw, as a hostile
/// tool would).
fn tar_with_name(path: &Path, name: &str) {
    let mut header = tar::Header::new_gnu();
    header.as_mut_bytes()[..name.len()].copy_from_slice(name.as_bytes());
    header.set_size(2);
    header.set_mode(0o644);
    header.set_entry_type(tar::EntryType::Regular);
    header.set_cksum();
    let mut builder = tar::Builder::new(std::fs::File::create(path).unwrap());
    builder.append(&header, &b"x\n"[..]).unwrap();
    builder.finish().unwrap();
}

#[test]
fn append_refuses_a_tar_leaving_the_root() {
    let tmp = tempfile::tempdir().unwrap();
    let t = tmp.path();
    make_image(&t.join("src"), "1", b"append\n");
    let src = oci(&t.join("src"), "1");
    let dst = oci(&t.join("dst"), "1");
    for name in ["../evil", "usr/../../evil", "/etc/evil"] {
        let layer = t.join("layer.tar");
        tar_with_name(&layer, name);
        let out = run_in(
            t,
            &[
                "append",
                "--base",
                &src,
                "--new-layer",
                "layer.tar",
                "-t",
                &dst,
            ],
        );
        assert_eq!(out.status.code(), Some(1), "{name}: {}", stderr(&out));
        let text = stderr(&out);
        assert!(
            text.contains("invalid_input") && text.contains(&format!("{name:?}")),
            "{text}"
        );
        assert!(!t.join("dst").exists());
    }
    tar_with_name(&t.join("layer.tar"), "./usr/ok");
    let fine = run_in(
        t,
        &[
            "append",
            "--base",
            &src,
            "--new-layer",
            "layer.tar",
            "-t",
            &dst,
        ],
    );
    assert!(fine.status.success(), "{}", stderr(&fine));
}

#[test]
fn output_into_a_missing_directory_is_an_io_error_naming_it() {
    let tmp = tempfile::tempdir().unwrap();
    let t = tmp.path();
    let manifest = make_image(&t.join("img"), "1", b"out\n");
    let image = oci(&t.join("img"), "1");
    let missing = t.join("missing/dir");
    let file = missing.join("file");
    let file = file.to_str().unwrap();
    let config = manifest.blobs()[0].digest.to_string();
    let oci_archive = format!("oci-archive:{file}:1");
    let docker_archive = format!("docker-archive:{file}:a/b:1");
    for args in [
        vec!["export", image.as_str(), "-o", file],
        vec!["sbom", image.as_str(), "-o", file],
        vec!["blob", image.as_str(), config.as_str(), "-o", file],
        vec!["copy", image.as_str(), &oci_archive],
        vec!["copy", image.as_str(), &docker_archive],
    ] {
        let out = run_in(t, &args);
        assert_eq!(out.status.code(), Some(1), "{args:?}: {}", stderr(&out));
        let text = stderr(&out);
        assert!(
            text.contains("io error")
                && text.contains(&format!("{} does not exist", missing.display())),
            "{text}"
        );
        assert!(!t.join("missing").exists(), "{args:?}");
    }
    // Under a regular file: said so, not "a directory that is not one".
    std::fs::write(t.join("plain"), b"").unwrap();
    let under_file = format!("oci-archive:{}:1", t.join("plain/x.tar").display());
    let out = run_in(t, &["copy", &image, &under_file]);
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    assert!(
        stderr(&out).contains("plain is a file, not a directory"),
        "{}",
        stderr(&out)
    );
}

#[test]
fn verify_json_prints_only_json() {
    let server =
        stevedore::server::Server::start(stevedore::server::ServerOptions::default()).unwrap();
    let tmp = tempfile::tempdir().unwrap();
    let t = tmp.path();
    make_image(&t.join("src"), "1", b"verify\n");
    let image = format!("docker://{}/team/app:1", server.host());
    let run = |args: &[&str]| {
        let mut all = vec!["--tls-verify=false"];
        all.extend_from_slice(args);
        run_in(t, &all)
    };
    assert!(run(&["copy", &oci(&t.join("src"), "1"), &image])
        .status
        .success());
    assert!(run(&["generate-key-pair"]).status.success());
    assert!(run(&["generate-key-pair", "--output-key-prefix", "other"])
        .status
        .success());
    assert!(run(&["sign", "--key", "cosign.key", &image])
        .status
        .success());

    let accepted = run(&["verify", "--key", "cosign.pub", "--json", &image]);
    assert!(accepted.status.success(), "{}", stderr(&accepted));
    assert_eq!(stderr(&accepted), "", "nothing but JSON on stdout");
    let report: serde_json::Value = serde_json::from_slice(&accepted.stdout).unwrap();
    assert_eq!(report["verified"], true);

    let refused = run(&["verify", "--key", "other.pub", "--json", &image]);
    assert_eq!(refused.status.code(), Some(7), "{}", stderr(&refused));
    let report: serde_json::Value = serde_json::from_slice(&refused.stdout).unwrap();
    assert_eq!(report["verified"], false);
    // The failure is the documented error JSON on stderr, and nothing more.
    let error: serde_json::Value = serde_json::from_slice(&refused.stderr)
        .unwrap_or_else(|e| panic!("{e}: {}", stderr(&refused)));
    assert_eq!(error["kind"], "policy");
}

/// Counts and seconds that must be positive are usage errors at 0 (a
/// `--timeout 0` used to fail every request at once as a network error),
/// and a registry port out of range is an invalid reference, refused before
/// any name is looked up.
#[test]
fn zero_timeouts_and_jobs_and_out_of_range_ports_are_refused() {
    let tmp = tempfile::tempdir().unwrap();
    let t = tmp.path();
    for args in [
        &["--timeout", "0", "tags", "docker://127.0.0.1:5000/app"][..],
        &["--timeout", "soon", "tags", "docker://127.0.0.1:5000/app"][..],
        &["copy", "--jobs", "0", "oci:/nowhere:1", "oci:/elsewhere:1"][..],
    ] {
        let out = run_in(t, args);
        assert_eq!(out.status.code(), Some(2), "{args:?}: {}", stderr(&out));
        let text = stderr(&out);
        assert!(
            text.contains("must be at least 1") || text.contains("not a whole number"),
            "{text}"
        );
    }
    let out = run_in(t, &["inspect", "docker://127.0.0.1:99999/app:1"]);
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    assert!(
        stderr(&out).contains("out of range (1 to 65535)"),
        "{}",
        stderr(&out)
    );
}

/// A registry address given to `login`, `logout` or `catalog` is checked
/// as one in a reference is: a port out of range used to be dropped, and
/// the default ports 80 and 443 tried instead.
#[test]
fn registry_addresses_with_ports_out_of_range_are_refused() {
    let tmp = tempfile::tempdir().unwrap();
    let t = tmp.path();
    for args in [
        &["login", "-u", "u", "--password-stdin", "127.0.0.1:99999"][..],
        &["logout", "localhost:0"][..],
        &["catalog", "docker://[::1]:70000"][..],
    ] {
        let out = run_in(t, args);
        assert_eq!(out.status.code(), Some(1), "{args:?}: {}", stderr(&out));
        assert!(
            stderr(&out).contains("invalid registry address"),
            "{}",
            stderr(&out)
        );
    }
}

/// A closed stderr (a script reading only part of our messages) does not
/// turn a failure's status into a panic's 101.
#[test]
fn a_closed_stderr_keeps_the_verbs_exit_status() {
    let tmp = tempfile::tempdir().unwrap();
    let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_stevedore"))
        .args(["inspect", &oci(&tmp.path().join("missing"), "1")])
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    drop(child.stderr.take());
    assert_eq!(child.wait().unwrap().code(), Some(3));
}
