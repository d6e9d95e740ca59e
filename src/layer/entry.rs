//! One entry of the merged view: its metadata and where its bytes are.

use std::collections::BTreeMap;

use serde::{Serialize, Serializer};

use crate::digest::Digest;

/// What kind of file an entry is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum EntryKind {
    /// A regular file.
    File,
    /// A directory.
    Dir,
    /// A symbolic link; its target is kept as written, never followed here.
    Symlink,
    /// A hard link to another path of the image (same or an earlier layer):
    /// a regular file sharing the target's bytes, mode and size.
    Hardlink,
    /// A character device.
    CharDevice,
    /// A block device.
    BlockDevice,
    /// A named pipe.
    Fifo,
}

impl EntryKind {
    /// Whether the entry has bytes to read (a file or a hard link to one).
    pub fn has_data(self) -> bool {
        matches!(self, EntryKind::File | EntryKind::Hardlink)
    }

    /// The one-letter type `ls -l` shows: `-`, `d`, `l`, `h`, `c`, `b`, `p`.
    pub fn letter(self) -> char {
        match self {
            EntryKind::File => '-',
            EntryKind::Dir => 'd',
            EntryKind::Symlink => 'l',
            EntryKind::Hardlink => 'h',
            EntryKind::CharDevice => 'c',
            EntryKind::BlockDevice => 'b',
            EntryKind::Fifo => 'p',
        }
    }
}

/// Where an entry's bytes are: in the uncompressed tar stream of one layer.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
pub struct DataLocation {
    /// The layer's index in the manifest, base first.
    pub layer: usize,
    /// The offset of the first byte in that layer's uncompressed tar stream.
    pub offset: u64,
}

/// One path of the merged root filesystem.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Entry {
    /// The path, relative to the root, `/`-separated, without `./` or a
    /// trailing slash (`etc/os-release`).
    pub path: String,
    /// The kind of file.
    #[serde(rename = "type")]
    pub kind: EntryKind,
    /// The permission bits, with setuid, setgid and sticky (`0o7777` mask).
    pub mode: u32,
    /// The owner's user id.
    pub uid: u64,
    /// The owner's group id.
    pub gid: u64,
    /// The size in bytes (0 for everything but files and hard links).
    pub size: u64,
    /// The modification time, seconds since the Unix epoch.
    pub mtime: u64,
    /// A symlink's target as written, or a hard link's target path.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub link_target: Option<String>,
    /// A device's major and minor numbers.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub device: Option<(u32, u32)>,
    /// Extended attributes (from PAX `SCHILY.xattr.*` records); values are
    /// shown base64-encoded in JSON.
    #[serde(
        skip_serializing_if = "BTreeMap::is_empty",
        serialize_with = "xattrs_base64"
    )]
    pub xattrs: BTreeMap<String, Vec<u8>>,
    /// The index (base first) of the layer the entry came from.
    pub layer: usize,
    /// Where the bytes are, for files and hard links.
    #[serde(skip)]
    pub data: Option<DataLocation>,
    /// The content's SHA-256, when the view was built with digests.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub digest: Option<Digest>,
}

fn xattrs_base64<S: Serializer>(map: &BTreeMap<String, Vec<u8>>, s: S) -> Result<S::Ok, S::Error> {
    use base64::Engine;
    let encoded: BTreeMap<&str, String> = map
        .iter()
        .map(|(k, v)| {
            (
                k.as_str(),
                base64::engine::general_purpose::STANDARD.encode(v),
            )
        })
        .collect();
    encoded.serialize(s)
}

impl Entry {
    /// A directory made because a later entry needed it (mode 0755, root's).
    pub(crate) fn implicit_dir(path: String, layer: usize) -> Entry {
        Entry {
            path,
            kind: EntryKind::Dir,
            mode: 0o755,
            uid: 0,
            gid: 0,
            size: 0,
            mtime: 0,
            link_target: None,
            device: None,
            xattrs: BTreeMap::new(),
            layer,
            data: None,
            digest: None,
        }
    }

    /// The last component of the path.
    pub fn name(&self) -> &str {
        self.path.rsplit('/').next().unwrap_or(&self.path)
    }
}
