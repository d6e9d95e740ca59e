//! The operating system from `os-release(5)`: `etc/os-release`, or
//! `usr/lib/os-release` when the first is missing.

use super::catalog::Found;
use super::model::OperatingSystem;
use super::rootfs::RootFs;
use crate::error::ErrorKind;

/// The files tried, in order (os-release(5): "the file /etc/os-release takes
/// precedence over /usr/lib/os-release").
const PATHS: [&str; 2] = ["etc/os-release", "usr/lib/os-release"];

/// os-release files are a few hundred bytes; anything past this is not one.
const MAX_BYTES: u64 = 64 << 10;

/// The operating system described by the first os-release file found, `None` when
/// there is none (a warning when one is unreadable).
pub(super) fn find(fs: &dyn RootFs, found: &mut Found) -> Option<OperatingSystem> {
    for path in PATHS {
        match fs.read(path, MAX_BYTES) {
            Ok(bytes) => return Some(parse(&String::from_utf8_lossy(&bytes), path)),
            Err(err) if err.kind() == ErrorKind::NotFound => continue,
            Err(err) => found.warn(format!("{path}: {err}")),
        }
    }
    None
}

/// Parses os-release text: `KEY=VALUE` lines, values optionally quoted as in a
/// shell (double quotes with `\` escapes, or single quotes), `#` comments.
pub(super) fn parse(text: &str, evidence: &str) -> OperatingSystem {
    let mut os = OperatingSystem {
        evidence: evidence.to_string(),
        ..OperatingSystem::default()
    };
    for line in text.lines() {
        let line = line.trim();
        if line.starts_with('#') {
            continue;
        }
        let Some((key, value)) = line.split_once('=') else {
            continue;
        };
        let value = unquote(value.trim());
        match key.trim() {
            "ID" => os.id = value,
            "VERSION_ID" => os.version_id = value,
            "NAME" => os.name = value,
            "PRETTY_NAME" => os.pretty_name = value,
            "ID_LIKE" => os.id_like = value.split_whitespace().map(str::to_string).collect(),
            _ => {}
        }
    }
    if os.id.is_empty() {
        // os-release(5): "If not set, a default of ID=linux may be used."
        os.id = "linux".to_string();
    }
    os
}

/// A shell-quoted value without its quotes and escapes.
fn unquote(value: &str) -> String {
    let mut out = String::with_capacity(value.len());
    let mut chars = value.chars();
    let mut quote = None;
    while let Some(c) = chars.next() {
        match (quote, c) {
            (None, '"' | '\'') => quote = Some(c),
            (Some(q), c) if c == q => quote = None,
            (Some('"') | None, '\\') => out.extend(chars.next()),
            _ => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quoted_values() {
        let os = parse(
            "# comment\nNAME=\"Debian GNU/Linux\"\nID=debian\nVERSION_ID='12'\nPRETTY_NAME=\"A \\\"q\\\" b\"\nID_LIKE=\"rhel fedora\"\n",
            "etc/os-release",
        );
        assert_eq!(os.name, "Debian GNU/Linux");
        assert_eq!(os.id, "debian");
        assert_eq!(os.version_id, "12");
        assert_eq!(os.pretty_name, "A \"q\" b");
        assert_eq!(os.id_like, ["rhel", "fedora"]);
    }
}
