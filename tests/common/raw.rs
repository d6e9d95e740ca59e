//! A raw-TCP HTTP/1.1 server on 127.0.0.1 for replies no HTTP library will
//! write: heads cut mid-line, bodies dribbled a byte a second, lengths that
//! lie, bodies without end. Each connection serves one request and closes.
//! It records every request head (and so every `Authorization` header),
//! bounds each connection's life, and stops when dropped.

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

pub use super::fake::Seen;

/// The longest any one connection is served, whatever the reply.
const CONNECTION_LIFE: Duration = Duration::from_secs(40);
/// The most connections one server accepts in its life.
const CONNECTIONS_MAX: usize = 2000;

/// How a reply is written: steps in order, then the connection closes.
pub enum Step {
    /// These bytes, at once.
    Bytes(Vec<u8>),
    /// These bytes one at a time, `delay` apart.
    Dribble(Vec<u8>, Duration),
    /// `chunk` written `times` times (`usize::MAX`: until the client leaves
    /// or the connection's life ends).
    Repeat(Vec<u8>, usize),
}

/// A whole reply: status, headers, body, with `Content-Length` of the body
/// unless `headers` name one already.
pub fn reply(status: u16, headers: &[(&str, &str)], body: &[u8]) -> Vec<Step> {
    let mut head = format!("HTTP/1.1 {status} X\r\nConnection: close\r\n");
    if !headers
        .iter()
        .any(|(k, _)| k.eq_ignore_ascii_case("content-length"))
    {
        head.push_str(&format!("Content-Length: {}\r\n", body.len()));
    }
    for (k, v) in headers {
        head.push_str(&format!("{k}: {v}\r\n"));
    }
    head.push_str("\r\n");
    let mut bytes = head.into_bytes();
    bytes.extend_from_slice(body);
    vec![Step::Bytes(bytes)]
}

/// Only the head of a reply (the body follows in later steps).
pub fn head(status: u16, headers: &[(&str, &str)]) -> Vec<u8> {
    let mut head = format!("HTTP/1.1 {status} X\r\nConnection: close\r\n");
    for (k, v) in headers {
        head.push_str(&format!("{k}: {v}\r\n"));
    }
    head.push_str("\r\n");
    head.into_bytes()
}

type Handler = dyn Fn(&Seen) -> Vec<Step> + Send + Sync;

pub struct RawServer {
    pub port: u16,
    seen: Arc<Mutex<Vec<Seen>>>,
    stop: Arc<AtomicBool>,
    thread: Option<JoinHandle<()>>,
}

impl RawServer {
    pub fn start(handler: impl Fn(&Seen) -> Vec<Step> + Send + Sync + 'static) -> RawServer {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        listener.set_nonblocking(true).unwrap();
        let port = listener.local_addr().unwrap().port();
        let seen = Arc::new(Mutex::new(Vec::new()));
        let stop = Arc::new(AtomicBool::new(false));
        let handler: Arc<Handler> = Arc::new(handler);
        let (seen2, stop2) = (seen.clone(), stop.clone());
        let thread = std::thread::spawn(move || {
            let accepted = AtomicUsize::new(0);
            let mut workers = Vec::new();
            while !stop2.load(Ordering::SeqCst) {
                match listener.accept() {
                    Ok((stream, _))
                        if accepted.fetch_add(1, Ordering::SeqCst) < CONNECTIONS_MAX =>
                    {
                        let (seen, stop, handler) = (seen2.clone(), stop2.clone(), handler.clone());
                        workers.push(std::thread::spawn(move || {
                            serve(stream, &seen, &stop, handler.as_ref())
                        }));
                    }
                    Ok(_) => {}
                    Err(_) => std::thread::sleep(Duration::from_millis(5)),
                }
            }
            for w in workers {
                let _ = w.join();
            }
        });
        RawServer {
            port,
            seen,
            stop,
            thread: Some(thread),
        }
    }

    pub fn addr(&self) -> String {
        format!("127.0.0.1:{}", self.port)
    }

    pub fn seen(&self) -> Vec<Seen> {
        self.seen.lock().unwrap().clone()
    }
}

impl Drop for RawServer {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

/// Reads one request head (and a body of `Content-Length`), records it,
/// writes the handler's steps.
fn serve(mut stream: TcpStream, seen: &Mutex<Vec<Seen>>, stop: &AtomicBool, handler: &Handler) {
    let born = Instant::now();
    let _ = stream.set_nonblocking(false);
    let _ = stream.set_read_timeout(Some(Duration::from_secs(5)));
    let _ = stream.set_write_timeout(Some(Duration::from_secs(5)));
    let mut buf = Vec::new();
    let mut chunk = [0u8; 4096];
    let (request, body_start) = loop {
        let Ok(n) = stream.read(&mut chunk) else {
            return;
        };
        if n == 0 || buf.len() > 64 * 1024 {
            return;
        }
        buf.extend_from_slice(&chunk[..n]);
        let mut headers = [httparse::EMPTY_HEADER; 64];
        let mut parsed = httparse::Request::new(&mut headers);
        if let Ok(httparse::Status::Complete(len)) = parsed.parse(&buf) {
            let record = Seen {
                method: parsed.method.unwrap_or("").to_owned(),
                url: parsed.path.unwrap_or("").to_owned(),
                headers: parsed
                    .headers
                    .iter()
                    .map(|h| {
                        (
                            h.name.to_owned(),
                            String::from_utf8_lossy(h.value).into_owned(),
                        )
                    })
                    .collect(),
                body: Vec::new(),
            };
            break (record, len);
        }
    };
    let mut request = request;
    let length: usize = request
        .header("content-length")
        .and_then(|v| v.parse().ok())
        .unwrap_or(0);
    let mut body = buf[body_start..].to_vec();
    while body.len() < length.min(16 << 20) {
        match stream.read(&mut chunk) {
            Ok(0) | Err(_) => break,
            Ok(n) => body.extend_from_slice(&chunk[..n]),
        }
    }
    request.body = body;
    seen.lock().unwrap().push(request.clone());
    let alive = || !stop.load(Ordering::SeqCst) && born.elapsed() < CONNECTION_LIFE;
    for step in handler(&request) {
        let ok = match step {
            Step::Bytes(bytes) => stream.write_all(&bytes).is_ok(),
            Step::Dribble(bytes, delay) => bytes.iter().all(|b| {
                std::thread::sleep(delay);
                alive() && stream.write_all(&[*b]).is_ok()
            }),
            Step::Repeat(bytes, times) => {
                (0..times).all(|_| alive() && stream.write_all(&bytes).is_ok())
            }
        };
        if !ok {
            return;
        }
    }
    let _ = stream.flush();
}
