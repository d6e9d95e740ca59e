//! Listing a registry: tags of a repository and the catalog of repositories,
//! both following `Link` pagination (see [`super::link`]) with a guard
//! against loops.

use std::collections::HashSet;

use ureq::http::Method;

use super::http::{answered_by, link_values, with_query, Call};
use super::link::next_page;
use super::{Client, Repository};
use crate::auth::Scope;
use crate::error::{Error, ErrorKind, Result};

/// The largest page read.
const PAGE_SIZE_MAX: u64 = 16 * 1024 * 1024;

/// One page of a tag list or of the catalog (distribution spec, "Listing
/// Tags" and "Listing Repositories"); other fields are skipped unread.
#[derive(serde::Deserialize)]
struct Page {
    tags: Option<Vec<String>>,
    repositories: Option<Vec<String>>,
}

/// Which list a listing collects.
#[derive(Clone, Copy)]
enum Field {
    Tags,
    Repositories,
}

impl Field {
    fn of(self, page: Page) -> Option<Vec<String>> {
        match self {
            Field::Tags => page.tags,
            Field::Repositories => page.repositories,
        }
    }

    fn name(self) -> &'static str {
        match self {
            Field::Tags => "tags",
            Field::Repositories => "repositories",
        }
    }
}

impl Client {
    /// Pages through `first` and collects `field` of each page.
    fn paginate(
        &self,
        registry: &str,
        first: String,
        scopes: Vec<Scope>,
        field: Field,
    ) -> Result<Vec<String>> {
        let endpoint = self.endpoint(registry)?;
        let mut items = Vec::new();
        let mut seen = HashSet::new();
        let mut url = first;
        let max = self.options().max_list_pages;
        for _ in 0..max {
            if !seen.insert(url.clone()) {
                return Err(Error::new(
                    ErrorKind::Network,
                    format!("registry {registry} sent a pagination Link that loops back to a page already read"),
                ));
            }
            let call = Call::new(Method::GET, url.clone(), scopes.clone());
            let response = self.expect(&endpoint, &call, &[200])?;
            let next =
                next_page(&link_values(&response), answered_by(&response, &url)).map_err(|e| {
                    e.context(format!("listing {} of registry {registry}", field.name()))
                })?;
            let body = self.read_body(&call, response, PAGE_SIZE_MAX)?;
            let page: Page = serde_json::from_slice(&body).map_err(|e| {
                Error::new(
                    ErrorKind::Network,
                    format!("registry {registry} sent a malformed list: {e}"),
                )
            })?;
            items.extend(field.of(page).unwrap_or_default());
            match next {
                Some(next) => url = next,
                None => return Ok(items),
            }
        }
        Err(Error::new(
            ErrorKind::Network,
            format!("registry {registry} sent more than {max} pages (the limit max_list_pages)"),
        ))
    }

    /// The tags of `repo`, every page of them; `page_size` asks for pages of
    /// that many (the registry's default when `None`).
    pub fn list_tags(&self, repo: &Repository, page_size: Option<usize>) -> Result<Vec<String>> {
        let endpoint = self.endpoint(&repo.registry)?;
        let mut url = endpoint.url(&format!("/v2/{}/tags/list", repo.name));
        if let Some(n) = page_size {
            url = with_query(&url, &[("n", &n.to_string())])?;
        }
        self.paginate(
            &repo.registry,
            url,
            vec![Scope::repository(&repo.name, &["pull"])],
            Field::Tags,
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
            url = with_query(&url, &[("n", &n.to_string())])?;
        }
        let scope = Scope {
            resource: "registry:catalog".into(),
            actions: vec!["*"],
        };
        self.paginate(registry, url, vec![scope], Field::Repositories)
    }
}
