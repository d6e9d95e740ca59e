//! Multi-platform indexes: made from images, a platform added or removed.

use super::read::{from_manifest, read};
use super::staged::Staged;
use crate::descriptor::Descriptor;
use crate::error::{Error, Result};
use crate::image::Image;
use crate::manifest::{ImageIndex, Manifest, ManifestContent};
use crate::platform::Platform;
use crate::resolve::child_manifest;
use crate::transport::{ImageRef, Selector};

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
    from_manifest(src, manifest, parsed)
}

fn entry_of(image: &Image) -> Result<Descriptor> {
    image.index_entry()
}

/// Writes `index` (its entries replaced by `entries`, its other fields
/// such as annotations kept) with `children` to `dst`.
fn write_index(
    mut index: ImageIndex,
    entries: Vec<Descriptor>,
    children: &[Image],
    dst: &ImageRef,
) -> Result<BuildReport> {
    index.manifests = entries;
    let manifest = Manifest::build(ManifestContent::Index(Box::new(index)))?;
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
        let image = read(src, None)?;
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
    write_index(ImageIndex::oci(Vec::new()), entries, &children, dst)
}

/// The index `src` names (its media type set from the manifest's) and its
/// images.
fn read_index(src: &ImageRef) -> Result<(ImageIndex, Vec<Image>)> {
    let top = src.transport().get_manifest(&src.resolve()?)?;
    let ManifestContent::Index(index) = top.content() else {
        return Err(Error::invalid(format!("{src} is an image, not an index")));
    };
    let mut index = index.clone();
    index.media_type = Some(top.media_type().to_owned());
    let children = index
        .manifests
        .iter()
        .map(|e| child_image(src, e))
        .collect::<Result<Vec<_>>>()?;
    Ok((*index, children))
}

/// Writes to `dst` the index `src` names with the image `image` names added
/// (replacing the entry of its platform, if any); the other entries keep
/// their digests.
pub fn index_add(src: &ImageRef, image: &ImageRef, dst: &ImageRef) -> Result<IndexReport> {
    let (index, mut children) = read_index(src)?;
    let added = read(image, None)?;
    let entry = entry_of(&added)?;
    let mut entries = index.manifests.clone();
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
    write_index(index, entries, &children, dst)
}

/// Writes to `dst` the index `src` names without its image for `platform`.
/// [`ErrorKind::NotFound`](crate::ErrorKind::NotFound) when it has none.
pub fn index_remove(src: &ImageRef, platform: &Platform, dst: &ImageRef) -> Result<IndexReport> {
    let (index, mut children) = read_index(src)?;
    let mut entries = index.manifests.clone();
    let i = find_platform(&entries, platform)?;
    entries.remove(i);
    children.remove(i);
    if entries.is_empty() {
        return Err(Error::invalid(format!(
            "removing {platform} would leave the index empty"
        )));
    }
    write_index(index, entries, &children, dst)
}

/// Writes to `dst` the index `top` (`src`'s; `index` is its parsed form)
/// with the images of the entries for `which` (every entry when `None`)
/// passed through `change` (given the image's own reference and the image);
/// the other entries, the index's annotations and media type stay as they
/// were. Errors: [`ErrorKind::NotFound`](crate::ErrorKind::NotFound) when
/// no entry is for `which`; `change`'s.
pub(super) fn rewrite_index(
    src: &ImageRef,
    top: &Manifest,
    index: &ImageIndex,
    which: Option<&Platform>,
    dst: &ImageRef,
    mut change: impl FnMut(&ImageRef, &mut Image) -> Result<()>,
) -> Result<BuildReport> {
    let chosen = which
        .map(|want| find_platform(&index.manifests, want))
        .transpose()?;
    let mut children = Vec::new();
    let mut entries = Vec::new();
    for (i, entry) in index.manifests.iter().enumerate() {
        let mut image = child_image(src, entry)?;
        let mut entry = entry.clone();
        if chosen.is_none_or(|c| c == i) {
            let own = src.with_selector(Some(Selector::Digest(entry.digest.clone())));
            change(&own, &mut image)?;
            let new = image.manifest()?.descriptor();
            entry.digest = new.digest;
            entry.size = new.size;
        }
        entries.push(entry);
        children.push(image);
    }
    let mut new_index = index.clone();
    new_index.manifests = entries;
    new_index.media_type = Some(top.media_type().to_owned());
    let manifest = Manifest::build(ManifestContent::Index(Box::new(new_index)))?;
    write_staged(Staged::index(manifest, &children)?, dst)
}
