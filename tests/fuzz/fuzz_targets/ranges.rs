//! The server's `Range` (RFC 9110 byte ranges) and upload `Content-Range`
//! parsers: a range, when one is given, lies within the blob.
#![no_main]
use libfuzzer_sys::fuzz_target;

fuzz_target!(|input: (u64, &str)| {
    let (size, value) = input;
    let (range, chunk) = stevedore::server::fuzzing::parse_ranges(value, size);
    if let Some((start, end)) = range {
        assert!(start <= end && end < size);
    }
    let _ = chunk;
});
