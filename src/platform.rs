//! Platforms (`linux/arm64/v8`): parsing, normalisation of common aliases, and
//! choosing one image from an index.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

use crate::descriptor::Descriptor;
use crate::error::{Error, Result};

/// An OCI platform: operating system, CPU architecture and optional variant.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Platform {
    /// Operating system, such as `linux`.
    pub os: String,
    /// CPU architecture, such as `amd64` or `arm64`.
    pub architecture: String,
    /// CPU variant, such as `v8`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub variant: Option<String>,
    /// Operating system version (Windows images).
    #[serde(
        default,
        rename = "os.version",
        skip_serializing_if = "Option::is_none"
    )]
    pub os_version: Option<String>,
    /// Required operating system features (Windows images).
    #[serde(default, rename = "os.features", skip_serializing_if = "Vec::is_empty")]
    pub os_features: Vec<String>,
}

impl Platform {
    /// A platform from its parts, normalised.
    pub fn new(os: &str, architecture: &str, variant: Option<&str>) -> Platform {
        let os = os.to_ascii_lowercase();
        let (architecture, variant) = normalize_arch(&architecture.to_ascii_lowercase(), variant);
        Platform {
            os,
            architecture,
            variant,
            os_version: None,
            os_features: Vec::new(),
        }
    }

    /// The platform this program runs on.
    pub fn host() -> Platform {
        Platform::new(std::env::consts::OS, std::env::consts::ARCH, None)
    }

    /// This platform with aliases resolved (`x86_64` → `amd64`, `aarch64` → `arm64`,
    /// the default `arm64` variant `v8`, …).
    pub fn normalized(&self) -> Platform {
        Platform {
            os_version: self.os_version.clone(),
            os_features: self.os_features.clone(),
            ..Platform::new(&self.os, &self.architecture, self.variant.as_deref())
        }
    }

    /// Whether an image of platform `candidate` satisfies a request for `self`.
    /// A request without a variant accepts any variant.
    pub fn matches(&self, candidate: &Platform) -> bool {
        let want = self.normalized();
        let have = candidate.normalized();
        want.os == have.os
            && want.architecture == have.architecture
            && (want.variant.is_none() || want.variant == have.variant)
    }

    /// The index entry that best matches this platform: an exact variant match
    /// first, then any entry that [`matches`](Self::matches). Entries without a
    /// platform (such as attestations) are never chosen.
    pub fn choose<'a>(&self, entries: &'a [Descriptor]) -> Result<&'a Descriptor> {
        let want = self.normalized();
        let candidates: Vec<&Descriptor> = entries
            .iter()
            .filter(|d| d.platform.as_ref().is_some_and(|p| self.matches(p)))
            .collect();
        candidates
            .iter()
            .find(|d| d.platform.as_ref().map(Platform::normalized).map(|p| p.variant) == Some(want.variant.clone()))
            .or(candidates.first())
            .copied()
            .ok_or_else(|| {
                let available: Vec<String> = entries
                    .iter()
                    .filter_map(|d| d.platform.as_ref().map(ToString::to_string))
                    .collect();
                Error::not_found(format!(
                    "no image for platform {self} in the index (it has: {}); choose one with --platform or copy all",
                    if available.is_empty() { "none".to_owned() } else { available.join(", ") }
                ))
            })
    }
}

fn normalize_arch(arch: &str, variant: Option<&str>) -> (String, Option<String>) {
    let variant = variant
        .filter(|v| !v.is_empty())
        .map(str::to_ascii_lowercase);
    let (arch, variant) = match arch {
        "x86_64" | "x86-64" | "amd64" => ("amd64", variant),
        "i386" | "i686" | "386" => ("386", None),
        "aarch64" | "arm64" => (
            "arm64",
            match variant.as_deref() {
                None | Some("8") | Some("v8") => Some("v8".to_owned()),
                _ => variant,
            },
        ),
        "armhf" => ("arm", Some("v7".to_owned())),
        "armel" => ("arm", Some("v6".to_owned())),
        "arm" => (
            "arm",
            match variant.as_deref() {
                None | Some("7") | Some("v7") => Some("v7".to_owned()),
                Some("5") | Some("6") | Some("8") => variant.map(|v| format!("v{v}")),
                _ => variant,
            },
        ),
        other => return (other.to_owned(), variant),
    };
    (arch.to_owned(), variant)
}

impl FromStr for Platform {
    type Err = Error;

    /// Parses `os/arch[/variant]`.
    fn from_str(s: &str) -> Result<Platform> {
        let parts: Vec<&str> = s.split('/').collect();
        if parts.len() < 2 || parts.len() > 3 || parts.iter().any(|p| p.is_empty()) {
            return Err(Error::invalid(format!(
                "invalid platform {s:?}: expected OS/ARCH or OS/ARCH/VARIANT, such as linux/arm64/v8"
            )));
        }
        Ok(Platform::new(parts[0], parts[1], parts.get(2).copied()))
    }
}

impl fmt::Display for Platform {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.os, self.architecture)?;
        if let Some(v) = &self.variant {
            write!(f, "/{v}")?;
        }
        Ok(())
    }
}

/// Reads an optional platform written as `"os/arch[/variant]"` (for options).
pub fn deserialize_optional<'de, D: serde::Deserializer<'de>>(
    d: D,
) -> std::result::Result<Option<Platform>, D::Error> {
    Option::<String>::deserialize(d)?
        .map(|s| s.parse().map_err(serde::de::Error::custom))
        .transpose()
}

/// Reads a list of platforms written as `"os/arch[/variant]"` (for options).
pub fn deserialize_list<'de, D: serde::Deserializer<'de>>(
    d: D,
) -> std::result::Result<Vec<Platform>, D::Error> {
    Vec::<String>::deserialize(d)?
        .iter()
        .map(|s| s.parse().map_err(serde::de::Error::custom))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_and_normalises_aliases() {
        let p: Platform = "linux/arm64/v8".parse().unwrap();
        assert_eq!(p.to_string(), "linux/arm64/v8");
        assert_eq!("linux/aarch64".parse::<Platform>().unwrap(), p);
        assert_eq!(
            "linux/x86_64".parse::<Platform>().unwrap().to_string(),
            "linux/amd64"
        );
        assert_eq!(
            "linux/armhf".parse::<Platform>().unwrap().to_string(),
            "linux/arm/v7"
        );
        assert_eq!(
            "linux/arm/6".parse::<Platform>().unwrap().to_string(),
            "linux/arm/v6"
        );
        for bad in ["linux", "linux/", "/amd64", "a/b/c/d", ""] {
            assert!(bad.parse::<Platform>().is_err(), "{bad}");
        }
    }

    #[test]
    fn chooses_from_an_index() {
        let entry = |p: &str| Descriptor {
            platform: Some(Platform {
                // as written by registries: arm64 without its default variant
                variant: None,
                ..p.parse().unwrap()
            }),
            ..Descriptor::for_bytes(crate::media_types::OCI_MANIFEST, p.as_bytes())
        };
        let entries = vec![
            entry("linux/amd64"),
            entry("linux/arm64"),
            entry("linux/arm/v7"),
        ];
        let arm64: Platform = "linux/arm64/v8".parse().unwrap();
        assert_eq!(arm64.choose(&entries).unwrap().digest, entries[1].digest);
        let amd64: Platform = "linux/amd64".parse().unwrap();
        assert_eq!(amd64.choose(&entries).unwrap().digest, entries[0].digest);
        let err = "linux/s390x"
            .parse::<Platform>()
            .unwrap()
            .choose(&entries)
            .unwrap_err();
        assert!(err.message().contains("linux/amd64"), "{err}");
    }
}
