//! One request to a registry, done right: the endpoint found by a `/v2/` ping
//! (HTTPS, or plain HTTP where allowed), authentication answered from the
//! `WWW-Authenticate` challenge, retries with backoff and `Retry-After`, and
//! redirects followed by hand so that credentials never leave the registry's
//! origin.

use std::io::Read;
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use ureq::http::{self as h, header, Method, Response};
use ureq::Body;

use super::rate::MinRate;
use super::{api_host, Client, ClientOptions};
use crate::auth::{parse_challenges, Credentials, Scope, Secret};
use crate::error::{from_io, Error, ErrorKind, RegistryError, Result};
use crate::progress::report_retry;

/// The longest wait honoured from a `Retry-After`.
const RETRY_AFTER_MAX: Duration = Duration::from_secs(60);
/// How much of an error reply is read.
const ERROR_BODY_MAX: u64 = 64 * 1024;

/// Builds a `ureq` agent: no automatic redirects (we follow them ourselves),
/// statuses returned rather than turned into errors, and the TLS trust chosen.
pub(super) fn agent(options: &ClientOptions, verify: bool) -> Result<ureq::Agent> {
    let mut tls = ureq::tls::TlsConfig::builder().disable_verification(!verify);
    if let Some(dir) = &options.cert_dir {
        tls = tls.root_certs(ureq::tls::RootCerts::Specific(Arc::new(trusted_certs(
            dir,
        )?)));
    }
    let config = ureq::Agent::config_builder()
        .http_status_as_error(false)
        .max_redirects(0)
        .max_redirects_will_error(false)
        .user_agent(options.user_agent.as_str())
        .timeout_connect(Some(Duration::from_secs(options.connect_timeout_secs)))
        .timeout_recv_response(Some(Duration::from_secs(options.read_timeout_secs)))
        .timeout_per_read(Some(Duration::from_secs(options.read_timeout_secs)))
        .max_response_header_size(
            usize::try_from(options.max_response_header_bytes).unwrap_or(usize::MAX),
        )
        .tls_config(tls.build())
        .build();
    Ok(config.into())
}

/// The system's CA bundle plus every `*.crt` in `dir`.
fn trusted_certs(dir: &std::path::Path) -> Result<Vec<ureq::tls::Certificate<'static>>> {
    let mut files = vec![std::path::PathBuf::from(
        "/etc/ssl/certs/ca-certificates.crt",
    )];
    let entries =
        std::fs::read_dir(dir).map_err(|e| Error::io(format!("reading {}", dir.display()), e))?;
    for entry in entries {
        let path = entry
            .map_err(|e| Error::io(format!("reading {}", dir.display()), e))?
            .path();
        if path.extension().is_some_and(|x| x == "crt") {
            files.push(path);
        }
    }
    let mut certs = Vec::new();
    for file in files {
        let Ok(pem) = std::fs::read(&file) else {
            continue;
        };
        for item in ureq::tls::parse_pem(&pem) {
            match item {
                Ok(ureq::tls::PemItem::Certificate(cert)) => certs.push(cert),
                Ok(_) => {}
                Err(e) => {
                    return Err(Error::invalid(format!(
                        "{} is not a valid PEM certificate file: {e}",
                        file.display()
                    )))
                }
            }
        }
    }
    Ok(certs)
}

/// How a registry wants to be authenticated, learnt from its challenge.
#[derive(Debug, Clone)]
enum AuthScheme {
    None,
    Basic,
    Bearer {
        realm: String,
        service: Option<String>,
    },
}

/// A registry as reached: its base URL, its TLS trust, its auth scheme.
#[derive(Debug)]
pub(crate) struct Endpoint {
    pub registry: String,
    pub base: String,
    trusting: bool,
    auth: Mutex<AuthScheme>,
}

impl Endpoint {
    fn scheme(&self) -> AuthScheme {
        self.auth.lock().unwrap_or_else(|p| p.into_inner()).clone()
    }

    fn set_scheme(&self, scheme: AuthScheme) {
        *self.auth.lock().unwrap_or_else(|p| p.into_inner()) = scheme;
    }

    /// The URL of `path` (which starts with `/v2/`) on this registry.
    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }
}

/// A request: method, absolute URL, headers, an optional body held in memory
/// (so that it can be sent again), and the token scopes it needs.
pub(crate) struct Call<'a> {
    pub method: Method,
    pub url: String,
    pub headers: Vec<(h::HeaderName, String)>,
    pub body: Option<&'a [u8]>,
    pub scopes: Vec<Scope>,
    /// Whether the request may be sent again after a failure (false for
    /// requests that change state in ways a repeat would corrupt).
    pub retry: bool,
}

impl<'a> Call<'a> {
    /// A retryable request without a body.
    pub fn new(method: Method, url: String, scopes: Vec<Scope>) -> Call<'a> {
        Call {
            method,
            url,
            headers: Vec::new(),
            body: None,
            scopes,
            retry: true,
        }
    }

    /// Adds a header.
    pub fn header(mut self, name: h::HeaderName, value: impl Into<String>) -> Call<'a> {
        self.headers.push((name, value.into()));
        self
    }

    /// Sets the body.
    pub fn body(mut self, body: &'a [u8]) -> Call<'a> {
        self.body = Some(body);
        self
    }

    /// Marks the request as not to be repeated.
    pub fn no_retry(mut self) -> Call<'a> {
        self.retry = false;
        self
    }
}

/// A header's value as text, if present and readable.
pub(crate) fn header_str<'r>(response: &'r Response<Body>, name: &str) -> Option<&'r str> {
    response.headers().get(name).and_then(|v| v.to_str().ok())
}

/// Every `Link` header of a reply, as text.
pub(crate) fn link_values(response: &Response<Body>) -> Vec<&str> {
    response
        .headers()
        .get_all("link")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .collect()
}

/// The URL without its query, for messages (queries hold upload state).
fn shown(url: &str) -> &str {
    url.split('?').next().unwrap_or(url)
}

/// The origin (scheme, host, port) of `url`, to compare hosts by.
fn origin(url: &str) -> Option<url::Origin> {
    url::Url::parse(url).ok().map(|u| u.origin())
}

/// Resolves `reference` (a `Location`, a `Link` target, a token realm)
/// against `base`, the URL that answered, per RFC 3986 section 5: absolute,
/// protocol-relative (`//host/path`), absolute-path, relative-path,
/// query-only and dot-segment forms.
pub(crate) fn resolve(base: &str, reference: &str) -> Result<String> {
    let base = url::Url::parse(base)
        .map_err(|e| Error::invalid(format!("bad URL {}: {e}", shown(base))))?;
    let resolved = base.join(reference.trim()).map_err(|e| {
        Error::new(
            ErrorKind::Network,
            format!(
                "the registry at {} sent a URL that cannot be resolved ({}): {e}",
                shown(base.as_str()),
                shown(reference)
            ),
        )
    })?;
    match resolved.scheme() {
        "http" | "https" => Ok(resolved.into()),
        other => Err(Error::new(
            ErrorKind::Network,
            format!(
                "the registry at {} sent a {other}: URL ({}); only http and https are followed",
                shown(base.as_str()),
                shown(reference)
            ),
        )),
    }
}

/// `url` with `pairs` appended to its query, form-encoded.
pub(crate) fn with_query(url: &str, pairs: &[(&str, &str)]) -> Result<String> {
    let mut parsed =
        url::Url::parse(url).map_err(|e| Error::invalid(format!("bad URL {}: {e}", shown(url))))?;
    parsed.query_pairs_mut().extend_pairs(pairs);
    Ok(parsed.into())
}

/// The URL that answered a reply [`Client::send`] returns: the last one
/// after redirects, which every URL the reply carries resolves against.
#[derive(Debug, Clone)]
struct Answered(String);

/// The URL that answered `response`, or `requested` when it was not sent
/// through [`Client::send`].
pub(crate) fn answered_by<'r>(response: &'r Response<Body>, requested: &'r str) -> &'r str {
    response
        .extensions()
        .get::<Answered>()
        .map_or(requested, |a| a.0.as_str())
}

fn transient(e: &ureq::Error) -> bool {
    matches!(
        e,
        ureq::Error::Io(_)
            | ureq::Error::Timeout(_)
            | ureq::Error::ConnectionFailed
            | ureq::Error::BodyStalled
    )
}

/// The error for a reply with a failing status: kind by status, the
/// registry's error list, and a message naming the request.
pub(crate) fn status_error(method: &Method, url: &str, mut response: Response<Body>) -> Error {
    let status = response.status().as_u16();
    let kind = match status {
        401 => ErrorKind::Unauthorized,
        403 => ErrorKind::Denied,
        404 => ErrorKind::NotFound,
        429 => ErrorKind::RateLimited,
        400..=499 => ErrorKind::InvalidInput,
        _ => ErrorKind::Network,
    };
    // An error body is only a message: a slow one is cut short, not waited for.
    let mut body = Vec::new();
    let _ = MinRate::new(
        response.body_mut().as_reader().take(ERROR_BODY_MAX),
        1024,
        Duration::from_secs(10),
    )
    .read_to_end(&mut body);
    #[derive(serde::Deserialize)]
    struct Errors {
        errors: Vec<RegistryError>,
    }
    let errors = serde_json::from_slice::<Errors>(&body)
        .map(|e| e.errors)
        .unwrap_or_default();
    let reason = response.status().canonical_reason().unwrap_or("");
    let mut message = format!("{method} {}: HTTP {status} {reason}", shown(url));
    for e in &errors {
        message.push_str(&format!("; {}: {}", e.code, e.message));
    }
    Error::new(kind, message)
        .with_http_status(status)
        .with_registry_errors(errors)
}

/// Whether a TLS handshake failed because the server answered in plain
/// HTTP (a record that is not TLS, such as `HTTP/1.1 400`).
fn answered_plain_http(e: &ureq::Error) -> bool {
    let plain_reply = |r: &rustls::Error| {
        matches!(
            r,
            rustls::Error::InvalidMessage(rustls::InvalidMessage::InvalidContentType)
        )
    };
    match e {
        ureq::Error::Rustls(r) => plain_reply(r),
        ureq::Error::Io(io) => io
            .get_ref()
            .and_then(|inner| inner.downcast_ref::<rustls::Error>())
            .is_some_and(plain_reply),
        _ => false,
    }
}

fn network_error(method: &Method, url: &str, e: ureq::Error) -> Error {
    if answered_plain_http(&e) {
        return Error::new(
            ErrorKind::Network,
            format!(
                "{method} {}: the registry answered plain HTTP to an HTTPS request; \
                 to reach it over HTTP, pass --tls-verify=false (in the options JSON, \
                 list it in \"insecure\")",
                shown(url)
            ),
        );
    }
    Error::new(ErrorKind::Network, format!("{method} {}: {e}", shown(url)))
}

fn jitter(limit: Duration) -> Duration {
    let nanos = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.subsec_nanos());
    let limit_ms = limit.as_millis().max(1) as u64;
    Duration::from_millis(u64::from(nanos) % limit_ms)
}

impl Client {
    fn agent(&self, endpoint: &Endpoint) -> &ureq::Agent {
        if endpoint.trusting {
            &self.inner.trusting
        } else {
            &self.inner.verifying
        }
    }

    /// The delay before retry number `attempt` (0-based): exponential with jitter.
    pub(crate) fn backoff(&self, attempt: u32) -> Duration {
        let base = self.retry_delay() * 2u32.saturating_pow(attempt.min(10));
        base + jitter(self.retry_delay())
    }

    /// The endpoint of `registry`, found once per client by pinging `/v2/`;
    /// where HTTPS is tried before plain HTTP and the port answers the TLS
    /// handshake in plain HTTP, that answer is the ping.
    pub(crate) fn endpoint(&self, registry: &str) -> Result<Arc<Endpoint>> {
        if let Some(e) = self
            .inner
            .endpoints
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .get(registry)
        {
            return Ok(e.clone());
        }
        let host = api_host(registry);
        let insecure = self.inner.options.is_insecure(registry);
        let schemes = self.inner.options.schemes(registry);
        let mut last_error = None;
        for scheme in schemes {
            let endpoint = Endpoint {
                registry: registry.to_owned(),
                base: format!("{scheme}://{host}"),
                trusting: insecure,
                auth: Mutex::new(AuthScheme::None),
            };
            let url = endpoint.url("/v2/");
            let pinged = if schemes.len() > 1 && *scheme == "https" {
                // Tried first, with plain HTTP to fall back on: no retry.
                match self.send_once(&endpoint, &Method::GET, &url, &[], None, None) {
                    // The port answered the TLS handshake in plain HTTP: that
                    // is the endpoint, and pinging it would only learn what
                    // the first request's own 401 (if any) will say.
                    Err(e) if answered_plain_http(&e) => {
                        let endpoint = Endpoint {
                            base: format!("http://{host}"),
                            ..endpoint
                        };
                        return Ok(self.remember(endpoint));
                    }
                    Err(e) => Err(network_error(&Method::GET, &url, e)),
                    Ok(response) if !response.status().is_redirection() => Ok(response),
                    Ok(_) => self.send(&endpoint, &Call::new(Method::GET, url, Vec::new())),
                }
            } else {
                self.send(&endpoint, &Call::new(Method::GET, url, Vec::new()))
            };
            match pinged {
                Ok(response) => {
                    self.learn_scheme(&endpoint, response);
                    return Ok(self.remember(endpoint));
                }
                Err(e) => last_error = Some(e),
            }
        }
        let e = last_error.unwrap_or_else(|| Error::new(ErrorKind::Network, "no scheme to try"));
        Err(e.context(format!("cannot reach registry {registry}")))
    }

    fn remember(&self, endpoint: Endpoint) -> Arc<Endpoint> {
        let endpoint = Arc::new(endpoint);
        self.inner
            .endpoints
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .insert(endpoint.registry.clone(), endpoint.clone());
        endpoint
    }

    /// Takes the auth scheme from a `/v2/` ping's reply (a 401's challenge),
    /// and reads the short body to its end so that the connection goes back
    /// to the pool for the request that follows.
    fn learn_scheme(&self, endpoint: &Endpoint, mut response: Response<Body>) {
        if response.status().as_u16() == 401 {
            let challenge = header_str(&response, "www-authenticate").unwrap_or("");
            let ping = endpoint.url("/v2/");
            endpoint.set_scheme(scheme_of(challenge, answered_by(&response, &ping)));
        }
        let _ = self
            .guarded(response.body_mut().as_reader().take(ERROR_BODY_MAX))
            .read_to_end(&mut Vec::new());
    }

    /// Sends `call` to `endpoint`, with authentication, retries and
    /// redirects; returns the final reply, whatever its status.
    pub(crate) fn send(&self, endpoint: &Endpoint, call: &Call) -> Result<Response<Body>> {
        let max_retries = self.inner.options.max_retries;
        let home = origin(&endpoint.base);
        let (mut url, mut method, mut body) = (call.url.clone(), call.method.clone(), call.body);
        let (mut attempt, mut redirects, mut challenges) = (0, 0, 0);
        loop {
            let at_home = origin(&url) == home;
            let authorization = if at_home {
                self.authorization(endpoint, &call.scopes)?
            } else {
                None
            };
            let sent = authorization.clone();
            let result =
                self.send_once(endpoint, &method, &url, &call.headers, authorization, body);
            let response = match result {
                Ok(r) => r,
                Err(e) if call.retry && attempt < max_retries && transient(&e) => {
                    attempt += 1;
                    report_retry(attempt, &format!("{method} {}: {e}", shown(&call.url)));
                    std::thread::sleep(self.backoff(attempt - 1));
                    continue;
                }
                Err(e) => return Err(network_error(&method, &url, e)),
            };
            let status = response.status().as_u16();
            // A request without scopes (the ping) only learns the scheme.
            if status == 401
                && at_home
                && challenges < self.inner.options.max_auth_challenges
                && !call.scopes.is_empty()
            {
                let challenge = header_str(&response, "www-authenticate")
                    .unwrap_or("")
                    .to_owned();
                if self.answer_challenge(endpoint, &call.scopes, &challenge, &url, sent.as_ref())? {
                    challenges += 1;
                    continue;
                }
            }
            if status == 401 && at_home && !call.scopes.is_empty() {
                return Err(self.refused(endpoint, &call.scopes, &method, &url));
            }
            if matches!(status, 301 | 302 | 303 | 307 | 308) {
                if let Some(location) = header_str(&response, "location") {
                    redirects += 1;
                    let max = self.inner.options.max_redirects;
                    if redirects > max {
                        return Err(Error::new(
                            ErrorKind::Network,
                            format!(
                                "{method} {}: more than {max} redirects (the limit max_redirects)",
                                shown(&call.url)
                            ),
                        ));
                    }
                    url = resolve(&url, location)?;
                    if status == 303 {
                        (method, body) = (Method::GET, None);
                    }
                    continue;
                }
            }
            if call.retry
                && attempt < max_retries
                && (status == 408 || status == 429 || status >= 500)
            {
                let wait = header_str(&response, "retry-after")
                    .and_then(|v| v.trim().parse::<u64>().ok())
                    .map(|s| Duration::from_secs(s).min(RETRY_AFTER_MAX))
                    .unwrap_or_else(|| self.backoff(attempt));
                attempt += 1;
                report_retry(
                    attempt,
                    &format!("{method} {}: HTTP {status}", shown(&call.url)),
                );
                std::thread::sleep(wait);
                continue;
            }
            let mut response = response;
            response.extensions_mut().insert(Answered(url));
            return Ok(response);
        }
    }

    fn send_once(
        &self,
        endpoint: &Endpoint,
        method: &Method,
        url: &str,
        headers: &[(h::HeaderName, String)],
        authorization: Option<Secret>,
        body: Option<&[u8]>,
    ) -> std::result::Result<Response<Body>, ureq::Error> {
        let mut request = h::Request::builder().method(method.clone()).uri(url);
        for (name, value) in headers {
            request = request.header(name, value);
        }
        if let Some(auth) = authorization {
            request = request.header(header::AUTHORIZATION, auth.expose());
        }
        let agent = self.agent(endpoint);
        match body {
            Some(bytes) => agent.run(request.body(bytes).map_err(ureq::Error::Http)?),
            None => agent.run(request.body(()).map_err(ureq::Error::Http)?),
        }
    }

    /// The `Authorization` to send proactively: a cached token, or basic
    /// credentials where the registry asked for them.
    fn authorization(&self, endpoint: &Endpoint, scopes: &[Scope]) -> Result<Option<Secret>> {
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
    fn refused(&self, endpoint: &Endpoint, scopes: &[Scope], method: &Method, url: &str) -> Error {
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
                     --creds USER:PASSWORD or `stevedore login {registry}`",
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
    fn answer_challenge(
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
            self.learn_scheme(endpoint, response);
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

    /// Sends `call` once with `length` bytes streamed from `content` as the
    /// body: no retry and no redirect, since the body cannot be replayed. The
    /// token the call needs must be cached already (an earlier request of
    /// the same scope earned it).
    pub(crate) fn send_stream(
        &self,
        endpoint: &Endpoint,
        call: &Call,
        content: &mut dyn Read,
        length: u64,
    ) -> Result<Response<Body>> {
        let mut request = h::Request::builder()
            .method(call.method.clone())
            .uri(call.url.as_str())
            .header(header::CONTENT_LENGTH, length);
        for (name, value) in &call.headers {
            request = request.header(name, value);
        }
        // An upload location may name another host: credentials stay home.
        if origin(&call.url) == origin(&endpoint.base) {
            if let Some(auth) = self.authorization(endpoint, &call.scopes)? {
                request = request.header(header::AUTHORIZATION, auth.expose());
            }
        }
        let request = request
            .body(ureq::SendBody::from_reader(content))
            .map_err(|e| network_error(&call.method, &call.url, ureq::Error::Http(e)))?;
        self.agent(endpoint).run(request).map_err(|e| match e {
            // The source failed (a digest mismatch, a cancellation): keep its kind.
            ureq::Error::Io(io) => from_io(format!("{} {}", call.method, shown(&call.url)), io),
            e => network_error(&call.method, &call.url, e),
        })
    }

    /// `body` failing when slower than the options' minimum body rate.
    pub(crate) fn guarded<R: Read>(&self, body: R) -> MinRate<R> {
        let options = &self.inner.options;
        MinRate::new(
            body,
            options.min_body_bytes_per_sec,
            Duration::from_secs(options.body_rate_window_secs),
        )
    }

    /// Reads a successful reply's body whole, up to `limit` bytes.
    pub(crate) fn read_body(
        &self,
        call: &Call,
        mut response: Response<Body>,
        limit: u64,
    ) -> Result<Vec<u8>> {
        let declared = header_str(&response, "content-length").and_then(|v| v.parse::<u64>().ok());
        if declared.is_some_and(|n| n > limit) {
            return Err(Error::invalid(format!(
                "{} {}: the reply is {} bytes, larger than the {limit}-byte limit",
                call.method,
                shown(&call.url),
                declared.unwrap_or(0)
            )));
        }
        let mut bytes = Vec::new();
        self.guarded(response.body_mut().as_reader().take(limit + 1))
            .read_to_end(&mut bytes)
            .map_err(|e| {
                Error::new(
                    ErrorKind::Network,
                    format!("{} {}: {e}", call.method, shown(&call.url)),
                )
            })?;
        if bytes.len() as u64 > limit {
            return Err(Error::invalid(format!(
                "{} {}: the reply is larger than the {limit}-byte limit",
                call.method,
                shown(&call.url)
            )));
        }
        Ok(bytes)
    }

    /// Sends `call` and fails unless the status is one of `expected`.
    pub(crate) fn expect(
        &self,
        endpoint: &Endpoint,
        call: &Call,
        expected: &[u16],
    ) -> Result<Response<Body>> {
        let response = self.send(endpoint, call)?;
        if expected.contains(&response.status().as_u16()) {
            Ok(response)
        } else {
            Err(status_error(&call.method, &call.url, response))
        }
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
fn scheme_of(header: &str, answered: &str) -> AuthScheme {
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
    fn urls_resolve_against_the_url_that_answered() {
        let base = "http://127.0.0.1:5000/v2/a/blobs/uploads/?x=1";
        for (reference, expected) in [
            (
                "/v2/a/blobs/uploads/u1?_state=s",
                "http://127.0.0.1:5000/v2/a/blobs/uploads/u1?_state=s",
            ),
            ("https://cdn.example/blob", "https://cdn.example/blob"),
            ("u2", "http://127.0.0.1:5000/v2/a/blobs/uploads/u2"),
            (
                "?_state=t",
                "http://127.0.0.1:5000/v2/a/blobs/uploads/?_state=t",
            ),
            ("//127.0.0.2:6000/up/1", "http://127.0.0.2:6000/up/1"),
            ("../../b/./c?d", "http://127.0.0.1:5000/v2/a/b/c?d"),
            ("/v2/../v2/./a/x", "http://127.0.0.1:5000/v2/a/x"),
            ("", "http://127.0.0.1:5000/v2/a/blobs/uploads/?x=1"),
        ] {
            assert_eq!(resolve(base, reference).unwrap(), expected, "{reference}");
        }
        assert!(resolve(base, "file:///etc/passwd").is_err());
        assert!(resolve(base, "http://[::1").is_err());
        assert_eq!(origin("http://h:1/x?y"), origin("http://h:1/z"));
        assert_ne!(origin("http://h:1/x"), origin("http://h:2/x"));
    }

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
