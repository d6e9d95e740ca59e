//! Answering a registry's `WWW-Authenticate` challenge (distribution's
//! token authentication, RFC 7235): the scheme a challenge asks for, basic
//! credentials sent where asked, bearer tokens fetched from the realm for
//! the request's scopes and cached, and the error a refusal gets.

use std::io::Read;
use std::time::Duration;

use ureq::http::{header, Method};

use super::endpoint::Endpoint;
use super::http::{resolve, shown, status_error, Call, ERROR_BODY_MAX};
use super::Client;
use crate::auth::{parse_challenges, Credentials, Scope, Secret};
use crate::error::{Error, ErrorKind, Result};

/// How a registry wants to be authenticated, learnt from its challenge.
#[derive(Debug, Clone)]
pub(super) enum AuthScheme {
    None,
    Basic,
    Bearer {
        realm: String,
        service: Option<String>,
    },
}

impl Client {
    /// The `Authorization` to send proactively: a cached token, or basic
    /// credentials where the registry asked for them.
    pub(super) fn authorization(
        &self,
        endpoint: &Endpoint,
        scopes: &[Scope],
    ) -> Result<Option<Secret>> {
        Ok(match endpoint.scheme() {
            AuthScheme::None => None,
            AuthScheme::Bearer { .. } => self
                .inner
                .tokens
                .get(&endpoint.registry, scopes)
                .map(|t| Secret::new(format!("Bearer {}", t.expose()))),
            AuthScheme::Basic => self
                .credentials_for(endpoint, scopes)?
                .basic_header()
                .map(Secret::new),
        })
    }

    /// The error for a 401 the registry still answers after its challenge
    /// was met: the credentials sent were refused, or none were found (and
    /// where they were looked for). Never holds the credentials.
    pub(super) fn refused(
        &self,
        endpoint: &Endpoint,
        scopes: &[Scope],
        method: &Method,
        url: &str,
    ) -> Error {
        let registry = &endpoint.registry;
        let repository = scopes.iter().find_map(Scope::repository_name).unwrap_or("");
        let source = &self.inner.credentials;
        let message = match source.find(registry, repository) {
            Err(e) => return e,
            Ok((Credentials::Anonymous, _)) => {
                let files: Vec<String> = source
                    .files()
                    .iter()
                    .map(|f| f.display().to_string())
                    .collect();
                format!(
                    "registry {registry} needs credentials for {repository}: none are bound to it \
                     and none were found in the auth files ({}); give them with \
                     --creds USER:PASSWORD (--src-creds or --dest-creds for one side of a \
                     copy or sync) or `stevedore login {registry}`",
                    files.join(", ")
                )
            }
            Ok((_, Some(file))) => format!(
                "registry {registry} refused the credentials for it from {} \
                 (for {method} {}); log in again with `stevedore login {registry}`",
                file.display(),
                shown(url)
            ),
            Ok((_, None)) => format!(
                "registry {registry} refused the credentials given for it (for {method} {})",
                shown(url)
            ),
        };
        Error::new(ErrorKind::Unauthorized, message).with_http_status(401)
    }

    fn credentials_for(&self, endpoint: &Endpoint, scopes: &[Scope]) -> Result<Credentials> {
        let repository = scopes.iter().find_map(Scope::repository_name).unwrap_or("");
        self.inner
            .credentials
            .lookup(&endpoint.registry, repository)
    }

    /// Answers a 401 from `answered` to a request that carried `sent`:
    /// learns the scheme and, for bearer, makes sure a token is cached.
    /// Returns whether the request should be sent again.
    pub(super) fn answer_challenge(
        &self,
        endpoint: &Endpoint,
        scopes: &[Scope],
        header: &str,
        answered: &str,
        sent: Option<&Secret>,
    ) -> Result<bool> {
        let scheme = scheme_of(header, answered);
        endpoint.set_scheme(scheme.clone());
        match scheme {
            AuthScheme::None => Ok(false),
            AuthScheme::Basic => {
                // Credentials already sent and refused: no second try.
                Ok(sent.is_none()
                    && self
                        .credentials_for(endpoint, scopes)?
                        .basic_header()
                        .is_some())
            }
            AuthScheme::Bearer { realm, service } => {
                // One fetch per registry and scope at a time: threads that met
                // the same challenge wait, then use the token it earned,
                // unless that token is the very one the server refused.
                let key = format!("{} {}", endpoint.registry, scopes_key(scopes));
                let lock = self.key_lock(key);
                let _one_at_a_time = lock.lock().unwrap_or_else(|p| p.into_inner());
                let cached = self.authorization(endpoint, scopes)?;
                if cached.is_none() || cached.as_ref() == sent {
                    self.fetch_token(endpoint, &realm, service.as_deref(), scopes)?;
                }
                Ok(true)
            }
        }
    }

    /// Checks that the registry accepts the credentials bound to it: `/v2/`
    /// with them (basic), or a token asked for no scope (bearer), as
    /// `docker login` does. Errors: `Unauthorized` when they are refused.
    pub(crate) fn check_login(&self, endpoint: &Endpoint) -> Result<()> {
        if matches!(endpoint.scheme(), AuthScheme::None) {
            // Found without a ping (a plain-HTTP port): ask for the challenge.
            let call = Call::new(Method::GET, endpoint.url("/v2/"), Vec::new());
            let response = self.send(endpoint, &call)?;
            self.learn_scheme(endpoint, response)?;
        }
        match endpoint.scheme() {
            AuthScheme::None => Ok(()),
            AuthScheme::Basic => {
                let call = Call::new(Method::GET, endpoint.url("/v2/"), Vec::new());
                let response = self.send(endpoint, &call)?;
                match response.status().as_u16() {
                    200..=299 => Ok(()),
                    401 => Err(self.refused(endpoint, &[], &call.method, &call.url)),
                    _ => Err(status_error(&call.method, &call.url, response)),
                }
            }
            AuthScheme::Bearer { realm, service } => {
                self.fetch_token(endpoint, &realm, service.as_deref(), &[])
            }
        }
    }

    /// Asks the token service at `realm` for a token granting `scopes`, and
    /// caches it.
    fn fetch_token(
        &self,
        endpoint: &Endpoint,
        realm: &str,
        service: Option<&str>,
        scopes: &[Scope],
    ) -> Result<()> {
        let mut credentials = self.credentials_for(endpoint, scopes)?;
        // The registry's own credentials go to the token service its
        // challenge names (Docker Hub's is auth.docker.io), never in clear
        // from a registry reached over verified TLS.
        if realm.starts_with("http://") && !endpoint.trusting {
            if credentials != Credentials::Anonymous {
                return Err(Error::new(
                    ErrorKind::Unauthorized,
                    format!(
                        "registry {} names a plain-HTTP token service ({}); its credentials \
                         are not sent in clear (reach the registry with --tls-verify=false \
                         to allow it)",
                        endpoint.registry,
                        shown(realm)
                    ),
                ));
            }
            credentials = Credentials::Anonymous;
        }
        let scope_strings: Vec<String> = scopes.iter().map(ToString::to_string).collect();
        let agent = self.agent(endpoint);
        let result = match &credentials {
            Credentials::IdentityToken(token) => {
                let scope = scope_strings.join(" ");
                let mut form = vec![
                    ("grant_type", "refresh_token"),
                    ("refresh_token", token.expose()),
                    ("client_id", "stevedore"),
                    ("scope", scope.as_str()),
                ];
                if let Some(service) = service {
                    form.push(("service", service));
                }
                agent.post(realm).send_form(form)
            }
            _ => {
                let mut request = agent.get(realm);
                if let Some(service) = service {
                    request = request.query("service", service);
                }
                for scope in &scope_strings {
                    request = request.query("scope", scope);
                }
                if let Some(basic) = credentials.basic_header() {
                    request = request.header(header::AUTHORIZATION, basic);
                }
                request.call()
            }
        };
        let realm_shown = shown(realm);
        let mut response = result.map_err(|e| {
            Error::new(
                ErrorKind::Network,
                format!("token service {realm_shown}: {e}"),
            )
        })?;
        match response.status().as_u16() {
            200 => {}
            401 | 403 => {
                return Err(Error::new(
                    ErrorKind::Unauthorized,
                    format!(
                        "the token service {realm_shown} refused the credentials for {}",
                        endpoint.registry
                    ),
                )
                .with_http_status(response.status().as_u16()))
            }
            _ => return Err(status_error(&Method::GET, realm, response)),
        }
        #[derive(serde::Deserialize)]
        struct TokenReply {
            token: Option<Secret>,
            access_token: Option<Secret>,
            expires_in: Option<u64>,
        }
        let mut text = Vec::new();
        self.guarded(response.body_mut().as_reader().take(ERROR_BODY_MAX))
            .read_to_end(&mut text)
            .map_err(|e| {
                Error::new(
                    ErrorKind::Network,
                    format!("token service {realm_shown}: {e}"),
                )
            })?;
        let reply: TokenReply = serde_json::from_slice(&text).map_err(|_| {
            Error::new(
                ErrorKind::Network,
                format!("token service {realm_shown} sent no token"),
            )
        })?;
        let token = reply.token.or(reply.access_token).ok_or_else(|| {
            Error::new(
                ErrorKind::Network,
                format!("token service {realm_shown} sent no token"),
            )
        })?;
        let lifetime = Duration::from_secs(reply.expires_in.unwrap_or(60).max(10));
        self.inner
            .tokens
            .put(&endpoint.registry, scopes, token, lifetime);
        Ok(())
    }
}

fn scopes_key(scopes: &[Scope]) -> String {
    scopes
        .iter()
        .map(ToString::to_string)
        .collect::<Vec<_>>()
        .join(" ")
}

/// The scheme a challenge from `answered` asks for; a relative realm
/// resolves against `answered` (RFC 3986), one that cannot is kept as sent
/// so that the token request names it in its error.
pub(super) fn scheme_of(header: &str, answered: &str) -> AuthScheme {
    let challenges = parse_challenges(header);
    if let Some(bearer) = challenges.iter().find(|c| c.scheme == "bearer") {
        if let Some(realm) = bearer.params.get("realm") {
            return AuthScheme::Bearer {
                realm: resolve(answered, realm).unwrap_or_else(|_| realm.clone()),
                service: bearer.params.get("service").cloned(),
            };
        }
    }
    if challenges.iter().any(|c| c.scheme == "basic") {
        AuthScheme::Basic
    } else {
        AuthScheme::None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn challenges_pick_bearer_over_basic() {
        assert!(matches!(
            scheme_of(
                r#"Basic realm="r", Bearer realm="https://t/token",service="s""#,
                "http://h/v2/"
            ),
            AuthScheme::Bearer { .. }
        ));
        assert!(matches!(
            scheme_of(r#"Basic realm="r""#, "http://h/v2/"),
            AuthScheme::Basic
        ));
        assert!(matches!(scheme_of("", "http://h/v2/"), AuthScheme::None));
        let AuthScheme::Bearer { realm, .. } =
            scheme_of(r#"Bearer realm="/token?x=1""#, "http://h:5/v2/a/")
        else {
            panic!("a bearer challenge");
        };
        assert_eq!(realm, "http://h:5/token?x=1");
    }
}
