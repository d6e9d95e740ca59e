//! License names as databases spell them, sorted into SPDX license expressions
//! (checked against the SPDX license list by the `spdx` crate) and free text.

/// Whether `license` is an SPDX license expression of listed licenses only
/// (`MIT`, `GPL-2.0-or-later WITH Classpath-exception-2.0`, `(MIT OR Apache-2.0)`).
/// `LicenseRef-` and `DocumentRef-` references are not: a document would have to
/// define them.
pub(super) fn is_spdx_expression(license: &str) -> bool {
    !license.contains("LicenseRef-")
        && !license.contains("DocumentRef-")
        && spdx::Expression::parse(license).is_ok()
}

/// The conjunction of `expressions` (`A AND (B OR C)`), compound ones in
/// parentheses; `None` when there are none.
pub(super) fn conjunction<S: AsRef<str>>(expressions: &[S]) -> Option<String> {
    match expressions {
        [] => None,
        [one] => Some(one.as_ref().to_string()),
        many => Some(
            many.iter()
                .map(|e| {
                    let e = e.as_ref();
                    if e.contains(' ') {
                        format!("({e})")
                    } else {
                        e.to_string()
                    }
                })
                .collect::<Vec<_>>()
                .join(" AND "),
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn expressions() {
        assert!(is_spdx_expression("MIT"));
        assert!(is_spdx_expression("MIT OR Apache-2.0"));
        assert!(!is_spdx_expression("MIT License"));
        assert!(!is_spdx_expression("LicenseRef-foo"));
        assert_eq!(
            conjunction(&["MIT", "MIT OR Apache-2.0"]).unwrap(),
            "MIT AND (MIT OR Apache-2.0)"
        );
    }
}
