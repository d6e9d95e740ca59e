//! Progress of long operations, and cancelling them: events sent to a
//! callback (which may cancel by returning `false`), a token another thread
//! may cancel through, and a reader that reports bytes and stops when either
//! says so.

use std::cell::RefCell;
use std::fmt;
use std::io::{self, Read, Write};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use serde::Serialize;

use crate::digest::Digest;
use crate::error::{Error, ErrorKind, Result};

/// Something that happened during a copy.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "event", rename_all = "snake_case")]
pub enum ProgressEvent {
    /// An image (or index) is about to be copied.
    ImageStart {
        /// The manifest's digest.
        digest: Digest,
        /// Its media type.
        media_type: String,
    },
    /// A blob transfer started.
    BlobStart {
        /// The blob.
        digest: Digest,
        /// Its size.
        size: u64,
    },
    /// Bytes of a blob moved so far.
    BlobBytes {
        /// The blob.
        digest: Digest,
        /// Bytes moved so far.
        bytes: u64,
        /// Its size.
        size: u64,
    },
    /// The destination already had the blob.
    BlobSkip {
        /// The blob.
        digest: Digest,
        /// Its size.
        size: u64,
    },
    /// The blob was linked from another repository of the same registry.
    BlobMount {
        /// The blob.
        digest: Digest,
        /// The repository it was mounted from.
        from: String,
    },
    /// A blob transfer finished, verified.
    BlobDone {
        /// The blob.
        digest: Digest,
        /// Its size.
        size: u64,
    },
    /// A request failed for a reason that may pass (a dropped connection, a
    /// busy server) and is tried again.
    Retry {
        /// The blob being moved, when the request was for one.
        digest: Option<Digest>,
        /// Which retry this is, from 1.
        attempt: u32,
        /// What failed.
        reason: String,
    },
    /// The image's manifests are written.
    ImageDone {
        /// The digest of the manifest written at the top.
        digest: Digest,
    },
}

/// A progress callback: receives every event; returning `false` cancels.
/// Called from the copy's worker threads.
pub type ProgressFn = dyn Fn(&ProgressEvent) -> bool + Send + Sync;

/// A handle that cancels an operation from any thread.
#[derive(Debug, Clone, Default)]
pub struct CancelToken(Arc<AtomicBool>);

impl CancelToken {
    /// A token not yet cancelled.
    pub fn new() -> CancelToken {
        CancelToken::default()
    }

    /// Cancels the operations watching this token.
    pub fn cancel(&self) {
        self.0.store(true, Ordering::SeqCst);
    }

    /// Whether [`cancel`](Self::cancel) was called.
    pub fn is_cancelled(&self) -> bool {
        self.0.load(Ordering::SeqCst)
    }
}

/// A writer that fails with [`ErrorKind::Cancelled`] (inside the
/// `io::Error`, so [`from_io`](crate::error::from_io) recovers it) once
/// `cancel` is cancelled: what writes a file through it stops at the next
/// write, and drops (removes) its temporary file.
pub struct CancellableWriter<'a, W: Write> {
    inner: W,
    cancel: Option<&'a CancelToken>,
    what: &'a str,
}

impl<'a, W: Write> CancellableWriter<'a, W> {
    /// Wraps `inner`; `what` names the operation in the cancelled error
    /// ("the export was cancelled"); no token: never cancelled.
    pub fn new(inner: W, cancel: Option<&'a CancelToken>, what: &'a str) -> Self {
        CancellableWriter {
            inner,
            cancel,
            what,
        }
    }

    fn check(&self) -> io::Result<()> {
        match self.cancel {
            Some(token) if token.is_cancelled() => Err(io::Error::other(Error::new(
                ErrorKind::Cancelled,
                format!("{} was cancelled", self.what),
            ))),
            _ => Ok(()),
        }
    }
}

impl<W: Write> Write for CancellableWriter<'_, W> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.check()?;
        self.inner.write(buf)
    }

    fn flush(&mut self) -> io::Result<()> {
        self.check()?;
        self.inner.flush()
    }
}

/// Watches one operation: forwards events to the callback and tracks
/// whether it must stop (cancelled, or another worker failed).
#[derive(Clone, Default)]
pub struct Monitor {
    callback: Option<Arc<ProgressFn>>,
    cancel: CancelToken,
    stop: Arc<AtomicBool>,
}

impl fmt::Debug for Monitor {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Monitor")
            .field("callback", &self.callback.is_some())
            .field("cancel", &self.cancel)
            .finish()
    }
}

impl Monitor {
    /// A monitor sending events to `callback` and watching `cancel`.
    pub fn new(callback: Option<Arc<ProgressFn>>, cancel: Option<CancelToken>) -> Monitor {
        Monitor {
            callback,
            cancel: cancel.unwrap_or_default(),
            stop: Arc::default(),
        }
    }

    /// Sends `event`; a callback returning `false` cancels.
    pub fn emit(&self, event: ProgressEvent) -> Result<()> {
        if let Some(callback) = &self.callback {
            if !callback(&event) {
                self.cancel.cancel();
            }
        }
        self.check()
    }

    /// Fails with [`ErrorKind::Cancelled`] once cancelled or stopped.
    pub fn check(&self) -> Result<()> {
        if self.cancel.is_cancelled() {
            Err(Error::new(
                ErrorKind::Cancelled,
                "the operation was cancelled",
            ))
        } else if self.stop.load(Ordering::SeqCst) {
            Err(Error::new(
                ErrorKind::Cancelled,
                "stopped after another part failed",
            ))
        } else {
            Ok(())
        }
    }

    /// Tells every worker to stop (one of them failed).
    pub fn stop(&self) {
        self.stop.store(true, Ordering::SeqCst);
    }

    /// Wraps `inner`, the content of blob `digest`, to report its bytes.
    pub fn watch<R: Read>(&self, inner: R, digest: &Digest, size: u64) -> Watched<R> {
        Watched {
            inner,
            monitor: self.clone(),
            digest: digest.clone(),
            size,
            bytes: 0,
            reported: 0,
        }
    }
}

thread_local! {
    /// Where retries on this thread are reported, while a copy's worker
    /// moves a blob.
    static RETRIES: RefCell<Option<(Monitor, Option<Digest>)>> = const { RefCell::new(None) };
}

impl Monitor {
    /// Runs `work` with retries made on this thread (by the registry client,
    /// deep below) reported as [`ProgressEvent::Retry`] for `digest`.
    pub fn observing_retries<T>(&self, digest: Option<&Digest>, work: impl FnOnce() -> T) -> T {
        let previous = RETRIES.with(|r| r.replace(Some((self.clone(), digest.cloned()))));
        let out = work();
        RETRIES.with(|r| *r.borrow_mut() = previous);
        out
    }
}

thread_local! {
    /// The notes of the operation running on this thread, when one collects them.
    static NOTES: RefCell<Option<Vec<String>>> = const { RefCell::new(None) };
}

/// Runs `work` and returns, beside its result, the notes made on this
/// thread meanwhile: warnings about input treated leniently (a referrers
/// fallback tag that holds no referrers index, …), which reports carry.
/// Notes of a nested collection reach the outer one too.
pub fn collecting_notes<T>(work: impl FnOnce() -> T) -> (T, Vec<String>) {
    let previous = NOTES.with(|n| n.replace(Some(Vec::new())));
    let out = work();
    let notes = NOTES.with(|n| n.replace(previous)).unwrap_or_default();
    NOTES.with(|n| {
        if let Some(outer) = n.borrow_mut().as_mut() {
            outer.extend(notes.iter().cloned());
        }
    });
    (out, notes)
}

/// Notes `text` for the report of the operation running on this thread; a
/// note nobody collects is dropped.
pub(crate) fn note(text: impl Into<String>) {
    NOTES.with(|n| {
        if let Some(notes) = n.borrow_mut().as_mut() {
            let text = text.into();
            if !notes.contains(&text) {
                notes.push(text);
            }
        }
    });
}

/// Reports retry number `attempt` (from 1) of a request on this thread,
/// which failed because of `reason`, to the copy observing it, if any.
pub(crate) fn report_retry(attempt: u32, reason: &str) {
    let observer = RETRIES.with(|r| r.borrow().clone());
    if let Some((monitor, digest)) = observer {
        // A cancel the callback asks for is seen at the next check.
        let _ = monitor.emit(ProgressEvent::Retry {
            digest,
            attempt,
            reason: reason.to_owned(),
        });
    }
}

/// How many bytes pass between two `BlobBytes` events.
const REPORT_EVERY: u64 = 1 << 20;

/// A reader that reports progress and fails once the operation is cancelled.
pub struct Watched<R> {
    inner: R,
    monitor: Monitor,
    digest: Digest,
    size: u64,
    bytes: u64,
    reported: u64,
}

impl<R: Read> Read for Watched<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        self.monitor.check()?;
        let n = self.inner.read(buf)?;
        self.bytes += n as u64;
        if self.bytes - self.reported >= REPORT_EVERY || (n == 0 && self.bytes > self.reported) {
            self.reported = self.bytes;
            self.monitor.emit(ProgressEvent::BlobBytes {
                digest: self.digest.clone(),
                bytes: self.bytes,
                size: self.size,
            })?;
        }
        Ok(n)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_callback_returning_false_cancels_the_reader() {
        let seen = Arc::new(std::sync::Mutex::new(Vec::new()));
        let log = seen.clone();
        let callback: Arc<ProgressFn> = Arc::new(move |e: &ProgressEvent| {
            log.lock().unwrap().push(e.clone());
            false
        });
        let monitor = Monitor::new(Some(callback), None);
        let data = vec![0u8; 3 * REPORT_EVERY as usize];
        let mut reader = monitor.watch(&data[..], &Digest::sha256(&data), data.len() as u64);
        let err = io::copy(&mut reader, &mut io::sink()).unwrap_err();
        let err = crate::error::from_io("copying", err);
        assert_eq!(err.kind(), ErrorKind::Cancelled);
        assert_eq!(seen.lock().unwrap().len(), 1, "stopped at the first report");
    }

    #[test]
    fn a_token_cancels_from_another_thread() {
        let token = CancelToken::new();
        let monitor = Monitor::new(None, Some(token.clone()));
        assert!(monitor.check().is_ok());
        std::thread::spawn(move || token.cancel()).join().unwrap();
        assert_eq!(monitor.check().unwrap_err().kind(), ErrorKind::Cancelled);
        let json = serde_json::to_value(ProgressEvent::BlobSkip {
            digest: Digest::sha256(b""),
            size: 0,
        })
        .unwrap();
        assert_eq!(json["event"], "blob_skip");
    }
}
