//! nfs bench: ours against the shell tools, on a generated tree, in one run.
//!
//! ```text
//! cargo bench --bench nfs                    # tmpfs (/dev/shm) and disk, 3 rounds
//! NFS_BENCH_ROUNDS=5 NFS_BENCH_SCALE=0.1 cargo bench --bench nfs
//! NFS_BENCH_PLACES=shm cargo bench --bench nfs
//! NFS_BENCH_ONLY=copy cargo bench --bench nfs   # copy and remove only (or: archive)
//! ```
//!
//! The tree: about 20,000 small files in 2,000 directories plus 20 files of 8 MiB
//! (`NFS_BENCH_SCALE` shrinks or grows the counts). Each round runs ours and theirs
//! alternately (who goes first alternates too), and the medians are compared:
//! copy vs `cp -a`, remove vs `rm -rf`, then the archive comparisons (`archive.rs`).
//! A ratio above 1 means ours is faster.

use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

mod archive;

/// Shape of the generated tree.
#[derive(Debug, Clone, Copy)]
pub struct TreeSpec {
    /// Number of small files.
    pub small_files: usize,
    /// Number of directories they are spread over.
    pub dirs: usize,
    /// Number of large files.
    pub big_files: usize,
    /// Size of each large file.
    pub big_size: usize,
}

impl TreeSpec {
    /// The issue's tree, scaled by `scale`.
    pub fn scaled(scale: f64) -> TreeSpec {
        let n = |x: f64| ((x * scale).round() as usize).max(1);
        TreeSpec {
            small_files: n(20_000.0),
            dirs: n(2_000.0),
            big_files: n(20.0),
            big_size: 8 << 20,
        }
    }
}

/// A cheap deterministic generator (xorshift), so every run builds the same tree.
pub struct Rng(u64);

impl Rng {
    /// Seeded generator.
    pub fn new(seed: u64) -> Rng {
        Rng(seed | 1)
    }
    /// Next value.
    pub fn next_u64(&mut self) -> u64 {
        let mut x = self.0;
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        self.0 = x;
        x
    }
}

/// Text-like content that compresses about as well as source code and logs do
/// (so the archive comparisons are meaningful).
pub fn content(rng: &mut Rng, len: usize) -> Vec<u8> {
    const WORDS: &[&str] = &[
        "agent",
        "install",
        "config",
        "error",
        "warning",
        "the",
        "file",
        "path",
        "value",
        "return",
        "struct",
        "impl",
        "fn",
        "let",
        "match",
        "Some",
        "None",
        "ok",
        "timeout",
        "2026-11-24T21:00:00Z",
        "INFO",
        "DEBUG",
        "opt/app",
        "{",
        "}",
        "=",
        ";",
        "0x7f3a",
    ];
    let mut out = Vec::with_capacity(len + 32);
    while out.len() < len {
        let r = rng.next_u64();
        out.extend_from_slice(WORDS[(r % WORDS.len() as u64) as usize].as_bytes());
        out.push(if r >> 60 == 0 { b'\n' } else { b' ' });
        if r >> 56 == 1 {
            // Some incompressible bytes, as real trees have.
            out.extend_from_slice(&(rng.next_u64()).to_le_bytes());
        }
    }
    out.truncate(len);
    out
}

/// Generate the tree under `root` (created); returns (files, bytes).
pub fn generate_tree(root: &Path, spec: TreeSpec) -> std::io::Result<(usize, u64)> {
    let mut rng = Rng::new(0x5eed);
    let mut dirs = Vec::with_capacity(spec.dirs);
    for i in 0..spec.dirs {
        // Up to three levels deep: d12/d3/d7 style.
        let d = match i % 3 {
            0 => root.join(format!("d{}", i / 3)),
            1 => root
                .join(format!("d{}", i / 30))
                .join(format!("s{}", i % 10)),
            _ => root
                .join(format!("d{}", i / 300))
                .join(format!("s{}", i % 7))
                .join(format!("t{i}")),
        };
        fs::create_dir_all(&d)?;
        dirs.push(d);
    }
    let mut bytes = 0u64;
    for i in 0..spec.small_files {
        // Mostly small, some a few KiB, a few tens of KiB: ~4 KiB on average.
        let r = rng.next_u64();
        let len = match r % 100 {
            0..=59 => (r >> 8) as usize % 1024,
            60..=94 => 1024 + (r >> 8) as usize % 8192,
            _ => 8192 + (r >> 8) as usize % 32768,
        };
        let ext = ["rs", "log", "json", "txt", "py", "conf"][i % 6];
        let p = dirs[i % dirs.len()].join(format!("f{i}.{ext}"));
        let data = content(&mut rng, len);
        bytes += data.len() as u64;
        fs::write(p, data)?;
    }
    let big_dir = root.join("big");
    fs::create_dir_all(&big_dir)?;
    for i in 0..spec.big_files {
        let data = content(&mut rng, spec.big_size);
        bytes += data.len() as u64;
        fs::write(big_dir.join(format!("blob{i}.bin")), data)?;
    }
    Ok((spec.small_files + spec.big_files, bytes))
}

/// Time one call (wall clock).
pub fn time<T>(f: impl FnOnce() -> T) -> (Duration, T) {
    let t = Instant::now();
    let r = f();
    (t.elapsed(), r)
}

/// User + system CPU time used so far by this process (all threads) and by its
/// waited-for children: on a loaded machine the wall clock mostly measures the others,
/// CPU time measures the work.
pub fn cpu_times() -> (Duration, Duration) {
    fn get(who: libc::c_int) -> Duration {
        // SAFETY: getrusage fills the struct it is given.
        let mut ru: libc::rusage = unsafe { std::mem::zeroed() };
        if unsafe { libc::getrusage(who, &mut ru) } != 0 {
            return Duration::ZERO;
        }
        let tv = |t: libc::timeval| {
            Duration::from_secs(t.tv_sec as u64) + Duration::from_micros(t.tv_usec as u64)
        };
        tv(ru.ru_utime) + tv(ru.ru_stime)
    }
    (get(libc::RUSAGE_SELF), get(libc::RUSAGE_CHILDREN))
}

/// Wall and CPU time of ours (this process) doing `f`.
pub fn time_ours<T>(f: impl FnOnce() -> T) -> (Duration, Duration, T) {
    let (c0, _) = cpu_times();
    let (d, r) = time(f);
    let (c1, _) = cpu_times();
    (d, c1.saturating_sub(c0), r)
}

/// Run a shell tool; panics (this is a bench) when it fails.
pub fn tool(cmd: &str, args: &[&dyn AsRef<std::ffi::OsStr>], cwd: Option<&Path>) -> Duration {
    let mut c = Command::new(cmd);
    for a in args {
        c.arg(a);
    }
    if let Some(d) = cwd {
        c.current_dir(d);
    }
    let (_, c0) = cpu_times();
    let (d, status) = time(|| c.status());
    let (_, c1) = cpu_times();
    LAST_TOOL_CPU.with(|l| l.set(c1.saturating_sub(c0)));
    match status {
        Ok(s) if s.success() => d,
        Ok(s) => panic!("{cmd} failed: {s}"),
        Err(e) => panic!("cannot run {cmd}: {e}"),
    }
}

thread_local! {
    /// CPU time of the last [`tool`] run (user + system of the child).
    pub static LAST_TOOL_CPU: std::cell::Cell<Duration> = const { std::cell::Cell::new(Duration::ZERO) };
}

/// CPU time of the last [`tool`] run.
pub fn last_tool_cpu() -> Duration {
    LAST_TOOL_CPU.with(|l| l.get())
}

/// Whether a tool is on PATH.
pub fn have(cmd: &str) -> bool {
    Command::new("sh")
        .arg("-c")
        .arg(format!("command -v {cmd} >/dev/null 2>&1"))
        .status()
        .is_ok_and(|s| s.success())
}

/// Median of durations.
pub fn median(v: &mut [Duration]) -> Duration {
    v.sort();
    if v.is_empty() {
        Duration::ZERO
    } else {
        v[v.len() / 2]
    }
}

/// Collected timings of one comparison.
#[derive(Default)]
pub struct Pair {
    /// Name shown.
    pub name: String,
    /// Ours, one per round.
    pub ours: Vec<Duration>,
    /// Theirs, one per round.
    pub theirs: Vec<Duration>,
    /// Ours, CPU time (user + system, all threads), one per round.
    pub ours_cpu: Vec<Duration>,
    /// Theirs, CPU time, one per round.
    pub theirs_cpu: Vec<Duration>,
    /// The peer's name.
    pub peer: String,
}

impl Pair {
    /// A comparison named `name` against `peer`.
    pub fn new(name: &str, peer: &str) -> Pair {
        Pair {
            name: name.into(),
            peer: peer.into(),
            ..Pair::default()
        }
    }

    /// Record one run of ours: wall and CPU time.
    pub fn ours(&mut self, wall: Duration, cpu: Duration) {
        self.ours.push(wall);
        self.ours_cpu.push(cpu);
    }

    /// Record one run of theirs (the last [`tool`] run's CPU time).
    pub fn theirs(&mut self, wall: Duration) {
        self.theirs.push(wall);
        self.theirs_cpu.push(last_tool_cpu());
    }

    /// Print the medians and the ratios (theirs / ours: above 1, ours is faster), wall
    /// clock and CPU time.
    pub fn print(&mut self, place: &str) {
        let (o, t) = (median(&mut self.ours), median(&mut self.theirs));
        let (oc, tc) = (median(&mut self.ours_cpu), median(&mut self.theirs_cpu));
        let ratio = t.as_secs_f64() / o.as_secs_f64().max(1e-9);
        let cpu_ratio = tc.as_secs_f64() / oc.as_secs_f64().max(1e-9);
        println!(
            "{place:>5}  {:<18} ours {:>7.3} s  {:<10} {:>7.3} s  wall ratio {ratio:>5.2}x   cpu {:>6.3} s vs {:>6.3} s ({cpu_ratio:.2}x)",
            self.name,
            o.as_secs_f64(),
            self.peer,
            t.as_secs_f64(),
            oc.as_secs_f64(),
            tc.as_secs_f64(),
        );
        let _ = std::io::stdout().flush();
    }
}

fn env_f64(name: &str, default: f64) -> f64 {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

/// Whether the comparison group `name` runs (`NFS_BENCH_ONLY=copy` or `archive`; all
/// by default).
fn only(name: &str) -> bool {
    std::env::var("NFS_BENCH_ONLY").map_or(true, |v| v.split(',').any(|x| x.trim() == name))
}

fn places() -> Vec<(String, PathBuf)> {
    let want = std::env::var("NFS_BENCH_PLACES").unwrap_or_else(|_| "shm,disk".into());
    let mut out = Vec::new();
    for p in want.split(',') {
        match p.trim() {
            "shm" if Path::new("/dev/shm").is_dir() => out.push(("shm".into(), "/dev/shm".into())),
            "disk" => out.push((
                "disk".into(),
                PathBuf::from(option_env!("CARGO_TARGET_TMPDIR").unwrap_or("target")),
            )),
            other if !other.is_empty() && Path::new(other).is_dir() => {
                out.push((other.into(), PathBuf::from(other)))
            }
            _ => {}
        }
    }
    out
}

fn main() {
    // `cargo bench` passes `--bench`; accept and ignore libtest-style arguments.
    let rounds = env_f64("NFS_BENCH_ROUNDS", 3.0).max(1.0) as usize;
    let scale = env_f64("NFS_BENCH_SCALE", 1.0);
    let spec = TreeSpec::scaled(scale);
    println!(
        "nfs bench: {} small files in {} dirs + {} x {} MiB, {rounds} rounds, ratio = theirs / ours",
        spec.small_files,
        spec.dirs,
        spec.big_files,
        spec.big_size >> 20
    );
    for (place, base) in places() {
        let work = match tempfile::Builder::new()
            .prefix("nfs-bench-")
            .tempdir_in(&base)
        {
            Ok(w) => w,
            Err(e) => {
                println!("{place}: cannot use {}: {e}", base.display());
                continue;
            }
        };
        let tree = work.path().join("tree");
        let (t, r) = time(|| generate_tree(&tree, spec));
        let (files, bytes) = r.expect("generate the tree");
        println!(
            "{place:>5}  tree: {files} files, {} MiB at {} (generated in {:.1} s)",
            bytes >> 20,
            tree.display(),
            t.as_secs_f64()
        );
        if only("copy") {
            copy_and_remove(&place, work.path(), &tree, rounds);
        }
        if only("archive") {
            archive::run(&place, work.path(), &tree, rounds);
        }
    }
}

/// copy vs `cp -a`, remove vs `rm -rf`, alternating.
fn copy_and_remove(place: &str, work: &Path, tree: &Path, rounds: usize) {
    let mut copy = Pair::new("copy", "cp -a");
    let mut remove = Pair::new("remove", "rm -rf");
    let (a, b) = (work.join("copy-ours"), work.join("copy-theirs"));
    for round in 0..rounds {
        let ours_first = round % 2 == 0;
        for turn in 0..2 {
            if (turn == 0) == ours_first {
                let (d, c, r) =
                    time_ours(|| nfs::copy_with(tree, &a, &nfs::CopyOptions::new().symlinks(true)));
                r.expect("nfs::copy");
                copy.ours(d, c);
            } else {
                copy.theirs(tool("cp", &[&"-a", &tree, &b], None));
            }
        }
        for turn in 0..2 {
            if (turn == 0) == ours_first {
                let (d, c, r) = time_ours(|| nfs::remove(&a));
                r.expect("nfs::remove");
                remove.ours(d, c);
            } else {
                remove.theirs(tool("rm", &[&"-rf", &b], None));
            }
        }
    }
    copy.print(place);
    remove.print(place);
}
