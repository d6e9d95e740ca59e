//! Alpine packages from the apk database, `lib/apk/db/installed`.

use super::catalog::{Context, Found, Purl};
use super::model::Ecosystem;
use super::rootfs::Entry;

/// Whether `path` is the apk installed-package database.
pub(super) fn is_database(path: &str) -> bool {
    path == "lib/apk/db/installed"
}

/// Catalogs the apk database: blank-line separated records of `X:value` lines
/// (apk-tools' "installed database" format: `P` name, `V` version, `A` arch, `L`
/// license).
pub(super) fn catalog(cx: &Context<'_>, entry: &Entry, found: &mut Found) {
    let Some(bytes) = cx.read_database(entry, found) else {
        return;
    };
    let text = String::from_utf8_lossy(&bytes);
    let namespace = cx.os.map(|os| os.id.as_str()).filter(|id| !id.is_empty());
    let distro = cx.distro();
    let mut unnamed = 0;
    for record in text.split("\n\n").filter(|r| !r.trim().is_empty()) {
        let field = |key: &str| {
            record
                .lines()
                .find_map(|line| line.strip_prefix(key)?.strip_prefix(':'))
                .map(str::trim)
        };
        let Some(name) = field("P").filter(|n| !n.is_empty()) else {
            unnamed += 1;
            continue;
        };
        let mut purl = Purl::new(Ecosystem::Apk, name, field("V").unwrap_or(""));
        purl.namespace = Some(namespace.unwrap_or("alpine"));
        purl.qualifiers
            .push(("arch", field("A").unwrap_or("").to_string()));
        purl.qualifiers
            .push(("distro", distro.clone().unwrap_or_default()));
        let licenses = field("L")
            .filter(|l| !l.is_empty())
            .map(|l| vec![l.to_string()])
            .unwrap_or_default();
        found.add(purl, licenses, &entry.path);
    }
    if unnamed > 0 {
        found.warn(format!(
            "{}: {unnamed} record(s) without a P: (name) line skipped",
            entry.path
        ));
    }
}
