//! The verbs over one image: build, append, mutate, rebase, remove and
//! replace a layer, and writing the result.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use super::read::read;
use super::spec::{rfc3339, BuildSpec, ConfigChanges};
use super::staged::Staged;
use crate::copy::{copy_selected, CopyOptions, Transfers};
use crate::digest::Digest;
use crate::error::{Error, Result};
use crate::image::layer::{self, source_date_epoch, Compression};
use crate::image::{Image, Layer};
use crate::manifest::ManifestContent;
use crate::media_types;
use crate::platform::{self, Platform};
use crate::registry::Client;
use crate::transport::{self, ImageRef};

/// What writing an image (or index) did.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct BuildReport {
    /// Where it was written, as given.
    pub destination: String,
    /// The digest of the manifest (or index) written.
    pub digest: Digest,
    /// Its media type.
    pub media_type: String,
    /// How many blobs were sent.
    pub blobs_copied: usize,
    /// How many blobs were mounted from another repository of the registry.
    pub blobs_mounted: usize,
    /// How many blobs the destination already had.
    pub blobs_skipped: usize,
}

/// Writes `image` to `dst` (tagged as `dst` names) through the copy engine:
/// blobs the destination has are skipped, blobs of a base on the same
/// registry are mounted, the others streamed from where they live.
pub fn write(image: &Image, dst: &ImageRef) -> Result<BuildReport> {
    write_staged(Staged::image(image)?, dst)
}

pub(super) fn write_staged(staged: Staged, dst: &ImageRef) -> Result<BuildReport> {
    let root = staged.root().clone();
    let digest = root.digest().clone();
    let src = staged.into_ref();
    let options = CopyOptions {
        all: true,
        ..CopyOptions::default()
    };
    let transfers = Transfers::new(&options);
    let report = copy_selected(&src, dst, &options, &transfers, root, digest);
    transfers.save();
    let report = report?;
    Ok(BuildReport {
        destination: report.destination,
        digest: report.digest,
        media_type: report.media_type,
        blobs_copied: report.blobs_copied,
        blobs_mounted: report.blobs_mounted,
        blobs_skipped: report.blobs_skipped,
    })
}

/// `layer` with the media type `image`'s manifest kind uses: Docker
/// manifests take Docker's gzip layers and nothing else.
pub(super) fn fit(image: &Image, mut layer: Layer) -> Result<Layer> {
    if image.is_docker() {
        if layer.descriptor.media_type != media_types::OCI_LAYER_GZIP {
            return Err(Error::unsupported(format!(
                "the base has a Docker schema 2 manifest, whose layers are gzip only; \
                 this layer is {} (make it gzip)",
                layer.descriptor.media_type
            )));
        }
        layer.descriptor.media_type = media_types::DOCKER_LAYER_GZIP.to_owned();
    }
    Ok(layer)
}

fn history(created: &str, created_by: &str) -> Value {
    let mut h = Map::new();
    h.insert("created".to_owned(), Value::String(created.to_owned()));
    h.insert(
        "created_by".to_owned(),
        Value::String(created_by.to_owned()),
    );
    Value::Object(h)
}

fn parse_platform(p: Option<&str>) -> Result<Option<Platform>> {
    p.map(str::parse).transpose()
}

/// Builds the image `spec` describes; relative paths are taken from `dir`,
/// a base named by a registry reference is read with `client`. Nothing is
/// written: pass the image to [`write`].
///
/// Errors: [`ErrorKind::InvalidInput`](crate::ErrorKind::InvalidInput) for
/// a layer that is not one of `tar`/`dir`/`files`, a tar that is not a tar,
/// a socket or device file in a directory, a symbolic link loop;
/// [`ErrorKind::NotFound`](crate::ErrorKind::NotFound) for a missing path,
/// or a platform the base's index lacks; the base transport's errors.
pub fn build(spec: &BuildSpec, dir: &Path, client: &Client) -> Result<Image> {
    let platform = parse_platform(spec.platform.as_deref())
        .map_err(|e| e.context("build spec field \"platform\""))?;
    let mut image = match spec.base.as_deref() {
        None | Some("scratch") => {
            Image::scratch(&platform.unwrap_or_else(|| Platform::new("linux", "amd64", None)))
        }
        Some(base) => {
            let base = transport::parse_with(base, client)
                .map_err(|e| e.context("build spec field \"base\""))?;
            read(&base, platform.as_ref())?
        }
    };
    let created = match &spec.config.created {
        Some(c) => c.clone(),
        None => rfc3339(source_date_epoch()?),
    };
    for (position, layer_spec) in spec.layers.iter().enumerate() {
        let (layer, entry) = layer_spec.make(dir, position, &created)?;
        let layer = fit(&image, layer)?;
        image.push_layer(layer, entry);
    }
    for entry in &spec.history {
        if !entry.is_object() {
            return Err(Error::invalid(
                "build spec field \"history\": each entry is an object such as {\"created_by\": \"…\"}",
            ));
        }
        // Every history entry gets the build's `created` unless it names its
        // own (umoci, among others, cannot read an entry without one).
        let mut entry = entry.clone();
        if let Some(fields) = entry.as_object_mut() {
            fields
                .entry("created")
                .or_insert_with(|| Value::String(created.clone()));
        }
        image.push_empty_history(entry);
    }
    let changes = ConfigChanges {
        created: Some(created),
        ..spec.config.clone()
    };
    changes.apply(&mut image)?;
    image.annotations_mut().extend(spec.annotations.clone());
    Ok(image)
}

/// Makes a layer of `path`: a directory (made reproducibly, with
/// `compression`) or a tar file (kept byte for byte).
pub fn layer_of(path: &Path, compression: Compression) -> Result<Layer> {
    let meta = std::fs::metadata(path).map_err(|e| {
        if e.raw_os_error() == Some(libc::ELOOP) {
            Error::invalid(format!("{} is a symbolic link loop", path.display()))
        } else {
            Error::io(format!("layer {}", path.display()), e)
        }
    })?;
    if meta.is_dir() {
        layer::from_dir(path, compression)
    } else {
        layer::from_tar(path)
    }
}

/// The image `base` names (from an index, the one for `platform`) with a
/// layer of each of `paths` on top (see [`layer_of`]), each with a history
/// entry. The base's layers are not read.
pub fn append(
    base: &ImageRef,
    platform: Option<&Platform>,
    paths: &[PathBuf],
    compression: Compression,
) -> Result<Image> {
    if paths.is_empty() {
        return Err(Error::invalid(
            "append needs at least one layer (a tar file or a directory)",
        ));
    }
    let mut image = read(base, platform)?;
    let created = rfc3339(source_date_epoch()?);
    for path in paths {
        let layer = fit(&image, layer_of(path, compression)?)?;
        image.push_layer(layer, history(&created, "stevedore append"));
    }
    Ok(image)
}

/// What [`mutate`] changes.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Mutation {
    /// Config changes.
    pub config: ConfigChanges,
    /// Manifest annotations set.
    pub annotations: BTreeMap<String, String>,
    /// For an index: the one platform's image to change (the others keep
    /// their digests). Required for an index.
    #[serde(deserialize_with = "platform::deserialize_optional")]
    pub platform: Option<Platform>,
}

fn mutate_image(image: &mut Image, mutation: &Mutation) -> Result<()> {
    mutation.config.apply(image)?;
    if !mutation.annotations.is_empty() {
        image.annotations_mut().extend(mutation.annotations.clone());
    }
    Ok(())
}

/// Changes the image `src` names as `mutation` says and writes it to `dst`;
/// layers are not touched. For an index, only `mutation.platform`'s image
/// changes: the index is rewritten with the other entries as they were.
///
/// Errors: [`ErrorKind::NotFound`](crate::ErrorKind::NotFound) for a
/// platform the index lacks (or a single image is not for); [`ErrorKind::InvalidInput`](crate::ErrorKind::InvalidInput)
/// for an index without a platform, or a malformed change.
pub fn mutate(src: &ImageRef, mutation: &Mutation, dst: &ImageRef) -> Result<BuildReport> {
    let top = src.transport().get_manifest(&src.resolve()?)?;
    let ManifestContent::Index(index) = top.content() else {
        let mut image = read(src, None)?;
        if let Some(want) = &mutation.platform {
            if !want.matches(&image.platform()) {
                return Err(Error::not_found(format!(
                    "{src} is one image for {}, not {want}",
                    image.platform()
                )));
            }
        }
        mutate_image(&mut image, mutation)?;
        return write(&image, dst);
    };
    let Some(want) = &mutation.platform else {
        return Err(Error::invalid(
            "the image is an index: name the platform whose image to change",
        ));
    };
    super::index::rewrite_index(src, &top, index, Some(want), dst, |_, image| {
        mutate_image(image, mutation)
    })
}

/// The image `src` names with `old_base`'s layers at its bottom replaced by
/// `new_base`'s (history and diff_ids follow; see [`Image::rebase`]).
/// Nothing is downloaded but manifests and configs.
pub fn rebase(
    src: &ImageRef,
    old_base: &ImageRef,
    new_base: &ImageRef,
    platform: Option<&Platform>,
) -> Result<Image> {
    let mut image = read(src, platform)?;
    let old = read(old_base, platform)?;
    let new = read(new_base, platform)?;
    image.rebase(&old, &new)?;
    Ok(image)
}

/// The image `src` names without its layer at `position` (0 is the bottom).
pub fn remove_layer(src: &ImageRef, position: usize, platform: Option<&Platform>) -> Result<Image> {
    let mut image = read(src, platform)?;
    image.remove_layer(position)?;
    Ok(image)
}

/// The image `src` names with its layer at `position` replaced by a layer
/// of `path` (a tar file or a directory).
pub fn replace_layer(
    src: &ImageRef,
    position: usize,
    path: &Path,
    compression: Compression,
    platform: Option<&Platform>,
) -> Result<Image> {
    let mut image = read(src, platform)?;
    let layer = fit(&image, layer_of(path, compression)?)?;
    image.replace_layer(position, layer)?;
    Ok(image)
}
