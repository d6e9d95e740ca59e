//! Copies through a proxy that cuts connections at random points (seeded):
//! every copy completes, blobs resumed with `Range`, every digest verified.

mod common;

use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use common::registry::Registry;
use common::reset_proxy::ResetProxy;
use common::*;
use stevedore::registry::{Client, ClientOptions};
use stevedore::transport::{parse, parse_with, OciLayout, Transport};
use stevedore::{copy, CopyOptions};

#[test]
fn a_hundred_copies_through_a_connection_cutting_proxy_all_complete() {
    let tmp = tempfile::tempdir().unwrap();
    let src = tmp.path().join("src");
    let layout = OciLayout::new(&src);
    let (a, b, c) = (
        incompressible(3 << 20, 1),
        incompressible(2 << 20, 2),
        incompressible(1 << 20, 3),
    );
    let manifest = write_image(
        &layout,
        &host_platform(),
        &[
            LayerSpec {
                files: &[("a", &a)],
            },
            LayerSpec {
                files: &[("b", &b)],
            },
            LayerSpec {
                files: &[("c", &c), ("d", b"small\n")],
            },
        ],
    );
    layout.put_manifest(&manifest, Some("1")).unwrap();

    let registry = Registry::start();
    let push = parse_with(&registry.image("app:1"), &registry.client()).unwrap();
    copy(
        &parse(&oci(&src, "1")).unwrap(),
        &push,
        &CopyOptions::default(),
    )
    .unwrap();

    let proxy = ResetProxy::start(&registry.addr, 20260, 500, 3 << 20);
    let client = Client::new(ClientOptions {
        insecure: vec![proxy.addr()],
        plain_http: vec![proxy.addr()],
        max_retries: 12,
        retry_delay_ms: 5,
        ..ClientOptions::default()
    })
    .unwrap();
    let start = Instant::now();
    let copies = 100;
    let workers = 4;
    std::thread::scope(|scope| {
        for w in 0..workers {
            let (client, tmp, manifest) = (&client, tmp.path(), &manifest);
            let proxy_addr = proxy.addr();
            scope.spawn(move || {
                for i in (w..copies).step_by(workers) {
                    let from = parse_with(&format!("docker://{proxy_addr}/app:1"), client).unwrap();
                    let dir = tmp.join(format!("copy{i}"));
                    let to = parse(&oci(&dir, "1")).unwrap();
                    let report = copy(&from, &to, &CopyOptions::default())
                        .unwrap_or_else(|e| panic!("copy {i}: {e}"));
                    assert_eq!(&report.digest, manifest.digest());
                    // Every blob is there, and verifies.
                    let copied = OciLayout::new(&dir);
                    for blob in manifest.blobs() {
                        let mut bytes = Vec::new();
                        std::io::Read::read_to_end(&mut copied.get_blob(blob).unwrap(), &mut bytes)
                            .unwrap();
                        assert_eq!(stevedore::Digest::sha256(&bytes), blob.digest);
                    }
                    std::fs::remove_dir_all(&dir).unwrap();
                }
            });
        }
    });
    let resets = proxy.resets.load(Ordering::SeqCst);
    let ranged = proxy.ranged.load(Ordering::SeqCst);
    eprintln!(
        "{copies} copies in {:?}, {resets} connections cut, {ranged} ranged requests",
        start.elapsed()
    );
    assert!(resets >= 20, "the proxy cut only {resets} connections");
    assert!(ranged >= 5, "only {ranged} downloads resumed with Range");
    assert!(start.elapsed() < Duration::from_secs(300));
}
