//! Per-process CPU time and resident memory, for `circlectl status`.
//!
//! [`sample`] reads one process; [`CpuMeter`] turns successive samples into a CPU percentage.
//! The Linux parsers are pure functions over the text of `/proc/PID/stat` and
//! `/proc/PID/statm`, tested on every OS; [`read_linux`] reads them under any `root`.
//!
//! # Platform behavior
//! - Linux (and Android): `/proc/PID/stat` (utime + stime) and `/proc/PID/statm` (resident pages).
//! - macOS: `proc_pidinfo(PROC_PIDTASKINFO)`.
//! - FreeBSD: `sysctl(KERN_PROC_PID)` (`ki_runtime`, `ki_rssize`).
//! - Windows: `GetProcessTimes` and `GetProcessMemoryInfo` (working set).
//! - Elsewhere [`sample`] answers `None`: the numbers are shown as unknown.

use std::collections::HashMap;
use std::path::Path;
use std::time::{Duration, Instant};

/// One reading of a process.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[non_exhaustive]
pub struct ProcSample {
    /// CPU time used so far, user plus system.
    pub cpu_time: Duration,
    /// Resident memory in bytes.
    pub rss_bytes: u64,
}

/// The fields of `/proc/PID/stat` this module uses.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub struct LinuxStat {
    /// Process state letter (`R`, `S`, `Z`...).
    pub state: char,
    /// Parent pid.
    pub ppid: u32,
    /// Session id.
    pub session: u32,
    /// Controlling terminal (0: none).
    pub tty_nr: i32,
    /// User-mode CPU time, in clock ticks.
    pub utime: u64,
    /// Kernel-mode CPU time, in clock ticks.
    pub stime: u64,
    /// Start time after boot, in clock ticks.
    pub starttime: u64,
}

/// Parses `/proc/PID/stat`. The command name (field 2) may hold spaces and parentheses, so
/// the fields are counted from its last `)`.
pub fn parse_linux_stat(text: &str) -> Option<LinuxStat> {
    let rest = &text[text.rfind(')')? + 1..];
    let f: Vec<&str> = rest.split_ascii_whitespace().collect();
    // f[0] is field 3 (state); field N is f[N - 3].
    let num = |n: usize| f.get(n - 3)?.parse::<u64>().ok();
    Some(LinuxStat {
        state: f.first()?.chars().next()?,
        ppid: u32::try_from(num(4)?).ok()?,
        session: u32::try_from(num(6)?).ok()?,
        tty_nr: f.get(7 - 3)?.parse().ok()?,
        utime: num(14)?,
        stime: num(15)?,
        starttime: num(22)?,
    })
}

/// Parses `/proc/PID/statm` into resident bytes (second field, in pages).
pub fn parse_linux_statm(text: &str, page_size: u64) -> Option<u64> {
    let pages: u64 = text.split_ascii_whitespace().nth(1)?.parse().ok()?;
    pages.checked_mul(page_size)
}

/// Reads a process's sample from `root/proc/PID/{stat,statm}` (`root` is `/` on a live
/// system), with the given clock tick rate and page size.
pub fn read_linux(root: &Path, pid: u32, ticks_per_sec: u64, page_size: u64) -> Option<ProcSample> {
    let dir = root.join("proc").join(pid.to_string());
    let stat = parse_linux_stat(&std::fs::read_to_string(dir.join("stat")).ok()?)?;
    let rss = parse_linux_statm(&std::fs::read_to_string(dir.join("statm")).ok()?, page_size)?;
    let ticks = stat.utime.saturating_add(stat.stime);
    let hz = ticks_per_sec.max(1);
    Some(ProcSample {
        cpu_time: Duration::from_secs(ticks / hz)
            + Duration::from_nanos((ticks % hz) * 1_000_000_000 / hz),
        rss_bytes: rss,
    })
}

/// Reads one live process, or `None` when it does not exist or the OS is not supported.
///
/// # Platform behavior
/// See the module documentation.
pub fn sample(pid: u32) -> Option<ProcSample> {
    imp::sample(pid)
}

/// CPU percentage (of one core) from `before` to `after` over `elapsed` wall time.
pub fn cpu_percent(before: Duration, after: Duration, elapsed: Duration) -> f64 {
    if elapsed.is_zero() {
        return 0.0;
    }
    after.saturating_sub(before).as_secs_f64() * 100.0 / elapsed.as_secs_f64()
}

/// Turns successive samples of processes into CPU percentages: from the previous reading of
/// the same pid when there is one younger than [`CpuMeter::WINDOW`], else averaged over the
/// process's life (like `ps`).
#[derive(Debug, Default)]
pub struct CpuMeter {
    last: HashMap<u32, (Duration, Instant)>,
}

impl CpuMeter {
    /// Readings older than this are not used for a delta.
    pub const WINDOW: Duration = Duration::from_secs(60);

    /// A meter with no readings.
    pub fn new() -> Self {
        CpuMeter::default()
    }

    /// Records `sample` of `pid` taken at `now` and returns its CPU percentage; `uptime` is
    /// how long the process has run, for the first reading.
    pub fn observe(
        &mut self,
        pid: u32,
        sample: ProcSample,
        uptime: Option<Duration>,
        now: Instant,
    ) -> Option<f64> {
        let pct = match self.last.get(&pid) {
            Some(&(cpu, at)) if now.saturating_duration_since(at) < Self::WINDOW && now > at => {
                Some(cpu_percent(cpu, sample.cpu_time, now - at))
            }
            _ => uptime
                .filter(|u| !u.is_zero())
                .map(|u| cpu_percent(Duration::ZERO, sample.cpu_time, u)),
        };
        self.last.insert(pid, (sample.cpu_time, now));
        pct
    }

    /// Forgets every pid not in `alive`.
    pub fn retain(&mut self, alive: &[u32]) {
        self.last.retain(|pid, _| alive.contains(pid));
    }
}

#[cfg(any(target_os = "linux", target_os = "android"))]
mod imp {
    pub fn sample(pid: u32) -> Option<super::ProcSample> {
        // SAFETY: sysconf has no preconditions.
        let (hz, page) = unsafe {
            (
                libc::sysconf(libc::_SC_CLK_TCK),
                libc::sysconf(libc::_SC_PAGESIZE),
            )
        };
        let hz = u64::try_from(hz).ok().filter(|&h| h > 0).unwrap_or(100);
        let page = u64::try_from(page).ok().filter(|&p| p > 0).unwrap_or(4096);
        super::read_linux(std::path::Path::new("/"), pid, hz, page)
    }
}

#[cfg(target_os = "macos")]
mod imp {
    use std::time::Duration;

    // libc marks its Mach bindings deprecated in favour of the mach2 crate; one call does not
    // justify another dependency.
    #[allow(deprecated)]
    pub fn sample(pid: u32) -> Option<super::ProcSample> {
        let pid = i32::try_from(pid).ok()?;
        // SAFETY: proc_taskinfo is plain old data; proc_pidinfo writes at most `size` bytes.
        let mut info: libc::proc_taskinfo = unsafe { std::mem::zeroed() };
        let size = i32::try_from(std::mem::size_of::<libc::proc_taskinfo>()).ok()?;
        let n = unsafe {
            libc::proc_pidinfo(
                pid,
                libc::PROC_PIDTASKINFO,
                0,
                (&raw mut info).cast::<libc::c_void>(),
                size,
            )
        };
        if n != size {
            return None;
        }
        // pti_total_* are in Mach absolute time units: nanoseconds on Intel, not on Apple
        // silicon, hence the timebase.
        let mut tb = libc::mach_timebase_info { numer: 0, denom: 0 };
        // SAFETY: writes the struct it is given.
        let ok = unsafe { libc::mach_timebase_info(&raw mut tb) } == 0;
        let (numer, denom) = if ok && tb.denom != 0 {
            (u128::from(tb.numer), u128::from(tb.denom))
        } else {
            (1, 1)
        };
        let units = u128::from(info.pti_total_user) + u128::from(info.pti_total_system);
        let nanos = u64::try_from(units * numer / denom).unwrap_or(u64::MAX);
        Some(super::ProcSample {
            cpu_time: Duration::from_nanos(nanos),
            rss_bytes: info.pti_resident_size,
        })
    }
}

#[cfg(target_os = "freebsd")]
mod imp {
    use std::time::Duration;

    pub fn sample(pid: u32) -> Option<super::ProcSample> {
        let mut mib = [
            libc::CTL_KERN,
            libc::KERN_PROC,
            libc::KERN_PROC_PID,
            i32::try_from(pid).ok()?,
        ];
        // SAFETY: kinfo_proc is plain old data; sysctl writes at most `len` bytes.
        let mut kp: libc::kinfo_proc = unsafe { std::mem::zeroed() };
        let mut len = std::mem::size_of::<libc::kinfo_proc>();
        let rc = unsafe {
            libc::sysctl(
                mib.as_mut_ptr(),
                4,
                (&raw mut kp).cast::<libc::c_void>(),
                &raw mut len,
                std::ptr::null(),
                0,
            )
        };
        if rc != 0 || len < std::mem::size_of::<libc::kinfo_proc>() {
            return None;
        }
        // SAFETY: sysconf has no preconditions.
        let page = u64::try_from(unsafe { libc::sysconf(libc::_SC_PAGESIZE) }).unwrap_or(4096);
        Some(super::ProcSample {
            cpu_time: Duration::from_micros(u64::try_from(kp.ki_runtime).unwrap_or(0)),
            rss_bytes: u64::try_from(kp.ki_rssize)
                .unwrap_or(0)
                .saturating_mul(page),
        })
    }
}

#[cfg(windows)]
mod imp {
    use std::time::Duration;

    use windows_sys::Win32::Foundation::{CloseHandle, FILETIME};
    use windows_sys::Win32::System::ProcessStatus::{
        GetProcessMemoryInfo, PROCESS_MEMORY_COUNTERS,
    };
    use windows_sys::Win32::System::Threading::{
        GetProcessTimes, OpenProcess, PROCESS_QUERY_LIMITED_INFORMATION, PROCESS_VM_READ,
    };

    fn ticks(ft: &FILETIME) -> u64 {
        (u64::from(ft.dwHighDateTime) << 32) | u64::from(ft.dwLowDateTime)
    }

    pub fn sample(pid: u32) -> Option<super::ProcSample> {
        // SAFETY: plain Win32 calls on a handle we own and close; out-structs are zeroed POD.
        unsafe {
            let mut h = OpenProcess(PROCESS_QUERY_LIMITED_INFORMATION | PROCESS_VM_READ, 0, pid);
            if h.is_null() {
                h = OpenProcess(PROCESS_QUERY_LIMITED_INFORMATION, 0, pid);
            }
            if h.is_null() {
                return None;
            }
            let zero = FILETIME {
                dwLowDateTime: 0,
                dwHighDateTime: 0,
            };
            let (mut c, mut e, mut k, mut u) = (zero, zero, zero, zero);
            let times_ok = GetProcessTimes(h, &mut c, &mut e, &mut k, &mut u) != 0;
            let mut mem: PROCESS_MEMORY_COUNTERS = std::mem::zeroed();
            mem.cb = std::mem::size_of::<PROCESS_MEMORY_COUNTERS>() as u32;
            let mem_ok = GetProcessMemoryInfo(h, &mut mem, mem.cb) != 0;
            CloseHandle(h);
            if !times_ok {
                return None;
            }
            // FILETIME durations are in 100 ns units.
            let hundred_ns = ticks(&k).saturating_add(ticks(&u));
            Some(super::ProcSample {
                cpu_time: Duration::from_nanos(hundred_ns.saturating_mul(100)),
                rss_bytes: if mem_ok { mem.WorkingSetSize as u64 } else { 0 },
            })
        }
    }
}

#[cfg(not(any(
    target_os = "linux",
    target_os = "android",
    target_os = "macos",
    target_os = "freebsd",
    windows
)))]
mod imp {
    pub fn sample(_pid: u32) -> Option<super::ProcSample> {
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const STAT: &str = "4242 (my (odd) prog) S 1 4242 4242 0 -1 4194560 120 0 0 0 250 75 0 0 20 0 1 0 98765 12345678 300 18446744073709551615 1 1 0 0 0 0 0 0 0 0 0 0 17 1 0 0 0 0 0\n";

    #[test]
    fn parses_stat_with_odd_names() {
        let s = parse_linux_stat(STAT).unwrap();
        assert_eq!(s.state, 'S');
        assert_eq!(s.ppid, 1);
        assert_eq!(s.session, 4242);
        assert_eq!(s.tty_nr, 0);
        assert_eq!((s.utime, s.stime), (250, 75));
        assert_eq!(s.starttime, 98765);
    }

    #[test]
    fn rejects_truncated_stat() {
        for bad in ["", "1 (x", "1 (x) S 1 2", "1 (x) S a b c"] {
            assert_eq!(parse_linux_stat(bad), None, "{bad:?}");
        }
    }

    #[test]
    fn parses_statm() {
        assert_eq!(
            parse_linux_statm("1000 300 50 1 0 200 0\n", 4096),
            Some(300 * 4096)
        );
        assert_eq!(parse_linux_statm("1000", 4096), None);
        assert_eq!(parse_linux_statm("", 4096), None);
    }

    #[test]
    fn reads_a_fixture_root() {
        let tmp = tempfile::tempdir().unwrap();
        let d = tmp.path().join("proc/4242");
        std::fs::create_dir_all(&d).unwrap();
        std::fs::write(d.join("stat"), STAT).unwrap();
        std::fs::write(d.join("statm"), "1000 300 50 1 0 200 0\n").unwrap();
        let s = read_linux(tmp.path(), 4242, 100, 4096).unwrap();
        assert_eq!(s.cpu_time, Duration::from_millis(3250));
        assert_eq!(s.rss_bytes, 300 * 4096);
        assert_eq!(read_linux(tmp.path(), 1, 100, 4096), None);
    }

    #[test]
    fn meter_uses_deltas_then_lifetime() {
        let mut m = CpuMeter::new();
        let t0 = Instant::now();
        let s = |ms| ProcSample {
            cpu_time: Duration::from_millis(ms),
            rss_bytes: 0,
        };
        // First reading: 1 s of CPU over 4 s of life.
        assert_eq!(
            m.observe(7, s(1000), Some(Duration::from_secs(4)), t0),
            Some(25.0)
        );
        // Then: 500 ms more over 1 s.
        let pct = m
            .observe(7, s(1500), None, t0 + Duration::from_secs(1))
            .unwrap();
        assert!((pct - 50.0).abs() < 1e-9, "{pct}");
        // A stale reading is not used.
        let late = t0 + Duration::from_secs(120);
        assert_eq!(m.observe(7, s(1500), None, late), None);
        m.retain(&[]);
        assert_eq!(m.observe(7, s(0), Some(Duration::ZERO), late), None);
    }

    #[cfg(any(target_os = "linux", target_os = "android"))]
    #[test]
    fn samples_this_process_like_proc_says() {
        let me = sample(std::process::id()).unwrap();
        let status = std::fs::read_to_string("/proc/self/status").unwrap();
        let rss_kb: u64 = status
            .lines()
            .find_map(|l| l.strip_prefix("VmRSS:"))
            .and_then(|v| v.split_whitespace().next())
            .and_then(|v| v.parse().ok())
            .unwrap();
        // Same source, two readings a moment apart: within a few MiB of each other.
        let ours = me.rss_bytes / 1024;
        assert!(
            ours.abs_diff(rss_kb) < 8 * 1024,
            "{ours} KiB vs VmRSS {rss_kb} KiB"
        );
        assert_eq!(sample(u32::MAX), None);
    }

    proptest::proptest! {
        #[test]
        fn parsers_never_panic(s in "\\PC{0,200}") {
            let _ = parse_linux_stat(&s);
            let _ = parse_linux_statm(&s, 4096);
        }
    }
}
