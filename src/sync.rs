//! The sync verb: many copies from a list, each with its own result. One
//! failure does not stop the rest; an image already identical at its
//! destination is skipped after one manifest check. The jobs run in
//! parallel and share one bounded pool of transfers; a blob the jobs share
//! moves once into each destination store (a job needing a blob another is
//! moving waits for it, then finds it there or mounts it).

use serde::{Deserialize, Serialize};

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Condvar, Mutex};

use crate::copy::{copy_selected, select, CopyOptions, CopyReport, Transfers};
use crate::digest::Digest;
use crate::error::{Error, ErrorKind, Result};
use crate::transport::ImageRef;

/// One copy of a sync: a source and a destination, as transport strings.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SyncJob {
    /// The image to copy.
    pub src: String,
    /// Where to copy it.
    pub dst: String,
}

/// What happened to one job.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "status", rename_all = "snake_case")]
pub enum SyncOutcome {
    /// The image was copied.
    Copied(Box<CopyReport>),
    /// The destination already held the same image.
    Skipped {
        /// The digest both sides have.
        digest: Digest,
    },
    /// The job failed.
    Failed {
        /// The error's kind.
        kind: ErrorKind,
        /// The error's message.
        message: String,
    },
}

/// The result of one job.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SyncResult {
    /// The job.
    #[serde(flatten)]
    pub job: SyncJob,
    /// What happened.
    pub outcome: SyncOutcome,
}

/// Reads a sync file: one `SRC DST` pair a line; blank lines and lines
/// starting with `#` are ignored.
pub fn parse_jobs(text: &str) -> Result<Vec<SyncJob>> {
    let mut jobs = Vec::new();
    for (n, line) in text.lines().enumerate() {
        let line = line.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let fields: Vec<&str> = line.split_whitespace().collect();
        match fields.as_slice() {
            [src, dst] => jobs.push(SyncJob {
                src: (*src).to_owned(),
                dst: (*dst).to_owned(),
            }),
            _ => {
                return Err(Error::invalid(format!(
                    "line {} of the sync list must be `SRC DST`, it has {} fields",
                    n + 1,
                    fields.len()
                )))
            }
        }
    }
    Ok(jobs)
}

/// Runs every job with `options`, up to `options.jobs` images at once and
/// up to `options.jobs` blob transfers at once across all of them; `parse`
/// turns the job's strings into image references (with the caller's
/// registry client). A job whose source is an earlier job's destination
/// (the same string) waits for that job. Results come in the order of
/// `jobs`. Cancellation stops
/// the jobs not yet started; they report `cancelled`.
pub fn sync(
    jobs: &[SyncJob],
    options: &CopyOptions,
    parse: impl Fn(&str) -> Result<ImageRef> + Sync,
) -> Vec<SyncResult> {
    let transfers = Transfers::new(options);
    let next = AtomicUsize::new(0);
    let outcomes: Mutex<Vec<Option<SyncOutcome>>> = Mutex::new(vec![None; jobs.len()]);
    let finished = Condvar::new();
    std::thread::scope(|scope| {
        for _ in 0..options.jobs.clamp(1, jobs.len().max(1)) {
            scope.spawn(|| loop {
                let i = next.fetch_add(1, Ordering::SeqCst);
                let Some(job) = jobs.get(i) else { break };
                // Earlier jobs were all taken already: waiting cannot deadlock.
                let mut done = outcomes.lock().unwrap_or_else(|p| p.into_inner());
                while jobs[..i]
                    .iter()
                    .zip(done.iter())
                    .any(|(earlier, outcome)| earlier.dst == job.src && outcome.is_none())
                {
                    done = finished.wait(done).unwrap_or_else(|p| p.into_inner());
                }
                drop(done);
                let outcome = match run_job(job, options, &transfers, &parse) {
                    Ok(outcome) => outcome,
                    Err(e) => SyncOutcome::Failed {
                        kind: e.kind(),
                        message: e.message().to_owned(),
                    },
                };
                outcomes.lock().unwrap_or_else(|p| p.into_inner())[i] = Some(outcome);
                finished.notify_all();
            });
        }
    });
    transfers.save();
    let outcomes = outcomes.into_inner().unwrap_or_else(|p| p.into_inner());
    jobs.iter()
        .zip(outcomes)
        .map(|(job, outcome)| SyncResult {
            job: job.clone(),
            outcome: outcome.unwrap_or_else(|| SyncOutcome::Failed {
                kind: ErrorKind::Cancelled,
                message: "the sync was cancelled".into(),
            }),
        })
        .collect()
}

fn run_job(
    job: &SyncJob,
    options: &CopyOptions,
    transfers: &Transfers,
    parse: &impl Fn(&str) -> Result<ImageRef>,
) -> Result<SyncOutcome> {
    if options.cancel.as_ref().is_some_and(|c| c.is_cancelled()) {
        return Err(Error::new(ErrorKind::Cancelled, "the sync was cancelled"));
    }
    let (src, dst) = (parse(&job.src)?, parse(&job.dst)?);
    let (root, source_digest) = select(&src, options)?;
    let present = match dst.resolve() {
        Ok(selector) => match dst.transport().get_manifest(&selector) {
            Ok(m) => Some(m.digest().clone()),
            Err(e) if e.kind() == ErrorKind::NotFound => None,
            Err(e) => return Err(e),
        },
        Err(e) if e.kind() == ErrorKind::NotFound => None,
        Err(e) => return Err(e),
    };
    if present.as_ref() == Some(root.digest()) {
        return Ok(SyncOutcome::Skipped {
            digest: root.digest().clone(),
        });
    }
    copy_selected(&src, &dst, options, transfers, root, source_digest)
        .map(|report| SyncOutcome::Copied(Box::new(report)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sync_lists_parse_with_comments_and_report_bad_lines() {
        let jobs =
            parse_jobs("# mirror\n\noci:/a:1 oci:/b:1\n  docker://r/x:2\toci:/c:2  \n").unwrap();
        assert_eq!(jobs.len(), 2);
        assert_eq!(jobs[1].dst, "oci:/c:2");
        let err = parse_jobs("oci:/a:1 oci:/b:1\noci:/only-one\n").unwrap_err();
        assert!(err.message().contains("line 2"), "{err}");
    }
}
