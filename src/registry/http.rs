//! One request to a registry, done right: to the endpoint found by a `/v2/` ping
//! (HTTPS, or plain HTTP where allowed), authentication answered from the
//! `WWW-Authenticate` challenge, retries with backoff and `Retry-After`, and
//! redirects followed by hand so that credentials never leave the registry's
//! origin.

use std::io::Read;
use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use ureq::http::{self as h, header, Method, Response};
use ureq::Body;

use super::endpoint::Endpoint;
use super::rate::MinRate;
use super::{Client, ClientOptions};
use crate::auth::{Scope, Secret};
use crate::error::{from_io, Error, ErrorKind, RegistryError, Result};
use crate::progress::report_retry;

/// The longest wait honoured from a `Retry-After`.
const RETRY_AFTER_MAX: Duration = Duration::from_secs(60);
/// How much of an error reply is read.
pub(super) const ERROR_BODY_MAX: u64 = 64 * 1024;

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
pub(super) fn shown(url: &str) -> &str {
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
pub(super) fn answered_plain_http(e: &ureq::Error) -> bool {
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

pub(super) fn network_error(method: &Method, url: &str, e: ureq::Error) -> Error {
    if answered_plain_http(&e) {
        return Error::new(
            ErrorKind::Network,
            format!(
                "{method} {}: the registry answered plain HTTP to an HTTPS request; \
                 to reach it over HTTP, pass --tls-verify=false (for one side of a copy \
                 or sync, --src-tls-verify=false or --dest-tls-verify=false; in the \
                 options JSON, list it in \"insecure\")",
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
    pub(super) fn agent(&self, endpoint: &Endpoint) -> &ureq::Agent {
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
            if status == 404 && at_home && !endpoint.pinged() && !call.scopes.is_empty() {
                self.confirm_registry(endpoint)?;
            }
            let mut response = response;
            response.extensions_mut().insert(Answered(url));
            return Ok(response);
        }
    }

    pub(super) fn send_once(
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
}
