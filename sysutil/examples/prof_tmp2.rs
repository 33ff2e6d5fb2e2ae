use std::io::Read;
use std::time::Instant;
fn t<T>(name: &str, mut f: impl FnMut() -> T) {
    for _ in 0..3 {
        std::hint::black_box(f());
    }
    let n = 400;
    let mut v = Vec::new();
    for _ in 0..n {
        let s = Instant::now();
        std::hint::black_box(f());
        v.push(s.elapsed().as_secs_f64() * 1e6);
    }
    v.sort_by(|a, b| a.partial_cmp(b).unwrap());
    println!("{name:<40} median {:>8.1} µs  min {:>8.1}", v[n / 2], v[0]);
}
fn big(p: &str) -> String {
    let mut f = std::fs::File::open(p).unwrap();
    let mut b = Vec::with_capacity(65536);
    f.read_to_end(&mut b).unwrap();
    String::from_utf8(b).unwrap()
}
fn main() {
    for p in [
        "/proc/cpuinfo",
        "/proc/self/mounts",
        "/proc/filesystems",
        "/proc/meminfo",
        "/proc/self/status",
    ] {
        t(&format!("read_to_string {p}"), || {
            std::fs::read_to_string(p)
        });
        t(&format!("prealloc {p}"), || big(p));
    }
}
