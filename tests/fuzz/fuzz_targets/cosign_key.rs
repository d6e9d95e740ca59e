//! Cosign keys: PEM public keys, PEM private keys, and cosign's encrypted
//! private keys (scrypt + nacl/secretbox), in bounded time and memory
//! whatever the key's KDF parameters say.
#![no_main]
use libfuzzer_sys::fuzz_target;
use stevedore::auth::Secret;
use stevedore::sign::keys;

fuzz_target!(|data: &[u8]| {
    let _ = keys::is_encrypted(data);
    let _ = keys::public_key_from_pem(data);
    let _ = keys::private_key_from_pem(data, None);
    // The password the encrypted seed was made with.
    let _ = keys::private_key_from_pem(data, Some(&Secret::new("fuzz")));
});
