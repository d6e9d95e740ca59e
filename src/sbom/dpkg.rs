//! Debian and Ubuntu packages from the dpkg database: `var/lib/dpkg/status`, and
//! the one-file-per-package `var/lib/dpkg/status.d/*` of distroless images.

use super::catalog::{Context, Found, Purl};
use super::model::Ecosystem;
use super::rootfs::Entry;

/// Whether `path` is a dpkg status database (`status.d/*.md5sums` files are
/// checksums, not status).
pub(super) fn is_database(path: &str) -> bool {
    path == "var/lib/dpkg/status"
        || path
            .strip_prefix("var/lib/dpkg/status.d/")
            .is_some_and(|name| !name.contains('/') && !name.ends_with(".md5sums"))
}

/// Catalogs one status file: every paragraph `dpkg-query -W` lists, that is every
/// package whose `Status` is not `not-installed` (packages removed with their
/// configuration kept, `config-files`, are listed, as dpkg-query lists them).
pub(super) fn catalog(cx: &Context<'_>, entry: &Entry, found: &mut Found) {
    let Some(bytes) = cx.read_database(entry, found) else {
        return;
    };
    let text = String::from_utf8_lossy(&bytes);
    let namespace = cx.os.map(|os| os.id.as_str()).filter(|id| !id.is_empty());
    let distro = cx.distro();
    let mut unnamed = 0;
    for paragraph in paragraphs(&text) {
        let field = |name: &str| {
            paragraph
                .iter()
                .find(|(key, _)| key.eq_ignore_ascii_case(name))
                .map(|(_, value)| value.as_str())
        };
        let Some(name) = field("Package") else {
            unnamed += 1;
            continue;
        };
        if field("Status").is_some_and(|s| s.split_whitespace().nth(2) == Some("not-installed")) {
            continue;
        }
        let version = field("Version").unwrap_or("");
        let mut purl = Purl::new(Ecosystem::Deb, name, version);
        purl.namespace = Some(namespace.unwrap_or("debian"));
        purl.qualifiers
            .push(("arch", field("Architecture").unwrap_or("").to_string()));
        purl.qualifiers
            .push(("distro", distro.clone().unwrap_or_default()));
        found.add(purl, Vec::new(), &entry.path);
    }
    if unnamed > 0 {
        found.warn(format!(
            "{}: {unnamed} paragraph(s) without a Package field skipped",
            entry.path
        ));
    }
}

/// The paragraphs of a deb822 control file: blank-line separated, each a list of
/// `(field, value)` with continuation lines (starting with a space or tab) joined
/// to the value by newlines.
pub(super) fn paragraphs(text: &str) -> Vec<Vec<(String, String)>> {
    let mut out = Vec::new();
    let mut current: Vec<(String, String)> = Vec::new();
    for line in text.lines() {
        if line.trim().is_empty() {
            if !current.is_empty() {
                out.push(std::mem::take(&mut current));
            }
        } else if line.starts_with([' ', '\t']) {
            if let Some((_, value)) = current.last_mut() {
                value.push('\n');
                value.push_str(line.trim());
            }
        } else if let Some((key, value)) = line.split_once(':') {
            current.push((key.trim().to_string(), value.trim().to_string()));
        }
    }
    if !current.is_empty() {
        out.push(current);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn database_paths() {
        assert!(is_database("var/lib/dpkg/status"));
        assert!(is_database("var/lib/dpkg/status.d/libc6"));
        assert!(!is_database("var/lib/dpkg/status.d/libc6.md5sums"));
        assert!(!is_database("var/lib/dpkg/status-old"));
    }

    #[test]
    fn paragraphs_and_continuations() {
        let text = "Package: a\nDescription: x\n more\n\n\nPackage: b\nVersion: 1\n";
        let p = paragraphs(text);
        assert_eq!(p.len(), 2);
        assert_eq!(p[0][1], ("Description".into(), "x\nmore".into()));
        assert_eq!(p[1][1], ("Version".into(), "1".into()));
    }
}
