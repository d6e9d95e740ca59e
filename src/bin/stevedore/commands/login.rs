//! `login` and `logout`: credentials kept in the auth file skopeo and podman
//! write (the global `--authfile`, else the primary one).

use std::io::{BufRead, IsTerminal, Write};

use clap::Args;
use stevedore::auth::{Credentials, Secret};
use stevedore::registry::Client;
use stevedore::Error;

use crate::output::emit;

/// `stevedore login REGISTRY`.
#[derive(Args)]
pub struct LoginArgs {
    /// The registry, as host[:port] (such as registry.example:5000).
    registry: String,
    /// The user name (asked for on a terminal when not given).
    #[arg(short, long)]
    username: Option<String>,
    /// Read the password from stdin (one line), rather than asking for it.
    #[arg(long)]
    password_stdin: bool,
}

/// `stevedore logout REGISTRY`.
#[derive(Args)]
pub struct LogoutArgs {
    /// The registry, as host[:port].
    registry: String,
}

/// Runs `login`: checks the credentials with the registry, then records them.
pub fn login(args: LoginArgs, client: &Client, out: &mut dyn Write) -> Result<(), Error> {
    // Before any password is asked for.
    stevedore::reference::validate_registry(&args.registry)?;
    let terminal = std::io::stdin().is_terminal();
    let username = match args.username {
        Some(u) => u,
        None if terminal && !args.password_stdin => {
            eprint!("Username: ");
            read_line()?
        }
        None => {
            return Err(Error::invalid(
                "give the user name with --username (stdin is not a terminal)",
            ))
        }
    };
    let password = if args.password_stdin {
        read_line()?
    } else if terminal {
        rpassword::prompt_password("Password: ")
            .map_err(|e| Error::io("reading the password from the terminal", e))?
    } else {
        return Err(Error::invalid(
            "give the password on stdin with --password-stdin (stdin is not a terminal)",
        ));
    };
    if password.is_empty() {
        return Err(Error::invalid("the password is empty"));
    }
    let credentials = Credentials::Basic {
        username,
        password: Secret::new(password),
    };
    let file = stevedore::login(client, &args.registry, &credentials)?;
    emit(
        out,
        format!(
            "Login Succeeded ({} in {})\n",
            args.registry,
            file.display()
        )
        .as_bytes(),
    )
}

/// Runs `logout`.
pub fn logout(args: LogoutArgs, client: &Client, out: &mut dyn Write) -> Result<(), Error> {
    let file = stevedore::logout(client, &args.registry)?;
    emit(
        out,
        format!(
            "Removed login credentials for {} from {}\n",
            args.registry,
            file.display()
        )
        .as_bytes(),
    )
}

/// One line of stdin, without its line ending.
fn read_line() -> Result<String, Error> {
    let mut line = String::new();
    std::io::stdin()
        .lock()
        .read_line(&mut line)
        .map_err(|e| Error::io("reading stdin", e))?;
    Ok(line.trim_end_matches(['\n', '\r']).to_owned())
}
