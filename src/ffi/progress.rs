//! Progress callbacks from C: events as JSON, a non-zero return cancels.

use std::ffi::{c_char, c_int, c_void, CString};
use std::sync::{Arc, Mutex};

use crate::progress::{ProgressEvent, ProgressFn};

/// A progress callback: receives `userdata` and one event as JSON —
/// `{"event": "image_start" | "blob_start" | "blob_bytes" | "blob_skip" |
/// "blob_mount" | "blob_done" | "image_done", "digest", …}` — valid only
/// during the call. Returning non-zero cancels the operation, which then
/// fails with `STEVEDORE_ERROR_CANCELLED`. Called from Stevedore's worker
/// threads, never two at once.
#[allow(non_camel_case_types)]
pub type stevedore_progress_fn =
    Option<unsafe extern "C" fn(userdata: *mut c_void, event_json: *const c_char) -> c_int>;

/// The caller's pointer, handed back to its callback on whatever thread.
struct UserData(*mut c_void);

// SAFETY: the pointer is only passed back to the caller's callback, which the
// header documents as called from worker threads, one call at a time.
unsafe impl Send for UserData {}
unsafe impl Sync for UserData {}

/// The callback as a [`ProgressFn`], serialised by a mutex; `None` for NULL.
pub(crate) fn progress_fn(
    callback: stevedore_progress_fn,
    userdata: *mut c_void,
) -> Option<Arc<ProgressFn>> {
    let callback = callback?;
    let userdata = Mutex::new(UserData(userdata));
    Some(Arc::new(move |event: &ProgressEvent| {
        let Ok(json) = serde_json::to_string(event) else {
            return true;
        };
        let Ok(json) = CString::new(json) else {
            return true;
        };
        let guard = userdata.lock().unwrap_or_else(|p| p.into_inner());
        // SAFETY: the caller gave this callback and pointer for this call.
        unsafe { callback(guard.0, json.as_ptr()) == 0 }
    }))
}
