//! Faults on the writing side of a copy: a destination whose disk fills, a
//! copy killed with `kill -9`, and the `.stevedore-blob-*` temp files a
//! killed writer leaves where unnamed files are not available.

mod common;

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant, SystemTime};

use common::*;
use stevedore::store::STALE_TEMP_AGE;
use stevedore::transport::parse;
use stevedore::{copy, CopyOptions, Digest, ErrorKind};

/// Every blob file of `layout`: each must match its name.
fn blobs_verify(layout: &Path) -> usize {
    let dir = layout.join("blobs/sha256");
    let mut count = 0;
    for entry in std::fs::read_dir(&dir).into_iter().flatten().flatten() {
        let name = entry.file_name().to_string_lossy().into_owned();
        if name.starts_with(".stevedore-blob-") {
            continue;
        }
        let bytes = std::fs::read(entry.path()).unwrap();
        assert_eq!(
            Digest::sha256(&bytes).to_string(),
            format!("sha256:{name}"),
            "a partial blob"
        );
        count += 1;
    }
    count
}

fn copy_oci(src: &Path, src_tag: &str, dst: &Path, dst_tag: &str) -> stevedore::Result<()> {
    let src = parse(&oci(src, src_tag)).unwrap();
    let dst = parse(&oci(dst, dst_tag)).unwrap();
    copy(&src, &dst, &CopyOptions::default()).map(drop)
}

#[test]
fn stale_temp_files_are_removed_by_the_next_write_and_ignored_by_readers() {
    let tmp = tempfile::tempdir().unwrap();
    let (src, dst, other) = (
        tmp.path().join("src"),
        tmp.path().join("dst"),
        tmp.path().join("o"),
    );
    make_image(&src, "1", b"one\n");
    make_image(&src, "2", b"two\n");
    copy_oci(&src, "1", &dst, "1").unwrap();
    let blobs = dst.join("blobs/sha256");
    let old = blobs.join(".stevedore-blob-killed");
    let fresh = blobs.join(".stevedore-blob-writing");
    std::fs::write(&old, b"partial").unwrap();
    std::fs::write(&fresh, b"partial").unwrap();
    let long_ago = SystemTime::now() - STALE_TEMP_AGE - Duration::from_secs(60);
    std::fs::File::options()
        .write(true)
        .open(&old)
        .unwrap()
        .set_modified(long_ago)
        .unwrap();

    // Readers ignore them.
    copy_oci(&dst, "1", &other, "1").unwrap();
    assert!(old.exists() && fresh.exists(), "reading removes nothing");
    // The next write removes the old one only.
    copy_oci(&src, "2", &dst, "2").unwrap();
    assert!(!old.exists(), "a stale temp file survived a write");
    assert!(
        fresh.exists(),
        "a temp file younger than the grace period was removed"
    );
    blobs_verify(&dst);
    copy_oci(&dst, "2", &other, "2").unwrap();
}

/// A tmpfs mounted for a test, unmounted when dropped.
struct Tmpfs(PathBuf);

impl Tmpfs {
    fn mount(dir: &Path, size: &str) -> Option<Tmpfs> {
        std::fs::create_dir_all(dir).unwrap();
        let ok = Command::new("mount")
            .args(["-t", "tmpfs", "-o", &format!("size={size}"), "tmpfs"])
            .arg(dir)
            .status()
            .is_ok_and(|s| s.success());
        ok.then(|| Tmpfs(dir.to_owned()))
    }
}

impl Drop for Tmpfs {
    fn drop(&mut self) {
        let _ = Command::new("umount").arg(&self.0).status();
    }
}

#[test]
fn a_full_disk_fails_with_an_io_error_and_no_partial_blob_then_a_rerun_completes() {
    let tmp = tempfile::tempdir().unwrap();
    let src = tmp.path().join("src");
    make_image(&src, "1", &incompressible(5 << 20, 7));
    let Some(disk) = Tmpfs::mount(&tmp.path().join("disk"), "8m") else {
        eprintln!("skipped: mounting a tmpfs needs root");
        return;
    };
    let filler = disk.0.join("filler");
    std::fs::write(&filler, vec![1u8; 4 << 20]).unwrap();
    let dst = disk.0.join("layout");
    let e = copy_oci(&src, "1", &dst, "1").unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Io, "{e}");
    assert!(e.to_string().contains("No space left"), "{e}");
    if dst.exists() {
        blobs_verify(&dst);
        let leftovers: Vec<_> = std::fs::read_dir(dst.join("blobs/sha256"))
            .into_iter()
            .flatten()
            .flatten()
            .filter(|e| {
                e.file_name()
                    .to_string_lossy()
                    .starts_with(".stevedore-blob-")
            })
            .collect();
        assert!(leftovers.is_empty(), "temp files left: {leftovers:?}");
    }
    std::fs::remove_file(&filler).unwrap();
    copy_oci(&src, "1", &dst, "1").unwrap();
    assert_eq!(blobs_verify(&dst), 4, "manifest, config, two layers");
    copy_oci(&dst, "1", &tmp.path().join("back"), "1").unwrap();
}

#[test]
fn a_copy_killed_with_sigkill_leaves_no_partial_blob_and_a_rerun_completes() {
    let tmp = tempfile::tempdir().unwrap();
    let src = tmp.path().join("src");
    make_image(&src, "1", &incompressible(24 << 20, 9));
    let dst = tmp.path().join("dst");
    let args = ["copy", &oci(&src, "1"), &oci(&dst, "1")];
    for delay_ms in [50, 200, 400] {
        let mut child = Command::new(env!("CARGO_BIN_EXE_stevedore"))
            .args(args)
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .unwrap();
        let start = Instant::now();
        while start.elapsed() < Duration::from_millis(delay_ms)
            && child.try_wait().unwrap().is_none()
        {
            std::thread::sleep(Duration::from_millis(5));
        }
        let _ = child.kill(); // SIGKILL
        let _ = child.wait();
        blobs_verify(&dst);
    }
    let out = Command::new(env!("CARGO_BIN_EXE_stevedore"))
        .args(args)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(blobs_verify(&dst), 4);
    copy_oci(&dst, "1", &tmp.path().join("back"), "1").unwrap();
}
