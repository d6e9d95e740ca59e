//! What a new user meets first on the command line: file modes that follow
//! the umask as skopeo's do, `latest` assumed for a registry destination,
//! Ctrl-C cleaning up, a closed stdout ending quietly, exit statuses per
//! error kind, errors as JSON, and key passwords.

mod common;

use std::io::{BufRead, BufReader, Read};
use std::os::unix::fs::PermissionsExt;
use std::path::Path;
use std::process::{Command, Output, Stdio};
use std::time::Duration;

use common::fake::{FakeServer, Reply, Seen};
use common::registry::Registry;
use common::*;
use stevedore::transport::{OciLayout, Transport};

const BIN: &str = env!("CARGO_BIN_EXE_stevedore");

/// Runs stevedore in `dir` with no terminal on stdin and no COSIGN_PASSWORD.
fn run_in(dir: &Path, args: &[&str]) -> Output {
    Command::new(BIN)
        .current_dir(dir)
        .env_remove("COSIGN_PASSWORD")
        .stdin(Stdio::null())
        .args(args)
        .output()
        .expect("run stevedore")
}

fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

/// Runs `program args…` under `umask` through sh.
fn under_umask(umask: &str, program: &str, args: &[&str]) {
    let out = Command::new("sh")
        .arg("-c")
        .arg(format!("umask {umask} && exec \"$0\" \"$@\""))
        .arg(program)
        .args(args)
        .output()
        .unwrap();
    assert!(out.status.success(), "{program} {args:?}: {}", stderr(&out));
}

fn mode(path: &Path) -> u32 {
    std::fs::metadata(path).unwrap().permissions().mode() & 0o777
}

#[test]
fn written_files_follow_the_umask_as_skopeos_do() {
    let tmp = tempfile::tempdir().unwrap();
    let t = tmp.path();
    let manifest = make_image(&t.join("src"), "1", b"modes\n");
    let src = oci(&t.join("src"), "1");
    let config = manifest.blobs()[0].digest.to_string();
    for (umask, expected) in [("022", 0o644), ("077", 0o600), ("002", 0o644)] {
        for who in ["ours", "skopeo"] {
            let at = |name: &str| t.join(format!("{who}-{umask}-{name}"));
            let (layout, dir, archive) = (at("layout"), at("dir"), at("archive.tar"));
            let copies = [
                oci(&layout, "1"),
                format!("dir:{}", dir.display()),
                format!("docker-archive:{}:app:1", archive.display()),
            ];
            for dst in &copies {
                match who {
                    "ours" => under_umask(umask, BIN, &["copy", "--quiet", &src, dst]),
                    _ => under_umask(umask, "skopeo", &["copy", "-q", &src, dst]),
                }
            }
            // skopeo's modes: 0644 less the umask for these.
            for file in [
                layout.join("index.json"),
                layout.join("oci-layout"),
                blob_path(&layout, manifest.digest()),
                dir.join("manifest.json"),
                dir.join("version"),
                archive.clone(),
            ] {
                assert_eq!(mode(&file), expected, "{who}, umask {umask}: {file:?}");
            }
        }
        let archive = t.join(format!("ours-{umask}-oci.tar"));
        let dst = format!("oci-archive:{}:1", archive.display());
        under_umask(umask, BIN, &["copy", "--quiet", &src, &dst]);
        assert_eq!(mode(&archive), expected, "oci-archive under umask {umask}");
        let export = t.join(format!("export-{umask}.tar"));
        under_umask(
            umask,
            BIN,
            &["export", &src, "-o", export.to_str().unwrap()],
        );
        assert_eq!(mode(&export), expected, "export -o under umask {umask}");
        let blob = t.join(format!("blob-{umask}"));
        let out = blob.to_str().unwrap();
        under_umask(umask, BIN, &["blob", &src, &config, "-o", out]);
        // As `cat > FILE` would make it: 0666 less the umask.
        let umask_bits = u32::from_str_radix(umask, 8).unwrap();
        assert_eq!(
            mode(&blob),
            0o666 & !umask_bits,
            "blob -o under umask {umask}"
        );
    }
    // The private key stays private whatever the umask.
    let out = Command::new("sh")
        .current_dir(t)
        .env("COSIGN_PASSWORD", "pw")
        .arg("-c")
        .arg("umask 000 && exec \"$0\" generate-key-pair")
        .arg(BIN)
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(mode(&t.join("cosign.key")), 0o600);
}

#[test]
fn a_registry_destination_without_a_tag_is_stored_as_latest() {
    let registry = Registry::start();
    let tmp = tempfile::tempdir().unwrap();
    let manifest = make_image(&tmp.path().join("src"), "1", b"latest\n");
    let src = oci(&tmp.path().join("src"), "1");
    let dst = registry.image("team/app");
    let out = run_in(tmp.path(), &["--tls-verify=false", "copy", &src, &dst]);
    assert!(out.status.success(), "{}", stderr(&out));
    let text = String::from_utf8(out.stdout).unwrap();
    assert!(
        text.contains("Tag:    latest (the destination named no tag)"),
        "{text}"
    );
    let tags = run_in(tmp.path(), &["--tls-verify=false", "tags", &dst]);
    assert_eq!(String::from_utf8(tags.stdout).unwrap(), "latest\n");
    let judged = tool_ok(
        "skopeo",
        &[
            "inspect",
            "--raw",
            "--tls-verify=false",
            &format!("{dst}:latest"),
        ],
    );
    assert_eq!(judged, manifest.raw());
    let json = run_in(
        tmp.path(),
        &["--tls-verify=false", "copy", "--json", &src, &dst],
    );
    let report: serde_json::Value = serde_json::from_slice(&json.stdout).unwrap();
    assert_eq!(report["assumed_tag"], "latest");
    // A layout keeps an untagged image untagged, as skopeo does.
    let layout = tmp.path().join("untagged");
    let out = run_in(
        tmp.path(),
        &["copy", "--json", &src, &format!("oci:{}", layout.display())],
    );
    let report: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert!(report["assumed_tag"].is_null());
    assert!(OciLayout::new(&layout).list_tags().unwrap().is_empty());
}

/// Serves `body` a few bytes at a time, slowly.
struct Slow(std::io::Cursor<Vec<u8>>);

impl Read for Slow {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        std::thread::sleep(Duration::from_millis(40));
        let n = buf.len().min(8);
        self.0.read(&mut buf[..n])
    }
}

/// A registry on loopback that serves the image `manifest` of the layout
/// at `source` with its blobs at a crawl (8 bytes every 40 ms).
fn slow_registry(source: &Path, manifest: &stevedore::manifest::Manifest) -> FakeServer {
    let layout = OciLayout::new(source);
    let served = manifest.clone();
    FakeServer::start(move |seen: &Seen| {
        if seen.url == "/v2/" {
            return Reply::new(200, "{}");
        }
        if seen.url.contains("/manifests/") {
            return Reply::new(200, served.raw().to_vec())
                .header("Content-Type", served.media_type())
                .header("Docker-Content-Digest", &served.digest().to_string());
        }
        let digest = seen.url.rsplit('/').next().unwrap_or_default();
        match std::fs::read(source_blob(&layout, digest)) {
            Ok(bytes) => Reply {
                status: 200,
                headers: Vec::new(),
                length: Some(bytes.len()),
                body: Box::new(Slow(std::io::Cursor::new(bytes))),
            },
            Err(_) => Reply::new(404, "{}"),
        }
    })
}

#[test]
fn ctrl_c_cancels_a_copy_removes_the_new_layout_and_exits_130() {
    let tmp = tempfile::tempdir().unwrap();
    let source = tmp.path().join("src");
    let manifest = make_image(&source, "1", b"slowly\n");
    let server = slow_registry(&source, &manifest);
    let dst = tmp.path().join("dst");
    let mut child = Command::new(BIN)
        .args([
            "--tls-verify=false",
            "copy",
            "--progress=json",
            &format!("docker://{}/app:1", server.addr()),
            &oci(&dst, "1"),
        ])
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(child.stderr.take().unwrap()).lines();
    let first = lines.next().unwrap().unwrap();
    assert!(first.contains("image_start"), "{first}");
    for _ in 0..100 {
        if dst.exists() {
            break;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    assert!(dst.exists(), "the copy started writing the layout");
    let kill = Command::new("kill")
        .args(["-INT", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(kill.success());
    let rest: Vec<String> = lines.map_while(Result::ok).collect();
    let status = child.wait().unwrap();
    assert_eq!(status.code(), Some(130), "{rest:?}");
    assert!(
        rest.last().is_some_and(|l| l.contains("cancelled error")),
        "{rest:?}"
    );
    assert!(!dst.exists(), "the layout the copy created is removed");
}

/// The `.stevedore-*` temporary files in `dir`.
fn temporaries(dir: &Path) -> Vec<String> {
    std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.starts_with(".stevedore-"))
        .collect()
}

#[test]
fn ctrl_c_during_export_or_blob_to_a_file_removes_the_temporary_file() {
    let tmp = tempfile::tempdir().unwrap();
    let source = tmp.path().join("src");
    let manifest = make_image(&source, "1", b"slowly\n");
    let server = slow_registry(&source, &manifest);
    let image = format!("docker://{}/app:1", server.addr());
    let layer = manifest.blobs()[1].digest.to_string();
    let out = tmp.path().join("out");
    std::fs::create_dir(&out).unwrap();
    for args in [
        vec!["export", image.as_str(), "-o", "target"],
        vec!["blob", image.as_str(), layer.as_str(), "-o", "target"],
    ] {
        let child = Command::new(BIN)
            .current_dir(&out)
            .arg("--tls-verify=false")
            .args(&args)
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        for _ in 0..200 {
            if !temporaries(&out).is_empty() {
                break;
            }
            std::thread::sleep(Duration::from_millis(10));
        }
        assert!(!temporaries(&out).is_empty(), "{args:?} started writing");
        let kill = Command::new("kill")
            .args(["-INT", &child.id().to_string()])
            .status()
            .unwrap();
        assert!(kill.success());
        let done = child.wait_with_output().unwrap();
        assert_eq!(done.status.code(), Some(130), "{args:?}: {}", stderr(&done));
        assert!(stderr(&done).contains("cancelled"), "{}", stderr(&done));
        assert_eq!(temporaries(&out), Vec::<String>::new(), "{args:?}");
        assert!(!out.join("target").exists(), "{args:?}");
    }
}

fn source_blob(layout: &OciLayout, digest: &str) -> std::path::PathBuf {
    let hex = digest.strip_prefix("sha256:").unwrap_or_default();
    layout.root().join("blobs/sha256").join(hex)
}

#[test]
fn a_closed_stdout_ends_blob_cat_and_export_quietly() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("src");
    let big = incompressible(4 * 1024 * 1024, 3);
    let layout = OciLayout::new(&dir);
    let manifest = write_image(
        &layout,
        &host_platform(),
        &[LayerSpec {
            files: &[("big", &big)],
        }],
    );
    layout.put_manifest(&manifest, Some("1")).unwrap();
    let digest = manifest.blobs()[1].digest.to_string();
    let image = oci(&dir, "1");
    for args in [
        vec!["blob", image.as_str(), digest.as_str()],
        vec!["cat", image.as_str(), "/big"],
        vec!["export", image.as_str()],
    ] {
        let mut child = Command::new(BIN)
            .args(&args)
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let mut stdout = child.stdout.take().unwrap();
        let mut ten = [0u8; 10];
        stdout.read_exact(&mut ten).unwrap();
        drop(stdout);
        let out = child.wait_with_output().unwrap();
        assert!(out.status.success(), "{args:?}: {}", stderr(&out));
        assert!(out.stderr.is_empty(), "{args:?}: {}", stderr(&out));
    }
}

#[test]
fn exit_statuses_follow_the_error_kind_and_json_errors_are_json() {
    let tmp = tempfile::tempdir().unwrap();
    let t = tmp.path();
    let missing = run_in(t, &["inspect", "oci:nowhere:1"]);
    assert_eq!(missing.status.code(), Some(3));
    let text = stderr(&missing);
    assert!(text.starts_with("stevedore: not_found error: "), "{text}");
    assert_eq!(text, format!("{}\n", text.trim()), "no stray whitespace");

    let json = run_in(t, &["inspect", "--json", "oci:nowhere:1"]);
    assert_eq!(json.status.code(), Some(3));
    let error: serde_json::Value = serde_json::from_slice(&json.stderr).unwrap();
    assert_eq!(error["kind"], "not_found");
    assert!(error["message"].as_str().unwrap().contains("nowhere"));
    assert!(error["http_status"].is_null());
    assert_eq!(error["registry_errors"], serde_json::json!([]));

    assert_eq!(run_in(t, &["inspect"]).status.code(), Some(2), "usage");
    assert_eq!(run_in(t, &["copy", "--bogus"]).status.code(), Some(2));
    let bad = run_in(t, &["inspect", "nonsense:x"]);
    assert_eq!(bad.status.code(), Some(1), "{}", stderr(&bad));

    let help = String::from_utf8(run_in(t, &["--help"]).stdout).unwrap();
    for line in [
        "3    not found",
        "4    unauthorized",
        "7    policy",
        "130  interrupted",
    ] {
        assert!(help.contains(line), "{help}");
    }
}

#[test]
fn verify_names_the_identities_and_exits_with_the_policy_status() {
    let server =
        stevedore::server::Server::start(stevedore::server::ServerOptions::default()).unwrap();
    let tmp = tempfile::tempdir().unwrap();
    let t = tmp.path();
    make_image(&t.join("src"), "1", b"mirror\n");
    let with_password = |args: &[&str]| {
        Command::new(BIN)
            .current_dir(t)
            .env("COSIGN_PASSWORD", "pw")
            .arg("--tls-verify=false")
            .args(args)
            .output()
            .unwrap()
    };
    let image = format!("docker://{}/team/app:1", server.host());
    let mirror = format!("docker://{}/mirror/app:1", server.host());
    assert!(with_password(&["copy", &oci(&t.join("src"), "1"), &image])
        .status
        .success());
    assert!(with_password(&["generate-key-pair"]).status.success());
    assert!(with_password(&["sign", "--key", "cosign.key", &image])
        .status
        .success());
    let copied = with_password(&["copy", "--referrers", &image, &mirror]);
    assert!(copied.status.success(), "{}", stderr(&copied));
    // cosign's default: the digest is checked, not the name, so the mirror
    // verifies; --identity asks for a name.
    let accepted = with_password(&["verify", "--key", "cosign.pub", &mirror]);
    assert!(accepted.status.success(), "{}", stderr(&accepted));
    let mirror_name = format!("{}/mirror/app", server.host());
    let refused = with_password(&[
        "verify",
        "--key",
        "cosign.pub",
        "--identity",
        &mirror_name,
        &mirror,
    ]);
    assert_eq!(refused.status.code(), Some(7), "{}", stderr(&refused));
    let text = stderr(&refused);
    let signed_as = format!("{}/team/app", server.host());
    assert!(
        text.contains(&format!(
            "it was signed as {signed_as}, but the policy accepts {mirror_name} (with any tag)"
        )) && text.contains(&format!("--identity {signed_as} ")),
        "{text}"
    );
    assert!(!text.contains("Exact("), "{text}");
    let json = with_password(&[
        "verify",
        "--json",
        "--key",
        "cosign.pub",
        "--identity",
        &mirror_name,
        &mirror,
    ]);
    let error: serde_json::Value =
        serde_json::from_str(stderr(&json).lines().last().unwrap()).unwrap();
    assert_eq!(error["kind"], "policy");
    let accepted = with_password(&[
        "verify",
        "--key",
        "cosign.pub",
        "--identity",
        &signed_as,
        &mirror,
    ]);
    assert!(accepted.status.success(), "{}", stderr(&accepted));
}

#[test]
fn key_passwords_come_from_the_variable_or_are_refused_without_a_terminal() {
    let tmp = tempfile::tempdir().unwrap();
    let t = tmp.path();
    let refused = run_in(t, &["generate-key-pair"]);
    assert_eq!(refused.status.code(), Some(1));
    let text = stderr(&refused);
    assert!(
        text.contains("COSIGN_PASSWORD") && text.contains("--allow-empty-password"),
        "{text}"
    );
    assert!(!t.join("cosign.key").exists());
    let allowed = run_in(t, &["generate-key-pair", "--allow-empty-password"]);
    assert!(allowed.status.success(), "{}", stderr(&allowed));
    let explicit = Command::new(BIN)
        .current_dir(t)
        .env("COSIGN_PASSWORD", "")
        .stdin(Stdio::null())
        .args(["generate-key-pair", "--output-key-prefix", "empty"])
        .output()
        .unwrap();
    assert!(explicit.status.success(), "{}", stderr(&explicit));
    let locked = Command::new(BIN)
        .current_dir(t)
        .env("COSIGN_PASSWORD", "secret")
        .args(["generate-key-pair", "--output-key-prefix", "locked"])
        .output()
        .unwrap();
    assert!(locked.status.success());
    make_image(&t.join("img"), "1", b"sign\n");
    let image = oci(&t.join("img"), "1");
    let unasked = run_in(t, &["sign", "--key", "locked.key", &image]);
    assert_eq!(unasked.status.code(), Some(4), "{}", stderr(&unasked));
    assert!(
        stderr(&unasked).contains("set COSIGN_PASSWORD"),
        "{}",
        stderr(&unasked)
    );
    let unencrypted = run_in(t, &["sign", "--key", "cosign.key", &image]);
    assert!(unencrypted.status.success(), "{}", stderr(&unencrypted));
}

#[test]
fn registry_and_policy_flags_show_only_on_the_verbs_they_concern() {
    let dir = tempfile::tempdir().unwrap();
    let t = dir.path();
    let help = |verb: &str| {
        let out = run_in(t, &[verb, "--help"]);
        assert!(out.status.success(), "{verb}: {}", stderr(&out));
        String::from_utf8(out.stdout).unwrap()
    };
    let registry = [
        "--creds",
        "--tls-verify",
        "--cert-dir",
        "--authfile",
        "--timeout",
        "--retry-times",
    ];
    for verb in [
        "copy",
        "sync",
        "inspect",
        "ls",
        "cat",
        "digest",
        "list-tags",
        "sign",
        "login",
    ] {
        let text = help(verb);
        for flag in registry {
            assert!(text.contains(flag), "{verb} --help lacks {flag}: {text}");
        }
    }
    for verb in [
        "manifest-digest",
        "version",
        "completion",
        "generate-key-pair",
        "serve",
        "gc",
    ] {
        let text = help(verb);
        for flag in registry {
            assert!(!text.contains(flag), "{verb} --help shows {flag}: {text}");
        }
    }
    for (verb, shown) in [
        ("copy", true),
        ("sync", true),
        ("verify", true),
        ("inspect", false),
        ("gc", false),
    ] {
        assert_eq!(help(verb).contains("--insecure-policy"), shown, "{verb}");
    }
    let top = String::from_utf8(run_in(t, &["--help"]).stdout).unwrap();
    assert!(
        top.contains("--tls-verify") && top.contains("--policy"),
        "{top}"
    );

    // Still accepted where they are hidden, before or after the verb.
    let file = t.join("manifest.json");
    std::fs::write(&file, b"{}").unwrap();
    let file = file.display().to_string();
    for args in [
        vec!["--tls-verify=false", "manifest-digest", &file],
        vec![
            "manifest-digest",
            "--tls-verify=false",
            "--insecure-policy",
            &file,
        ],
        vec!["version", "--retry-times", "2"],
    ] {
        let out = run_in(t, &args);
        assert!(out.status.success(), "{args:?}: {}", stderr(&out));
    }
}

#[test]
fn a_password_in_a_reference_never_reaches_stderr() {
    let tmp = tempfile::tempdir().unwrap();
    let t = tmp.path();
    let with_secret = "docker://user:S3CRET@127.0.0.1:5000/x:1";
    let dst = oci(&t.join("dst"), "1");
    for args in [
        vec!["inspect", with_secret],
        vec!["inspect", "--json", with_secret],
        vec!["copy", with_secret, dst.as_str()],
        vec!["inspect", "https://user:S3CRET@127.0.0.1:5000/x:1"],
        vec!["inspect", "user:S3CRET@127.0.0.1:5000/x:1"],
    ] {
        let out = run_in(t, &args);
        assert_eq!(out.status.code(), Some(1), "{args:?}");
        let text = stderr(&out);
        assert!(text.contains("user:***@"), "{args:?}: {text}");
        assert!(!text.contains("S3CRET"), "{args:?}: {text}");
    }
}

/// `serve` stopped by SIGTERM (or Ctrl-C) closes its connections, removes
/// its scratch directory of uploads and exits 0; it used to die at the
/// signal and leave a `stevedore-uploads-*` directory behind each run.
#[test]
fn serve_stops_cleanly_on_sigterm_leaving_no_scratch_directory() {
    let tmp = tempfile::tempdir().unwrap();
    let port = common::registry::free_port();
    let addr = format!("127.0.0.1:{port}");
    let mut server = std::process::Command::new(env!("CARGO_BIN_EXE_stevedore"))
        .args(["serve", "--memory", "--addr", &addr])
        .env("TMPDIR", tmp.path())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let started = std::time::Instant::now();
    while std::net::TcpStream::connect(&addr).is_err() {
        assert!(started.elapsed() < std::time::Duration::from_secs(20));
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    let scratch = || std::fs::read_dir(tmp.path()).unwrap().count();
    assert_eq!(scratch(), 1, "the uploads directory while serving");
    let _idle = std::net::TcpStream::connect(&addr).unwrap();
    let killed = std::process::Command::new("kill")
        .args(["-TERM", &server.id().to_string()])
        .status()
        .unwrap();
    assert!(killed.success());
    let status = server.wait().unwrap();
    assert_eq!(status.code(), Some(0));
    assert_eq!(scratch(), 0, "nothing left in TMPDIR");
}
