//! The simple-signing payload cosign signs: which image (by manifest
//! digest), under which name, plus optional annotations — byte for byte as
//! cosign writes it (compact JSON, cosign's key order, Go's escaping,
//! `"optional":null` without annotations).

use std::collections::BTreeMap;

use serde::Deserialize;
use serde_json::json;

use crate::digest::Digest;
use crate::error::{Error, Result};

/// The `critical.type` of a cosign image signature.
pub const SIGNATURE_TYPE: &str = "cosign container image signature";

/// A parsed payload.
#[derive(Debug, Clone, Deserialize)]
pub struct Payload {
    /// What is signed.
    pub critical: Critical,
    /// Annotations (and, from some signers, `creator` and `timestamp`).
    #[serde(default)]
    pub optional: Option<serde_json::Map<String, serde_json::Value>>,
}

/// The part of a payload a verifier must check.
#[derive(Debug, Clone, Deserialize)]
pub struct Critical {
    /// The name the image was signed under.
    pub identity: Identity,
    /// The image.
    pub image: Image,
    /// Always [`SIGNATURE_TYPE`].
    #[serde(rename = "type")]
    pub kind: String,
}

/// `critical.identity`.
#[derive(Debug, Clone, Deserialize)]
pub struct Identity {
    /// The image's name (`registry/repository`, maybe with `:tag`).
    #[serde(rename = "docker-reference")]
    pub docker_reference: String,
}

/// `critical.image`.
#[derive(Debug, Clone, Deserialize)]
pub struct Image {
    /// The digest of the signed manifest.
    #[serde(rename = "docker-manifest-digest")]
    pub docker_manifest_digest: String,
}

/// Go's `encoding/json` escapes `<`, `>` and `&` inside strings; so must we,
/// for the same bytes. (None of them can appear outside a string in JSON.)
fn go_escape(json: String) -> String {
    json.replace('<', "\\u003c")
        .replace('>', "\\u003e")
        .replace('&', "\\u0026")
}

/// The payload signing the manifest `digest` under `identity`.
pub fn build(identity: &str, digest: &Digest, annotations: &BTreeMap<String, String>) -> Vec<u8> {
    let optional = if annotations.is_empty() {
        serde_json::Value::Null
    } else {
        json!(annotations)
    };
    let value = json!({
        "critical": {
            "identity": {"docker-reference": identity},
            "image": {"docker-manifest-digest": digest.to_string()},
            "type": SIGNATURE_TYPE,
        },
        "optional": optional,
    });
    go_escape(value.to_string()).into_bytes()
}

/// Parses a payload.
pub fn parse(bytes: &[u8]) -> Result<Payload> {
    serde_json::from_slice(bytes).map_err(|e| {
        Error::invalid(format!(
            "the signature payload is not simple-signing JSON: {e}"
        ))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_bytes_are_cosigns() {
        let digest: Digest =
            "sha256:634a8f35b5f16dcf4aaa0822adc0b1964bb786fca12f6831de8ddc45e5986a00"
                .parse()
                .unwrap();
        let payload = build(
            "192.168.64.2:5000/cosign-signed-single-sample",
            &digest,
            &BTreeMap::new(),
        );
        assert_eq!(
            String::from_utf8(payload).unwrap(),
            r#"{"critical":{"identity":{"docker-reference":"192.168.64.2:5000/cosign-signed-single-sample"},"image":{"docker-manifest-digest":"sha256:634a8f35b5f16dcf4aaa0822adc0b1964bb786fca12f6831de8ddc45e5986a00"},"type":"cosign container image signature"},"optional":null}"#
        );
        let annotated = build(
            "r/a",
            &digest,
            &[
                ("z".to_owned(), "<&>".to_owned()),
                ("a".to_owned(), "1".to_owned()),
            ]
            .into(),
        );
        assert!(String::from_utf8(annotated)
            .unwrap()
            .ends_with(r#""optional":{"a":"1","z":"\u003c\u0026\u003e"}}"#));
    }
}
