//! The analysis verbs over an image's merged root filesystem, without
//! unpacking it: [`files`], [`files_in`], [`read_file`], [`export()`],
//! [`diff()`]. [`ImageFs`] is the merged view of one image with its layers,
//! for callers (such as an SBOM) that walk entries and read files.

mod diff;
mod export;
mod source;

use std::io::Read;
use std::sync::{Arc, Mutex};

use serde::{Deserialize, Serialize};

pub use diff::{diff, Changed, DiffReport};
pub(crate) use export::write_tar;
pub use export::{export, export_to_path, ExportReport};
pub use source::ImageLayers;

use crate::error::{from_io, Error, ErrorKind, Result};
use crate::layer::LookupError;
use crate::layer::{
    read_entry_from, Entry, EntryKind, FileVisitor, LayerInfo, LayerSource, Limits, MergedView,
    Spool,
};
use crate::platform::{self, Platform};
use crate::resolve::image_for_platform;
use crate::store::Store;
use crate::transport::ImageRef;

/// How to read an image's files.
#[derive(Clone, Default, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct FilesOptions {
    /// The image to read when the reference names an index, as
    /// `os/arch[/variant]`. Defaults to the host's platform.
    #[serde(deserialize_with = "platform::deserialize_optional")]
    pub platform: Option<Platform>,
    /// Bounds on layer size, entry count and symlink depth. Defaults to
    /// [`Limits::default`].
    pub limits: Limits,
    /// A store to keep layer blobs in, so that they are fetched once ever;
    /// by default registry layers are fetched once per call into a
    /// temporary store and other transports are read in place.
    #[serde(skip)]
    pub store: Option<Arc<dyn Store>>,
    /// Stops [`export_to_path`] at its next write once cancelled, removing
    /// its temporary file ([`ErrorKind::Cancelled`](crate::ErrorKind::Cancelled)).
    #[serde(skip)]
    pub cancel: Option<crate::progress::CancelToken>,
}

impl std::fmt::Debug for FilesOptions {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("FilesOptions")
            .field("platform", &self.platform)
            .field("limits", &self.limits)
            .field("store", &self.store.is_some())
            .field("cancel", &self.cancel)
            .finish()
    }
}

/// The merged root of one image plus its layers: walk [`entries`](ImageFs::entries),
/// look one up with [`lookup`](ImageFs::lookup), read a file with
/// [`open_file`](ImageFs::open_file) or [`read`](ImageFs::read). A layer read twice
/// is unpacked once into an unnamed temporary file and read there after.
pub struct ImageFs {
    name: String,
    view: MergedView,
    source: ImageLayers,
    limits: Limits,
    reads: Mutex<Vec<LayerReads>>,
}

#[derive(Clone)]
enum LayerReads {
    Never,
    Once,
    Spooled(Spool),
}

/// What [`files`] and [`files_in`] report.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Listing {
    /// The image, as given.
    pub name: String,
    /// The layers, base first, with how each was read (a mislabelled
    /// compression is noted there).
    pub layers: Vec<LayerInfo>,
    /// The entries, in path order.
    pub entries: Vec<Entry>,
}

/// A [`Listing`] of every entry that borrows them from an open [`ImageFs`]
/// instead of copying them (a listing of a large image costs no second copy
/// of its metadata); serializes to the same JSON as [`Listing`].
#[derive(Debug, Serialize)]
pub struct ListingRef<'a> {
    /// The image, as given.
    pub name: &'a str,
    /// The layers, base first.
    pub layers: &'a [LayerInfo],
    /// The entries, in path order.
    pub entries: Vec<&'a Entry>,
}

impl ImageFs {
    /// Reads the manifest of `image` (the platform's, from an index, as
    /// [`inspect`](crate::inspect()) chooses) and every layer once, building
    /// the merged view; with `digests`, files' SHA-256 are computed too.
    pub fn open(image: &ImageRef, options: &FilesOptions, digests: bool) -> Result<ImageFs> {
        ImageFs::open_visiting(image, options, digests, None)
    }

    /// [`open`](ImageFs::open), showing every regular file's bytes to
    /// `visitor` while its layer streams (see [`FileVisitor`]), so that a
    /// caller needing some files' bytes reads each layer once.
    pub fn open_visiting(
        image: &ImageRef,
        options: &FilesOptions,
        digests: bool,
        visitor: Option<&mut dyn FileVisitor>,
    ) -> Result<ImageFs> {
        ImageFs::open_with(image, options, digests, visitor, false)
    }

    /// [`open`](ImageFs::open), keeping every layer's uncompressed stream in
    /// a temporary file as the view is built, for a caller that will read
    /// most files' bytes (an export): each layer is decompressed once.
    pub(crate) fn open_spooled(image: &ImageRef, options: &FilesOptions) -> Result<ImageFs> {
        ImageFs::open_with(image, options, false, None, true)
    }

    fn open_with(
        image: &ImageRef,
        options: &FilesOptions,
        digests: bool,
        visitor: Option<&mut dyn FileVisitor>,
        spool: bool,
    ) -> Result<ImageFs> {
        let root = crate::inspect::raw_manifest(image)?;
        let (_, manifest) = image_for_platform(image.transport(), root, options.platform.as_ref())?;
        let source = ImageLayers::new(image.clone(), manifest.layers, options.store.clone());
        let (view, spools) =
            MergedView::build_spooling(&source, &options.limits, digests, visitor, spool)?;
        let reads = if spool {
            spools.into_iter().map(LayerReads::Spooled).collect()
        } else {
            vec![LayerReads::Never; source.layers().len()]
        };
        Ok(ImageFs {
            name: image.to_string(),
            view,
            source,
            limits: options.limits.clone(),
            reads: Mutex::new(reads),
        })
    }

    /// The merged view.
    pub fn view(&self) -> &MergedView {
        &self.view
    }

    /// Every entry, in path order.
    pub fn entries(&self) -> impl Iterator<Item = &Entry> {
        self.view.entries()
    }

    /// Every entry with the image's name and layers, borrowed (see
    /// [`ListingRef`]).
    pub fn listing_ref(&self) -> ListingRef<'_> {
        ListingRef {
            name: &self.name,
            layers: self.view.layers(),
            entries: self.view.entries().collect(),
        }
    }

    /// The entry `path` names (absolute or relative to the root), symlinks
    /// followed inside the root (the last one only when `follow_last`).
    /// Errors: [`ErrorKind::NotFound`] for a missing path or a dangling
    /// link (each said apart), [`ErrorKind::InvalidInput`] for a symlink
    /// loop or a path through a non-directory.
    pub fn lookup(&self, path: &str, follow_last: bool) -> Result<Option<&Entry>> {
        let name = &self.name;
        let resolved = self
            .view
            .resolve(path, follow_last, self.limits.max_link_depth)
            .map_err(|e| match e {
                LookupError::Missing(p) => {
                    Error::not_found(format!("{path}: no such file or directory in {name} (/{p} is missing)"))
                }
                LookupError::Dangling { link, missing } => Error::not_found(format!(
                    "{path}: dangling symbolic link /{link} in {name}: it leads to /{missing}, \
                     which does not exist"
                )),
                LookupError::NotADirectory(p) => {
                    Error::invalid(format!("{path}: /{p} in {name} is not a directory"))
                }
                LookupError::TooManyLinks(p) => Error::invalid(format!(
                    "{path}: more than {} symbolic links followed at /{p} in {name} (a symlink loop)",
                    self.limits.max_link_depth
                )),
            })?;
        Ok(self.view.get(&resolved))
    }

    /// A stream of the bytes of the regular file `path` names, following
    /// symlinks inside the root. Errors as [`lookup`](ImageFs::lookup), and
    /// [`ErrorKind::InvalidInput`] for a directory or a device.
    pub fn open_file(&self, path: &str) -> Result<Box<dyn Read + Send>> {
        self.open_entry(self.file_entry(path)?)
    }

    /// Up to `len` bytes of the regular file `path` names from byte `offset`
    /// on (fewer at its end), following symlinks inside the root. The
    /// file's layer is unpacked once into an unnamed temporary file and read
    /// there in place, so a ranged read of a large file holds only the bytes
    /// asked for. Errors as [`open_file`](ImageFs::open_file).
    pub fn read_range(&self, path: &str, offset: u64, len: u64) -> Result<Vec<u8>> {
        let entry = self.file_entry(path)?;
        let Some(data) = entry.data else {
            return Err(Error::invalid(format!("{path} has no bytes to read")));
        };
        self.spool(data.layer)?.read_range(entry, offset, len)
    }

    /// The regular file (or hard link) `path` names, symlinks followed.
    fn file_entry(&self, path: &str) -> Result<&Entry> {
        let entry = match self.lookup(path, true)? {
            Some(e) => e,
            None => {
                return Err(Error::invalid(format!(
                    "{path} is the root directory of {}",
                    self.name
                )))
            }
        };
        match entry.kind {
            k if k.has_data() => Ok(entry),
            EntryKind::Dir => Err(Error::invalid(format!(
                "{path} is a directory in {} (a directory is listed, not read: `stevedore ls`, `files_in`)",
                self.name
            ))),
            k => Err(Error::invalid(format!(
                "{path} is a {k:?} in {}, which has no bytes to read",
                self.name
            ))),
        }
    }

    /// The whole bytes of the regular file `path` names, as [`open_file`](ImageFs::open_file).
    pub fn read(&self, path: &str) -> Result<Vec<u8>> {
        let mut bytes = Vec::new();
        self.open_file(path)?
            .read_to_end(&mut bytes)
            .map_err(|e| from_io(format!("reading {path} from {}", self.name), e))?;
        Ok(bytes)
    }

    /// A stream of one entry's bytes (a file or hard link of this view).
    pub fn open_entry(&self, entry: &Entry) -> Result<Box<dyn Read + Send>> {
        let Some(data) = entry.data else {
            return Err(Error::invalid(format!(
                "{} has no bytes to read",
                entry.path
            )));
        };
        let state = {
            let mut reads = self.reads.lock().unwrap_or_else(|p| p.into_inner());
            let state = reads[data.layer].clone();
            if matches!(state, LayerReads::Never) {
                reads[data.layer] = LayerReads::Once;
            }
            state
        };
        match state {
            LayerReads::Never => read_entry_from(&self.source, entry, &self.limits),
            LayerReads::Once => self.spool(data.layer)?.read(entry),
            LayerReads::Spooled(spool) => spool.read(entry),
        }
    }

    /// The layer `index` unpacked into a temporary file, made once.
    fn spool(&self, index: usize) -> Result<Spool> {
        let mut reads = self.reads.lock().unwrap_or_else(|p| p.into_inner());
        if let LayerReads::Spooled(spool) = &reads[index] {
            return Ok(spool.clone());
        }
        let spool = Spool::new(&self.source, index, &self.limits)?;
        reads[index] = LayerReads::Spooled(spool.clone());
        Ok(spool)
    }

    fn listing(&self, entries: Vec<Entry>) -> Listing {
        Listing {
            name: self.name.clone(),
            layers: self.view.layers().to_vec(),
            entries,
        }
    }
}

/// Every entry of the merged root of `image`, in path order, with the layers.
pub fn files(image: &ImageRef, options: &FilesOptions) -> Result<Listing> {
    let fs = ImageFs::open(image, options, false)?;
    let listing = fs.listing(Vec::new());
    Ok(Listing {
        entries: fs.view.into_entries(),
        ..listing
    })
}

/// The entries directly inside the directory `path` of `image` (symlinks to
/// it followed inside the root); for a path naming a file, that file alone,
/// as `ls` does.
pub fn files_in(image: &ImageRef, path: &str, options: &FilesOptions) -> Result<Listing> {
    let fs = ImageFs::open(image, options, false)?;
    let entries = match fs.lookup(path, true)? {
        None => fs.view().children("").cloned().collect(),
        Some(e) if e.kind == EntryKind::Dir => fs.view().children(&e.path).cloned().collect(),
        Some(_) => {
            let own = fs.lookup(path, false)?.cloned();
            own.into_iter().collect()
        }
    };
    Ok(fs.listing(entries))
}

/// The bytes of the regular file `path` of `image` (absolute or relative to
/// the root), following symlinks only inside the root. Errors: see
/// [`ImageFs::open_file`]; a file larger than `max_size` bytes is refused with
/// [`ErrorKind::InvalidInput`].
pub fn read_file(
    image: &ImageRef,
    path: &str,
    max_size: u64,
    options: &FilesOptions,
) -> Result<Vec<u8>> {
    let fs = ImageFs::open(image, options, false)?;
    if let Some(e) = fs.lookup(path, true)? {
        if e.size > max_size {
            return Err(Error::new(
                ErrorKind::InvalidInput,
                format!(
                    "{path} is {} bytes, more than the {max_size}-byte limit",
                    e.size
                ),
            ));
        }
    }
    fs.read(path)
}
