//! [`render`]: a [`Catalog`] as an SBOM document, SPDX 2.3 JSON or CycloneDX 1.5
//! JSON.

use std::str::FromStr;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use sha2::{Digest as _, Sha256};

use super::model::Catalog;
use super::{cyclonedx, spdx};
use crate::error::{Error, Result};

/// The artifact type of an SPDX JSON document attached to an image as a referrer
/// (IANA media type `application/spdx+json`).
pub const SPDX_JSON_ARTIFACT_TYPE: &str = "application/spdx+json";

/// The artifact type of a CycloneDX JSON document attached to an image as a
/// referrer (IANA media type `application/vnd.cyclonedx+json`).
pub const CYCLONEDX_JSON_ARTIFACT_TYPE: &str = "application/vnd.cyclonedx+json";

/// An SBOM document format.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Format {
    /// SPDX 2.3 as JSON (spdx.github.io/spdx-spec/v2.3).
    SpdxJson,
    /// CycloneDX 1.5 as JSON (cyclonedx.org/docs/1.5/json).
    CycloneDxJson,
}

impl Default for Format {
    /// SPDX 2.3 JSON.
    fn default() -> Format {
        Format::SpdxJson
    }
}

impl Format {
    /// The format's name on the command line: `spdx-json` or `cyclonedx-json`.
    pub fn name(self) -> &'static str {
        match self {
            Format::SpdxJson => "spdx-json",
            Format::CycloneDxJson => "cyclonedx-json",
        }
    }

    /// The artifact (media) type of a document in this format:
    /// [`SPDX_JSON_ARTIFACT_TYPE`] or [`CYCLONEDX_JSON_ARTIFACT_TYPE`].
    pub fn artifact_type(self) -> &'static str {
        match self {
            Format::SpdxJson => SPDX_JSON_ARTIFACT_TYPE,
            Format::CycloneDxJson => CYCLONEDX_JSON_ARTIFACT_TYPE,
        }
    }
}

impl FromStr for Format {
    type Err = Error;

    /// Parses a format [name](Format::name); anything else is
    /// [`ErrorKind::InvalidInput`](crate::ErrorKind::InvalidInput).
    fn from_str(name: &str) -> Result<Format> {
        match name {
            "spdx-json" => Ok(Format::SpdxJson),
            "cyclonedx-json" => Ok(Format::CycloneDxJson),
            other => Err(Error::invalid(format!(
                "unknown SBOM format {other:?}: expected spdx-json or cyclonedx-json"
            ))),
        }
    }
}

/// How [`render_with`] names and dates a document.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RenderOptions {
    /// What the document describes (an image reference, a directory); the SPDX
    /// document and root package name, the CycloneDX metadata component name.
    /// Defaults to `rootfs`.
    pub name: String,
    /// The creation time written in the document. Defaults to `None`: the time
    /// in `SOURCE_DATE_EPOCH` (seconds since the Unix epoch, for reproducible
    /// output) when it is set, else now.
    pub created: Option<SystemTime>,
}

impl Default for RenderOptions {
    fn default() -> Self {
        RenderOptions {
            name: "rootfs".to_string(),
            created: None,
        }
    }
}

/// `catalog` as a document in `format`, with the default [`RenderOptions`]. The
/// bytes are deterministic JSON (fields in a fixed order, packages in the
/// catalog's order) apart from the creation time and the document's serial or
/// namespace, which derive from it.
pub fn render(catalog: &Catalog, format: Format) -> Vec<u8> {
    render_with(catalog, format, &RenderOptions::default())
}

/// `catalog` as a document in `format`, named and dated by `options`; see
/// [`render`].
pub fn render_with(catalog: &Catalog, format: Format, options: &RenderOptions) -> Vec<u8> {
    let created = options.created.unwrap_or_else(source_date);
    // Whole seconds: both formats' timestamps are RFC 3339 date-times.
    let secs = created
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0);
    let created = UNIX_EPOCH + Duration::from_secs(secs);
    let document = Document {
        name: &options.name,
        created: humantime::format_rfc3339_seconds(created).to_string(),
        uuid: uuid(catalog, format, &options.name, secs),
    };
    let value = match format {
        Format::SpdxJson => spdx::document(catalog, &document),
        Format::CycloneDxJson => cyclonedx::document(catalog, &document),
    };
    let mut bytes = serde_json::to_vec_pretty(&value).unwrap_or_default();
    bytes.push(b'\n');
    bytes
}

/// What both renderers write besides the catalog.
pub(super) struct Document<'a> {
    /// What the document describes.
    pub name: &'a str,
    /// The creation time, RFC 3339 in UTC with whole seconds.
    pub created: String,
    /// A UUID (RFC 9562 version 8, from a SHA-256 of the content, name and time):
    /// the CycloneDX serial number and the tail of the SPDX namespace.
    pub uuid: String,
}

/// `SOURCE_DATE_EPOCH` when set to a number of seconds, else now.
fn source_date() -> SystemTime {
    std::env::var("SOURCE_DATE_EPOCH")
        .ok()
        .and_then(|s| s.trim().parse::<u64>().ok())
        .map(|secs| UNIX_EPOCH + Duration::from_secs(secs))
        .unwrap_or_else(SystemTime::now)
}

fn uuid(catalog: &Catalog, format: Format, name: &str, secs: u64) -> String {
    let mut hasher = Sha256::new();
    hasher.update(serde_json::to_vec(catalog).unwrap_or_default());
    hasher.update(format.name());
    hasher.update(name);
    hasher.update(secs.to_be_bytes());
    let mut b: [u8; 16] = hasher.finalize()[..16].try_into().unwrap_or_default();
    b[6] = (b[6] & 0x0f) | 0x80;
    b[8] = (b[8] & 0x3f) | 0x80;
    let hex: String = b.iter().map(|x| format!("{x:02x}")).collect();
    format!(
        "{}-{}-{}-{}-{}",
        &hex[..8],
        &hex[8..12],
        &hex[12..16],
        &hex[16..20],
        &hex[20..]
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats_and_determinism() {
        assert_eq!("spdx-json".parse::<Format>().unwrap(), Format::SpdxJson);
        assert!("xml".parse::<Format>().is_err());
        let options = RenderOptions {
            name: "x".into(),
            created: Some(UNIX_EPOCH + Duration::from_secs(1_700_000_000)),
        };
        let catalog = Catalog::default();
        for format in [Format::SpdxJson, Format::CycloneDxJson] {
            let a = render_with(&catalog, format, &options);
            assert_eq!(a, render_with(&catalog, format, &options));
            assert!(String::from_utf8(a)
                .unwrap()
                .contains("2023-11-14T22:13:20Z"));
        }
    }
}
