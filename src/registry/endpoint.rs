//! Where a registry is reached: the endpoint found once per client by a
//! `/v2/` ping (HTTPS, or plain HTTP where allowed), with the auth scheme
//! its challenge named.

use std::io::Read;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};

use ureq::http::{Method, Response};
use ureq::Body;

use super::challenge::{scheme_of, AuthScheme};
use super::http::{
    answered_by, answered_plain_http, header_str, network_error, Call, ERROR_BODY_MAX,
};
use super::{api_host, Client};
use crate::error::{Error, ErrorKind, Result};

/// A registry as reached: its base URL, its TLS trust, its auth scheme,
/// and whether its `/v2/` has been seen to answer as a registry's does.
#[derive(Debug)]
pub(crate) struct Endpoint {
    pub registry: String,
    pub base: String,
    pub(super) trusting: bool,
    auth: Mutex<AuthScheme>,
    pinged: AtomicBool,
}

impl Endpoint {
    pub(super) fn scheme(&self) -> AuthScheme {
        self.auth.lock().unwrap_or_else(|p| p.into_inner()).clone()
    }

    pub(super) fn set_scheme(&self, scheme: AuthScheme) {
        *self.auth.lock().unwrap_or_else(|p| p.into_inner()) = scheme;
    }

    /// Whether `/v2/` answered as a registry's does (not 404).
    pub(super) fn pinged(&self) -> bool {
        self.pinged.load(Ordering::SeqCst)
    }

    /// The URL of `path` (which starts with `/v2/`) on this registry.
    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }
}

impl Client {
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
                pinged: AtomicBool::new(false),
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
                    self.learn_scheme(&endpoint, response)?;
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
    /// to the pool for the request that follows. Errors: `Unsupported` when
    /// the ping answers 404, which the distribution spec ("Determining
    /// support") says of a server that does not implement the API.
    pub(super) fn learn_scheme(
        &self,
        endpoint: &Endpoint,
        mut response: Response<Body>,
    ) -> Result<()> {
        let status = response.status().as_u16();
        if status == 401 {
            let challenge = header_str(&response, "www-authenticate").unwrap_or("");
            let ping = endpoint.url("/v2/");
            endpoint.set_scheme(scheme_of(challenge, answered_by(&response, &ping)));
        }
        let _ = self
            .guarded(response.body_mut().as_reader().take(ERROR_BODY_MAX))
            .read_to_end(&mut Vec::new());
        if status == 404 {
            return Err(Error::unsupported(format!(
                "{} is not an OCI registry: GET {} answered 404 (a registry answers 200 or 401)",
                endpoint.registry,
                endpoint.url("/v2/")
            )));
        }
        endpoint.pinged.store(true, Ordering::SeqCst);
        Ok(())
    }

    /// After a 404 from an endpoint found without a ping: pings `/v2/` once
    /// so that a server that is no registry at all is named so, rather than
    /// reported as missing the repository or tag. Errors: `Unsupported` when
    /// `/v2/` answers 404 too; a ping that fails otherwise leaves the 404.
    pub(super) fn confirm_registry(&self, endpoint: &Endpoint) -> Result<()> {
        let url = endpoint.url("/v2/");
        match self.send_once(endpoint, &Method::GET, &url, &[], None, None) {
            Ok(response) => self.learn_scheme(endpoint, response),
            Err(_) => Ok(()),
        }
    }
}
