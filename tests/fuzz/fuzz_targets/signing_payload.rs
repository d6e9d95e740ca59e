//! The simple-signing payload a cosign signature signs.
#![no_main]
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let _ = stevedore::sign::payload::parse(data);
});
