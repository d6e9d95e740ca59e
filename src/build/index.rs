//! Multi-platform indexes: made from images, a platform added or removed.

use crate::descriptor::Descriptor;
use crate::error::{Error, Result};
use crate::image::{Image, Staged};
use crate::manifest::{ImageIndex, Manifest, ManifestContent};
use crate::platform::Platform;
use crate::resolve::child_manifest;
use crate::transport::ImageRef;

use super::verbs::{write_staged, BuildReport};

/// What an index verb wrote.
pub type IndexReport = BuildReport;

/// The position of the entry of `entries` for `want`.
/// [`ErrorKind::NotFound`](crate::ErrorKind::NotFound), listing the
/// platforms there are, when none matches.
pub(super) fn find_platform(entries: &[Descriptor], want: &Platform) -> Result<usize> {
    let want = want.normalized();
    entries
        .iter()
        .position(|e| e.platform.as_ref().is_some_and(|p| p.normalized() == want))
        .ok_or_else(|| {
            let have: Vec<String> = entries
                .iter()
                .filter_map(|e| e.platform.as_ref().map(ToString::to_string))
                .collect();
            Error::not_found(format!(
                "the index has no image for platform {want} (it has: {})",
                if have.is_empty() {
                    "none".to_owned()
                } else {
                    have.join(", ")
                }
            ))
        })
}

/// The image an index entry of `src` names, unchanged.
pub(super) fn child_image(src: &ImageRef, entry: &Descriptor) -> Result<Image> {
    let manifest = child_manifest(src.transport(), entry)?;
    let ManifestContent::Image(parsed) = manifest.content() else {
        return Err(Error::unsupported(format!(
            "index entry {} is itself an index; nested indexes are not supported here",
            entry.digest
        )));
    };
    let parsed = parsed.as_ref().clone();
    Image::from_manifest(src, manifest, parsed)
}

fn entry_of(image: &Image) -> Result<Descriptor> {
    image.index_entry()
}

fn write_index(
    entries: Vec<Descriptor>,
    children: &[Image],
    dst: &ImageRef,
) -> Result<BuildReport> {
    let manifest = Manifest::build(ManifestContent::Index(Box::new(ImageIndex::oci(entries))))?;
    write_staged(Staged::index(manifest, children)?, dst)
}

/// Writes to `dst` an OCI index of the images `images` name (each read for
/// the platform its config declares), one entry per image with its
/// platform. [`ErrorKind::InvalidInput`](crate::ErrorKind::InvalidInput)
/// when two images have the same platform.
pub fn index_create(images: &[ImageRef], dst: &ImageRef) -> Result<IndexReport> {
    if images.is_empty() {
        return Err(Error::invalid("an index needs at least one image"));
    }
    let mut children = Vec::new();
    let mut entries: Vec<Descriptor> = Vec::new();
    for src in images {
        let image = Image::read(src, None)?;
        let entry = entry_of(&image)?;
        if entries.iter().any(|e| e.platform == entry.platform) {
            return Err(Error::invalid(format!(
                "two images for platform {}: an index holds one per platform",
                image.platform()
            )));
        }
        entries.push(entry);
        children.push(image);
    }
    write_index(entries, &children, dst)
}

fn read_index(src: &ImageRef) -> Result<(ImageIndex, Vec<Image>)> {
    let top = src.transport().get_manifest(&src.resolve()?)?;
    let ManifestContent::Index(index) = top.content() else {
        return Err(Error::invalid(format!("{src} is an image, not an index")));
    };
    let children = index
        .manifests
        .iter()
        .map(|e| child_image(src, e))
        .collect::<Result<Vec<_>>>()?;
    Ok((index.as_ref().clone(), children))
}

/// Writes to `dst` the index `src` names with the image `image` names added
/// (replacing the entry of its platform, if any); the other entries keep
/// their digests.
pub fn index_add(src: &ImageRef, image: &ImageRef, dst: &ImageRef) -> Result<IndexReport> {
    let (index, mut children) = read_index(src)?;
    let added = Image::read(image, None)?;
    let entry = entry_of(&added)?;
    let mut entries = index.manifests;
    match find_platform(&entries, &added.platform()) {
        Ok(i) => {
            entries[i] = entry;
            children[i] = added;
        }
        Err(_) => {
            entries.push(entry);
            children.push(added);
        }
    }
    write_index(entries, &children, dst)
}

/// Writes to `dst` the index `src` names without its image for `platform`.
/// [`ErrorKind::NotFound`](crate::ErrorKind::NotFound) when it has none.
pub fn index_remove(src: &ImageRef, platform: &Platform, dst: &ImageRef) -> Result<IndexReport> {
    let (index, mut children) = read_index(src)?;
    let mut entries = index.manifests;
    let i = find_platform(&entries, platform)?;
    entries.remove(i);
    children.remove(i);
    if entries.is_empty() {
        return Err(Error::invalid(format!(
            "removing {platform} would leave the index empty"
        )));
    }
    write_index(entries, &children, dst)
}
