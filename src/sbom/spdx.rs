//! A [`Catalog`] as an SPDX 2.3 JSON document (spdx.github.io/spdx-spec/v2.3).
//!
//! One root package for what was cataloged (`SPDXRef-RootFs`, which the document
//! `DESCRIBES`), that `CONTAINS` the operating system (purpose `OPERATING-SYSTEM`)
//! and every package; each package has its purl as a `PACKAGE-MANAGER` external
//! reference, its licenses as `licenseDeclared` (free-text ones as `LicenseRef-`s
//! defined in `hasExtractedLicensingInfos`) and its evidence in `sourceInfo`.

use serde_json::{json, Map, Value};

use super::licenses::{conjunction, is_spdx_expression};
use super::model::{Catalog, Package};
use super::render::Document;

const ROOT_ID: &str = "SPDXRef-RootFs";
const OS_ID: &str = "SPDXRef-OperatingSystem";

pub(super) fn document(catalog: &Catalog, doc: &Document<'_>) -> Value {
    let mut extracted = ExtractedLicenses::default();
    let mut packages = vec![json!({
        "name": doc.name,
        "SPDXID": ROOT_ID,
        "downloadLocation": "NOASSERTION",
        "filesAnalyzed": false,
    })];
    let mut relationships = vec![relationship("SPDXRef-DOCUMENT", "DESCRIBES", ROOT_ID)];
    if let Some(os) = &catalog.os {
        let mut package = Map::new();
        package.insert("name".into(), json!(os.id));
        package.insert("SPDXID".into(), json!(OS_ID));
        if !os.version_id.is_empty() {
            package.insert("versionInfo".into(), json!(os.version_id));
        }
        package.insert("downloadLocation".into(), json!("NOASSERTION"));
        package.insert("filesAnalyzed".into(), json!(false));
        package.insert(
            "sourceInfo".into(),
            json!(format!("evidenced by {}", os.evidence)),
        );
        if !os.pretty_name.is_empty() {
            package.insert("description".into(), json!(os.pretty_name));
        }
        package.insert("primaryPackagePurpose".into(), json!("OPERATING-SYSTEM"));
        packages.push(Value::Object(package));
        relationships.push(relationship(ROOT_ID, "CONTAINS", OS_ID));
    }
    for (index, package) in catalog.packages.iter().enumerate() {
        let id = format!(
            "SPDXRef-Package-{}-{}",
            package.ecosystem.purl_type(),
            index + 1
        );
        packages.push(spdx_package(package, &id, &mut extracted));
        relationships.push(relationship(ROOT_ID, "CONTAINS", &id));
    }
    let mut document = Map::new();
    document.insert("spdxVersion".into(), json!("SPDX-2.3"));
    document.insert("dataLicense".into(), json!("CC0-1.0"));
    document.insert("SPDXID".into(), json!("SPDXRef-DOCUMENT"));
    document.insert("name".into(), json!(doc.name));
    document.insert(
        "documentNamespace".into(),
        json!(format!(
            "https://stevedore.invalid/sbom/{}-{}",
            url_segment(doc.name),
            doc.uuid
        )),
    );
    document.insert(
        "creationInfo".into(),
        json!({
            "created": doc.created,
            "creators": [format!("Tool: stevedore-{}", env!("CARGO_PKG_VERSION"))],
        }),
    );
    document.insert("packages".into(), Value::Array(packages));
    document.insert("relationships".into(), Value::Array(relationships));
    if !extracted.0.is_empty() {
        let infos = extracted
            .0
            .iter()
            .map(|(id, text)| json!({"licenseId": id, "extractedText": text, "name": text}))
            .collect();
        document.insert("hasExtractedLicensingInfos".into(), Value::Array(infos));
    }
    Value::Object(document)
}

fn spdx_package(package: &Package, id: &str, extracted: &mut ExtractedLicenses) -> Value {
    let declared: Vec<String> = package
        .licenses
        .iter()
        .map(|license| {
            if is_spdx_expression(license) {
                license.clone()
            } else {
                extracted.reference(license)
            }
        })
        .collect();
    let mut out = Map::new();
    out.insert("name".into(), json!(package.name));
    out.insert("SPDXID".into(), json!(id));
    if !package.version.is_empty() {
        out.insert("versionInfo".into(), json!(package.version));
    }
    out.insert("downloadLocation".into(), json!("NOASSERTION"));
    out.insert("filesAnalyzed".into(), json!(false));
    out.insert(
        "sourceInfo".into(),
        json!(format!("evidenced by {}", package.evidence.join(", "))),
    );
    out.insert("licenseConcluded".into(), json!("NOASSERTION"));
    out.insert(
        "licenseDeclared".into(),
        json!(conjunction(&declared).unwrap_or_else(|| "NOASSERTION".into())),
    );
    out.insert("copyrightText".into(), json!("NOASSERTION"));
    out.insert(
        "externalRefs".into(),
        json!([{
            "referenceCategory": "PACKAGE-MANAGER",
            "referenceType": "purl",
            "referenceLocator": package.purl,
        }]),
    );
    Value::Object(out)
}

fn relationship(from: &str, kind: &str, to: &str) -> Value {
    json!({"spdxElementId": from, "relationshipType": kind, "relatedSpdxElement": to})
}

/// Free-text licenses, each given a `LicenseRef-` id (letters, digits, `.` and `-`,
/// numbered when two texts would share one), in order of first use.
#[derive(Default)]
struct ExtractedLicenses(Vec<(String, String)>);

impl ExtractedLicenses {
    fn reference(&mut self, text: &str) -> String {
        if let Some((id, _)) = self.0.iter().find(|(_, t)| t == text) {
            return id.clone();
        }
        let base = format!("LicenseRef-{}", url_segment(text));
        let mut id = base.clone();
        let mut n = 1;
        while self.0.iter().any(|(taken, _)| *taken == id) {
            n += 1;
            id = format!("{base}-{n}");
        }
        self.0.push((id.clone(), text.to_string()));
        id
    }
}

/// `text` with every character but ASCII letters, digits, `.` and `-` replaced
/// by `-` (what SPDX ids allow, and safe in a URI path).
fn url_segment(text: &str) -> String {
    let out: String = text
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '.' || c == '-' {
                c
            } else {
                '-'
            }
        })
        .collect();
    if out.is_empty() {
        "unnamed".into()
    } else {
        out
    }
}
