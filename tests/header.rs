//! `include/stevedore.h` must be what the pinned cbindgen generates from the
//! source now, and the copies the Go module and the Elixir package compile
//! against (each package must be self-contained) must equal it.
//! `STEVEDORE_UPDATE_HEADER=1` rewrites them all instead of failing.

use std::path::Path;

/// The bindings' own copies of the header, relative to the crate root.
const COPIES: [&str; 2] = [
    "bindings/go/stevedore.h",
    "bindings/elixir/c_src/stevedore.h",
];

#[test]
fn the_checked_in_header_is_current() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let config =
        cbindgen::Config::from_file(root.join("cbindgen.toml")).expect("read cbindgen.toml");
    let mut generated = Vec::new();
    cbindgen::Builder::new()
        .with_crate(root)
        .with_config(config)
        .generate()
        .expect("generate the header")
        .write(&mut generated);
    let path = root.join("include/stevedore.h");
    if std::env::var_os("STEVEDORE_UPDATE_HEADER").is_some() {
        std::fs::write(&path, &generated).expect("write the header");
        for copy in COPIES {
            std::fs::write(root.join(copy), &generated).expect("write a copy of the header");
        }
        return;
    }
    let checked_in = std::fs::read(&path).expect("read include/stevedore.h");
    assert!(
        checked_in == generated,
        "include/stevedore.h is stale: run scripts/gen-header.sh and commit the result"
    );
}

#[test]
fn the_bindings_copies_of_the_header_equal_it() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let header = std::fs::read(root.join("include/stevedore.h")).expect("read the header");
    for copy in COPIES {
        let copied = std::fs::read(root.join(copy)).unwrap_or_default();
        assert!(
            copied == header,
            "{copy} differs from include/stevedore.h: run scripts/gen-header.sh and commit the result"
        );
    }
}
