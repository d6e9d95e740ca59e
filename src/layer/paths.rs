//! Paths inside the root: cleaning tar names, and resolving symlinks
//! without ever leaving the root (`..` stops at the root; an absolute target
//! starts again from it).

use std::collections::BTreeMap;

use super::entry::{Entry, EntryKind};

/// Why a tar name was refused.
pub(crate) enum BadPath {
    Absolute,
    DotDot,
    NotUtf8,
}

/// A tar name made relative and clean (`./a//b/` is `a/b`); `None` for the
/// root itself.
pub(crate) fn clean(raw: &[u8]) -> Result<Option<String>, BadPath> {
    let s = std::str::from_utf8(raw).map_err(|_| BadPath::NotUtf8)?;
    if s.starts_with('/') {
        return Err(BadPath::Absolute);
    }
    let mut parts = Vec::new();
    for c in s.split('/') {
        match c {
            "" | "." => {}
            ".." => return Err(BadPath::DotDot),
            c => parts.push(c),
        }
    }
    Ok((!parts.is_empty()).then(|| parts.join("/")))
}

/// `dir/name`, or `name` in the root.
pub(crate) fn join(dir: &str, name: &str) -> String {
    if dir.is_empty() {
        name.to_owned()
    } else {
        format!("{dir}/{name}")
    }
}

/// The parent directory (`""` for the root) and the last component.
pub(crate) fn split(path: &str) -> (&str, &str) {
    path.rsplit_once('/').unwrap_or(("", path))
}

/// Why a path did not resolve.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LookupError {
    /// Nothing at this path (reached without following a link).
    Missing(String),
    /// The symlink `link` leads to `missing`, which does not exist.
    Dangling {
        /// The last symlink followed.
        link: String,
        /// The path it led to that is missing.
        missing: String,
    },
    /// A component that is not a directory has more components after it.
    NotADirectory(String),
    /// More than the allowed number of symlinks were followed (a loop).
    TooManyLinks(String),
}

/// Resolves `path` in `entries` (a consistent tree) the way the kernel does
/// under a chroot: symlinks in every component are followed (the last one
/// only when `follow_last`), `..` never goes above the root, absolute
/// targets start from the root; at most `max_links` links are followed.
/// Returns the resolved path (`""` is the root).
pub(crate) fn resolve(
    entries: &BTreeMap<String, Entry>,
    path: &str,
    follow_last: bool,
    max_links: u32,
) -> Result<String, LookupError> {
    let mut pending: Vec<String> = path.rsplit('/').map(str::to_owned).collect();
    let mut current: Vec<String> = Vec::new();
    let mut links = 0;
    let mut last_link: Option<String> = None;
    while let Some(component) = pending.pop() {
        match component.as_str() {
            "" | "." => continue,
            ".." => {
                current.pop();
                continue;
            }
            _ => {}
        }
        let candidate = join(&current.join("/"), &component);
        let is_last = pending.iter().all(|c| c.is_empty() || c == ".");
        match entries.get(&candidate) {
            None => {
                return Err(match last_link {
                    Some(link) => LookupError::Dangling {
                        link,
                        missing: candidate,
                    },
                    None => LookupError::Missing(candidate),
                })
            }
            Some(e) if e.kind == EntryKind::Symlink && (!is_last || follow_last) => {
                links += 1;
                if links > max_links {
                    return Err(LookupError::TooManyLinks(candidate));
                }
                let target = e.link_target.as_deref().unwrap_or("");
                if target.starts_with('/') {
                    current.clear();
                }
                pending.extend(target.rsplit('/').map(str::to_owned));
                last_link = Some(candidate);
            }
            Some(e) if !is_last && e.kind != EntryKind::Dir => {
                return Err(LookupError::NotADirectory(candidate));
            }
            Some(_) => current.push(component),
        }
    }
    Ok(current.join("/"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tree(items: &[(&str, EntryKind, Option<&str>)]) -> BTreeMap<String, Entry> {
        items
            .iter()
            .map(|(p, k, t)| {
                let mut e = Entry::implicit_dir(p.to_string(), 0);
                e.kind = *k;
                e.link_target = t.map(str::to_owned);
                (p.to_string(), e)
            })
            .collect()
    }

    #[test]
    fn links_resolve_inside_the_root() {
        use EntryKind::*;
        let t = tree(&[
            ("etc", Dir, None),
            ("etc/passwd", File, None),
            ("up", Symlink, Some("../../../etc/passwd")),
            ("abs", Symlink, Some("/etc/passwd")),
            ("rel", Symlink, Some("etc/passwd")),
            ("d", Symlink, Some("etc")),
            ("loop", Symlink, Some("loop2")),
            ("loop2", Symlink, Some("loop")),
            ("gone", Symlink, Some("nowhere")),
        ]);
        for p in [
            "up",
            "abs",
            "rel",
            "d/passwd",
            "d/../etc/passwd",
            "/etc/passwd",
        ] {
            assert_eq!(resolve(&t, p, true, 40).unwrap(), "etc/passwd", "{p}");
        }
        assert_eq!(resolve(&t, "up", false, 40).unwrap(), "up");
        assert!(matches!(
            resolve(&t, "loop", true, 40),
            Err(LookupError::TooManyLinks(_))
        ));
        assert!(matches!(
            resolve(&t, "gone", true, 40),
            Err(LookupError::Dangling { .. })
        ));
        assert_eq!(
            resolve(&t, "nope", true, 40),
            Err(LookupError::Missing("nope".into()))
        );
        assert_eq!(
            resolve(&t, "etc/passwd/x", true, 40),
            Err(LookupError::NotADirectory("etc/passwd".into()))
        );
        for bad in [&b"/abs"[..], b"a/../../b", b"\xff"] {
            assert!(clean(bad).is_err());
        }
        assert_eq!(clean(b"./a//b/").ok().flatten().as_deref(), Some("a/b"));
        assert!(clean(b"./").ok().unwrap().is_none());
    }
}
