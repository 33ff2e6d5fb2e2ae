//! zip: a writer of our own that deflates entries on every core (and keeps names as
//! bytes, so non-UTF-8 names round-trip), and a reader on the `zip` crate.
//!
//! The writer emits what Info-ZIP does: a local header per entry, the data, a central
//! directory, Unix modes in the external attributes, the modification time both as a DOS
//! time and in the extended-timestamp field (UTC, to the second), zip64 records when a
//! size, an offset or the entry count needs them. Files up to one block are deflated as
//! one job and stored instead when deflate does not pay; larger files are deflated as a
//! chain of blocks (as for gzip) and followed by a data descriptor.

use std::collections::VecDeque;
use std::fs::File;
use std::io::{self, BufWriter, Read, Write};
use std::path::Path;
use std::sync::mpsc::Receiver;

use flate2::Crc;

use super::CompressOptions;
use super::compress::{Item, Kind};
use super::extract::Extractor;
use super::gzip_parallel::{DEFAULT_BLOCK, Done, Pool};
use crate::progress::Tracker;
use crate::{Error, Result};

const WINDOW: usize = 32 * 1024;
const MAX_INFLIGHT_BYTES: usize = 32 << 20;
const S_IFDIR: u32 = 0o040_000;
const S_IFREG: u32 = 0o100_000;
const S_IFLNK: u32 = 0o120_000;

type Ticket = Receiver<io::Result<Done>>;

/// Metadata of one entry, before its data.
struct Meta {
    name: Vec<u8>,
    mode: u32,
    mtime: u64,
}

enum Piece {
    /// An entry whose data is all here (directory, link, stored or empty file).
    Stored(Meta, Vec<u8>),
    /// A file deflated in one job.
    Small(Meta, Ticket),
    /// The start of a file deflated as a chain of blocks.
    BigStart(Meta, u64),
    /// One block of that chain.
    BigBlock(Ticket, usize),
    /// The end of the chain.
    BigEnd,
}

/// A central directory record.
struct Central {
    name: Vec<u8>,
    mode: u32,
    mtime: u64,
    method: u16,
    flags: u16,
    crc: u32,
    csize: u64,
    usize_: u64,
    offset: u64,
}

struct Out<W: Write> {
    w: W,
    pos: u64,
    central: Vec<Central>,
    big: Option<(Central, Crc, bool)>,
}

fn name_bytes(p: &Path, dir: bool) -> Vec<u8> {
    #[cfg(unix)]
    let mut v = {
        use std::os::unix::ffi::OsStrExt;
        p.as_os_str().as_bytes().to_vec()
    };
    #[cfg(not(unix))]
    let mut v = p.to_string_lossy().replace('\\', "/").into_bytes();
    if dir {
        v.push(b'/');
    }
    v
}

#[cfg(unix)]
fn link_bytes(p: &Path) -> Vec<u8> {
    use std::os::unix::ffi::OsStrExt;
    p.as_os_str().as_bytes().to_vec()
}

#[cfg(not(unix))]
fn link_bytes(p: &Path) -> Vec<u8> {
    p.to_string_lossy().replace('\\', "/").into_bytes()
}

/// Writes `items` as a zip into `file`.
pub(crate) fn write(
    file: File,
    items: &[Item],
    o: &CompressOptions,
    tracker: &Tracker,
    archive: &Path,
) -> Result<()> {
    let werr = |e: io::Error| Error::io("write", archive, e);
    let pool = if o.level == 0 {
        None
    } else {
        Some(Pool::new(o.threads, o.level).map_err(werr)?)
    };
    let mut out = Out {
        w: BufWriter::with_capacity(1 << 20, file),
        pos: 0,
        central: Vec::with_capacity(items.len()),
        big: None,
    };
    let mut queue: VecDeque<Piece> = VecDeque::new();
    let mut inflight = 0usize;
    let max_jobs = pool.as_ref().map_or(1, |p| p.threads() * 8 + 8);
    let mut jobs = 0usize;
    for it in items {
        let meta = Meta {
            name: name_bytes(&it.name, it.kind == Kind::Dir),
            mode: it.mode,
            mtime: it.mtime,
        };
        match it.kind {
            Kind::Dir => queue.push_back(Piece::Stored(
                Meta {
                    mode: S_IFDIR | it.mode,
                    ..meta
                },
                Vec::new(),
            )),
            Kind::Symlink => {
                let t = link_bytes(it.target.as_deref().unwrap_or(Path::new("")));
                queue.push_back(Piece::Stored(
                    Meta {
                        mode: S_IFLNK | 0o777,
                        ..meta
                    },
                    t,
                ));
                tracker.file(0, &it.name);
            }
            Kind::File => {
                let meta = Meta {
                    mode: S_IFREG | it.mode,
                    ..meta
                };
                let mut f = File::open(&it.abs).map_err(|e| Error::io("open", &it.abs, e))?;
                let rerr = |e: io::Error| Error::io("read", &it.abs, e);
                match &pool {
                    Some(pool) if it.size > 0 && it.size <= DEFAULT_BLOCK as u64 => {
                        let data = read_exact_len(&mut f, it.size).map_err(rerr)?;
                        inflight += data.len();
                        jobs += 1;
                        let t = pool.submit(data, Vec::new(), true).map_err(werr)?;
                        queue.push_back(Piece::Small(meta, t));
                    }
                    Some(pool) if it.size > 0 => {
                        queue.push_back(Piece::BigStart(meta, it.size));
                        let mut left = it.size;
                        let mut tail: Vec<u8> = Vec::new();
                        while left > 0 {
                            let n = usize::try_from(left)
                                .unwrap_or(DEFAULT_BLOCK)
                                .min(DEFAULT_BLOCK);
                            let data = read_exact_len(&mut f, n as u64).map_err(rerr)?;
                            left -= n as u64;
                            let dict = std::mem::take(&mut tail);
                            tail = data[data.len().saturating_sub(WINDOW)..].to_vec();
                            inflight += data.len();
                            jobs += 1;
                            let t = pool.submit(data, dict, left == 0).map_err(werr)?;
                            queue.push_back(Piece::BigBlock(t, n));
                            drain(
                                &mut out,
                                &mut queue,
                                &mut inflight,
                                &mut jobs,
                                max_jobs,
                                false,
                            )
                            .map_err(werr)?;
                        }
                        queue.push_back(Piece::BigEnd);
                    }
                    _ => {
                        let data = read_exact_len(&mut f, it.size).map_err(rerr)?;
                        inflight += data.len();
                        queue.push_back(Piece::Stored(meta, data));
                    }
                }
                tracker.file(it.size, &it.name);
            }
        }
        drain(
            &mut out,
            &mut queue,
            &mut inflight,
            &mut jobs,
            max_jobs,
            false,
        )
        .map_err(werr)?;
    }
    drain(
        &mut out,
        &mut queue,
        &mut inflight,
        &mut jobs,
        max_jobs,
        true,
    )
    .map_err(werr)?;
    finish(&mut out).map_err(werr)?;
    out.w.into_inner().map_err(|e| werr(e.into_error()))?;
    Ok(())
}

/// Reads exactly `len` bytes: zero-padded if the file shrank, cut if it grew.
fn read_exact_len(f: &mut File, len: u64) -> io::Result<Vec<u8>> {
    let mut v = Vec::with_capacity(usize::try_from(len).unwrap_or(0));
    f.take(len).read_to_end(&mut v)?;
    v.resize(usize::try_from(len).unwrap_or(v.len()), 0);
    Ok(v)
}

/// Writes finished pieces in order; with `all`, waits for every one.
fn drain<W: Write>(
    out: &mut Out<W>,
    queue: &mut VecDeque<Piece>,
    inflight: &mut usize,
    jobs: &mut usize,
    max_jobs: usize,
    all: bool,
) -> io::Result<()> {
    while let Some(front) = queue.front() {
        let must = all || *inflight > MAX_INFLIGHT_BYTES || *jobs > max_jobs;
        let ready = match front {
            Piece::Stored(..) | Piece::BigStart(..) | Piece::BigEnd => true,
            Piece::Small(..) | Piece::BigBlock(..) => must,
        };
        if !ready {
            break;
        }
        let Some(piece) = queue.pop_front() else {
            break;
        };
        match piece {
            Piece::Stored(meta, data) => {
                *inflight = inflight.saturating_sub(data.len());
                let mut crc = Crc::new();
                crc.update(&data);
                entry(out, meta, 0, crc.sum(), &data, data.len() as u64)?;
            }
            Piece::Small(meta, t) => {
                let done = t
                    .recv()
                    .map_err(|_| io::Error::other("deflate worker died"))??;
                *inflight = inflight.saturating_sub(done.input.len());
                *jobs -= 1;
                let crc = done.crc.sum();
                if done.data.len() < done.input.len() {
                    entry(out, meta, 8, crc, &done.data, done.input.len() as u64)?;
                } else {
                    entry(out, meta, 0, crc, &done.input, done.input.len() as u64)?;
                }
            }
            Piece::BigStart(meta, size) => big_start(out, meta, size)?,
            Piece::BigBlock(t, n) => {
                let done = t
                    .recv()
                    .map_err(|_| io::Error::other("deflate worker died"))??;
                *inflight = inflight.saturating_sub(n);
                *jobs -= 1;
                out.w.write_all(&done.data)?;
                out.pos += done.data.len() as u64;
                if let Some((c, crc, _)) = &mut out.big {
                    c.csize += done.data.len() as u64;
                    c.usize_ += done.input.len() as u64;
                    crc.combine(&done.crc);
                }
            }
            Piece::BigEnd => big_end(out)?,
        }
    }
    Ok(())
}

fn utf8_flag(name: &[u8]) -> u16 {
    if std::str::from_utf8(name).is_ok() && !name.is_ascii() {
        1 << 11
    } else {
        0
    }
}

/// Extended timestamp extra field (0x5455) with the modification time only.
fn ext_time(mtime: u64) -> [u8; 9] {
    let t = u32::try_from(mtime).unwrap_or(u32::MAX).to_le_bytes();
    [0x55, 0x54, 5, 0, 1, t[0], t[1], t[2], t[3]]
}

/// An entry whose data is known: local header with sizes, then the data.
fn entry<W: Write>(
    out: &mut Out<W>,
    meta: Meta,
    method: u16,
    crc: u32,
    data: &[u8],
    usize_: u64,
) -> io::Result<()> {
    let offset = out.pos;
    let csize = data.len() as u64;
    let zip64 = csize >= 0xFFFF_FFFF || usize_ >= 0xFFFF_FFFF;
    let flags = utf8_flag(&meta.name);
    let (dtime, ddate) = dos_time(meta.mtime);
    let mut h = Vec::with_capacity(30 + meta.name.len() + 29);
    h.extend_from_slice(&0x0403_4b50u32.to_le_bytes());
    h.extend_from_slice(&(if zip64 { 45u16 } else { 20 }).to_le_bytes());
    h.extend_from_slice(&flags.to_le_bytes());
    h.extend_from_slice(&method.to_le_bytes());
    h.extend_from_slice(&dtime.to_le_bytes());
    h.extend_from_slice(&ddate.to_le_bytes());
    h.extend_from_slice(&crc.to_le_bytes());
    let mut extra = ext_time(meta.mtime).to_vec();
    if zip64 {
        h.extend_from_slice(&u32::MAX.to_le_bytes());
        h.extend_from_slice(&u32::MAX.to_le_bytes());
        extra.extend_from_slice(&[1, 0, 16, 0]);
        extra.extend_from_slice(&usize_.to_le_bytes());
        extra.extend_from_slice(&csize.to_le_bytes());
    } else {
        h.extend_from_slice(&u32::try_from(csize).unwrap_or(u32::MAX).to_le_bytes());
        h.extend_from_slice(&u32::try_from(usize_).unwrap_or(u32::MAX).to_le_bytes());
    }
    h.extend_from_slice(
        &u16::try_from(meta.name.len())
            .unwrap_or(u16::MAX)
            .to_le_bytes(),
    );
    h.extend_from_slice(&u16::try_from(extra.len()).unwrap_or(0).to_le_bytes());
    h.extend_from_slice(&meta.name);
    h.extend_from_slice(&extra);
    out.w.write_all(&h)?;
    out.w.write_all(data)?;
    out.pos += (h.len() + data.len()) as u64;
    out.central.push(Central {
        name: meta.name,
        mode: meta.mode,
        mtime: meta.mtime,
        method,
        flags,
        crc,
        csize,
        usize_,
        offset,
    });
    Ok(())
}

/// The local header of a chained entry: sizes and CRC follow in a data descriptor.
fn big_start<W: Write>(out: &mut Out<W>, meta: Meta, size: u64) -> io::Result<()> {
    let offset = out.pos;
    // Deflate can grow incompressible data a little: leave a margin before 4 GiB.
    let zip64 = size >= 0xFFFF_0000;
    let flags = utf8_flag(&meta.name) | (1 << 3);
    let (dtime, ddate) = dos_time(meta.mtime);
    let mut h = Vec::with_capacity(30 + meta.name.len() + 29);
    h.extend_from_slice(&0x0403_4b50u32.to_le_bytes());
    h.extend_from_slice(&(if zip64 { 45u16 } else { 20 }).to_le_bytes());
    h.extend_from_slice(&flags.to_le_bytes());
    h.extend_from_slice(&8u16.to_le_bytes());
    h.extend_from_slice(&dtime.to_le_bytes());
    h.extend_from_slice(&ddate.to_le_bytes());
    h.extend_from_slice(&0u32.to_le_bytes());
    let mut extra = ext_time(meta.mtime).to_vec();
    if zip64 {
        h.extend_from_slice(&u32::MAX.to_le_bytes());
        h.extend_from_slice(&u32::MAX.to_le_bytes());
        extra.extend_from_slice(&[1, 0, 16, 0]);
        extra.extend_from_slice(&[0u8; 16]);
    } else {
        h.extend_from_slice(&[0u8; 8]);
    }
    h.extend_from_slice(
        &u16::try_from(meta.name.len())
            .unwrap_or(u16::MAX)
            .to_le_bytes(),
    );
    h.extend_from_slice(&u16::try_from(extra.len()).unwrap_or(0).to_le_bytes());
    h.extend_from_slice(&meta.name);
    h.extend_from_slice(&extra);
    out.w.write_all(&h)?;
    out.pos += h.len() as u64;
    out.big = Some((
        Central {
            name: meta.name,
            mode: meta.mode,
            mtime: meta.mtime,
            method: 8,
            flags,
            crc: 0,
            csize: 0,
            usize_: 0,
            offset,
        },
        Crc::new(),
        zip64,
    ));
    Ok(())
}

fn big_end<W: Write>(out: &mut Out<W>) -> io::Result<()> {
    let Some((mut c, crc, zip64)) = out.big.take() else {
        return Ok(());
    };
    c.crc = crc.sum();
    let mut d = Vec::with_capacity(24);
    d.extend_from_slice(&0x0807_4b50u32.to_le_bytes());
    d.extend_from_slice(&c.crc.to_le_bytes());
    if zip64 {
        d.extend_from_slice(&c.csize.to_le_bytes());
        d.extend_from_slice(&c.usize_.to_le_bytes());
    } else {
        d.extend_from_slice(&u32::try_from(c.csize).unwrap_or(u32::MAX).to_le_bytes());
        d.extend_from_slice(&u32::try_from(c.usize_).unwrap_or(u32::MAX).to_le_bytes());
    }
    out.w.write_all(&d)?;
    out.pos += d.len() as u64;
    out.central.push(c);
    Ok(())
}

/// Central directory, zip64 end records when needed, end of central directory.
fn finish<W: Write>(out: &mut Out<W>) -> io::Result<()> {
    let cd_start = out.pos;
    for c in &out.central {
        let (dtime, ddate) = dos_time(c.mtime);
        let mut z64 = Vec::new();
        let usz = if c.usize_ >= 0xFFFF_FFFF {
            z64.extend_from_slice(&c.usize_.to_le_bytes());
            u32::MAX
        } else {
            u32::try_from(c.usize_).unwrap_or(u32::MAX)
        };
        let csz = if c.csize >= 0xFFFF_FFFF {
            z64.extend_from_slice(&c.csize.to_le_bytes());
            u32::MAX
        } else {
            u32::try_from(c.csize).unwrap_or(u32::MAX)
        };
        let off = if c.offset >= 0xFFFF_FFFF {
            z64.extend_from_slice(&c.offset.to_le_bytes());
            u32::MAX
        } else {
            u32::try_from(c.offset).unwrap_or(u32::MAX)
        };
        let mut extra = ext_time(c.mtime).to_vec();
        if !z64.is_empty() {
            extra.extend_from_slice(&[1, 0]);
            extra.extend_from_slice(&u16::try_from(z64.len()).unwrap_or(0).to_le_bytes());
            extra.extend_from_slice(&z64);
        }
        let dos_attr: u32 = if c.mode & 0o170_000 == S_IFDIR {
            0x10
        } else {
            0
        };
        let mut h = Vec::with_capacity(46 + c.name.len() + extra.len());
        h.extend_from_slice(&0x0201_4b50u32.to_le_bytes());
        h.extend_from_slice(&((3u16 << 8) | 63).to_le_bytes());
        h.extend_from_slice(&(if z64.is_empty() { 20u16 } else { 45 }).to_le_bytes());
        h.extend_from_slice(&c.flags.to_le_bytes());
        h.extend_from_slice(&c.method.to_le_bytes());
        h.extend_from_slice(&dtime.to_le_bytes());
        h.extend_from_slice(&ddate.to_le_bytes());
        h.extend_from_slice(&c.crc.to_le_bytes());
        h.extend_from_slice(&csz.to_le_bytes());
        h.extend_from_slice(&usz.to_le_bytes());
        h.extend_from_slice(
            &u16::try_from(c.name.len())
                .unwrap_or(u16::MAX)
                .to_le_bytes(),
        );
        h.extend_from_slice(&u16::try_from(extra.len()).unwrap_or(0).to_le_bytes());
        h.extend_from_slice(&[0, 0, 0, 0, 0, 0]);
        h.extend_from_slice(&((c.mode << 16) | dos_attr).to_le_bytes());
        h.extend_from_slice(&off.to_le_bytes());
        h.extend_from_slice(&c.name);
        h.extend_from_slice(&extra);
        out.w.write_all(&h)?;
        out.pos += h.len() as u64;
    }
    let cd_size = out.pos - cd_start;
    let n = out.central.len() as u64;
    let need64 = n >= 0xFFFF || cd_size >= 0xFFFF_FFFF || cd_start >= 0xFFFF_FFFF;
    if need64 {
        let eocd64 = out.pos;
        let mut r = Vec::with_capacity(76);
        r.extend_from_slice(&0x0606_4b50u32.to_le_bytes());
        r.extend_from_slice(&44u64.to_le_bytes());
        r.extend_from_slice(&((3u16 << 8) | 63).to_le_bytes());
        r.extend_from_slice(&45u16.to_le_bytes());
        r.extend_from_slice(&[0u8; 8]);
        r.extend_from_slice(&n.to_le_bytes());
        r.extend_from_slice(&n.to_le_bytes());
        r.extend_from_slice(&cd_size.to_le_bytes());
        r.extend_from_slice(&cd_start.to_le_bytes());
        r.extend_from_slice(&0x0706_4b50u32.to_le_bytes());
        r.extend_from_slice(&0u32.to_le_bytes());
        r.extend_from_slice(&eocd64.to_le_bytes());
        r.extend_from_slice(&1u32.to_le_bytes());
        out.w.write_all(&r)?;
        out.pos += r.len() as u64;
    }
    let n16 = u16::try_from(n).unwrap_or(u16::MAX);
    let mut e = Vec::with_capacity(22);
    e.extend_from_slice(&0x0605_4b50u32.to_le_bytes());
    e.extend_from_slice(&[0u8; 4]);
    e.extend_from_slice(&n16.to_le_bytes());
    e.extend_from_slice(&n16.to_le_bytes());
    e.extend_from_slice(&u32::try_from(cd_size).unwrap_or(u32::MAX).to_le_bytes());
    e.extend_from_slice(&u32::try_from(cd_start).unwrap_or(u32::MAX).to_le_bytes());
    e.extend_from_slice(&0u16.to_le_bytes());
    out.w.write_all(&e)?;
    out.pos += e.len() as u64;
    Ok(())
}

/// Days since 1970-01-01 to (year, month, day), proleptic Gregorian (H. Hinnant).
fn civil(days: i64) -> (i64, u32, u32) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = u32::try_from(doy - (153 * mp + 2) / 5 + 1).unwrap_or(1);
    let m = u32::try_from(if mp < 10 { mp + 3 } else { mp - 9 }).unwrap_or(1);
    let y = yoe + era * 400 + i64::from(m <= 2);
    (y, m, d)
}

/// (year, month, day) to days since 1970-01-01.
fn days_from_civil(y: i64, m: u32, d: u32) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y.rem_euclid(400);
    let m = i64::from(m);
    let doy = (153 * (if m > 2 { m - 3 } else { m + 9 }) + 2) / 5 + i64::from(d) - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// Unix seconds (UTC) as a DOS (time, date), clamped to 1980..=2107.
fn dos_time(secs: u64) -> (u16, u16) {
    let secs = i64::try_from(secs)
        .unwrap_or(i64::MAX)
        .clamp(315_532_800, 4_354_819_198);
    let (y, mo, d) = civil(secs.div_euclid(86_400));
    let s = secs.rem_euclid(86_400);
    let (h, mi, se) = (s / 3600, (s / 60) % 60, s % 60);
    let time = u16::try_from((h << 11) | (mi << 5) | (se / 2)).unwrap_or(0);
    let date = u16::try_from(((y - 1980) << 9) | (i64::from(mo) << 5) | i64::from(d)).unwrap_or(0);
    (time, date)
}

/// Extracts (or checks) a zip. Every name is checked before anything is written.
pub(crate) fn extract(file: File, ex: &mut Extractor) -> Result<()> {
    let mut za = zip::ZipArchive::new(file).map_err(|e| ex.corrupt(None, &e))?;
    if ex.planning() {
        return visit(&mut za, ex, true);
    }
    let mut check = ex.check_only();
    visit(&mut za, &mut check, true)?;
    let totals = check.finish()?;
    ex.set_totals(totals.files, totals.bytes);
    visit(&mut za, ex, false)
}

fn mtime_of<R: Read>(f: &zip::read::ZipFile<'_, R>) -> u64 {
    for x in f.extra_data_fields() {
        if let zip::ExtraField::ExtendedTimestamp(ts) = x {
            if let Some(t) = ts.mod_time() {
                return u64::from(t);
            }
        }
    }
    f.last_modified().map_or(0, |d| {
        let days = days_from_civil(
            i64::from(d.year()),
            u32::from(d.month()),
            u32::from(d.day()),
        );
        let s = days * 86_400
            + i64::from(d.hour()) * 3600
            + i64::from(d.minute()) * 60
            + i64::from(d.second());
        u64::try_from(s).unwrap_or(0)
    })
}

fn visit(za: &mut zip::ZipArchive<File>, ex: &mut Extractor, check: bool) -> Result<()> {
    for i in 0..za.len() {
        let mut f = za.by_index(i).map_err(|e| ex.corrupt(None, &e))?;
        let raw = f.name_raw().to_vec();
        let mode = f.unix_mode();
        let mtime = mtime_of(&f);
        let kind = mode.map_or(0, |m| m & 0o170_000);
        if matches!(kind, 0o020_000 | 0o060_000) {
            return Err(ex.refuse(&raw, "device node"));
        }
        if matches!(kind, 0o010_000 | 0o140_000) {
            return Err(ex.refuse(&raw, "FIFO or socket"));
        }
        if f.is_dir() {
            ex.dir(&raw, mode.unwrap_or(0o755), mtime)?;
        } else if f.is_symlink() {
            let mut target = Vec::new();
            (&mut f)
                .take(4097)
                .read_to_end(&mut target)
                .map_err(|e| ex.corrupt(Some(&raw), &e))?;
            if target.len() > 4096 {
                return Err(ex.refuse(&raw, "link target longer than 4096 bytes"));
            }
            ex.symlink(&raw, &target, mtime)?;
        } else {
            let size = f.size();
            let mode = mode.unwrap_or(0o644);
            if check {
                ex.file(&raw, mode, mtime, size, &mut io::empty())?;
            } else {
                ex.file(&raw, mode, mtime, size, &mut f)?;
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dos_times() {
        // 2024-02-29 13:45:58 UTC
        let t = days_from_civil(2024, 2, 29) * 86_400 + 13 * 3600 + 45 * 60 + 58;
        assert_eq!(civil(days_from_civil(2024, 2, 29)), (2024, 2, 29));
        let (time, date) = dos_time(u64::try_from(t).unwrap());
        assert_eq!(date >> 9, 44);
        assert_eq!((date >> 5) & 15, 2);
        assert_eq!(date & 31, 29);
        assert_eq!(
            (time >> 11, (time >> 5) & 63, (time & 31) * 2),
            (13, 45, 58)
        );
        assert_eq!(dos_time(0), (0, (1 << 5) | 1));
        for days in [-1000i64, 0, 10_957, 20_000, 50_000] {
            let (y, m, d) = civil(days);
            assert_eq!(days_from_civil(y, m, d), days);
        }
    }
}
