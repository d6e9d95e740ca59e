//! Credentials in what was meant as a reference (`user:secret@host/…`):
//! spotting them, and hiding them from what is echoed in messages.

/// `s` (an image reference or a transport string) fit to echo in a
/// message: credentials before a registry address (`user:secret@host/…`,
/// RFC 3986 §3.2.1 userinfo) become `user:***@`, a user alone `***@`, and the
/// whole is cut to 300 characters. The `@` of a digest (`app@sha256:…`) is
/// left alone.
pub fn redacted(s: &str) -> String {
    let start = s.find("//").map_or(0, |i| i + 2);
    let end = s[start..].find('/').map_or(s.len(), |i| start + i);
    let shown = match s[start..end].rfind('@').map(|i| start + i) {
        Some(at) if !digest_follows(&s[at + 1..]) => {
            let userinfo = &s[start..at];
            let user = match userinfo.split_once(':') {
                Some((user, _)) => format!("{user}:"),
                None => String::new(),
            };
            format!("{}{user}***{}", &s[..start], &s[at..])
        }
        _ => s.to_owned(),
    };
    shown.chars().take(300).collect()
}

/// Whether `s` has credentials (`user:secret@`) before its first `/`,
/// where only a registry address may be.
pub(super) fn has_userinfo(s: &str) -> bool {
    s.split_once('/')
        .and_then(|(first, _)| first.rfind('@'))
        .is_some_and(|at| !digest_follows(&s[at + 1..]))
}

/// Whether `tail`, what follows an `@`, starts as a digest (`sha256:…`)
/// rather than a registry address (`host.example`, `localhost:5000`): an
/// algorithm name without dots, then a `:` not followed by a port.
fn digest_follows(tail: &str) -> bool {
    let address = tail.split('/').next().unwrap_or_default();
    match address.split_once(':') {
        Some((algorithm, rest)) => {
            !algorithm.contains('.') && !rest.bytes().all(|b| b.is_ascii_digit())
        }
        None => false,
    }
}
