//! The diff verb: what paths two images' merged roots add, remove and
//! change.

use serde::Serialize;

use super::{FilesOptions, ImageFs};
use crate::error::Result;
use crate::layer::{Entry, EntryKind};
use crate::transport::ImageRef;

/// One path present in both images but different.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Changed {
    /// The path, relative to the root.
    pub path: String,
    /// What differs, in this order: `type`, `content` (the SHA-256 of the
    /// bytes), `mode`, `ownership` (uid or gid), `link_target`, `device`.
    pub changes: Vec<&'static str>,
}

/// What [`diff()`] reports: paths only in the second image, only in the
/// first, and in both but different. Each list is in path order.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Default)]
pub struct DiffReport {
    /// Paths the second image has and the first lacks.
    pub added: Vec<String>,
    /// Paths the first image has and the second lacks.
    pub removed: Vec<String>,
    /// Paths both have that differ.
    pub changed: Vec<Changed>,
}

/// Compares the merged roots of `a` and `b` by type, content digest, mode,
/// ownership and link target (modification times are ignored; a hard link
/// counts as the file it is).
pub fn diff(a: &ImageRef, b: &ImageRef, options: &FilesOptions) -> Result<DiffReport> {
    let left = ImageFs::open(a, options, true)?;
    let right = ImageFs::open(b, options, true)?;
    let mut report = DiffReport::default();
    let mut l = left.entries().peekable();
    let mut r = right.entries().peekable();
    loop {
        match (l.peek(), r.peek()) {
            (None, None) => break,
            (Some(x), Some(y)) if x.path == y.path => {
                let changes = compare(x, y);
                if !changes.is_empty() {
                    report.changed.push(Changed {
                        path: x.path.clone(),
                        changes,
                    });
                }
                l.next();
                r.next();
            }
            (Some(x), Some(y)) if x.path < y.path => {
                report.removed.push(x.path.clone());
                l.next();
            }
            (Some(x), None) => {
                report.removed.push(x.path.clone());
                l.next();
            }
            (_, Some(y)) => {
                report.added.push(y.path.clone());
                r.next();
            }
        }
    }
    Ok(report)
}

fn kind(e: &Entry) -> EntryKind {
    match e.kind {
        EntryKind::Hardlink => EntryKind::File,
        k => k,
    }
}

fn compare(a: &Entry, b: &Entry) -> Vec<&'static str> {
    let mut changes = Vec::new();
    if kind(a) != kind(b) {
        changes.push("type");
    } else if a.kind.has_data() && a.digest != b.digest {
        changes.push("content");
    }
    if a.mode != b.mode {
        changes.push("mode");
    }
    if (a.uid, a.gid) != (b.uid, b.gid) {
        changes.push("ownership");
    }
    if a.kind == EntryKind::Symlink
        && b.kind == EntryKind::Symlink
        && a.link_target != b.link_target
    {
        changes.push("link_target");
    }
    if a.device != b.device {
        changes.push("device");
    }
    changes
}
