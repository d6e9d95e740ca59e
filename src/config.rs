//! Image configs (OCI and Docker): the fields Stevedore reads, with every other
//! field kept, so a config survives a parse and re-serialisation unchanged.

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use crate::error::{Error, Result};

/// The largest config blob Stevedore reads into memory.
pub const CONFIG_SIZE_MAX: u64 = 32 * 1024 * 1024;

/// An image config. Known fields are typed; all others live in `extra`.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct ImageConfig {
    /// When the image was created (RFC 3339).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub created: Option<String>,
    /// Who made the image.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub author: Option<String>,
    /// CPU architecture.
    #[serde(default)]
    pub architecture: String,
    /// Operating system.
    #[serde(default)]
    pub os: String,
    /// CPU variant.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub variant: Option<String>,
    /// The runtime settings of a container started from the image.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub config: Option<RuntimeConfig>,
    /// The layers' uncompressed digests.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rootfs: Option<RootFs>,
    /// How each layer was made.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub history: Vec<Value>,
    /// Every other field, in the order read.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

/// The `config` object of an image config: defaults for a container.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct RuntimeConfig {
    /// The user the process runs as.
    #[serde(rename = "User", default, skip_serializing_if = "Option::is_none")]
    pub user: Option<String>,
    /// Environment, `KEY=value` each.
    #[serde(rename = "Env", default, skip_serializing_if = "Option::is_none")]
    pub env: Option<Vec<String>>,
    /// The entrypoint.
    #[serde(
        rename = "Entrypoint",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub entrypoint: Option<Vec<String>>,
    /// The default arguments.
    #[serde(rename = "Cmd", default, skip_serializing_if = "Option::is_none")]
    pub cmd: Option<Vec<String>>,
    /// The working directory.
    #[serde(
        rename = "WorkingDir",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub working_dir: Option<String>,
    /// Labels.
    #[serde(rename = "Labels", default, skip_serializing_if = "Option::is_none")]
    pub labels: Option<std::collections::BTreeMap<String, String>>,
    /// Every other field, in the order read.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

/// The `rootfs` object: the layers' uncompressed digests.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct RootFs {
    /// Always `layers`.
    #[serde(rename = "type")]
    pub kind: String,
    /// The digest of each uncompressed layer, base first.
    #[serde(default)]
    pub diff_ids: Vec<String>,
}

impl ImageConfig {
    /// Parses a config blob.
    pub fn from_bytes(bytes: &[u8]) -> Result<ImageConfig> {
        serde_json::from_slice(bytes)
            .map_err(|e| Error::invalid(format!("image config is not valid: {e}")))
    }

    /// Serialises the config as compact JSON.
    pub fn to_bytes(&self) -> Result<Vec<u8>> {
        serde_json::to_vec(self)
            .map_err(|e| Error::invalid(format!("cannot serialise config: {e}")))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unknown_fields_survive_a_round_trip() {
        let raw = br#"{"created":"2024-01-01T00:00:00Z","architecture":"amd64","os":"linux","config":{"Env":["A=1"],"ExposedPorts":{"80/tcp":{}},"Cmd":["sh"]},"rootfs":{"type":"layers","diff_ids":["sha256:aa"]},"history":[{"created_by":"x"}],"zz_custom":{"b":1,"a":2},"container":"abc"}"#;
        let cfg = ImageConfig::from_bytes(raw).unwrap();
        assert_eq!(cfg.architecture, "amd64");
        assert_eq!(
            cfg.config.as_ref().unwrap().cmd.as_deref(),
            Some(&["sh".to_owned()][..])
        );
        let again: Value = serde_json::from_slice(&cfg.to_bytes().unwrap()).unwrap();
        let original: Value = serde_json::from_slice(raw).unwrap();
        assert_eq!(again, original);
    }

    #[test]
    fn malformed_config_is_invalid_input() {
        let err = ImageConfig::from_bytes(b"{\"os\": 3}").unwrap_err();
        assert_eq!(err.kind(), crate::error::ErrorKind::InvalidInput);
    }
}
