//! How results reach the person: JSON, sizes, short digests, progress lines.

use std::io::Write;
use std::sync::Arc;

use stevedore::progress::{ProgressEvent, ProgressFn};
use stevedore::Error;

/// Writes a command's output to stdout and flushes it. A reader that
/// went away (`| head`) ends the output quietly, as Unix tools do.
pub fn emit(out: &mut dyn Write, bytes: &[u8]) -> Result<(), Error> {
    reader_gone_is_done(out.write_all(bytes).and_then(|()| out.flush()))
        .map_err(|e| Error::io("writing to stdout", e))
}

/// Writes a command's output to stdout through a buffer, as `write`
/// produces it (nothing held whole in memory), then flushes it; a reader
/// that went away ends it quietly, as [`emit`] does.
pub fn emit_with(
    out: &mut dyn Write,
    write: impl FnOnce(&mut dyn Write) -> std::io::Result<()>,
) -> Result<(), Error> {
    let mut buffered = std::io::BufWriter::with_capacity(64 * 1024, out);
    reader_gone_is_done(write(&mut buffered).and_then(|()| buffered.flush()))
        .map_err(|e| Error::io("writing to stdout", e))
}

/// `value` as pretty JSON with a final newline, streamed to stdout as
/// [`emit_with`] streams.
pub fn emit_json(out: &mut dyn Write, value: &impl serde::Serialize) -> Result<(), Error> {
    emit_with(out, |w| {
        serde_json::to_writer_pretty(&mut *w, value).map_err(std::io::Error::from)?;
        w.write_all(b"\n")
    })
}

/// `result` of writing to stdout, with a closed pipe (`EPIPE`) counted as
/// success: the reader has all it wanted.
pub fn reader_gone_is_done<T: Default>(result: std::io::Result<T>) -> std::io::Result<T> {
    match result {
        Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => Ok(T::default()),
        other => other,
    }
}

/// `result` of a verb that streams to stdout, with an error caused by a
/// closed pipe (`EPIPE`, kept as the error's source) counted as success,
/// as [`reader_gone_is_done`] counts it.
pub fn reader_gone_ends_verb(result: Result<(), Error>) -> Result<(), Error> {
    match result {
        Err(e)
            if std::error::Error::source(&e)
                .and_then(|s| s.downcast_ref::<std::io::Error>())
                .is_some_and(|io| io.kind() == std::io::ErrorKind::BrokenPipe) =>
        {
            Ok(())
        }
        other => other,
    }
}

/// `value` as pretty JSON with a final newline.
pub fn to_json(value: &impl serde::Serialize) -> Result<String, Error> {
    serde_json::to_string_pretty(value)
        .map(|s| s + "\n")
        .map_err(|e| Error::invalid(format!("cannot render JSON: {e}")))
}

/// `bytes` in binary units: `512 B`, `1.5 MiB`.
pub fn human_size(bytes: u64) -> String {
    const UNITS: [&str; 5] = ["B", "KiB", "MiB", "GiB", "TiB"];
    let mut value = bytes as f64;
    let mut unit = 0;
    while value >= 1024.0 && unit < UNITS.len() - 1 {
        value /= 1024.0;
        unit += 1;
    }
    if unit == 0 {
        format!("{bytes} B")
    } else {
        format!("{value:.1} {}", UNITS[unit])
    }
}

/// The first 12 hex digits of a digest, with its algorithm.
pub fn short(digest: &stevedore::Digest) -> String {
    digest.to_string().chars().take(19).collect()
}

/// Where progress goes.
#[derive(Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum ProgressMode {
    /// A live line on stderr when it is a terminal; nothing otherwise.
    Auto,
    /// One JSON object a line on stderr.
    Json,
    /// Nothing.
    None,
}

/// Writes `line` and a newline to stderr; a closed stderr is not an error
/// (`eprintln!` would panic, and a script reading only the first line of
/// our messages would see exit 101 instead of the verb's status).
pub fn note(line: &str) {
    let _ = writeln!(std::io::stderr().lock(), "{line}");
}

/// The progress callback for `mode`, if any.
pub fn progress_printer(mode: ProgressMode, quiet: bool) -> Option<Arc<ProgressFn>> {
    use std::io::IsTerminal;
    match mode {
        _ if quiet => None,
        ProgressMode::None => None,
        ProgressMode::Json => Some(Arc::new(|event: &ProgressEvent| {
            if let Ok(line) = serde_json::to_string(event) {
                note(&line);
            }
            true
        })),
        ProgressMode::Auto if std::io::stderr().is_terminal() => {
            Some(crate::progress_bars::printer())
        }
        ProgressMode::Auto => None,
    }
}
