//! Stevedore: a library-first, daemonless OCI container image toolkit.
//!
//! Everything you can do to an image except run it, as blocking functions over
//! [`transport::Transport`]s: [`copy()`], [`inspect()`], [`tags`], [`list_tags`],
//! [`manifest_digest`], [`tag()`], [`delete()`], [`catalog`],
//! [`export_static`] (a static registry tree and its web-server configuration),
//! and over an image's merged root filesystem ([`layer`]): [`files()`],
//! [`files_in`], [`read_file`], [`export()`], [`diff()`], and its software
//! bill of materials, [`sbom()`].
//! Images are named the way skopeo names them ([`transport::parse`]:
//! `oci:/images/app:1.0`, `docker://registry.example/app:1.0`).
//! Every digest is preserved and every blob is verified as it streams.
//!
//! The same verbs are reachable from C through the ABI in `include/stevedore.h`.
//!
//! ```no_run
//! # fn main() -> stevedore::Result<()> {
//! let src = stevedore::parse_image("oci:/images/app:1.0")?;
//! let dst = stevedore::parse_image("oci:/mirror/app:1.0")?;
//! let report = stevedore::copy(&src, &dst, &stevedore::CopyOptions::default())?;
//! println!("{} ({} blobs sent)", report.digest, report.blobs_copied);
//! # Ok(())
//! # }
//! ```
#![deny(unsafe_code)]
#![deny(missing_docs)]

mod append;
pub mod archive;
pub mod auth;
pub mod blob_cache;
pub mod build;
pub mod config;
pub mod convert;
pub mod copy;
pub mod delete;
pub mod descriptor;
pub mod digest;
pub mod error;
pub mod fetch;
#[cfg(feature = "capi")]
pub mod ffi;
pub mod files;
pub mod image;
pub mod inspect;
pub mod layer;
pub mod login;
pub mod manifest;
pub mod media_types;
mod new_file;
pub mod platform;
pub mod progress;
pub mod reference;
pub mod referrers;
pub mod registry;
pub mod resolve;
pub mod s3;
pub mod sbom;
#[cfg(feature = "server")]
pub mod server;
pub mod sign;
pub mod static_registry;
pub mod store;
pub mod sync;
pub mod sync_yaml;
pub mod tag;
pub mod transport;

pub use build::{
    append, build, flatten, index_add, index_create, index_remove, mutate, read as read_image,
    rebase, remove_layer, replace_layer, write as write_image, BuildReport, BuildSpec, Mutation,
};
pub use copy::{copy, CopyOptions, CopyReport};
pub use delete::delete;
pub use digest::Digest;
pub use error::{Error, ErrorKind, Result};
pub use files::{
    diff, export, export_to_path, files, files_in, read_file, DiffReport, ExportReport,
    FilesOptions, ImageFs, Listing, ListingRef,
};
pub use image::Image;
pub use inspect::{
    catalog, digest as manifest_digest, inspect, list_tags, raw_config, raw_manifest, tags,
    InspectOptions, InspectReport, TagList,
};
pub use login::{login, logout};
pub use reference::Reference;
pub use sbom::{sbom, SbomOptions, SbomReport};
pub use static_registry::{export as export_static, StaticOptions, StaticReport};
pub use sync::{sync, SyncJob, SyncOutcome, SyncResult};
pub use tag::tag;
pub use transport::{parse as parse_image, ImageRef};
