//! Where credentials are found: the credentials bound to a registry in the
//! client's options, then the auth files containers-auth.json(5) names, in
//! its order, then docker's; credential helpers.

use std::collections::{BTreeMap, HashMap};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use base64::Engine as _;

use super::{Credentials, Secret};
use crate::error::{Error, ErrorKind, Result};

/// Where credentials are looked up: those bound to a registry, then the auth
/// files.
#[derive(Debug, Clone, Default)]
pub struct CredentialSource {
    /// Credentials bound to one registry each (keyed by the registry as
    /// references name it: `host[:port]`, `docker.io`); they win over every
    /// file, and are never used for another registry.
    pub explicit: BTreeMap<String, Credentials>,
    /// An auth file to read first, instead of the primary one (see
    /// [`default_auth_files`]).
    pub auth_file: Option<PathBuf>,
}

impl CredentialSource {
    /// The credentials for `registry` (a host, with port if any) and
    /// `repository`, with where they came from: the ones bound to `registry`,
    /// else the most specific entry of the first auth file that has one, else
    /// anonymous.
    pub fn lookup(&self, registry: &str, repository: &str) -> Result<Credentials> {
        Ok(self.find(registry, repository)?.0)
    }

    /// Like [`CredentialSource::lookup`], also saying where the credentials
    /// came from (`None` for those bound in the options, or when anonymous).
    pub(crate) fn find(
        &self,
        registry: &str,
        repository: &str,
    ) -> Result<(Credentials, Option<PathBuf>)> {
        if let Some(explicit) = self.explicit.get(registry) {
            return Ok((explicit.clone(), None));
        }
        for path in self.files() {
            let text = match std::fs::read(&path) {
                Ok(text) => text,
                Err(e)
                    if matches!(
                        e.kind(),
                        std::io::ErrorKind::NotFound | std::io::ErrorKind::NotADirectory
                    ) =>
                {
                    continue
                }
                Err(e) => return Err(Error::io(format!("reading {}", path.display()), e)),
            };
            let file: AuthFile = serde_json::from_slice(&text).map_err(|e| {
                Error::invalid(format!("{} is not a valid auth file: {e}", path.display()))
            })?;
            if let Some(creds) = file.lookup(registry, repository, &path)? {
                return Ok((creds, Some(path)));
            }
        }
        Ok((Credentials::Anonymous, None))
    }

    /// The auth files read, in order.
    pub fn files(&self) -> Vec<PathBuf> {
        default_auth_files(self.auth_file.as_deref())
    }
}

/// A non-empty environment variable, as a path.
fn env_path(name: &str) -> Option<PathBuf> {
    std::env::var_os(name)
        .filter(|v| !v.is_empty())
        .map(PathBuf::from)
}

/// The primary (read/write) auth file of containers-auth.json(5): `auth_file`
/// if given, else `$REGISTRY_AUTH_FILE`, else
/// `$XDG_RUNTIME_DIR/containers/auth.json`, else
/// `/run/containers/$UID/auth.json`. `login` and `logout` write it.
pub fn primary_auth_file(auth_file: Option<&Path>) -> PathBuf {
    if let Some(file) = auth_file {
        return file.to_owned();
    }
    if let Some(file) = env_path("REGISTRY_AUTH_FILE") {
        return file;
    }
    if let Some(dir) = env_path("XDG_RUNTIME_DIR") {
        return dir.join("containers/auth.json");
    }
    PathBuf::from(format!("/run/containers/{}/auth.json", current_uid()))
}

/// The user id of this process (the owner of `/proc/self`; the crate holds
/// no `unsafe` to call `getuid`).
fn current_uid() -> u32 {
    use std::os::unix::fs::MetadataExt;
    std::fs::metadata("/proc/self").map_or(0, |m| m.uid())
}

/// The auth files credentials are looked up in, in containers-auth.json(5)'s
/// order: the primary file ([`primary_auth_file`], `auth_file` overriding
/// it), `$XDG_CONFIG_HOME/containers/auth.json` (default
/// `~/.config/containers/auth.json`), then docker's
/// `$DOCKER_CONFIG/config.json` (default `~/.docker/config.json`).
pub fn default_auth_files(auth_file: Option<&Path>) -> Vec<PathBuf> {
    let mut files = vec![primary_auth_file(auth_file)];
    let home = env_path("HOME");
    if let Some(config) =
        env_path("XDG_CONFIG_HOME").or_else(|| home.as_ref().map(|h| h.join(".config")))
    {
        files.push(config.join("containers/auth.json"));
    }
    if let Some(docker) =
        env_path("DOCKER_CONFIG").or_else(|| home.as_ref().map(|h| h.join(".docker")))
    {
        files.push(docker.join("config.json"));
    }
    files.dedup();
    files
}

#[derive(serde::Deserialize, Default)]
#[serde(rename_all = "camelCase")]
struct AuthFile {
    #[serde(default)]
    auths: HashMap<String, AuthEntry>,
    #[serde(default)]
    cred_helpers: HashMap<String, String>,
    #[serde(default)]
    creds_store: Option<String>,
}

#[derive(serde::Deserialize, Default)]
struct AuthEntry {
    #[serde(default)]
    auth: Option<Secret>,
    #[serde(default)]
    identitytoken: Option<Secret>,
}

/// The keys an auth file may use for `registry`/`repository`, most specific
/// first (`host/ns/repo`, `host/ns`, `host`), plus Docker Hub's legacy key.
fn candidate_keys(registry: &str, repository: &str) -> Vec<String> {
    let mut keys = Vec::new();
    let mut path = format!("{registry}/{repository}");
    loop {
        keys.push(path.clone());
        match path.rfind('/') {
            Some(i) => path.truncate(i),
            None => break,
        }
    }
    if registry == crate::reference::DEFAULT_DOMAIN {
        keys.push("index.docker.io".into());
        keys.push("registry-1.docker.io".into());
    }
    keys
}

/// An auth file key without scheme or `/v1/`-style suffix.
fn normalize_key(key: &str) -> &str {
    let key = key
        .strip_prefix("https://")
        .or_else(|| key.strip_prefix("http://"))
        .unwrap_or(key);
    let key = key.trim_end_matches('/');
    key.strip_suffix("/v1")
        .or_else(|| key.strip_suffix("/v2"))
        .unwrap_or(key)
}

impl AuthFile {
    fn lookup(&self, registry: &str, repository: &str, path: &Path) -> Result<Option<Credentials>> {
        for key in candidate_keys(registry, repository) {
            if let Some(helper) = self.cred_helpers.get(&key) {
                return run_helper(helper, &key);
            }
            let entry = self.auths.iter().find(|(k, _)| normalize_key(k) == key);
            if let Some((_, entry)) = entry {
                return decode_entry(entry, path).map(Some);
            }
        }
        match &self.creds_store {
            Some(store) => run_helper(store, registry),
            None => Ok(None),
        }
    }
}

fn decode_entry(entry: &AuthEntry, path: &Path) -> Result<Credentials> {
    if let Some(token) = entry
        .identitytoken
        .as_ref()
        .filter(|t| !t.expose().is_empty())
    {
        return Ok(Credentials::IdentityToken(token.clone()));
    }
    let Some(auth) = &entry.auth else {
        return Ok(Credentials::Anonymous);
    };
    let bad = || {
        Error::invalid(format!(
            "an \"auth\" entry in {} is not base64 of USER:PASSWORD",
            path.display()
        ))
    };
    let decoded = base64::engine::general_purpose::STANDARD
        .decode(auth.expose().trim())
        .map_err(|_| bad())?;
    let text = String::from_utf8(decoded).map_err(|_| bad())?;
    Credentials::from_user_pass(&text).map_err(|_| bad())
}

/// Asks `docker-credential-<helper> get` for the credentials of `server`.
fn run_helper(helper: &str, server: &str) -> Result<Option<Credentials>> {
    let program = format!("docker-credential-{helper}");
    let mut child = Command::new(&program)
        .arg("get")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|e| Error::io(format!("running the credential helper {program}"), e))?;
    if let Some(mut stdin) = child.stdin.take() {
        stdin
            .write_all(server.as_bytes())
            .map_err(|e| Error::io(format!("writing to {program}"), e))?;
    }
    let out = child
        .wait_with_output()
        .map_err(|e| Error::io(format!("running {program}"), e))?;
    if !out.status.success() {
        let said = String::from_utf8_lossy(&out.stdout);
        if said.contains("credentials not found") {
            return Ok(None);
        }
        return Err(Error::new(
            ErrorKind::Unauthorized,
            format!("the credential helper {program} failed for {server}"),
        ));
    }
    #[derive(serde::Deserialize)]
    struct Reply {
        #[serde(rename = "Username")]
        username: String,
        #[serde(rename = "Secret")]
        secret: Secret,
    }
    let reply: Reply = serde_json::from_slice(&out.stdout).map_err(|_| {
        Error::invalid(format!(
            "the credential helper {program} gave a reply that is not its JSON"
        ))
    })?;
    Ok(Some(if reply.username == "<token>" {
        Credentials::IdentityToken(reply.secret)
    } else {
        Credentials::Basic {
            username: reply.username,
            password: reply.secret,
        }
    }))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::ErrorKind;
    #[test]
    fn auth_files_are_searched_most_specific_first() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("auth.json");
        let b64 = |s: &str| base64::engine::general_purpose::STANDARD.encode(s);
        std::fs::write(
            &file,
            serde_json::json!({"auths": {
                "https://index.docker.io/v1/": {"auth": b64("hub:hubpw")},
                "reg.example:5000": {"auth": b64("host:hostpw")},
                "reg.example:5000/team": {"auth": b64("team:teampw")},
                "tokens.example": {"identitytoken": "refresh-me"},
                "broken.example": {"auth": "!!!"}
            }})
            .to_string(),
        )
        .unwrap();
        let source = CredentialSource {
            explicit: BTreeMap::new(),
            auth_file: Some(file),
        };
        let user = |c: Credentials| match c {
            Credentials::Basic { username, .. } => username,
            other => format!("{other:?}"),
        };
        assert_eq!(
            user(source.lookup("docker.io", "library/busybox").unwrap()),
            "hub"
        );
        assert_eq!(
            user(source.lookup("reg.example:5000", "team/app").unwrap()),
            "team"
        );
        assert_eq!(
            user(source.lookup("reg.example:5000", "other/app").unwrap()),
            "host"
        );
        assert!(matches!(
            source.lookup("tokens.example", "x").unwrap(),
            Credentials::IdentityToken(_)
        ));
        assert_eq!(
            source.lookup("none.example", "x").unwrap(),
            Credentials::Anonymous
        );
        let err = source.lookup("broken.example", "x").unwrap_err();
        assert_eq!(err.kind(), ErrorKind::InvalidInput);
        assert!(!err.message().contains("!!!"));
    }
}
