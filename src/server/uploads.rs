//! Blob upload sessions: each streams into its own file, hashed as it
//! grows, and is committed to the store when the client names its digest.
//! Sessions idle longer than the expiry are removed with their files, and
//! files left by a server that was killed are removed when it starts again.
//!
//! On an S3 store the upload lives in the bucket instead, so that each of
//! its requests may reach a different server: `uploads/ID/info` names the
//! repository, and each PATCH's body is staged as objects
//! `uploads/ID/chunks/OFFSET` of at most [`PART_SIZE`] bytes (so a small
//! PATCH costs one small object, whatever S3's 5 MiB minimum part size).
//! The upload's state — its offset — is the sum of its chunks. The final
//! PUT streams the chunks in order through the digest check into the blob's
//! multipart upload, completed only when the digest matches; the chunks are
//! then removed. Abandoned uploads are removed by `gc`.

use std::collections::HashMap;
use std::fs::{self, File};
use std::io::{self, Read};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use crate::append::Appender;
use crate::digest::{Algorithm, Digest, Hasher};
use crate::error::{Error, ErrorKind, Result};
use crate::s3::Bucket;
use crate::store::{Store, COPY_BUFFER_SIZE};

/// The largest chunk object an upload's body is staged in on S3.
pub const PART_SIZE: usize = 8 << 20;

/// One upload in progress.
pub struct Session {
    /// The repository it was started in.
    pub repo: String,
    place: Place,
    /// Bytes received so far.
    pub offset: u64,
    touched: Instant,
    /// The most bytes the upload may hold.
    max: u64,
}

/// Where an upload's bytes are.
enum Place {
    /// A file of this server's, hashed as it grows.
    File {
        path: PathBuf,
        file: File,
        hasher: Box<Hasher>,
    },
    /// Chunk objects in a bucket (upload `id`).
    Bucket { bucket: Arc<Bucket>, id: String },
}

/// The prefix of upload `id`'s objects in a bucket.
fn upload_prefix(id: &str) -> String {
    format!("uploads/{id}/")
}

/// Reads an upload's chunk objects one after the other.
struct Chunks {
    bucket: Arc<Bucket>,
    names: std::vec::IntoIter<String>,
    current: Option<Box<dyn Read + Send>>,
}

impl Read for Chunks {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        loop {
            if let Some(reader) = &mut self.current {
                let n = reader.read(buf)?;
                if n > 0 || buf.is_empty() {
                    return Ok(n);
                }
                self.current = None;
            }
            let Some(name) = self.names.next() else {
                return Ok(0);
            };
            let reader = self
                .bucket
                .reader(&name, 0)
                .map_err(io::Error::from)?
                .ok_or_else(|| io::Error::other(format!("the upload's chunk {name} is gone")))?;
            self.current = Some(reader);
        }
    }
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
        let (file, hasher) = match &mut self.place {
            Place::File { file, hasher, .. } => (file, hasher),
            Place::Bucket { bucket, id } => {
                let (bucket, id) = (Arc::clone(bucket), id.clone());
                return self.append_chunks(&bucket, &id, body, length, too_large());
            }
        };
        let mut appender = Appender::cached(file, self.offset, length)?;
        let mut total = 0u64;
        let read = loop {
            match appender.read_from(body) {
                Ok([]) => break Ok(()),
                Ok(bytes) => {
                    hasher.update(bytes);
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

    /// Stages `body` as chunk objects of upload `id`.
    fn append_chunks(
        &mut self,
        bucket: &Bucket,
        id: &str,
        body: &mut dyn Read,
        length: Option<u64>,
        too_large: io::Error,
    ) -> io::Result<u64> {
        let mut buf = vec![0u8; PART_SIZE];
        let mut total = 0u64;
        loop {
            let mut filled = 0;
            while filled < buf.len() {
                match body.read(&mut buf[filled..]) {
                    Ok(0) => break,
                    Ok(n) => filled += n,
                    Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                    Err(e) => return Err(e),
                }
            }
            if filled == 0 {
                break;
            }
            if self.offset + filled as u64 > self.max {
                return Err(too_large);
            }
            let name = format!("{}chunks/{:020}", upload_prefix(id), self.offset);
            bucket
                .put(&name, &buf[..filled], false)
                .map_err(io::Error::from)?;
            self.offset += filled as u64;
            total += filled as u64;
            self.touched = Instant::now();
        }
        match length {
            Some(expected) if expected != total => Err(io::Error::new(
                io::ErrorKind::UnexpectedEof,
                format!("the body had {total} bytes, not the {expected} announced"),
            )),
            _ => Ok(total),
        }
    }

    /// Stores everything received as blob `digest` in `blobs`, when it has
    /// that digest (else `DigestMismatch`).
    pub fn commit(&mut self, digest: &Digest, blobs: &dyn Store) -> Result<()> {
        let size = self.offset;
        match &mut self.place {
            Place::File { path, hasher, .. } => {
                let actual = if digest.algorithm() == Algorithm::Sha256 {
                    std::mem::replace(&mut **hasher, Hasher::new(Algorithm::Sha256)).finish()
                } else {
                    hash_file(path, digest.algorithm())?
                };
                if &actual != digest {
                    return Err(Error::new(
                        ErrorKind::DigestMismatch,
                        format!("the upload has digest {actual}, not {digest}"),
                    ));
                }
                // A blob already stored is kept and the upload dropped (with
                // its session): renaming over a file still being written
                // back would make this commit wait on the page cache for nothing.
                if blobs.stat(digest)? == Some(size) {
                    return Ok(());
                }
                blobs.put_file(digest, size, path)
            }
            Place::Bucket { bucket, id } => {
                let (objects, _) = bucket.list(&format!("{}chunks/", upload_prefix(id)), true)?;
                let names: Vec<String> = objects
                    .into_iter()
                    .map(|o| format!("{}chunks/{}", upload_prefix(id), o.name))
                    .collect();
                let mut chunks = Chunks {
                    bucket: Arc::clone(bucket),
                    names: names.into_iter(),
                    current: None,
                };
                blobs.put(digest, Some(size), &mut chunks).map(|_| ())
            }
        }
    }
}

/// The digest of the file at `path` by `algorithm`.
fn hash_file(path: &Path, algorithm: Algorithm) -> Result<Digest> {
    let mut hasher = Hasher::new(algorithm);
    let mut file =
        File::open(path).map_err(|e| Error::io(format!("reading {}", path.display()), e))?;
    let mut buf = vec![0u8; COPY_BUFFER_SIZE];
    loop {
        let n = file
            .read(&mut buf)
            .map_err(|e| Error::io(format!("reading {}", path.display()), e))?;
        if n == 0 {
            return Ok(hasher.finish());
        }
        hasher.update(&buf[..n]);
    }
}

/// The upload sessions of a server.
pub struct Uploads {
    dir: PathBuf,
    sessions: Mutex<HashMap<String, Arc<Mutex<Session>>>>,
    expiry: Duration,
    limit: usize,
    max_blob_bytes: u64,
    /// The bucket holding the uploads, when they live in one.
    bucket: Option<Arc<Bucket>>,
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
            bucket: None,
        })
    }

    /// These sessions, kept in `bucket` rather than in this process.
    pub fn in_bucket(self, bucket: Arc<Bucket>) -> Uploads {
        Uploads {
            bucket: Some(bucket),
            ..self
        }
    }

    fn sessions(&self) -> MutexGuard<'_, HashMap<String, Arc<Mutex<Session>>>> {
        self.sessions.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Starts a session in `repo`; `None` when too many are open.
    pub fn start(&self, repo: &str) -> Result<Option<(String, Arc<Mutex<Session>>)>> {
        if let Some(bucket) = &self.bucket {
            let id = new_id().map_err(|e| Error::io("drawing an upload id", e))?;
            bucket.put(
                &format!("{}info", upload_prefix(&id)),
                repo.as_bytes(),
                true,
            )?;
            let session = self.remote(bucket, &id, repo.to_owned(), 0);
            return Ok(Some((id, session)));
        }
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
            place: Place::File {
                path,
                file,
                hasher: Box::new(Hasher::new(Algorithm::Sha256)),
            },
            offset: 0,
            touched: Instant::now(),
            max: self.max_blob_bytes,
        }));
        self.sessions().insert(id.clone(), Arc::clone(&session));
        Ok(Some((id, session)))
    }

    fn remote(
        &self,
        bucket: &Arc<Bucket>,
        id: &str,
        repo: String,
        offset: u64,
    ) -> Arc<Mutex<Session>> {
        Arc::new(Mutex::new(Session {
            repo,
            place: Place::Bucket {
                bucket: Arc::clone(bucket),
                id: id.to_owned(),
            },
            offset,
            touched: Instant::now(),
            max: self.max_blob_bytes,
        }))
    }

    /// The session `id` of `repo` (read from the bucket, on S3).
    pub fn get(&self, repo: &str, id: &str) -> Result<Option<Arc<Mutex<Session>>>> {
        if let Some(bucket) = &self.bucket {
            if id.is_empty() || !id.bytes().all(|b| b.is_ascii_hexdigit()) {
                return Ok(None);
            }
            let prefix = upload_prefix(id);
            if bucket.get(&format!("{prefix}info"))?.as_deref() != Some(repo.as_bytes()) {
                return Ok(None);
            }
            let (chunks, _) = bucket.list(&format!("{prefix}chunks/"), true)?;
            let mut offset = 0u64;
            for chunk in &chunks {
                if chunk.name.parse::<u64>().ok() != Some(offset) {
                    return Err(Error::invalid(format!(
                        "upload {id} lost a chunk at byte {offset}"
                    )));
                }
                offset += chunk.size;
            }
            return Ok(Some(self.remote(bucket, id, repo.to_owned(), offset)));
        }
        Ok(self.get_local(repo, id))
    }

    fn get_local(&self, repo: &str, id: &str) -> Option<Arc<Mutex<Session>>> {
        let session = self.sessions().get(id).cloned()?;
        let same_repo = lock(&session).repo == repo;
        same_repo.then_some(session)
    }

    /// Ends session `id`, removing its file (or objects) if still there.
    pub fn remove(&self, id: &str) -> bool {
        if let Some(bucket) = &self.bucket {
            return remove_remote(bucket, id).unwrap_or(false);
        }
        match self.sessions().remove(id) {
            Some(session) => {
                if let Place::File { path, .. } = &lock(&session).place {
                    let _ = fs::remove_file(path);
                }
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

/// Removes upload `id`'s objects from `bucket`; whether it had any.
pub fn remove_remote(bucket: &Bucket, id: &str) -> Result<bool> {
    let prefix = upload_prefix(id);
    let (objects, _) = bucket.list(&prefix, true)?;
    for object in &objects {
        bucket.delete(&format!("{prefix}{}", object.name))?;
    }
    Ok(!objects.is_empty())
}
