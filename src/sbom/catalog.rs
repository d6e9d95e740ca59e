//! [`catalog`]: one pass over a root filesystem, handing each file to the cataloger
//! of its ecosystem.

use std::collections::BTreeMap;

use packageurl::PackageUrl;

use super::model::{Catalog, Ecosystem, OperatingSystem, Package};
use super::rootfs::{Entry, RootFs};
use super::{apk, dpkg, elf, go, npm, os_release, python, rpm, rust};

/// Limits for [`catalog_with`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CatalogOptions {
    /// The largest package database or metadata file read, in bytes; a larger one
    /// is skipped with a warning. Defaults to 256 MiB.
    pub max_database_bytes: u64,
    /// The largest executable inspected for Go build info or `cargo auditable`
    /// data, in bytes; a larger one is skipped with a warning. Only its ELF
    /// headers and those two sections are read, so this bounds time, not memory.
    /// Defaults to 512 MiB.
    pub max_binary_bytes: u64,
}

impl Default for CatalogOptions {
    fn default() -> Self {
        CatalogOptions {
            max_database_bytes: 256 << 20,
            max_binary_bytes: 512 << 20,
        }
    }
}

/// Catalogs `fs` with the default [`CatalogOptions`]: the operating system and every
/// package found (see the [module documentation](super)). Never fails: what cannot
/// be read is a warning in [`Catalog::warnings`].
pub fn catalog(fs: &dyn RootFs) -> Catalog {
    catalog_with(fs, &CatalogOptions::default())
}

/// Catalogs `fs` with `options`; see [`catalog`].
pub fn catalog_with(fs: &dyn RootFs, options: &CatalogOptions) -> Catalog {
    let mut found = Found::default();
    let entries = match fs.entries() {
        Ok(entries) => entries,
        Err(err) => {
            found.warn(format!("listing the root filesystem: {err}"));
            return found.finish(None);
        }
    };
    let os = os_release::find(fs, &mut found);
    let cx = Context {
        fs,
        options,
        os: os.as_ref(),
    };
    for entry in entries.iter().filter(|e| e.is_regular_file) {
        visit(&cx, entry, &mut found);
    }
    found.finish(os)
}

/// What the catalogers share: the filesystem, the limits and the operating system
/// (which names the distribution in purls).
pub(super) struct Context<'a> {
    pub fs: &'a dyn RootFs,
    pub options: &'a CatalogOptions,
    pub os: Option<&'a OperatingSystem>,
}

impl Context<'_> {
    /// The bytes of a database or metadata file `entry`, or `None` with a warning
    /// when it is over the limit or unreadable.
    pub fn read_database(&self, entry: &Entry, found: &mut Found) -> Option<Vec<u8>> {
        self.read_limited(entry, self.options.max_database_bytes, found)
    }

    fn read_limited(&self, entry: &Entry, limit: u64, found: &mut Found) -> Option<Vec<u8>> {
        if entry.size > limit {
            found.warn(format!(
                "{}: skipped, {} bytes is over the {limit}-byte limit",
                entry.path, entry.size
            ));
            return None;
        }
        match self.fs.read(&entry.path, limit) {
            Ok(bytes) => Some(bytes),
            Err(err) => {
                found.warn(format!("{}: {err}", entry.path));
                None
            }
        }
    }

    /// The distribution qualifier of OS package purls (`debian-12`), when known.
    pub fn distro(&self) -> Option<String> {
        let os = self.os?;
        if os.id.is_empty() {
            return None;
        }
        Some(if os.version_id.is_empty() {
            os.id.clone()
        } else {
            format!("{}-{}", os.id, os.version_id)
        })
    }
}

/// Packages and warnings gathered so far.
#[derive(Default)]
pub(super) struct Found {
    packages: Vec<Package>,
    warnings: Vec<String>,
}

impl Found {
    /// Records a warning (one sentence naming the file).
    pub fn warn(&mut self, warning: String) {
        self.warnings.push(warning);
    }

    /// Records a package named as its purl names it (namespace and name joined
    /// for Go modules and scoped npm packages); see [`Found::add_named`].
    pub fn add(&mut self, purl: Purl<'_>, licenses: Vec<String>, evidence: &str) {
        let name = purl.display_name();
        self.add_named(purl, &name, licenses, evidence);
    }

    /// Records a package called `name`, with a purl built from `purl`, its
    /// `licenses` and the file that evidenced it. A purl the spec refuses (an empty
    /// name) is a warning instead.
    pub fn add_named(&mut self, purl: Purl<'_>, name: &str, licenses: Vec<String>, evidence: &str) {
        match purl.build() {
            Ok(url) => self.packages.push(Package {
                ecosystem: purl.ecosystem,
                name: name.to_string(),
                version: purl.version.to_string(),
                purl: url,
                licenses,
                evidence: vec![evidence.to_string()],
            }),
            Err(err) => self.warn(format!("{evidence}: package {name:?} skipped: {err}")),
        }
    }

    /// The catalog: packages with the same purl merged (their evidence joined),
    /// sorted; warnings sorted.
    fn finish(self, os: Option<OperatingSystem>) -> Catalog {
        let mut merged: BTreeMap<(Ecosystem, String), Package> = BTreeMap::new();
        for package in self.packages {
            let key = (package.ecosystem, package.purl.clone());
            match merged.get_mut(&key) {
                Some(existing) => {
                    existing.evidence.extend(package.evidence);
                    for license in package.licenses {
                        if !existing.licenses.contains(&license) {
                            existing.licenses.push(license);
                        }
                    }
                }
                None => {
                    merged.insert(key, package);
                }
            }
        }
        let packages = merged
            .into_values()
            .map(|mut p| {
                p.evidence.sort();
                p.evidence.dedup();
                p
            })
            .collect();
        let mut warnings = self.warnings;
        warnings.sort();
        Catalog {
            os,
            packages,
            warnings,
        }
    }
}

/// The parts of a package URL (purl spec): type from the ecosystem, optional
/// namespace, name, version and qualifiers.
pub(super) struct Purl<'a> {
    pub ecosystem: Ecosystem,
    pub namespace: Option<&'a str>,
    pub name: &'a str,
    pub version: &'a str,
    pub qualifiers: Vec<(&'static str, String)>,
}

impl<'a> Purl<'a> {
    /// A purl with no namespace and no qualifiers.
    pub fn new(ecosystem: Ecosystem, name: &'a str, version: &'a str) -> Purl<'a> {
        Purl {
            ecosystem,
            namespace: None,
            name,
            version,
            qualifiers: Vec::new(),
        }
    }

    /// The name a person knows the package by: the namespace joined to the name
    /// for Go modules and scoped npm packages, the bare name otherwise.
    fn display_name(&self) -> String {
        match (self.ecosystem, self.namespace) {
            (Ecosystem::Go | Ecosystem::Npm, Some(ns)) => format!("{ns}/{}", self.name),
            _ => self.name.to_string(),
        }
    }

    fn build(&self) -> Result<String, packageurl::Error> {
        let mut url = PackageUrl::new(self.ecosystem.purl_type(), self.name)?;
        if let Some(ns) = self.namespace.filter(|ns| !ns.is_empty()) {
            url.with_namespace(ns)?;
        }
        if !self.version.is_empty() {
            url.with_version(self.version)?;
        }
        for (key, value) in &self.qualifiers {
            if !value.is_empty() {
                url.add_qualifier(*key, value.as_str())?;
            }
        }
        Ok(url.to_string())
    }
}

/// Hands one regular file to the cataloger its path (or its first bytes) calls for.
fn visit(cx: &Context<'_>, entry: &Entry, found: &mut Found) {
    let path = entry.path.as_str();
    if dpkg::is_database(path) {
        dpkg::catalog(cx, entry, found);
    } else if apk::is_database(path) {
        apk::catalog(cx, entry, found);
    } else if rpm::is_database(path) {
        rpm::catalog(cx, entry, found);
    } else if python::is_metadata(path) {
        python::catalog(cx, entry, found);
    } else if npm::is_manifest(path) {
        npm::catalog(cx, entry, found);
    } else if entry.mode & 0o111 != 0 && entry.size >= 64 {
        visit_binary(cx, entry, found);
    }
}

/// An executable: an ELF file's headers are read, then only its `.go.buildinfo`
/// and `.dep-v0` sections (never the whole file).
fn visit_binary(cx: &Context<'_>, entry: &Entry, found: &mut Found) {
    match cx.fs.read_range(&entry.path, 0, 4) {
        Ok(magic) if magic == b"\x7fELF" => {}
        _ => return,
    }
    if entry.size > cx.options.max_binary_bytes {
        found.warn(format!(
            "{}: skipped, {} bytes is over the {}-byte limit",
            entry.path, entry.size, cx.options.max_binary_bytes
        ));
        return;
    }
    let sections = match elf::sections(cx.fs, &entry.path, entry.size) {
        Ok(sections) => sections,
        Err(err) => {
            found.warn(format!("{}: unreadable ELF file: {err}", entry.path));
            return;
        }
    };
    let buildinfo = match sections.go_buildinfo {
        Some(data) if data.starts_with(go::MAGIC) => Some(data),
        _ if !sections.has_section_headers => go::scan(cx.fs, &entry.path, entry.size),
        _ => None,
    };
    if let Some(info) = buildinfo {
        go::catalog(&info, &entry.path, found);
    }
    if let Some(data) = sections.dep_v0 {
        rust::catalog(&data, &entry.path, found);
    }
}
