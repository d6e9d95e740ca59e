//! Library and ABI versions, so bindings can refuse a mismatched library.

use std::ffi::c_char;

/// The ABI version this library implements; bumped on every incompatible
/// change to the C interface.
pub const ABI_VERSION: u32 = 6;

/// The library version (`Cargo.toml`'s), as a static NUL-terminated string.
/// Never NULL; do not free it.
#[no_mangle]
pub extern "C" fn stevedore_version() -> *const c_char {
    concat!(env!("CARGO_PKG_VERSION"), "\0").as_ptr().cast()
}

/// The ABI version; a binding built for another version must refuse to use
/// this library.
#[no_mangle]
pub extern "C" fn stevedore_abi_version() -> u32 {
    ABI_VERSION
}
