//! Static registries: images exported as a directory tree (the `static:`
//! transport, [`crate::transport::StaticTree`]) that a plain web server
//! serves as a read-only `/v2` registry, and the web-server configuration
//! that tells the server what it cannot know by itself — each manifest's
//! `Content-Type` and `Docker-Content-Digest`, blobs' digests, and the
//! distribution spec's JSON error bodies for 404s (nginx: [`nginx_conf`],
//! Caddy: [`caddyfile`]). [`export`] does both: copies an image into the tree
//! and regenerates the configuration from everything the tree serves.

mod caddy;
mod nginx;

use std::path::{Path, PathBuf};
use std::sync::Arc;

use serde::Serialize;

pub use caddy::caddyfile;
pub use nginx::nginx_conf;

use crate::copy::{CopyOptions, CopyReport};
use crate::error::{Error, Result};
use crate::transport::static_tree::tree::Tree;
use crate::transport::{DockerRegistry, ImageRef, Selector, StaticTree};

/// The site address used when no base URL is given.
pub const DEFAULT_BASE_URL: &str = "http://localhost:8080";

/// How to export into a static registry tree.
#[derive(Debug, Clone, Default)]
pub struct StaticOptions {
    /// The repository name in the tree (`team/app`). Defaults to the
    /// repository path of a `docker://` source; required for others.
    pub name: Option<String>,
    /// The tag in the tree. Defaults to the source's tag, else `latest`.
    pub tag: Option<String>,
    /// Where to write an nginx `location` snippet (to `include` inside a
    /// `server { }` block). Defaults to none.
    pub nginx_conf: Option<PathBuf>,
    /// Where to write a Caddyfile site block. Defaults to none.
    pub caddyfile: Option<PathBuf>,
    /// The URL clients reach the tree at, `http(s)://HOST[:PORT]` with no
    /// path: the Caddy site address and the pull references of the report.
    /// Defaults to [`DEFAULT_BASE_URL`].
    pub base_url: Option<String>,
    /// How to copy (`all`, `platform`, `platforms`, `referrers`, …).
    pub copy: CopyOptions,
}

/// What an export did.
#[derive(Debug, Clone, Serialize)]
pub struct StaticReport {
    /// The copy into the tree.
    pub copy: CopyReport,
    /// The tree's directory.
    pub dir: PathBuf,
    /// The repository name and tag written, `NAME:TAG`.
    pub image: String,
    /// The reference to pull it by, `HOST[:PORT]/NAME:TAG`.
    pub pull: String,
    /// How many manifest URLs the tree serves (every tag and digest of
    /// every repository), all in the configurations written.
    pub manifests_served: usize,
    /// The nginx snippet written, if any.
    pub nginx_conf: Option<PathBuf>,
    /// The Caddyfile written, if any.
    pub caddyfile: Option<PathBuf>,
}

/// Copies the image `src` names into the tree at `dir` as `NAME:TAG` (see
/// [`StaticOptions`]), then writes the configurations asked for, made from
/// everything the tree serves. Errors: a `dir` that exists, is not empty
/// and is not a tree; a bad name, tag or base URL; any copy error.
pub fn export(src: &ImageRef, dir: &Path, options: &StaticOptions) -> Result<StaticReport> {
    let host = base_host(options.base_url.as_deref())?;
    let name = match (
        &options.name,
        src.transport().as_any().downcast_ref::<DockerRegistry>(),
    ) {
        (Some(name), _) => name.clone(),
        (None, Some(registry)) => registry.repository().name.clone(),
        (None, None) => {
            return Err(Error::invalid(format!(
                "name the repository to write {src} as in the tree (\"name\", --name)"
            )))
        }
    };
    let tag = match (&options.tag, src.selector()) {
        (Some(tag), _) => tag.clone(),
        (None, Some(Selector::Tag(tag))) => tag.clone(),
        _ => crate::reference::DEFAULT_TAG.to_owned(),
    };
    crate::reference::validate_tag_name(&tag)?;
    let dst = ImageRef::new(
        Arc::new(StaticTree::new(dir, &name)?),
        Some(Selector::Tag(tag.clone())),
    );
    let copy = crate::copy(src, &dst, &options.copy)?;
    let manifests_served = configure(dir, options)?;
    Ok(StaticReport {
        copy,
        dir: dir.to_path_buf(),
        image: format!("{name}:{tag}"),
        pull: format!("{host}/{name}:{tag}"),
        manifests_served,
        nginx_conf: options.nginx_conf.clone(),
        caddyfile: options.caddyfile.clone(),
    })
}

/// Writes the configurations `options` asks for (`nginx_conf`,
/// `caddyfile`) for the tree at `dir` as it is now, each atomically;
/// returns how many manifest URLs they serve. Run it after writing into a
/// tree by `copy` or `sync`.
pub fn configure(dir: &Path, options: &StaticOptions) -> Result<usize> {
    if !Tree::is_tree(dir) {
        return Err(Error::not_found(format!(
            "{} is not a static registry tree (it has no {})",
            dir.display(),
            crate::transport::static_tree::tree::MARKER
        )));
    }
    let root = std::path::absolute(dir)
        .map_err(|e| Error::io(format!("resolving {}", dir.display()), e))?;
    let served = Tree::new(&root).served()?;
    if let Some(path) = &options.nginx_conf {
        write_config(path, nginx_conf(&root, &served)?.as_bytes())?;
    }
    if let Some(path) = &options.caddyfile {
        let site = options.base_url.as_deref().unwrap_or(DEFAULT_BASE_URL);
        base_host(Some(site))?;
        write_config(path, caddyfile(&root, &served, site)?.as_bytes())?;
    }
    Ok(served.len())
}

/// `HOST[:PORT]` of a base URL, which must be `http(s)://HOST[:PORT]` with
/// no path: registries answer at `/v2/` of the host.
fn base_host(base_url: Option<&str>) -> Result<String> {
    let url = base_url.unwrap_or(DEFAULT_BASE_URL);
    let bad = |why: &str| Error::invalid(format!("invalid base URL {url:?}: {why}"));
    let uri: ureq::http::Uri = url.parse().map_err(|_| bad("not a URL"))?;
    if !matches!(uri.scheme_str(), Some("http" | "https")) {
        return Err(bad("it must start with http:// or https://"));
    }
    if !matches!(uri.path(), "" | "/") || uri.query().is_some() {
        return Err(bad(
            "a registry answers at /v2/ of its host; give no path (serve the tree at the root)",
        ));
    }
    let authority = uri.authority().ok_or_else(|| bad("it names no host"))?;
    if authority.as_str().contains('@') {
        return Err(bad("it must not carry credentials"));
    }
    Ok(authority.as_str().to_owned())
}

/// Writes a configuration file atomically (a temporary file beside it).
fn write_config(path: &Path, bytes: &[u8]) -> Result<()> {
    use std::io::Write;
    let dir = match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p,
        _ => Path::new("."),
    };
    let fail = |e| Error::io(format!("writing {}", path.display()), e);
    let mut temp = tempfile::Builder::new()
        .prefix(".stevedore-")
        .tempfile_in(dir)
        .map_err(fail)?;
    temp.write_all(bytes).map_err(fail)?;
    temp.as_file().sync_all().map_err(fail)?;
    temp.persist(path).map_err(|e| fail(e.error))?;
    Ok(())
}

/// The distribution spec's JSON error body for `code`.
fn error_body(code: &str, message: &str) -> String {
    serde_json::json!({ "errors": [{ "code": code, "message": message, "detail": null }] })
        .to_string()
}

/// The tree's directory as a configuration token: refused when it holds
/// characters a configuration file would read as syntax.
fn quoted_root(root: &Path) -> Result<String> {
    let text = root
        .to_str()
        .ok_or_else(|| Error::invalid(format!("{} is not valid UTF-8", root.display())))?;
    if let Some(c) = text
        .chars()
        .find(|c| matches!(c, '"' | '\\' | '$' | '{' | '}' | ';' | '\'' | '`') || c.is_control())
    {
        return Err(Error::invalid(format!(
            "the tree's path {text:?} holds {c:?}, which web-server configurations read as \
             syntax; move the tree to a plainer path"
        )));
    }
    Ok(format!("\"{text}\""))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn base_urls() {
        assert_eq!(base_host(None).unwrap(), "localhost:8080");
        assert_eq!(
            base_host(Some("https://reg.example")).unwrap(),
            "reg.example"
        );
        assert!(base_host(Some("https://reg.example/sub")).is_err());
        assert!(base_host(Some("ftp://reg.example")).is_err());
        assert!(base_host(Some("reg.example")).is_err());
    }

    #[test]
    fn roots_with_syntax_are_refused() {
        assert!(quoted_root(Path::new("/srv/a b")).is_ok());
        assert!(quoted_root(Path::new("/srv/$x")).is_err());
        assert!(quoted_root(Path::new("/srv/a\"b")).is_err());
    }
}
