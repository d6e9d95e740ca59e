//! The copy verb: move an image between two transports, every digest
//! preserved, blobs streamed through a bounded pool of threads (`blobs`),
//! mounted where the destination registry holds them already.

mod blobs;
mod recompress;

pub(crate) use blobs::Transfers;
use blobs::{transfer_blobs, Counts};
pub use recompress::{CompressFormat, Recompressed};

use std::fmt;
use std::path::PathBuf;
use std::sync::Arc;

use serde::{Deserialize, Serialize};

use crate::convert;
use crate::descriptor::Descriptor;
use crate::digest::Digest;
use crate::error::{Error, ErrorKind, Result};
use crate::manifest::{Manifest, ManifestContent};
use crate::platform::{self, Platform};
use crate::progress::{collecting_notes, CancelToken, Monitor, ProgressEvent, ProgressFn};
use crate::resolve::{child_manifest, image_for_platform};
use crate::transport::{ImageRef, Selector, Transport};

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

/// What a copy did.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct CopyReport {
    /// The source, as given.
    pub source: String,
    /// The destination, as given.
    pub destination: String,
    /// The tag the image was stored under because the destination named
    /// none (`latest` for `docker://`, as skopeo assumes); `None` when a
    /// tag or digest was named, or the destination stores images untagged.
    pub assumed_tag: Option<String>,
    /// The digest of the top-level manifest written.
    pub digest: Digest,
    /// Its media type.
    pub media_type: String,
    /// The digest of the source's top-level manifest; differs from `digest`
    /// when an image was chosen from an index or a subset index was written.
    pub source_digest: Digest,
    /// How many manifests were written (an index and its images count each).
    pub manifests: usize,
    /// How many blobs were sent.
    pub blobs_copied: usize,
    /// How many blobs were linked from another repository of the registry.
    pub blobs_mounted: usize,
    /// How many blobs the destination already had.
    pub blobs_skipped: usize,
    /// The bytes of the blobs sent.
    pub bytes_copied: u64,
    /// How many referring manifests (signatures, attached artifacts) came
    /// along, with `referrers`.
    pub referrers_copied: usize,
    /// How the destination's form of the image differs from the source's,
    /// when the destination cannot hold it as it is; `None` when every
    /// digest was kept.
    pub converted: Option<String>,
    /// The layers recompressed for `compress_format`: each source digest
    /// and the new digest, size and media type; empty without it.
    pub recompressed: Vec<Recompressed>,
    /// The foreign (non-distributable) layers whose blobs the source does
    /// not hold, left out as skopeo leaves them: their descriptors (with the
    /// `urls` a client fetches them from) stay in the manifest, unchanged.
    pub foreign_layers_skipped: Vec<Descriptor>,
    /// Warnings about input treated leniently, such as a referrers
    /// fallback tag that holds no referrers index (read as no referrers).
    pub notes: Vec<String>,
}

/// What a copy writes: the top-level manifest, the manifests it lists
/// (children before parents), and the distinct blobs of all of them.
struct Plan {
    root: Manifest,
    children: Vec<Manifest>,
    blobs: Vec<Descriptor>,
}

impl Plan {
    fn new(src: &dyn Transport, root: Manifest) -> Result<Plan> {
        let mut plan = Plan {
            root: root.clone(),
            children: Vec::new(),
            blobs: Vec::new(),
        };
        plan.gather(src, &root)?;
        Ok(plan)
    }

    fn gather(&mut self, src: &dyn Transport, manifest: &Manifest) -> Result<()> {
        if let ManifestContent::Index(index) = manifest.content() {
            for entry in &index.manifests {
                let child = child_manifest(src, entry)?;
                self.gather(src, &child)?;
                if !self.children.iter().any(|m| m.digest() == child.digest()) {
                    self.children.push(child);
                }
            }
        }
        for blob in manifest.blobs() {
            if !self.blobs.iter().any(|b| b.digest == blob.digest) {
                self.blobs.push(blob.clone());
            }
        }
        Ok(())
    }
}

impl Plan {
    /// Converts the manifests to a form `dst` can hold, when it cannot hold
    /// them as they are; returns what changed, for the report. With
    /// `preserve_digests`, refuses instead.
    fn adapt_to(
        &mut self,
        src: &dyn Transport,
        dst: &dyn Transport,
        preserve_digests: bool,
        format: Option<convert::ManifestFormat>,
    ) -> Result<Option<String>> {
        use convert::ManifestFormat;
        if format == Some(ManifestFormat::V2s2) && dst.oci_only() {
            return Err(Error::unsupported(format!(
                "{} holds OCI manifests only: it cannot take --format v2s2",
                dst.name()
            )));
        }
        let any = |f: fn(&Manifest) -> bool| f(&self.root) || self.children.iter().any(f);
        let needs_docker = format == Some(ManifestFormat::V2s2) && any(convert::is_oci);
        let needs_oci =
            (dst.oci_only() || format == Some(ManifestFormat::Oci)) && any(convert::is_docker);
        let note = if needs_docker {
            Some(format!(
                "--format v2s2: the OCI manifests were converted to Docker schema 2 \
                 (blobs unchanged), so the manifest digest changed from {}",
                self.root.digest()
            ))
        } else if needs_oci {
            let why = if dst.oci_only() {
                format!("{} holds OCI manifests only", dst.name())
            } else {
                "--format oci".to_owned()
            };
            Some(format!(
                "{why}: the Docker schema 2 manifests were converted \
                 to OCI (blobs unchanged), so the manifest digest changed from {}",
                self.root.digest()
            ))
        } else {
            dst.conversion(&self.root)
        };
        match (&note, preserve_digests) {
            (Some(note), true) => {
                return Err(Error::unsupported(format!(
                    "the digests cannot be preserved: {note}"
                )))
            }
            (Some(_), false) if needs_docker => {
                let (root, children) = convert::to_docker(&self.root, &self.children)?;
                self.root = root;
                self.children = children;
            }
            (Some(_), false) if needs_oci => {
                let (root, children) = convert::to_oci(src, &self.root, &self.children)?;
                self.root = root;
                self.children = children;
            }
            _ => {}
        }
        Ok(note)
    }
}

impl Plan {
    /// Recompresses the layers to `format` (see [`CopyOptions::compress_format`]),
    /// rewriting the manifests and the blob list; the new layers' files.
    fn recompress(
        &mut self,
        src: &dyn Transport,
        format: CompressFormat,
        options: &CopyOptions,
        monitor: &Monitor,
    ) -> Result<recompress::Layers> {
        let (root, children, layers) = recompress::recompress(
            src,
            (&self.root, &self.children),
            (format, options.compress_level),
            options.jobs,
            monitor,
        )?;
        self.root = root;
        self.children = children;
        self.blobs.clear();
        for manifest in self.children.iter().chain(std::iter::once(&self.root)) {
            for blob in manifest.blobs() {
                if !self.blobs.iter().any(|b| b.digest == blob.digest) {
                    self.blobs.push(blob.clone());
                }
            }
        }
        Ok(layers)
    }
}

/// A new index holding only the entries of `root` for `platforms`.
fn subset(root: &Manifest, platforms: &[Platform]) -> Result<Manifest> {
    let ManifestContent::Index(index) = root.content() else {
        return Ok(root.clone());
    };
    let mut entries: Vec<Descriptor> = Vec::new();
    for platform in platforms {
        let entry = platform.choose(&index.manifests)?;
        if !entries.contains(entry) {
            entries.push(entry.clone());
        }
    }
    let mut chosen = index.as_ref().clone();
    chosen.manifests = entries;
    chosen.media_type = Some(root.media_type().to_owned());
    Manifest::build(ManifestContent::Index(Box::new(chosen)))
}

fn validate(options: &CopyOptions) -> Result<()> {
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

/// Copies the image `src` names to `dst`. Manifests move as their exact bytes
/// (except a subset index, which is new); blobs stream through up to `jobs`
/// threads, verified on the way; blobs `dst` has are not sent, and on one
/// registry they are mounted across repositories. When the copy fails or is
/// cancelled, a destination it created is removed again, and re-running it
/// sends only what is missing.
pub fn copy(src: &ImageRef, dst: &ImageRef, options: &CopyOptions) -> Result<CopyReport> {
    let (root, source_digest) = select(src, options)?;
    let transfers = Transfers::new(options);
    let report = copy_selected(src, dst, options, &transfers, root, source_digest);
    transfers.save();
    report
}

/// The manifest a copy of `src` with `options` writes at the top, and the
/// digest of the source's own top-level manifest.
pub(crate) fn select(src: &ImageRef, options: &CopyOptions) -> Result<(Manifest, Digest)> {
    if let Some(path) = &options.policy {
        crate::sign::policy_file::PolicyFile::load(path)?.enforce(src)?;
    }
    validate(options)?;
    let source = src.transport();
    let found = source.get_manifest(&src.resolve()?)?;
    let source_digest = found.digest().clone();
    let root = if options.all {
        found
    } else if !options.platforms.is_empty() {
        subset(&found, &options.platforms)?
    } else {
        image_for_platform(source, found, options.platform.as_ref())?.0
    };
    Ok((root, source_digest))
}

/// Copies `root`, already selected from `src`, to `dst`.
/// Its blobs move through `transfers`, which the caller saves.
pub(crate) fn copy_selected(
    src: &ImageRef,
    dst: &ImageRef,
    options: &CopyOptions,
    transfers: &Transfers,
    root: Manifest,
    source_digest: Digest,
) -> Result<CopyReport> {
    let (report, notes) =
        collecting_notes(|| copy_noting(src, dst, options, transfers, root, source_digest));
    report.map(|report| CopyReport { notes, ..report })
}

/// [`copy_selected`], its notes made through [`crate::progress::note`].
fn copy_noting(
    src: &ImageRef,
    dst: &ImageRef,
    options: &CopyOptions,
    transfers: &Transfers,
    root: Manifest,
    source_digest: Digest,
) -> Result<CopyReport> {
    let monitor = Monitor::new(options.progress.clone(), options.cancel.clone());
    let source = src.transport();
    let assumed_tag = match dst.selector() {
        None => dst.transport().assumed_tag(),
        Some(_) => None,
    };
    let tag = match dst.selector() {
        Some(Selector::Tag(t)) => Some(t.as_str()),
        Some(Selector::Digest(d)) if d != root.digest() => {
            return Err(Error::invalid(format!(
                "the destination names digest {d}, but the image copied has digest {}",
                root.digest()
            )))
        }
        Some(Selector::Index(_)) => {
            return Err(Error::invalid(
                "a destination cannot name an image by position (@N); name a tag or nothing",
            ))
        }
        Some(Selector::Digest(_)) | None => assumed_tag.as_deref(),
    };
    let mut plan = Plan::new(source, root)?;
    let converted = plan.adapt_to(
        source,
        dst.transport(),
        options.preserve_digests,
        options.format,
    )?;
    let layers = match options.compress_format {
        Some(format) => Some(plan.recompress(source, format, options, &monitor)?),
        None => None,
    };
    let with_layers = layers.as_ref().map(|layers| recompress::WithLayers {
        inner: source,
        layers,
    });
    let moved = transfer(
        &plan,
        with_layers.as_ref().map_or(source, |s| s as &dyn Transport),
        dst.transport(),
        tag,
        &monitor,
        (options.jobs, transfers),
    );
    let referrers_copied = match (&moved, options.referrers && converted.is_none()) {
        (Ok(_), true) => {
            let digests: Vec<Digest> = std::iter::once(&plan.root)
                .chain(&plan.children)
                .map(|m| m.digest().clone())
                .collect();
            copy_referrers(src, dst, &digests, options, transfers, false)
                .map_err(|e| e.context("the image was copied, but not all that refers to it"))?
        }
        _ => 0,
    };
    match moved {
        Ok(counts) => Ok(CopyReport {
            source: src.to_string(),
            destination: dst.to_string(),
            assumed_tag: assumed_tag.clone(),
            digest: plan.root.digest().clone(),
            media_type: plan.root.media_type().to_owned(),
            source_digest,
            manifests: plan.children.len() + 1,
            blobs_copied: counts.copied,
            blobs_mounted: counts.mounted,
            blobs_skipped: plan.blobs.len() - counts.copied - counts.mounted - counts.foreign.len(),
            bytes_copied: counts.bytes,
            referrers_copied,
            converted,
            recompressed: layers.map(|l| l.done).unwrap_or_default(),
            foreign_layers_skipped: counts.foreign,
            notes: Vec::new(),
        }),
        Err(e) => {
            dst.transport().abort();
            Err(e)
        }
    }
}

/// Copies to `dst` what refers to `root` (and, for an index, to every
/// manifest it names) in `src` that `dst` lacks, for an image both sides
/// already hold: cosign's tags whose digest differs or that `dst` lacks,
/// and the OCI 1.1 referrers not in `dst`'s referrers list. Returns how
/// many moved (0 when `dst` already has them all).
/// Its blobs move through `transfers`, which the caller saves.
pub(crate) fn copy_missing_referrers(
    src: &ImageRef,
    dst: &ImageRef,
    root: Manifest,
    options: &CopyOptions,
    transfers: &Transfers,
) -> Result<usize> {
    let plan = Plan::new(src.transport(), root)?;
    let digests: Vec<Digest> = std::iter::once(&plan.root)
        .chain(&plan.children)
        .map(|m| m.digest().clone())
        .collect();
    copy_referrers(src, dst, &digests, options, transfers, true)
}

/// Copies what refers to the manifests `digests` (already copied): cosign's
/// `sha256-<hex>.sig`, `.att` and `.sbom` tags, and the OCI 1.1 referrers
/// the source keeps, each with its blobs; returns how many. With
/// `only_missing`, those `dst` already holds are left alone.
fn copy_referrers(
    src: &ImageRef,
    dst: &ImageRef,
    digests: &[Digest],
    options: &CopyOptions,
    transfers: &Transfers,
    only_missing: bool,
) -> Result<usize> {
    let inner = CopyOptions {
        all: true,
        platform: None,
        platforms: Vec::new(),
        referrers: false,
        ..options.clone()
    };
    let source = src.transport();
    let absent = |e: &Error| matches!(e.kind(), ErrorKind::NotFound | ErrorKind::Unsupported);
    let mut copied = 0;
    for digest in digests {
        for suffix in ["sig", "att", "sbom"] {
            let tag = format!("{}-{}.{suffix}", digest.algorithm().as_str(), digest.hex());
            let selector = Selector::Tag(tag.clone());
            let manifest = match source.get_manifest(&selector) {
                Ok(m) => m,
                Err(e) if absent(&e) => continue,
                Err(e) => return Err(e),
            };
            let found = manifest.digest().clone();
            if only_missing {
                match dst.transport().get_manifest(&selector) {
                    Ok(held) if held.digest() == &found => continue,
                    Ok(_) => {}
                    Err(e) if absent(&e) => {}
                    Err(e) => return Err(e),
                }
            }
            let from = src.with_selector(Some(selector.clone()));
            copy_selected(
                &from,
                &dst.with_selector(Some(selector)),
                &inner,
                transfers,
                manifest,
                found,
            )?;
            copied += 1;
        }
        let referrers = match source.referrers(digest, None) {
            Ok(list) => list,
            Err(e) if absent(&e) => Vec::new(),
            Err(e) => return Err(e),
        };
        let held = match only_missing {
            true => match dst.transport().referrers(digest, None) {
                Ok(list) => list,
                Err(e) if absent(&e) => Vec::new(),
                Err(e) => return Err(e),
            },
            false => Vec::new(),
        };
        for referrer in referrers {
            if held.iter().any(|h| h.digest == referrer.digest) {
                continue;
            }
            let selector = Selector::Digest(referrer.digest.clone());
            let manifest = source.get_manifest(&selector)?;
            let from = src.with_selector(Some(selector));
            copy_selected(
                &from,
                &dst.with_selector(None),
                &inner,
                transfers,
                manifest.clone(),
                referrer.digest,
            )?;
            dst.transport().put_referrer(&manifest)?;
            copied += 1;
        }
    }
    Ok(copied)
}

/// Moves the blobs, then writes the manifests (children first).
fn transfer(
    plan: &Plan,
    src: &dyn Transport,
    dst: &dyn Transport,
    tag: Option<&str>,
    monitor: &Monitor,
    (jobs, transfers): (usize, &Transfers),
) -> Result<Counts> {
    monitor.emit(ProgressEvent::ImageStart {
        digest: plan.root.digest().clone(),
        media_type: plan.root.media_type().to_owned(),
    })?;
    let counts = transfer_blobs(&plan.blobs, src, dst, monitor, jobs, transfers)?;
    for child in &plan.children {
        monitor.check()?;
        dst.put_child_manifest(child)?;
    }
    monitor.check()?;
    dst.put_manifest(&plan.root, tag)?;
    dst.finalize()?;
    monitor.emit(ProgressEvent::ImageDone {
        digest: plan.root.digest().clone(),
    })?;
    Ok(counts)
}
