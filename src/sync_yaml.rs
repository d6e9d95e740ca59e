//! skopeo sync's YAML source (skopeo-sync(1), `--src yaml`): per registry,
//! `images` (repository to tags; none listed means every tag),
//! `images-by-tag-regex`, `images-by-semver`, `credentials`, `tls-verify`
//! and `cert-dir`, turned into the [`SyncJob`]s of [`crate::sync()`].

use std::collections::BTreeMap;
use std::path::PathBuf;

use serde::Deserialize;

use crate::auth::Credentials;
use crate::error::{Error, Result};
use crate::registry::ClientOptions;
use crate::sync::SyncJob;

/// One registry's entry of the file.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "kebab-case", deny_unknown_fields)]
pub struct RegistrySource {
    /// Repository to tags (or digests); an empty list means every tag.
    #[serde(default)]
    pub images: BTreeMap<String, Vec<String>>,
    /// Repository to a regular expression its tags must match (whole).
    #[serde(default)]
    pub images_by_tag_regex: BTreeMap<String, String>,
    /// Repository to a semver range its tags must satisfy (`>= 1.2, < 2`);
    /// tags that are not versions (a leading `v` is allowed) are left out.
    #[serde(default)]
    pub images_by_semver: BTreeMap<String, String>,
    /// Credentials for this registry.
    pub credentials: Option<UserPass>,
    /// Verify TLS (false: also allow plain HTTP). Defaults to true.
    pub tls_verify: Option<bool>,
    /// Extra CA certificates for this registry.
    pub cert_dir: Option<PathBuf>,
}

/// `credentials: {username, password}`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct UserPass {
    /// The user name.
    pub username: String,
    /// The password.
    pub password: String,
}

/// A parsed sync YAML file: registry (`host[:port]`) to what to copy from it.
#[derive(Debug, Clone, Default)]
pub struct SyncYaml {
    /// The registries, in name order.
    pub registries: BTreeMap<String, RegistrySource>,
}

impl SyncYaml {
    /// Parses the file's text.
    pub fn parse(text: &str) -> Result<SyncYaml> {
        let registries: BTreeMap<String, RegistrySource> = serde_norway::from_str(text)
            .map_err(|e| Error::invalid(format!("not a skopeo sync YAML file: {e}")))?;
        Ok(SyncYaml { registries })
    }

    /// `base` with each registry's credentials, `tls-verify: false` and
    /// `cert-dir` added (one cert-dir for all: the last one named wins).
    pub fn client_options(&self, base: &ClientOptions) -> Result<ClientOptions> {
        let mut options = base.clone();
        for (host, source) in &self.registries {
            if let Some(c) = &source.credentials {
                let creds = Credentials::from_user_pass(&format!("{}:{}", c.username, c.password))?;
                options.credentials.insert(host.clone(), creds);
            }
            if source.tls_verify == Some(false) {
                options.insecure.push(host.clone());
            }
            if let Some(dir) = &source.cert_dir {
                options.cert_dir = Some(dir.clone());
            }
        }
        Ok(options)
    }

    /// The copies the file asks for, to the registry namespace `dest`
    /// (`host[:port][/namespace]`): each image goes to `dest/LAST:TAG`,
    /// LAST the repository's last component, or with `scoped` to
    /// `dest/HOST/REPO:TAG` (skopeo's `--scoped`). `list_tags` lists a
    /// source repository (`host/repo`) for the tag-less, regex and semver
    /// entries.
    pub fn jobs(
        &self,
        dest: &str,
        scoped: bool,
        list_tags: impl Fn(&str) -> Result<Vec<String>>,
    ) -> Result<Vec<SyncJob>> {
        let dest = dest.trim_start_matches("docker://").trim_end_matches('/');
        let mut jobs = Vec::new();
        for (host, source) in &self.registries {
            let mut push = |repo: &str, reference: &str| {
                let sep = if reference.contains(':') { "@" } else { ":" };
                let last = repo.rsplit('/').next().unwrap_or(repo);
                let target = if scoped {
                    format!("{host}/{repo}")
                } else {
                    last.to_owned()
                };
                jobs.push(SyncJob {
                    src: format!("docker://{host}/{repo}{sep}{reference}"),
                    dst: format!("docker://{dest}/{target}{sep}{reference}"),
                });
            };
            for (repo, tags) in &source.images {
                let tags = if tags.is_empty() {
                    list_tags(&format!("{host}/{repo}"))?
                } else {
                    tags.clone()
                };
                tags.iter().for_each(|t| push(repo, t));
            }
            for (repo, pattern) in &source.images_by_tag_regex {
                let re = regex::Regex::new(&format!("^(?:{pattern})$"))
                    .map_err(|e| Error::invalid(format!("images-by-tag-regex for {repo}: {e}")))?;
                for tag in list_tags(&format!("{host}/{repo}"))? {
                    if re.is_match(&tag) {
                        push(repo, &tag);
                    }
                }
            }
            for (repo, range) in &source.images_by_semver {
                let req = semver::VersionReq::parse(range).map_err(|e| {
                    Error::invalid(format!("images-by-semver for {repo}: {range:?}: {e}"))
                })?;
                for tag in list_tags(&format!("{host}/{repo}"))? {
                    let version = semver::Version::parse(tag.strip_prefix('v').unwrap_or(&tag));
                    if version.is_ok_and(|v| req.matches(&v)) {
                        push(repo, &tag);
                    }
                }
            }
        }
        Ok(jobs)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn skopeo_yaml_becomes_jobs() {
        let yaml = "
registry.example:5000:
  tls-verify: false
  credentials: {username: u, password: p}
  images:
    team/app: ['1.0', 'sha256:0000000000000000000000000000000000000000000000000000000000000000']
    all/tags: []
  images-by-tag-regex:
    team/re: '1\\.[0-9]+'
  images-by-semver:
    team/sem: '>= 1.2.0, < 2.0.0'
";
        let file = SyncYaml::parse(yaml).unwrap();
        let tags = |_: &str| {
            Ok(vec![
                "1.0".into(),
                "1.10".into(),
                "v1.3.0".into(),
                "2.0.0".into(),
                "latest".into(),
            ])
        };
        let jobs = file.jobs("docker://mirror:5000/m", false, tags).unwrap();
        let pairs: Vec<(&str, &str)> = jobs
            .iter()
            .map(|j| (j.src.as_str(), j.dst.as_str()))
            .collect();
        assert!(pairs.contains(&(
            "docker://registry.example:5000/team/app:1.0",
            "docker://mirror:5000/m/app:1.0"
        )));
        assert!(pairs.iter().any(|(s, d)| s.contains("team/app@sha256:") && d.ends_with("/m/app@sha256:0000000000000000000000000000000000000000000000000000000000000000")));
        assert_eq!(
            pairs.iter().filter(|(s, _)| s.contains("all/tags")).count(),
            5
        );
        let re: Vec<_> = pairs
            .iter()
            .filter(|(s, _)| s.contains("team/re"))
            .map(|(s, _)| *s)
            .collect();
        assert_eq!(
            re,
            [
                "docker://registry.example:5000/team/re:1.0",
                "docker://registry.example:5000/team/re:1.10"
            ]
        );
        let sem: Vec<_> = pairs
            .iter()
            .filter(|(s, _)| s.contains("team/sem"))
            .map(|(s, _)| *s)
            .collect();
        assert_eq!(sem, ["docker://registry.example:5000/team/sem:v1.3.0"]);
        let scoped = file.jobs("mirror:5000", true, tags).unwrap();
        assert_eq!(
            scoped[5].dst,
            "docker://mirror:5000/registry.example:5000/team/app:1.0"
        );
        let options = file.client_options(&ClientOptions::default()).unwrap();
        assert_eq!(options.insecure, ["registry.example:5000"]);
        assert!(options.credentials.contains_key("registry.example:5000"));
        assert!(SyncYaml::parse("r: {imagez: {}}").is_err());
    }
}
