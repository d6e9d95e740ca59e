//! Recompressing layers while copying (skopeo's `--dest-compress-format`
//! and `--dest-compress-level`): each layer is decompressed whatever it is,
//! compressed again into a temporary file (its new digest and size computed
//! on the way, its uncompressed digest checked against the config's
//! `rootfs.diff_ids`), and sent from there. Configs and diff IDs do not
//! change; layer descriptors and so manifest digests do. A layer that decompresses to more than
//! [`Limits::max_layer_bytes`](crate::layer::Limits) (64 GiB) is refused, as
//! the layer reader refuses it.

use std::collections::HashMap;
use std::fs::File;
use std::io::{self, Read};
use std::path::PathBuf;

use serde::{Deserialize, Serialize};

use super::blobs::run_parallel;
use crate::archive::HashingWriter;
use crate::config::ImageConfig;
use crate::descriptor::Descriptor;
use crate::digest::Digest;
use crate::error::{Error, ErrorKind, Result};
use crate::layer::{decompress, Compression};
use crate::manifest::{Manifest, ManifestContent};
use crate::media_types;
use crate::progress::Monitor;
use crate::resolve::small_blob;
use crate::transport::{Selector, Transport};

/// The compression layers are written in (skopeo's `--dest-compress-format`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CompressFormat {
    /// gzip (RFC 1952), levels 1 (fastest) to 9 (smallest), 6 by default.
    Gzip,
    /// zstd (RFC 8878), levels 1 (fastest) to 22 (smallest), 3 by default;
    /// OCI manifests only (Docker schema 2 has no zstd layer media type).
    Zstd,
}

impl CompressFormat {
    /// The levels this format takes, lowest to highest.
    pub fn levels(self) -> std::ops::RangeInclusive<i32> {
        match self {
            CompressFormat::Gzip => 1..=9,
            CompressFormat::Zstd => 1..=22,
        }
    }

    /// The level used when none is given: gzip 6, zstd 3 (each library's
    /// own default).
    pub fn default_level(self) -> i32 {
        match self {
            CompressFormat::Gzip => 6,
            CompressFormat::Zstd => 3,
        }
    }

    fn compression(self) -> Compression {
        match self {
            CompressFormat::Gzip => Compression::Gzip,
            CompressFormat::Zstd => Compression::Zstd,
        }
    }
}

impl std::str::FromStr for CompressFormat {
    type Err = Error;

    /// Reads `gzip` or `zstd` (skopeo's spellings).
    fn from_str(s: &str) -> Result<CompressFormat> {
        match s {
            "gzip" => Ok(CompressFormat::Gzip),
            "zstd" => Ok(CompressFormat::Zstd),
            other => Err(Error::invalid(format!(
                "unknown compression format {other:?}: use gzip or zstd"
            ))),
        }
    }
}

/// One layer a copy recompressed.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Recompressed {
    /// The source's layer digest.
    pub from: Digest,
    /// The digest of the layer as written.
    pub digest: Digest,
    /// Its size in bytes.
    pub size: u64,
    /// Its media type.
    pub media_type: String,
}

/// Checks a requested format and level: a level needs a format and must be
/// in its range.
pub(crate) fn validate(format: Option<CompressFormat>, level: Option<i32>) -> Result<()> {
    match (format, level) {
        (None, Some(_)) => Err(Error::invalid(
            "a compression level (--dest-compress-level) needs a compression format \
             (--dest-compress-format gzip|zstd)",
        )),
        (Some(format), Some(level)) if !format.levels().contains(&level) => {
            Err(Error::invalid(format!(
                "compression level {level} is out of range for {format:?}: use {} to {}",
                format.levels().start(),
                format.levels().end()
            )))
        }
        _ => Ok(()),
    }
}

/// Whether a layer of `media_type` is a tar this module rewrites (foreign,
/// non-distributable and artifact layers are left as they are).
fn rewritable(media_type: &str) -> bool {
    matches!(
        media_type,
        media_types::OCI_LAYER
            | media_types::OCI_LAYER_GZIP
            | media_types::OCI_LAYER_ZSTD
            | media_types::DOCKER_LAYER
            | media_types::DOCKER_LAYER_GZIP
    )
}

/// The recompressed layers of a copy, in temporary files until it ends.
pub(crate) struct Layers {
    _dir: tempfile::TempDir,
    files: HashMap<Digest, PathBuf>,
    /// What was recompressed, by source digest.
    pub(crate) done: Vec<Recompressed>,
}

/// Recompresses the layers of `root` and `children` (an index's manifests,
/// children before parents) read from `src` into `format` at `level`, on up
/// to `jobs` threads, and rewrites the manifests to name the new layers.
/// A layer already in `format` is kept when no level is given. Returns the
/// new root, children and the layers' files.
pub(crate) fn recompress(
    src: &dyn Transport,
    (root, children): (&Manifest, &[Manifest]),
    (format, level): (CompressFormat, Option<i32>),
    jobs: usize,
    monitor: &Monitor,
) -> Result<(Manifest, Vec<Manifest>, Layers)> {
    let mut todo: Vec<(Descriptor, Option<Digest>)> = Vec::new();
    for manifest in children.iter().chain(std::iter::once(root)) {
        let ManifestContent::Image(image) = manifest.content() else {
            continue;
        };
        let layers: Vec<&Descriptor> = image
            .layers
            .iter()
            .filter(|l| rewritable(&l.media_type))
            .collect();
        if layers.is_empty() {
            continue;
        }
        if format == CompressFormat::Zstd && is_docker(manifest) {
            return Err(Error::unsupported(format!(
                "{} is a Docker schema 2 manifest, which has no zstd layer media type: \
                 add --format oci (\"format\": \"oci\") to write zstd layers",
                manifest.digest()
            )));
        }
        let diff_ids = diff_ids(src, &image.config)?;
        for (i, layer) in image.layers.iter().enumerate() {
            let keep = level.is_none()
                && Compression::from_media_type(&layer.media_type) == Some(format.compression());
            if !rewritable(&layer.media_type) || keep {
                continue;
            }
            if !todo.iter().any(|(l, _)| l.digest == layer.digest) {
                let diff_id = diff_ids.as_ref().and_then(|d| d.get(i).cloned());
                todo.push((layer.clone(), diff_id));
            }
        }
    }
    let dir = tempfile::Builder::new()
        .prefix("stevedore-recompress-")
        .tempdir()
        .map_err(|e| Error::io("creating a directory for recompressed layers", e))?;
    let level = level.unwrap_or_else(|| format.default_level());
    let written = run_parallel(&todo, jobs, monitor, |(layer, diff_id)| {
        one_layer(src, layer, diff_id.as_ref(), (format, level), &dir)
    })?;
    let mut files = HashMap::new();
    let mut replaced: HashMap<Digest, (Digest, u64)> = HashMap::new();
    for ((layer, _), (digest, size, path)) in todo.iter().zip(written) {
        files.insert(digest.clone(), path);
        replaced.insert(layer.digest.clone(), (digest, size));
    }
    let mut new_children = Vec::with_capacity(children.len());
    let mut manifests: HashMap<Digest, Descriptor> = HashMap::new();
    for child in children {
        let new = rewrite(child, format, &replaced, &manifests)?;
        manifests.insert(child.digest().clone(), new.descriptor());
        new_children.push(new);
    }
    let new_root = rewrite(root, format, &replaced, &manifests)?;
    let mut done: Vec<Recompressed> = Vec::new();
    for manifest in new_children.iter().chain(std::iter::once(&new_root)) {
        if let ManifestContent::Image(image) = manifest.content() {
            for layer in &image.layers {
                let from = replaced
                    .iter()
                    .find(|(_, (d, _))| *d == layer.digest)
                    .map(|(from, _)| from.clone());
                if let Some(from) = from.filter(|_| !done.iter().any(|d| d.digest == layer.digest))
                {
                    done.push(Recompressed {
                        from,
                        digest: layer.digest.clone(),
                        size: layer.size,
                        media_type: layer.media_type.clone(),
                    });
                }
            }
        }
    }
    Ok((
        new_root,
        new_children,
        Layers {
            _dir: dir,
            files,
            done,
        },
    ))
}

fn is_docker(manifest: &Manifest) -> bool {
    manifest.media_type() == media_types::DOCKER_MANIFEST
}

/// The config's `rootfs.diff_ids`, when it is an image config that has them.
fn diff_ids(src: &dyn Transport, config: &Descriptor) -> Result<Option<Vec<Digest>>> {
    if config.media_type != media_types::OCI_CONFIG
        && config.media_type != media_types::DOCKER_CONFIG
    {
        return Ok(None);
    }
    let config = ImageConfig::from_bytes(&small_blob(src, config)?)?;
    let Some(rootfs) = config.rootfs else {
        return Ok(None);
    };
    rootfs
        .diff_ids
        .iter()
        .map(|d| d.parse())
        .collect::<Result<Vec<Digest>>>()
        .map(Some)
}

/// Recompresses one layer into a file in `dir`: its digest, size and path.
fn one_layer(
    src: &dyn Transport,
    layer: &Descriptor,
    diff_id: Option<&Digest>,
    (format, level): (CompressFormat, i32),
    dir: &tempfile::TempDir,
) -> Result<(Digest, u64, PathBuf)> {
    let reading =
        |e: io::Error| crate::error::from_io(format!("recompressing layer {}", layer.digest), e);
    let (mut tar, _) = decompress(
        src.get_blob(layer)?,
        &layer.media_type,
        &layer.digest,
        crate::layer::Limits::default().max_layer_bytes,
    )?;
    let file = tempfile::NamedTempFile::new_in(dir.path())
        .map_err(|e| Error::io("creating a file for a recompressed layer", e))?;
    // uncompressed bytes → hashed (the diff ID) → encoder → hashed (the new
    // digest) → the file.
    let out = HashingWriter::new(io::BufWriter::new(file));
    let (out, uncompressed) = match format {
        CompressFormat::Gzip => {
            let gz = flate2::write::GzEncoder::new(out, flate2::Compression::new(level as u32));
            let mut plain = HashingWriter::new(gz);
            io::copy(&mut tar, &mut plain).map_err(reading)?;
            let (gz, uncompressed, _) = plain.finish();
            (gz.finish().map_err(reading)?, uncompressed)
        }
        CompressFormat::Zstd => {
            let zs = zstd::stream::write::Encoder::new(out, level).map_err(reading)?;
            let mut plain = HashingWriter::new(zs);
            io::copy(&mut tar, &mut plain).map_err(reading)?;
            let (zs, uncompressed, _) = plain.finish();
            (zs.finish().map_err(reading)?, uncompressed)
        }
    };
    if let Some(expected) = diff_id.filter(|d| **d != uncompressed) {
        return Err(Error::new(
            ErrorKind::DigestMismatch,
            format!(
                "layer {} decompresses to {uncompressed}, but the config's diff ID is {expected}",
                layer.digest
            ),
        ));
    }
    let (inner, digest, size) = out.finish();
    let file = inner.into_inner().map_err(|e| reading(e.into_error()))?;
    let path = file
        .into_temp_path()
        .keep()
        .map_err(|e| Error::io("keeping a recompressed layer", e.error))?;
    Ok((digest, size, path))
}

/// `manifest` naming the recompressed layers `replaced` and the rewritten
/// child manifests `manifests`.
fn rewrite(
    manifest: &Manifest,
    format: CompressFormat,
    replaced: &HashMap<Digest, (Digest, u64)>,
    manifests: &HashMap<Digest, Descriptor>,
) -> Result<Manifest> {
    match manifest.content() {
        ManifestContent::Image(image) => {
            let docker = is_docker(manifest);
            let mut image = image.as_ref().clone();
            let mut changed = false;
            for layer in &mut image.layers {
                if let Some((digest, size)) = replaced.get(&layer.digest) {
                    layer.digest = digest.clone();
                    layer.size = *size;
                    layer.media_type = media_types::layer_type(
                        match format {
                            CompressFormat::Gzip => media_types::Compression::Gzip,
                            CompressFormat::Zstd => media_types::Compression::Zstd,
                        },
                        docker,
                    )?
                    .to_owned();
                    layer.data = None;
                    changed = true;
                }
            }
            if !changed {
                return Ok(manifest.clone());
            }
            Manifest::build(ManifestContent::Image(Box::new(image)))
        }
        ManifestContent::Index(index) => {
            let mut index = index.as_ref().clone();
            let mut changed = false;
            for entry in &mut index.manifests {
                if let Some(new) = manifests
                    .get(&entry.digest)
                    .filter(|n| n.digest != entry.digest)
                {
                    entry.media_type = new.media_type.clone();
                    entry.digest = new.digest.clone();
                    entry.size = new.size;
                    changed = true;
                }
            }
            if !changed {
                return Ok(manifest.clone());
            }
            Manifest::build(ManifestContent::Index(Box::new(index)))
        }
    }
}

/// A source whose recompressed layers are read from their files and whose
/// other blobs come from the source itself.
pub(crate) struct WithLayers<'a> {
    pub(crate) inner: &'a dyn Transport,
    pub(crate) layers: &'a Layers,
}

impl Transport for WithLayers<'_> {
    fn name(&self) -> String {
        self.inner.name()
    }
    fn default_selector(&self) -> Result<Selector> {
        self.inner.default_selector()
    }
    fn get_manifest(&self, selector: &Selector) -> Result<Manifest> {
        self.inner.get_manifest(selector)
    }
    fn put_child_manifest(&self, _: &Manifest) -> Result<()> {
        Err(Error::unsupported("a copy's source is not written"))
    }
    fn put_manifest(&self, _: &Manifest, _: Option<&str>) -> Result<()> {
        Err(Error::unsupported("a copy's source is not written"))
    }
    fn blob_size(&self, digest: &Digest) -> Result<Option<u64>> {
        match self.layers.files.get(digest) {
            Some(path) => std::fs::metadata(path)
                .map(|m| Some(m.len()))
                .map_err(|e| Error::io("reading a recompressed layer", e)),
            None => self.inner.blob_size(digest),
        }
    }
    fn get_blob(&self, descriptor: &Descriptor) -> Result<Box<dyn Read + Send>> {
        match self.layers.files.get(&descriptor.digest) {
            Some(path) => {
                let file =
                    File::open(path).map_err(|e| Error::io("reading a recompressed layer", e))?;
                Ok(Box::new(crate::digest::VerifyingReader::new(
                    io::BufReader::new(file),
                    descriptor.digest.clone(),
                    Some(descriptor.size),
                )))
            }
            None => self.inner.get_blob(descriptor),
        }
    }
    fn put_blob(&self, _: &Descriptor, _: &mut dyn Read) -> Result<()> {
        Err(Error::unsupported("a copy's source is not written"))
    }
    fn blob_origin(&self, digest: &Digest) -> Option<&dyn Transport> {
        match self.layers.files.contains_key(digest) {
            true => None,
            false => self.inner.blob_origin(digest).or(Some(self.inner)),
        }
    }
    fn as_any(&self) -> &dyn std::any::Any {
        &()
    }
    fn list_tags(&self) -> Result<Vec<String>> {
        self.inner.list_tags()
    }
    fn delete(&self, _: &Selector) -> Result<()> {
        Err(Error::unsupported("a copy's source is not written"))
    }
    fn finalize(&self) -> Result<()> {
        Ok(())
    }
    fn abort(&self) {}
    fn max_config_bytes(&self) -> u64 {
        self.inner.max_config_bytes()
    }
}
