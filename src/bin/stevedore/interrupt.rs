//! Ctrl-C and SIGTERM during a long verb: the first cancels the verb's
//! [`CancelToken`], so it stops and removes what it created, as a
//! cancelled API call does; a second ends the process at once.

use signal_hook::consts::{SIGINT, SIGTERM};
use signal_hook::iterator::Signals;
use stevedore::progress::CancelToken;
use stevedore::Error;

/// A token cancelled by the first SIGINT or SIGTERM this process receives.
pub fn cancel_on_signals() -> Result<CancelToken, Error> {
    let token = CancelToken::new();
    let mut signals = Signals::new([SIGINT, SIGTERM])
        .map_err(|e| Error::io("listening for Ctrl-C and SIGTERM", e))?;
    let cancel = token.clone();
    std::thread::spawn(move || {
        for _ in signals.forever() {
            if cancel.is_cancelled() {
                std::process::exit(i32::from(crate::exit::status(
                    stevedore::ErrorKind::Cancelled,
                )));
            }
            cancel.cancel();
        }
    });
    Ok(token)
}
