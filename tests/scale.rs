//! Copies and syncs at scale (#21): registry-to-registry streaming that
//! touches no disk, the blob-location cache across processes, a sync whose
//! shared blobs move once, and tag listings of many pages.

mod common;

use std::path::Path;
use std::process::Command;

use common::registry::Registry;
use common::*;
use stevedore::registry::Repository;
use stevedore::sync::SyncJob;
use stevedore::transport::{parse_with, OciLayout, Transport};
use stevedore::{CopyOptions, SyncOutcome};

/// Runs the CLI with TMPDIR and XDG_CACHE_HOME set; panics on failure.
fn cli(tmpdir: &Path, cache: &Path, args: &[&str]) -> String {
    let out = Command::new(env!("CARGO_BIN_EXE_stevedore"))
        .env("TMPDIR", tmpdir)
        .env("XDG_CACHE_HOME", cache)
        .arg("--tls-verify=false")
        .args(args)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "stevedore {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

/// Every file under `dir`, relative to it.
fn files_under(dir: &Path) -> Vec<String> {
    let mut found = Vec::new();
    let mut stack = vec![dir.to_owned()];
    while let Some(d) = stack.pop() {
        for entry in std::fs::read_dir(&d).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                stack.push(path);
            } else {
                found.push(path.strip_prefix(dir).unwrap().display().to_string());
            }
        }
    }
    found.sort();
    found
}

/// Blob uploads (session PATCHes and closing PUTs) the registry logged.
fn uploads(registry: &Registry) -> usize {
    registry.count("PUT", "/blobs/uploads/") + registry.count("PATCH", "/blobs/uploads/")
}

/// A 3 MiB image (two chunks of 2 MiB each way) tagged `1` in a layout.
fn big_image(dir: &Path) -> stevedore::manifest::Manifest {
    let layout = OciLayout::new(dir);
    let data = incompressible(3 << 20, 11);
    let files: &[(&str, &[u8])] = &[("big.bin", &data)];
    let manifest = write_image(&layout, &host_platform(), &[LayerSpec { files }]);
    layout.put_manifest(&manifest, Some("1")).unwrap();
    manifest
}

#[test]
fn a_copy_between_two_docker_registries_writes_nothing_to_temp_or_cache() {
    let tmp = tempfile::tempdir().unwrap();
    let t = tmp.path();
    let (a, b) = (Registry::start(), Registry::start());
    let manifest = big_image(&t.join("src"));
    let (tmpdir, cache) = (t.join("tmp"), t.join("cache"));
    std::fs::create_dir_all(&tmpdir).unwrap();
    cli(
        &tmpdir,
        &cache,
        &[
            "copy",
            "--quiet",
            &oci(&t.join("src"), "1"),
            &a.image("app:1"),
        ],
    );
    let _ = std::fs::remove_dir_all(&cache);
    let out = cli(
        &tmpdir,
        &cache,
        &[
            "copy",
            "--json",
            "--jobs",
            "4",
            &a.image("app:1"),
            &b.image("mirror/app:1"),
        ],
    );
    let report: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(report["blobs_copied"], 2, "{out}");
    assert_eq!(report["digest"], manifest.digest().to_string());
    assert_eq!(skopeo_raw(&b.image("mirror/app:1")), manifest.raw());
    assert!(
        files_under(&tmpdir).is_empty(),
        "{:?}",
        files_under(&tmpdir)
    );
    // The cache directory holds the small location file and its lock only.
    for file in files_under(&cache) {
        assert!(file.starts_with("stevedore/blob-locations."), "{file}");
        assert!(std::fs::metadata(cache.join(&file)).unwrap().len() < 4096);
    }
}

#[test]
fn a_second_copy_into_a_new_repository_mounts_from_the_cache_of_another_process() {
    let tmp = tempfile::tempdir().unwrap();
    let t = tmp.path();
    let registry = Registry::start();
    big_image(&t.join("src"));
    let (tmpdir, cache) = (t.join("tmp"), t.join("cache"));
    std::fs::create_dir_all(&tmpdir).unwrap();
    let src = oci(&t.join("src"), "1");
    cli(
        &tmpdir,
        &cache,
        &["copy", "--quiet", &src, &registry.image("first:1")],
    );
    let before = uploads(&registry);
    assert!(before >= 2, "the first copy uploaded {before} times");
    // Another process, another repository, the same layout as source:
    // only the cache knows where the blobs are.
    let out = cli(
        &tmpdir,
        &cache,
        &["copy", "--json", &src, &registry.image("second:1")],
    );
    let report: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(
        (&report["blobs_mounted"], &report["blobs_copied"]),
        (&2.into(), &0.into()),
        "{out}"
    );
    assert_eq!(uploads(&registry), before, "the second copy uploaded");
    // With the cache off, the blobs go up again.
    cli(
        &tmpdir,
        &cache,
        &[
            "copy",
            "--quiet",
            "--no-blob-cache",
            &src,
            &registry.image("third:1"),
        ],
    );
    assert!(uploads(&registry) > before);
}

#[test]
fn a_sync_of_images_sharing_a_base_sends_each_shared_blob_once_and_a_second_sends_none() {
    let tmp = tempfile::tempdir().unwrap();
    let t = tmp.path();
    let (source, dest) = (Registry::start(), Registry::start());
    let layout = OciLayout::new(t.join("src"));
    let base: &[(&str, &[u8])] = &[("etc/base", b"the shared base\n")];
    let mut tops = Vec::new();
    for i in 0..8 {
        let top = format!("image {i}\n");
        let files: &[(&str, &[u8])] = &[("etc/top", top.as_bytes())];
        let m = write_image(
            &layout,
            &host_platform(),
            &[LayerSpec { files: base }, LayerSpec { files }],
        );
        layout.put_manifest(&m, Some(&i.to_string())).unwrap();
        tops.push(m);
    }
    let shared = match tops[0].content() {
        stevedore::manifest::ManifestContent::Image(m) => m.layers[0].digest.clone(),
        _ => unreachable!(),
    };
    // One client reaching both registries.
    let client = stevedore::registry::Client::new(stevedore::registry::ClientOptions {
        insecure: vec![source.addr.clone(), dest.addr.clone()],
        ..Default::default()
    })
    .unwrap();
    let seed: Vec<SyncJob> = (0..8)
        .map(|i| SyncJob {
            src: oci(&t.join("src"), &i.to_string()),
            dst: source.image(&format!("lib/app{i}:{i}")),
        })
        .collect();
    let jobs: Vec<SyncJob> = (0..8)
        .map(|i| SyncJob {
            src: source.image(&format!("lib/app{i}:{i}")),
            dst: dest.image(&format!("mirror/app{i}:{i}")),
        })
        .collect();
    let options = CopyOptions {
        blob_cache_dir: Some(t.join("cache")),
        ..CopyOptions::default()
    };
    let run = |jobs: &[SyncJob]| {
        let results = stevedore::sync(jobs, &options, |s| parse_with(s, &client));
        for r in &results {
            assert!(!matches!(r.outcome, SyncOutcome::Failed { .. }), "{r:?}");
        }
        results
    };
    run(&seed);
    run(&jobs);
    let sent = |digest: &stevedore::Digest| {
        dest.log()
            .lines()
            .filter(|l| l.contains("\"PUT ") && l.contains(digest.hex()))
            .count()
    };
    assert_eq!(
        sent(&shared),
        1,
        "the shared base went up {} times",
        sent(&shared)
    );
    let after_first = uploads(&dest);
    assert_eq!(
        after_first,
        8 * 2 + 1,
        "one base, eight tops, eight configs"
    );
    let again = run(&jobs);
    assert!(
        again
            .iter()
            .all(|r| matches!(r.outcome, SyncOutcome::Skipped { .. })),
        "{again:?}"
    );
    assert_eq!(uploads(&dest), after_first, "the second sync uploaded");
}

#[test]
fn tags_follows_more_than_ten_pages_of_our_server() {
    // docker-registry 2.8 answers every tag in one page whatever `n` asks;
    // our server pages: 25 tags two a page are 13 pages, each one needed.
    let tmp = tempfile::tempdir().unwrap();
    let server = stevedore::server::Server::start(stevedore::server::ServerOptions {
        root: Some(tmp.path().join("store")),
        ..Default::default()
    })
    .unwrap();
    let client = stevedore::registry::Client::new(stevedore::registry::ClientOptions {
        plain_http: vec![server.host()],
        ..Default::default()
    })
    .unwrap();
    make_image(&tmp.path().join("src"), "1", b"tagged\n");
    let src = parse_with(&oci(&tmp.path().join("src"), "1"), &client).unwrap();
    let first = format!("docker://{}/many:t000", server.host());
    let copied = stevedore::copy(
        &src,
        &parse_with(&first, &client).unwrap(),
        &CopyOptions::default(),
    )
    .unwrap();
    let manifest = src
        .transport()
        .get_manifest(&src.resolve().unwrap())
        .unwrap();
    assert_eq!(&copied.digest, manifest.digest());
    let repo = Repository {
        registry: server.host(),
        name: "many".into(),
    };
    let expected: Vec<String> = (0..25).map(|i| format!("t{i:03}")).collect();
    for tag in &expected[1..] {
        client.put_manifest(&repo, tag, &manifest).unwrap();
    }
    let mut listed = client.list_tags(&repo, Some(2)).unwrap();
    listed.sort();
    assert_eq!(listed, expected);
    let mut cli_listed: Vec<String> =
        stevedore::tags(&parse_with(&first, &client).unwrap()).unwrap();
    cli_listed.sort();
    assert_eq!(cli_listed, expected);
}
