//! Docker `config.json` and containers `auth.json` files: credentials for a
//! registry, anonymous, or a typed error. Credential helpers a file names
//! are looked up in an empty PATH, so none ever runs (a helper name with a
//! `/` would name a `docker-credential-…` directory, which does not exist).
#![no_main]
use libfuzzer_sys::fuzz_target;
use std::sync::OnceLock;
use stevedore::auth::CredentialSource;

fn scratch() -> &'static tempfile::TempDir {
    static DIR: OnceLock<tempfile::TempDir> = OnceLock::new();
    DIR.get_or_init(|| {
        let dir = tempfile::tempdir().expect("a temporary directory");
        std::fs::create_dir(dir.path().join("empty")).expect("an empty directory");
        std::env::set_var("PATH", dir.path().join("empty"));
        dir
    })
}

fuzz_target!(|data: &[u8]| {
    let path = scratch().path().join("auth.json");
    std::fs::write(&path, data).expect("writing the auth file");
    let source = CredentialSource {
        explicit: Default::default(),
        auth_file: Some(path),
    };
    for (registry, repository) in [
        ("registry.example", "team/app"),
        ("docker.io", "library/alpine"),
        ("127.0.0.1:5000", "a"),
    ] {
        let _ = source.lookup(registry, repository);
    }
});
