//! The distribution API's paths, parsed: `/v2/`, `/v2/_catalog`, and
//! `/v2/NAME/{manifests,blobs,blobs/uploads,tags/list,referrers}/…`, with
//! the repository name checked against the spec's grammar.

use super::reply::{codes, ApiError};
use crate::reference::validate_repository;

/// What a path names.
#[derive(Debug, PartialEq, Eq)]
pub enum Route {
    /// `/v2/`: the API check.
    Base,
    /// `/v2/_catalog`.
    Catalog,
    /// `/v2/NAME/tags/list`.
    Tags(String),
    /// `/v2/NAME/manifests/REFERENCE`.
    Manifest(String, String),
    /// `/v2/NAME/blobs/DIGEST`.
    Blob(String, String),
    /// `/v2/NAME/blobs/uploads/`.
    Uploads(String),
    /// `/v2/NAME/blobs/uploads/ID`.
    Upload(String, String),
    /// `/v2/NAME/referrers/DIGEST`.
    Referrers(String, String),
}

impl Route {
    /// The repository the route is about (empty for `/v2/` and the catalog).
    pub fn repository(&self) -> &str {
        match self {
            Route::Base | Route::Catalog => "",
            Route::Tags(n)
            | Route::Manifest(n, _)
            | Route::Blob(n, _)
            | Route::Uploads(n)
            | Route::Upload(n, _)
            | Route::Referrers(n, _) => n,
        }
    }
}

/// Makes a route from the repository name and the path segments after it.
type Build = fn(String, &[&str]) -> Route;

/// Parses a decoded path; `None` when it is not an API path at all.
pub fn parse(path: &str) -> Option<Result<Route, ApiError>> {
    let rest = path.strip_prefix("/v2")?;
    if rest.is_empty() || rest == "/" {
        return Some(Ok(Route::Base));
    }
    let rest = rest.strip_prefix('/')?;
    if rest == "_catalog" {
        return Some(Ok(Route::Catalog));
    }
    let parts: Vec<&str> = rest.split('/').collect();
    let n = parts.len();
    let (name_end, route): (usize, Build) = match parts.as_slice() {
        [.., "tags", "list"] if n > 2 => (n - 2, |name, _| Route::Tags(name)),
        [.., "blobs", "uploads", ""] | [.., "blobs", "uploads"] if n > 2 => {
            let end = if parts[n - 1].is_empty() {
                n - 3
            } else {
                n - 2
            };
            (end, |name, _| Route::Uploads(name))
        }
        [.., "blobs", "uploads", _] if n > 3 => {
            (n - 3, |name, tail| Route::Upload(name, tail[2].to_owned()))
        }
        [.., "manifests", _] if n > 2 => (n - 2, |name, tail| {
            Route::Manifest(name, tail[1].to_owned())
        }),
        [.., "blobs", _] if n > 2 => (n - 2, |name, tail| Route::Blob(name, tail[1].to_owned())),
        [.., "referrers", _] if n > 2 => (n - 2, |name, tail| {
            Route::Referrers(name, tail[1].to_owned())
        }),
        _ => return None,
    };
    let name = parts[..name_end].join("/");
    Some(match validate_repository(&name) {
        Ok(()) => Ok(route(name, &parts[name_end..])),
        Err(e) => Err(codes::name_invalid(e.message())),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ok(path: &str) -> Route {
        parse(path).unwrap().unwrap()
    }

    #[test]
    fn paths() {
        assert_eq!(ok("/v2/"), Route::Base);
        assert_eq!(ok("/v2"), Route::Base);
        assert_eq!(ok("/v2/_catalog"), Route::Catalog);
        assert_eq!(ok("/v2/a/b/tags/list"), Route::Tags("a/b".into()));
        assert_eq!(
            ok("/v2/a/manifests/latest"),
            Route::Manifest("a".into(), "latest".into())
        );
        assert_eq!(ok("/v2/a/blobs/uploads/"), Route::Uploads("a".into()));
        assert_eq!(
            ok("/v2/x/blobs/uploads/abc"),
            Route::Upload("x".into(), "abc".into())
        );
        assert_eq!(
            ok("/v2/blobs/blobs/sha256:00"),
            Route::Blob("blobs".into(), "sha256:00".into())
        );
        assert_eq!(
            ok("/v2/r/referrers/sha256:00"),
            Route::Referrers("r".into(), "sha256:00".into())
        );
        assert!(parse("/v2/UP/manifests/x").unwrap().is_err());
        assert!(parse("/v2/a//b/tags/list").unwrap().is_err());
        assert!(parse("/v3/a").is_none());
        assert!(parse("/v2/a/unknown").is_none());
    }
}
