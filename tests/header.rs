//! `include/stevedore.h` must be what the pinned cbindgen generates from the
//! source now. `STEVEDORE_UPDATE_HEADER=1` rewrites it instead of failing.

use std::path::Path;

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
        return;
    }
    let checked_in = std::fs::read(&path).expect("read include/stevedore.h");
    assert!(
        checked_in == generated,
        "include/stevedore.h is stale: run scripts/gen-header.sh and commit the result"
    );
}
