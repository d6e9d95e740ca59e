//! The copy verb: move an image between two transports, every digest
//! preserved, blobs streamed through a bounded pool of threads (`blobs`),
//! mounted where the destination registry holds them already.
//!
//! What to do is in `options`, what gets written in `plan`, the signatures
//! and referrers that come along in `referrers`; this file runs a copy.

mod blobs;
mod options;
mod plan;
mod recompress;
mod referrers;

pub(crate) use blobs::Transfers;
use blobs::{transfer_blobs, Counts};
use options::validate;
pub use options::{CopyOptions, DEFAULT_JOBS};
use plan::{subset, Plan};
pub use recompress::{CompressFormat, Recompressed};
pub(crate) use referrers::copy_missing_referrers;
use referrers::copy_referrers;

use serde::Serialize;

use crate::descriptor::Descriptor;
use crate::digest::Digest;
use crate::error::{Error, Result};
use crate::manifest::Manifest;
use crate::progress::{collecting_notes, Monitor, ProgressEvent};
use crate::resolve::image_for_platform;
use crate::transport::{ImageRef, Selector, Transport};

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
    // The last moment a cancel takes effect: writing the top-level manifest
    // and finalizing commit the image (index.json, an archive renamed into
    // place), and a cancel after that comes too late to undo them, so the
    // copy reports what it did rather than a cancel that removed nothing.
    monitor.check()?;
    dst.put_manifest(&plan.root, tag)?;
    dst.finalize()?;
    let _ = monitor.emit(ProgressEvent::ImageDone {
        digest: plan.root.digest().clone(),
    });
    Ok(counts)
}
