//! circle bench: `circled` with 50 × `sleep 3600`.
//!
//! Measures, from `/proc` (Linux): the time until all 50 run, `circled`'s RSS and CPU over 10 s
//! idle, the respawn latency after SIGKILL (median of 20, each a different slot, so none counts
//! as a quick death), and the time to stop everything. Prints them next to the figures the issue
//! measured for circus, supervisord and horust on this machine (`benches/circle_peers.sh` runs
//! the peers themselves).
//!
//! `cargo bench --bench circle` (builds `circled` in release mode first).

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};

const N: usize = 50;
const RESPAWNS: usize = 20;
const IDLE: Duration = Duration::from_secs(10);

fn target_dir() -> PathBuf {
    std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("target"))
}

fn build_circled() -> Result<PathBuf> {
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let status = Command::new(cargo)
        .args([
            "build",
            "-q",
            "-p",
            "agentry-circle",
            "--release",
            "--bin",
            "circled",
        ])
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .status()
        .context("running cargo build")?;
    if !status.success() {
        bail!("cargo build of circled failed");
    }
    let bin = target_dir().join("release").join("circled");
    if !bin.exists() {
        bail!("{} not found", bin.display());
    }
    Ok(bin)
}

/// Children of `pid` (Linux `/proc/PID/task/PID/children`, else a scan of `/proc`).
fn children(pid: u32) -> Vec<u32> {
    if let Ok(s) = std::fs::read_to_string(format!("/proc/{pid}/task/{pid}/children")) {
        return s
            .split_whitespace()
            .filter_map(|p| p.parse().ok())
            .collect();
    }
    let mut out = Vec::new();
    for e in std::fs::read_dir("/proc").into_iter().flatten().flatten() {
        let Ok(p) = e.file_name().to_string_lossy().parse::<u32>() else {
            continue;
        };
        if stat(p).is_some_and(|f| f.get(1).and_then(|s| s.parse::<u32>().ok()) == Some(pid)) {
            out.push(p);
        }
    }
    out
}

/// The fields of `/proc/PID/stat` after the command name (state is field 0).
fn stat(pid: u32) -> Option<Vec<String>> {
    let s = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    Some(
        s[s.rfind(')')? + 1..]
            .split_whitespace()
            .map(String::from)
            .collect(),
    )
}

fn comm(pid: u32) -> String {
    std::fs::read_to_string(format!("/proc/{pid}/comm"))
        .unwrap_or_default()
        .trim()
        .to_string()
}

/// Children that have become `sleep` (exec done).
fn sleeping_children(pid: u32) -> Vec<u32> {
    children(pid)
        .into_iter()
        .filter(|&c| comm(c) == "sleep")
        .collect()
}

fn status_field(pid: u32, key: &str) -> Option<u64> {
    let s = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    s.lines()
        .find(|l| l.starts_with(key))?
        .split_whitespace()
        .nth(1)?
        .parse()
        .ok()
}

fn cpu_ticks(pid: u32) -> Option<u64> {
    let f = stat(pid)?;
    Some(f.get(11)?.parse::<u64>().ok()? + f.get(12)?.parse::<u64>().ok()?)
}

fn wait_until<T>(what: &str, limit: Duration, mut f: impl FnMut() -> Option<T>) -> Result<T> {
    let end = Instant::now() + limit;
    loop {
        if let Some(v) = f() {
            return Ok(v);
        }
        if Instant::now() > end {
            bail!("timed out waiting for {what}");
        }
        // Short naps, not a busy loop: on a small machine the poller would steal circled's CPU.
        std::thread::sleep(Duration::from_micros(200));
    }
}

fn median(mut v: Vec<Duration>) -> Duration {
    v.sort();
    v[v.len() / 2]
}

fn main() -> Result<()> {
    if !cfg!(target_os = "linux") {
        println!("circle bench: measures from /proc, Linux only");
        return Ok(());
    }
    let circled = build_circled()?;
    let dir = tempfile::tempdir()?;
    let config = dir.path().join("bench.ini");
    std::fs::write(
        &config,
        format!(
            "[circle]\nendpoint = {}/circled.sock\nloglevel = warning\n\n[watcher:sleep]\ncmd = sleep 3600\nnumprocesses = {N}\n",
            dir.path().display()
        ),
    )?;
    let t0 = Instant::now();
    let mut child = Command::new(&circled)
        .arg("-c")
        .arg(&config)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::inherit())
        .spawn()?;
    let pid = child.id();
    let result = (|| -> Result<()> {
        wait_until("50 sleeps", Duration::from_secs(60), || {
            (sleeping_children(pid).len() == N).then_some(())
        })?;
        let start = t0.elapsed();

        // Let the start settle, then measure idle.
        std::thread::sleep(Duration::from_millis(500));
        let ticks0 = cpu_ticks(pid).context("cpu")?;
        let ctx0 = status_field(pid, "voluntary_ctxt_switches").unwrap_or(0)
            + status_field(pid, "nonvoluntary_ctxt_switches").unwrap_or(0);
        std::thread::sleep(IDLE);
        let ticks1 = cpu_ticks(pid).context("cpu")?;
        let ctx1 = status_field(pid, "voluntary_ctxt_switches").unwrap_or(0)
            + status_field(pid, "nonvoluntary_ctxt_switches").unwrap_or(0);
        let rss_kib = status_field(pid, "VmRSS").context("rss")?;
        // SAFETY: sysconf has no preconditions.
        let hz = unsafe { libc::sysconf(libc::_SC_CLK_TCK) }.max(1) as f64;
        let cpu_pct = (ticks1 - ticks0) as f64 / hz / IDLE.as_secs_f64() * 100.0;

        let mut latencies = Vec::new();
        let victims: Vec<u32> = sleeping_children(pid).into_iter().take(RESPAWNS).collect();
        for v in victims {
            let before: Vec<u32> = sleeping_children(pid);
            let t = Instant::now();
            // SAFETY: a process this bench started (through circled).
            unsafe { libc::kill(v as i32, libc::SIGKILL) };
            wait_until("the respawn", Duration::from_secs(30), || {
                let now = sleeping_children(pid);
                now.iter().any(|p| !before.contains(p)).then_some(())
            })?;
            latencies.push(t.elapsed());
        }
        let respawn = median(latencies.clone());

        let all = sleeping_children(pid);
        let t = Instant::now();
        // SAFETY: our child.
        unsafe { libc::kill(pid as i32, libc::SIGTERM) };
        let status = child.wait()?;
        let stop = t.elapsed();
        let leftovers = all
            .iter()
            .filter(|&&p| stat(p).is_some_and(|f| f[0] != "Z"))
            .count();

        let ms = |d: Duration| d.as_secs_f64() * 1000.0;
        let load = std::fs::read_to_string("/proc/loadavg").unwrap_or_default();
        let cpus = std::thread::available_parallelism().map_or(0, |n| n.get());
        println!(
            "circle bench: circled with {N} x `sleep 3600` (release build; {cpus} CPUs, load average {})",
            load.split_whitespace().next().unwrap_or("?")
        );
        println!();
        println!(
            "{:<34} {:>10} {:>10} {:>12} {:>8}   goal",
            "", "circle", "circus", "supervisord", "horust"
        );
        println!(
            "{:<34} {:>8.1}ms {:>9.2}s {:>11.2}s {:>7.2}s   < 100 ms",
            "start: until all 50 run",
            ms(start),
            0.46,
            1.41,
            0.37
        );
        println!(
            "{:<34} {:>7.2}MiB {:>7.1}MiB {:>9.1}MiB {:>5.1}MiB   < 5 MiB",
            "RSS of the supervisor, idle",
            rss_kib as f64 / 1024.0,
            30.7,
            25.3,
            5.7
        );
        println!(
            "{:<34} {:>9.3}% {:>10} {:>12} {:>8}   ~ 0",
            "CPU over 10 s idle", cpu_pct, "-", "-", "-"
        );
        println!(
            "{:<34} {:>10} {:>10} {:>12} {:>8}",
            "context switches over 10 s idle",
            ctx1 - ctx0,
            "-",
            "-",
            "-"
        );
        println!(
            "{:<34} {:>8.2}ms {:>9.1}s {:>11.1}s {:>7.1}s   < 10 ms",
            "respawn after SIGKILL (median/20)",
            ms(respawn),
            3.2,
            1.0,
            1.0
        );
        println!(
            "{:<34} {:>8.1}ms {:>10} {:>12} {:>8}",
            "stop all (SIGTERM to exit)",
            ms(stop),
            "-",
            "-",
            "-"
        );
        println!();
        println!(
            "respawn latencies (ms): {:?}",
            latencies
                .iter()
                .map(|d| (ms(*d) * 100.0).round() / 100.0)
                .collect::<Vec<_>>()
        );
        println!("circled exit: {status}; processes left running after the stop: {leftovers}");
        println!(
            "peer figures: measured by the issue on this machine (benches/circle_peers.sh re-measures them)"
        );
        Ok(())
    })();
    if child.try_wait()?.is_none() {
        let _ = child.kill();
        let _ = child.wait();
    }
    result?;
    rotation(&circled, dir.path())
}

/// The tail of a file (its last `n` bytes).
fn tail(path: &Path, n: u64) -> Option<Vec<u8>> {
    use std::io::{Read, Seek, SeekFrom};
    let mut f = std::fs::File::open(path).ok()?;
    let len = f.metadata().ok()?.len();
    f.seek(SeekFrom::Start(len.saturating_sub(n))).ok()?;
    let mut buf = Vec::new();
    f.read_to_end(&mut buf).ok()?;
    Some(buf)
}

/// About 100 MB of numbered lines as fast as `seq` writes them, rotated at 10 MB: throughput,
/// and a check that no line is lost, split or duplicated.
fn rotation(circled: &Path, dir: &Path) -> Result<()> {
    const LINES: u64 = 12_000_000;
    let config = dir.join("rotate.ini");
    std::fs::write(
        &config,
        format!(
            "[circle]\nendpoint = {}/rotate.sock\n[watcher:seq]\ncmd = seq 1 {LINES}\nrespawn = false\n\
             stdout_stream.class = FileStream\nstdout_stream.filename = logs/out.log\n\
             stdout_stream.max_bytes = 10MB\nstdout_stream.backup_count = 100\n",
            dir.display()
        ),
    )?;
    let t = Instant::now();
    let mut child = Command::new(circled)
        .arg("-c")
        .arg(&config)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::inherit())
        .spawn()?;
    let logs = dir.join("logs");
    let last = format!("\n{LINES}\n");
    let done = wait_until("the last line", Duration::from_secs(600), || {
        std::thread::sleep(Duration::from_millis(20));
        tail(&logs.join("out.log"), 32)
            .filter(|t| t.ends_with(last.as_bytes()))
            .map(|_| ())
    });
    let elapsed = t.elapsed();
    // SAFETY: our child.
    unsafe { libc::kill(child.id() as i32, libc::SIGTERM) };
    let _ = child.wait();
    done?;
    let mut files: Vec<(u32, PathBuf)> = std::fs::read_dir(&logs)?
        .filter_map(|e| e.ok())
        .filter_map(|e| {
            let name = e.file_name().to_string_lossy().into_owned();
            let n = if name == "out.log" {
                0
            } else {
                name.strip_prefix("out.log.")?.parse().ok()?
            };
            Some((n, e.path()))
        })
        .collect();
    files.sort_by_key(|f| std::cmp::Reverse(f.0));
    let (mut expect, mut bytes, mut bad_ends) = (1u64, 0u64, 0);
    for (_, path) in &files {
        let text = std::fs::read(path)?;
        bytes += text.len() as u64;
        if !text.ends_with(b"\n") {
            bad_ends += 1;
        }
        for line in text.split(|&b| b == b'\n').filter(|l| !l.is_empty()) {
            if line != expect.to_string().as_bytes() {
                bail!(
                    "rotation: expected line {expect}, found {:?}",
                    String::from_utf8_lossy(line)
                );
            }
            expect += 1;
        }
    }
    if expect != LINES + 1 || bad_ends > 0 {
        bail!(
            "rotation: {} of {LINES} lines, {bad_ends} files ending mid-line",
            expect - 1
        );
    }
    println!(
        "rotation: {:.0} MB of numbered lines through circled into {} files of <= 10 MiB in {:.2} s ({:.0} MB/s); \
         every line present once, in order, none split",
        bytes as f64 / 1e6,
        files.len(),
        elapsed.as_secs_f64(),
        bytes as f64 / 1e6 / elapsed.as_secs_f64()
    );
    Ok(())
}
