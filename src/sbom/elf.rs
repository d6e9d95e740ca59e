//! The few parts of an ELF executable an SBOM needs, read without reading the
//! file whole: the file header, the section header table and its string table,
//! then only the sections asked for (`.go.buildinfo`, `.dep-v0`), each through
//! [`RootFs::read_range`]. Memory stays bounded however large the binary is.

use std::io::{self, Read, Seek, SeekFrom};

use object::elf::{FileHeader32, FileHeader64};
use object::read::elf::{FileHeader, SectionHeader};
use object::{Endianness, FileKind, ReadCache, ReadRef};

use super::rootfs::RootFs;

/// The largest section read (Go build info and `cargo auditable` data are a
/// few KiB to a few MiB); a larger one is an error, not an allocation.
const MAX_SECTION_BYTES: u64 = 64 << 20;

/// The sections of one executable the catalogers read.
#[derive(Debug, Default)]
pub(super) struct Sections {
    /// `.go.buildinfo`, when present.
    pub go_buildinfo: Option<Vec<u8>>,
    /// `.dep-v0` (`cargo auditable`), when present.
    pub dep_v0: Option<Vec<u8>>,
    /// Whether the file has a section header table at all (a Go binary whose
    /// headers were stripped is searched for its build info instead).
    pub has_section_headers: bool,
}

/// Reads the sections of the ELF file `path` (`size` bytes) of `fs`. Errors (a
/// sentence) when it is not a well-formed ELF file.
pub(super) fn sections(fs: &dyn RootFs, path: &str, size: u64) -> Result<Sections, String> {
    let cache = ReadCache::new(Ranged {
        fs,
        path,
        size,
        pos: 0,
    });
    match FileKind::parse(&cache).map_err(|e| e.to_string())? {
        FileKind::Elf32 => read::<FileHeader32<Endianness>, _>(&cache),
        FileKind::Elf64 => read::<FileHeader64<Endianness>, _>(&cache),
        other => Err(format!("not an ELF file ({other:?})")),
    }
}

fn read<'data, Elf, R>(data: R) -> Result<Sections, String>
where
    Elf: FileHeader<Endian = Endianness>,
    R: ReadRef<'data>,
{
    let header = Elf::parse(data).map_err(|e| e.to_string())?;
    let endian = header.endian().map_err(|e| e.to_string())?;
    let table = header.sections(endian, data).map_err(|e| e.to_string())?;
    let section = |name: &str| -> Result<Option<Vec<u8>>, String> {
        let Some((_, section)) = table.section_by_name(endian, name.as_bytes()) else {
            return Ok(None);
        };
        let size: u64 = section.sh_size(endian).into();
        if size > MAX_SECTION_BYTES {
            return Err(format!(
                "section {name} is {size} bytes, over the {MAX_SECTION_BYTES}-byte limit"
            ));
        }
        section
            .data(endian, data)
            .map(|bytes| Some(bytes.to_vec()))
            .map_err(|e| format!("section {name}: {e}"))
    };
    Ok(Sections {
        go_buildinfo: section(".go.buildinfo")?,
        dep_v0: section(".dep-v0")?,
        has_section_headers: !table.is_empty(),
    })
}

/// One file of a [`RootFs`] as `Read + Seek`, each read a ranged read.
struct Ranged<'a> {
    fs: &'a dyn RootFs,
    path: &'a str,
    size: u64,
    pos: u64,
}

impl Read for Ranged<'_> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let bytes = self
            .fs
            .read_range(self.path, self.pos, buf.len() as u64)
            .map_err(io::Error::other)?;
        buf[..bytes.len()].copy_from_slice(&bytes);
        self.pos += bytes.len() as u64;
        Ok(bytes.len())
    }
}

impl Seek for Ranged<'_> {
    fn seek(&mut self, to: SeekFrom) -> io::Result<u64> {
        let pos = match to {
            SeekFrom::Start(n) => Some(n),
            SeekFrom::End(d) => self.size.checked_add_signed(d),
            SeekFrom::Current(d) => self.pos.checked_add_signed(d),
        };
        self.pos = pos.ok_or_else(|| io::Error::from(io::ErrorKind::InvalidInput))?;
        Ok(self.pos)
    }
}
