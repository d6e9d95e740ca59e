//! The server's request heads, routes and handlers: the input is what a
//! client sends on one connection to an empty in-memory registry (several
//! requests when it holds several); the server answers or closes, never
//! panics or hangs.
#![no_main]
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let _ = stevedore::server::fuzzing::serve_bytes(data);
});
