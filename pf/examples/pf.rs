//! Prints the platform: `cargo run -p agentry-pf --example pf -- [--json] [--root DIR]`.
//!
//! With `--json`, one object with the keys `system, dist, id, version, codename, like,
//! pretty_name, kernel, arch, bits, process_bits` (`codename` null when there is none).
//! With `--root DIR`, the distribution installed under DIR (kernel and arch from this host).

use std::path::PathBuf;
use std::process::ExitCode;

fn usage() -> ExitCode {
    eprintln!("usage: pf [--json] [--root DIR]");
    ExitCode::from(2)
}

fn main() -> ExitCode {
    let mut json = false;
    let mut root: Option<PathBuf> = None;
    let mut args = std::env::args_os().skip(1);
    while let Some(arg) = args.next() {
        match arg.to_str() {
            Some("--json") => json = true,
            Some("--root") => match args.next() {
                Some(dir) => root = Some(dir.into()),
                None => return usage(),
            },
            Some("-h" | "--help") => {
                println!("usage: pf [--json] [--root DIR]");
                return ExitCode::SUCCESS;
            }
            _ => return usage(),
        }
    }
    let platform = match &root {
        Some(dir) => pf::detect_in(dir),
        None => pf::detect(),
    };
    if json {
        match serde_json::to_string_pretty(&platform) {
            Ok(s) => println!("{s}"),
            Err(e) => {
                eprintln!("pf: {e}");
                return ExitCode::FAILURE;
            }
        }
        return ExitCode::SUCCESS;
    }
    let p = &platform;
    println!("{:<13}{}", "platform", p.pretty_name());
    println!("{:<13}{}", "system", p.system());
    println!("{:<13}{}", "dist", p.dist());
    println!("{:<13}{}", "id", p.id());
    println!(
        "{:<13}{}",
        "version",
        if p.version().is_empty() {
            "(none stated)"
        } else {
            p.version()
        }
    );
    println!("{:<13}{}", "codename", p.codename().unwrap_or("(none)"));
    println!(
        "{:<13}{}",
        "like",
        if p.like().is_empty() {
            "(none)".to_string()
        } else {
            p.like().join(" ")
        }
    );
    println!("{:<13}{}", "kernel", p.kernel());
    println!("{:<13}{}", "arch", p.arch());
    println!(
        "{:<13}{}-bit OS, {}-bit process",
        "bits",
        p.bits(),
        p.process_bits()
    );
    println!("{:<13}{}", "label", p.label());
    ExitCode::SUCCESS
}
