//! The static registry verb: export an image into a static registry tree
//! and write the web-server configuration that serves it.

use std::ffi::c_char;
use std::path::PathBuf;

use serde::Deserialize;

use super::boundary::stevedore_status;
use super::client::stevedore_client;
use super::memory::{input_str, options};
use super::verb::{image, json_verb};
use crate::copy::{CopyOptions, DEFAULT_JOBS};
use crate::platform::{self, Platform};
use crate::static_registry::{self, StaticOptions};

#[derive(Deserialize)]
#[serde(deny_unknown_fields, default)]
struct StaticArguments {
    name: Option<String>,
    tag: Option<String>,
    nginx_conf: Option<PathBuf>,
    caddyfile: Option<PathBuf>,
    base_url: Option<String>,
    all: bool,
    #[serde(deserialize_with = "platform::deserialize_optional")]
    platform: Option<Platform>,
    #[serde(deserialize_with = "platform::deserialize_list")]
    platforms: Vec<Platform>,
    jobs: usize,
    referrers: bool,
}

impl Default for StaticArguments {
    fn default() -> StaticArguments {
        StaticArguments {
            name: None,
            tag: None,
            nginx_conf: None,
            caddyfile: None,
            base_url: None,
            all: false,
            platform: None,
            platforms: Vec::new(),
            jobs: DEFAULT_JOBS,
            referrers: false,
        }
    }
}

/// Exports the image `src` names into the static registry tree at `dir`
/// (created when missing; an existing directory must be empty or a tree)
/// and writes the web-server configuration for everything the tree serves.
/// `options_json` (NULL for defaults): `{"name": the repository in the tree
/// (default: a docker:// source's; required for others), "tag" (default:
/// the source's, else "latest"), "nginx_conf": a path for an nginx
/// `location` snippet, "caddyfile": a path for a Caddyfile site block,
/// "base_url": "http(s)://HOST[:PORT]" (default "http://localhost:8080"),
/// "all", "platform", "platforms", "jobs", "referrers"}` (as
/// `stevedore_copy`). On success `*out_json` receives `{"copy": {…the copy
/// report}, "dir", "image": "NAME:TAG", "pull": "HOST[:PORT]/NAME:TAG",
/// "manifests_served", "nginx_conf", "caddyfile"}`, to free with
/// `stevedore_string_free`. Safe to call from many threads; two exports into
/// one tree are ordered by the tree's lock.
///
/// # Safety
/// `client` is NULL or a live handle; string arguments are NULL or
/// NUL-terminated; `out_json` is NULL or valid for a write.
#[no_mangle]
pub unsafe extern "C" fn stevedore_static(
    client: *const stevedore_client,
    src: *const c_char,
    dir: *const c_char,
    options_json: *const c_char,
    out_json: *mut *mut c_char,
) -> stevedore_status {
    json_verb(out_json, || {
        let src = image(client, src, "src")?;
        let dir = PathBuf::from(input_str(dir, "dir")?);
        let args: StaticArguments = options(options_json)?;
        let options = StaticOptions {
            name: args.name,
            tag: args.tag,
            nginx_conf: args.nginx_conf,
            caddyfile: args.caddyfile,
            base_url: args.base_url,
            copy: CopyOptions {
                all: args.all,
                platform: args.platform,
                platforms: args.platforms,
                jobs: args.jobs,
                referrers: args.referrers,
                ..CopyOptions::default()
            },
        };
        static_registry::export(&src, &dir, &options)
    })
}
