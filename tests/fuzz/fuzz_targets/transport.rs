//! Transport strings (containers-transports(5)): `transport::parse` gives
//! an image reference or a typed error, and touches nothing (transports are
//! lazy).
#![no_main]
use libfuzzer_sys::fuzz_target;

fuzz_target!(|s: &str| {
    let _ = stevedore::transport::parse(s);
});
