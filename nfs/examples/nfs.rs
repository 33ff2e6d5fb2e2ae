//! `nfs`: the crate's operations from the command line.
//!
//! ```text
//! cargo run -p agentry-nfs --example nfs -- copy SRC DST [--filter-files G]... [--exclude-dirs G]... [--symlinks] [--mode 750] [--no-overwrite]
//! cargo run -p agentry-nfs --example nfs -- remove 'logs/*.log' --dry-run
//! cargo run -p agentry-nfs --example nfs -- compress SRC DSTDIR [--name N] [--format tar.gz|tar|zip] [--root R] [filters]
//! cargo run -p agentry-nfs --example nfs -- uncompress ARCHIVE DSTDIR [--no-overwrite] [--temp-dir DIR]
//! cargo run -p agentry-nfs --example nfs -- touch PATH
//! cargo run -p agentry-nfs --example nfs -- rename SRC DST
//! ```
//!
//! `--dry-run` prints the plan (one action a line); `--progress` shows a progress bar on a
//! terminal. On failure: a one-line error on stderr and exit code 1.

use std::io::IsTerminal;
use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::{Context, Result};
use clap::{Args, Parser, Subcommand};
use indicatif::{ProgressBar, ProgressStyle};

#[derive(Parser)]
#[command(
    name = "nfs",
    about = "Filtered copy and remove, touch, rename, compress and uncompress"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

/// The filters and flags every tree operation takes.
#[derive(Args, Clone, Default)]
struct Common {
    /// Take only files matching this glob (repeatable).
    #[arg(long = "filter-files", value_name = "G")]
    filter_files: Vec<String>,
    /// Take only files below directories matching this glob (repeatable).
    #[arg(long = "filter-dirs", value_name = "G")]
    filter_dirs: Vec<String>,
    /// Leave files matching this glob (repeatable).
    #[arg(long = "exclude-files", value_name = "G")]
    exclude_files: Vec<String>,
    /// Never enter directories matching this glob (repeatable).
    #[arg(long = "exclude-dirs", value_name = "G")]
    exclude_dirs: Vec<String>,
    /// Print the plan and touch nothing.
    #[arg(long)]
    dry_run: bool,
    /// Show a progress bar (on a terminal).
    #[arg(long)]
    progress: bool,
}

impl Common {
    fn filters(&self) -> nfs::Filters {
        nfs::Filters::new()
            .filter_files(self.filter_files.iter().cloned())
            .filter_dirs(self.filter_dirs.iter().cloned())
            .exclude_files(self.exclude_files.iter().cloned())
            .exclude_dirs(self.exclude_dirs.iter().cloned())
    }

    /// A progress bar, when asked for and on a terminal.
    fn bar(&self) -> Option<ProgressBar> {
        if !self.progress || self.dry_run || !std::io::stderr().is_terminal() {
            return None;
        }
        let bar = ProgressBar::new(0);
        bar.set_style(
            ProgressStyle::with_template(
                "{bar:40} {binary_bytes}/{binary_total_bytes} {pos}/{len} files {wide_msg}",
            )
            .unwrap_or_else(|_| ProgressStyle::default_bar()),
        );
        Some(bar)
    }
}

/// The callback that moves `bar`.
fn follow(bar: ProgressBar) -> impl Fn(&nfs::Progress) + Send + Sync + 'static {
    move |p: &nfs::Progress| {
        bar.set_length(p.bytes_total.max(1));
        bar.set_position(p.bytes_done);
        bar.set_message(format!("{}/{} files", p.files_done, p.files_total));
    }
}

#[derive(Subcommand)]
enum Command {
    /// Copy a file, a directory or a glob.
    Copy {
        src: PathBuf,
        dst: PathBuf,
        #[command(flatten)]
        common: Common,
        /// Copy symbolic links as links (default: copy what they point to).
        #[arg(long)]
        symlinks: bool,
        /// Octal mode of the directories created, e.g. 750.
        #[arg(long, value_parser = parse_mode)]
        mode: Option<u32>,
        /// Keep existing destination files.
        #[arg(long)]
        no_overwrite: bool,
        /// Files copied at once (default: the library's choice).
        #[arg(long)]
        threads: Option<usize>,
    },
    /// Remove a file, a directory, a link or a glob.
    Remove {
        src: PathBuf,
        #[command(flatten)]
        common: Common,
        /// No error when nothing matches.
        #[arg(long, short)]
        force: bool,
    },
    /// Create a file or update its modification time.
    Touch { path: PathBuf },
    /// Move a path (copy and remove across file systems).
    Rename { src: PathBuf, dst: PathBuf },
    /// Pack a directory (or a file) into DSTDIR as tar.gz, tar or zip.
    Compress {
        src: PathBuf,
        dst_dir: PathBuf,
        #[command(flatten)]
        common: Common,
        /// The archive's file name (the extension is added when missing).
        #[arg(long)]
        name: Option<String>,
        /// tar.gz (default), tar, zip or tar.zst (with the `zstd` feature).
        #[arg(long, default_value = "tar.gz")]
        format: nfs::ArchiveFormat,
        /// The top folder inside the archive (default: the source's name; "" for none).
        #[arg(long)]
        root: Option<PathBuf>,
        /// Deflate level 0-9 (default 6).
        #[arg(long)]
        level: Option<u32>,
        /// Sorted entries, fixed times, no owners: byte-identical archives.
        #[arg(long)]
        reproducible: bool,
        /// Store what symbolic links point to instead of the links.
        #[arg(long)]
        follow_links: bool,
    },
    /// Unpack a tar, tar.gz or zip (recognised by content) into DSTDIR, refusing any
    /// entry that would land outside it.
    Uncompress {
        archive: PathBuf,
        dst_dir: PathBuf,
        #[command(flatten)]
        common: Common,
        /// Keep existing files.
        #[arg(long)]
        no_overwrite: bool,
        /// Extract inside this directory first, then move into place (all or nothing).
        #[arg(long, value_name = "DIR")]
        temp_dir: Option<PathBuf>,
        /// Refuse archives expanding past this many bytes.
        #[arg(long, value_name = "BYTES")]
        max_bytes: Option<u64>,
        /// Threads writing files (default: the library's choice).
        #[arg(long)]
        threads: Option<usize>,
    },
}

fn parse_mode(s: &str) -> Result<u32, String> {
    u32::from_str_radix(s.trim_start_matches("0o"), 8)
        .map_err(|e| format!("not an octal mode: {e}"))
}

fn main() -> ExitCode {
    match run(Cli::parse()) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("nfs: {e:#}");
            ExitCode::FAILURE
        }
    }
}

fn run(cli: Cli) -> Result<()> {
    match cli.command {
        Command::Copy {
            src,
            dst,
            common,
            symlinks,
            mode,
            no_overwrite,
            threads,
        } => {
            let mut opts = nfs::CopyOptions::new()
                .filters(common.filters())
                .dry_run(common.dry_run)
                .symlinks(symlinks);
            if let Some(m) = mode {
                opts = opts.mode(m);
            }
            if no_overwrite {
                opts = opts.overwrite(nfs::Overwrite::Never);
            }
            if let Some(n) = threads {
                opts = opts.threads(n);
            }
            let bar = common.bar();
            if let Some(b) = &bar {
                opts = opts.progress(follow(b.clone()));
            }
            let report = nfs::copy_with(&src, &dst, &opts)
                .with_context(|| format!("copy {} to {}", src.display(), dst.display()))?;
            finish(bar, &report, "copied");
        }
        Command::Remove { src, common, force } => {
            let mut opts = nfs::RemoveOptions::new()
                .filters(common.filters())
                .dry_run(common.dry_run)
                .missing_ok(force);
            let bar = common.bar();
            if let Some(b) = &bar {
                opts = opts.progress(follow(b.clone()));
            }
            let report = nfs::remove_with(&src, &opts)?;
            finish(bar, &report, "removed");
        }
        Command::Compress {
            src,
            dst_dir,
            common,
            name,
            format,
            root,
            level,
            reproducible,
            follow_links,
        } => {
            let mut opts = nfs::CompressOptions::new()
                .filters(common.filters())
                .dry_run(common.dry_run)
                .format(format)
                .reproducible(reproducible)
                .follow_links(follow_links);
            if let Some(n) = name {
                opts = opts.name(n);
            }
            if let Some(r) = root {
                opts = opts.root(r);
            }
            if let Some(l) = level {
                opts = opts.level(l);
            }
            let bar = common.bar();
            if let Some(b) = &bar {
                opts = opts.progress(follow(b.clone()));
            }
            let made = nfs::compress_report(&src, &dst_dir, &opts)
                .with_context(|| format!("compress {}", src.display()))?;
            finish(bar, &made.report, "added");
            if made.report.dry_run {
                eprintln!("would write {}", made.path.display());
            } else {
                println!("{}", made.path.display());
            }
        }
        Command::Uncompress {
            archive,
            dst_dir,
            common,
            no_overwrite,
            temp_dir,
            max_bytes,
            threads,
        } => {
            let mut opts = nfs::UncompressOptions::new()
                .filters(common.filters())
                .dry_run(common.dry_run);
            if no_overwrite {
                opts = opts.overwrite(nfs::Overwrite::Never);
            }
            if let Some(t) = temp_dir {
                opts = opts.temp_dir(t);
            }
            if let Some(m) = max_bytes {
                opts = opts.max_bytes(m);
            }
            if let Some(n) = threads {
                opts = opts.threads(n);
            }
            let bar = common.bar();
            if let Some(b) = &bar {
                opts = opts.progress(follow(b.clone()));
            }
            let report = nfs::uncompress(&archive, &dst_dir, &opts)
                .with_context(|| format!("uncompress {}", archive.display()))?;
            finish(bar, &report, "extracted");
        }
        Command::Touch { path } => nfs::touch(&path)?,
        Command::Rename { src, dst } => {
            nfs::rename(&src, &dst)?;
        }
    }
    Ok(())
}

/// Print the plan of a dry run, or a one-line summary.
fn finish(bar: Option<ProgressBar>, report: &nfs::Report, verb: &str) {
    if let Some(b) = bar {
        b.finish_and_clear();
    }
    for action in &report.plan {
        println!("{}", describe(action));
    }
    let would = if report.dry_run { "would be " } else { "" };
    eprintln!(
        "{} files, {} dirs, {} bytes {would}{verb}; {} skipped",
        report.files, report.dirs, report.bytes, report.skipped
    );
}

fn describe(a: &nfs::Action) -> String {
    use nfs::Action::*;
    match a {
        CreateDir { path } => format!("mkdir   {}", path.display()),
        CopyFile { src, dst, bytes } => {
            format!(
                "copy    {} -> {} ({bytes} bytes)",
                src.display(),
                dst.display()
            )
        }
        CopyLink { src, dst, target } => format!(
            "link    {} -> {} (to {})",
            src.display(),
            dst.display(),
            target.display()
        ),
        RemoveFile { path, bytes } => format!("rm      {} ({bytes} bytes)", path.display()),
        RemoveDir { path } => format!("rmdir   {}", path.display()),
        Rename { src, dst } => format!("rename  {} -> {}", src.display(), dst.display()),
        Touch { path } => format!("touch   {}", path.display()),
        Skip { path, reason } => format!("skip    {} ({reason:?})", path.display()),
        AddEntry { path, entry } => format!("add     {} as {}", path.display(), entry.display()),
        Extract { entry, dst } => format!("extract {} -> {}", entry.display(), dst.display()),
        other => format!("{other:?}"),
    }
}
