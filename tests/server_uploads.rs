//! Our registry server's upload sessions: abandoned uploads expire, a
//! server killed mid-upload restarts consistent, and an upload of a blob
//! already stored is dropped rather than renamed over it.

mod common;

use std::path::Path;
use std::time::Duration;

use common::http::request;
use common::our_server::{client_for, repo, serve};
use common::*;
use stevedore::descriptor::Descriptor;
use stevedore::digest::Digest;
use stevedore::media_types;
use stevedore::registry::{Client, ClientOptions};
use stevedore::server::{Server, ServerOptions};
use stevedore::transport::parse_with;
use stevedore::{copy, CopyOptions};

#[test]
fn an_abandoned_upload_is_removed_after_its_expiry() {
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path().join("store");
    let server = Server::start(ServerOptions {
        root: Some(root.clone()),
        upload_expiry_secs: 0.3,
        ..Default::default()
    })
    .unwrap();
    let host = server.host();
    let started = request(&host, "POST", "/v2/app/blobs/uploads/", &[], b"");
    let location = started.header("location").unwrap().to_owned();
    request(&host, "PATCH", &location, &[], b"partial");
    assert_eq!(std::fs::read_dir(root.join("uploads")).unwrap().count(), 1);
    let status = request(&host, "GET", &location, &[], b"");
    assert_eq!((status.status, status.header("range")), (204, Some("0-6")));
    std::thread::sleep(Duration::from_millis(1500));
    let gone = request(&host, "GET", &location, &[], b"");
    assert_eq!(
        (gone.status, gone.code().as_str()),
        (404, "BLOB_UPLOAD_UNKNOWN")
    );
    assert_eq!(std::fs::read_dir(root.join("uploads")).unwrap().count(), 0);
}

/// A `stevedore serve` process, killed when dropped.
struct Serving(std::process::Child);

impl Drop for Serving {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

#[test]
fn a_server_killed_mid_upload_restarts_consistent() {
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path().join("store");
    let manifest = make_image(&tmp.path().join("src"), "1", b"survives\n");
    let start = || {
        let port = common::registry::free_port();
        let child = std::process::Command::new(env!("CARGO_BIN_EXE_stevedore"))
            .args(["serve", "--addr", &format!("127.0.0.1:{port}"), "--root"])
            .arg(&root)
            .stderr(std::process::Stdio::null())
            .spawn()
            .unwrap();
        let child = Serving(child);
        let addr = format!("127.0.0.1:{port}");
        for _ in 0..100 {
            if std::net::TcpStream::connect(&addr).is_ok() {
                break;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        (child, addr)
    };
    let (first, addr) = start();
    let client = Client::new(ClientOptions {
        plain_http: vec![addr.clone()],
        ..Default::default()
    })
    .unwrap();
    let image = format!("docker://{addr}/keep/app:1");
    copy(
        &parse_with(&oci(&tmp.path().join("src"), "1"), &client).unwrap(),
        &parse_with(&image, &client).unwrap(),
        &CopyOptions::default(),
    )
    .unwrap();
    // An upload half sent, then the server is killed.
    let started = request(&addr, "POST", "/v2/keep/other/blobs/uploads/", &[], b"");
    let location = started.header("location").unwrap().to_owned();
    request(&addr, "PATCH", &location, &[], &[7u8; 4096]);
    drop(first);
    assert_eq!(std::fs::read_dir(root.join("uploads")).unwrap().count(), 1);

    let (second, addr) = start();
    assert_eq!(std::fs::read_dir(root.join("uploads")).unwrap().count(), 0);
    let client = Client::new(ClientOptions {
        plain_http: vec![addr.clone()],
        ..Default::default()
    })
    .unwrap();
    let back = copy(
        &parse_with(&format!("docker://{addr}/keep/app:1"), &client).unwrap(),
        &parse_with(&oci(&tmp.path().join("back"), "1"), &client).unwrap(),
        &CopyOptions::default(),
    );
    drop(second);
    assert_eq!(&back.unwrap().digest, manifest.digest());
}

#[test]
fn an_upload_of_a_blob_already_stored_is_dropped_not_renamed_over() {
    use std::os::unix::fs::MetadataExt;
    let tmp = tempfile::tempdir().unwrap();
    let server = serve(&tmp.path().join("store"));
    let client = client_for(&server, 1 << 20);
    let data = incompressible(2 << 20, 21);
    let digest = Digest::sha256(&data);
    let blob = Descriptor::new(
        media_types::OCI_LAYER_GZIP,
        digest.clone(),
        data.len() as u64,
    );
    client
        .upload_blob(&repo(&server, "first"), &blob, &mut &data[..], None)
        .unwrap();
    let file = walkdir_find(&tmp.path().join("store"), digest.hex());
    let inode = std::fs::metadata(&file).unwrap().ino();
    // The same bytes uploaded again (not mounted) into another repository.
    client
        .upload_blob(&repo(&server, "second"), &blob, &mut &data[..], None)
        .unwrap();
    assert_eq!(
        std::fs::metadata(&file).unwrap().ino(),
        inode,
        "the stored file was replaced"
    );
    assert_eq!(
        client.blob_size(&repo(&server, "second"), &digest).unwrap(),
        Some(data.len() as u64)
    );
}

/// The one file named `name` under `dir`.
fn walkdir_find(dir: &Path, name: &str) -> std::path::PathBuf {
    let mut stack = vec![dir.to_owned()];
    while let Some(d) = stack.pop() {
        for entry in std::fs::read_dir(&d).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                stack.push(path);
            } else if path.file_name().is_some_and(|n| n == name) {
                return path;
            }
        }
    }
    panic!("no {name} under {}", dir.display())
}
