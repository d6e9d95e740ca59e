//! Debian's nginx and Caddy, started in the foreground on a free loopback
//! port with a configuration in a temporary directory (pid, logs and
//! temporary files there too), and stopped by PID when dropped.

use std::fs;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use super::registry::free_port;

pub struct WebServer {
    pub addr: String,
    child: Child,
    dir: tempfile::TempDir,
}

impl WebServer {
    /// nginx serving `snippet` (a file of `location` blocks) in a server on
    /// `port`, as one process (`master_process off`, `daemon off`).
    pub fn nginx(snippet: &Path, port: u16) -> WebServer {
        let dir = tempfile::tempdir().unwrap();
        let d = dir.path().display();
        let conf = dir.path().join("nginx.conf");
        fs::write(
            &conf,
            format!(
                "daemon off;\nmaster_process off;\npid {d}/nginx.pid;\nerror_log {d}/error.log;\n\
                 events {{ worker_connections 64; }}\n\
                 http {{\n  access_log {d}/access.log;\n  client_body_temp_path {d}/body;\n\
                 \x20 proxy_temp_path {d}/proxy;\n  fastcgi_temp_path {d}/fastcgi;\n\
                 \x20 uwsgi_temp_path {d}/uwsgi;\n  scgi_temp_path {d}/scgi;\n\
                 \x20 server {{\n    listen 127.0.0.1:{port};\n    include {};\n  }}\n}}\n",
                snippet.display()
            ),
        )
        .unwrap();
        let check = super::tool(
            "nginx",
            &[
                "-t",
                "-p",
                &d.to_string(),
                "-e",
                &format!("{d}/error.log"),
                "-c",
                conf.to_str().unwrap(),
            ],
        );
        assert!(
            check.status.success(),
            "nginx rejects the configuration: {}\n{}",
            String::from_utf8_lossy(&check.stderr),
            fs::read_to_string(snippet).unwrap()
        );
        let child = Command::new("nginx")
            .args([
                "-p",
                &d.to_string(),
                "-e",
                &format!("{d}/error.log"),
                "-c",
                conf.to_str().unwrap(),
            ])
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("nginx (scripts/install-deps.sh installs it)");
        WebServer::ready(child, dir, port, "error.log")
    }

    /// Caddy serving `site` (a Caddyfile site block for 127.0.0.1:`port`),
    /// with its admin endpoint and automatic HTTPS off.
    pub fn caddy(site: &Path, port: u16) -> WebServer {
        let dir = tempfile::tempdir().unwrap();
        let conf = dir.path().join("Caddyfile");
        fs::write(
            &conf,
            format!(
                "{{\n  admin off\n  auto_https off\n  storage file_system {}\n}}\nimport {}\n",
                dir.path().join("data").display(),
                site.display()
            ),
        )
        .unwrap();
        let log = fs::File::create(dir.path().join("caddy.log")).unwrap();
        let child = Command::new("caddy")
            .args([
                "run",
                "--adapter",
                "caddyfile",
                "--config",
                conf.to_str().unwrap(),
            ])
            .env("HOME", dir.path())
            .env("XDG_DATA_HOME", dir.path().join("data"))
            .env("XDG_CONFIG_HOME", dir.path().join("config"))
            .stdin(Stdio::null())
            .stdout(log.try_clone().unwrap())
            .stderr(log)
            .spawn()
            .expect("caddy (scripts/install-deps.sh installs it)");
        WebServer::ready(child, dir, port, "caddy.log")
    }

    fn ready(mut child: Child, dir: tempfile::TempDir, port: u16, log: &str) -> WebServer {
        let addr = format!("127.0.0.1:{port}");
        let deadline = Instant::now() + Duration::from_secs(20);
        while Instant::now() < deadline {
            if std::net::TcpStream::connect(&addr).is_ok() {
                return WebServer { addr, child, dir };
            }
            if let Ok(Some(status)) = child.try_wait() {
                panic!(
                    "the server exited ({status}):\n{}",
                    fs::read_to_string(dir.path().join(log)).unwrap_or_default()
                );
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        let _ = child.kill();
        let _ = child.wait();
        panic!("the server did not listen on {addr} in time");
    }

    /// A free loopback port.
    pub fn port() -> u16 {
        free_port()
    }

    pub fn log_dir(&self) -> &Path {
        self.dir.path()
    }
}

impl Drop for WebServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
