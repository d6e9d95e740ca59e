//! `WWW-Authenticate` challenges (RFC 7235, with the registry token
//! parameters): any header value parses to a list of challenges.
#![no_main]
use libfuzzer_sys::fuzz_target;

fuzz_target!(|s: &str| {
    let _ = stevedore::auth::parse_challenges(s);
});
