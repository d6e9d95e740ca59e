//! Blob upload sessions: each streams into its own file, hashed as it
//! grows, and is committed to the store when the client names its digest.
//! Sessions idle longer than the expiry are removed with their files, and
//! files left by a server that was killed are removed when it starts again.

use std::collections::HashMap;
use std::fs::{self, File};
use std::io::{self, Read};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use crate::append::Appender;
use crate::digest::{Algorithm, Digest, Hasher};
use crate::error::{Error, Result};
use crate::store::COPY_BUFFER_SIZE;

/// One upload in progress.
pub struct Session {
    /// The repository it was started in.
    pub repo: String,
    path: PathBuf,
    file: File,
    /// Bytes received so far.
    pub offset: u64,
    hasher: Hasher,
    touched: Instant,
    /// The most bytes the upload may hold.
    max: u64,
}

impl Session {
    /// Appends `body` (of `length` bytes when the client said so); returns
    /// the bytes read. What was read before an error is kept. The content
    /// goes through the page cache, where a blob just pushed is found by the
    /// pulls that often follow; it is flushed only when a manifest naming
    /// it is pushed. A body that would take the upload past its limit fails
    /// with `FileTooLarge` (unread when its length was announced).
    pub fn append(&mut self, body: &mut dyn Read, length: Option<u64>) -> io::Result<u64> {
        let room = self.max.saturating_sub(self.offset);
        let too_large = || {
            io::Error::new(
                io::ErrorKind::FileTooLarge,
                format!("blobs are limited to {} bytes", self.max),
            )
        };
        if length.is_some_and(|l| l > room) {
            return Err(too_large());
        }
        let body = &mut body.take(room.saturating_add(1));
        let mut appender = Appender::cached(&self.file, self.offset, length);
        let mut total = 0u64;
        let read = loop {
            match appender.read_from(body) {
                Ok([]) => break Ok(()),
                Ok(bytes) => {
                    self.hasher.update(bytes);
                    total += bytes.len() as u64;
                }
                Err(e) => break Err(e),
            }
        };
        self.offset = appender.finish()?;
        self.touched = Instant::now();
        read?;
        if self.offset > self.max {
            return Err(too_large());
        }
        match length {
            Some(expected) if expected != total => Err(io::Error::new(
                io::ErrorKind::UnexpectedEof,
                format!("the body had {total} bytes, not the {expected} announced"),
            )),
            _ => Ok(total),
        }
    }

    /// The digest of everything received, by `algorithm`, and the file.
    pub fn finish(&mut self, algorithm: Algorithm) -> Result<(Digest, &Path)> {
        let digest = if algorithm == Algorithm::Sha256 {
            std::mem::replace(&mut self.hasher, Hasher::new(Algorithm::Sha256)).finish()
        } else {
            let mut hasher = Hasher::new(algorithm);
            let mut file = File::open(&self.path)
                .map_err(|e| Error::io(format!("reading {}", self.path.display()), e))?;
            let mut buf = vec![0u8; COPY_BUFFER_SIZE];
            loop {
                let n = file
                    .read(&mut buf)
                    .map_err(|e| Error::io(format!("reading {}", self.path.display()), e))?;
                if n == 0 {
                    break;
                }
                hasher.update(&buf[..n]);
            }
            hasher.finish()
        };
        Ok((digest, &self.path))
    }
}

/// The upload sessions of a server.
pub struct Uploads {
    dir: PathBuf,
    sessions: Mutex<HashMap<String, Arc<Mutex<Session>>>>,
    expiry: Duration,
    limit: usize,
    max_blob_bytes: u64,
}

/// A fresh session id: 128 random bits in hex.
fn new_id() -> io::Result<String> {
    let mut bytes = [0u8; 16];
    File::open("/dev/urandom")?.read_exact(&mut bytes)?;
    Ok(bytes.iter().map(|b| format!("{b:02x}")).collect())
}

/// Locks a session, whatever another thread's panic left.
pub fn lock(session: &Mutex<Session>) -> MutexGuard<'_, Session> {
    session.lock().unwrap_or_else(|p| p.into_inner())
}

impl Uploads {
    /// Sessions with files in `dir` (emptied of what a killed server left),
    /// expiring after `expiry` idle, at most `limit` at once, each at most
    /// `max_blob_bytes` long.
    pub fn new(
        dir: PathBuf,
        expiry: Duration,
        limit: usize,
        max_blob_bytes: u64,
    ) -> Result<Uploads> {
        if dir.exists() {
            fs::remove_dir_all(&dir)
                .map_err(|e| Error::io(format!("cleaning {}", dir.display()), e))?;
        }
        fs::create_dir_all(&dir)
            .map_err(|e| Error::io(format!("creating {}", dir.display()), e))?;
        Ok(Uploads {
            dir,
            sessions: Mutex::new(HashMap::new()),
            expiry,
            limit,
            max_blob_bytes,
        })
    }

    fn sessions(&self) -> MutexGuard<'_, HashMap<String, Arc<Mutex<Session>>>> {
        self.sessions.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Starts a session in `repo`; `None` when too many are open.
    pub fn start(&self, repo: &str) -> Result<Option<(String, Arc<Mutex<Session>>)>> {
        if self.sessions().len() >= self.limit {
            self.expire();
            if self.sessions().len() >= self.limit {
                return Ok(None);
            }
        }
        let id = new_id().map_err(|e| Error::io("drawing an upload id", e))?;
        let path = self.dir.join(&id);
        let file = File::create(&path)
            .map_err(|e| Error::io(format!("creating {}", path.display()), e))?;
        let session = Arc::new(Mutex::new(Session {
            repo: repo.to_owned(),
            path,
            file,
            offset: 0,
            hasher: Hasher::new(Algorithm::Sha256),
            touched: Instant::now(),
            max: self.max_blob_bytes,
        }));
        self.sessions().insert(id.clone(), Arc::clone(&session));
        Ok(Some((id, session)))
    }

    /// The session `id` of `repo`.
    pub fn get(&self, repo: &str, id: &str) -> Option<Arc<Mutex<Session>>> {
        let session = self.sessions().get(id).cloned()?;
        let same_repo = lock(&session).repo == repo;
        same_repo.then_some(session)
    }

    /// Ends session `id`, removing its file if it is still there.
    pub fn remove(&self, id: &str) -> bool {
        match self.sessions().remove(id) {
            Some(session) => {
                let _ = fs::remove_file(&lock(&session).path);
                true
            }
            None => false,
        }
    }

    /// Removes the sessions idle for longer than the expiry.
    pub fn expire(&self) {
        let now = Instant::now();
        let stale: Vec<String> = self
            .sessions()
            .iter()
            .filter(|(_, s)| {
                s.try_lock()
                    .map(|s| now.duration_since(s.touched) > self.expiry)
                    .unwrap_or(false)
            })
            .map(|(id, _)| id.clone())
            .collect();
        for id in stale {
            self.remove(&id);
        }
    }

    /// How often to look for expired sessions.
    pub fn sweep_interval(&self) -> Duration {
        (self.expiry / 4).clamp(Duration::from_millis(50), Duration::from_secs(60))
    }
}
