//! HTTP/1.1 connections for the server: a thread per connection (kept for
//! the next connection when it ends, see [`super::workers`]), request
//! heads parsed by `httparse` (at most [`Limits::max_head_bytes`], 100
//! headers), bodies by `Content-Length` or chunked (`chunked_transfer`),
//! keep-alive, `Expect: 100-continue`, HEAD, and TLS by rustls. A TLS
//! handshake sent to a plain-HTTP port is answered with an HTTP 400 and the
//! connection closed, as Go's servers do, so that clients probing HTTPS
//! first (skopeo and ours, for registries marked insecure) fall back at once
//! instead of timing out.
//!
//! Slow clients cannot hold the server: a request head must arrive whole
//! within [`Limits::head_timeout`] (the first from the moment the connection
//! is accepted), an idle keep-alive connection is closed after
//! [`Limits::idle_timeout`], and when every connection slot is taken the
//! connection that has waited longest for a request head is closed to make
//! room. Only connections in the middle of a request are never taken back,
//! so clients that send whole requests are always served.

use std::collections::HashMap;
use std::io::{self, BufRead, BufReader, Read, Write};
use std::net::{Shutdown, SocketAddr, TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use percent_encoding::percent_decode_str;

use super::handlers::{Incoming, Method};
use super::reply::{Body, Reply};
use super::workers::Workers;
use crate::store::copy_stream;

/// The buffer of a connection's reads: request heads are parsed from it,
/// while reads of a body larger than it go straight from the socket.
const READ_BUFFER: usize = 64 * 1024;

/// The largest request head read by default, in bytes.
pub const DEFAULT_HEAD_BYTES: usize = 64 * 1024;

/// How many headers a request may have.
const HEADERS_MAX: usize = 100;
/// Left-over request body beyond this is not drained: the connection closes.
const DRAIN_MAX: u64 = 16 << 20;

/// What a connection may take of the server.
#[derive(Debug, Clone, Copy)]
pub struct Limits {
    /// How many connections are served at once (a thread each).
    pub max_connections: usize,
    /// How long a whole request head may take to arrive.
    pub head_timeout: Duration,
    /// How long a connection may sit idle: between requests, or in the
    /// middle of a body.
    pub idle_timeout: Duration,
    /// The largest request head read, in bytes.
    pub max_head_bytes: usize,
}

/// Answers requests.
pub type Handler = dyn Fn(&mut Incoming) -> Reply + Send + Sync;

/// A connection's state: [`BUSY`] while a request is being answered,
/// [`EVICTED`] once closed to make room, else the time (in milliseconds
/// since the listener started) since when it has waited for a request head.
type State = Arc<AtomicU64>;
const BUSY: u64 = u64::MAX;
const EVICTED: u64 = u64::MAX - 1;

/// An open connection: its socket (to shut it down) and its state.
struct Open {
    socket: TcpStream,
    state: State,
}

/// The open connections, to close them when the server stops, and the
/// threads serving them.
#[derive(Default)]
struct Connections {
    open: Mutex<HashMap<u64, Open>>,
    next: AtomicU64,
    workers: Workers,
}

/// How a connection's thread watches its own socket: the clock of its
/// deadlines and a handle to set the socket's read timeout.
pub struct Watch {
    socket: TcpStream,
    state: State,
    epoch: Instant,
    limits: Limits,
}

impl Watch {
    fn now(&self) -> u64 {
        self.epoch.elapsed().as_millis() as u64
    }

    /// Marks the connection as waiting for a head since `since`, unless it
    /// was evicted; whether it may go on.
    fn waiting(&self, since: u64) -> bool {
        let current = self.state.load(Ordering::SeqCst);
        current != EVICTED
            && self
                .state
                .compare_exchange(current, since, Ordering::SeqCst, Ordering::SeqCst)
                .is_ok()
    }

    /// Marks the connection busy, unless it was evicted; whether it may go on.
    fn busy(&self) -> bool {
        let current = self.state.load(Ordering::SeqCst);
        current != EVICTED
            && self
                .state
                .compare_exchange(current, BUSY, Ordering::SeqCst, Ordering::SeqCst)
                .is_ok()
    }

    /// Sets the socket's read timeout to what is left until `deadline`
    /// (milliseconds since the epoch); fails once it has passed.
    fn until(&self, deadline: u64) -> io::Result<()> {
        let left = deadline.saturating_sub(self.now());
        if left == 0 {
            return Err(io::ErrorKind::TimedOut.into());
        }
        self.socket
            .set_read_timeout(Some(Duration::from_millis(left)))
    }
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
    /// is given, within `limits`.
    pub fn start(
        listener: TcpListener,
        tls: Option<Arc<rustls::ServerConfig>>,
        handler: Arc<Handler>,
        limits: Limits,
    ) -> io::Result<Listener> {
        let address = listener.local_addr()?;
        let stopping = Arc::new(AtomicBool::new(false));
        let connections = Arc::new(Connections::default());
        let acceptor = {
            let (stopping, connections) = (Arc::clone(&stopping), Arc::clone(&connections));
            std::thread::spawn(move || {
                accept(&listener, tls, &handler, &stopping, &connections, limits)
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
        for Open { socket, .. } in open {
            let _ = socket.shutdown(Shutdown::Both);
        }
        self.connections.workers.stop();
    }
}

impl Drop for Listener {
    fn drop(&mut self) {
        self.stop();
    }
}

/// Makes room for one more connection when all `max` slots are taken:
/// closes the one that has waited longest for a request head. Whether there
/// is room.
fn make_room(open: &mut HashMap<u64, Open>, max: usize) -> bool {
    let live = || {
        open.values()
            .filter(|c| c.state.load(Ordering::SeqCst) != EVICTED)
            .count()
    };
    // Evicted connections still hold a thread until it notices: bounded too.
    if live() < max && open.len() < max.saturating_mul(2) {
        return true;
    }
    let oldest = open
        .values()
        .filter_map(|c| {
            let since = c.state.load(Ordering::SeqCst);
            (since < EVICTED).then_some((since, c))
        })
        .min_by_key(|(since, _)| *since);
    let Some((since, victim)) = oldest else {
        return false;
    };
    if victim
        .state
        .compare_exchange(since, EVICTED, Ordering::SeqCst, Ordering::SeqCst)
        .is_err()
    {
        return false;
    }
    let _ = victim.socket.shutdown(Shutdown::Both);
    open.len() < max.saturating_mul(2)
}

fn accept(
    listener: &TcpListener,
    tls: Option<Arc<rustls::ServerConfig>>,
    handler: &Arc<Handler>,
    stopping: &AtomicBool,
    connections: &Arc<Connections>,
    limits: Limits,
) {
    let epoch = Instant::now();
    for stream in listener.incoming() {
        if stopping.load(Ordering::SeqCst) {
            return;
        }
        let Ok(mut stream) = stream else {
            continue;
        };
        let _ = stream.set_nodelay(true);
        let _ = stream.set_read_timeout(Some(limits.head_timeout));
        let (Ok(handle), Ok(socket)) = (stream.try_clone(), stream.try_clone()) else {
            continue;
        };
        let mut open = connections.open.lock().unwrap_or_else(|p| p.into_inner());
        if !make_room(&mut open, limits.max_connections) {
            let _ = stream.write_all(
                b"HTTP/1.1 503 Service Unavailable\r\nContent-Length: 0\r\nConnection: close\r\n\r\n",
            );
            continue;
        }
        let id = connections.next.fetch_add(1, Ordering::SeqCst);
        let state: State = Arc::new(AtomicU64::new(epoch.elapsed().as_millis() as u64));
        let watch = Watch {
            socket,
            state: Arc::clone(&state),
            epoch,
            limits,
        };
        let (tls, handler, connections2) =
            (tls.clone(), Arc::clone(handler), Arc::clone(connections));
        open.insert(
            id,
            Open {
                socket: handle,
                state,
            },
        );
        drop(open);
        connections.workers.run(Box::new(move || {
            connection(stream, tls, handler.as_ref(), &watch);
            connections2
                .open
                .lock()
                .unwrap_or_else(|p| p.into_inner())
                .remove(&id);
        }));
    }
}

/// Serves one connection: sniffs for TLS, then answers requests until the
/// client closes, asks to close, or errs.
fn connection(
    stream: TcpStream,
    tls: Option<Arc<rustls::ServerConfig>>,
    handler: &Handler,
    watch: &Watch,
) {
    let mut first = [0u8; 1];
    let handshake = matches!(stream.peek(&mut first), Ok(1) if first[0] == 0x16);
    match (tls, handshake) {
        (Some(config), true) => {
            let Ok(session) = rustls::ServerConnection::new(config) else {
                return;
            };
            requests(
                rustls::StreamOwned::new(session, stream),
                handler,
                Some(watch),
            );
        }
        (None, false) => requests(stream, handler, Some(watch)),
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

/// Reads one request head; `None` at a clean end of the connection, or
/// when the connection was closed to make room. `first` says whether it is
/// the connection's first request, whose head is due from the moment the
/// connection was accepted; later ones may wait for the idle timeout before
/// they start.
fn read_head<S: Read>(
    reader: &mut BufReader<S>,
    watch: Option<&Watch>,
    first: bool,
    max_head_bytes: usize,
) -> io::Result<Option<Head>> {
    let mut deadline = None;
    if let Some(watch) = watch {
        let head_ms = watch.limits.head_timeout.as_millis() as u64;
        let since = match first {
            true => watch.state.load(Ordering::SeqCst),
            false => watch.now(),
        };
        if !watch.waiting(since) {
            return Ok(None);
        }
        if first {
            deadline = Some(since + head_ms);
        } else {
            watch
                .socket
                .set_read_timeout(Some(watch.limits.idle_timeout))?;
        }
    }
    let mut raw: Vec<u8> = Vec::new();
    loop {
        if let (Some(watch), Some(deadline)) = (watch, deadline) {
            watch.until(deadline)?;
        }
        let available = reader.fill_buf()?;
        if available.is_empty() {
            return match raw.is_empty() {
                true => Ok(None),
                false => Err(io::ErrorKind::UnexpectedEof.into()),
            };
        }
        if let (Some(watch), None) = (watch, deadline) {
            deadline = Some(watch.now() + watch.limits.head_timeout.as_millis() as u64);
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
        if raw.len() > max_head_bytes {
            return Err(io::Error::new(
                io::ErrorKind::InvalidData,
                "request head too large",
            ));
        }
    }
    if raw.len() > max_head_bytes {
        return Err(io::Error::new(
            io::ErrorKind::InvalidData,
            "request head too large",
        ));
    }
    if let Some(watch) = watch {
        if !watch.busy() {
            return Ok(None);
        }
        watch
            .socket
            .set_read_timeout(Some(watch.limits.idle_timeout))?;
    }
    parse_head(&raw).map(Some)
}

/// Parses a whole request head (through its blank line).
fn parse_head(raw: &[u8]) -> io::Result<Head> {
    let mut headers = [httparse::EMPTY_HEADER; HEADERS_MAX];
    let mut request = httparse::Request::new(&mut headers);
    let status = request
        .parse(raw)
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
    Ok(Head {
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
    })
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

/// Answers the requests of one connection, watched (for its deadlines and
/// slot) when `watch` is given.
pub fn requests<S: Read + Write>(stream: S, handler: &Handler, watch: Option<&Watch>) {
    let max_head_bytes = watch.map_or(DEFAULT_HEAD_BYTES, |w| w.limits.max_head_bytes);
    let mut reader = BufReader::with_capacity(READ_BUFFER, stream);
    let mut first = true;
    loop {
        let head = match read_head(&mut reader, watch, first, max_head_bytes) {
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
        first = false;
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
