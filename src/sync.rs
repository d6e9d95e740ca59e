//! The sync verb: many copies from a list, each with its own result. One
//! failure does not stop the rest; an image already identical at its
//! destination is skipped; blobs the jobs share move once (later jobs find
//! them at the destination, or mount them on one registry).

use serde::{Deserialize, Serialize};

use crate::copy::{copy_selected, select, CopyOptions, CopyReport};
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

/// Runs every job with `options`; `parse` turns the job's strings into image
/// references (with the caller's registry client). Cancellation stops the
/// jobs not yet started; they report `cancelled`.
pub fn sync(
    jobs: &[SyncJob],
    options: &CopyOptions,
    parse: impl Fn(&str) -> Result<ImageRef>,
) -> Vec<SyncResult> {
    jobs.iter()
        .map(|job| {
            let outcome = match run_job(job, options, &parse) {
                Ok(outcome) => outcome,
                Err(e) => SyncOutcome::Failed {
                    kind: e.kind(),
                    message: e.message().to_owned(),
                },
            };
            SyncResult {
                job: job.clone(),
                outcome,
            }
        })
        .collect()
}

fn run_job(
    job: &SyncJob,
    options: &CopyOptions,
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
    copy_selected(&src, &dst, options, root, source_digest)
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
