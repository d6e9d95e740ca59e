//! `--policy` and `--insecure-policy`: which containers-policy.json(5) file
//! `copy`, `sync` and `verify` follow, in skopeo's spelling (global flags).

use std::path::PathBuf;

use clap::Args;

/// Which signature policy applies.
#[derive(Args)]
#[command(next_help_heading = "Signature policy (containers-policy.json)")]
pub struct PolicyArgs {
    /// The policy file sources must satisfy [default:
    /// ~/.config/containers/policy.json, else /etc/containers/policy.json,
    /// else none: everything is accepted, where skopeo refuses].
    #[arg(long, global = true, value_name = "FILE")]
    policy: Option<PathBuf>,
    /// Follow no policy file.
    #[arg(long, global = true, conflicts_with = "policy")]
    insecure_policy: bool,
}

impl PolicyArgs {
    /// The file to follow, if any.
    pub fn file(&self) -> Option<PathBuf> {
        if self.insecure_policy {
            return None;
        }
        self.policy
            .clone()
            .or_else(stevedore::sign::policy_file::default_path)
    }

    /// The file named with `--policy`.
    pub fn named(&self) -> Option<PathBuf> {
        self.policy.clone()
    }
}
