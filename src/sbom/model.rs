//! What a catalog holds: the operating system, packages and warnings.

use serde::Serialize;

/// The package ecosystem a [`Package`] belongs to (its purl type).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum Ecosystem {
    /// A Debian/Ubuntu package from the dpkg database.
    Deb,
    /// An Alpine package from the apk database.
    Apk,
    /// An RPM package from the rpm database.
    Rpm,
    /// A Python distribution (`.dist-info` or `.egg-info`).
    Python,
    /// An npm package (`node_modules/**/package.json`).
    Npm,
    /// A Go module compiled into a binary.
    Go,
    /// A Rust crate compiled into a binary (`cargo auditable`).
    Cargo,
}

impl Ecosystem {
    /// The ecosystem's package-url type (`deb`, `apk`, `rpm`, `pypi`, `npm`,
    /// `golang`, `cargo`), from the purl spec's type list.
    pub fn purl_type(self) -> &'static str {
        match self {
            Ecosystem::Deb => "deb",
            Ecosystem::Apk => "apk",
            Ecosystem::Rpm => "rpm",
            Ecosystem::Python => "pypi",
            Ecosystem::Npm => "npm",
            Ecosystem::Go => "golang",
            Ecosystem::Cargo => "cargo",
        }
    }
}

/// The operating system an image is made from, from `os-release(5)`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct OperatingSystem {
    /// `ID`: the lower-case distribution name (`debian`, `alpine`, `rhel`).
    pub id: String,
    /// `VERSION_ID`: the version (`12`, `3.20.1`); empty when absent (rolling
    /// releases, Debian testing).
    pub version_id: String,
    /// `NAME`: the human-readable name (`Debian GNU/Linux`).
    pub name: String,
    /// `PRETTY_NAME`: the name with the version (`Debian GNU/Linux 12 (bookworm)`).
    pub pretty_name: String,
    /// `ID_LIKE`: the distributions this one derives from, space-separated in the
    /// file, here split.
    pub id_like: Vec<String>,
    /// The file the fields were read from (`etc/os-release`).
    pub evidence: String,
}

/// One package found in the root filesystem.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Package {
    /// The ecosystem it belongs to.
    pub ecosystem: Ecosystem,
    /// The name as its database spells it (a Go module path, a scoped npm name).
    pub name: String,
    /// The version as its database spells it (Debian epochs and revisions kept);
    /// empty when none is recorded (a Go main module built as `(devel)`).
    pub version: String,
    /// The package URL (purl spec), built by the `packageurl` crate.
    pub purl: String,
    /// The licenses as the database names them (SPDX expressions or free text);
    /// empty when it names none.
    pub licenses: Vec<String>,
    /// The files that evidence the package (the database, metadata file or
    /// binary), relative to the root.
    pub evidence: Vec<String>,
}

/// The result of [`catalog`](super::catalog): everything found, in a stable order.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Catalog {
    /// The operating system, when an `os-release` file was found.
    pub os: Option<OperatingSystem>,
    /// The packages, one per purl (a package found in several places lists every
    /// file in its evidence), sorted by ecosystem and purl.
    pub packages: Vec<Package>,
    /// What could not be read (an unparseable database, an unsupported format,
    /// a file over the size limit), one sentence each, naming the file.
    pub warnings: Vec<String>,
}
