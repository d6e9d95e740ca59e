//! Crossing the boundary with memory: reading C strings and options, writing
//! out-parameters, and freeing what Stevedore allocated.

use std::ffi::{c_char, CStr, CString};
use std::ptr;

use serde::de::DeserializeOwned;

use crate::error::{Error, Result};

pub(crate) fn null_argument(what: &str) -> Error {
    Error::invalid(format!("{what} must not be NULL"))
}

/// Reads the NUL-terminated UTF-8 string `ptr` points to.
///
/// # Safety
/// `ptr` is NULL or points to a NUL-terminated string that outlives `'a`.
pub(crate) unsafe fn input_str<'a>(ptr: *const c_char, what: &str) -> Result<&'a str> {
    if ptr.is_null() {
        return Err(null_argument(what));
    }
    CStr::from_ptr(ptr)
        .to_str()
        .map_err(|_| Error::invalid(format!("{what} is not valid UTF-8")))
}

/// Reads an options object from JSON; NULL means the defaults. Unknown keys
/// are an error.
///
/// # Safety
/// As [`input_str`].
pub(crate) unsafe fn options<T: DeserializeOwned + Default>(ptr: *const c_char) -> Result<T> {
    if ptr.is_null() {
        return Ok(T::default());
    }
    input_json(ptr, "options_json")
}

/// Reads a JSON value from the NUL-terminated string `ptr` points to; `what`
/// names the argument in the error.
///
/// # Safety
/// As [`input_str`].
pub(crate) unsafe fn input_json<T: DeserializeOwned>(ptr: *const c_char, what: &str) -> Result<T> {
    serde_json::from_str(input_str(ptr, what)?)
        .map_err(|e| Error::invalid(format!("invalid {what}: {e}")))
}

/// A string out-parameter, checked for NULL before any work is done and
/// written only on success.
pub(crate) struct OutString(*mut *mut c_char);

impl OutString {
    /// Checks `ptr`.
    pub(crate) fn new(ptr: *mut *mut c_char, what: &str) -> Result<OutString> {
        if ptr.is_null() {
            return Err(null_argument(what));
        }
        Ok(OutString(ptr))
    }

    /// Hands `value` to the caller, who frees it with `stevedore_string_free`.
    ///
    /// # Safety
    /// The pointer given to [`OutString::new`] is valid for a write.
    pub(crate) unsafe fn set(self, value: String) -> Result<()> {
        let c = CString::new(value).map_err(|_| {
            Error::invalid("the result contains a NUL byte and cannot be a C string")
        })?;
        *self.0 = c.into_raw();
        Ok(())
    }
}

/// A byte-buffer out-parameter pair (pointer and length), checked for NULL
/// before any work is done and written only on success.
pub(crate) struct OutBytes(*mut *mut u8, *mut usize);

impl OutBytes {
    /// Checks `ptr` and `len`.
    pub(crate) fn new(ptr: *mut *mut u8, len: *mut usize) -> Result<OutBytes> {
        if ptr.is_null() || len.is_null() {
            return Err(null_argument("out and out_len"));
        }
        Ok(OutBytes(ptr, len))
    }

    /// Hands `value` to the caller, who frees it with `stevedore_bytes_free`.
    ///
    /// # Safety
    /// The pointers given to [`OutBytes::new`] are valid for a write.
    pub(crate) unsafe fn set(self, value: Vec<u8>) {
        let boxed = value.into_boxed_slice();
        *self.1 = boxed.len();
        *self.0 = Box::into_raw(boxed).cast::<u8>();
    }
}

/// Frees a string Stevedore returned. NULL is a no-op.
///
/// # Safety
/// `s` is NULL or a string returned by Stevedore and not yet freed.
#[no_mangle]
pub unsafe extern "C" fn stevedore_string_free(s: *mut c_char) {
    if !s.is_null() {
        drop(CString::from_raw(s));
    }
}

/// Frees a byte buffer Stevedore returned, with the length it returned
/// beside it. NULL is a no-op.
///
/// # Safety
/// `bytes` is NULL or a buffer returned by Stevedore with length `len`,
/// not yet freed.
#[no_mangle]
pub unsafe extern "C" fn stevedore_bytes_free(bytes: *mut u8, len: usize) {
    if !bytes.is_null() {
        drop(Box::from_raw(ptr::slice_from_raw_parts_mut(bytes, len)));
    }
}
