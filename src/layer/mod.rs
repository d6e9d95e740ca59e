//! Layers: a layer blob read as a tar stream whatever its compression
//! ([`decompress`]: gzip, zstd or none, chosen by media type and checked
//! against the magic bytes), and the merged view of an image's layers
//! ([`MergedView`]) applied in order by the OCI image-spec rules (layer.md,
//! "Applying Changesets"): whiteouts, opaque directories, hard links,
//! symlinks kept as links, directories replaced by files and back.
//!
//! The view keeps metadata per entry and where its bytes are (layer and
//! offset in the uncompressed tar); bytes are read on demand by reading the
//! layer again through a [`LayerSource`]. Memory grows with the number of
//! entries, never with layer size.

mod changeset;
mod compression;
mod entry;
mod merge;
mod paths;
mod read;

pub use compression::{decompress, Compression, LayerFormat};
pub use entry::{DataLocation, Entry, EntryKind};
pub use merge::{FileVisitor, LayerInfo, LayerSource, Limits, MergedView};
pub use paths::LookupError;
pub(crate) use paths::{clean as clean_path, BadPath};
pub use read::{read_entry_from, Spool};
