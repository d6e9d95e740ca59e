//! The SBOM of an image: [`sbom`] catalogs the merged root of an image's layers
//! (an [`ImageFs`], which is a [`RootFs`] here), renders the document and, when
//! asked, attaches it to the image as a referrer in the same step.

use std::collections::BTreeMap;
use std::io::{Read, Write};
use std::path::Path;
use std::sync::Arc;

use serde::{Deserialize, Serialize};

use super::captured::Capture;
use super::catalog::{catalog_with, CatalogOptions};
use super::model::{Catalog, Ecosystem, OperatingSystem};
use super::render::{render_with, Format, RenderOptions};
use super::rootfs::{Entry, RootFs};
use crate::error::{from_io, Error, Result};
use crate::files::{FilesOptions, ImageFs};
use crate::layer::{LayerInfo, Limits};
use crate::new_file::{output_dir, temp_file_in, FILE_MODE};
use crate::platform::{self, Platform};
use crate::referrers::{attach, AttachOptions, AttachReport};
use crate::store::Store;
use crate::transport::ImageRef;

impl RootFs for ImageFs {
    fn entries(&self) -> Result<Vec<Entry>> {
        Ok(ImageFs::entries(self)
            .map(|e| {
                let is_regular_file = e.kind.has_data();
                Entry {
                    path: e.path.clone(),
                    is_regular_file,
                    size: if is_regular_file { e.size } else { 0 },
                    mode: e.mode,
                }
            })
            .collect())
    }

    fn read(&self, path: &str, max_bytes: u64) -> Result<Vec<u8>> {
        let mut bytes = Vec::new();
        self.open_file(path)?
            .take(max_bytes)
            .read_to_end(&mut bytes)
            .map_err(|e| from_io(format!("reading /{path}"), e))?;
        Ok(bytes)
    }

    fn read_range(&self, path: &str, offset: u64, len: u64) -> Result<Vec<u8>> {
        if offset == 0 {
            // A file's first bytes (a magic number) come as any read does:
            // streamed from its layer the first time, not unpacking it.
            return RootFs::read(self, path, len);
        }
        ImageFs::read_range(self, path, offset, len)
    }
}

/// How [`sbom`] reads an image and what it does with the document.
#[derive(Clone, Default, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct SbomOptions {
    /// The document format. Defaults to [`Format::SpdxJson`].
    #[serde(deserialize_with = "format_name::deserialize")]
    pub format: Format,
    /// The image to read when the reference names an index, as
    /// `os/arch[/variant]`. Defaults to the host's platform.
    #[serde(deserialize_with = "platform::deserialize_optional")]
    pub platform: Option<Platform>,
    /// Attach the document to the image as an OCI 1.1 referrer (artifact type
    /// [`Format::artifact_type`]) once it is made. Defaults to `false`.
    pub attach: bool,
    /// Bounds on layer size, entry count and symlink depth. Defaults to
    /// [`Limits::default`].
    pub limits: Limits,
    /// Size limits of the catalogers. Defaults to [`CatalogOptions::default`].
    #[serde(skip)]
    pub catalog: CatalogOptions,
    /// A store to keep layer blobs in (see [`FilesOptions::store`]).
    #[serde(skip)]
    pub store: Option<Arc<dyn Store>>,
}

impl std::fmt::Debug for SbomOptions {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SbomOptions")
            .field("format", &self.format)
            .field("platform", &self.platform)
            .field("attach", &self.attach)
            .field("limits", &self.limits)
            .field("catalog", &self.catalog)
            .field("store", &self.store.is_some())
            .finish()
    }
}

/// What [`sbom`] made: the document and a summary of its catalog.
#[derive(Debug, Clone, Serialize)]
pub struct SbomReport {
    /// The image, as given.
    pub name: String,
    /// The format's name (`spdx-json`, `cyclonedx-json`).
    pub format: &'static str,
    /// The document's artifact (media) type.
    pub artifact_type: &'static str,
    /// The operating system, when an `os-release` file was found.
    pub os: Option<OperatingSystem>,
    /// How many packages the document lists.
    pub packages: usize,
    /// How many packages of each ecosystem.
    pub ecosystems: BTreeMap<Ecosystem, usize>,
    /// What could not be read (the catalog's warnings) and layers whose media
    /// type disagrees with their bytes, one sentence each, sorted.
    pub warnings: Vec<String>,
    /// The layers, base first, with how each was read.
    pub layers: Vec<LayerInfo>,
    /// The referrer pushed, when [`SbomOptions::attach`] asked for one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub attached: Option<AttachReport>,
    /// The catalog the document was rendered from.
    #[serde(skip)]
    pub catalog: Catalog,
    /// The document's bytes (JSON).
    #[serde(skip)]
    pub document: Vec<u8>,
}

impl SbomReport {
    /// Writes the document to `path`, which appears whole or not at all
    /// (written to a temporary file beside it, then renamed). Errors:
    /// [`ErrorKind::Io`](crate::ErrorKind::Io) naming the path.
    pub fn write_document(&self, path: &Path) -> Result<()> {
        let dir = output_dir(path)?;
        let what = || format!("writing the SBOM to {}", path.display());
        let mut temp =
            temp_file_in(dir, ".stevedore-sbom-", FILE_MODE).map_err(|e| Error::io(what(), e))?;
        temp.write_all(&self.document)
            .and_then(|()| temp.as_file().sync_all())
            .map_err(|e| Error::io(what(), e))?;
        temp.persist(path).map_err(|e| Error::io(what(), e.error))?;
        Ok(())
    }
}

/// The software bill of materials of `image` (the platform's image from an
/// index, as [`inspect`](crate::inspect()) chooses): its layers merged without
/// unpacking them, cataloged (see the [module documentation](super)) from the
/// files' bytes kept while each layer was read (so each layer is decompressed
/// once), rendered in
/// `options.format` (named after the image) and, with `options.attach`, pushed
/// as a referrer of the image. Errors: those of reading the image
/// ([`ImageFs::open`]) and of attaching; what cannot be cataloged is a warning.
pub fn sbom(image: &ImageRef, options: &SbomOptions) -> Result<SbomReport> {
    let files = FilesOptions {
        platform: options.platform.clone(),
        limits: options.limits.clone(),
        store: options.store.clone(),
        cancel: None,
    };
    let mut capture = Capture::new(&options.catalog);
    let fs = ImageFs::open_visiting(image, &files, false, Some(&mut capture))?;
    let fs = capture.into_fs(fs);
    let catalog = catalog_with(&fs, &options.catalog);
    let name = image.to_string();
    let document = render_with(
        &catalog,
        options.format,
        &RenderOptions {
            name: name.clone(),
            created: None,
        },
    );
    let layers = fs.image().view().layers().to_vec();
    let mut warnings = catalog.warnings.clone();
    warnings.extend(layers.iter().filter_map(|l| {
        l.format
            .mislabelled
            .as_ref()
            .map(|note| format!("layer {}: {note}", l.digest))
    }));
    warnings.sort();
    let mut ecosystems = BTreeMap::new();
    for package in &catalog.packages {
        *ecosystems.entry(package.ecosystem).or_insert(0) += 1;
    }
    let attached = if options.attach {
        let artifact_type = options.format.artifact_type();
        Some(attach(
            image,
            &document,
            &AttachOptions {
                artifact_type: artifact_type.to_string(),
                media_type: Some(artifact_type.to_string()),
                annotations: BTreeMap::new(),
            },
        )?)
    } else {
        None
    };
    Ok(SbomReport {
        name,
        format: options.format.name(),
        artifact_type: options.format.artifact_type(),
        os: catalog.os.clone(),
        packages: catalog.packages.len(),
        ecosystems,
        warnings,
        layers,
        attached,
        catalog,
        document,
    })
}

/// [`Format`] in JSON options as its [name](Format::name).
mod format_name {
    use serde::{Deserialize, Deserializer};

    use super::Format;

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Format, D::Error> {
        let name = String::deserialize(d)?;
        name.parse().map_err(serde::de::Error::custom)
    }
}
