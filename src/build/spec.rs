//! The declarative build spec (JSON) and the config changes it, `mutate`
//! and `append` share.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};
use serde_json::{json, Map, Value};

use crate::error::{Error, Result};
use crate::image::layer::{self, Compression, FileMapping};
use crate::image::{Image, Layer};

/// A build spec: a base, layers on top, config changes, annotations and
/// extra history entries. Unknown fields are an error. Relative paths are
/// taken from the spec file's directory. The format is documented in the
/// README ("Building images").
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BuildSpec {
    /// The base image as a transport string (`oci:/base:1`,
    /// `docker://…`), or `scratch`. Defaults to `scratch`.
    #[serde(default)]
    pub base: Option<String>,
    /// The platform (`os/arch[/variant]`): of a scratch image, or chosen
    /// from a base that is an index. Defaults to `linux/amd64` for
    /// scratch, the host's for an index.
    #[serde(default)]
    pub platform: Option<String>,
    /// The layers added, bottom first.
    #[serde(default)]
    pub layers: Vec<LayerSpec>,
    /// Config changes.
    #[serde(default)]
    pub config: ConfigChanges,
    /// Manifest annotations set.
    #[serde(default)]
    pub annotations: BTreeMap<String, String>,
    /// History entries that make no layer, appended after the layers'
    /// (each an object such as `{"created_by": "ENV A=1"}`).
    #[serde(default)]
    pub history: Vec<Value>,
}

/// One layer of a spec: exactly one of `tar`, `dir`, `files`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LayerSpec {
    /// A tar file (plain, gzip or zstd), kept byte for byte.
    #[serde(default)]
    pub tar: Option<PathBuf>,
    /// A directory, made into a reproducible layer.
    #[serde(default)]
    pub dir: Option<PathBuf>,
    /// File mappings `SRC:DEST[:MODE]`, made into a reproducible layer.
    #[serde(default)]
    pub files: Vec<String>,
    /// `gzip` (the default), `zstd` or `none`, for `dir` and `files`.
    #[serde(default)]
    pub compression: Option<String>,
    /// The compression level (gzip 0-9, default 6; zstd 1-22, default 3).
    #[serde(default)]
    pub level: Option<i32>,
    /// The history entry's `created_by`. Defaults to a description without
    /// paths (so that the same content built elsewhere is the same image).
    #[serde(default)]
    pub created_by: Option<String>,
    /// The history entry's `comment`.
    #[serde(default)]
    pub comment: Option<String>,
}

/// Changes to an image's config; fields left `None` (or empty) are kept.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ConfigChanges {
    /// Variables set, `KEY=value` each (a key already set is replaced).
    #[serde(default)]
    pub env: Vec<String>,
    /// The entrypoint, replaced.
    #[serde(default)]
    pub entrypoint: Option<Vec<String>>,
    /// The default arguments, replaced.
    #[serde(default)]
    pub cmd: Option<Vec<String>>,
    /// The working directory.
    #[serde(default)]
    pub working_dir: Option<String>,
    /// The user (`name`, `uid[:gid]`).
    #[serde(default)]
    pub user: Option<String>,
    /// Labels set.
    #[serde(default)]
    pub labels: BTreeMap<String, String>,
    /// Ports exposed, such as `8080/tcp` (`/tcp` is added when absent).
    #[serde(default)]
    pub exposed_ports: Vec<String>,
    /// Volumes, such as `/data`.
    #[serde(default)]
    pub volumes: Vec<String>,
    /// The stop signal, such as `SIGTERM`.
    #[serde(default)]
    pub stop_signal: Option<String>,
    /// The operating system.
    #[serde(default)]
    pub os: Option<String>,
    /// The CPU architecture.
    #[serde(default)]
    pub architecture: Option<String>,
    /// The CPU variant.
    #[serde(default)]
    pub variant: Option<String>,
    /// The creation time (RFC 3339). A build defaults it to
    /// `SOURCE_DATE_EPOCH` (or 1970-01-01T00:00:00Z).
    #[serde(default)]
    pub created: Option<String>,
    /// The author.
    #[serde(default)]
    pub author: Option<String>,
}

impl ConfigChanges {
    /// Whether nothing would change.
    pub fn is_empty(&self) -> bool {
        *self == ConfigChanges::default()
    }

    /// Applies the changes to `image`'s config.
    /// [`ErrorKind::InvalidInput`](crate::ErrorKind::InvalidInput) for an
    /// `env` entry without `=`, a `created` that is not an RFC 3339 timestamp
    /// ([`check_created`]) or a malformed exposed port ([`check_exposed_port`]).
    pub fn apply(&self, image: &mut Image) -> Result<()> {
        if self.is_empty() {
            return Ok(());
        }
        if let Some(created) = &self.created {
            check_created(created)?;
        }
        for port in &self.exposed_ports {
            check_exposed_port(port)?;
        }
        for e in &self.env {
            if !e.contains('=') || e.starts_with('=') {
                return Err(Error::invalid(format!(
                    "environment entry {e:?} is not KEY=value"
                )));
            }
        }
        let config = image.config_mut();
        macro_rules! set {
            ($field:ident) => {
                if let Some(v) = &self.$field {
                    config.$field = v.clone();
                }
            };
        }
        set!(os);
        set!(architecture);
        if self.variant.is_some() {
            config.variant = self.variant.clone();
        }
        if self.created.is_some() {
            config.created = self.created.clone();
        }
        if self.author.is_some() {
            config.author = self.author.clone();
        }
        let runtime = image.runtime_mut();
        if !self.env.is_empty() {
            let env = runtime.env.get_or_insert_with(Vec::new);
            for e in &self.env {
                let key = &e[..=e.find('=').unwrap_or(0)];
                match env.iter_mut().find(|old| old.starts_with(key)) {
                    Some(old) => *old = e.clone(),
                    None => env.push(e.clone()),
                }
            }
        }
        if self.entrypoint.is_some() {
            runtime.entrypoint = self.entrypoint.clone();
        }
        if self.cmd.is_some() {
            runtime.cmd = self.cmd.clone();
        }
        if self.working_dir.is_some() {
            runtime.working_dir = self.working_dir.clone();
        }
        if self.user.is_some() {
            runtime.user = self.user.clone();
        }
        if !self.labels.is_empty() {
            let labels = runtime.labels.get_or_insert_with(BTreeMap::new);
            labels.extend(self.labels.clone());
        }
        let mut add_set = |field: &str, keys: Vec<String>| {
            if keys.is_empty() {
                return;
            }
            let set = runtime
                .extra
                .entry(field)
                .or_insert_with(|| Value::Object(Map::new()));
            if !set.is_object() {
                *set = Value::Object(Map::new());
            }
            if let Value::Object(map) = set {
                for k in keys {
                    map.entry(k).or_insert_with(|| json!({}));
                }
            }
        };
        let ports = self
            .exposed_ports
            .iter()
            .map(|p| {
                if p.contains('/') {
                    p.clone()
                } else {
                    format!("{p}/tcp")
                }
            })
            .collect();
        add_set("ExposedPorts", ports);
        add_set("Volumes", self.volumes.clone());
        if let Some(signal) = &self.stop_signal {
            runtime
                .extra
                .insert("StopSignal".to_owned(), Value::String(signal.clone()));
        }
        Ok(())
    }
}

/// Checks that `created` is an RFC 3339 timestamp, as the image config's
/// `created` field requires (image-spec config.md), such as
/// `2024-01-01T00:00:00Z` or `2024-01-01T02:00:00+02:00`. Errors:
/// [`ErrorKind::InvalidInput`](crate::ErrorKind::InvalidInput) naming the value
/// and the expected form.
pub fn check_created(created: &str) -> Result<()> {
    created.parse::<jiff::Timestamp>().map(|_| ()).map_err(|e| {
        Error::invalid(format!(
            "created {created:?} is not an RFC 3339 timestamp (such as \
             2024-01-01T00:00:00Z): {e}"
        ))
    })
}

/// Checks that `port` is an exposed port as the image config's `ExposedPorts`
/// keys name one (image-spec config.md): `PORT[/tcp|/udp|/sctp]`, PORT from 1
/// to 65535. Errors: [`ErrorKind::InvalidInput`](crate::ErrorKind::InvalidInput)
/// naming the value and the expected form.
pub fn check_exposed_port(port: &str) -> Result<()> {
    let (number, protocol) = port.split_once('/').unwrap_or((port, "tcp"));
    let number_ok = !number.is_empty()
        && number.bytes().all(|b| b.is_ascii_digit())
        && matches!(number.parse::<u32>(), Ok(1..=65535));
    if number_ok && matches!(protocol, "tcp" | "udp" | "sctp") {
        return Ok(());
    }
    Err(Error::invalid(format!(
        "exposed port {port:?} is not PORT[/tcp|udp|sctp] with PORT from 1 to 65535"
    )))
}

/// `seconds` since 1970 as an RFC 3339 UTC time, such as
/// `1970-01-01T00:00:00Z`.
pub fn rfc3339(seconds: u64) -> String {
    let days = (seconds / 86_400) as i64;
    let secs = seconds % 86_400;
    // Howard Hinnant's civil_from_days.
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    format!(
        "{year:04}-{month:02}-{day:02}T{:02}:{:02}:{:02}Z",
        secs / 3600,
        secs % 3600 / 60,
        secs % 60
    )
}

impl BuildSpec {
    /// Parses a spec; errors name the line and column, or the field.
    pub fn from_json(text: &str, name: &str) -> Result<BuildSpec> {
        serde_json::from_str(text).map_err(|e| Error::invalid(format!("build spec {name}: {e}")))
    }

    /// Reads and parses the spec file at `path`.
    pub fn from_file(path: &Path) -> Result<BuildSpec> {
        let text = std::fs::read_to_string(path)
            .map_err(|e| Error::io(format!("reading build spec {}", path.display()), e))?;
        BuildSpec::from_json(&text, &path.display().to_string())
    }
}

impl LayerSpec {
    /// Makes the layer, paths relative to `dir`, and its history entry
    /// (`created` set to `created`).
    pub fn make(&self, dir: &Path, position: usize, created: &str) -> Result<(Layer, Value)> {
        let field = |what: &str| format!("layers[{position}]: {what}");
        let sources = [
            self.tar.is_some(),
            self.dir.is_some(),
            !self.files.is_empty(),
        ];
        if sources.iter().filter(|s| **s).count() != 1 {
            return Err(Error::invalid(field(
                "give exactly one of \"tar\", \"dir\" or \"files\"",
            )));
        }
        let compression = match &self.compression {
            Some(name) => {
                Compression::parse(name, self.level).map_err(|e| e.context(field("compression")))?
            }
            None => {
                Compression::parse("gzip", self.level).map_err(|e| e.context(field("level")))?
            }
        };
        let (made, default_by) = if let Some(tar) = &self.tar {
            if self.compression.is_some() || self.level.is_some() {
                return Err(Error::invalid(field(
                    "a tar layer is kept as it is: \"compression\" and \"level\" do not apply",
                )));
            }
            (
                layer::from_tar(&dir.join(tar)),
                "stevedore: layer from a tar file",
            )
        } else if let Some(d) = &self.dir {
            (
                layer::from_dir(&dir.join(d), compression),
                "stevedore: layer from a directory",
            )
        } else {
            let mappings = self
                .files
                .iter()
                .map(|m| {
                    let mut m: FileMapping = m.parse()?;
                    m.src = dir.join(m.src);
                    Ok(m)
                })
                .collect::<Result<Vec<_>>>()
                .map_err(|e: Error| e.context(field("files")))?;
            (
                layer::from_files(&mappings, compression),
                "stevedore: layer from files",
            )
        };
        let made = made.map_err(|e| e.context(format!("layers[{position}]")))?;
        let mut history = Map::new();
        history.insert("created".to_owned(), Value::String(created.to_owned()));
        history.insert(
            "created_by".to_owned(),
            Value::String(
                self.created_by
                    .clone()
                    .unwrap_or_else(|| default_by.to_owned()),
            ),
        );
        if let Some(c) = &self.comment {
            history.insert("comment".to_owned(), Value::String(c.clone()));
        }
        Ok((made, Value::Object(history)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rfc3339_of_known_times() {
        assert_eq!(rfc3339(0), "1970-01-01T00:00:00Z");
        assert_eq!(rfc3339(1_700_000_000), "2023-11-14T22:13:20Z");
        assert_eq!(rfc3339(951_782_400), "2000-02-29T00:00:00Z");
    }

    #[test]
    fn a_misspelt_field_is_named() {
        let err =
            BuildSpec::from_json("{\n  \"layers\": [],\n  \"confg\": {}\n}", "s.json").unwrap_err();
        assert_eq!(err.kind(), crate::ErrorKind::InvalidInput);
        assert!(err.message().contains("confg"), "{err}");
        assert!(err.message().contains("line 3"), "{err}");
    }
}
