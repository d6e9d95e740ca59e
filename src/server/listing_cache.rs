//! Large directory listings of the file-system records, kept in memory and
//! trusted while the directory's inode, change time and modification time
//! stay what they were when it was read: a tag list of 10,000 names is then
//! one `stat` instead of a `readdir` and a sort on every page asked for.
//!
//! Any entry made, removed or renamed in or out of a directory sets its
//! modification time, whichever process (or server sharing the store) does
//! it. A listing is only kept when the directory was last modified more than
//! [`SETTLED`] before it was read, so that a change in the same clock tick
//! as the one recorded (file-system time stamps are coarse) cannot go
//! unseen.

use std::collections::HashMap;
use std::fs::Metadata;
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::time::{Duration, SystemTime};

/// Listings shorter than this are read each time: cheap enough.
const MIN_NAMES: usize = 512;
/// How many directories' listings are kept at most.
const MAX_DIRECTORIES: usize = 64;
/// How long a directory must have been unchanged before its listing is kept.
const SETTLED: Duration = Duration::from_secs(2);

/// What identifies one state of a directory.
#[derive(Clone, Copy, PartialEq, Eq)]
struct Stamp {
    dev: u64,
    ino: u64,
    mtime: (i64, i64),
    ctime: (i64, i64),
}

impl Stamp {
    fn of(meta: &Metadata) -> Stamp {
        Stamp {
            dev: meta.dev(),
            ino: meta.ino(),
            mtime: (meta.mtime(), meta.mtime_nsec()),
            ctime: (meta.ctime(), meta.ctime_nsec()),
        }
    }
}

struct Entry {
    stamp: Stamp,
    names: Vec<String>,
    used: u64,
}

/// Sorted listings of large directories, by path.
#[derive(Default)]
pub struct ListingCache {
    entries: Mutex<(HashMap<PathBuf, Entry>, u64)>,
}

impl ListingCache {
    /// The sorted names in `dir`, from the cache when `meta` (the
    /// directory's metadata, taken now) matches the state they were read
    /// in; otherwise from `read`, kept when large and settled.
    pub fn list<E>(
        &self,
        dir: &Path,
        meta: &Metadata,
        read: impl FnOnce() -> Result<Vec<String>, E>,
    ) -> Result<Vec<String>, E> {
        let stamp = Stamp::of(meta);
        {
            let mut guard = self.entries.lock().unwrap_or_else(|p| p.into_inner());
            let (entries, clock) = &mut *guard;
            *clock += 1;
            let now = *clock;
            if let Some(entry) = entries.get_mut(dir) {
                if entry.stamp == stamp {
                    entry.used = now;
                    return Ok(entry.names.clone());
                }
            }
        }
        let read_at = SystemTime::now();
        let names = read()?;
        let settled = meta
            .modified()
            .ok()
            .and_then(|m| read_at.duration_since(m).ok())
            .is_some_and(|age| age > SETTLED);
        let mut guard = self.entries.lock().unwrap_or_else(|p| p.into_inner());
        let (entries, clock) = &mut *guard;
        if settled && names.len() >= MIN_NAMES {
            if entries.len() >= MAX_DIRECTORIES && !entries.contains_key(dir) {
                let oldest = entries
                    .iter()
                    .min_by_key(|(_, e)| e.used)
                    .map(|(p, _)| p.clone());
                if let Some(oldest) = oldest {
                    entries.remove(&oldest);
                }
            }
            let entry = Entry {
                stamp,
                names: names.clone(),
                used: *clock,
            };
            entries.insert(dir.to_owned(), entry);
        } else {
            entries.remove(dir);
        }
        Ok(names)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::fs;
    use std::time::Duration;

    fn read(dir: &Path) -> std::io::Result<Vec<String>> {
        let mut names: Vec<String> = fs::read_dir(dir)?
            .map(|e| e.map(|e| e.file_name().to_string_lossy().into_owned()))
            .collect::<std::io::Result<_>>()?;
        names.sort();
        Ok(names)
    }

    fn age(dir: &Path, by: Duration) {
        let when = SystemTime::now() - by;
        fs::File::open(dir).unwrap().set_modified(when).unwrap();
    }

    #[test]
    fn a_settled_large_listing_is_served_until_the_directory_changes() {
        let dir = tempfile::tempdir().unwrap();
        for i in 0..MIN_NAMES {
            fs::write(dir.path().join(format!("t{i:04}")), b"").unwrap();
        }
        age(dir.path(), Duration::from_secs(10));
        let cache = ListingCache::default();
        let meta = fs::metadata(dir.path()).unwrap();
        let first = cache.list(dir.path(), &meta, || read(dir.path())).unwrap();
        assert_eq!(first.len(), MIN_NAMES);
        let cached = cache
            .list(dir.path(), &meta, || -> std::io::Result<Vec<String>> {
                panic!("read again although unchanged")
            })
            .unwrap();
        assert_eq!(cached, first);

        fs::write(dir.path().join("new"), b"").unwrap();
        let meta = fs::metadata(dir.path()).unwrap();
        let after = cache.list(dir.path(), &meta, || read(dir.path())).unwrap();
        assert_eq!(after.len(), MIN_NAMES + 1);
        assert!(after.contains(&"new".to_owned()));
        // Just changed, so not kept: the next look reads the directory.
        let mut reads = 0;
        cache
            .list(dir.path(), &meta, || {
                reads += 1;
                read(dir.path())
            })
            .unwrap();
        assert_eq!(reads, 1);
    }

    #[test]
    fn small_or_recently_changed_listings_are_read_every_time() {
        let dir = tempfile::tempdir().unwrap();
        fs::write(dir.path().join("a"), b"").unwrap();
        age(dir.path(), Duration::from_secs(10));
        let cache = ListingCache::default();
        let mut reads = 0;
        for _ in 0..2 {
            let meta = fs::metadata(dir.path()).unwrap();
            cache
                .list(dir.path(), &meta, || {
                    reads += 1;
                    read(dir.path())
                })
                .unwrap();
        }
        assert_eq!(reads, 2);
    }
}
