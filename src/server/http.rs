//! HTTP/1.1 connections for the server: a thread per connection, request
//! heads parsed by `httparse` (at most 64 KiB, 100 headers), bodies by
//! `Content-Length` or chunked (`chunked_transfer`), keep-alive,
//! `Expect: 100-continue`, HEAD, and TLS by rustls. A TLS handshake sent to a
//! plain-HTTP port is answered with an HTTP 400 and the connection closed, as
//! Go's servers do, so that clients probing HTTPS first (skopeo and ours,
//! for registries marked insecure) fall back at once instead of timing out.

use std::collections::HashMap;
use std::io::{self, BufRead, BufReader, Read, Write};
use std::net::{Shutdown, SocketAddr, TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::Duration;

use percent_encoding::percent_decode_str;

use super::handlers::{Incoming, Method};
use super::reply::{Body, Reply};
use crate::store::copy_stream;

/// The largest request head read.
const HEAD_MAX: usize = 64 * 1024;

/// The buffer of a connection's reads: request heads are parsed from it,
/// while reads of a body larger than it go straight from the socket.
const READ_BUFFER: usize = 64 * 1024;

/// How many headers a request may have.
const HEADERS_MAX: usize = 100;
/// How long a connection may sit idle between requests.
const IDLE: Duration = Duration::from_secs(120);
/// Left-over request body beyond this is not drained: the connection closes.
const DRAIN_MAX: u64 = 16 << 20;

/// Answers requests.
pub type Handler = dyn Fn(&mut Incoming) -> Reply + Send + Sync;

/// An open connection: its socket (to shut it down) and its thread.
type Open = (TcpStream, Option<JoinHandle<()>>);

/// The open connections, to close them when the server stops.
#[derive(Default)]
struct Connections {
    open: Mutex<HashMap<u64, Open>>,
    next: AtomicU64,
}

/// A listening socket and its connections.
pub struct Listener {
    address: SocketAddr,
    stopping: Arc<AtomicBool>,
    connections: Arc<Connections>,
    acceptor: Option<JoinHandle<()>>,
}

impl Listener {
    /// Listens on `listener`, answering with `handler`, over TLS when `tls`
    /// is given; at most `max_connections` at once (more get a 503).
    pub fn start(
        listener: TcpListener,
        tls: Option<Arc<rustls::ServerConfig>>,
        handler: Arc<Handler>,
        max_connections: usize,
    ) -> io::Result<Listener> {
        let address = listener.local_addr()?;
        let stopping = Arc::new(AtomicBool::new(false));
        let connections = Arc::new(Connections::default());
        let acceptor = {
            let (stopping, connections) = (Arc::clone(&stopping), Arc::clone(&connections));
            std::thread::spawn(move || {
                accept(
                    &listener,
                    tls,
                    &handler,
                    &stopping,
                    &connections,
                    max_connections,
                )
            })
        };
        Ok(Listener {
            address,
            stopping,
            connections,
            acceptor: Some(acceptor),
        })
    }

    /// The bound address.
    pub fn address(&self) -> SocketAddr {
        self.address
    }

    /// Stops accepting, closes every connection and waits for their threads.
    pub fn stop(&mut self) {
        self.stopping.store(true, Ordering::SeqCst);
        // Wakes the blocking accept.
        let _ = TcpStream::connect(self.address);
        if let Some(acceptor) = self.acceptor.take() {
            let _ = acceptor.join();
        }
        let open: Vec<_> = {
            let mut open = self
                .connections
                .open
                .lock()
                .unwrap_or_else(|p| p.into_inner());
            open.drain().map(|(_, c)| c).collect()
        };
        for (stream, thread) in open {
            let _ = stream.shutdown(Shutdown::Both);
            if let Some(thread) = thread {
                let _ = thread.join();
            }
        }
    }
}

impl Drop for Listener {
    fn drop(&mut self) {
        self.stop();
    }
}

fn accept(
    listener: &TcpListener,
    tls: Option<Arc<rustls::ServerConfig>>,
    handler: &Arc<Handler>,
    stopping: &AtomicBool,
    connections: &Arc<Connections>,
    max_connections: usize,
) {
    for stream in listener.incoming() {
        if stopping.load(Ordering::SeqCst) {
            return;
        }
        let Ok(mut stream) = stream else {
            continue;
        };
        let _ = stream.set_nodelay(true);
        let _ = stream.set_read_timeout(Some(IDLE));
        let Ok(handle) = stream.try_clone() else {
            continue;
        };
        let mut open = connections.open.lock().unwrap_or_else(|p| p.into_inner());
        if open.len() >= max_connections {
            let _ = stream.write_all(
                b"HTTP/1.1 503 Service Unavailable\r\nContent-Length: 0\r\nConnection: close\r\n\r\n",
            );
            continue;
        }
        let id = connections.next.fetch_add(1, Ordering::SeqCst);
        let (tls, handler, connections2) =
            (tls.clone(), Arc::clone(handler), Arc::clone(connections));
        open.insert(id, (handle, None));
        let thread = std::thread::spawn(move || {
            connection(stream, tls, handler.as_ref());
            connections2
                .open
                .lock()
                .unwrap_or_else(|p| p.into_inner())
                .remove(&id);
        });
        if let Some(entry) = open.get_mut(&id) {
            entry.1 = Some(thread);
        }
    }
}

/// Serves one connection: sniffs for TLS, then answers requests until the
/// client closes, asks to close, or errs.
fn connection(stream: TcpStream, tls: Option<Arc<rustls::ServerConfig>>, handler: &Handler) {
    let mut first = [0u8; 1];
    let handshake = matches!(stream.peek(&mut first), Ok(1) if first[0] == 0x16);
    match (tls, handshake) {
        (Some(config), true) => {
            let Ok(session) = rustls::ServerConnection::new(config) else {
                return;
            };
            requests(rustls::StreamOwned::new(session, stream), handler);
        }
        (None, false) => requests(stream, handler),
        (Some(_), false) => refuse(stream, "Client sent an HTTP request to an HTTPS server.\n"),
        (None, true) => refuse(stream, "Client sent an HTTPS request to an HTTP server.\n"),
    }
}

fn refuse(mut stream: TcpStream, why: &str) {
    let _ = write!(
        stream,
        "HTTP/1.0 400 Bad Request\r\nContent-Type: text/plain\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{why}",
        why.len()
    );
    let _ = stream.shutdown(Shutdown::Both);
}

/// A request's head, parsed.
struct Head {
    method: Method,
    head_request: bool,
    target: String,
    headers: HashMap<String, String>,
    http10: bool,
}

/// Reads one request head; `None` at a clean end of the connection.
fn read_head<S: Read>(reader: &mut BufReader<S>) -> io::Result<Option<Head>> {
    let mut raw: Vec<u8> = Vec::new();
    loop {
        let available = reader.fill_buf()?;
        if available.is_empty() {
            return match raw.is_empty() {
                true => Ok(None),
                false => Err(io::ErrorKind::UnexpectedEof.into()),
            };
        }
        let before = raw.len();
        raw.extend_from_slice(available);
        let scan_from = before.saturating_sub(3);
        if let Some(end) = raw[scan_from..].windows(4).position(|w| w == b"\r\n\r\n") {
            let end = scan_from + end + 4;
            reader.consume(end - before);
            raw.truncate(end);
            break;
        }
        let n = available.len();
        reader.consume(n);
        if raw.len() > HEAD_MAX {
            return Err(io::Error::new(
                io::ErrorKind::InvalidData,
                "request head too large",
            ));
        }
    }
    let mut headers = [httparse::EMPTY_HEADER; HEADERS_MAX];
    let mut request = httparse::Request::new(&mut headers);
    let status = request
        .parse(&raw)
        .map_err(|e| io::Error::new(io::ErrorKind::InvalidData, e))?;
    if status.is_partial() {
        return Err(io::Error::new(
            io::ErrorKind::InvalidData,
            "incomplete request head",
        ));
    }
    let name = request.method.unwrap_or("");
    let method = match name {
        "GET" => Method::Get,
        "HEAD" => Method::Head,
        "PUT" => Method::Put,
        "POST" => Method::Post,
        "PATCH" => Method::Patch,
        "DELETE" => Method::Delete,
        _ => Method::Other,
    };
    Ok(Some(Head {
        method,
        head_request: name == "HEAD",
        target: request.path.unwrap_or("/").to_owned(),
        headers: request
            .headers
            .iter()
            .map(|h| {
                (
                    h.name.to_ascii_lowercase(),
                    String::from_utf8_lossy(h.value).into_owned(),
                )
            })
            .collect(),
        http10: request.version == Some(0),
    }))
}

fn decode(s: &str) -> String {
    percent_decode_str(s).decode_utf8_lossy().into_owned()
}

fn reason(status: u16) -> &'static str {
    match status {
        100 => "Continue",
        200 => "OK",
        201 => "Created",
        202 => "Accepted",
        204 => "No Content",
        206 => "Partial Content",
        400 => "Bad Request",
        401 => "Unauthorized",
        403 => "Forbidden",
        404 => "Not Found",
        405 => "Method Not Allowed",
        413 => "Payload Too Large",
        416 => "Range Not Satisfiable",
        429 => "Too Many Requests",
        503 => "Service Unavailable",
        _ => "Error",
    }
}

/// Answers the requests of one connection.
fn requests<S: Read + Write>(stream: S, handler: &Handler) {
    let mut reader = BufReader::with_capacity(READ_BUFFER, stream);
    loop {
        let head = match read_head(&mut reader) {
            Ok(Some(head)) => head,
            Ok(None) => return,
            Err(e) => {
                if e.kind() == io::ErrorKind::InvalidData {
                    let _ = reader.get_mut().write_all(
                        b"HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\nConnection: close\r\n\r\n",
                    );
                }
                return;
            }
        };
        match answer(&mut reader, head, handler) {
            Ok(true) => continue,
            _ => return,
        }
    }
}

/// Answers one request; whether the connection stays open.
fn answer<S: Read + Write>(
    reader: &mut BufReader<S>,
    head: Head,
    handler: &Handler,
) -> io::Result<bool> {
    let chunked = head
        .headers
        .get("transfer-encoding")
        .is_some_and(|t| t.to_ascii_lowercase().contains("chunked"));
    let length: Option<u64> = match (chunked, head.headers.get("content-length")) {
        (true, _) => None,
        (false, Some(l)) => Some(
            l.trim()
                .parse()
                .map_err(|_| io::Error::new(io::ErrorKind::InvalidData, "bad Content-Length"))?,
        ),
        (false, None) => Some(0),
    };
    if head
        .headers
        .get("expect")
        .is_some_and(|e| e.eq_ignore_ascii_case("100-continue"))
    {
        reader
            .get_mut()
            .write_all(b"HTTP/1.1 100 Continue\r\n\r\n")?;
        reader.get_mut().flush()?;
    }
    let keep_alive = match head
        .headers
        .get("connection")
        .map(|c| c.to_ascii_lowercase())
    {
        Some(c) if c.contains("close") => false,
        Some(c) if c.contains("keep-alive") => true,
        _ => !head.http10,
    };
    let (path, query) = head.target.split_once('?').unwrap_or((&head.target, ""));
    let query: HashMap<String, String> = query
        .split('&')
        .filter(|p| !p.is_empty())
        .map(|p| {
            let (k, v) = p.split_once('=').unwrap_or((p, ""));
            (decode(k), decode(v))
        })
        .collect();
    let (reply, complete) = {
        let mut body: Box<dyn Read + '_> = match length {
            Some(n) => Box::new((&mut *reader).take(n)),
            None => Box::new(chunked_transfer::Decoder::new(&mut *reader)),
        };
        let mut incoming = Incoming {
            method: head.method,
            path: decode(path),
            query,
            headers: head.headers,
            body: &mut body,
            length,
        };
        let reply = handler(&mut incoming);
        // What the handler left unread is drained, up to a limit.
        let left = io::copy(&mut body.take(DRAIN_MAX + 1), &mut io::sink()).unwrap_or(u64::MAX);
        (reply, left <= DRAIN_MAX)
    };
    let keep_alive = keep_alive && complete;
    let stream = reader.get_mut();
    let length = match &reply.body {
        Body::Empty => 0,
        Body::Bytes(bytes) => bytes.len() as u64,
        Body::Stream(_, n) => *n,
    };
    let mut out = format!("HTTP/1.1 {} {}\r\n", reply.status, reason(reply.status));
    for (name, value) in &reply.headers {
        out.push_str(&format!("{name}: {value}\r\n"));
    }
    out.push_str(&format!(
        "Content-Length: {length}\r\nDocker-Distribution-API-Version: registry/2.0\r\nConnection: {}\r\n\r\n",
        if keep_alive { "keep-alive" } else { "close" }
    ));
    let mut out = out.into_bytes();
    if let (Body::Bytes(bytes), false) = (&reply.body, head.head_request) {
        out.extend_from_slice(bytes);
    }
    stream.write_all(&out)?;
    let sent = match reply.body {
        _ if head.head_request => length,
        Body::Empty | Body::Bytes(_) => length,
        // Large writes let the kernel send large segments.
        Body::Stream(mut reader, _) => copy_stream(&mut reader, stream)?,
    };
    stream.flush()?;
    // A body that ended short leaves the client waiting for more: close.
    Ok(keep_alive && sent == length)
}
