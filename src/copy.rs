//! The copy verb: move an image between two transports, every digest preserved.

use serde::{Deserialize, Serialize};

use crate::descriptor::Descriptor;
use crate::digest::Digest;
use crate::error::{Error, ErrorKind, Result};
use crate::manifest::{Manifest, ManifestContent};
use crate::platform::{self, Platform};
use crate::resolve::{child_manifest, image_for_platform};
use crate::transport::{ImageRef, Selector, Transport};

/// How to copy.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct CopyOptions {
    /// Copy an index with every image it lists. Defaults to false: one image
    /// is chosen from an index.
    pub all: bool,
    /// The image to choose from an index, as `os/arch[/variant]`. Defaults to
    /// the host's platform.
    #[serde(deserialize_with = "platform::deserialize_optional")]
    pub platform: Option<Platform>,
}

/// What a copy did.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct CopyReport {
    /// The source, as given.
    pub source: String,
    /// The destination, as given.
    pub destination: String,
    /// The digest of the top-level manifest written.
    pub digest: Digest,
    /// Its media type.
    pub media_type: String,
    /// How many manifests were written (an index and its images count each).
    pub manifests: usize,
    /// How many blobs were sent.
    pub blobs_copied: usize,
    /// How many blobs the destination already had.
    pub blobs_skipped: usize,
    /// The bytes of the blobs sent.
    pub bytes_copied: u64,
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

    /// Checks that the source has every blob at its announced size, so that a
    /// missing or resized blob fails the copy before anything is written.
    fn check_source(&self, src: &dyn Transport) -> Result<()> {
        for blob in &self.blobs {
            match src.blob_size(&blob.digest)? {
                None => {
                    return Err(Error::not_found(format!(
                        "blob {} is missing from {}",
                        blob.digest,
                        src.name()
                    )))
                }
                Some(size) if size != blob.size => {
                    return Err(Error::new(
                        ErrorKind::DigestMismatch,
                        format!(
                            "blob {} in {} has {size} bytes, but the manifest says {}",
                            blob.digest,
                            src.name(),
                            blob.size
                        ),
                    ))
                }
                Some(_) => {}
            }
        }
        Ok(())
    }
}

/// Copies the image `src` names to `dst`. Manifests move as their exact bytes;
/// blobs stream and are verified on the way; blobs `dst` has are not sent.
/// When the copy fails, a destination it created is removed again.
pub fn copy(src: &ImageRef, dst: &ImageRef, options: &CopyOptions) -> Result<CopyReport> {
    if options.all && options.platform.is_some() {
        return Err(Error::invalid(
            "\"all\" and \"platform\" exclude each other: copy every image, or choose one",
        ));
    }
    let source = src.transport();
    let root = source.get_manifest(&src.resolve()?)?;
    let root = if options.all {
        root
    } else {
        image_for_platform(source, root, options.platform.as_ref())?.0
    };
    let tag = match dst.selector() {
        Some(Selector::Tag(t)) => Some(t.as_str()),
        Some(Selector::Digest(d)) if d != root.digest() => {
            return Err(Error::invalid(format!(
                "the destination names digest {d}, but the image copied has digest {}",
                root.digest()
            )))
        }
        Some(Selector::Digest(_)) | None => None,
    };
    let plan = Plan::new(source, root)?;
    plan.check_source(source)?;
    match transfer(&plan, source, dst.transport(), tag) {
        Ok((blobs_copied, bytes_copied)) => Ok(CopyReport {
            source: src.to_string(),
            destination: dst.to_string(),
            digest: plan.root.digest().clone(),
            media_type: plan.root.media_type().to_owned(),
            manifests: plan.children.len() + 1,
            blobs_copied,
            blobs_skipped: plan.blobs.len() - blobs_copied,
            bytes_copied,
        }),
        Err(e) => {
            dst.transport().abort();
            Err(e)
        }
    }
}

/// Sends the blobs the destination lacks, then the manifests; returns the
/// number and bytes of the blobs sent.
fn transfer(
    plan: &Plan,
    src: &dyn Transport,
    dst: &dyn Transport,
    tag: Option<&str>,
) -> Result<(usize, u64)> {
    let mut copied = 0;
    let mut bytes = 0;
    for blob in &plan.blobs {
        if dst.blob_size(&blob.digest)? == Some(blob.size) {
            continue;
        }
        let mut content = src.get_blob(blob)?;
        dst.put_blob(blob, &mut content)?;
        copied += 1;
        bytes += blob.size;
    }
    for child in &plan.children {
        dst.put_child_manifest(child)?;
    }
    dst.put_manifest(&plan.root, tag)?;
    dst.finalize()?;
    Ok((copied, bytes))
}
