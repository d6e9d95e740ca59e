//! Digests (`algorithm:hex`): a parsed digest prints as the same string.
#![no_main]
use libfuzzer_sys::fuzz_target;

fuzz_target!(|s: &str| {
    if let Ok(digest) = s.parse::<stevedore::Digest>() {
        assert_eq!(digest.to_string(), s);
    }
});
