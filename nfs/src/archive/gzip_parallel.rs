//! Parallel deflate, as pigz does it: the input is cut into blocks, each block is
//! deflated on a worker thread with the previous block's last 32 KiB as its dictionary
//! and ends with a sync flush (the last one finishes the stream), and the blocks are
//! written in order. The result is one ordinary deflate stream; [`ParGzWriter`] wraps it
//! in one gzip member whose CRC-32 is combined from the blocks' CRCs.
//!
//! Memory is bounded: at most `2 × threads + 2` blocks are in flight, so a tar builder
//! streaming into the writer blocks when the workers fall behind.

use std::collections::VecDeque;
use std::io::{self, Write};
use std::sync::mpsc::{Receiver, SyncSender, sync_channel};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;

use flate2::{Compress, Compression, Crc, FlushCompress, Status};

/// The deflate window: a block's dictionary is the previous block's last 32 KiB.
const WINDOW: usize = 32 * 1024;
/// Default block size. pigz uses 128 KiB; each block pays for hashing its 32 KiB
/// dictionary, so 1 MiB blocks cost 3% instead of 25% and compress a little smaller.
pub(crate) const DEFAULT_BLOCK: usize = 1 << 20;

/// A deflated block, with the CRC-32 of its input.
pub(crate) struct Done {
    /// Raw deflate bytes.
    pub(crate) data: Vec<u8>,
    /// CRC-32 and length of the input.
    pub(crate) crc: Crc,
    /// The input buffer, handed back for reuse.
    pub(crate) input: Vec<u8>,
}

struct Job {
    input: Vec<u8>,
    dict: Vec<u8>,
    last: bool,
    reply: SyncSender<io::Result<Done>>,
}

/// A fixed set of deflate workers at one compression level.
pub(crate) struct Pool {
    tx: Option<SyncSender<Job>>,
    workers: Vec<JoinHandle<()>>,
    threads: usize,
}

impl Pool {
    /// Starts `threads` workers (0: one per available core).
    pub(crate) fn new(threads: usize, level: u32) -> io::Result<Pool> {
        let threads = if threads == 0 {
            std::thread::available_parallelism().map_or(1, usize::from)
        } else {
            threads
        };
        let (tx, rx) = sync_channel::<Job>(threads * 2);
        let rx = Arc::new(Mutex::new(rx));
        let mut workers = Vec::with_capacity(threads);
        for i in 0..threads {
            let rx = Arc::clone(&rx);
            let w = std::thread::Builder::new()
                .name(format!("nfs-deflate-{i}"))
                .spawn(move || worker(&rx, level))?;
            workers.push(w);
        }
        Ok(Pool {
            tx: Some(tx),
            workers,
            threads,
        })
    }

    /// How many workers run.
    pub(crate) fn threads(&self) -> usize {
        self.threads
    }

    /// Queues one block. `dict` is the preceding data's tail (empty for a stream's first
    /// block); `last` ends the deflate stream, otherwise the block ends with a sync flush.
    pub(crate) fn submit(
        &self,
        input: Vec<u8>,
        dict: Vec<u8>,
        last: bool,
    ) -> io::Result<Receiver<io::Result<Done>>> {
        let (reply, rx) = sync_channel(1);
        let job = Job {
            input,
            dict,
            last,
            reply,
        };
        self.tx
            .as_ref()
            .ok_or_else(|| io::Error::other("deflate pool stopped"))?
            .send(job)
            .map_err(|_| io::Error::other("deflate worker died"))?;
        Ok(rx)
    }
}

impl Drop for Pool {
    fn drop(&mut self) {
        self.tx = None;
        for w in self.workers.drain(..) {
            let _ = w.join();
        }
    }
}

fn worker(rx: &Mutex<Receiver<Job>>, level: u32) {
    let mut c = Compress::new(Compression::new(level), false);
    loop {
        let job = {
            let Ok(guard) = rx.lock() else { return };
            match guard.recv() {
                Ok(j) => j,
                Err(_) => return,
            }
        };
        let result = deflate_block(&mut c, job.input, &job.dict, job.last);
        // The receiver may be gone if the writer gave up; nothing to do then.
        let _ = job.reply.send(result);
    }
}

/// Deflates one block (raw deflate) with an optional dictionary.
pub(crate) fn deflate_block(
    c: &mut Compress,
    input: Vec<u8>,
    dict: &[u8],
    last: bool,
) -> io::Result<Done> {
    c.reset();
    if !dict.is_empty() {
        c.set_dictionary(dict).map_err(io::Error::other)?;
    }
    let mut crc = Crc::new();
    crc.update(&input);
    let flush = if last {
        FlushCompress::Finish
    } else {
        FlushCompress::Sync
    };
    let mut out = Vec::with_capacity(input.len() / 2 + 4096);
    let mut consumed = 0usize;
    loop {
        if out.capacity() - out.len() < 64 {
            out.reserve(out.capacity().max(4096));
        }
        let before = c.total_in();
        let status = c
            .compress_vec(&input[consumed..], &mut out, flush)
            .map_err(io::Error::other)?;
        consumed += usize::try_from(c.total_in() - before).unwrap_or(usize::MAX);
        match status {
            Status::StreamEnd => break,
            Status::Ok | Status::BufError => {
                if !last && consumed >= input.len() && out.len() < out.capacity() {
                    break;
                }
            }
        }
    }
    Ok(Done {
        data: out,
        crc,
        input,
    })
}

/// The gzip header pigz and gzip write, with no name and no time (reproducible).
const GZIP_HEADER: [u8; 10] = [0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 255];

/// A `Write` that gzips what it is given on a pool of threads (see the module docs).
/// Call [`ParGzWriter::finish`] to write the trailer and get the inner writer back.
pub(crate) struct ParGzWriter<W: Write> {
    inner: W,
    pool: Pool,
    block: usize,
    buf: Vec<u8>,
    spare: Vec<Vec<u8>>,
    tail: Vec<u8>,
    pending: VecDeque<Receiver<io::Result<Done>>>,
    crc: Crc,
    written: u64,
}

impl<W: Write> ParGzWriter<W> {
    /// A writer with `threads` workers (0: one per core), a deflate `level` (0-9) and
    /// a `block` size in bytes (at least 32 KiB).
    pub(crate) fn new(mut inner: W, threads: usize, level: u32, block: usize) -> io::Result<Self> {
        inner.write_all(&GZIP_HEADER)?;
        let block = block.max(WINDOW);
        Ok(ParGzWriter {
            inner,
            pool: Pool::new(threads, level.min(9))?,
            block,
            buf: Vec::with_capacity(block),
            spare: Vec::new(),
            tail: Vec::new(),
            pending: VecDeque::new(),
            crc: Crc::new(),
            written: GZIP_HEADER.len() as u64,
        })
    }

    fn submit(&mut self, last: bool) -> io::Result<()> {
        let next = self
            .spare
            .pop()
            .unwrap_or_else(|| Vec::with_capacity(self.block));
        let input = std::mem::replace(&mut self.buf, next);
        let dict = std::mem::take(&mut self.tail);
        let start = input.len().saturating_sub(WINDOW);
        // A short block keeps part of the older dictionary in the window.
        let mut tail = if input.len() < WINDOW {
            let keep = dict.len().saturating_sub(WINDOW - input.len());
            dict[keep..].to_vec()
        } else {
            Vec::with_capacity(WINDOW)
        };
        tail.extend_from_slice(&input[start..]);
        self.tail = tail;
        let rx = self.pool.submit(input, dict, last)?;
        self.pending.push_back(rx);
        while self.pending.len() > self.pool.threads() * 2 + 2 {
            self.drain_one()?;
        }
        Ok(())
    }

    fn drain_one(&mut self) -> io::Result<()> {
        let Some(rx) = self.pending.pop_front() else {
            return Ok(());
        };
        let done = rx
            .recv()
            .map_err(|_| io::Error::other("deflate worker died"))??;
        self.inner.write_all(&done.data)?;
        self.written += done.data.len() as u64;
        self.crc.combine(&done.crc);
        let mut input = done.input;
        input.clear();
        if self.spare.len() < 4 {
            self.spare.push(input);
        }
        Ok(())
    }

    /// Compresses what is buffered, writes the trailer and returns the inner writer.
    pub(crate) fn finish(mut self) -> io::Result<W> {
        self.submit(true)?;
        while !self.pending.is_empty() {
            self.drain_one()?;
        }
        let mut trailer = [0u8; 8];
        trailer[..4].copy_from_slice(&self.crc.sum().to_le_bytes());
        trailer[4..].copy_from_slice(&self.crc.amount().to_le_bytes());
        self.inner.write_all(&trailer)?;
        self.inner.flush()?;
        Ok(self.inner)
    }
}

impl<W: Write> Write for ParGzWriter<W> {
    fn write(&mut self, mut data: &[u8]) -> io::Result<usize> {
        let n = data.len();
        while !data.is_empty() {
            let room = self.block - self.buf.len();
            let take = room.min(data.len());
            self.buf.extend_from_slice(&data[..take]);
            data = &data[take..];
            if self.buf.len() == self.block {
                self.submit(false)?;
            }
        }
        Ok(n)
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use flate2::read::GzDecoder;
    use std::io::Read;

    pub(super) fn sample_pub(len: usize) -> Vec<u8> {
        sample(len)
    }

    fn sample(len: usize) -> Vec<u8> {
        // Compressible but not trivial: words from a small LCG.
        let words: [&[u8]; 8] = [
            b"alpha ",
            b"beta ",
            b"gamma\n",
            b"delta ",
            b"0123 ",
            b"zz ",
            b"{\"k\": 1} ",
            b"\t",
        ];
        let mut x: u32 = 12345;
        let mut out = Vec::with_capacity(len);
        while out.len() < len {
            x = x.wrapping_mul(1_103_515_245).wrapping_add(12345);
            out.extend_from_slice(words[(x >> 16) as usize % 8]);
            if x % 7 == 0 {
                out.push((x >> 8) as u8);
            }
        }
        out.truncate(len);
        out
    }

    fn roundtrip(data: &[u8], threads: usize, block: usize, chunk: usize) -> Vec<u8> {
        let mut w = ParGzWriter::new(Vec::new(), threads, 6, block).unwrap();
        for c in data.chunks(chunk.max(1)) {
            w.write_all(c).unwrap();
        }
        let gz = w.finish().unwrap();
        let mut back = Vec::new();
        GzDecoder::new(&gz[..]).read_to_end(&mut back).unwrap();
        assert_eq!(back.len(), data.len());
        assert!(back == data, "content differs");
        gz
    }

    #[test]
    fn round_trips_at_every_shape() {
        for len in [
            0,
            1,
            1000,
            WINDOW - 1,
            WINDOW,
            WINDOW + 1,
            300_000,
            1_000_003,
        ] {
            let data = sample(len);
            for (threads, block, chunk) in [(1, WINDOW, 7), (2, WINDOW, 4096), (3, 100_000, 65536)]
            {
                roundtrip(&data, threads, block, chunk);
            }
        }
    }

    #[test]
    fn size_close_to_single_stream() {
        let data = sample(4_000_000);
        let ours = roundtrip(&data, 2, DEFAULT_BLOCK, 1 << 20);
        let mut single = flate2::write::GzEncoder::new(Vec::new(), Compression::new(6));
        single.write_all(&data).unwrap();
        let single = single.finish().unwrap();
        let ratio = ours.len() as f64 / single.len() as f64;
        assert!(
            ratio < 1.02,
            "ours {} vs single {}",
            ours.len(),
            single.len()
        );
    }

    #[test]
    fn empty_input_is_a_valid_gzip() {
        let gz = roundtrip(&[], 2, WINDOW, 1);
        assert_eq!(&gz[..2], &[0x1f, 0x8b]);
        assert_eq!(&gz[gz.len() - 4..], &[0, 0, 0, 0]);
    }
}

#[cfg(test)]
mod speed {
    use super::*;

    /// `cargo test --release -p agentry-nfs --lib speed -- --ignored --nocapture`
    #[test]
    #[ignore = "timing, run by hand"]
    fn deflate_speed() {
        let data = super::tests::sample_pub(100 << 20);
        for (threads, block) in [(1, DEFAULT_BLOCK), (2, DEFAULT_BLOCK), (2, 1 << 20)] {
            let t = std::time::Instant::now();
            let mut w = ParGzWriter::new(Vec::new(), threads, 6, block).unwrap();
            for c in data.chunks(8192) {
                w.write_all(c).unwrap();
            }
            let gz = w.finish().unwrap();
            println!(
                "par threads={threads} block={block}: {:?} {} bytes",
                t.elapsed(),
                gz.len()
            );
        }
        let t = std::time::Instant::now();
        let mut single = flate2::write::GzEncoder::new(Vec::new(), Compression::new(6));
        single.write_all(&data).unwrap();
        let gz = single.finish().unwrap();
        println!("single: {:?} {} bytes", t.elapsed(), gz.len());
    }
}
