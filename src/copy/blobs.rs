//! The blobs of copies: moved on a pool of threads, through [`Transfers`],
//! which one copy or a whole sync shares: a bound on the transfers running
//! at once across all its images, a set of blobs in flight per destination
//! store (one blob is never sent twice at once), and the blob-location
//! cache (mount sources across runs).

use std::collections::HashMap;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Condvar, Mutex};

use crate::blob_cache::{self, BlobCache};
use crate::descriptor::Descriptor;
use crate::error::{Error, ErrorKind, Result};
use crate::media_types;
use crate::progress::{note, Monitor, ProgressEvent};
use crate::transport::Transport;

use super::CopyOptions;

/// How many cached mount sources are tried for one blob before uploading.
const MOUNT_TRIES: usize = 3;

/// What the copies of one call share.
pub(crate) struct Transfers {
    /// Transfers that may still start, and the signal that one ended.
    slots: Mutex<usize>,
    freed: Condvar,
    /// One lock per `store digest`: held while that blob moves there.
    in_flight: Mutex<HashMap<String, Arc<Mutex<()>>>>,
    cache: Option<BlobCache>,
}

impl Transfers {
    /// The shared state for copies with `options`: up to `options.jobs`
    /// transfers at once, the blob-location cache unless it is off.
    pub(crate) fn new(options: &CopyOptions) -> Transfers {
        let cache = match (options.blob_cache, &options.blob_cache_dir) {
            (false, _) => None,
            (true, Some(dir)) => Some(BlobCache::open(dir)),
            (true, None) => blob_cache::default_dir().map(BlobCache::open),
        };
        Transfers {
            slots: Mutex::new(options.jobs.max(1)),
            freed: Condvar::new(),
            in_flight: Mutex::new(HashMap::new()),
            cache,
        }
    }

    /// Writes what the copies learnt to the cache file; a failure is noted,
    /// not raised (the cache is only a hint).
    pub(crate) fn save(&self) {
        if let Some(Err(e)) = self.cache.as_ref().map(BlobCache::save) {
            note(format!("the blob-location cache was not saved: {e}"));
        }
    }

    fn gate(&self, key: String) -> Arc<Mutex<()>> {
        self.in_flight
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .entry(key)
            .or_default()
            .clone()
    }

    /// Runs `work` once a transfer slot is free.
    fn with_slot<T>(&self, work: impl FnOnce() -> T) -> T {
        let mut free = self.slots.lock().unwrap_or_else(|p| p.into_inner());
        while *free == 0 {
            free = self.freed.wait(free).unwrap_or_else(|p| p.into_inner());
        }
        *free -= 1;
        drop(free);
        let out = work();
        *self.slots.lock().unwrap_or_else(|p| p.into_inner()) += 1;
        self.freed.notify_one();
        out
    }

    /// Records that `at` (a registry repository) holds `blob`.
    fn record(&self, at: &dyn Transport, blob: &Descriptor) {
        if let (Some(cache), Some((registry, repo))) = (&self.cache, at.registry_repository()) {
            cache.record(&registry, &blob.digest, &repo);
        }
    }

    /// Mounts `blob` into `dst` from a repository the cache knows holds it.
    fn mount_cached(&self, blob: &Descriptor, dst: &dyn Transport) -> Option<String> {
        let (cache, (registry, repo)) = (self.cache.as_ref()?, dst.registry_repository()?);
        cache
            .locations(&registry, &blob.digest, &repo)
            .into_iter()
            .take(MOUNT_TRIES)
            .find(|from| matches!(dst.mount_from(blob, from), Ok(true)))
    }
}

/// What happened to the blobs of a copy.
#[derive(Default)]
pub(crate) struct Counts {
    pub(crate) copied: usize,
    pub(crate) mounted: usize,
    pub(crate) bytes: u64,
    pub(crate) foreign: Vec<Descriptor>,
}

/// What happened to one blob.
enum Moved {
    Skipped,
    Mounted,
    Copied(u64),
    /// A foreign layer the source does not hold, left at its `urls`.
    Foreign,
}

/// Moves `blobs` with up to `jobs` threads; the first failure stops the rest.
pub(crate) fn transfer_blobs(
    blobs: &[Descriptor],
    src: &dyn Transport,
    dst: &dyn Transport,
    monitor: &Monitor,
    jobs: usize,
    transfers: &Transfers,
) -> Result<Counts> {
    let moved = run_parallel(blobs, jobs, monitor, |blob| {
        monitor.observing_retries(Some(&blob.digest), || {
            move_blob(blob, src, dst, monitor, transfers)
        })
    })?;
    let mut counts = Counts {
        copied: 0,
        mounted: 0,
        bytes: 0,
        foreign: Vec::new(),
    };
    for (blob, moved) in blobs.iter().zip(moved) {
        match moved {
            Moved::Skipped => {}
            Moved::Foreign => counts.foreign.push(blob.clone()),
            Moved::Mounted => counts.mounted += 1,
            Moved::Copied(size) => {
                counts.copied += 1;
                counts.bytes += size;
            }
        }
    }
    counts.foreign.sort_by_key(|d| d.digest.to_string());
    Ok(counts)
}

/// Runs `work` on each item with up to `jobs` threads, keeping the order of
/// the results; the first failure (or a cancel) stops the rest and is
/// returned.
pub(crate) fn run_parallel<T: Sync, R: Send>(
    items: &[T],
    jobs: usize,
    monitor: &Monitor,
    work: impl Fn(&T) -> Result<R> + Sync,
) -> Result<Vec<R>> {
    let next = AtomicUsize::new(0);
    let results: Mutex<Vec<Option<R>>> = Mutex::new(items.iter().map(|_| None).collect());
    let failure: Mutex<Option<Error>> = Mutex::new(None);
    std::thread::scope(|scope| {
        for _ in 0..jobs.clamp(1, items.len().max(1)) {
            scope.spawn(|| loop {
                let i = next.fetch_add(1, Ordering::SeqCst);
                if i >= items.len() || monitor.check().is_err() {
                    break;
                }
                match work(&items[i]) {
                    Ok(out) => results.lock().unwrap_or_else(|p| p.into_inner())[i] = Some(out),
                    Err(e) => {
                        failure
                            .lock()
                            .unwrap_or_else(|p| p.into_inner())
                            .get_or_insert(e);
                        monitor.stop();
                        break;
                    }
                }
            });
        }
    });
    if let Some(e) = failure.into_inner().unwrap_or_else(|p| p.into_inner()) {
        return Err(e);
    }
    monitor.check()?;
    results
        .into_inner()
        .unwrap_or_else(|p| p.into_inner())
        .into_iter()
        .map(|r| r.ok_or_else(|| Error::new(ErrorKind::Cancelled, "copy cancelled")))
        .collect()
}

/// Moves one blob: skipped when `dst` has it, else mounted from the source's
/// repository or one the cache knows, else streamed from `src` straight into
/// `dst` (never through a file). Another job moving the same blob into the
/// same store is waited for, and then finds it there.
fn move_blob(
    blob: &Descriptor,
    src: &dyn Transport,
    dst: &dyn Transport,
    monitor: &Monitor,
    transfers: &Transfers,
) -> Result<Moved> {
    let gate = transfers.gate(format!("{} {}", dst.blob_store_key(), blob.digest));
    let _moving = gate.lock().unwrap_or_else(|p| p.into_inner());
    let moved = move_unshared(blob, src, dst, monitor, transfers)?;
    if !matches!(moved, Moved::Foreign) {
        transfers.record(dst, blob);
        transfers.record(src, blob);
    }
    Ok(moved)
}

fn move_unshared(
    blob: &Descriptor,
    src: &dyn Transport,
    dst: &dyn Transport,
    monitor: &Monitor,
    transfers: &Transfers,
) -> Result<Moved> {
    let digest = blob.digest.clone();
    if dst.blob_size(&blob.digest)? == Some(blob.size) {
        monitor.emit(ProgressEvent::BlobSkip {
            digest,
            size: blob.size,
        })?;
        return Ok(Moved::Skipped);
    }
    if media_types::is_foreign_layer(&blob.media_type) && src.blob_size(&blob.digest)?.is_none() {
        return Ok(Moved::Foreign);
    }
    let origin = src.blob_origin(&blob.digest).unwrap_or(src);
    if dst.mount_blob(blob, origin)? {
        monitor.emit(ProgressEvent::BlobMount {
            digest,
            from: origin.name(),
        })?;
        return Ok(Moved::Mounted);
    }
    if let Some(from) = transfers.mount_cached(blob, dst) {
        monitor.emit(ProgressEvent::BlobMount { digest, from })?;
        return Ok(Moved::Mounted);
    }
    transfers.with_slot(|| {
        monitor.emit(ProgressEvent::BlobStart {
            digest: digest.clone(),
            size: blob.size,
        })?;
        // get_blob's reader verifies itself: the destination need not hash again.
        let mut content = monitor.watch(src.get_blob(blob)?, &blob.digest, blob.size);
        dst.put_verified_blob(blob, &mut content)
    })?;
    monitor.emit(ProgressEvent::BlobDone {
        digest,
        size: blob.size,
    })?;
    Ok(Moved::Copied(blob.size))
}
