//! Status codes, the panic boundary every ABI function runs in, and the
//! per-thread last error.

use std::cell::RefCell;
use std::ffi::{c_char, CString};
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::ptr;

use crate::error::{ErrorKind, Result};

/// The result of every Stevedore C function: `STEVEDORE_OK` (0) or the kind
/// of error. Numbers are fixed and never reused.
#[repr(C)]
#[allow(non_camel_case_types)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum stevedore_status {
    /// Success.
    STEVEDORE_OK = 0,
    /// Malformed input: a reference, options JSON, a NULL argument, a bad file.
    STEVEDORE_ERROR_INVALID_INPUT = 1,
    /// The image, manifest, blob, tag or repository does not exist.
    STEVEDORE_ERROR_NOT_FOUND = 2,
    /// Credentials are missing or were refused.
    STEVEDORE_ERROR_UNAUTHORIZED = 3,
    /// The credentials do not allow the operation.
    STEVEDORE_ERROR_DENIED = 4,
    /// Content did not match its digest or size.
    STEVEDORE_ERROR_DIGEST_MISMATCH = 5,
    /// The operation or format is not supported.
    STEVEDORE_ERROR_UNSUPPORTED = 6,
    /// The network or the remote server failed.
    STEVEDORE_ERROR_NETWORK = 7,
    /// A local file-system operation failed.
    STEVEDORE_ERROR_IO = 8,
    /// A policy refused the operation.
    STEVEDORE_ERROR_POLICY = 9,
    /// The remote server asked to slow down.
    STEVEDORE_ERROR_RATE_LIMITED = 10,
    /// The caller cancelled the operation.
    STEVEDORE_ERROR_CANCELLED = 11,
    /// A bug in Stevedore: the call panicked. The process may continue.
    STEVEDORE_ERROR_PANIC = 99,
}

impl From<ErrorKind> for stevedore_status {
    fn from(kind: ErrorKind) -> stevedore_status {
        use stevedore_status::*;
        match kind {
            ErrorKind::InvalidInput => STEVEDORE_ERROR_INVALID_INPUT,
            ErrorKind::NotFound => STEVEDORE_ERROR_NOT_FOUND,
            ErrorKind::Unauthorized => STEVEDORE_ERROR_UNAUTHORIZED,
            ErrorKind::Denied => STEVEDORE_ERROR_DENIED,
            ErrorKind::DigestMismatch => STEVEDORE_ERROR_DIGEST_MISMATCH,
            ErrorKind::Unsupported => STEVEDORE_ERROR_UNSUPPORTED,
            ErrorKind::Network => STEVEDORE_ERROR_NETWORK,
            ErrorKind::Io => STEVEDORE_ERROR_IO,
            ErrorKind::Policy => STEVEDORE_ERROR_POLICY,
            ErrorKind::RateLimited => STEVEDORE_ERROR_RATE_LIMITED,
            ErrorKind::Cancelled => STEVEDORE_ERROR_CANCELLED,
        }
    }
}

struct LastError {
    message: CString,
    json: CString,
}

thread_local! {
    static LAST_ERROR: RefCell<Option<LastError>> = const { RefCell::new(None) };
}

fn record(message: &str, json: &serde_json::Value) {
    let clean = |s: String| CString::new(s.replace('\0', "\\0")).unwrap_or_default();
    let last = LastError {
        message: clean(message.to_owned()),
        json: clean(json.to_string()),
    };
    LAST_ERROR.with(|slot| *slot.borrow_mut() = Some(last));
}

/// Runs the body of an ABI function: clears this thread's last error, catches
/// a panic, and turns the result into a status, recording the error on failure.
pub(crate) fn boundary(body: impl FnOnce() -> Result<()>) -> stevedore_status {
    LAST_ERROR.with(|slot| *slot.borrow_mut() = None);
    match catch_unwind(AssertUnwindSafe(body)) {
        Ok(Ok(())) => stevedore_status::STEVEDORE_OK,
        Ok(Err(e)) => {
            record(e.message(), &e.to_json());
            e.kind().into()
        }
        Err(_) => {
            let message = "internal error: Stevedore panicked; please report this as a bug";
            let json = serde_json::json!({
                "kind": "panic",
                "message": message,
                "http_status": null,
                "registry_errors": [],
            });
            record(message, &json);
            stevedore_status::STEVEDORE_ERROR_PANIC
        }
    }
}

fn last_error_field(field: impl Fn(&LastError) -> *const c_char) -> *const c_char {
    LAST_ERROR.with(|slot| slot.borrow().as_ref().map_or(ptr::null(), field))
}

/// The message of the last error on this thread, or NULL when the last
/// Stevedore call on this thread succeeded. Meaningful only right after a
/// call returned a non-zero status. The string belongs to Stevedore and
/// stays valid until the next Stevedore call on this thread; do not free it.
#[no_mangle]
pub extern "C" fn stevedore_last_error_message() -> *const c_char {
    last_error_field(|e| e.message.as_ptr())
}

/// The last error on this thread as JSON —
/// `{"kind", "message", "http_status", "registry_errors"}` — or NULL when the
/// last Stevedore call on this thread succeeded. Same lifetime rules as
/// `stevedore_last_error_message`; do not free it.
#[no_mangle]
pub extern "C" fn stevedore_last_error_json() -> *const c_char {
    last_error_field(|e| e.json.as_ptr())
}
