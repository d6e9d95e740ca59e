//! The sync verb: many copies from a list, each with its own result. One
//! failure does not stop the rest; an image already identical at its
//! destination is skipped after one manifest check. The jobs run in
//! parallel and share one bounded pool of transfers; a blob the jobs share
//! moves once into each destination store (a job needing a blob another is
//! moving waits for it, then finds it there or mounts it).

use serde::{Deserialize, Serialize};

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Condvar, Mutex};

use crate::copy::{
    copy_missing_referrers, copy_selected, select, CopyOptions, CopyReport, Transfers,
};
use crate::digest::Digest;
use crate::error::{Error, ErrorKind, Result};
use crate::platform::{self, Platform};
use crate::transport::ImageRef;

/// One copy of a sync: a source and a destination, as transport strings,
/// and what this job chooses differently from the sync's [`CopyOptions`].
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SyncJob {
    /// The image to copy.
    pub src: String,
    /// Where to copy it.
    pub dst: String,
    /// Copy every image of an index (`true`) or one (`false`); `None` (the
    /// default) follows the sync's `all`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub all: Option<bool>,
    /// Copy the image of this one platform from an index, or with several
    /// a subset written as a new index (`"os/arch[/variant]"` in JSON);
    /// empty (the default) follows the sync's `platform`/`platforms`.
    #[serde(
        default,
        deserialize_with = "platform::deserialize_list",
        serialize_with = "platform_strings",
        skip_serializing_if = "Vec::is_empty"
    )]
    pub platforms: Vec<Platform>,
    /// Bring along signatures and attached artifacts (`true`) or not;
    /// `None` (the default) follows the sync's `referrers`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub referrers: Option<bool>,
}

impl SyncJob {
    /// A job copying `src` to `dst` with the sync's options.
    pub fn new(src: impl Into<String>, dst: impl Into<String>) -> SyncJob {
        SyncJob {
            src: src.into(),
            dst: dst.into(),
            ..SyncJob::default()
        }
    }

    /// The sync's `options` with this job's choices applied.
    ///
    /// # Errors
    /// [`ErrorKind::InvalidInput`] when the job asks for `all` and
    /// `platforms` at once.
    pub fn options(&self, options: &CopyOptions) -> Result<CopyOptions> {
        let mut chosen = options.clone();
        if self.all == Some(true) && !self.platforms.is_empty() {
            return Err(Error::invalid(format!(
                "the job {} -> {} asks for all platforms and for {}: choose one",
                self.src,
                self.dst,
                self.platforms.len()
            )));
        }
        if let Some(all) = self.all {
            chosen.all = all;
            if all {
                chosen.platform = None;
                chosen.platforms = Vec::new();
            }
        }
        if !self.platforms.is_empty() {
            chosen.all = false;
            (chosen.platform, chosen.platforms) = match self.platforms.as_slice() {
                [one] => (Some(one.clone()), Vec::new()),
                many => (None, many.to_vec()),
            };
        }
        if let Some(referrers) = self.referrers {
            chosen.referrers = referrers;
        }
        Ok(chosen)
    }
}

/// Writes platforms as `"os/arch[/variant]"` strings, as they are read.
fn platform_strings<S: serde::Serializer>(
    platforms: &[Platform],
    s: S,
) -> std::result::Result<S::Ok, S::Error> {
    s.collect_seq(platforms.iter().map(ToString::to_string))
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
        /// With referrers asked for, how many the destination lacked and
        /// were copied to it (0 when it had them all, or without).
        referrers_copied: usize,
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

/// Reads a sync file: one `SRC DST [KEY=VALUE…]` job a line; blank lines
/// and lines starting with `#` are ignored. The options after the pair are
/// the job's own ([`SyncJob`]): `all=true|false`,
/// `platform=os/arch[/variant][,os/arch…]` (one platform, or a subset
/// index) and `referrers=true|false`; those left out follow the sync's.
///
/// # Errors
/// [`ErrorKind::InvalidInput`] naming the line for a line with fewer than
/// two fields, or an unknown, repeated or malformed option.
pub fn parse_jobs(text: &str) -> Result<Vec<SyncJob>> {
    let mut jobs = Vec::new();
    for (n, line) in text.lines().enumerate() {
        let line = line.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let fields: Vec<&str> = line.split_whitespace().collect();
        let [src, dst, options @ ..] = fields.as_slice() else {
            return Err(Error::invalid(format!(
                "line {} of the sync list must be `SRC DST [KEY=VALUE…]`, it has {} field",
                n + 1,
                fields.len()
            )));
        };
        let mut job = SyncJob::new(*src, *dst);
        for option in options {
            job_option(&mut job, option)
                .map_err(|e| Error::invalid(format!("line {} of the sync list: {e}", n + 1)))?;
        }
        if job.all == Some(true) && !job.platforms.is_empty() {
            return Err(Error::invalid(format!(
                "line {} of the sync list: all=true and platform= exclude each other: \
                 copy every image, or the platforms named",
                n + 1
            )));
        }
        jobs.push(job);
    }
    Ok(jobs)
}

/// Applies one `KEY=VALUE` of a sync line to `job`.
fn job_option(job: &mut SyncJob, option: &str) -> Result<()> {
    let flag = |value: &str| match value {
        "true" => Ok(true),
        "false" => Ok(false),
        other => Err(Error::invalid(format!(
            "{option}: {other:?} is not true or false"
        ))),
    };
    let repeated = || Error::invalid(format!("{option}: given twice"));
    match option.split_once('=') {
        Some(("all", value)) if job.all.is_none() => job.all = Some(flag(value)?),
        Some(("referrers", value)) if job.referrers.is_none() => job.referrers = Some(flag(value)?),
        Some(("platform", value)) if job.platforms.is_empty() => {
            job.platforms = value
                .split(',')
                .map(str::parse)
                .collect::<Result<Vec<Platform>>>()?
        }
        Some(("all" | "referrers" | "platform", _)) => return Err(repeated()),
        _ => {
            return Err(Error::invalid(format!(
                "unknown option {option:?}: use all=true|false, \
                 platform=os/arch[,os/arch…] or referrers=true|false"
            )))
        }
    }
    Ok(())
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
    let options = &job.options(options)?;
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
        let digest = root.digest().clone();
        let referrers_copied = match options.referrers {
            true => copy_missing_referrers(&src, &dst, root, options, transfers).map_err(|e| {
                e.context("the image was there already, but not all that refers to it")
            })?,
            false => 0,
        };
        return Ok(SyncOutcome::Skipped {
            digest,
            referrers_copied,
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

    #[test]
    fn a_line_carries_its_own_options() {
        let jobs = parse_jobs(
            "a b all=true referrers=false\nc d platform=linux/amd64,linux/arm64/v8\ne f\n",
        )
        .unwrap();
        assert_eq!(jobs[0].all, Some(true));
        assert_eq!(jobs[0].referrers, Some(false));
        assert_eq!(jobs[1].platforms.len(), 2);
        assert_eq!(jobs[2], SyncJob::new("e", "f"));
        let sync = CopyOptions {
            referrers: true,
            platform: Some("linux/arm64".parse().unwrap()),
            ..CopyOptions::default()
        };
        let first = jobs[0].options(&sync).unwrap();
        assert!(first.all && !first.referrers && first.platform.is_none());
        let second = jobs[1].options(&sync).unwrap();
        assert!(second.referrers && second.platform.is_none());
        assert_eq!(second.platforms.len(), 2);
        let json = serde_json::to_value(&jobs[1]).unwrap();
        assert_eq!(
            json,
            serde_json::json!({"src": "c", "dst": "d", "platforms": ["linux/amd64", "linux/arm64/v8"]})
        );
        assert_eq!(serde_json::from_value::<SyncJob>(json).unwrap(), jobs[1]);
        for (line, says) in [
            ("a b all=yes", "not true or false"),
            ("a b lz4=1", "unknown option"),
            ("a b all=true all=false", "given twice"),
            ("a b platform=nonsense", "line 1"),
            ("a b\nc d all=true platform=linux/arm64", "line 2"),
            ("a b platform=linux/arm64 all=true", "exclude each other"),
        ] {
            let err = parse_jobs(line).unwrap_err();
            assert!(err.message().contains(says), "{line}: {err}");
        }
        let both = SyncJob {
            all: Some(true),
            ..jobs[1].clone()
        };
        assert!(both.options(&sync).is_err());
    }
}
