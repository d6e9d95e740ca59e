//! Writing a `docker save` tarball: the blobs and manifests a copy puts are
//! staged beside `PATH`, then written as one archive (`manifest.json`,
//! `repositories`, `index.json`, `oci-layout` and `blobs/`) when it finishes.

use std::collections::{HashMap, HashSet};

use serde_json::json;

use super::manifest_json::{json_bytes, layout_file, Item, IMAGE_NAME, INDEX_FILE, MANIFEST_FILE};
use super::{lock, DockerArchive};
use crate::digest::Digest;
use crate::error::{Error, Result};
use crate::manifest::{ImageIndex, Manifest, ManifestContent};
use crate::media_types;
use crate::new_file::output_dir;
use crate::platform::Platform;
use crate::reference::{Reference, DEFAULT_TAG};
use crate::store::{FsStore, Store};
use crate::transport::layout_files::{write_archive, ArchiveFile};

/// What this handle has written, until the archive is complete.
pub(super) struct Staging {
    pub(super) dir: tempfile::TempDir,
    pub(super) store: FsStore,
    pub(super) manifests: HashMap<Digest, Manifest>,
    pub(super) images: Vec<(Manifest, Option<Reference>)>,
}

impl DockerArchive {
    /// Runs `f` on what this handle has staged, creating the staging
    /// directory (beside `PATH`, so the archive can be renamed into place) on
    /// first use.
    pub(super) fn with_staging<R>(&self, f: impl FnOnce(&mut Staging) -> Result<R>) -> Result<R> {
        let mut guard = lock(&self.staging);
        let staging = match guard.as_mut() {
            Some(staging) => staging,
            None => {
                let parent = output_dir(&self.path)?;
                let dir = tempfile::Builder::new()
                    .prefix(".stevedore-")
                    .tempdir_in(parent)
                    .map_err(|e| {
                        Error::io(
                            format!("creating a staging directory in {}", parent.display()),
                            e,
                        )
                    })?;
                guard.insert(Staging {
                    store: FsStore::new(dir.path()).cached(),
                    dir,
                    manifests: HashMap::new(),
                    images: Vec::new(),
                })
            }
        };
        f(staging)
    }

    pub(super) fn stage_manifest(&self, manifest: &Manifest) -> Result<()> {
        self.with_staging(|staging| {
            staging.store.put(
                manifest.digest(),
                Some(manifest.raw().len() as u64),
                &mut manifest.raw(),
            )?;
            staging
                .manifests
                .insert(manifest.digest().clone(), manifest.clone());
            Ok(())
        })
    }

    /// Writes the archive of every image staged so far.
    pub(super) fn write(&self, staging: &Staging) -> Result<()> {
        let mut items: Vec<Item> = Vec::new();
        let mut files: Vec<(String, ArchiveFile)> = Vec::new();
        let mut written: HashSet<Digest> = HashSet::new();
        let mut index = ImageIndex::oci(Vec::new());
        let mut repositories = serde_json::Map::new();
        let mut stage = |digest: &Digest, files: &mut Vec<(String, ArchiveFile)>| {
            if written.insert(digest.clone()) {
                files.push((
                    layout_file(digest),
                    ArchiveFile::Copy(staging.store.blob_path(digest)),
                ));
            }
        };
        for (root, tag) in &staging.images {
            let images = images_of(root, &staging.manifests)?;
            let tagged = tagged_image(root, &images);
            for (position, image) in images.iter().enumerate() {
                let ManifestContent::Image(content) = image.content() else {
                    continue;
                };
                stage(image.digest(), &mut files);
                for blob in image.blobs() {
                    // A foreign layer the copy left at its `urls` has no file.
                    if media_types::is_foreign_layer(&blob.media_type)
                        && staging.store.stat(&blob.digest)?.is_none()
                    {
                        continue;
                    }
                    stage(&blob.digest, &mut files);
                }
                let tags: Vec<String> = match tag {
                    Some(reference) if position == tagged => vec![reference.familiar()],
                    _ => Vec::new(),
                };
                if let (Some(reference), Some(top)) = (tag, content.layers.last()) {
                    if position == tagged {
                        let name = Reference::parse(&reference.name())?.familiar();
                        let entry = repositories.entry(name).or_insert_with(|| json!({}));
                        entry[reference.tag().unwrap_or(DEFAULT_TAG)] = json!(top.digest.hex());
                    }
                }
                items.push(Item {
                    config: layout_file(&content.config.digest),
                    repo_tags: Some(tags),
                    layers: content
                        .layers
                        .iter()
                        .map(|l| layout_file(&l.digest))
                        .collect(),
                });
            }
            stage(root.digest(), &mut files);
            let mut entry = root.descriptor();
            if let Some(reference) = tag {
                entry
                    .annotations
                    .insert(IMAGE_NAME.to_owned(), reference.to_string());
                entry.annotations.insert(
                    crate::transport::oci_layout::REF_NAME.to_owned(),
                    reference.tag().unwrap_or(DEFAULT_TAG).to_owned(),
                );
            }
            index.manifests.push(entry);
        }
        files.push((
            MANIFEST_FILE.to_owned(),
            ArchiveFile::Bytes(json_bytes(&items)?),
        ));
        files.push((
            "repositories".to_owned(),
            ArchiveFile::Bytes(json_bytes(&repositories)?),
        ));
        files.push((
            INDEX_FILE.to_owned(),
            ArchiveFile::Bytes(json_bytes(&index)?),
        ));
        files.push((
            "oci-layout".to_owned(),
            ArchiveFile::Bytes(br#"{"imageLayoutVersion":"1.0.0"}"#.to_vec()),
        ));
        write_archive(&self.path, &files)
    }
}

/// The image manifests `root` stands for: itself, or the images its index
/// lists (through nested indexes), each once.
fn images_of(root: &Manifest, manifests: &HashMap<Digest, Manifest>) -> Result<Vec<Manifest>> {
    let mut out: Vec<Manifest> = Vec::new();
    let mut stack = vec![root.clone()];
    while let Some(manifest) = stack.pop() {
        match manifest.content() {
            ManifestContent::Image(_) => {
                if !out.iter().any(|m| m.digest() == manifest.digest()) {
                    out.push(manifest);
                }
            }
            ManifestContent::Index(index) => {
                for entry in index.manifests.iter().rev() {
                    let child = manifests.get(&entry.digest).ok_or_else(|| {
                        Error::not_found(format!(
                            "manifest {} of index {} was not written",
                            entry.digest,
                            manifest.digest()
                        ))
                    })?;
                    stack.push(child.clone());
                }
            }
        }
    }
    Ok(out)
}

/// Which of `images` (standing for `root`) carries the tag: the host's
/// platform when `root` is an index that has it, else the first.
fn tagged_image(root: &Manifest, images: &[Manifest]) -> usize {
    let ManifestContent::Index(index) = root.content() else {
        return 0;
    };
    Platform::host()
        .choose(&index.manifests)
        .ok()
        .and_then(|entry| images.iter().position(|m| *m.digest() == entry.digest))
        .unwrap_or(0)
}
