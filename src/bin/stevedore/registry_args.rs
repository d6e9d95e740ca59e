//! The flags that say how to reach registries: the global ones every verb
//! shares, and the `--src-*`/`--dest-*` ones of `copy` and `sync`.
//! Credentials are always bound to one registry: the global `--creds` to the
//! one registry a verb names (refused when it names two), `--src-creds` and
//! `--dest-creds` to each side's.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::{Mutex, OnceLock};

use clap::Args;
use stevedore::auth::Credentials;
use stevedore::reference::Reference;
use stevedore::registry::{Client, ClientOptions};
use stevedore::Error;

/// How to reach registries (for docker:// images).
#[derive(Args)]
#[command(next_help_heading = "Reaching registries (docker:// images)")]
pub struct RegistryArgs {
    /// Credentials for the registry the command names, as USER:PASSWORD
    /// (refused when it names two registries: use --src-creds/--dest-creds).
    #[arg(long, global = true, value_name = "USER:PASSWORD")]
    creds: Option<String>,
    /// The auth file to read first (default: $REGISTRY_AUTH_FILE, else
    /// $XDG_RUNTIME_DIR/containers/auth.json); ~/.config/containers/auth.json
    /// and docker's config.json are read after it.
    #[arg(long, global = true, value_name = "FILE")]
    authfile: Option<PathBuf>,
    /// Verify TLS certificates (a bare --tls-verify means true); =false also
    /// allows plain HTTP.
    #[arg(long, global = true, value_name = "BOOL", num_args = 0..=1,
          require_equals = true, default_missing_value = "true", default_value = "true")]
    tls_verify: bool,
    /// A directory of extra CA certificates (*.crt).
    #[arg(long, global = true, value_name = "DIR")]
    cert_dir: Option<PathBuf>,
    /// Seconds to wait for a connection, and for a stalled reply, before
    /// failing with a network error [default: 30 to connect, 60 to read].
    #[arg(long, global = true, value_name = "SECONDS",
          value_parser = crate::commands::at_least_one::<u64>)]
    timeout: Option<u64>,
    /// How often a failed request is retried [default: 4].
    #[arg(long, global = true, value_name = "N")]
    retry_times: Option<u32>,
    /// The largest manifest or index read from a registry, in bytes
    /// [default: 4 MiB].
    #[arg(long, global = true, value_name = "BYTES")]
    max_manifest_bytes: Option<u64>,
    /// The largest image config read from a registry, in bytes
    /// [default: 32 MiB].
    #[arg(long, global = true, value_name = "BYTES")]
    max_config_bytes: Option<u64>,
    /// The most redirects one request follows [default: 10].
    #[arg(long, global = true, value_name = "N")]
    max_redirects: Option<u32>,
    /// The most pages of a tag list followed [default: 10000].
    #[arg(long, global = true, value_name = "N")]
    max_list_pages: Option<u32>,
    /// The slowest a reply's body may arrive, in bytes per second averaged
    /// over --body-rate-window; 0 turns the check off [default: 1024].
    #[arg(long, global = true, value_name = "BYTES")]
    min_body_rate: Option<u64>,
    /// The window of --min-body-rate, in seconds [default: 60].
    #[arg(long, global = true, value_name = "SECONDS")]
    body_rate_window: Option<u64>,
}

/// The global `--creds`, kept aside until an image names their registry.
static GLOBAL_CREDS: OnceLock<Option<Credentials>> = OnceLock::new();
/// The registry the global `--creds` were bound to.
static BOUND_TO: Mutex<Option<String>> = Mutex::new(None);

impl RegistryArgs {
    /// The registry client these flags describe, bound to no credentials:
    /// [`for_image`] binds the global `--creds` to an image's registry.
    pub fn client(&self) -> Result<Client, Error> {
        let creds = self
            .creds
            .as_deref()
            .map(Credentials::from_user_pass)
            .transpose()?;
        let _ = GLOBAL_CREDS.set(creds);
        let mut options = ClientOptions {
            auth_file: self.authfile.clone(),
            tls_verify: self.tls_verify,
            cert_dir: self.cert_dir.clone(),
            ..ClientOptions::default()
        };
        if let Some(secs) = self.timeout {
            options.connect_timeout_secs = secs;
            options.read_timeout_secs = secs;
        }
        if let Some(n) = self.retry_times {
            options.max_retries = n;
        }
        let limits = &mut options;
        set(&mut limits.max_manifest_bytes, self.max_manifest_bytes);
        set(&mut limits.max_config_bytes, self.max_config_bytes);
        set(&mut limits.max_redirects, self.max_redirects);
        set(&mut limits.max_list_pages, self.max_list_pages);
        set(&mut limits.min_body_bytes_per_sec, self.min_body_rate);
        set(&mut limits.body_rate_window_secs, self.body_rate_window);
        Client::new(options)
    }
}

/// Overrides `field` with the flag's value, when given.
fn set<T: Copy>(field: &mut T, flag: Option<T>) {
    if let Some(value) = flag {
        *field = value;
    }
}

fn global_creds() -> Option<&'static Credentials> {
    GLOBAL_CREDS.get().and_then(Option::as_ref)
}

/// The registry a `docker://` image names, if it is one.
pub fn registry_of(image: &str) -> Option<String> {
    let reference = image.strip_prefix("docker://")?;
    Reference::parse(reference)
        .ok()
        .map(|r| r.domain().to_owned())
}

fn usage(message: String) -> Error {
    Error::invalid(message)
}

/// The client for a single-image verb's `image`: `client` with the global
/// `--creds` bound to the image's registry. Refuses a second registry.
pub fn for_image(image: &str, client: &Client) -> Result<Client, Error> {
    let (Some(creds), Some(registry)) = (global_creds(), registry_of(image)) else {
        return Ok(client.clone());
    };
    let mut bound = BOUND_TO.lock().unwrap_or_else(|p| p.into_inner());
    match bound.as_deref() {
        Some(first) if first != registry => {
            return Err(usage(format!(
                "--creds are for one registry, and this command reaches two ({first} and \
                 {registry}); give each its own (--src-creds and --dest-creds)"
            )))
        }
        _ => *bound = Some(registry.clone()),
    }
    bind(client.options(), [(registry, creds.clone())])
}

/// A client of `options` with `credentials` bound to their registries.
fn bind(
    options: &ClientOptions,
    credentials: impl IntoIterator<Item = (String, Credentials)>,
) -> Result<Client, Error> {
    let mut options = options.clone();
    options.credentials.extend(credentials);
    Client::new(options)
}

/// How `copy` and `sync` reach each side, as skopeo spells it.
#[derive(Args)]
#[command(next_help_heading = "Reaching each side's registry")]
pub struct SideArgs {
    /// Credentials for the source registry, as USER:PASSWORD.
    #[arg(long, value_name = "USER:PASSWORD")]
    src_creds: Option<String>,
    /// Credentials for the destination registry, as USER:PASSWORD.
    #[arg(long, value_name = "USER:PASSWORD")]
    dest_creds: Option<String>,
    /// Verify the source's TLS certificates (a bare flag means true);
    /// =false also allows plain HTTP. Defaults to --tls-verify.
    #[arg(long, value_name = "BOOL", num_args = 0..=1, require_equals = true,
          default_missing_value = "true")]
    src_tls_verify: Option<bool>,
    /// Verify the destination's TLS certificates (as --src-tls-verify).
    #[arg(long, value_name = "BOOL", num_args = 0..=1, require_equals = true,
          default_missing_value = "true")]
    dest_tls_verify: Option<bool>,
    /// The auth file to read first for the source (copy only).
    #[arg(long, value_name = "FILE")]
    src_authfile: Option<PathBuf>,
    /// The auth file to read first for the destination (copy only).
    #[arg(long, value_name = "FILE")]
    dest_authfile: Option<PathBuf>,
    /// Extra CA certificates for the source (copy only).
    #[arg(long, value_name = "DIR")]
    src_cert_dir: Option<PathBuf>,
    /// Extra CA certificates for the destination (copy only).
    #[arg(long, value_name = "DIR")]
    dest_cert_dir: Option<PathBuf>,
}

/// One side's flags, parsed.
struct Side {
    creds: Option<Credentials>,
    tls_verify: Option<bool>,
    authfile: Option<PathBuf>,
    cert_dir: Option<PathBuf>,
}

impl SideArgs {
    fn sides(&self) -> Result<(Side, Side), Error> {
        let parse = |s: &Option<String>| s.as_deref().map(Credentials::from_user_pass).transpose();
        Ok((
            Side {
                creds: parse(&self.src_creds)?,
                tls_verify: self.src_tls_verify,
                authfile: self.src_authfile.clone(),
                cert_dir: self.src_cert_dir.clone(),
            },
            Side {
                creds: parse(&self.dest_creds)?,
                tls_verify: self.dest_tls_verify,
                authfile: self.dest_authfile.clone(),
                cert_dir: self.dest_cert_dir.clone(),
            },
        ))
    }

    /// The clients for a copy from `src` to `dst`: each with its side's
    /// flags over the global ones, and credentials bound to its registry.
    pub fn copy_clients(
        &self,
        src: &str,
        dst: &str,
        client: &Client,
    ) -> Result<(Client, Client), Error> {
        let (src_side, dst_side) = self.sides()?;
        let (src_registry, dst_registry) = (registry_of(src), registry_of(dst));
        if let (Some(_), Some(a), Some(b)) = (global_creds(), &src_registry, &dst_registry) {
            if a != b {
                return Err(usage(format!(
                    "--creds are for one registry, and this copy reaches two ({a} and {b}); \
                     give each its own with --src-creds and --dest-creds"
                )));
            }
        }
        let one = |side: Side, registry: Option<String>| -> Result<Client, Error> {
            let mut options = client.options().clone();
            if let Some(v) = side.tls_verify {
                options.tls_verify = v;
            }
            if side.authfile.is_some() {
                options.auth_file = side.authfile;
            }
            if side.cert_dir.is_some() {
                options.cert_dir = side.cert_dir;
            }
            let creds = side.creds.or_else(|| global_creds().cloned());
            bind(&options, registry.zip(creds))
        };
        Ok((one(src_side, src_registry)?, one(dst_side, dst_registry)?))
    }

    /// The client for a `sync` of `jobs` (SRC, DST): one client, each
    /// side's credentials bound to that side's registry (which must then be
    /// one), `--src-tls-verify=false`/`--dest-tls-verify=false` making that
    /// side's registries insecure.
    pub fn sync_client<'a>(
        &self,
        jobs: impl Iterator<Item = (&'a str, &'a str)> + Clone,
        client: &Client,
    ) -> Result<Client, Error> {
        let (src_side, dst_side) = self.sides()?;
        if src_side.authfile.is_some()
            || dst_side.authfile.is_some()
            || src_side.cert_dir.is_some()
            || dst_side.cert_dir.is_some()
        {
            return Err(usage(
                "sync takes --src-creds/--dest-creds and --src-tls-verify/--dest-tls-verify; \
                 use the global --authfile and --cert-dir"
                    .into(),
            ));
        }
        let registries = |pick: fn((&'a str, &'a str)) -> &'a str| -> Vec<String> {
            let mut all: Vec<String> = jobs.clone().filter_map(|j| registry_of(pick(j))).collect();
            all.sort();
            all.dedup();
            all
        };
        let (srcs, dsts) = (registries(|j| j.0), registries(|j| j.1));
        let mut options = client.options().clone();
        let mut credentials = BTreeMap::new();
        let mut bind_side = |flag: &str, creds: Option<Credentials>, on: &[String]| {
            let Some(creds) = creds else { return Ok(()) };
            match on {
                [registry] => {
                    if credentials.get(registry).is_some_and(|c| *c != creds) {
                        return Err(usage(format!(
                            "two different credentials for {registry}: give them once"
                        )));
                    }
                    credentials.insert(registry.clone(), creds);
                    Ok(())
                }
                [] => Ok(()),
                many => Err(usage(format!(
                    "{flag} are for one registry, and the list reaches {}: split the list by registry",
                    many.join(", ")
                ))),
            }
        };
        bind_side("--src-creds", src_side.creds, &srcs)?;
        bind_side("--dest-creds", dst_side.creds, &dsts)?;
        if let Some(creds) = global_creds() {
            let mut all = [srcs.clone(), dsts.clone()].concat();
            all.sort();
            all.dedup();
            bind_side("--creds", Some(creds.clone()), &all)?;
        }
        for (verify, on) in [(src_side.tls_verify, &srcs), (dst_side.tls_verify, &dsts)] {
            if verify == Some(false) {
                options.insecure.extend(on.iter().cloned());
            }
        }
        bind(&options, credentials)
    }
}
