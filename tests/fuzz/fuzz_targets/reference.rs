//! Image references (distribution/reference grammar, docker.io
//! normalisation): any string gives a reference or a typed error, and a
//! reference prints as a string that parses back to itself.
#![no_main]
use libfuzzer_sys::fuzz_target;

fuzz_target!(|s: &str| {
    if let Ok(reference) = stevedore::Reference::parse(s) {
        let again = stevedore::Reference::parse(&reference.to_string())
            .expect("a printed reference parses");
        assert_eq!(again.to_string(), reference.to_string());
    }
});
