//! What a copy writes ([`Plan`]): the top-level manifest, the manifests it
//! lists and their blobs, converted for a destination that cannot hold them
//! as they are, or recompressed; and the subset index of chosen platforms.

use super::{recompress, CompressFormat, CopyOptions};
use crate::convert;
use crate::descriptor::Descriptor;
use crate::error::{Error, Result};
use crate::manifest::{Manifest, ManifestContent};
use crate::platform::Platform;
use crate::progress::Monitor;
use crate::resolve::child_manifest;
use crate::transport::Transport;

/// What a copy writes: the top-level manifest, the manifests it lists
/// (children before parents), and the distinct blobs of all of them.
pub(super) struct Plan {
    pub(super) root: Manifest,
    pub(super) children: Vec<Manifest>,
    pub(super) blobs: Vec<Descriptor>,
}

impl Plan {
    pub(super) fn new(src: &dyn Transport, root: Manifest) -> Result<Plan> {
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
    pub(super) fn adapt_to(
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
    pub(super) fn recompress(
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
pub(super) fn subset(root: &Manifest, platforms: &[Platform]) -> Result<Manifest> {
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
