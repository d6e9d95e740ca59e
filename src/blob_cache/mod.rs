//! The blob-location cache: which repositories of which registry were seen
//! holding a blob, kept on disk across runs and processes (skopeo's
//! blob-info cache), so that a copy into a registry mounts a blob it already
//! holds elsewhere instead of uploading it again.
//!
//! One JSON file, `$XDG_CACHE_HOME/stevedore/blob-locations.json` (or
//! `~/.cache/...`), bounded to [`MAX_ENTRIES`] (the least recently used go
//! first), read at the start of a copy and merged back at its end under an
//! exclusive file lock, replaced atomically: concurrent processes never see
//! a torn file, and each one's findings survive.

mod file;

pub use file::{default_dir, BlobCache, MAX_ENTRIES};
