//! Software bill of materials: what is installed in an image's root filesystem.
//!
//! [`catalog`] walks a [`RootFs`] (the merged view of an image's layers, or a host
//! directory through [`DirRootFs`]) and finds, best effort:
//! the operating system (`etc/os-release`), Debian/Ubuntu packages (dpkg, including
//! distroless `status.d`), Alpine packages (apk), RPM packages (`rpmdb.sqlite`),
//! Python distributions (`.dist-info`, `.egg-info`), npm packages (`node_modules`),
//! Go binaries (embedded build info) and Rust binaries built with `cargo auditable`.
//! What cannot be read becomes a warning in the [`Catalog`], never an error.
//!
//! [`sbom`] is the verb over an image: its layers merged without unpacking them
//! (an [`ImageFs`](crate::ImageFs) is a [`RootFs`]), cataloged, rendered and, when
//! asked, attached to the image as a referrer. Executables are never read whole:
//! only their ELF headers and the sections that name what they were built from.
//!
//! [`render`] writes a catalog as SPDX 2.3 JSON or CycloneDX 1.5 JSON
//! ([`Format`]); [`SPDX_JSON_ARTIFACT_TYPE`] and [`CYCLONEDX_JSON_ARTIFACT_TYPE`] are
//! the artifact types to attach them to an image as referrers with.
//!
//! ```no_run
//! # fn main() -> stevedore::Result<()> {
//! use stevedore::sbom::{self, DirRootFs, Format};
//! let root = DirRootFs::new("/srv/rootfs")?;
//! let catalog = sbom::catalog(&root);
//! let spdx: Vec<u8> = sbom::render(&catalog, Format::SpdxJson);
//! # Ok(())
//! # }
//! ```

mod apk;
mod catalog;
mod cyclonedx;
mod dpkg;
mod elf;
mod go;
mod image;
mod licenses;
mod model;
mod npm;
mod os_release;
mod python;
mod render;
mod rootfs;
mod rpm;
mod rust;
mod spdx;

pub use catalog::{catalog, catalog_with, CatalogOptions};
pub use image::{sbom, SbomOptions, SbomReport};
pub use model::{Catalog, Ecosystem, OperatingSystem, Package};
pub use render::{
    render, render_with, Format, RenderOptions, CYCLONEDX_JSON_ARTIFACT_TYPE,
    SPDX_JSON_ARTIFACT_TYPE,
};
pub use rootfs::{DirRootFs, Entry, RootFs};
