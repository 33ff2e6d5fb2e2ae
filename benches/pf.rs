//! `pf::detect()` against the tools people use instead, in one run:
//! `os_info::get()` and sysinfo's `System::long_os_version()` (plus `System::name()` and
//! `System::os_version()`, which a caller needs to get the same facts).
//!
//! `cargo bench --bench pf [-- ITERATIONS]`: prints each mean and the ratio to `pf`.

use std::hint::black_box;
use std::time::{Duration, Instant};

/// Mean wall time of `f` over `iterations` runs, after a few warm-up runs.
fn mean<T>(iterations: u32, mut f: impl FnMut() -> T) -> Duration {
    for _ in 0..iterations.min(10) {
        black_box(f());
    }
    let start = Instant::now();
    for _ in 0..iterations {
        black_box(f());
    }
    start.elapsed() / iterations.max(1)
}

fn main() {
    let iterations: u32 = std::env::args()
        .skip(1)
        .find_map(|a| a.parse().ok())
        .unwrap_or(300);

    let p = pf::detect();
    let info = os_info::get();
    println!(
        "pf       : {} {} {} (kernel {}, {}-bit)",
        p.dist(),
        p.id(),
        p.version(),
        p.kernel(),
        p.bits()
    );
    println!(
        "os_info  : {} {} ({})",
        info.os_type(),
        info.version(),
        info.bitness()
    );
    println!(
        "sysinfo  : {} / {} {}",
        sysinfo::System::long_os_version().unwrap_or_default(),
        sysinfo::System::name().unwrap_or_default(),
        sysinfo::System::os_version().unwrap_or_default()
    );
    println!();

    let ours = mean(iterations, pf::detect);
    let peers = [
        ("os_info::get()", mean(iterations, os_info::get)),
        (
            "sysinfo::System::long_os_version()",
            mean(iterations, sysinfo::System::long_os_version),
        ),
        (
            "sysinfo name + os_version + long_os_version",
            mean(iterations, || {
                (
                    sysinfo::System::name(),
                    sysinfo::System::os_version(),
                    sysinfo::System::long_os_version(),
                )
            }),
        ),
    ];
    let cached = mean(iterations, pf::get_platform);

    println!("{iterations} iterations each, mean per call:");
    println!("  {:<46}{:>12.1?}", "pf::detect()", ours);
    for (name, t) in peers {
        println!(
            "  {name:<46}{t:>12.1?}   {:>6.2}x pf::detect()",
            t.as_secs_f64() / ours.as_secs_f64().max(f64::MIN_POSITIVE)
        );
    }
    println!("  {:<46}{:>12.1?}   (cached)", "pf::get_platform()", cached);
}
