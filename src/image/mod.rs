//! An assembled image held in memory: the manifest's fields, the config
//! (unknown fields kept), the ordered layers, and what backs each blob —
//! bytes, a file, a store, or the transport the image was read from, so that
//! layers nobody changes are never downloaded. Every change recomputes what
//! depends on it (layer → config `rootfs.diff_ids` and `history` → manifest);
//! an image nobody changed keeps its exact manifest and config bytes.
//!
//! [`layer`] makes layers reproducibly from directories, file mappings and
//! tar files; [`Staged`] serves an image (or an index of them) as a
//! [`Transport`](crate::transport::Transport), so that writing it goes
//! through the copy engine, with its skips and cross-repository mounts.

mod blob;
pub mod layer;
mod model;
mod staged;

pub use blob::Blob;
pub use model::{Image, Layer};
pub use staged::Staged;
