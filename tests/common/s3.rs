//! S3 services for the tests, each started on a free 127.0.0.1 port and
//! stopped (by its process id) when dropped: moto's server mode and
//! s3s-fs. A test gets a fresh bucket in one with [`S3Service::bucket`].

use std::net::TcpStream;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use rusty_s3::S3Action;
use stevedore::s3::S3Config;

use super::registry::free_port;

/// The credentials every service here is started with.
pub const KEY: &str = "stevedoretest";
/// Their secret.
pub const SECRET: &str = "stevedoretestsecret";

/// Which implementation.
#[derive(Debug, Clone, Copy)]
pub enum Kind {
    /// moto's `moto_server`.
    Moto,
    /// `s3s-fs`, buckets as directories.
    S3sFs,
}

/// A running S3 service.
pub struct S3Service {
    child: Child,
    /// Its base URL (`http://127.0.0.1:PORT`).
    pub endpoint: String,
    _dir: tempfile::TempDir,
}

static BUCKETS: AtomicUsize = AtomicUsize::new(0);

impl S3Service {
    /// Starts one of `kind`.
    pub fn start(kind: Kind) -> S3Service {
        let dir = tempfile::tempdir().unwrap();
        let port = free_port();
        let mut command = match kind {
            Kind::Moto => {
                let mut c = Command::new("moto_server");
                c.args(["-H", "127.0.0.1", "-p", &port.to_string()]);
                c
            }
            Kind::S3sFs => {
                let mut c = Command::new(s3s_fs());
                c.args(["--host", "127.0.0.1", "--port", &port.to_string()])
                    .args(["--access-key", KEY, "--secret-key", SECRET])
                    .arg(dir.path());
                c
            }
        };
        let child = command
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap_or_else(|e| {
                panic!("starting {kind:?} (scripts/install-deps.sh installs it): {e}")
            });
        let service = S3Service {
            child,
            endpoint: format!("http://127.0.0.1:{port}"),
            _dir: dir,
        };
        let deadline = Instant::now() + Duration::from_secs(30);
        while TcpStream::connect(("127.0.0.1", port)).is_err() {
            assert!(Instant::now() < deadline, "{kind:?} did not start");
            std::thread::sleep(Duration::from_millis(100));
        }
        service
    }

    /// A configuration of bucket `name` under `prefix` in this service.
    pub fn config(&self, name: &str, prefix: &str) -> S3Config {
        S3Config {
            endpoint: Some(self.endpoint.clone()),
            region: Some("us-east-1".into()),
            access_key_id: Some(KEY.into()),
            secret_access_key: Some(SECRET.into()),
            ..S3Config::new(format!("s3://{name}/{prefix}"))
        }
    }

    /// Creates a fresh bucket; its configuration with prefix `registry`.
    pub fn bucket(&self) -> S3Config {
        let name = format!(
            "stevedore-{}-{}",
            std::process::id(),
            BUCKETS.fetch_add(1, Ordering::SeqCst)
        );
        let bucket = rusty_s3::Bucket::new(
            self.endpoint.parse().unwrap(),
            rusty_s3::UrlStyle::Path,
            name.clone(),
            "us-east-1",
        )
        .unwrap();
        let credentials = rusty_s3::Credentials::new(KEY, SECRET);
        let url = bucket
            .create_bucket(&credentials)
            .sign(Duration::from_secs(60));
        let agent: ureq::Agent = ureq::Agent::config_builder()
            .http_status_as_error(false)
            .build()
            .into();
        let response = agent.put(url.as_str()).send(&[][..]).unwrap();
        assert!(response.status().is_success(), "{:?}", response.status());
        self.config(&name, "registry")
    }
}

/// The s3s-fs binary: on PATH, else where `cargo install` puts it.
fn s3s_fs() -> PathBuf {
    which("s3s-fs").unwrap_or_else(|| {
        PathBuf::from(std::env::var("HOME").unwrap_or_default()).join(".cargo/bin/s3s-fs")
    })
}

fn which(name: &str) -> Option<PathBuf> {
    std::env::var_os("PATH").and_then(|paths| {
        std::env::split_paths(&paths)
            .map(|p| p.join(name))
            .find(|p| p.is_file())
    })
}

impl Drop for S3Service {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
