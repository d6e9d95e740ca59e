//! A minimum rate for response bodies: a reply that dribbles (a slowloris
//! server sending a byte a second) never trips a per-read timeout, so the
//! bytes that arrived are counted per window and a body slower than the
//! minimum fails with `TimedOut`.

use std::io::{self, Read};
use std::time::{Duration, Instant};

/// `inner`, failing once a window of `window` passes with fewer than
/// `per_sec` bytes a second read in it. A zero rate or window never fails.
pub(crate) struct MinRate<R> {
    inner: R,
    per_sec: u64,
    window: Duration,
    started: Instant,
    bytes: u64,
}

impl<R: Read> MinRate<R> {
    /// Guards `inner` with a minimum of `per_sec` bytes a second over
    /// `window`.
    pub(crate) fn new(inner: R, per_sec: u64, window: Duration) -> MinRate<R> {
        MinRate {
            inner,
            per_sec,
            window,
            started: Instant::now(),
            bytes: 0,
        }
    }
}

impl<R: Read> Read for MinRate<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(buf)?;
        if n == 0 || self.per_sec == 0 || self.window.is_zero() {
            return Ok(n);
        }
        self.bytes += n as u64;
        let elapsed = self.started.elapsed();
        if elapsed >= self.window {
            let rate = self.bytes / elapsed.as_secs().max(1);
            if rate < self.per_sec {
                return Err(io::Error::new(
                    io::ErrorKind::TimedOut,
                    format!(
                        "the reply arrived at {rate} bytes/s over {} s, slower than the \
                         {} bytes/s minimum",
                        elapsed.as_secs(),
                        self.per_sec
                    ),
                ));
            }
            self.started = Instant::now();
            self.bytes = 0;
        }
        Ok(n)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A reader that sleeps before every byte.
    struct Slow(Duration);

    impl Read for Slow {
        fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
            std::thread::sleep(self.0);
            buf[0] = b'x';
            Ok(1)
        }
    }

    #[test]
    fn a_slow_body_fails_after_one_window() {
        let mut slow = MinRate::new(
            Slow(Duration::from_millis(20)),
            1000,
            Duration::from_secs(1),
        );
        let start = Instant::now();
        let e = io::copy(&mut slow, &mut io::sink()).unwrap_err();
        assert_eq!(e.kind(), io::ErrorKind::TimedOut);
        assert!(start.elapsed() < Duration::from_secs(3));
        let mut fast = MinRate::new(&[7u8; 100_000][..], 1000, Duration::from_secs(1));
        assert_eq!(io::copy(&mut fast, &mut io::sink()).unwrap(), 100_000);
    }
}
