//! Random access to the files of an uncompressed tar archive by name, without
//! unpacking it: one pass records where each file's bytes are, then readers
//! share the open file with positioned reads.

use std::collections::HashMap;
use std::fs::File;
use std::io::{self, Read};
use std::os::unix::fs::FileExt;
use std::path::{Component, Path, PathBuf};
use std::sync::Arc;

use crate::error::{Error, Result};

/// How many symbolic links a lookup follows before giving up.
const MAX_LINK_HOPS: usize = 16;

/// Where a name leads inside the archive.
#[derive(Debug, Clone)]
enum Entry {
    /// A regular file's bytes.
    File { offset: u64, size: u64 },
    /// A symbolic or hard link to another name (already made absolute
    /// within the archive).
    Link(String),
}

/// The files of a tar archive, by normalised name (`a/b`, no `./`).
pub struct TarIndex {
    path: PathBuf,
    file: Arc<File>,
    entries: HashMap<String, Entry>,
}

/// Normalises an archive name: drops `.` and leading `/`, resolves `..`;
/// `None` when it climbs out of the archive.
pub(super) fn normalise(name: &Path) -> Option<String> {
    let mut parts: Vec<String> = Vec::new();
    for component in name.components() {
        match component {
            Component::Normal(p) => parts.push(p.to_string_lossy().into_owned()),
            Component::ParentDir => {
                parts.pop()?;
            }
            Component::CurDir | Component::RootDir | Component::Prefix(_) => {}
        }
    }
    Some(parts.join("/"))
}

impl TarIndex {
    /// Reads the table of contents of the tar file at `path`.
    pub fn open(path: &Path) -> Result<TarIndex> {
        let file = File::open(path).map_err(|e| match e.kind() {
            io::ErrorKind::NotFound => {
                Error::not_found(format!("{} does not exist", path.display()))
            }
            _ => Error::io(format!("opening {}", path.display()), e),
        })?;
        let bad = |e: io::Error| {
            Error::invalid(format!(
                "{} is not a readable tar archive: {e}",
                path.display()
            ))
        };
        let mut entries = HashMap::new();
        let mut archive = tar::Archive::new(&file);
        for entry in archive.entries_with_seek().map_err(bad)? {
            let entry = entry.map_err(bad)?;
            let header_path = entry.path().map_err(bad)?.into_owned();
            let Some(name) = normalise(&header_path) else {
                continue;
            };
            let kind = entry.header().entry_type();
            let target = || -> Result<Option<String>> {
                let link = entry.link_name().map_err(bad)?.ok_or_else(|| {
                    Error::invalid(format!("{}: link {name:?} names no target", path.display()))
                })?;
                Ok(if kind.is_symlink() {
                    normalise(&header_path.parent().unwrap_or(Path::new("")).join(link))
                } else {
                    normalise(&link)
                })
            };
            if kind.is_file() || kind == tar::EntryType::Continuous {
                entries.insert(
                    name,
                    Entry::File {
                        offset: entry.raw_file_position(),
                        size: entry.size(),
                    },
                );
            } else if kind.is_symlink() || kind.is_hard_link() {
                if let Some(target) = target()? {
                    entries.insert(name, Entry::Link(target));
                }
            }
        }
        Ok(TarIndex {
            path: path.to_owned(),
            file: Arc::new(file),
            entries,
        })
    }

    /// Where the bytes of `name` are, following links.
    fn locate(&self, name: &str) -> Option<(u64, u64)> {
        let mut name = normalise(Path::new(name))?;
        for _ in 0..MAX_LINK_HOPS {
            match self.entries.get(&name)? {
                Entry::File { offset, size } => return Some((*offset, *size)),
                Entry::Link(target) => name = target.clone(),
            }
        }
        None
    }

    /// Whether the archive has a file `name`.
    pub fn contains(&self, name: &str) -> bool {
        self.locate(name).is_some()
    }

    /// The size of the file `name`, when the archive has it.
    pub fn size(&self, name: &str) -> Option<u64> {
        self.locate(name).map(|(_, size)| size)
    }

    /// A reader of the file `name`.
    pub fn reader(&self, name: &str) -> Result<Section> {
        let (offset, size) = self.locate(name).ok_or_else(|| {
            Error::not_found(format!("{} has no file {name:?}", self.path.display()))
        })?;
        Ok(Section {
            file: Arc::clone(&self.file),
            position: offset,
            end: offset + size,
        })
    }

    /// The whole file `name`, refused when larger than `limit` bytes.
    pub fn read_small(&self, name: &str, limit: u64) -> Result<Vec<u8>> {
        let size = self.size(name).ok_or_else(|| {
            Error::not_found(format!("{} has no file {name:?}", self.path.display()))
        })?;
        if size > limit {
            return Err(Error::invalid(format!(
                "{name} in {} has {size} bytes, more than the {limit}-byte limit",
                self.path.display()
            )));
        }
        let mut bytes = Vec::with_capacity(size as usize);
        self.reader(name)?
            .read_to_end(&mut bytes)
            .map_err(|e| Error::io(format!("reading {name} in {}", self.path.display()), e))?;
        Ok(bytes)
    }
}

/// The bytes of one file of an archive.
pub struct Section {
    file: Arc<File>,
    position: u64,
    end: u64,
}

impl Read for Section {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let want = buf.len().min((self.end - self.position) as usize);
        if want == 0 {
            return Ok(0);
        }
        let n = self.file.read_at(&mut buf[..want], self.position)?;
        if n == 0 {
            return Err(io::Error::new(
                io::ErrorKind::UnexpectedEof,
                "the archive ends inside a file (truncated?)",
            ));
        }
        self.position += n as u64;
        Ok(n)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::ErrorKind;

    #[test]
    fn names_normalise_and_stay_inside() {
        assert_eq!(normalise(Path::new("./a/b")).as_deref(), Some("a/b"));
        assert_eq!(normalise(Path::new("/a/../b")).as_deref(), Some("b"));
        assert_eq!(normalise(Path::new("../x")), None);
    }

    #[test]
    fn files_links_and_truncation() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("t.tar");
        let mut builder = tar::Builder::new(File::create(&path).unwrap());
        let mut header = tar::Header::new_gnu();
        header.set_size(5);
        header.set_mode(0o644);
        builder
            .append_data(&mut header, "dir/file", &b"hello"[..])
            .unwrap();
        let mut link = tar::Header::new_gnu();
        link.set_entry_type(tar::EntryType::Symlink);
        link.set_size(0);
        builder
            .append_link(&mut link, "other/link", "../dir/file")
            .unwrap();
        let mut escape = tar::Header::new_gnu();
        escape.set_entry_type(tar::EntryType::Symlink);
        escape.set_size(0);
        builder
            .append_link(&mut escape, "bad", "../../etc/passwd")
            .unwrap();
        builder.into_inner().unwrap();

        let index = TarIndex::open(&path).unwrap();
        assert_eq!(index.read_small("./dir/file", 10).unwrap(), b"hello");
        assert_eq!(index.read_small("other/link", 10).unwrap(), b"hello");
        assert!(!index.contains("bad"));
        assert!(index.read_small("dir/file", 4).is_err());
        assert_eq!(
            index.reader("nope").err().unwrap().kind(),
            ErrorKind::NotFound
        );
    }
}
