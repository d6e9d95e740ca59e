//! ECDSA P-256 keys as cosign reads and writes them: PEM PKCS#8 (`PRIVATE
//! KEY`) and SEC1 (`EC PRIVATE KEY`) private keys, cosign's encrypted private
//! keys (`ENCRYPTED COSIGN PRIVATE KEY` / `ENCRYPTED SIGSTORE PRIVATE KEY`:
//! scrypt, then NaCl secretbox, around PKCS#8 DER), and PKIX public keys.

use base64::engine::general_purpose::STANDARD as BASE64;
use base64::Engine;
use crypto_secretbox::aead::{Aead, KeyInit};
use crypto_secretbox::XSalsa20Poly1305;
use p256::ecdsa::{SigningKey, VerifyingKey};
use p256::pkcs8::{
    DecodePrivateKey, DecodePublicKey, EncodePrivateKey, EncodePublicKey, LineEnding,
};
use rand_core::{OsRng, RngCore};
use serde::{Deserialize, Serialize};

use crate::auth::Secret;
use crate::error::{Error, Result};

/// The PEM label of cosign's encrypted private keys.
pub const COSIGN_LABEL: &str = "ENCRYPTED COSIGN PRIVATE KEY";
/// The label sigstore's newer tools write for the same format.
pub const SIGSTORE_LABEL: &str = "ENCRYPTED SIGSTORE PRIVATE KEY";
/// The environment variable cosign reads a key's password from.
pub const PASSWORD_VARIABLE: &str = "COSIGN_PASSWORD";

/// scrypt's cost as cosign writes it: N = 2^15, r = 8, p = 1.
const SCRYPT_LOG_N: u8 = 15;

#[derive(Serialize, Deserialize)]
struct Encrypted {
    kdf: Kdf,
    cipher: Cipher,
    ciphertext: String,
}

#[derive(Serialize, Deserialize)]
struct Kdf {
    name: String,
    params: KdfParams,
    salt: String,
}

#[derive(Serialize, Deserialize)]
#[allow(non_snake_case)]
struct KdfParams {
    N: u64,
    r: u32,
    p: u32,
}

#[derive(Serialize, Deserialize)]
struct Cipher {
    name: String,
    nonce: String,
}

fn decode_pem(pem: &[u8], what: &str) -> Result<(String, Vec<u8>)> {
    let (label, der) = pem_rfc7468::decode_vec(pem)
        .map_err(|e| Error::invalid(format!("the {what} is not PEM: {e}")))?;
    Ok((label.to_owned(), der))
}

fn bad_key(e: impl std::fmt::Display) -> Error {
    Error::invalid(format!("not an ECDSA P-256 private key: {e}"))
}

/// The most scrypt work a key may ask for, as N·r (memory is 128·N·r
/// bytes: 256 MiB here, 8 times cosign's own keys) and N·r·p (time).
const SCRYPT_MAX_NR: u64 = 1 << 21;
const SCRYPT_MAX_NRP: u64 = 1 << 22;

/// The secretbox key for `password` with the scrypt parameters `kdf`, which
/// must stay within [`SCRYPT_MAX_NR`] and [`SCRYPT_MAX_NRP`]: a key file
/// is untrusted input, and its parameters set scrypt's memory and time.
fn derive(password: &Secret, kdf: &Kdf) -> Result<crypto_secretbox::Key> {
    if kdf.name != "scrypt" || !kdf.params.N.is_power_of_two() || kdf.params.N < 2 {
        return Err(Error::unsupported(format!(
            "the key is encrypted with {} (N = {}); only scrypt with a power-of-two N is read",
            kdf.name, kdf.params.N
        )));
    }
    let (n, r, p) = (
        kdf.params.N,
        u64::from(kdf.params.r),
        u64::from(kdf.params.p),
    );
    let nr = n.saturating_mul(r);
    if nr > SCRYPT_MAX_NR || nr.saturating_mul(p) > SCRYPT_MAX_NRP {
        return Err(Error::unsupported(format!(
            "the key's scrypt parameters (N = {n}, r = {r}, p = {p}) ask for more memory or time \
             than stevedore allows (N·r at most {SCRYPT_MAX_NR}, N·r·p at most {SCRYPT_MAX_NRP}; \
             cosign writes N = 32768, r = 8, p = 1)"
        )));
    }
    let salt = BASE64
        .decode(&kdf.salt)
        .map_err(|e| Error::invalid(format!("the encrypted key's salt is not base64: {e}")))?;
    let log_n = kdf.params.N.trailing_zeros() as u8;
    let params = scrypt::Params::new(log_n, kdf.params.r, kdf.params.p, 32)
        .map_err(|e| Error::invalid(format!("the encrypted key's scrypt parameters: {e}")))?;
    let mut key = crypto_secretbox::Key::default();
    scrypt::scrypt(password.expose().as_bytes(), &salt, &params, &mut key)
        .map_err(|e| Error::invalid(format!("scrypt: {e}")))?;
    Ok(key)
}

/// Decrypts cosign's encrypted key format to the DER inside.
fn decrypt(body: &[u8], password: &Secret) -> Result<Vec<u8>> {
    let encrypted: Encrypted = serde_json::from_slice(body)
        .map_err(|e| Error::invalid(format!("the encrypted key is not cosign's format: {e}")))?;
    if encrypted.cipher.name != "nacl/secretbox" {
        return Err(Error::unsupported(format!(
            "the key is encrypted with {}; only nacl/secretbox is read",
            encrypted.cipher.name
        )));
    }
    let key = derive(password, &encrypted.kdf)?;
    let nonce = BASE64
        .decode(&encrypted.cipher.nonce)
        .ok()
        .filter(|n| n.len() == 24)
        .ok_or_else(|| Error::invalid("the encrypted key's nonce is not 24 base64 bytes"))?;
    let ciphertext = BASE64
        .decode(&encrypted.ciphertext)
        .map_err(|e| Error::invalid(format!("the encrypted key is not base64: {e}")))?;
    XSalsa20Poly1305::new(&key)
        .decrypt(
            crypto_secretbox::Nonce::from_slice(&nonce),
            ciphertext.as_slice(),
        )
        .map_err(|_| {
            Error::new(
                crate::ErrorKind::Unauthorized,
                "the password does not decrypt the private key",
            )
        })
}

/// Whether `pem` is a private key encrypted with a password (cosign's or
/// sigstore's label); `false` for anything else, PEM or not.
pub fn is_encrypted(pem: &[u8]) -> bool {
    decode_pem(pem, "private key")
        .is_ok_and(|(label, _)| label == COSIGN_LABEL || label == SIGSTORE_LABEL)
}

/// Reads a PEM private key. An encrypted one needs `password`, or else the
/// `COSIGN_PASSWORD` variable (empty when neither is set).
pub fn private_key_from_pem(pem: &[u8], password: Option<&Secret>) -> Result<SigningKey> {
    let (label, der) = decode_pem(pem, "private key")?;
    match label.as_str() {
        "PRIVATE KEY" => SigningKey::from_pkcs8_der(&der).map_err(bad_key),
        "EC PRIVATE KEY" => p256::SecretKey::from_sec1_der(&der)
            .map(SigningKey::from)
            .map_err(bad_key),
        COSIGN_LABEL | SIGSTORE_LABEL => {
            let from_env;
            let password = match password {
                Some(p) => p,
                None => {
                    from_env = Secret::new(std::env::var(PASSWORD_VARIABLE).unwrap_or_default());
                    &from_env
                }
            };
            let plain = decrypt(&der, password)?;
            SigningKey::from_pkcs8_der(&plain).map_err(|e| {
                Error::invalid(format!(
                    "the decrypted key is not a PKCS#8 ECDSA P-256 key ({e}); cosign refuses it too"
                ))
            })
        }
        other => Err(Error::invalid(format!(
            "a private key is PEM labelled PRIVATE KEY, EC PRIVATE KEY or {COSIGN_LABEL}, not {other:?}"
        ))),
    }
}

/// Reads a PEM PKIX public key (`PUBLIC KEY`).
pub fn public_key_from_pem(pem: &[u8]) -> Result<VerifyingKey> {
    let (label, der) = decode_pem(pem, "public key")?;
    if label != "PUBLIC KEY" {
        return Err(Error::invalid(format!(
            "a public key is PEM labelled PUBLIC KEY, not {label:?}"
        )));
    }
    VerifyingKey::from_public_key_der(&der)
        .map_err(|e| Error::invalid(format!("not an ECDSA P-256 public key: {e}")))
}

/// A public key's fingerprint: `sha256:<hex>` of its PKIX (SubjectPublicKeyInfo)
/// DER encoding, as [`super::sign`] records it in [`super::KEY_ANNOTATION`].
pub fn key_id(key: &VerifyingKey) -> Result<String> {
    let der = key
        .to_public_key_der()
        .map_err(|e| Error::invalid(format!("cannot encode the public key: {e}")))?;
    Ok(crate::digest::Digest::sha256(der.as_bytes()).to_string())
}

/// A new key pair as cosign writes it: the private key encrypted with
/// `password` (`cosign.key`) and the PKIX public key (`cosign.pub`).
pub fn generate_key_pair(password: &Secret) -> Result<(String, String)> {
    let key = SigningKey::random(&mut OsRng);
    let der = key
        .to_pkcs8_der()
        .map_err(|e| Error::invalid(format!("encoding the key: {e}")))?;
    let mut salt = [0u8; 32];
    let mut nonce = [0u8; 24];
    OsRng.fill_bytes(&mut salt);
    OsRng.fill_bytes(&mut nonce);
    let kdf = Kdf {
        name: "scrypt".to_owned(),
        params: KdfParams {
            N: 1 << SCRYPT_LOG_N,
            r: 8,
            p: 1,
        },
        salt: BASE64.encode(salt),
    };
    let secret = derive(password, &kdf)?;
    let ciphertext = XSalsa20Poly1305::new(&secret)
        .encrypt(crypto_secretbox::Nonce::from_slice(&nonce), der.as_bytes())
        .map_err(|_| Error::invalid("encrypting the key failed"))?;
    let body = serde_json::to_vec(&Encrypted {
        kdf,
        cipher: Cipher {
            name: "nacl/secretbox".to_owned(),
            nonce: BASE64.encode(nonce),
        },
        ciphertext: BASE64.encode(ciphertext),
    })
    .map_err(|e| Error::invalid(format!("encoding the key: {e}")))?;
    let private = pem_rfc7468::encode_string(COSIGN_LABEL, pem_rfc7468::LineEnding::LF, &body)
        .map_err(|e| Error::invalid(format!("encoding the key: {e}")))?;
    let public = key
        .verifying_key()
        .to_public_key_pem(LineEnding::LF)
        .map_err(|e| Error::invalid(format!("encoding the public key: {e}")))?;
    Ok((private, public))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_generated_pair_loads_back_with_its_password_only() {
        let password = Secret::new("pw");
        let (private, public) = generate_key_pair(&password).unwrap();
        let key = private_key_from_pem(private.as_bytes(), Some(&password)).unwrap();
        assert_eq!(
            key.verifying_key(),
            &public_key_from_pem(public.as_bytes()).unwrap()
        );
        let wrong = private_key_from_pem(private.as_bytes(), Some(&Secret::new("no")));
        assert_eq!(wrong.unwrap_err().kind(), crate::ErrorKind::Unauthorized);
        assert!(public_key_from_pem(private.as_bytes()).is_err());
        assert!(private_key_from_pem(b"not pem", None).is_err());
    }

    /// Found while writing the cosign_key fuzz target: a key asking scrypt for 2^40
    /// rounds (or r = 2^31) made loading it allocate without bound.
    #[test]
    fn a_key_asking_scrypt_for_unbounded_work_is_refused_at_once() {
        let password = Secret::new("pw");
        let (private, _) = generate_key_pair(&password).unwrap();
        let (label, body) = decode_pem(private.as_bytes(), "key").unwrap();
        let mut encrypted: serde_json::Value = serde_json::from_slice(&body).unwrap();
        for (n, r, p) in [
            (1u64 << 40, 8u32, 1u32),
            (1 << 15, 1 << 31, 1),
            (1 << 15, 8, 1 << 20),
        ] {
            encrypted["kdf"]["params"] = serde_json::json!({"N": n, "r": r, "p": p});
            let pem = pem_rfc7468::encode_string(
                &label,
                pem_rfc7468::LineEnding::LF,
                &serde_json::to_vec(&encrypted).unwrap(),
            )
            .unwrap();
            let started = std::time::Instant::now();
            let refused = private_key_from_pem(pem.as_bytes(), Some(&password)).unwrap_err();
            assert_eq!(refused.kind(), crate::ErrorKind::Unsupported, "{refused}");
            assert!(started.elapsed() < std::time::Duration::from_secs(1));
        }
    }
}
