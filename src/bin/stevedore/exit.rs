//! How a failure ends the process: one exit status per error kind, and the
//! error on stderr in words or, with `--json`, as the C ABI's error JSON.

use std::process::ExitCode;

use stevedore::{Error, ErrorKind};

/// The table `stevedore --help` ends with (kept beside [`status`]).
pub const HELP: &str = "\
Exit status:
  0    success
  1    any other failure (a file that cannot be read or written, bad input)
  2    usage: an unknown flag or a missing argument
  3    not found: no such image, tag, blob, repository or file
  4    unauthorized or denied: credentials missing, refused or not enough
  5    network: the registry could not be reached or failed (also rate limits)
  6    digest mismatch: content did not match its digest or size
  7    policy: verify found no signature satisfying the policy
  130  interrupted (Ctrl-C, SIGTERM) or cancelled; what the copy created is removed

With --json, a failure is printed on stderr as one JSON object:
{\"kind\", \"message\", \"http_status\", \"registry_errors\"}.";

/// The exit status for an error of `kind` (see [`HELP`]).
pub fn status(kind: ErrorKind) -> u8 {
    match kind {
        ErrorKind::NotFound => 3,
        ErrorKind::Unauthorized | ErrorKind::Denied => 4,
        ErrorKind::Network | ErrorKind::RateLimited => 5,
        ErrorKind::DigestMismatch => 6,
        ErrorKind::Policy => 7,
        ErrorKind::Cancelled => 130,
        _ => 1,
    }
}

/// Reports `error` on stderr (as JSON when `json`) and gives its status.
pub fn fail(error: &Error, json: bool) -> ExitCode {
    if json {
        crate::output::note(&error.to_json().to_string());
    } else {
        crate::output::note(&format!("stevedore: {} error: {error}", error.kind()));
    }
    ExitCode::from(status(error.kind()))
}
