//! The bearer-token flow against Debian's docker-registry configured for token
//! auth, with a small token service in the test that issues ES256 JWTs the
//! registry verifies against its `rootcertbundle`.

mod common;

use std::path::Path;
use std::time::{SystemTime, UNIX_EPOCH};

use base64::Engine as _;
use common::fake::{FakeServer, Reply, Seen};
use common::registry::Registry;
use common::*;
use p256::ecdsa::signature::Signer;
use p256::pkcs8::DecodePrivateKey;
use stevedore::auth::{Credentials, Secret};
use stevedore::registry::{Client, ClientOptions};
use stevedore::transport::parse_with;
use stevedore::{copy, CopyOptions, ErrorKind};

const SERVICE: &str = "stevedore-test";
const ISSUER: &str = "stevedore-test-issuer";
const USER: &str = "alice";
const PASSWORD: &str = "token-pw";
const REFRESH: &str = "refresh-token-xyz";

fn b64url(bytes: &[u8]) -> String {
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
}

fn decode(s: &str) -> String {
    percent_encoding::percent_decode_str(&s.replace('+', " "))
        .decode_utf8()
        .unwrap()
        .into_owned()
}

/// `key=value` pairs of a query string or form body.
fn pairs(s: &str) -> Vec<(String, String)> {
    s.split('&')
        .filter_map(|p| p.split_once('='))
        .map(|(k, v)| (decode(k), decode(v)))
        .collect()
}

/// A JWT granting `scopes` (`repository:NAME:ACTIONS`), signed by `key`, with
/// the certificate chain in `x5c`.
fn token(key: &p256::ecdsa::SigningKey, cert_der: &[u8], scopes: &[String]) -> String {
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs();
    let access: Vec<serde_json::Value> = scopes
        .iter()
        .filter_map(|s| {
            let (kind, rest) = s.split_once(':')?;
            let (name, actions) = rest.rsplit_once(':')?;
            Some(serde_json::json!({"type": kind, "name": name, "actions": actions.split(',').collect::<Vec<_>>()}))
        })
        .collect();
    let header = serde_json::json!({"typ": "JWT", "alg": "ES256",
        "x5c": [base64::engine::general_purpose::STANDARD.encode(cert_der)]});
    let claims = serde_json::json!({"iss": ISSUER, "sub": USER, "aud": SERVICE, "exp": now + 300,
        "nbf": now - 10, "iat": now, "jti": format!("{now}-{}", scopes.len()), "access": access});
    let input = format!(
        "{}.{}",
        b64url(header.to_string().as_bytes()),
        b64url(claims.to_string().as_bytes())
    );
    let signature: p256::ecdsa::Signature = key.sign(input.as_bytes());
    format!("{input}.{}", b64url(&signature.to_bytes()))
}

/// The token service: GET with basic credentials, or an OAuth2 refresh-token POST.
fn token_service(dir: &Path) -> FakeServer {
    let key_path = dir.join("key.pem");
    let cert_path = dir.join("cert.pem");
    tool_ok(
        "openssl",
        &[
            "req",
            "-x509",
            "-newkey",
            "ec",
            "-pkeyopt",
            "ec_paramgen_curve:prime256v1",
            "-nodes",
            "-keyout",
            key_path.to_str().unwrap(),
            "-out",
            cert_path.to_str().unwrap(),
            "-days",
            "2",
            "-subj",
            "/CN=stevedore-test-token",
        ],
    );
    let der = tool_ok(
        "openssl",
        &[
            "x509",
            "-in",
            cert_path.to_str().unwrap(),
            "-outform",
            "der",
        ],
    );
    let key = p256::ecdsa::SigningKey::from_pkcs8_pem(&std::fs::read_to_string(&key_path).unwrap())
        .unwrap();
    let basic = format!(
        "Basic {}",
        base64::engine::general_purpose::STANDARD.encode(format!("{USER}:{PASSWORD}"))
    );
    FakeServer::start(move |seen: &Seen| {
        let (scopes, authorised): (Vec<String>, bool) = if seen.method == "POST" {
            let form = pairs(std::str::from_utf8(&seen.body).unwrap());
            let get = |k: &str| form.iter().find(|(n, _)| n == k).map(|(_, v)| v.clone());
            let scopes = get("scope")
                .map(|s| s.split(' ').map(str::to_owned).collect())
                .unwrap_or_default();
            (
                scopes,
                get("grant_type").as_deref() == Some("refresh_token")
                    && get("refresh_token").as_deref() == Some(REFRESH),
            )
        } else {
            let query = seen.url.split_once('?').map_or("", |(_, q)| q);
            let scopes = pairs(query)
                .into_iter()
                .filter(|(k, _)| k == "scope")
                .map(|(_, v)| v)
                .collect();
            (scopes, seen.header("authorization") == Some(basic.as_str()))
        };
        if !authorised {
            return Reply::new(
                401,
                r#"{"errors":[{"code":"UNAUTHORIZED","message":"bad credentials"}]}"#,
            );
        }
        let jwt = token(&key, &der, &scopes);
        Reply::new(
            200,
            serde_json::json!({"token": jwt, "expires_in": 300}).to_string(),
        )
        .header("Content-Type", "application/json")
    })
}

fn token_registry(dir: &tempfile::TempDir, tokens: &FakeServer) -> Registry {
    let auth = format!(
        "auth:\n  token:\n    realm: http://{}/token\n    service: {SERVICE}\n    issuer: {ISSUER}\n    rootcertbundle: {}\n",
        tokens.addr(),
        dir.path().join("cert.pem").display()
    );
    Registry::start_with_auth(&auth, None)
}

fn client(registry: &Registry, password: &str) -> Client {
    Client::new(ClientOptions {
        insecure: vec![registry.addr.clone()],
        credentials: [(
            registry.addr.clone(),
            Credentials::Basic {
                username: USER.into(),
                password: Secret::new(password),
            },
        )]
        .into(),
        ..Default::default()
    })
    .unwrap()
}

/// The scopes of each token request, in order.
fn requested_scopes(tokens: &FakeServer) -> Vec<String> {
    tokens
        .seen()
        .iter()
        .map(|s| {
            let query = s.url.split_once('?').map_or("", |(_, q)| q);
            pairs(query)
                .into_iter()
                .filter(|(k, _)| k == "scope")
                .map(|(_, v)| v)
                .collect::<Vec<_>>()
                .join(" ")
        })
        .collect()
}

#[test]
fn bearer_tokens_are_fetched_once_per_scope_and_push_escalates() {
    let dir = tempfile::tempdir().unwrap();
    let tokens = token_service(dir.path());
    let registry = token_registry(&dir, &tokens);
    let tmp = tempfile::tempdir().unwrap();
    let a = tmp.path().join("a");
    let layout = stevedore::transport::OciLayout::new(&a);
    let contents: Vec<String> = (0..9).map(|i| format!("layer {i}\n")).collect();
    let files: Vec<[(&str, &[u8]); 1]> = contents
        .iter()
        .map(|c| [("etc/layer", c.as_bytes())])
        .collect();
    let layers: Vec<LayerSpec> = files.iter().map(|f| LayerSpec { files: f }).collect();
    let manifest = write_image(&layout, &host_platform(), &layers);
    stevedore::transport::Transport::put_manifest(&layout, &manifest, Some("1")).unwrap();
    assert_eq!(manifest.blobs().len(), 10);

    // A push asks for pull first (blob checks), then escalates to pull,push.
    let pusher = client(&registry, PASSWORD);
    copy(
        &parse_with(&oci(&a, "1"), &pusher).unwrap(),
        &parse_with(&registry.image("team/app:1"), &pusher).unwrap(),
        &CopyOptions::default(),
    )
    .unwrap();
    assert_eq!(
        requested_scopes(&tokens),
        ["repository:team/app:pull", "repository:team/app:pull,push"]
    );

    // A pull of the 10-blob image by a fresh client asks for one token.
    let before = tokens.seen().len();
    let puller = client(&registry, PASSWORD);
    let back = tmp.path().join("back");
    let report = copy(
        &parse_with(&registry.image("team/app:1"), &puller).unwrap(),
        &parse_with(&oci(&back, "1"), &puller).unwrap(),
        &CopyOptions::default(),
    )
    .unwrap();
    assert_eq!(report.blobs_copied, 10);
    assert_eq!(
        tokens.seen().len() - before,
        1,
        "one token for the whole pull"
    );

    // skopeo, through the same token service, reads what we pushed.
    let raw = tool_ok(
        "skopeo",
        &[
            "inspect",
            "--raw",
            "--tls-verify=false",
            "--creds",
            &format!("{USER}:{PASSWORD}"),
            &registry.image("team/app:1"),
        ],
    );
    assert_eq!(raw, manifest.raw());
}

#[test]
fn refresh_tokens_use_oauth2_and_bad_credentials_are_unauthorized() {
    let dir = tempfile::tempdir().unwrap();
    let tokens = token_service(dir.path());
    let registry = token_registry(&dir, &tokens);
    let tmp = tempfile::tempdir().unwrap();
    let a = tmp.path().join("a");
    make_image(&a, "1", b"refresh\n");

    let oauth = Client::new(ClientOptions {
        insecure: vec![registry.addr.clone()],
        credentials: [(
            registry.addr.clone(),
            Credentials::IdentityToken(Secret::new(REFRESH)),
        )]
        .into(),
        ..Default::default()
    })
    .unwrap();
    copy(
        &parse_with(&oci(&a, "1"), &oauth).unwrap(),
        &parse_with(&registry.image("oauth/app:1"), &oauth).unwrap(),
        &CopyOptions::default(),
    )
    .unwrap();
    assert!(
        tokens.seen().iter().all(|s| s.method == "POST"),
        "refresh tokens go by POST"
    );

    let wrong = client(&registry, "not-the-password");
    let err = stevedore::inspect(
        &parse_with(&registry.image("oauth/app:1"), &wrong).unwrap(),
        &Default::default(),
    )
    .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Unauthorized);
    assert!(err.message().contains("refused the credentials"), "{err}");
    assert!(!err.message().contains("not-the-password"));
}
