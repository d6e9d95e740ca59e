//! Registry credentials: where they come from (explicit, docker `config.json`,
//! containers `auth.json`, credential helpers), the `WWW-Authenticate`
//! challenge, and a thread-safe cache of bearer tokens. Secrets never appear in
//! `Debug` output, errors or JSON.

use std::collections::{BTreeMap, HashMap};
use std::fmt;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use base64::Engine as _;

use crate::error::{Error, ErrorKind, Result};

/// A secret string (password or token) whose `Debug` shows nothing of it.
#[derive(Clone, PartialEq, Eq, Default, serde::Deserialize)]
#[serde(transparent)]
pub struct Secret(String);

impl Secret {
    /// Wraps `value`.
    pub fn new(value: impl Into<String>) -> Secret {
        Secret(value.into())
    }

    /// The secret itself, for the one place that must send it.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Secret(<redacted>)")
    }
}

/// How to authenticate to a registry.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub enum Credentials {
    /// No credentials.
    #[default]
    Anonymous,
    /// A user name and password (or personal access token).
    Basic {
        /// The user name.
        username: String,
        /// The password.
        password: Secret,
    },
    /// An OAuth2 refresh token (`identitytoken` in docker's config.json).
    IdentityToken(Secret),
}

impl Credentials {
    /// Parses `USER:PASSWORD`, as given to `--creds`.
    pub fn from_user_pass(s: &str) -> Result<Credentials> {
        match s.split_once(':') {
            Some((user, pass)) if !user.is_empty() => Ok(Credentials::Basic {
                username: user.to_owned(),
                password: Secret::new(pass),
            }),
            _ => Err(Error::invalid(
                "credentials must be written USER:PASSWORD, with a non-empty user",
            )),
        }
    }

    /// The `Authorization` header value for basic authentication, if these
    /// credentials can give one.
    pub(crate) fn basic_header(&self) -> Option<String> {
        match self {
            Credentials::Basic { username, password } => Some(format!(
                "Basic {}",
                base64::engine::general_purpose::STANDARD
                    .encode(format!("{username}:{}", password.expose()))
            )),
            _ => None,
        }
    }
}

/// One challenge of a `WWW-Authenticate` header: a scheme and its parameters
/// (parameter names lowercased).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Challenge {
    /// The scheme, lowercased (`bearer`, `basic`).
    pub scheme: String,
    /// The parameters (`realm`, `service`, `scope`, …).
    pub params: BTreeMap<String, String>,
}

/// Parses a `WWW-Authenticate` header: one or more challenges, each a scheme
/// followed by `name=value` or `name="quoted, value"` parameters.
pub fn parse_challenges(header: &str) -> Vec<Challenge> {
    let mut challenges: Vec<Challenge> = Vec::new();
    let mut rest = header.trim();
    while !rest.is_empty() {
        rest = rest.trim_start_matches([',', ' ', '\t']);
        let token_end = rest
            .find(|c: char| c == '=' || c == ',' || c.is_whitespace())
            .unwrap_or(rest.len());
        let (token, after) = rest.split_at(token_end);
        if token.is_empty() {
            break;
        }
        let after_ws = after.trim_start();
        if let (Some(value_part), Some(current)) =
            (after_ws.strip_prefix('='), challenges.last_mut())
        {
            let (value, remaining) = parse_value(value_part.trim_start());
            current.params.insert(token.to_ascii_lowercase(), value);
            rest = remaining;
        } else {
            challenges.push(Challenge {
                scheme: token.to_ascii_lowercase(),
                params: BTreeMap::new(),
            });
            rest = after;
        }
    }
    challenges
}

/// Reads a parameter value (quoted with escapes, or a bare token) and returns
/// it with the rest of the header.
fn parse_value(s: &str) -> (String, &str) {
    if let Some(quoted) = s.strip_prefix('"') {
        let mut value = String::new();
        let mut chars = quoted.char_indices();
        while let Some((i, c)) = chars.next() {
            match c {
                '\\' => {
                    if let Some((_, escaped)) = chars.next() {
                        value.push(escaped);
                    }
                }
                '"' => return (value, &quoted[i + 1..]),
                c => value.push(c),
            }
        }
        (value, "")
    } else {
        let end = s.find(',').unwrap_or(s.len());
        (s[..end].trim().to_owned(), &s[end..])
    }
}

/// Where credentials are looked up: the auth files and the explicit override.
#[derive(Debug, Clone, Default)]
pub struct CredentialSource {
    /// Credentials that override every file.
    pub explicit: Option<Credentials>,
    /// An auth file to read instead of the default ones.
    pub auth_file: Option<PathBuf>,
}

impl CredentialSource {
    /// The credentials for `registry` (a host, with port if any) and
    /// `repository`: the explicit ones, else the most specific entry of the
    /// first auth file that has one, else anonymous.
    pub fn lookup(&self, registry: &str, repository: &str) -> Result<Credentials> {
        if let Some(explicit) = &self.explicit {
            return Ok(explicit.clone());
        }
        for path in self.files() {
            let text = match std::fs::read(&path) {
                Ok(text) => text,
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => continue,
                Err(e) => return Err(Error::io(format!("reading {}", path.display()), e)),
            };
            let file: AuthFile = serde_json::from_slice(&text).map_err(|e| {
                Error::invalid(format!("{} is not a valid auth file: {e}", path.display()))
            })?;
            if let Some(creds) = file.lookup(registry, repository, &path)? {
                return Ok(creds);
            }
        }
        Ok(Credentials::Anonymous)
    }

    /// The auth files in the order containers and docker tools read them.
    fn files(&self) -> Vec<PathBuf> {
        if let Some(file) = &self.auth_file {
            return vec![file.clone()];
        }
        let env = |k: &str| {
            std::env::var_os(k)
                .filter(|v| !v.is_empty())
                .map(PathBuf::from)
        };
        let mut files = Vec::new();
        if let Some(f) = env("REGISTRY_AUTH_FILE") {
            files.push(f);
        }
        if let Some(dir) = env("XDG_RUNTIME_DIR") {
            files.push(dir.join("containers/auth.json"));
        }
        if let Some(dir) = env("DOCKER_CONFIG") {
            files.push(dir.join("config.json"));
        }
        if let Some(home) = env("HOME") {
            files.push(home.join(".docker/config.json"));
        }
        files
    }
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

/// What a token is asked for: actions on one resource, written
/// `repository:team/app:pull,push`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Scope {
    /// The resource, such as `repository:team/app` or `registry:catalog`.
    pub resource: String,
    /// The actions, such as `pull` and `push`.
    pub actions: Vec<&'static str>,
}

impl Scope {
    /// Actions on a repository.
    pub fn repository(name: &str, actions: &[&'static str]) -> Scope {
        Scope {
            resource: format!("repository:{name}"),
            actions: actions.to_vec(),
        }
    }

    /// The repository name, for a repository scope.
    pub fn repository_name(&self) -> Option<&str> {
        self.resource.strip_prefix("repository:")
    }
}

impl fmt::Display for Scope {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}", self.resource, self.actions.join(","))
    }
}

/// A bearer token and what it allows.
#[derive(Clone)]
struct Token {
    value: Secret,
    actions: Vec<&'static str>,
    expires: Instant,
}

/// Bearer tokens shared by every request and thread of a client, kept per
/// registry and resource; a token granting more actions serves requests for
/// fewer.
#[derive(Default)]
pub struct TokenCache {
    tokens: Mutex<HashMap<(String, String), Token>>,
}

impl fmt::Debug for TokenCache {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("TokenCache(<redacted>)")
    }
}

impl TokenCache {
    /// An unexpired token for `registry` granting every scope of `scopes`.
    pub fn get(&self, registry: &str, scopes: &[Scope]) -> Option<Secret> {
        let tokens = self.tokens.lock().unwrap_or_else(|p| p.into_inner());
        let now = Instant::now();
        let mut found: Option<&Token> = None;
        for scope in scopes {
            let token = tokens.get(&(registry.to_owned(), scope.resource.clone()))?;
            let covers = scope.actions.iter().all(|a| token.actions.contains(a));
            let same = found.is_none_or(|f| f.value == token.value);
            if !covers || !same || token.expires <= now {
                return None;
            }
            found = Some(token);
        }
        found.map(|t| t.value.clone())
    }

    /// Stores a token granting `scopes` on `registry`, valid for `lifetime`.
    pub fn put(&self, registry: &str, scopes: &[Scope], value: Secret, lifetime: Duration) {
        // Renew a little early so that a token does not expire in flight.
        let expires = Instant::now() + lifetime - Duration::from_secs(5).min(lifetime / 2);
        let mut tokens = self.tokens.lock().unwrap_or_else(|p| p.into_inner());
        for scope in scopes {
            let token = Token {
                value: value.clone(),
                actions: scope.actions.clone(),
                expires,
            };
            tokens.insert((registry.to_owned(), scope.resource.clone()), token);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_several_challenges_with_quoted_commas() {
        let c = parse_challenges(
            r#"Bearer realm="https://auth.example/token",service="registry.example",scope="repository:a/b:pull,push", Basic realm="x\"y""#,
        );
        assert_eq!(c.len(), 2);
        assert_eq!(c[0].scheme, "bearer");
        assert_eq!(c[0].params["realm"], "https://auth.example/token");
        assert_eq!(c[0].params["service"], "registry.example");
        assert_eq!(c[0].params["scope"], "repository:a/b:pull,push");
        assert_eq!(c[1].scheme, "basic");
        assert_eq!(c[1].params["realm"], "x\"y");
        let c = parse_challenges("Basic realm=Registry");
        assert_eq!(c[0].params["realm"], "Registry");
        assert!(parse_challenges("").is_empty());
    }

    #[test]
    fn secrets_never_show_in_debug() {
        let creds = Credentials::from_user_pass("alice:hunter2").unwrap();
        assert!(!format!("{creds:?}").contains("hunter2"));
        let token = Credentials::IdentityToken(Secret::new("tok-123"));
        assert!(!format!("{token:?}").contains("tok-123"));
        assert!(Credentials::from_user_pass("nocolon").is_err());
        assert!(Credentials::from_user_pass(":pw").is_err());
    }

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
            explicit: None,
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

    #[test]
    fn tokens_serve_requests_for_fewer_actions_until_they_expire() {
        let cache = TokenCache::default();
        let push = Scope::repository("repo", &["pull", "push"]);
        let pull = Scope::repository("repo", &["pull"]);
        cache.put(
            "r",
            std::slice::from_ref(&push),
            Secret::new("t"),
            Duration::from_secs(60),
        );
        assert!(cache.get("r", std::slice::from_ref(&pull)).is_some());
        assert!(cache.get("r", &[push]).is_some());
        assert!(cache
            .get("r", &[Scope::repository("other", &["pull"])])
            .is_none());
        assert!(cache
            .get("r", &[Scope::repository("repo", &["delete"])])
            .is_none());
        assert!(cache
            .get("r", &[pull.clone(), Scope::repository("other", &["pull"])])
            .is_none());
        let short = Scope::repository("short", &["pull"]);
        cache.put(
            "r",
            std::slice::from_ref(&short),
            Secret::new("t"),
            Duration::from_millis(1),
        );
        std::thread::sleep(Duration::from_millis(5));
        assert!(cache.get("r", &[short]).is_none());
        assert_eq!(pull.to_string(), "repository:repo:pull");
    }
}
