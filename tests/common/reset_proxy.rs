//! A TCP proxy on 127.0.0.1 that cuts connections at random points: each
//! connection, with probability `reset_per_mille`/1000, is shut down both
//! ways after a random number of reply bytes below `max_cut` (mid-head,
//! mid-body, or between replies of a kept-alive connection).
//! The randomness is a seeded xorshift, so a run can be repeated. Stops
//! (and closes every connection) when dropped.

use std::io::{Read, Write};
use std::net::{Shutdown, TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::Duration;

pub struct ResetProxy {
    pub port: u16,
    /// How many connections were cut.
    pub resets: Arc<AtomicUsize>,
    /// How many requests asked for a `Range` (resumed downloads).
    pub ranged: Arc<AtomicUsize>,
    stop: Arc<AtomicBool>,
    thread: Option<JoinHandle<()>>,
}

fn xorshift(state: &AtomicU64) -> u64 {
    let mut x = state.load(Ordering::SeqCst);
    x ^= x << 13;
    x ^= x >> 7;
    x ^= x << 17;
    state.store(x, Ordering::SeqCst);
    x
}

impl ResetProxy {
    pub fn start(upstream: &str, seed: u64, reset_per_mille: u64, max_cut: u64) -> ResetProxy {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        listener.set_nonblocking(true).unwrap();
        let port = listener.local_addr().unwrap().port();
        let stop = Arc::new(AtomicBool::new(false));
        let resets = Arc::new(AtomicUsize::new(0));
        let ranged = Arc::new(AtomicUsize::new(0));
        let rng = Arc::new(AtomicU64::new(seed | 1));
        let upstream = upstream.to_owned();
        let (stop2, resets2, ranged2) = (stop.clone(), resets.clone(), ranged.clone());
        let thread = std::thread::spawn(move || {
            let open: Arc<Mutex<Vec<TcpStream>>> = Arc::default();
            let mut workers = Vec::new();
            while !stop2.load(Ordering::SeqCst) {
                let Ok((client, _)) = listener.accept() else {
                    std::thread::sleep(Duration::from_millis(2));
                    continue;
                };
                let _ = client.set_nonblocking(false);
                let Ok(server) = TcpStream::connect(&upstream) else {
                    continue;
                };
                let draw = xorshift(&rng);
                let cut = (draw % 1000 < reset_per_mille).then(|| (draw >> 10) % max_cut);
                {
                    let mut open = open.lock().unwrap();
                    open.push(client.try_clone().unwrap());
                    open.push(server.try_clone().unwrap());
                }
                // Requests flow untouched; replies are cut at `cut` bytes.
                let (c2, s2) = (client.try_clone().unwrap(), server.try_clone().unwrap());
                let ranged = ranged2.clone();
                workers.push(std::thread::spawn(move || {
                    pump(c2, s2, None, Some(&ranged));
                }));
                let resets = resets2.clone();
                workers.push(std::thread::spawn(move || {
                    if pump(server, client, cut, None) {
                        resets.fetch_add(1, Ordering::SeqCst);
                    }
                }));
            }
            for s in open.lock().unwrap().iter() {
                let _ = s.shutdown(Shutdown::Both);
            }
            for w in workers {
                let _ = w.join();
            }
        });
        ResetProxy {
            port,
            resets,
            ranged,
            stop,
            thread: Some(thread),
        }
    }

    pub fn addr(&self) -> String {
        format!("127.0.0.1:{}", self.port)
    }
}

/// Copies `from` to `to` until either ends, or until `cut` bytes, when
/// both are shut down; returns whether it cut. Counts in `ranged` the
/// reads that carry a `Range` request header.
fn pump(
    mut from: TcpStream,
    mut to: TcpStream,
    cut: Option<u64>,
    ranged: Option<&AtomicUsize>,
) -> bool {
    let mut buf = [0u8; 16 * 1024];
    let mut sent = 0u64;
    loop {
        let n = match from.read(&mut buf) {
            Ok(0) | Err(_) => break,
            Ok(n) => n,
        };
        if let Some(ranged) = ranged {
            let text = String::from_utf8_lossy(&buf[..n]).to_ascii_lowercase();
            ranged.fetch_add(text.matches("\r\nrange: bytes=").count(), Ordering::SeqCst);
        }
        let n = match cut {
            Some(cut) if sent + n as u64 >= cut => {
                let _ = to.write_all(&buf[..(cut - sent) as usize]);
                let _ = to.shutdown(Shutdown::Both);
                let _ = from.shutdown(Shutdown::Both);
                return true;
            }
            _ => n,
        };
        if to.write_all(&buf[..n]).is_err() {
            break;
        }
        sent += n as u64;
    }
    let _ = to.shutdown(Shutdown::Write);
    false
}
