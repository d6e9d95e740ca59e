//! Listing a registry: tags of a repository and the catalog of repositories,
//! both following `Link` pagination with a guard against loops.

use std::collections::HashSet;

use ureq::http::Method;

use super::http::{header_str, resolve, Call};
use super::{Client, Repository};
use crate::auth::Scope;
use crate::error::{Error, ErrorKind, Result};

/// The most pages one listing follows.
const PAGES_MAX: usize = 100_000;
/// The largest page read.
const PAGE_SIZE_MAX: u64 = 16 * 1024 * 1024;

/// The `rel="next"` target of a `Link` header.
fn next_link(link: &str) -> Option<&str> {
    link.split(',').find_map(|part| {
        let (target, params) = part.split_once(';')?;
        let is_next = params.split(';').any(|p| {
            matches!(
                p.trim().replace(' ', "").as_str(),
                "rel=\"next\"" | "rel=next"
            )
        });
        let target = target.trim().strip_prefix('<')?.strip_suffix('>')?;
        is_next.then_some(target)
    })
}

impl Client {
    /// Pages through `first` and collects `field` of each page.
    fn paginate(
        &self,
        registry: &str,
        first: String,
        scopes: Vec<Scope>,
        field: &str,
    ) -> Result<Vec<String>> {
        let endpoint = self.endpoint(registry)?;
        let mut items = Vec::new();
        let mut seen = HashSet::new();
        let mut url = first;
        for _ in 0..PAGES_MAX {
            if !seen.insert(url.clone()) {
                return Err(Error::new(
                    ErrorKind::Network,
                    format!("registry {registry} sent a pagination Link that loops back to a page already read"),
                ));
            }
            let call = Call::new(Method::GET, url.clone(), scopes.clone());
            let response = self.expect(&endpoint, &call, &[200])?;
            let next = header_str(&response, "link")
                .and_then(next_link)
                .map(|l| resolve(&url, l))
                .transpose()?;
            let page: serde_json::Value =
                serde_json::from_slice(&self.read_body(&call, response, PAGE_SIZE_MAX)?).map_err(
                    |e| {
                        Error::new(
                            ErrorKind::Network,
                            format!("registry {registry} sent a malformed list: {e}"),
                        )
                    },
                )?;
            if let Some(list) = page.get(field).and_then(|v| v.as_array()) {
                items.extend(list.iter().filter_map(|v| v.as_str().map(str::to_owned)));
            }
            match next {
                Some(next) => url = next,
                None => return Ok(items),
            }
        }
        Err(Error::new(
            ErrorKind::Network,
            format!("registry {registry} sent more than {PAGES_MAX} pages"),
        ))
    }

    /// The tags of `repo`, every page of them; `page_size` asks for pages of
    /// that many (the registry's default when `None`).
    pub fn list_tags(&self, repo: &Repository, page_size: Option<usize>) -> Result<Vec<String>> {
        let endpoint = self.endpoint(&repo.registry)?;
        let mut url = endpoint.url(&format!("/v2/{}/tags/list", repo.name));
        if let Some(n) = page_size {
            url.push_str(&format!("?n={n}"));
        }
        self.paginate(
            &repo.registry,
            url,
            vec![Scope::repository(&repo.name, &["pull"])],
            "tags",
        )
    }

    /// Up to `n` tags of `repo`, from one page asked for with `?n=`: a cheap
    /// look, for messages.
    pub fn first_tags(&self, repo: &Repository, n: usize) -> Result<Vec<String>> {
        let endpoint = self.endpoint(&repo.registry)?;
        let url = endpoint.url(&format!("/v2/{}/tags/list?n={n}", repo.name));
        let call = Call::new(
            Method::GET,
            url,
            vec![Scope::repository(&repo.name, &["pull"])],
        );
        let response = self.expect(&endpoint, &call, &[200])?;
        let body = self.read_body(&call, response, PAGE_SIZE_MAX)?;
        #[derive(serde::Deserialize)]
        struct Page {
            tags: Option<Vec<String>>,
        }
        let mut tags = serde_json::from_slice::<Page>(&body)
            .ok()
            .and_then(|p| p.tags)
            .unwrap_or_default();
        tags.truncate(n);
        Ok(tags)
    }

    /// The repositories of `registry` (`_catalog`), every page of them.
    pub fn catalog(&self, registry: &str, page_size: Option<usize>) -> Result<Vec<String>> {
        let endpoint = self.endpoint(registry)?;
        let mut url = endpoint.url("/v2/_catalog");
        if let Some(n) = page_size {
            url.push_str(&format!("?n={n}"));
        }
        let scope = Scope {
            resource: "registry:catalog".into(),
            actions: vec!["*"],
        };
        self.paginate(registry, url, vec![scope], "repositories")
    }
}

#[cfg(test)]
mod tests {
    use super::next_link;

    #[test]
    fn finds_the_next_link() {
        assert_eq!(
            next_link(r#"</v2/a/tags/list?n=2&last=b>; rel="next""#),
            Some("/v2/a/tags/list?n=2&last=b")
        );
        assert_eq!(
            next_link(r#"<http://x/prev>; rel="prev", <http://x/next>; rel=next"#),
            Some("http://x/next")
        );
        assert_eq!(next_link(r#"</v2/a>; rel="first""#), None);
    }
}
