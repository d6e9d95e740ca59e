//! A hostile registry (tests/common/raw.rs, raw TCP): every way a registry
//! can lie, loop, dribble or flood, each met with its typed error within a
//! bounded time and memory, and no credential sent where it must not go.
//! Table-driven: a case is a handler that overrides a well-behaved registry
//! for the requests it cares about, an action, and the expected outcome.
//!
//! The well-behaved registry the cases bend is in `honest.rs`, the table of
//! cases in `cases.rs`; this file runs each and judges it.

mod cases;
#[path = "../common/mod.rs"]
mod common;
mod honest;

use std::io::Write;
use std::sync::Arc;
use std::time::{Duration, Instant};

use cases::{cases, Action, Case};
use common::raw::{RawServer, Seen};
use common::*;
use honest::{honest, image, other_host, Ctx, Img, BASIC};
use stevedore::auth::{Credentials, Secret};
use stevedore::files::FilesOptions;
use stevedore::registry::{Client, ClientOptions, Repository};
use stevedore::transport::parse_with;
use stevedore::{copy, CopyOptions};

/// The process's peak resident set (VmHWM), in KiB.
fn peak_rss_kib() -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap();
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .unwrap()
}

fn run(case: &Case, img: &Arc<Img>) -> (stevedore::Result<()>, Duration, Vec<Seen>, Vec<Seen>) {
    let other_ctx = Ctx {
        img: img.clone(),
        other: String::new(),
    };
    let other = RawServer::start(move |seen| other_host(&other_ctx, seen));
    let ctx = Ctx {
        img: img.clone(),
        other: other.addr(),
    };
    let handler = case.handler;
    let registry =
        RawServer::start(move |seen| handler(&ctx, seen).unwrap_or_else(|| honest(&ctx, seen)));
    let client = Client::new(ClientOptions {
        plain_http: vec![registry.addr(), other.addr()],
        credentials: [(
            registry.addr(),
            Credentials::Basic {
                username: "alice".into(),
                password: Secret::new("pw"),
            },
        )]
        .into(),
        max_retries: 1,
        retry_delay_ms: 10,
        connect_timeout_secs: 3,
        read_timeout_secs: 3,
        max_redirects: 5,
        min_body_bytes_per_sec: 100,
        body_rate_window_secs: 2,
        ..Default::default()
    })
    .unwrap();
    let repo = Repository {
        registry: registry.addr(),
        name: "app".into(),
    };
    let tmp = tempfile::tempdir().unwrap();
    let start = Instant::now();
    let result = match case.action {
        Action::Manifest(reference) => {
            let reference = if reference == "DIGEST" {
                img.digest.as_str()
            } else {
                reference
            };
            client.get_manifest(&repo, reference).map(drop)
        }
        Action::Copy(tag) => {
            let src =
                parse_with(&format!("docker://{}/app:{tag}", registry.addr()), &client).unwrap();
            let dst = parse_with(&oci(&tmp.path().join("out"), "x"), &client).unwrap();
            copy(&src, &dst, &CopyOptions::default()).map(drop)
        }
        Action::Tags => client.list_tags(&repo, None).map(drop),
        Action::Files(tag) => {
            let src =
                parse_with(&format!("docker://{}/app:{tag}", registry.addr()), &client).unwrap();
            let mut options = FilesOptions::default();
            options.limits.max_layer_bytes = 8 << 20;
            stevedore::files::files(&src, &options).map(drop)
        }
    };
    let elapsed = start.elapsed();
    let seen = (registry.seen(), other.seen());
    drop(registry);
    drop(other);
    (result, elapsed, seen.0, seen.1)
}

#[test]
fn a_hostile_registry_gets_typed_errors_in_bounded_time_and_memory() {
    let img = Arc::new(image());
    let mut failures = Vec::new();
    for case in cases() {
        let before = peak_rss_kib();
        let (result, elapsed, at_registry, at_other) = run(&case, &img);
        let grown_mib = (peak_rss_kib() - before) / 1024;
        let kind = result.as_ref().err().map(|e| e.kind());
        let message = result
            .as_ref()
            .err()
            .map(|e| e.to_string())
            .unwrap_or_default();
        let _ = writeln!(
            std::io::stderr(),
            "{:<60} {:>6.1}s {:>4} MiB {kind:?} {message}",
            case.name,
            elapsed.as_secs_f64(),
            grown_mib
        );
        if kind != case.expect {
            failures.push(format!(
                "{}: expected {:?}, got {kind:?} ({message})",
                case.name, case.expect
            ));
        }
        if elapsed > Duration::from_secs(case.secs) {
            failures.push(format!(
                "{}: took {elapsed:?}, more than {} s",
                case.name, case.secs
            ));
        }
        if grown_mib > 64 {
            failures.push(format!("{}: the peak RSS grew {grown_mib} MiB", case.name));
        }
        assert!(
            !message.contains("pw") || !message.contains("alice:"),
            "{message}"
        );
        // Credentials: the registry sees only its own; the other host none.
        for seen in &at_registry {
            let auth = seen.header("authorization");
            if auth.is_some_and(|a| a != BASIC) {
                failures.push(format!("{}: the registry saw {auth:?}", case.name));
            }
        }
        for seen in &at_other {
            if let Some(auth) = seen.header("authorization") {
                failures.push(format!(
                    "{}: the other host {} saw Authorization {auth}",
                    case.name, seen.url
                ));
            }
        }
        if at_registry.len() > 40 {
            failures.push(format!(
                "{}: {} requests to the registry",
                case.name,
                at_registry.len()
            ));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}
