//! An assembled image held in memory: the manifest's fields, the config
//! (unknown fields kept), the ordered layers, and what backs each blob —
//! bytes, a file, a store, or a [`BlobSource`] such as the transport the
//! image was read from, so that layers nobody changes are never downloaded.
//! Every change recomputes what depends on it (layer → config
//! `rootfs.diff_ids` and `history` → manifest); an image nobody changed
//! keeps its exact manifest and config bytes.
//!
//! [`layer`] makes layers reproducibly from directories, file mappings and
//! tar files (and tar streams, for flattening). Reading an image from a
//! transport and writing one to it are verbs: see [`crate::build`].

mod blob;
pub mod layer;
mod model;

pub use blob::{Blob, BlobSource};
pub use model::{Image, Layer};
