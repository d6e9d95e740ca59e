//! RPM packages from the sqlite rpm database (`rpmdb.sqlite`, rpm 4.16 and later).
//! The older Berkeley DB (`Packages`) and ndb (`Packages.db`) databases are
//! reported as unsupported.

use rusqlite::{Connection, OpenFlags};

use super::catalog::{Context, Found, Purl};
use super::model::Ecosystem;
use super::rootfs::Entry;

/// The directories rpm keeps its database in (`%_dbpath`: the traditional one and
/// the `/usr` one of Fedora 36+ and openSUSE).
const DB_DIRS: [&str; 2] = ["var/lib/rpm/", "usr/lib/sysimage/rpm/"];

/// Header tags (rpmtag.h).
const TAG_NAME: u32 = 1000;
const TAG_VERSION: u32 = 1001;
const TAG_RELEASE: u32 = 1002;
const TAG_EPOCH: u32 = 1003;
const TAG_LICENSE: u32 = 1014;
const TAG_ARCH: u32 = 1022;

/// Header data types (rpmtag.h `rpmTagType`).
const TYPE_INT32: u32 = 4;
const TYPE_STRING: u32 = 6;

/// Whether `path` is an rpm database, of a kind we read or one we report.
pub(super) fn is_database(path: &str) -> bool {
    DB_DIRS.iter().any(|dir| {
        path.strip_prefix(dir)
            .is_some_and(|name| matches!(name, "rpmdb.sqlite" | "Packages" | "Packages.db"))
    })
}

/// Catalogs an rpm database: the `Packages` table of an sqlite one, each row's
/// `blob` an rpm header; a Berkeley DB or ndb database is a warning.
pub(super) fn catalog(cx: &Context<'_>, entry: &Entry, found: &mut Found) {
    if !entry.path.ends_with("rpmdb.sqlite") {
        found.warn(format!(
            "{}: unsupported rpm database (Berkeley DB or ndb, rpm before 4.16); \
             its packages are not listed",
            entry.path
        ));
        return;
    }
    let Some(bytes) = cx.read_database(entry, found) else {
        return;
    };
    // Changes not yet checkpointed live in the write-ahead log beside the file.
    let wal = cx
        .fs
        .read(
            &format!("{}-wal", entry.path),
            cx.options.max_database_bytes,
        )
        .ok();
    match headers(&bytes, wal.as_deref()) {
        Ok(blobs) => {
            let distro = cx.distro();
            let namespace = cx.os.map(|os| os.id.as_str()).filter(|id| !id.is_empty());
            for (hnum, blob) in blobs {
                match Header::parse(&blob) {
                    Ok(header) => add(&header, namespace, distro.as_deref(), entry, found),
                    Err(err) => found.warn(format!("{}: header {hnum}: {err}", entry.path)),
                }
            }
        }
        Err(err) => found.warn(format!("{}: unreadable rpm database: {err}", entry.path)),
    }
}

fn add(
    header: &Header<'_>,
    namespace: Option<&str>,
    distro: Option<&str>,
    entry: &Entry,
    found: &mut Found,
) {
    let name = header.string(TAG_NAME).unwrap_or_default();
    let version = header.string(TAG_VERSION).unwrap_or_default();
    let release = header.string(TAG_RELEASE).unwrap_or_default();
    let full_version = if release.is_empty() {
        version.to_string()
    } else {
        format!("{version}-{release}")
    };
    let mut purl = Purl::new(Ecosystem::Rpm, name, &full_version);
    purl.namespace = Some(namespace.unwrap_or("redhat"));
    purl.qualifiers.push((
        "arch",
        header.string(TAG_ARCH).unwrap_or_default().to_string(),
    ));
    if let Some(epoch) = header.int32(TAG_EPOCH) {
        purl.qualifiers.push(("epoch", epoch.to_string()));
    }
    purl.qualifiers
        .push(("distro", distro.unwrap_or("").to_string()));
    let licenses = header
        .string(TAG_LICENSE)
        .filter(|l| !l.is_empty())
        .map(|l| vec![l.to_string()])
        .unwrap_or_default();
    found.add(purl, licenses, &entry.path);
}

/// The `(hnum, blob)` rows of the `Packages` table of an sqlite database held in
/// `bytes`, with its write-ahead log `wal` when there is one (both copied to a
/// temporary directory: sqlite reads files).
fn headers(bytes: &[u8], wal: Option<&[u8]>) -> Result<Vec<(i64, Vec<u8>)>, String> {
    let dir = tempfile::tempdir().map_err(|e| format!("creating a temporary directory: {e}"))?;
    let path = dir.path().join("rpmdb.sqlite");
    std::fs::write(&path, bytes).map_err(|e| format!("writing a temporary copy: {e}"))?;
    if let Some(wal) = wal {
        std::fs::write(dir.path().join("rpmdb.sqlite-wal"), wal)
            .map_err(|e| format!("writing a temporary copy: {e}"))?;
    }
    let db = Connection::open_with_flags(
        &path,
        OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_NO_MUTEX,
    )
    .map_err(|e| e.to_string())?;
    let mut query = db
        .prepare("SELECT hnum, blob FROM Packages ORDER BY hnum")
        .map_err(|e| e.to_string())?;
    let rows = query
        .query_map([], |row| Ok((row.get(0)?, row.get(1)?)))
        .map_err(|e| e.to_string())?;
    rows.collect::<Result<_, _>>().map_err(|e| e.to_string())
}

/// An rpm header as rpmdb stores it (the on-disk header without its 8-byte magic):
/// big-endian `il` (index entries) and `dl` (data bytes), `il` 16-byte entries
/// `(tag, type, offset, count)`, then the data store.
struct Header<'a> {
    index: Vec<(u32, u32, u32, u32)>,
    data: &'a [u8],
}

impl<'a> Header<'a> {
    fn parse(blob: &'a [u8]) -> Result<Header<'a>, String> {
        let word = |at: usize| -> Result<u32, String> {
            blob.get(at..at + 4)
                .map(|b| u32::from_be_bytes([b[0], b[1], b[2], b[3]]))
                .ok_or_else(|| format!("truncated header ({} bytes)", blob.len()))
        };
        let (il, dl) = (word(0)? as usize, word(4)? as usize);
        let data_start = il
            .checked_mul(16)
            .and_then(|n| n.checked_add(8))
            .filter(|&start| start.checked_add(dl).is_some_and(|end| end <= blob.len()))
            .ok_or_else(|| {
                format!(
                    "header claims {il} entries and {dl} data bytes in a {}-byte blob",
                    blob.len()
                )
            })?;
        let index = (0..il)
            .map(|i| {
                let at = 8 + i * 16;
                Ok((word(at)?, word(at + 4)?, word(at + 8)?, word(at + 12)?))
            })
            .collect::<Result<_, String>>()?;
        Ok(Header {
            index,
            data: &blob[data_start..data_start + dl],
        })
    }

    fn entry(&self, tag: u32, ty: u32) -> Option<&'a [u8]> {
        let &(_, _, offset, _) = self.index.iter().find(|e| e.0 == tag && e.1 == ty)?;
        self.data.get(offset as usize..)
    }

    /// A `STRING` entry (NUL-terminated UTF-8).
    fn string(&self, tag: u32) -> Option<&'a str> {
        let bytes = self.entry(tag, TYPE_STRING)?;
        let end = bytes.iter().position(|&b| b == 0)?;
        std::str::from_utf8(&bytes[..end]).ok()
    }

    /// The first value of an `INT32` entry.
    fn int32(&self, tag: u32) -> Option<u32> {
        let bytes = self.entry(tag, TYPE_INT32)?.get(..4)?;
        Some(u32::from_be_bytes([bytes[0], bytes[1], bytes[2], bytes[3]]))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hostile_headers_are_errors() {
        assert!(Header::parse(&[]).is_err());
        assert!(Header::parse(&[0xff, 0xff, 0xff, 0xff, 0, 0, 0, 0]).is_err());
        let header = Header::parse(&[
            0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 3, 232, 0, 0, 0, 6, 0, 0, 0, 9, 0, 0, 0, 1,
        ])
        .unwrap();
        assert_eq!(header.string(TAG_NAME), None);
    }
}
