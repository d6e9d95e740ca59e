//! Bearer tokens: the scopes they are asked for, and the cache a client's
//! threads share.

use std::collections::HashMap;
use std::fmt;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use super::Secret;

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
