//! The `Link` header of a paginated answer (RFC 8288, as the Distribution
//! spec uses it for tags, catalog and referrers): the one parser every
//! listing follows, lenient about the forms registries send, strict about
//! headers it cannot use.

use super::http::resolve;
use crate::error::{Error, ErrorKind, Result};

/// The URL of the next page named by the `Link` header values `values`,
/// resolved against `answered` (the URL that answered), or `None` when no
/// link has `rel=next` (the last page).
///
/// Accepts `<url>; rel="next"` and the forms real registries send beside
/// it: the target without angle brackets, absolute, absolute-path or
/// relative URLs, `rel=next` quoted or not, several relation types in one
/// `rel`, extra parameters, several links in one header or across headers.
///
/// # Errors
/// [`ErrorKind::Network`] when a header is present but no `rel=next` can be
/// told apart from it (it holds a link value that cannot be parsed), or when
/// its next target is empty or cannot be resolved: a listing never ends
/// silently short.
pub(crate) fn next_page(values: &[&str], answered: &str) -> Result<Option<String>> {
    let mut unusable = None;
    for value in values {
        for link in split_links(value) {
            match parse_link(link) {
                Some((target, true)) if !target.is_empty() => {
                    return resolve(answered, target)
                        .map(Some)
                        .map_err(|e| e.context("the pagination Link header cannot be followed"))
                }
                Some((_, true)) | None => unusable = Some(link.trim().to_owned()),
                Some((_, false)) => {}
            }
        }
    }
    match unusable {
        Some(link) => Err(Error::new(
            ErrorKind::Network,
            format!(
                "the registry sent a pagination Link header that cannot be followed ({}); \
                 the list would be incomplete",
                link.split('?').next().unwrap_or("")
            ),
        )),
        None => Ok(None),
    }
}

/// The link values of one header: split at commas outside `<…>` and quotes.
fn split_links(value: &str) -> Vec<&str> {
    let (mut links, mut start, mut angle, mut quoted) = (Vec::new(), 0, false, false);
    for (i, c) in value.char_indices() {
        match c {
            '<' if !quoted => angle = true,
            '>' if !quoted => angle = false,
            '"' if !angle => quoted = !quoted,
            ',' if !angle && !quoted => {
                links.push(&value[start..i]);
                start = i + 1;
            }
            _ => {}
        }
    }
    links.push(&value[start..]);
    links.into_iter().filter(|l| !l.trim().is_empty()).collect()
}

/// One link value: its target and whether its `rel` includes `next`;
/// `None` when it has no target or no parameters to read.
fn parse_link(link: &str) -> Option<(&str, bool)> {
    let link = link.trim();
    let (target, params) = if let Some(rest) = link.strip_prefix('<') {
        let (target, params) = rest.split_once('>')?;
        (target.trim(), params.trim_start().strip_prefix(';')?)
    } else {
        let (target, params) = link.split_once(';')?;
        (target.trim(), params)
    };
    let is_next = params.split(';').any(|param| {
        let Some((name, value)) = param.split_once('=') else {
            return false;
        };
        name.trim().eq_ignore_ascii_case("rel")
            && value
                .trim()
                .trim_matches('"')
                .split_ascii_whitespace()
                .any(|rel| rel.eq_ignore_ascii_case("next"))
    });
    Some((target, is_next))
}

#[cfg(test)]
mod tests {
    use super::next_page;

    const ANSWERED: &str = "http://127.0.0.1:5000/v2/a/tags/list?n=3";

    #[test]
    fn follows_every_form_registries_send() {
        let next = "http://127.0.0.1:5000/v2/a/tags/list?n=3&last=t003";
        for header in [
            r#"</v2/a/tags/list?n=3&last=t003>; rel="next""#,
            r#"/v2/a/tags/list?n=3&last=t003; rel="next""#,
            "/v2/a/tags/list?n=3&last=t003; rel=next",
            "</v2/a/tags/list?n=3&last=t003>;rel=next",
            r#"<http://127.0.0.1:5000/v2/a/tags/list?n=3&last=t003>; rel="next""#,
            r#"http://127.0.0.1:5000/v2/a/tags/list?n=3&last=t003; rel="next""#,
            r#"<list?n=3&last=t003>; rel="next""#,
            r#"<?n=3&last=t003>; rel="next""#,
            r#"<//127.0.0.1:5000/v2/a/tags/list?n=3&last=t003>; rel="next""#,
            r#"</v2/a/tags/list?n=3&last=t003>; rel="next"; type="application/json""#,
            r#"</v2/a/tags/list?n=3&last=t003>; type="a,b"; REL="Next""#,
            r#"</v2/a/tags/list?n=3&last=t003>; rel="prev next""#,
            r#"</v2/a/tags/list?n=1>; rel="prev", </v2/a/tags/list?n=3&last=t003>; rel="next""#,
            r#"</v2/a/tags/list?n=3&last=t003>; rel="next", </v2/a/tags/list?n=1>; rel="prev""#,
            r#"  </v2/a/tags/list?n=3&last=t003>  ;  rel = "next"  "#,
            r#"</v2/a/../a/./tags/list?n=3&last=t003>; rel="next""#,
        ] {
            assert_eq!(
                next_page(&[header], ANSWERED).unwrap().as_deref(),
                Some(next),
                "{header}"
            );
        }
        assert_eq!(
            next_page(
                &[
                    r#"</v2/a/tags/list?n=1>; rel="prev""#,
                    "</v2/a/tags/list?n=3&last=t003>; rel=next"
                ],
                ANSWERED
            )
            .unwrap()
            .as_deref(),
            Some(next),
            "the next link in a second Link header"
        );
    }

    #[test]
    fn ends_where_no_link_is_next() {
        assert_eq!(next_page(&[], ANSWERED).unwrap(), None);
        assert_eq!(
            next_page(&[r#"</v2/a/tags/list?n=1>; rel="prev""#], ANSWERED).unwrap(),
            None
        );
        assert_eq!(
            next_page(&[r#"</v2/a>; rel="nextpage""#], ANSWERED).unwrap(),
            None
        );
    }

    #[test]
    fn refuses_a_link_it_cannot_use() {
        for header in [
            "/v2/a/tags/list?n=3&last=t003",
            "<>; rel=next",
            "; rel=next",
            "</v2/a/tags/list?n=3&last=t003; rel=next",
            "<http://[::1/x>; rel=next",
            "<ftp://127.0.0.1/x>; rel=next",
            "garbage",
        ] {
            let e = next_page(&[header], ANSWERED).expect_err(header);
            assert!(e.to_string().contains("Link"), "{e}");
        }
    }
}
