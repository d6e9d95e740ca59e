//! What refers to a copied image and comes along with it: cosign's
//! `.sig`, `.att` and `.sbom` tags and the OCI 1.1 referrers.

use super::{copy_selected, CopyOptions, Plan, Transfers};
use crate::digest::Digest;
use crate::error::{Error, ErrorKind, Result};
use crate::manifest::Manifest;
use crate::transport::{ImageRef, Selector};

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
pub(super) fn copy_referrers(
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
