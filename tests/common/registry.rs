//! Debian's `docker-registry` (the CNCF distribution registry), started on a
//! free loopback port for one test and stopped when dropped.

use std::fs;
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use stevedore::registry::{Client, ClientOptions};

pub struct Registry {
    pub addr: String,
    child: Child,
    log: PathBuf,
    dir: tempfile::TempDir,
    _auth_dir: Option<tempfile::TempDir>,
}

/// A free port on 127.0.0.1.
pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

impl Registry {
    /// A registry with anonymous access.
    pub fn start() -> Registry {
        Registry::start_with_auth("", None)
    }

    /// A registry that asks for basic auth against an htpasswd file of `user:password`.
    pub fn start_with_htpasswd(user: &str, password: &str) -> Registry {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("htpasswd");
        let out = super::tool_ok("htpasswd", &["-Bbn", user, password]);
        fs::write(&file, out).unwrap();
        let auth = format!(
            "auth:\n  htpasswd:\n    realm: stevedore-test\n    path: {}\n",
            file.display()
        );
        Registry::start_with_auth(&auth, Some(dir))
    }

    /// A registry with `auth` (a YAML `auth:` section, or empty) whose files
    /// live in `auth_dir`.
    pub fn start_with_auth(auth: &str, auth_dir: Option<tempfile::TempDir>) -> Registry {
        Registry::start_with("", auth, auth_dir)
    }

    /// A registry with extra settings under `http:` (indented YAML), such as TLS.
    pub fn start_with_http_extra(http: &str) -> Registry {
        Registry::start_with(http, "", None)
    }

    fn start_with(http: &str, auth: &str, auth_dir: Option<tempfile::TempDir>) -> Registry {
        let dir = tempfile::tempdir().unwrap();
        let port = free_port();
        let addr = format!("127.0.0.1:{port}");
        let config = dir.path().join("config.yml");
        fs::write(
            &config,
            format!(
                "version: 0.1\nlog:\n  level: info\n  accesslog:\n    disabled: false\nstorage:\n  filesystem:\n    rootdirectory: {}\n  delete:\n    enabled: true\nhttp:\n  addr: {addr}\n{http}{auth}",
                dir.path().join("data").display()
            ),
        )
        .unwrap();
        let log = dir.path().join("registry.log");
        let log_file = fs::File::create(&log).unwrap();
        let child = Command::new("docker-registry")
            .args(["serve", config.to_str().unwrap()])
            .stdin(Stdio::null())
            .stdout(log_file.try_clone().unwrap())
            .stderr(log_file)
            .spawn()
            .unwrap_or_else(|e| {
                panic!("cannot start docker-registry ({e}); scripts/test.sh installs it")
            });
        let registry = Registry {
            addr,
            child,
            log,
            dir,
            _auth_dir: auth_dir,
        };
        registry.wait_ready();
        registry
    }

    fn wait_ready(&self) {
        let deadline = Instant::now() + Duration::from_secs(20);
        while Instant::now() < deadline {
            if std::net::TcpStream::connect(&self.addr).is_ok() {
                return;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        panic!(
            "docker-registry did not listen on {} in time:\n{}",
            self.addr,
            self.log()
        );
    }

    /// What the registry logged so far (its access log included).
    pub fn log(&self) -> String {
        fs::read_to_string(&self.log).unwrap_or_default()
    }

    /// How many requests with `method` to a path containing `path` it logged.
    pub fn count(&self, method: &str, path: &str) -> usize {
        self.log()
            .lines()
            .filter(|l| l.contains(&format!("\"{method} ")) && l.contains(path))
            .count()
    }

    /// `docker://ADDR/REPO` for this registry.
    pub fn image(&self, repo: &str) -> String {
        format!("docker://{}/{repo}", self.addr)
    }

    /// A client that reaches this plain-HTTP registry.
    pub fn client(&self) -> Client {
        Client::new(ClientOptions {
            insecure: vec![self.addr.clone()],
            ..ClientOptions::default()
        })
        .unwrap()
    }

    pub fn data_dir(&self) -> &Path {
        self.dir.path()
    }
}

impl Drop for Registry {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
