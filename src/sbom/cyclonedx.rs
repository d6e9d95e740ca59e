//! A [`Catalog`] as a CycloneDX 1.5 JSON document (cyclonedx.org/docs/1.5/json).
//!
//! The metadata component is what was cataloged (type `container`); the operating
//! system is an `operating-system` component, every package a `library` with its
//! purl as `bom-ref` and `purl`, its licenses (one SPDX `expression` when they all
//! are SPDX expressions, else each by `name`), its evidence as
//! `evidence.occurrences` and its ecosystem as the property `stevedore:ecosystem`.

use serde_json::{json, Map, Value};

use super::licenses::{conjunction, is_spdx_expression};
use super::model::{Catalog, Package};
use super::render::Document;

pub(super) fn document(catalog: &Catalog, doc: &Document<'_>) -> Value {
    let mut components = Vec::new();
    if let Some(os) = &catalog.os {
        let mut component = Map::new();
        component.insert("type".into(), json!("operating-system"));
        component.insert("bom-ref".into(), json!("operating-system"));
        component.insert("name".into(), json!(os.id));
        if !os.version_id.is_empty() {
            component.insert("version".into(), json!(os.version_id));
        }
        if !os.pretty_name.is_empty() {
            component.insert("description".into(), json!(os.pretty_name));
        }
        component.insert(
            "evidence".into(),
            json!({"occurrences": [{"location": os.evidence}]}),
        );
        components.push(Value::Object(component));
    }
    components.extend(catalog.packages.iter().map(component));
    json!({
        "bomFormat": "CycloneDX",
        "specVersion": "1.5",
        "serialNumber": format!("urn:uuid:{}", doc.uuid),
        "version": 1,
        "metadata": {
            "timestamp": doc.created,
            "tools": {
                "components": [{
                    "type": "application",
                    "name": "stevedore",
                    "version": env!("CARGO_PKG_VERSION"),
                }],
            },
            "component": {
                "type": "container",
                "bom-ref": "root",
                "name": doc.name,
            },
        },
        "components": components,
    })
}

fn component(package: &Package) -> Value {
    let mut out = Map::new();
    out.insert("type".into(), json!("library"));
    out.insert("bom-ref".into(), json!(package.purl));
    out.insert("name".into(), json!(package.name));
    if !package.version.is_empty() {
        out.insert("version".into(), json!(package.version));
    }
    if !package.licenses.is_empty() {
        let licenses = if package.licenses.iter().all(|l| is_spdx_expression(l)) {
            json!([{"expression": conjunction(&package.licenses)}])
        } else {
            package
                .licenses
                .iter()
                .map(|name| json!({"license": {"name": name}}))
                .collect()
        };
        out.insert("licenses".into(), licenses);
    }
    out.insert("purl".into(), json!(package.purl));
    out.insert(
        "properties".into(),
        json!([{"name": "stevedore:ecosystem", "value": package.ecosystem.purl_type()}]),
    );
    let occurrences: Vec<Value> = package
        .evidence
        .iter()
        .map(|path| json!({"location": path}))
        .collect();
    out.insert("evidence".into(), json!({"occurrences": occurrences}));
    Value::Object(out)
}
