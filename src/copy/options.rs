//! How to copy: [`CopyOptions`], their defaults, and the check that they
//! make sense together.

use std::fmt;
use std::path::PathBuf;
use std::sync::Arc;

use serde::Deserialize;

use super::{recompress, CompressFormat};
use crate::convert;
use crate::error::{Error, Result};
use crate::platform::{self, Platform};
use crate::progress::{CancelToken, ProgressFn};

/// How many blobs move at once by default.
pub const DEFAULT_JOBS: usize = 6;

/// How to copy.
#[derive(Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct CopyOptions {
    /// Copy an index with every image it lists. Defaults to false: one image
    /// is chosen from an index.
    pub all: bool,
    /// The one image to choose from an index, as `os/arch[/variant]`.
    /// Defaults to the host's platform.
    #[serde(deserialize_with = "platform::deserialize_optional")]
    pub platform: Option<Platform>,
    /// Copy an index with only the images of these platforms: a new index
    /// is written, and its new digest reported. Defaults to none.
    #[serde(deserialize_with = "platform::deserialize_list")]
    pub platforms: Vec<Platform>,
    /// How many blobs move at once. Defaults to 6.
    pub jobs: usize,
    /// Fail instead of converting when the destination cannot hold the
    /// image as it is (skopeo's `--preserve-digests`). Defaults to false.
    pub preserve_digests: bool,
    /// Bring along what refers to the copied manifests: cosign's `.sig`,
    /// `.att` and `.sbom` tags and OCI 1.1 referrers (signatures, SBOMs),
    /// whose fallback indexes are rewritten at the destination. Defaults to
    /// false.
    pub referrers: bool,
    /// Remember on disk which repositories of a registry hold each blob
    /// (skopeo's blob-info cache), and mount from them instead of uploading,
    /// across runs and processes. Defaults to true.
    pub blob_cache: bool,
    /// Where that cache lives. Defaults to `$XDG_CACHE_HOME/stevedore`
    /// (or `~/.cache/stevedore`).
    pub blob_cache_dir: Option<PathBuf>,
    /// The manifest format to write (skopeo's `--format`): the image is
    /// converted when it is in the other one, and its new digest reported.
    /// Defaults to none: kept as it is (unless the destination holds only OCI).
    pub format: Option<convert::ManifestFormat>,
    /// A containers-policy.json(5) file the source must satisfy, as skopeo
    /// enforces it (refused with [`ErrorKind::Policy`]). Defaults to none:
    /// no check (the CLI uses [`crate::sign::policy_file::default_path`]).
    ///
    /// [`ErrorKind::Policy`]: crate::error::ErrorKind::Policy
    pub policy: Option<std::path::PathBuf>,
    /// Recompress the layers to this format (skopeo's
    /// `--dest-compress-format`): each tar layer is decompressed and
    /// compressed again, so layer and manifest digests change (reported in
    /// [`CopyReport::recompressed`]); configs and diff IDs do not. A layer
    /// already in this format is kept unless `compress_level` is given.
    /// zstd needs OCI manifests (Docker schema 2 has no zstd media type:
    /// set `format` to `oci`), and excludes `referrers` (the source's
    /// signatures would not sign the copy). Defaults to none: layers move
    /// as they are.
    ///
    /// [`CopyReport::recompressed`]: super::CopyReport::recompressed
    pub compress_format: Option<CompressFormat>,
    /// The compression level (skopeo's `--dest-compress-level`): gzip 1 to
    /// 9, zstd 1 to 22. Needs `compress_format`. Defaults to none: gzip 6,
    /// zstd 3.
    pub compress_level: Option<i32>,
    /// Receives progress events; returning `false` cancels the copy.
    /// Defaults to none.
    #[serde(skip)]
    pub progress: Option<Arc<ProgressFn>>,
    /// Cancels the copy from another thread. Defaults to none.
    #[serde(skip)]
    pub cancel: Option<CancelToken>,
}

impl Default for CopyOptions {
    fn default() -> CopyOptions {
        CopyOptions {
            all: false,
            platform: None,
            platforms: Vec::new(),
            jobs: DEFAULT_JOBS,
            preserve_digests: false,
            referrers: false,
            blob_cache: true,
            blob_cache_dir: None,
            format: None,
            policy: None,
            compress_format: None,
            compress_level: None,
            progress: None,
            cancel: None,
        }
    }
}

impl fmt::Debug for CopyOptions {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("CopyOptions")
            .field("all", &self.all)
            .field("platform", &self.platform)
            .field("platforms", &self.platforms)
            .field("jobs", &self.jobs)
            .field("preserve_digests", &self.preserve_digests)
            .field("referrers", &self.referrers)
            .field("blob_cache", &self.blob_cache)
            .field("blob_cache_dir", &self.blob_cache_dir)
            .field("format", &self.format)
            .field("policy", &self.policy)
            .field("compress_format", &self.compress_format)
            .field("compress_level", &self.compress_level)
            .field("progress", &self.progress.is_some())
            .field("cancel", &self.cancel)
            .finish()
    }
}
pub(super) fn validate(options: &CopyOptions) -> Result<()> {
    let choices = [
        options.all,
        options.platform.is_some(),
        !options.platforms.is_empty(),
    ];
    if choices.iter().filter(|c| **c).count() > 1 {
        return Err(Error::invalid(
            "\"all\", \"platform\" and \"platforms\" exclude each other: copy every image, one, or a subset",
        ));
    }
    if options.jobs == 0 {
        return Err(Error::invalid("\"jobs\" must be at least 1"));
    }
    recompress::validate(options.compress_format, options.compress_level)?;
    if options.compress_format.is_some() && options.referrers {
        return Err(Error::invalid(
            "recompressing layers (--dest-compress-format) changes the manifest digests, so \
             the source's signatures would not sign the copy: leave them behind \
             (drop --referrers, or pass --remove-signatures) or copy without recompressing",
        ));
    }
    Ok(())
}
