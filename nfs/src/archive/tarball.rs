//! tar: writing with `tar::Builder` (GNU headers, long names and link targets as GNU
//! long-name entries), reading with `tar::Archive` (GNU and PAX names honoured), every
//! entry handed to the [`Extractor`].

use std::fs::File;
use std::io::{self, Read, Write};
use std::path::Path;

use ::tar::{Archive, Builder, EntryType, Header};

use super::CompressOptions;
use super::compress::{Exact, Item, Kind};
use super::extract::Extractor;
use crate::progress::Tracker;
use crate::{Error, Result};

/// Writes `items` as a tar into `out` and returns it (the end-of-archive blocks written).
pub(crate) fn write<W: Write>(
    out: W,
    items: &[Item],
    o: &CompressOptions,
    tracker: &Tracker,
    archive: &Path,
) -> Result<W> {
    let mut b = Builder::new(out);
    for it in items {
        let mut h = Header::new_gnu();
        h.set_mode(it.mode);
        h.set_mtime(it.mtime);
        if !o.reproducible {
            h.set_uid(it.uid);
            h.set_gid(it.gid);
        }
        let add = |e: io::Error| Error::io("add", &it.abs, e);
        match it.kind {
            Kind::Dir => {
                h.set_entry_type(EntryType::Directory);
                h.set_size(0);
                b.append_data(&mut h, &it.name, io::empty()).map_err(add)?;
            }
            Kind::File => {
                let f = File::open(&it.abs).map_err(|e| Error::io("open", &it.abs, e))?;
                h.set_entry_type(EntryType::Regular);
                h.set_size(it.size);
                b.append_data(&mut h, &it.name, Exact::new(f, it.size))
                    .map_err(add)?;
                tracker.file(it.size, &it.name);
            }
            Kind::Symlink => {
                h.set_entry_type(EntryType::Symlink);
                h.set_size(0);
                let target = it.target.as_deref().unwrap_or(Path::new(""));
                b.append_link(&mut h, &it.name, target).map_err(add)?;
                tracker.file(0, &it.name);
            }
        }
    }
    b.into_inner().map_err(|e| Error::io("write", archive, e))
}

/// Reads a tar stream and extracts (or, in a dry run, checks) every entry.
pub(crate) fn extract<R: Read>(reader: R, ex: &mut Extractor) -> Result<()> {
    let mut ar = Archive::new(reader);
    let entries = ar.entries().map_err(|e| ex.corrupt(None, &e))?;
    for entry in entries {
        let mut entry = entry.map_err(|e| ex.corrupt(None, &e))?;
        let raw = entry.path_bytes().into_owned();
        let h = entry.header();
        let kind = h.entry_type();
        let mode = h.mode().unwrap_or(0o644);
        let mtime = h.mtime().unwrap_or(0);
        match kind {
            EntryType::Regular | EntryType::Continuous | EntryType::GNUSparse => {
                let size = entry.size();
                ex.file(&raw, mode, mtime, size, &mut entry)?;
            }
            EntryType::Directory => ex.dir(&raw, mode, mtime)?,
            EntryType::Symlink => {
                let target = link_name(&entry, ex, &raw)?;
                ex.symlink(&raw, &target, mtime)?;
            }
            EntryType::Link => {
                let target = link_name(&entry, ex, &raw)?;
                ex.hardlink(&raw, &target)?;
            }
            // Metadata entries the reader already applied (or that carry nothing to write).
            EntryType::XGlobalHeader
            | EntryType::XHeader
            | EntryType::GNULongName
            | EntryType::GNULongLink => {}
            EntryType::Char | EntryType::Block => return Err(ex.refuse(&raw, "device node")),
            EntryType::Fifo => return Err(ex.refuse(&raw, "FIFO")),
            // A GNU volume label names the archive; there is nothing to write.
            other if other.as_byte() == b'V' => {}
            other => {
                return Err(ex.refuse(
                    &raw,
                    format!("unsupported entry type {:?}", other.as_byte() as char),
                ));
            }
        }
    }
    Ok(())
}

fn link_name<R: Read>(entry: &::tar::Entry<'_, R>, ex: &Extractor, raw: &[u8]) -> Result<Vec<u8>> {
    entry
        .link_name_bytes()
        .map(std::borrow::Cow::into_owned)
        .ok_or_else(|| ex.refuse(raw, "link without a target"))
}
