//! Credentials stay with their registry (issue #14): a copy's destination, a
//! token service on another host and a redirect target never see the
//! source's credentials; `--creds` binds to one registry; login/logout
//! interoperate with skopeo's auth.json; timeouts; the messages a person
//! meets first (plain HTTP, refused or missing credentials, a missing tag).

mod common;

use std::path::Path;
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

use base64::Engine as _;
use common::fake::{FakeServer, Reply, Seen};
use common::registry::Registry;
use common::*;

const USER: &str = "alice";
const PASS: &str = "s3cret-pw";

/// Runs stevedore with the auth file locations pointed into `home`, so that
/// no file of the machine's user is read.
fn run(home: &Path, args: &[&str], stdin: Option<&str>) -> Output {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_stevedore"));
    cmd.args(args)
        .env("HOME", home)
        .env("XDG_RUNTIME_DIR", home.join("run"))
        .env("XDG_CONFIG_HOME", home.join("config"))
        .env_remove("REGISTRY_AUTH_FILE")
        .env_remove("DOCKER_CONFIG")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let mut child = cmd.spawn().expect("run stevedore");
    {
        use std::io::Write;
        let mut input = child.stdin.take().unwrap();
        if let Some(text) = stdin {
            input.write_all(text.as_bytes()).unwrap();
        }
    }
    child.wait_with_output().unwrap()
}

fn ok(home: &Path, args: &[&str]) -> String {
    let out = run(home, args, None);
    assert!(
        out.status.success(),
        "stevedore {args:?} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

fn fails(home: &Path, args: &[&str]) -> String {
    let out = run(home, args, None);
    assert!(!out.status.success(), "stevedore {args:?} should fail");
    String::from_utf8(out.stderr).unwrap()
}

/// An htpasswd registry holding `app:1`, pushed with `--dest-creds`.
fn private_registry(home: &Path) -> Registry {
    let registry = Registry::start_with_htpasswd(USER, PASS);
    let src = home.join("src");
    make_image(&src, "1", b"private\n");
    let creds = format!("{USER}:{PASS}");
    ok(
        home,
        &[
            "--tls-verify=false",
            "copy",
            "--dest-creds",
            &creds,
            &oci(&src, "1"),
            &registry.image("app:1"),
        ],
    );
    registry
}

fn authorizations(server: &FakeServer) -> Vec<String> {
    server
        .seen()
        .iter()
        .filter_map(|s| s.header("authorization").map(str::to_owned))
        .collect()
}

#[test]
fn src_creds_never_reach_the_destination() {
    let tmp = tempfile::tempdir().unwrap();
    let home = tmp.path();
    let a = private_registry(home);
    let b =
        FakeServer::start(|_| Reply::new(401, "").header("WWW-Authenticate", r#"Basic realm="b""#));
    let creds = format!("{USER}:{PASS}");
    let dst = format!("docker://{}/other/app:1", b.addr());
    let err = fails(
        home,
        &[
            "--tls-verify=false",
            "copy",
            "--src-creds",
            &creds,
            &a.image("app:1"),
            &dst,
        ],
    );
    assert!(err.contains("needs credentials"), "{err}");
    assert!(!b.seen().is_empty(), "the destination was never asked");
    assert_eq!(authorizations(&b), Vec::<String>::new());
    assert!(!err.contains(PASS));

    // The global --creds name one registry: refused for a copy between two.
    let seen_before = b.seen().len();
    let err = fails(
        home,
        &[
            "--tls-verify=false",
            "--creds",
            &creds,
            "copy",
            &a.image("app:1"),
            &dst,
        ],
    );
    assert!(
        err.contains("--src-creds") && err.contains("--dest-creds"),
        "{err}"
    );
    assert_eq!(b.seen().len(), seen_before);

    // ...and bound to the registry of a single-image verb.
    ok(
        home,
        &[
            "--tls-verify=false",
            "--creds",
            &creds,
            "inspect",
            &a.image("app:1"),
        ],
    );
}

#[test]
fn a_token_service_on_another_host_gets_only_its_registrys_credentials() {
    let tmp = tempfile::tempdir().unwrap();
    let home = tmp.path();
    let a = private_registry(home);
    let tokens = FakeServer::start(|_| Reply::new(200, r#"{"token": "t0k3n"}"#));
    let realm = format!(
        r#"Bearer realm="http://{}/token",service="b""#,
        tokens.addr()
    );
    let b = FakeServer::start(move |_| Reply::new(401, "").header("WWW-Authenticate", &realm));
    let dst = format!("docker://{}/other/app:1", b.addr());
    let creds = format!("{USER}:{PASS}");
    let err = fails(
        home,
        &[
            "--tls-verify=false",
            "copy",
            "--src-creds",
            &creds,
            &a.image("app:1"),
            &dst,
        ],
    );
    assert!(err.contains("needs credentials"), "{err}");
    assert!(
        !tokens.seen().is_empty(),
        "the token service was never asked"
    );
    assert_eq!(authorizations(&tokens), Vec::<String>::new());
    assert!(authorizations(&b).iter().all(|h| h == "Bearer t0k3n"));

    // The destination's own credentials do go to the realm its challenge names.
    let err = fails(
        home,
        &[
            "--tls-verify=false",
            "copy",
            "--src-creds",
            &creds,
            "--dest-creds",
            "bob:b0b",
            &a.image("app:1"),
            &dst,
        ],
    );
    assert!(err.contains("refused the credentials"), "{err}");
    let bob = format!(
        "Basic {}",
        base64::engine::general_purpose::STANDARD.encode("bob:b0b")
    );
    assert!(authorizations(&tokens).iter().all(|h| *h == bob));
    assert!(!authorizations(&tokens).is_empty());
}

#[test]
fn a_redirect_to_another_host_carries_no_credentials() {
    let tmp = tempfile::tempdir().unwrap();
    let home = tmp.path();
    let config =
        br#"{"architecture":"amd64","os":"linux","rootfs":{"type":"layers","diff_ids":[]}}"#;
    let config_digest = stevedore::Digest::sha256(config).to_string();
    let manifest = format!(
        r#"{{"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json","config":{{"mediaType":"application/vnd.oci.image.config.v1+json","digest":"{config_digest}","size":{}}},"layers":[]}}"#,
        config.len()
    );
    let cdn = FakeServer::start(move |_| Reply::new(200, config.to_vec()));
    let cdn_addr = cdn.addr();
    let basic = format!(
        "Basic {}",
        base64::engine::general_purpose::STANDARD.encode(format!("{USER}:{PASS}"))
    );
    let registry = FakeServer::start(move |seen: &Seen| {
        if seen.header("authorization") != Some(basic.as_str()) {
            return Reply::new(401, "").header("WWW-Authenticate", r#"Basic realm="s""#);
        }
        if seen.url.contains("/manifests/") {
            Reply::new(200, manifest.clone())
                .header("Content-Type", "application/vnd.oci.image.manifest.v1+json")
        } else if seen.url.contains("/blobs/") {
            Reply::new(307, "").header("Location", &format!("http://{cdn_addr}/blob"))
        } else {
            Reply::new(200, "{}")
        }
    });
    let creds = format!("{USER}:{PASS}");
    let image = format!("docker://{}/app:1", registry.addr());
    let out = ok(
        home,
        &["--tls-verify=false", "--creds", &creds, "inspect", &image],
    );
    assert!(out.contains("linux/amd64"), "{out}");
    assert!(!cdn.seen().is_empty(), "the redirect was not followed");
    assert_eq!(authorizations(&cdn), Vec::<String>::new());
}

#[test]
fn skopeo_login_then_stevedore_and_stevedore_login_then_skopeo() {
    let tmp = tempfile::tempdir().unwrap();
    let home = tmp.path();
    let registry = private_registry(home);
    let image = registry.image("app:1");

    // skopeo writes the primary file under XDG_RUNTIME_DIR; stevedore finds it.
    std::fs::create_dir_all(home.join("run")).unwrap();
    let skopeo = |args: &[&str]| {
        Command::new("skopeo")
            .args(args)
            .env("HOME", home)
            .env("XDG_RUNTIME_DIR", home.join("run"))
            .env("XDG_CONFIG_HOME", home.join("config"))
            .env_remove("REGISTRY_AUTH_FILE")
            .env_remove("DOCKER_CONFIG")
            .output()
            .unwrap()
    };
    let err = fails(home, &["--tls-verify=false", "inspect", &image]);
    assert!(
        err.contains("needs credentials") && err.contains("run/containers/auth.json"),
        "{err}"
    );
    let out = skopeo(&[
        "login",
        "--tls-verify=false",
        "-u",
        USER,
        "-p",
        PASS,
        &registry.addr,
    ]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    ok(home, &["--tls-verify=false", "inspect", &image]);
    let out = skopeo(&["logout", &registry.addr]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    fails(home, &["--tls-verify=false", "inspect", &image]);

    // stevedore writes it (--password-stdin); skopeo reads it.
    let out = run(
        home,
        &[
            "--tls-verify=false",
            "login",
            "-u",
            USER,
            "--password-stdin",
            &registry.addr,
        ],
        Some(&format!("{PASS}\n")),
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let out = skopeo(&["inspect", "--tls-verify=false", &image]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    ok(home, &["--tls-verify=false", "inspect", &image]);
    ok(home, &["logout", &registry.addr]);
    let out = skopeo(&["inspect", "--tls-verify=false", &image]);
    assert!(!out.status.success());

    // --authfile: written there, read from there; a wrong password writes nothing.
    let file = home.join("elsewhere.json");
    let file_arg = file.to_str().unwrap();
    let out = run(
        home,
        &[
            "--tls-verify=false",
            "--authfile",
            file_arg,
            "login",
            "-u",
            USER,
            "--password-stdin",
            &registry.addr,
        ],
        Some("wrong\n"),
    );
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("refused the credentials") && !err.contains("wrong"),
        "{err}"
    );
    assert!(!file.exists());
    let out = run(
        home,
        &[
            "--tls-verify=false",
            "--authfile",
            file_arg,
            "login",
            "-u",
            USER,
            "--password-stdin",
            &registry.addr,
        ],
        Some(PASS),
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let out = Command::new("skopeo")
        .args([
            "inspect",
            "--tls-verify=false",
            "--authfile",
            file_arg,
            &image,
        ])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    ok(
        home,
        &[
            "--tls-verify=false",
            "--authfile",
            file_arg,
            "inspect",
            &image,
        ],
    );
}

#[test]
fn credentials_in_a_later_auth_file_are_found() {
    let tmp = tempfile::tempdir().unwrap();
    let home = tmp.path();
    let registry = private_registry(home);
    let file = home.join("config/containers/auth.json");
    std::fs::create_dir_all(file.parent().unwrap()).unwrap();
    let auth = base64::engine::general_purpose::STANDARD.encode(format!("{USER}:{PASS}"));
    std::fs::write(
        &file,
        format!(
            r#"{{"auths": {{"{}": {{"auth": "{auth}"}}}}}}"#,
            registry.addr
        ),
    )
    .unwrap();
    ok(
        home,
        &["--tls-verify=false", "inspect", &registry.image("app:1")],
    );
    // A wrong password there: refused, the file named, the password not shown.
    let bad = base64::engine::general_purpose::STANDARD.encode(format!("{USER}:nope-pw"));
    std::fs::write(
        &file,
        format!(
            r#"{{"auths": {{"{}": {{"auth": "{bad}"}}}}}}"#,
            registry.addr
        ),
    )
    .unwrap();
    let err = fails(
        home,
        &["--tls-verify=false", "inspect", &registry.image("app:1")],
    );
    assert!(
        err.contains("refused the credentials") && err.contains(file.to_str().unwrap()),
        "{err}"
    );
    assert!(!err.contains("nope-pw"));
}

#[test]
fn a_registry_that_never_answers_times_out_naming_it() {
    let tmp = tempfile::tempdir().unwrap();
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap().to_string();
    let started = Instant::now();
    let err = fails(
        tmp.path(),
        &[
            "--tls-verify=false",
            "--timeout",
            "1",
            "--retry-times",
            "0",
            "inspect",
            &format!("docker://{addr}/app:1"),
        ],
    );
    assert!(
        started.elapsed() < Duration::from_secs(20),
        "{:?}",
        started.elapsed()
    );
    assert!(err.contains("network") && err.contains(&addr), "{err}");
    drop(listener);
}

#[test]
fn plain_http_missing_tags_and_bare_tls_verify() {
    let tmp = tempfile::tempdir().unwrap();
    let home = tmp.path();
    let registry = Registry::start();
    let src = home.join("src");
    make_image(&src, "1", b"tags\n");
    // A bare --tls-verify means true and takes no argument.
    ok(
        home,
        &["--tls-verify", "tags", &format!("oci:{}", src.display())],
    );
    ok(
        home,
        &[
            "copy",
            "--src-tls-verify",
            "--dest-tls-verify=false",
            &oci(&src, "1"),
            &registry.image("team/app:1"),
        ],
    );
    // Plain HTTP without --tls-verify=false: said in words, the flag named.
    let err = fails(home, &["inspect", &registry.image("team/app:1")]);
    assert!(
        err.contains("plain HTTP") && err.contains("--tls-verify=false"),
        "{err}"
    );
    assert!(!err.contains("InvalidContentType"), "{err}");
    // A missing tag: which one was assumed, and the tags there are.
    let err = fails(
        home,
        &["--tls-verify=false", "inspect", &registry.image("team/app")],
    );
    assert!(
        err.contains("\"latest\"") && err.contains("assumed") && err.contains("its tags: 1"),
        "{err}"
    );
    let err = fails(
        home,
        &[
            "--tls-verify=false",
            "inspect",
            &registry.image("team/app:2"),
        ],
    );
    assert!(
        err.contains("has no tag \"2\"") && err.contains("its tags: 1"),
        "{err}"
    );
}

/// With --tls-verify=false a registry is tried over HTTPS first. docker-
/// registry on plain HTTP answers the TLS handshake in plain HTTP, and that
/// answer stands for the `/v2/` ping: the first request goes out at once and
/// its 401 brings the challenge. (`login` still asks for the challenge before
/// it checks credentials: the wrong password refused in
/// `skopeo_login_then_stevedore_and_stevedore_login_then_skopeo` goes this way.)
#[test]
fn a_plain_http_answer_to_the_tls_probe_stands_for_the_ping() {
    let home = tempfile::tempdir().unwrap();
    let home = home.path();
    let registry = private_registry(home);
    let pings = registry.count("GET", "/v2/ HTTP");
    let creds = format!("{USER}:{PASS}");
    let repo = registry.image("app");
    let tags = ok(
        home,
        &["--tls-verify=false", "--creds", &creds, "tags", &repo],
    );
    assert_eq!(tags, "1\n");
    assert_eq!(registry.count("GET", "/v2/ HTTP"), pings, "no ping");
    assert_eq!(
        registry.count("GET", "/v2/app/tags/list"),
        2,
        "anonymous, then with credentials"
    );
}

/// A web server that is no registry (Python's `http.server`, whose `/v2/`
/// is 404; it answers a TLS handshake in plain HTTP, so no ping precedes the
/// first request) is named so: `login` refuses it and writes no auth file,
/// and `tags` says it is not a registry instead of "no such repository", as
/// skopeo's failed ping does (distribution spec, "Determining support").
#[test]
fn a_web_server_that_is_not_a_registry_is_named_so() {
    let home = tempfile::tempdir().unwrap();
    let home = home.path();
    let port = common::registry::free_port();
    let addr = format!("127.0.0.1:{port}");
    let mut server = Command::new("python3")
        .args([
            "-m",
            "http.server",
            "--bind",
            "127.0.0.1",
            &port.to_string(),
        ])
        .current_dir(home)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let started = Instant::now();
    while std::net::TcpStream::connect(&addr).is_err() {
        assert!(started.elapsed() < Duration::from_secs(20), "http.server");
        std::thread::sleep(Duration::from_millis(50));
    }
    let login = run(
        home,
        &[
            "--tls-verify=false",
            "login",
            "-u",
            "u",
            "--password-stdin",
            &addr,
        ],
        Some("pw\n"),
    );
    let tags = fails(
        home,
        &[
            "--tls-verify=false",
            "tags",
            &format!("docker://{addr}/app"),
        ],
    );
    server.kill().unwrap();
    server.wait().unwrap();
    assert!(!login.status.success());
    let err = String::from_utf8_lossy(&login.stderr);
    assert!(err.contains("is not an OCI registry"), "{err}");
    assert!(!home.join("run/containers/auth.json").exists());
    assert!(tags.contains("is not an OCI registry"), "{tags}");
}
