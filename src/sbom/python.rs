//! Python distributions from their core metadata: `*.dist-info/METADATA` (wheels,
//! pip installs) and `*.egg-info/PKG-INFO` or a `*.egg-info` file (setuptools).

use super::catalog::{Context, Found, Purl};
use super::model::Ecosystem;
use super::rootfs::Entry;

/// The longest `License:` value taken as a license name; longer ones are usually
/// the whole license text pasted in.
const MAX_LICENSE_NAME: usize = 100;

/// Whether `path` is a distribution's metadata file.
pub(super) fn is_metadata(path: &str) -> bool {
    path.ends_with(".dist-info/METADATA")
        || path.ends_with(".egg-info/PKG-INFO")
        || path.ends_with(".egg-info")
}

/// Catalogs one metadata file (Core metadata specifications: `Name`, `Version`,
/// `License-Expression`, `License`, `Classifier: License :: …`).
pub(super) fn catalog(cx: &Context<'_>, entry: &Entry, found: &mut Found) {
    let Some(bytes) = cx.read_database(entry, found) else {
        return;
    };
    let text = String::from_utf8_lossy(&bytes);
    let fields = headers(&text);
    let field = |name: &str| {
        fields
            .iter()
            .find(|(key, _)| key.eq_ignore_ascii_case(name))
            .map(|(_, value)| value.as_str())
    };
    let (Some(name), Some(version)) = (field("Name"), field("Version")) else {
        found.warn(format!(
            "{}: Python metadata without a Name and Version skipped",
            entry.path
        ));
        return;
    };
    let purl_name = normalize(name);
    let purl = Purl::new(Ecosystem::Python, &purl_name, version);
    found.add_named(purl, name, licenses(&fields), &entry.path);
}

/// The licenses the metadata names: its `License-Expression`, else a short
/// `License`, else the names in its `License ::` classifiers.
fn licenses(fields: &[(String, String)]) -> Vec<String> {
    let field = |name: &str| {
        fields
            .iter()
            .find(|(key, value)| key.eq_ignore_ascii_case(name) && !value.is_empty())
            .map(|(_, value)| value.clone())
    };
    if let Some(expression) = field("License-Expression") {
        return vec![expression];
    }
    if let Some(license) = field("License")
        .filter(|l| l.len() <= MAX_LICENSE_NAME && !l.contains('\n') && l != "UNKNOWN")
    {
        return vec![license];
    }
    fields
        .iter()
        .filter(|(key, _)| key.eq_ignore_ascii_case("Classifier"))
        .filter_map(|(_, value)| value.strip_prefix("License ::"))
        .filter_map(|value| value.rsplit("::").next())
        .map(|name| name.trim().to_string())
        .filter(|name| !name.is_empty() && name != "OSI Approved")
        .collect()
}

/// The header fields of an email-style metadata file, up to the first blank line
/// (the body is the description); continuation lines are joined with newlines.
fn headers(text: &str) -> Vec<(String, String)> {
    let mut fields: Vec<(String, String)> = Vec::new();
    for line in text.lines() {
        if line.trim().is_empty() {
            break;
        }
        if line.starts_with([' ', '\t']) {
            if let Some((_, value)) = fields.last_mut() {
                value.push('\n');
                value.push_str(line.trim());
            }
        } else if let Some((key, value)) = line.split_once(':') {
            fields.push((key.trim().to_string(), value.trim().to_string()));
        }
    }
    fields
}

/// The PEP 503 normalized name (lower case, runs of `-`, `_`, `.` as one `-`), which
/// the purl spec asks for `pypi` names.
fn normalize(name: &str) -> String {
    let mut out = String::with_capacity(name.len());
    for c in name.chars() {
        if matches!(c, '-' | '_' | '.') {
            if !out.ends_with('-') {
                out.push('-');
            }
        } else {
            out.extend(c.to_lowercase());
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_and_licenses() {
        assert_eq!(normalize("Foo__Bar.baz"), "foo-bar-baz");
        let fields = headers(
            "Name: x\nLicense: Copyright blah\n        more text\nClassifier: License :: OSI Approved :: MIT License\n\nBody: no\n",
        );
        assert_eq!(licenses(&fields), ["MIT License"]);
        assert!(!fields.iter().any(|(k, _)| k == "Body"));
    }
}
