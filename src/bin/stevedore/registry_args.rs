//! The flags that say how to reach registries, shared by every verb.

use clap::{ArgAction, Args};
use stevedore::auth::{Credentials, Secret};
use stevedore::registry::{Client, ClientOptions};
use stevedore::Error;

/// How to reach registries (for docker:// images).
#[derive(Args)]
#[command(next_help_heading = "Reaching registries (docker:// images)")]
pub struct RegistryArgs {
    /// Credentials for the registries, as USER:PASSWORD.
    #[arg(long, global = true, value_name = "USER:PASSWORD")]
    creds: Option<String>,
    /// The auth file to read credentials from (default: the containers and docker ones).
    #[arg(long, global = true, value_name = "FILE")]
    authfile: Option<std::path::PathBuf>,
    /// Verify TLS certificates; =false also allows plain HTTP.
    #[arg(long, global = true, default_value_t = true, action = ArgAction::Set, value_name = "BOOL")]
    tls_verify: bool,
    /// A directory of extra CA certificates (*.crt).
    #[arg(long, global = true, value_name = "DIR")]
    cert_dir: Option<std::path::PathBuf>,
}

impl RegistryArgs {
    /// The registry client these flags describe.
    pub fn client(&self) -> Result<Client, Error> {
        let (username, password) = match self
            .creds
            .as_deref()
            .map(Credentials::from_user_pass)
            .transpose()?
        {
            Some(Credentials::Basic { username, password }) => (Some(username), Some(password)),
            _ => (None, None::<Secret>),
        };
        Client::new(ClientOptions {
            username,
            password,
            auth_file: self.authfile.clone(),
            tls_verify: self.tls_verify,
            cert_dir: self.cert_dir.clone(),
            ..ClientOptions::default()
        })
    }
}
