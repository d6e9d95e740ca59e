//! The terminal's progress display (indicatif): one bar a blob in flight
//! with its size, rate and ETA, and a total bar above them; on stderr only,
//! and only when stderr is a terminal.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use indicatif::{MultiProgress, ProgressBar, ProgressDrawTarget, ProgressStyle};
use stevedore::progress::{ProgressEvent, ProgressFn};

use crate::output::short;

struct Bars {
    multi: MultiProgress,
    total: ProgressBar,
    blobs: HashMap<String, (ProgressBar, u64)>,
}

/// A progress callback drawing bars on stderr.
pub fn printer() -> Arc<ProgressFn> {
    let multi = MultiProgress::with_draw_target(ProgressDrawTarget::stderr());
    let total = multi.add(ProgressBar::new(0));
    total.set_style(
        ProgressStyle::with_template(
            "total {bytes:>10} / {total_bytes:<10} {binary_bytes_per_sec:>12} eta {eta}",
        )
        .unwrap_or_else(|_| ProgressStyle::default_bar()),
    );
    let bars = Mutex::new(Bars {
        multi,
        total,
        blobs: HashMap::new(),
    });
    Arc::new(move |event: &ProgressEvent| {
        let mut bars = bars.lock().unwrap_or_else(|p| p.into_inner());
        let bars = &mut *bars;
        match event {
            ProgressEvent::BlobStart { digest, size } => {
                let bar = bars.multi.add(ProgressBar::new(*size));
                bar.set_style(
                    ProgressStyle::with_template(
                        "{prefix} [{bar:30}] {bytes:>10} / {total_bytes:<10} {binary_bytes_per_sec:>12} eta {eta}",
                    )
                    .unwrap_or_else(|_| ProgressStyle::default_bar())
                    .progress_chars("=> "),
                );
                bar.set_prefix(short(digest));
                bars.total.inc_length(*size);
                bars.blobs.insert(digest.to_string(), (bar, 0));
            }
            ProgressEvent::BlobBytes { digest, bytes, .. } => {
                if let Some((bar, seen)) = bars.blobs.get_mut(&digest.to_string()) {
                    bars.total.inc(bytes.saturating_sub(*seen));
                    *seen = *bytes;
                    bar.set_position(*bytes);
                }
            }
            ProgressEvent::BlobDone { digest, .. } | ProgressEvent::BlobMount { digest, .. } => {
                if let Some((bar, _)) = bars.blobs.remove(&digest.to_string()) {
                    bar.finish_and_clear();
                    bars.multi.remove(&bar);
                }
            }
            ProgressEvent::ImageDone { digest } => {
                let _ = bars.multi.println(format!("wrote {}", short(digest)));
            }
            _ => {}
        }
        true
    })
}
