//! Ctrl-C and SIGTERM during a long verb: the first cancels the verb's
//! [`CancelToken`], so it stops and removes what it created, as a
//! cancelled API call does; a second ends the process at once. A signal
//! within [`SAME_INTERRUPT`] of the first counts as the same one: `timeout`
//! and some shells deliver one interrupt both to the process and to its
//! group.

use std::time::{Duration, Instant};

use signal_hook::consts::{SIGINT, SIGTERM};
use signal_hook::iterator::Signals;
use stevedore::progress::CancelToken;
use stevedore::Error;

/// How soon after the first a signal is taken as the same interrupt.
const SAME_INTERRUPT: Duration = Duration::from_millis(100);

/// A token cancelled by the first SIGINT or SIGTERM this process receives.
pub fn cancel_on_signals() -> Result<CancelToken, Error> {
    let token = CancelToken::new();
    let mut signals = Signals::new([SIGINT, SIGTERM])
        .map_err(|e| Error::io("listening for Ctrl-C and SIGTERM", e))?;
    let cancel = token.clone();
    std::thread::spawn(move || {
        let mut first: Option<Instant> = None;
        for _ in signals.forever() {
            match first {
                None => {
                    first = Some(Instant::now());
                    cancel.cancel();
                }
                Some(at) if at.elapsed() < SAME_INTERRUPT => {}
                Some(_) => std::process::exit(i32::from(crate::exit::status(
                    stevedore::ErrorKind::Cancelled,
                ))),
            }
        }
    });
    Ok(token)
}
