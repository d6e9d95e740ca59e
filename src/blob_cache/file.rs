//! The cache file: load, look up, record, and merge back.

use std::collections::BTreeMap;
use std::fs::{self, File, OpenOptions};
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::time::{SystemTime, UNIX_EPOCH};

use serde::{Deserialize, Serialize};

use crate::digest::Digest;
use crate::error::{Error, Result};

/// How many (registry, digest, repository) entries the file keeps at most.
pub const MAX_ENTRIES: usize = 50_000;

const FILE: &str = "blob-locations.json";
const LOCK: &str = "blob-locations.lock";

/// `(registry, digest, repository)`.
type Key = (String, String, String);

#[derive(Default, Serialize, Deserialize)]
struct Stored {
    /// Each location with when it was last seen (seconds since the epoch).
    locations: Vec<(String, String, String, u64)>,
}

/// The default directory of the cache: `$XDG_CACHE_HOME/stevedore`, else
/// `$HOME/.cache/stevedore`; `None` when neither variable is set.
pub fn default_dir() -> Option<PathBuf> {
    let base = std::env::var_os("XDG_CACHE_HOME")
        .filter(|v| !v.is_empty())
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|h| Path::new(&h).join(".cache")))?;
    Some(base.join("stevedore"))
}

/// The locations known when the cache was opened plus those recorded since;
/// [`save`](Self::save) merges the new ones into the file. Shared by the
/// threads of one copy.
pub struct BlobCache {
    dir: PathBuf,
    known: BTreeMap<Key, u64>,
    recorded: Mutex<BTreeMap<Key, u64>>,
}

fn now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0)
}

fn read(dir: &Path) -> BTreeMap<Key, u64> {
    // An unreadable or damaged cache is an empty one: it is only a hint.
    let stored: Stored = fs::read(dir.join(FILE))
        .ok()
        .and_then(|bytes| serde_json::from_slice(&bytes).ok())
        .unwrap_or_default();
    stored
        .locations
        .into_iter()
        .map(|(registry, digest, repo, seen)| ((registry, digest, repo), seen))
        .collect()
}

impl BlobCache {
    /// Opens the cache in `dir` (not created until saved).
    pub fn open(dir: impl Into<PathBuf>) -> BlobCache {
        let dir = dir.into();
        BlobCache {
            known: read(&dir),
            dir,
            recorded: Mutex::new(BTreeMap::new()),
        }
    }

    /// The repositories of `registry` other than `except` known to hold
    /// `digest`, the most recently seen first.
    pub fn locations(&self, registry: &str, digest: &Digest, except: &str) -> Vec<String> {
        let digest = digest.to_string();
        let recorded = self.recorded.lock().unwrap_or_else(|p| p.into_inner());
        let mut found: BTreeMap<String, u64> = BTreeMap::new();
        for ((r, d, repo), seen) in self.known.iter().chain(recorded.iter()) {
            if r == registry && *d == digest && repo != except {
                let at = found.entry(repo.clone()).or_default();
                *at = (*at).max(*seen);
            }
        }
        let mut found: Vec<(String, u64)> = found.into_iter().collect();
        found.sort_by_key(|f| std::cmp::Reverse(f.1));
        found.into_iter().map(|(repo, _)| repo).collect()
    }

    /// Records that repository `repo` of `registry` holds `digest`.
    pub fn record(&self, registry: &str, digest: &Digest, repo: &str) {
        self.recorded
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .insert(
                (registry.to_owned(), digest.to_string(), repo.to_owned()),
                now(),
            );
    }

    /// Merges what was recorded into the file, under an exclusive lock, and
    /// replaces it atomically; keeps the [`MAX_ENTRIES`] most recent.
    /// Errors: `Io` when the directory cannot be written.
    pub fn save(&self) -> Result<()> {
        let recorded =
            std::mem::take(&mut *self.recorded.lock().unwrap_or_else(|p| p.into_inner()));
        if recorded.is_empty() {
            return Ok(());
        }
        let io = |what: &str, e| Error::io(format!("{what} {}", self.dir.display()), e);
        fs::create_dir_all(&self.dir).map_err(|e| io("creating", e))?;
        let lock: File = OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .open(self.dir.join(LOCK))
            .map_err(|e| io("opening the lock in", e))?;
        lock.lock().map_err(|e| io("locking the cache in", e))?;
        let mut all = read(&self.dir);
        for (key, seen) in recorded {
            let at = all.entry(key).or_default();
            *at = (*at).max(seen);
        }
        let mut locations: Vec<(String, String, String, u64)> = all
            .into_iter()
            .map(|((registry, digest, repo), seen)| (registry, digest, repo, seen))
            .collect();
        if locations.len() > MAX_ENTRIES {
            locations.sort_by_key(|l| std::cmp::Reverse(l.3));
            locations.truncate(MAX_ENTRIES);
        }
        let bytes = serde_json::to_vec(&Stored { locations })
            .map_err(|e| Error::invalid(format!("encoding the blob-location cache: {e}")))?;
        let mut temp =
            tempfile::NamedTempFile::new_in(&self.dir).map_err(|e| io("writing in", e))?;
        std::io::Write::write_all(&mut temp, &bytes).map_err(|e| io("writing in", e))?;
        temp.persist(self.dir.join(FILE))
            .map_err(|e| io("replacing the cache in", e.error))?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn locations_survive_a_save_and_merge_with_another_writer() {
        let dir = tempfile::tempdir().unwrap();
        let d = Digest::sha256(b"layer");
        let first = BlobCache::open(dir.path());
        let second = BlobCache::open(dir.path());
        first.record("r.example", &d, "a");
        second.record("r.example", &d, "b");
        first.save().unwrap();
        second.save().unwrap();
        let again = BlobCache::open(dir.path());
        let mut found = again.locations("r.example", &d, "c");
        found.sort();
        assert_eq!(found, ["a", "b"]);
        assert_eq!(again.locations("r.example", &d, "a"), ["b"]);
        assert!(again.locations("other.example", &d, "c").is_empty());
    }
}
