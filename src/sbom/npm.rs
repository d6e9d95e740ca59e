//! npm packages from `node_modules/**/package.json`: the manifest at the top of
//! each installed package (`node_modules/NAME/` or `node_modules/@SCOPE/NAME/`),
//! not the `package.json` files packages carry deeper inside.

use serde_json::Value;

use super::catalog::{Context, Found, Purl};
use super::model::Ecosystem;
use super::rootfs::Entry;

/// Whether `path` is the manifest of an installed npm package.
pub(super) fn is_manifest(path: &str) -> bool {
    let mut parts = path.rsplit('/');
    if parts.next() != Some("package.json") {
        return false;
    }
    match (parts.next(), parts.next(), parts.next()) {
        (Some(_), Some("node_modules"), _) => true,
        (Some(_), Some(scope), Some("node_modules")) => scope.starts_with('@'),
        _ => false,
    }
}

/// Catalogs one `package.json`: `name` (`@scope/name` becomes the purl
/// namespace and name), `version`, and `license` / the deprecated `licenses`.
pub(super) fn catalog(cx: &Context<'_>, entry: &Entry, found: &mut Found) {
    let Some(bytes) = cx.read_database(entry, found) else {
        return;
    };
    let manifest: Value = match serde_json::from_slice(&bytes) {
        Ok(manifest) => manifest,
        Err(err) => {
            found.warn(format!("{}: unparseable package.json: {err}", entry.path));
            return;
        }
    };
    let text = |key: &str| manifest.get(key).and_then(Value::as_str).unwrap_or("");
    let (name, version) = (text("name"), text("version"));
    if name.is_empty() || version.is_empty() {
        found.warn(format!(
            "{}: package.json without a name and version skipped",
            entry.path
        ));
        return;
    }
    let mut purl = Purl::new(Ecosystem::Npm, name, version);
    if let Some((scope, bare)) = name.split_once('/') {
        purl.namespace = Some(scope);
        purl.name = bare;
    }
    found.add(purl, licenses(&manifest), &entry.path);
}

/// `license` as a string (an SPDX expression) or the legacy `{ "type": … }`, and
/// the legacy `licenses` array of either.
fn licenses(manifest: &Value) -> Vec<String> {
    let name = |value: &Value| match value {
        Value::String(s) => Some(s.clone()),
        Value::Object(o) => o.get("type").and_then(Value::as_str).map(str::to_string),
        _ => None,
    };
    let mut out: Vec<String> = manifest.get("license").and_then(name).into_iter().collect();
    if let Some(list) = manifest.get("licenses").and_then(Value::as_array) {
        out.extend(list.iter().filter_map(name));
    }
    out.retain(|l| !l.is_empty());
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn manifest_paths() {
        assert!(is_manifest("app/node_modules/left-pad/package.json"));
        assert!(is_manifest("node_modules/@types/node/package.json"));
        assert!(is_manifest("node_modules/a/node_modules/b/package.json"));
        assert!(!is_manifest("node_modules/a/lib/package.json"));
        assert!(!is_manifest("node_modules/package.json"));
        assert!(!is_manifest("app/package.json"));
    }

    #[test]
    fn legacy_licenses() {
        let m: Value =
            serde_json::from_str(r#"{"license":{"type":"MIT"},"licenses":["ISC",{"type":"BSD"}]}"#)
                .unwrap();
        assert_eq!(licenses(&m), ["MIT", "ISC", "BSD"]);
    }
}
