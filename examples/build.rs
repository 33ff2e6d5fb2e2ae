//! The talk's configured build: one declarative-imperative `build.yml`, one pipeline per platform
//! label, executed with `nfs` and selected with `pf`.
//!
//! ```text
//! cargo run --example build -- --plan examples/build.yml      # show the resolved pipeline
//! cargo run --example build -- --dot examples/build.yml       # the same as a Graphviz graph
//! cargo run --example build -- examples/build.yml             # build the package
//! cargo run --example build -- --label windows-64 --plan examples/build.yml
//! cargo run --example build -- --var project_version=2.0.0 examples/build.yml
//! ```
//!
//! # The file
//! ```yaml
//! project: {name: demo-agent, version: 1.4.2}
//! vars:                      # user variables, resolved in order; --var k=v overrides
//!   s: build-src
//! all:                       # steps every platform runs first
//!   steps: [makedirs {t}]
//! linux-64:                  # a pf::Platform::label() value
//!   steps:
//!     - copy {s}/bin {t}/bin exclude .* *.pyc
//!     - compress {t} {project_name}-linux-64-{project_version}.tar.gz
//! ```
//! Top-level keys are `project`, `vars`, `all` and platform labels (`linux-64`, `windows-32`,
//! `aix-64`...). The pipeline of a label is the steps of `all` followed by the label's own.
//!
//! Variables: `{s}` (sources; default the folder holding the file), `{out}` (where packages go;
//! default `target/agentry-build`, or `--out`), `{t}` (staging; default
//! `{out}/{project_name}-{label}`), `{label}`, `{project_name}`, `{project_version}`, `{date}`,
//! and the file's `vars`. `{{` and `}}` are literal braces; a brace group that is not a variable
//! name (`{'Linux':[64]}`) is left as written.
//!
//! Commands (relative paths are taken from the folder holding the file; a compress archive name
//! without a folder goes to `{out}`):
//! - `makedirs PATH [MODE]`, `touch PATH`, `rename SRC DST`
//! - `copy SRC DST [exclude G...] [filter G...] [exclude_files|exclude_dirs|filter_files|filter_dirs G...]`
//! - `remove PATH [same filter words]`
//! - `compress SRC ARCHIVE [filter words]` (format from the name: .tar.gz/.tgz, .tar, .zip)
//! - `uncompress ARCHIVE DST`
//! - `support_plat {'Linux':[64], 'Windows':[32,64]} MANIFEST` and `add_date MANIFEST`
//!   (upsert a key of a YAML manifest)
//! - `run PROGRAM ARGS...` (no shell)
//!
//! `exclude G` excludes files and directories named G; `filter G` keeps only files matching G.
//! The whole file is parsed, every step resolved and checked before anything runs: a malformed
//! file, an unknown command or variable, a wrong argument count are all reported at once, each
//! with its line.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Instant;

use clap::Parser;
use yaml_rust2::Event;
use yaml_rust2::parser::{MarkedEventReceiver, Parser as YamlParser};
use yaml_rust2::scanner::Marker;

// ---------------------------------------------------------------------------------------------
// Command line

#[derive(Parser, Debug)]
#[command(about = "Run a build.yml pipeline for a platform label (default: this machine's)")]
struct Cli {
    /// Print the resolved pipeline and exit without running anything.
    #[arg(long)]
    plan: bool,
    /// Print the pipeline as a Graphviz graph and exit without running anything.
    #[arg(long)]
    dot: bool,
    /// The platform label to build (default: `pf::get_platform().label()`).
    #[arg(long)]
    label: Option<String>,
    /// Set or override a variable: `--var project_version=2.0.0`.
    #[arg(long = "var", value_name = "K=V")]
    vars: Vec<String>,
    /// Where packages go (the `{out}` variable).
    #[arg(long)]
    out: Option<PathBuf>,
    /// The build file.
    file: PathBuf,
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    match run(&cli) {
        Ok(()) => ExitCode::SUCCESS,
        Err(msg) => {
            eprintln!("{msg}");
            ExitCode::FAILURE
        }
    }
}

fn run(cli: &Cli) -> Result<(), String> {
    let file_name = cli.file.display().to_string();
    let text = std::fs::read_to_string(&cli.file)
        .map_err(|e| format!("error: cannot read {file_name}: {e}"))?;
    let base = match cli.file.parent() {
        Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
        _ => PathBuf::from("."),
    };
    let base = std::path::absolute(&base).unwrap_or(base);
    let label = cli
        .label
        .clone()
        .unwrap_or_else(|| pf::get_platform().label());
    let mut overrides = Vec::new();
    for kv in &cli.vars {
        match kv.split_once('=') {
            Some((k, v)) if is_ident(k) => overrides.push((k.to_string(), v.to_string())),
            _ => return Err(format!("error: --var {kv}: expected NAME=VALUE")),
        }
    }
    let out = cli
        .out
        .clone()
        .unwrap_or_else(|| PathBuf::from("target/agentry-build"));
    let out = std::path::absolute(&out).unwrap_or(out);
    let settings = Settings {
        label,
        base,
        out,
        overrides,
        date: today(),
    };
    let plan = build_plan(&text, &settings).map_err(|diags| {
        let mut s = String::new();
        for d in &diags {
            let _ = writeln!(s, "{file_name}:{}: {}", d.line, d.message);
        }
        let _ = write!(
            s,
            "error: {file_name} has {} problem(s); nothing was run",
            diags.len()
        );
        s
    })?;
    if cli.dot {
        print!("{}", plan.to_dot());
        return Ok(());
    }
    if cli.plan {
        print!("{}", plan.render(&file_name));
        return Ok(());
    }
    execute_plan(&plan, &file_name)
}

// ---------------------------------------------------------------------------------------------
// YAML with line numbers: yaml-rust2's event parser gives a marker for every node.

/// A YAML node and the (1-based) line it starts on.
#[derive(Debug, Clone, PartialEq)]
enum Node {
    Scalar(String, usize),
    Seq(Vec<Node>, usize),
    Map(Vec<(String, usize, Node)>, usize),
}

impl Node {
    fn line(&self) -> usize {
        match self {
            Node::Scalar(_, l) | Node::Seq(_, l) | Node::Map(_, l) => *l,
        }
    }
    fn kind(&self) -> &'static str {
        match self {
            Node::Scalar(..) => "a text",
            Node::Seq(..) => "a list",
            Node::Map(..) => "a mapping",
        }
    }
}

enum Frame {
    Seq(Vec<Node>, usize),
    Map(Vec<(String, usize, Node)>, Option<(String, usize)>, usize),
}

#[derive(Default)]
struct TreeBuilder {
    stack: Vec<Frame>,
    root: Option<Node>,
    error: Option<Diag>,
}

impl TreeBuilder {
    fn emit(&mut self, node: Node) {
        match self.stack.last_mut() {
            None => {
                if self.root.is_none() {
                    self.root = Some(node);
                }
            }
            Some(Frame::Seq(items, _)) => items.push(node),
            Some(Frame::Map(entries, pending, _)) => match pending.take() {
                None => match node {
                    Node::Scalar(k, l) => *pending = Some((k, l)),
                    other => {
                        self.error.get_or_insert(Diag::new(
                            other.line(),
                            "a mapping key must be plain text",
                        ));
                    }
                },
                Some((k, l)) => entries.push((k, l, node)),
            },
        }
    }
}

impl MarkedEventReceiver for TreeBuilder {
    fn on_event(&mut self, ev: Event, mark: Marker) {
        // yaml-rust2 counts lines from 1.
        let line = mark.line().max(1);
        match ev {
            Event::Scalar(v, ..) => self.emit(Node::Scalar(v, line)),
            Event::SequenceStart(..) => self.stack.push(Frame::Seq(Vec::new(), line)),
            Event::MappingStart(..) => self.stack.push(Frame::Map(Vec::new(), None, line)),
            Event::SequenceEnd | Event::MappingEnd => match self.stack.pop() {
                Some(Frame::Seq(items, l)) => self.emit(Node::Seq(items, l)),
                Some(Frame::Map(entries, _, l)) => self.emit(Node::Map(entries, l)),
                None => {}
            },
            Event::Alias(_) => {
                self.error
                    .get_or_insert(Diag::new(line, "YAML aliases are not supported here"));
                self.emit(Node::Scalar(String::new(), line));
            }
            _ => {}
        }
    }
}

fn parse_yaml(text: &str) -> Result<Option<Node>, Diag> {
    let mut builder = TreeBuilder::default();
    let mut parser = YamlParser::new_from_str(text);
    parser
        .load(&mut builder, false)
        .map_err(|e| Diag::new(e.marker().line().max(1), e.info().to_string()))?;
    if let Some(err) = builder.error {
        return Err(err);
    }
    Ok(builder.root)
}

// ---------------------------------------------------------------------------------------------
// The build file, validated as a whole.

/// A problem in the build file, at a line.
#[derive(Debug, Clone, PartialEq)]
struct Diag {
    line: usize,
    message: String,
}

impl Diag {
    fn new(line: usize, message: impl Into<String>) -> Self {
        Diag {
            line,
            message: message.into(),
        }
    }
}

/// What the command line and the machine contribute.
#[derive(Debug, Clone)]
struct Settings {
    label: String,
    base: PathBuf,
    out: PathBuf,
    overrides: Vec<(String, String)>,
    date: String,
}

#[derive(Debug, Clone, Default)]
struct Filters {
    filter_files: Vec<String>,
    filter_dirs: Vec<String>,
    exclude_files: Vec<String>,
    exclude_dirs: Vec<String>,
}

impl Filters {
    fn is_empty(&self) -> bool {
        self.filter_files.is_empty()
            && self.filter_dirs.is_empty()
            && self.exclude_files.is_empty()
            && self.exclude_dirs.is_empty()
    }
    fn describe(&self) -> String {
        let mut parts = Vec::new();
        for (word, list) in [
            ("filter_files", &self.filter_files),
            ("filter_dirs", &self.filter_dirs),
            ("exclude_files", &self.exclude_files),
            ("exclude_dirs", &self.exclude_dirs),
        ] {
            if !list.is_empty() {
                parts.push(format!("{word}=[{}]", list.join(", ")));
            }
        }
        parts.join(" ")
    }
}

/// One resolved, checked command.
#[derive(Debug, Clone)]
enum Cmd {
    Makedirs {
        path: PathBuf,
        mode: u32,
    },
    Copy {
        src: PathBuf,
        dst: PathBuf,
        filters: Filters,
    },
    Remove {
        path: PathBuf,
        filters: Filters,
    },
    Rename {
        src: PathBuf,
        dst: PathBuf,
    },
    Touch {
        path: PathBuf,
    },
    Compress {
        src: PathBuf,
        archive: PathBuf,
        filters: Filters,
    },
    Uncompress {
        archive: PathBuf,
        dst: PathBuf,
    },
    SupportPlat {
        platforms: Vec<(String, Vec<u32>)>,
        manifest: PathBuf,
    },
    AddDate {
        manifest: PathBuf,
    },
    Run {
        program: String,
        args: Vec<String>,
    },
}

impl Cmd {
    fn name(&self) -> &'static str {
        match self {
            Cmd::Makedirs { .. } => "makedirs",
            Cmd::Copy { .. } => "copy",
            Cmd::Remove { .. } => "remove",
            Cmd::Rename { .. } => "rename",
            Cmd::Touch { .. } => "touch",
            Cmd::Compress { .. } => "compress",
            Cmd::Uncompress { .. } => "uncompress",
            Cmd::SupportPlat { .. } => "support_plat",
            Cmd::AddDate { .. } => "add_date",
            Cmd::Run { .. } => "run",
        }
    }

    /// The resolved step, as the plan shows it.
    fn describe(&self) -> String {
        let f = |filters: &Filters| {
            if filters.is_empty() {
                String::new()
            } else {
                format!("  {}", filters.describe())
            }
        };
        match self {
            Cmd::Makedirs { path, mode } => format!("makedirs {} (mode {mode:o})", path.display()),
            Cmd::Copy { src, dst, filters } => {
                format!("copy {} -> {}{}", src.display(), dst.display(), f(filters))
            }
            Cmd::Remove { path, filters } => format!("remove {}{}", path.display(), f(filters)),
            Cmd::Rename { src, dst } => format!("rename {} -> {}", src.display(), dst.display()),
            Cmd::Touch { path } => format!("touch {}", path.display()),
            Cmd::Compress {
                src,
                archive,
                filters,
            } => format!(
                "compress {} -> {}{}",
                src.display(),
                archive.display(),
                f(filters)
            ),
            Cmd::Uncompress { archive, dst } => {
                format!("uncompress {} -> {}", archive.display(), dst.display())
            }
            Cmd::SupportPlat {
                platforms,
                manifest,
            } => format!(
                "support_plat {} -> {}",
                platforms_yaml_flow(platforms),
                manifest.display()
            ),
            Cmd::AddDate { manifest } => format!("add_date -> {}", manifest.display()),
            Cmd::Run { program, args } => format!("run {program} {}", args.join(" ")),
        }
    }
}

/// A step of the pipeline: where it was written and what it does.
#[derive(Debug, Clone)]
struct Step {
    line: usize,
    text: String,
    cmd: Cmd,
}

#[derive(Debug, Clone)]
struct Plan {
    label: String,
    vars: Vec<(String, String)>,
    steps: Vec<Step>,
}

const SYSTEMS: &[&str] = &[
    "windows", "linux", "macos", "aix", "freebsd", "openbsd", "netbsd", "solaris", "illumos",
    "android", "unknown",
];

fn is_label(key: &str) -> bool {
    match key.rsplit_once('-') {
        Some((sys, bits)) => SYSTEMS.contains(&sys) && matches!(bits, "32" | "64"),
        None => false,
    }
}

fn is_ident(s: &str) -> bool {
    let mut chars = s.chars();
    matches!(chars.next(), Some(c) if c.is_ascii_alphabetic() || c == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_')
}

/// Parse, resolve and check the whole file for `settings.label`; every problem is reported.
fn build_plan(text: &str, settings: &Settings) -> Result<Plan, Vec<Diag>> {
    let root = match parse_yaml(text) {
        Ok(Some(node)) => node,
        Ok(None) => return Err(vec![Diag::new(1, "the file is empty")]),
        Err(d) => return Err(vec![d]),
    };
    let Node::Map(entries, _) = root else {
        return Err(vec![Diag::new(
            root.line(),
            format!(
                "expected a mapping of platform labels, found {}",
                root.kind()
            ),
        )]);
    };
    let mut diags = Vec::new();
    let mut project_name = None;
    let mut project_version = None;
    let mut file_vars: Vec<(String, String, usize)> = Vec::new();
    let mut pipelines: BTreeMap<String, (usize, Vec<(String, usize)>)> = BTreeMap::new();
    let mut seen: BTreeMap<String, usize> = BTreeMap::new();

    for (key, line, value) in entries {
        if let Some(first) = seen.insert(key.clone(), line) {
            diags.push(Diag::new(
                line,
                format!("`{key}` is defined twice (first on line {first})"),
            ));
            continue;
        }
        match key.as_str() {
            "project" => match value {
                Node::Map(items, _) => {
                    for (k, l, v) in items {
                        match (k.as_str(), v) {
                            ("name", Node::Scalar(s, _)) => project_name = Some(s),
                            ("version", Node::Scalar(s, _)) => project_version = Some(s),
                            ("name" | "version", other) => diags.push(Diag::new(
                                l,
                                format!("project.{k} must be text, found {}", other.kind()),
                            )),
                            _ => diags.push(Diag::new(
                                l,
                                format!("unknown key `project.{k}` (expected name, version)"),
                            )),
                        }
                    }
                }
                other => diags.push(Diag::new(
                    other.line(),
                    format!(
                        "`project` must be a mapping (name, version), found {}",
                        other.kind()
                    ),
                )),
            },
            "vars" => match value {
                Node::Map(items, _) => {
                    for (k, l, v) in items {
                        if !is_ident(&k) {
                            diags.push(Diag::new(l, format!("`{k}` is not a valid variable name")));
                        }
                        match v {
                            Node::Scalar(s, _) => file_vars.push((k, s, l)),
                            other => diags.push(Diag::new(
                                l,
                                format!("variable `{k}` must be text, found {}", other.kind()),
                            )),
                        }
                    }
                }
                other => diags.push(Diag::new(
                    other.line(),
                    format!("`vars` must be a mapping, found {}", other.kind()),
                )),
            },
            k if k == "all" || is_label(k) => {
                let steps_node = match value {
                    Node::Map(items, l) => {
                        let mut steps = None;
                        for (sk, sl, sv) in items {
                            if sk == "steps" {
                                steps = Some(sv);
                            } else {
                                diags.push(Diag::new(
                                    sl,
                                    format!("unknown key `{key}.{sk}` (expected steps)"),
                                ));
                            }
                        }
                        match steps {
                            Some(s) => s,
                            None => {
                                diags.push(Diag::new(l, format!("`{key}` has no `steps` list")));
                                continue;
                            }
                        }
                    }
                    seq @ Node::Seq(..) => seq,
                    other => {
                        diags.push(Diag::new(
                            other.line(),
                            format!("`{key}` must hold a `steps` list, found {}", other.kind()),
                        ));
                        continue;
                    }
                };
                let Node::Seq(items, _) = steps_node else {
                    diags.push(Diag::new(
                        steps_node.line(),
                        format!("`{key}.steps` must be a list, found {}", steps_node.kind()),
                    ));
                    continue;
                };
                let mut steps = Vec::new();
                for item in items {
                    match item {
                        Node::Scalar(s, l) => steps.push((s, l)),
                        other => diags.push(Diag::new(
                            other.line(),
                            format!("a step must be one line of text, found {}", other.kind()),
                        )),
                    }
                }
                pipelines.insert(key, (line, steps));
            }
            _ => diags.push(Diag::new(
                line,
                format!(
                    "unknown top-level key `{key}`: expected project, vars, all or a platform \
                     label such as linux-64, windows-32, aix-64"
                ),
            )),
        }
    }

    // Variables: built-ins, then the file's in order, then --var; each may use the earlier ones.
    let project_name = project_name.unwrap_or_else(|| "project".to_string());
    let project_version = project_version.unwrap_or_else(|| "0.0.0".to_string());
    let mut vars: Vec<(String, String)> = vec![
        ("label".into(), settings.label.clone()),
        ("project_name".into(), project_name),
        ("project_version".into(), project_version),
        ("date".into(), settings.date.clone()),
        ("s".into(), settings.base.display().to_string()),
        ("out".into(), settings.out.display().to_string()),
        ("t".into(), "{out}/{project_name}-{label}".into()),
    ];
    let set = |vars: &mut Vec<(String, String)>, k: &str, v: String| {
        if let Some(slot) = vars.iter_mut().find(|(name, _)| name == k) {
            slot.1 = v;
        } else {
            vars.push((k.to_string(), v));
        }
    };
    for (k, v) in &settings.overrides {
        if k == "project_name" || k == "project_version" || k == "label" {
            set(&mut vars, k, v.clone());
        }
    }
    let mut var_lines: BTreeMap<String, usize> = BTreeMap::new();
    for (k, v, l) in file_vars {
        set(&mut vars, &k, v);
        var_lines.insert(k, l);
    }
    for (k, v) in &settings.overrides {
        set(&mut vars, k, v.clone());
        var_lines.remove(k);
    }
    // Resolve in order; a variable may refer to any other (cycles are reported).
    let mut resolved: BTreeMap<String, String> = BTreeMap::new();
    for (k, _) in &vars {
        let mut chain = Vec::new();
        match resolve_var(k, &vars, &mut chain) {
            Ok(v) => {
                resolved.insert(k.clone(), v);
            }
            Err(msg) => diags.push(Diag::new(var_lines.get(k).copied().unwrap_or(1), msg)),
        }
    }
    // `s`, `t` and `out` are paths: make them absolute from the file's folder.
    for key in ["s", "t", "out"] {
        if let Some(v) = resolved.get_mut(key) {
            *v = absolutize(&settings.base, v).display().to_string();
        }
    }

    if !pipelines.contains_key(&settings.label) && !pipelines.contains_key("all") {
        let known: Vec<&str> = pipelines.keys().map(String::as_str).collect();
        diags.push(Diag::new(
            1,
            format!(
                "no pipeline for `{}` (this file has: {})",
                settings.label,
                if known.is_empty() {
                    "none".to_string()
                } else {
                    known.join(", ")
                }
            ),
        ));
    }

    // Check every label's pipeline (`all` + its own steps), not only the selected one: a typo
    // in windows-64 is found on Linux. Only the selected label's steps are kept.
    let no_steps = Vec::new();
    let all_steps = pipelines.get("all").map_or(&no_steps, |(_, s)| s);
    let mut labels: Vec<&String> = pipelines.keys().filter(|k| *k != "all").collect();
    if !labels.contains(&&settings.label) {
        labels.push(&settings.label);
    }
    let mut seen_diags = std::collections::BTreeSet::new();
    let mut steps = Vec::new();
    for label in labels {
        let mut label_vars = resolved.clone();
        label_vars.insert("label".into(), label.clone());
        if !settings.overrides.iter().any(|(k, _)| k == "t") && !var_lines.contains_key("t") {
            // the default staging folder follows the label being checked
            let t = format!(
                "{}/{}-{}",
                resolved.get("out").cloned().unwrap_or_default(),
                resolved.get("project_name").cloned().unwrap_or_default(),
                label
            );
            label_vars.insert("t".into(), t);
        }
        let own = pipelines.get(label).map_or(&no_steps, |(_, s)| s);
        let tagged = all_steps
            .iter()
            .map(|s| ("all", s))
            .chain(own.iter().map(|s| (label.as_str(), s)));
        for (tag, (text, line)) in tagged {
            match parse_step(text, &label_vars, &settings.base) {
                Ok(cmd) => {
                    if *label == settings.label {
                        steps.push(Step {
                            line: *line,
                            text: text.clone(),
                            cmd,
                        });
                    }
                }
                Err(msg) => {
                    if seen_diags.insert((*line, msg.clone())) {
                        diags.push(Diag::new(*line, format!("{tag}: {msg}")));
                    }
                }
            }
        }
    }
    if !diags.is_empty() {
        diags.sort_by_key(|d| d.line);
        return Err(diags);
    }
    Ok(Plan {
        label: settings.label.clone(),
        vars: vars
            .iter()
            .map(|(k, _)| (k.clone(), resolved.get(k).cloned().unwrap_or_default()))
            .collect(),
        steps,
    })
}

fn resolve_var(
    name: &str,
    vars: &[(String, String)],
    chain: &mut Vec<String>,
) -> Result<String, String> {
    if chain.iter().any(|c| c == name) {
        chain.push(name.to_string());
        return Err(format!(
            "variables refer to each other: {}",
            chain.join(" -> ")
        ));
    }
    let Some((_, raw)) = vars.iter().find(|(k, _)| k == name) else {
        return Err(format!("undefined variable `{{{name}}}`"));
    };
    chain.push(name.to_string());
    let mut err = None;
    let out = substitute(raw, &mut |inner| match resolve_var(inner, vars, chain) {
        Ok(v) => Some(v),
        Err(e) => {
            err.get_or_insert(e);
            Some(String::new())
        }
    })
    .map_err(|e| format!("in variable `{name}`: {e}"))?;
    chain.pop();
    match err {
        Some(e) => Err(e),
        None => Ok(out),
    }
}

/// Replace `{name}` with its value; `{{`/`}}` are literal braces; brace groups that are not a
/// plain name (such as `{'Linux':[64]}`) are kept as written.
fn substitute(
    text: &str,
    lookup: &mut dyn FnMut(&str) -> Option<String>,
) -> Result<String, String> {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(pos) = rest.find(['{', '}']) {
        out.push_str(&rest[..pos]);
        let tail = &rest[pos..];
        if let Some(after) = tail.strip_prefix("{{") {
            out.push('{');
            rest = after;
        } else if let Some(after) = tail.strip_prefix("}}") {
            out.push('}');
            rest = after;
        } else if let Some(after) = tail.strip_prefix('{') {
            match after.find('}') {
                Some(end) if is_ident(&after[..end]) => {
                    let name = &after[..end];
                    match lookup(name) {
                        Some(v) => out.push_str(&v),
                        None => return Err(format!("undefined variable `{{{name}}}`")),
                    }
                    rest = &after[end + 1..];
                }
                _ => {
                    out.push('{');
                    rest = after;
                }
            }
        } else {
            out.push('}');
            rest = &tail[1..];
        }
    }
    out.push_str(rest);
    Ok(out)
}

/// Split a step into words; a brace, bracket or quoted group is one word.
fn tokenize(text: &str) -> Result<Vec<String>, String> {
    let mut words = Vec::new();
    let mut cur = String::new();
    let mut depth: Vec<char> = Vec::new();
    let mut quote: Option<char> = None;
    for c in text.chars() {
        if let Some(q) = quote {
            if c == q {
                quote = None;
                if !depth.is_empty() {
                    cur.push(c);
                }
            } else {
                cur.push(c);
            }
            continue;
        }
        match c {
            '\'' | '"' => {
                quote = Some(c);
                if !depth.is_empty() {
                    cur.push(c);
                }
            }
            '{' | '[' => {
                depth.push(if c == '{' { '}' } else { ']' });
                cur.push(c);
            }
            '}' | ']' => {
                if depth.last() == Some(&c) {
                    depth.pop();
                }
                cur.push(c);
            }
            c if c.is_whitespace() && depth.is_empty() => {
                if !cur.is_empty() {
                    words.push(std::mem::take(&mut cur));
                }
            }
            c => cur.push(c),
        }
    }
    if let Some(q) = quote {
        return Err(format!("unterminated quote {q}"));
    }
    if let Some(close) = depth.last() {
        return Err(format!("unbalanced brackets: missing `{close}`"));
    }
    if !cur.is_empty() {
        words.push(cur);
    }
    Ok(words)
}

fn absolutize(base: &Path, p: &str) -> PathBuf {
    let path = PathBuf::from(p);
    if path.is_absolute() {
        path
    } else {
        base.join(path)
    }
}

/// Parse one step's words into a checked command with variables substituted.
fn parse_step(text: &str, vars: &BTreeMap<String, String>, base: &Path) -> Result<Cmd, String> {
    let raw_words = tokenize(text)?;
    let mut words = Vec::with_capacity(raw_words.len());
    for w in &raw_words {
        words.push(substitute(w, &mut |name| vars.get(name).cloned())?);
    }
    let Some((cmd, args)) = words.split_first() else {
        return Err("empty step".into());
    };
    let path = |s: &String| absolutize(base, s);
    let arity = |min: usize, max: usize, usage: &str| -> Result<(), String> {
        if args.len() < min || args.len() > max {
            Err(format!(
                "`{cmd}` takes {usage} (given: {})",
                if args.is_empty() {
                    "nothing".to_string()
                } else {
                    args.join(" ")
                }
            ))
        } else {
            Ok(())
        }
    };
    let filters_from = |rest: &[String]| -> Result<Filters, String> {
        let mut f = Filters::default();
        let mut mode: Option<&str> = None;
        for w in rest {
            match w.as_str() {
                "exclude" | "filter" | "exclude_files" | "exclude_dirs" | "filter_files"
                | "filter_dirs" => mode = Some(w.as_str()),
                glob => {
                    if let Err(e) = globset::Glob::new(glob) {
                        return Err(format!("bad glob `{glob}`: {e}"));
                    }
                    match mode {
                        Some("exclude") => {
                            f.exclude_files.push(glob.into());
                            f.exclude_dirs.push(glob.into());
                        }
                        Some("filter") | Some("filter_files") => f.filter_files.push(glob.into()),
                        Some("exclude_files") => f.exclude_files.push(glob.into()),
                        Some("exclude_dirs") => f.exclude_dirs.push(glob.into()),
                        Some("filter_dirs") => f.filter_dirs.push(glob.into()),
                        _ => {
                            return Err(format!(
                                "unexpected `{glob}`: patterns follow `exclude` or `filter` \
                                 (or exclude_files, exclude_dirs, filter_files, filter_dirs)"
                            ));
                        }
                    }
                }
            }
        }
        if let Some(m) = mode
            && f.is_empty()
        {
            return Err(format!("`{m}` is not followed by any pattern"));
        }
        Ok(f)
    };
    Ok(match cmd.as_str() {
        "makedirs" => {
            arity(1, 2, "a path and an optional octal mode")?;
            let mode = match args.get(1) {
                Some(m) => u32::from_str_radix(m.trim_start_matches("0o"), 8)
                    .ok()
                    .filter(|m| *m <= 0o7777)
                    .ok_or_else(|| format!("`{m}` is not an octal mode such as 750"))?,
                None => 0o755,
            };
            Cmd::Makedirs {
                path: path(&args[0]),
                mode,
            }
        }
        "copy" => {
            if args.len() < 2 {
                arity(2, usize::MAX, "SRC DST [exclude G...] [filter G...]")?;
            }
            Cmd::Copy {
                src: path(&args[0]),
                dst: path(&args[1]),
                filters: filters_from(&args[2..])?,
            }
        }
        "remove" => {
            if args.is_empty() {
                arity(1, usize::MAX, "PATH [exclude G...] [filter G...]")?;
            }
            Cmd::Remove {
                path: path(&args[0]),
                filters: filters_from(&args[1..])?,
            }
        }
        "rename" => {
            arity(2, 2, "SRC DST")?;
            Cmd::Rename {
                src: path(&args[0]),
                dst: path(&args[1]),
            }
        }
        "touch" => {
            arity(1, 1, "one path")?;
            Cmd::Touch {
                path: path(&args[0]),
            }
        }
        "compress" => {
            if args.len() < 2 {
                arity(2, usize::MAX, "SRC ARCHIVE [exclude G...] [filter G...]")?;
            }
            let name = &args[1];
            if archive_format(name).is_none() {
                return Err(format!(
                    "cannot tell the format of `{name}`: end it with .tar.gz, .tgz, .tar or .zip"
                ));
            }
            let archive = if Path::new(name).components().count() == 1 {
                PathBuf::from(vars.get("out").cloned().unwrap_or_default()).join(name)
            } else {
                path(name)
            };
            Cmd::Compress {
                src: path(&args[0]),
                archive,
                filters: filters_from(&args[2..])?,
            }
        }
        "uncompress" => {
            arity(2, 2, "ARCHIVE DST")?;
            Cmd::Uncompress {
                archive: path(&args[0]),
                dst: path(&args[1]),
            }
        }
        "support_plat" => {
            arity(
                2,
                2,
                "a platform dict such as {'Linux':[64]} and a manifest path",
            )?;
            Cmd::SupportPlat {
                platforms: parse_platform_dict(&args[0])?,
                manifest: path(&args[1]),
            }
        }
        "add_date" => {
            arity(1, 1, "a manifest path")?;
            Cmd::AddDate {
                manifest: path(&args[0]),
            }
        }
        "run" => {
            if args.is_empty() {
                arity(1, usize::MAX, "a program and its arguments")?;
            }
            Cmd::Run {
                program: args[0].clone(),
                args: args[1..].to_vec(),
            }
        }
        other => {
            return Err(format!(
                "unknown command `{other}` (expected makedirs, copy, remove, rename, touch, \
                 compress, uncompress, support_plat, add_date, run)"
            ));
        }
    })
}

/// The archive format from its name.
fn archive_format(name: &str) -> Option<nfs::ArchiveFormat> {
    let lower = name.to_ascii_lowercase();
    if lower.ends_with(".tar.gz") || lower.ends_with(".tgz") {
        Some(nfs::ArchiveFormat::TarGz)
    } else if lower.ends_with(".tar") {
        Some(nfs::ArchiveFormat::Tar)
    } else if lower.ends_with(".zip") {
        Some(nfs::ArchiveFormat::Zip)
    } else {
        None
    }
}

/// `{'Linux':[64], "Windows": [32, 64]}` (the talk's Python-dict spelling).
fn parse_platform_dict(text: &str) -> Result<Vec<(String, Vec<u32>)>, String> {
    let bad = |why: &str| format!("bad platform list `{text}`: {why}");
    let inner = text
        .trim()
        .strip_prefix('{')
        .and_then(|t| t.strip_suffix('}'))
        .ok_or_else(|| bad("expected {'System':[bits,...], ...}"))?;
    let mut out = Vec::new();
    let mut rest = inner.trim();
    while !rest.is_empty() {
        let (name, after) = match rest.chars().next() {
            Some(q @ ('\'' | '"')) => {
                let end = rest[1..].find(q).ok_or_else(|| bad("unterminated quote"))?;
                (&rest[1..1 + end], rest[end + 2..].trim_start())
            }
            _ => {
                let end = rest.find(':').ok_or_else(|| bad("expected `:`"))?;
                (rest[..end].trim(), &rest[end..])
            }
        };
        let after = after
            .strip_prefix(':')
            .ok_or_else(|| bad("expected `:` after a system name"))?
            .trim_start();
        let after = after
            .strip_prefix('[')
            .ok_or_else(|| bad("expected a [bits] list"))?;
        let end = after.find(']').ok_or_else(|| bad("missing `]`"))?;
        let mut bits = Vec::new();
        for b in after[..end]
            .split(',')
            .map(str::trim)
            .filter(|b| !b.is_empty())
        {
            match b {
                "32" => bits.push(32),
                "64" => bits.push(64),
                _ => return Err(bad(&format!("`{b}` is not 32 or 64"))),
            }
        }
        let canonical = SYSTEM_NAMES
            .iter()
            .find(|n| n.eq_ignore_ascii_case(name))
            .ok_or_else(|| {
                bad(&format!(
                    "unknown system `{name}` (expected one of {})",
                    SYSTEM_NAMES.join(", ")
                ))
            })?;
        out.push((canonical.to_string(), bits));
        rest = after[end + 1..].trim_start();
        rest = rest.strip_prefix(',').unwrap_or(rest).trim_start();
    }
    if out.is_empty() {
        return Err(bad("no platform"));
    }
    Ok(out)
}

/// Systems as `pf::System` displays them.
const SYSTEM_NAMES: &[&str] = &[
    "Windows", "Linux", "macOS", "AIX", "FreeBSD", "OpenBSD", "NetBSD", "Solaris", "illumos",
    "Android",
];

fn platforms_yaml_flow(platforms: &[(String, Vec<u32>)]) -> String {
    let items: Vec<String> = platforms
        .iter()
        .map(|(name, bits)| {
            let b: Vec<String> = bits.iter().map(u32::to_string).collect();
            format!("{name}: [{}]", b.join(", "))
        })
        .collect();
    format!("{{{}}}", items.join(", "))
}

/// Set a top-level key of a simple YAML manifest, replacing its old block if there is one.
fn upsert_yaml_key(text: &str, key: &str, block: &str) -> String {
    let mut out = String::new();
    let mut skipping = false;
    for line in text.lines() {
        let top_level = !line.starts_with([' ', '\t']) && !line.trim().is_empty();
        if top_level {
            skipping = line
                .strip_prefix(key)
                .is_some_and(|r| r.trim_start().starts_with(':'));
        }
        if !skipping {
            out.push_str(line);
            out.push('\n');
        }
    }
    out.push_str(block);
    if !block.ends_with('\n') {
        out.push('\n');
    }
    out
}

fn write_manifest_key(manifest: &Path, key: &str, block: &str) -> Result<(), String> {
    let old = match std::fs::read_to_string(manifest) {
        Ok(t) => t,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => String::new(),
        Err(e) => return Err(format!("cannot read {}: {e}", manifest.display())),
    };
    let new = upsert_yaml_key(&old, key, block);
    if let Some(parent) = manifest.parent() {
        nfs::makedirs(parent, 0o755).map_err(|e| e.to_string())?;
    }
    std::fs::write(manifest, new).map_err(|e| format!("cannot write {}: {e}", manifest.display()))
}

fn today() -> String {
    humantime::format_rfc3339_seconds(std::time::SystemTime::now()).to_string()
}

// ---------------------------------------------------------------------------------------------
// Showing and running the plan

impl Plan {
    fn render(&self, file: &str) -> String {
        let mut s = format!("pipeline for {} ({} steps)\n", self.label, self.steps.len());
        s.push_str("variables:\n");
        for (k, v) in &self.vars {
            let _ = writeln!(s, "  {{{k}}} = {v}");
        }
        s.push_str("steps:\n");
        for (i, step) in self.steps.iter().enumerate() {
            let _ = writeln!(
                s,
                "  {:>2}. {file}:{:<3} {}",
                i + 1,
                step.line,
                step.cmd.describe()
            );
        }
        s
    }

    fn to_dot(&self) -> String {
        let esc = |s: &str| s.replace('\\', "\\\\").replace('"', "\\\"");
        let mut s = format!(
            "digraph build {{\n  rankdir=TB;\n  label=\"{}\";\n  node [shape=box, fontname=\"monospace\"];\n",
            esc(&self.label)
        );
        for (i, step) in self.steps.iter().enumerate() {
            let _ = writeln!(
                s,
                "  step{i} [label=\"{}. line {}\\n{}\"];",
                i + 1,
                step.line,
                esc(&step.cmd.describe())
            );
            if i > 0 {
                let _ = writeln!(s, "  step{} -> step{i};", i - 1);
            }
            if let Cmd::Compress { archive, .. } = &step.cmd {
                let _ = writeln!(
                    s,
                    "  artifact{i} [shape=note, label=\"{}\"];\n  step{i} -> artifact{i} [style=dashed];",
                    esc(&archive.display().to_string())
                );
            }
        }
        s.push_str("}\n");
        s
    }
}

fn execute_plan(plan: &Plan, file: &str) -> Result<(), String> {
    let total = plan.steps.len();
    let started = Instant::now();
    println!("building {} ({total} steps)", plan.label);
    for (i, step) in plan.steps.iter().enumerate() {
        let t0 = Instant::now();
        let result = execute(&step.cmd);
        let ms = t0.elapsed().as_secs_f64() * 1e3;
        match result {
            Ok(detail) => println!(
                "[{}/{total}] {:<12} ok   {ms:>8.1} ms  {detail}",
                i + 1,
                step.cmd.name()
            ),
            Err(reason) => {
                println!(
                    "[{}/{total}] {:<12} FAIL {ms:>8.1} ms",
                    i + 1,
                    step.cmd.name()
                );
                return Err(format!(
                    "error: {file}:{}: step `{}` failed: {reason}",
                    step.line, step.text
                ));
            }
        }
    }
    println!(
        "done: {total} steps in {:.1} ms",
        started.elapsed().as_secs_f64() * 1e3
    );
    Ok(())
}

fn nfs_filters(f: &Filters) -> nfs::Filters {
    nfs::Filters::new()
        .filter_files(f.filter_files.iter().cloned())
        .filter_dirs(f.filter_dirs.iter().cloned())
        .exclude_files(f.exclude_files.iter().cloned())
        .exclude_dirs(f.exclude_dirs.iter().cloned())
}

/// Run one command; the text says what it did.
fn execute(cmd: &Cmd) -> Result<String, String> {
    let e = |err: nfs::Error| err.to_string();
    match cmd {
        Cmd::Makedirs { path, mode } => {
            nfs::makedirs(path, *mode).map_err(e)?;
            Ok(path.display().to_string())
        }
        Cmd::Copy { src, dst, filters } => {
            let opts = nfs::CopyOptions::new().filters(nfs_filters(filters));
            let r = nfs::copy_with(src, dst, &opts).map_err(e)?;
            Ok(format!("{} files, {} bytes", r.files, r.bytes))
        }
        Cmd::Remove { path, filters } => {
            let opts = nfs::RemoveOptions::new().filters(nfs_filters(filters));
            let r = nfs::remove_with(path, &opts).map_err(e)?;
            Ok(format!("{} files, {} dirs", r.files, r.dirs))
        }
        Cmd::Rename { src, dst } => {
            nfs::rename(src, dst).map_err(e)?;
            Ok(format!("-> {}", dst.display()))
        }
        Cmd::Touch { path } => {
            nfs::touch(path).map_err(e)?;
            Ok(path.display().to_string())
        }
        Cmd::Compress {
            src,
            archive,
            filters,
        } => {
            let name = archive
                .file_name()
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or_default();
            let format = archive_format(&name).ok_or("unknown archive format")?;
            let dir = archive.parent().unwrap_or(Path::new("."));
            let stem = strip_archive_ext(&name);
            let opts = nfs::CompressOptions::new()
                .name(stem)
                .format(format)
                .filters(nfs_filters(filters));
            let out = nfs::compress(src, dir, &opts).map_err(e)?;
            let size = std::fs::metadata(&out).map(|m| m.len()).unwrap_or(0);
            Ok(format!("{} ({size} bytes)", out.display()))
        }
        Cmd::Uncompress { archive, dst } => {
            let r = nfs::uncompress(archive, dst, &nfs::UncompressOptions::new()).map_err(e)?;
            Ok(format!("{} files into {}", r.files, dst.display()))
        }
        Cmd::SupportPlat {
            platforms,
            manifest,
        } => {
            let mut block = String::from("support_plat:\n");
            for (name, bits) in platforms {
                let b: Vec<String> = bits.iter().map(u32::to_string).collect();
                let _ = writeln!(block, "  {name}: [{}]", b.join(", "));
            }
            write_manifest_key(manifest, "support_plat", &block)?;
            Ok(format!(
                "{} in {}",
                platforms_yaml_flow(platforms),
                manifest.display()
            ))
        }
        Cmd::AddDate { manifest } => {
            let date = today();
            write_manifest_key(manifest, "build_date", &format!("build_date: {date}\n"))?;
            Ok(format!("{date} in {}", manifest.display()))
        }
        Cmd::Run { program, args } => {
            let status = std::process::Command::new(program)
                .args(args)
                .status()
                .map_err(|err| format!("cannot run {program}: {err}"))?;
            if status.success() {
                Ok(format!("{program} exited 0"))
            } else {
                Err(format!("{program} {status}"))
            }
        }
    }
}

fn strip_archive_ext(name: &str) -> String {
    let lower = name.to_ascii_lowercase();
    for ext in [".tar.gz", ".tgz", ".tar", ".zip"] {
        if lower.ends_with(ext) {
            return name[..name.len() - ext.len()].to_string();
        }
    }
    name.to_string()
}

// ---------------------------------------------------------------------------------------------

#[cfg(test)]
mod tests {
    use super::*;

    fn settings(label: &str) -> Settings {
        Settings {
            label: label.into(),
            base: PathBuf::from("/src/proj"),
            out: PathBuf::from("/out"),
            overrides: Vec::new(),
            date: "2026-11-24T00:00:00Z".into(),
        }
    }

    const EXAMPLE: &str = include_str!("build.yml");

    #[test]
    fn the_shipped_example_resolves_for_every_label() {
        for label in ["linux-64", "windows-64", "aix-64", "macos-64"] {
            let plan =
                build_plan(EXAMPLE, &settings(label)).unwrap_or_else(|d| panic!("{label}: {d:?}"));
            assert!(!plan.steps.is_empty(), "{label}");
        }
    }

    #[test]
    fn talk_pipeline_resolves_variables_and_filters() {
        let text = "project: {name: ant, version: 1.2}\n\
                    vars:\n  s: /a/src\n\
                    linux-64:\n  steps:\n\
                    \x20   - makedirs {t}\n\
                    \x20   - copy {s}/bin {t}/bin exclude .* *.pyc\n\
                    \x20   - support_plat {'Linux':[64]} {t}/manifest.yaml\n\
                    \x20   - compress {t} {project_name}-linux-64-{project_version}.tar.gz\n\
                    \x20   - remove {t}\n";
        let plan = build_plan(text, &settings("linux-64")).expect("valid");
        assert_eq!(plan.steps.len(), 5);
        assert_eq!(plan.steps[1].line, 7);
        match &plan.steps[1].cmd {
            Cmd::Copy { src, dst, filters } => {
                assert_eq!(src, Path::new("/a/src/bin"));
                assert_eq!(dst, Path::new("/out/ant-linux-64/bin"));
                assert_eq!(filters.exclude_files, vec![".*", "*.pyc"]);
                assert_eq!(filters.exclude_dirs, vec![".*", "*.pyc"]);
            }
            other => panic!("{other:?}"),
        }
        match &plan.steps[2].cmd {
            Cmd::SupportPlat { platforms, .. } => {
                assert_eq!(platforms, &vec![("Linux".to_string(), vec![64])])
            }
            other => panic!("{other:?}"),
        }
        match &plan.steps[3].cmd {
            Cmd::Compress { archive, .. } => {
                assert_eq!(archive, Path::new("/out/ant-linux-64-1.2.tar.gz"))
            }
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn all_steps_come_first_and_other_labels_are_not_run() {
        let text = "linux-64:\n  steps: [touch /x/l]\nall:\n  steps: [touch /x/a]\nwindows-64:\n  steps: [touch /x/w]\n";
        let plan = build_plan(text, &settings("linux-64")).expect("valid");
        let texts: Vec<&str> = plan.steps.iter().map(|s| s.text.as_str()).collect();
        assert_eq!(texts, ["touch /x/a", "touch /x/l"]);
    }

    #[test]
    fn every_problem_is_reported_with_its_line() {
        let text = "linux-64:\n  steps:\n    - makedirs {t}\n    - frobnicate x\n    - copy {nope}/a {t}\n    - rename onlyone\nwindows-64:\n  steps:\n    - compress {t} pkg.rar\nbogus: 1\n";
        let diags = build_plan(text, &settings("linux-64")).expect_err("invalid");
        let lines: Vec<usize> = diags.iter().map(|d| d.line).collect();
        assert_eq!(lines, [4, 5, 6, 9, 10], "{diags:?}");
        assert!(diags[0].message.contains("unknown command `frobnicate`"));
        assert!(diags[1].message.contains("undefined variable `{nope}`"));
        assert!(diags[2].message.contains("`rename` takes SRC DST"));
        assert!(diags[3].message.contains("pkg.rar"));
        assert!(diags[4].message.contains("unknown top-level key `bogus`"));
    }

    #[test]
    fn malformed_yaml_is_reported_with_a_line() {
        let text = "linux-64:\n  steps:\n    - makedirs {t}\n   - bad indent: [\n";
        let diags = build_plan(text, &settings("linux-64")).expect_err("invalid");
        assert_eq!(diags.len(), 1);
        assert!(diags[0].line >= 3, "{diags:?}");
    }

    #[test]
    fn missing_label_is_an_error() {
        let diags = build_plan("aix-64:\n  steps: [touch /a]\n", &settings("linux-64"))
            .expect_err("no pipeline");
        assert!(diags[0].message.contains("no pipeline for `linux-64`"));
    }

    #[test]
    fn variables_chain_override_and_cycles() {
        let mut s = settings("linux-64");
        s.overrides.push(("version2".into(), "9".into()));
        let text =
            "vars:\n  a: x{b}\n  b: y\n  version2: 1\nlinux-64:\n  - touch /t/{a}-{version2}\n";
        let plan = build_plan(text, &s).expect("valid");
        match &plan.steps[0].cmd {
            Cmd::Touch { path } => assert_eq!(path, Path::new("/t/xy-9")),
            other => panic!("{other:?}"),
        }
        let cyc = "vars:\n  a: '{b}'\n  b: '{a}'\nlinux-64:\n  - touch /t\n";
        let diags = build_plan(cyc, &settings("linux-64")).expect_err("cycle");
        assert!(
            diags
                .iter()
                .any(|d| d.message.contains("refer to each other"))
        );
    }

    #[test]
    fn substitute_keeps_non_variable_braces() {
        let mut look = |n: &str| (n == "t").then(|| "T".to_string());
        assert_eq!(
            substitute("{t}/{'Linux':[64]}/{{t}}", &mut look).unwrap(),
            "T/{'Linux':[64]}/{t}"
        );
        assert!(substitute("{missing}", &mut look).is_err());
    }

    #[test]
    fn tokenize_groups_brackets_and_quotes() {
        assert_eq!(
            tokenize("support_plat {'Linux': [64], 'Windows': [32, 64]} m.yaml").unwrap(),
            vec![
                "support_plat",
                "{'Linux': [64], 'Windows': [32, 64]}",
                "m.yaml"
            ]
        );
        assert_eq!(
            tokenize("run echo 'a b' \"c\"").unwrap(),
            vec!["run", "echo", "a b", "c"]
        );
        assert!(tokenize("run 'open").is_err());
        assert!(tokenize("support_plat {'Linux':[64] m").is_err());
    }

    #[test]
    fn platform_dicts() {
        assert_eq!(
            parse_platform_dict("{'linux':[64], \"Windows\": [32, 64]}").unwrap(),
            vec![
                ("Linux".to_string(), vec![64]),
                ("Windows".to_string(), vec![32, 64])
            ]
        );
        assert!(parse_platform_dict("{'Linux':[16]}").is_err());
        assert!(parse_platform_dict("{'Plan9':[64]}").is_err());
        assert!(parse_platform_dict("Linux").is_err());
    }

    #[test]
    fn manifest_upsert_replaces_the_old_block() {
        let old = "name: x\nsupport_plat:\n  Linux: [32]\nbuild_date: old\n";
        let new = upsert_yaml_key(old, "support_plat", "support_plat:\n  Linux: [64]\n");
        assert_eq!(
            new,
            "name: x\nbuild_date: old\nsupport_plat:\n  Linux: [64]\n"
        );
        assert_eq!(upsert_yaml_key("", "k", "k: v"), "k: v\n");
    }

    #[test]
    fn labels() {
        assert!(is_label("linux-64") && is_label("windows-32") && is_label("aix-64"));
        assert!(!is_label("linux") && !is_label("linux-16") && !is_label("plan9-64"));
    }

    #[test]
    fn dot_graph_has_every_step_and_the_artifact() {
        let plan = build_plan(EXAMPLE, &settings("linux-64")).expect("valid");
        let dot = plan.to_dot();
        assert!(dot.starts_with("digraph build {"));
        for i in 0..plan.steps.len() {
            assert!(dot.contains(&format!("step{i} [")), "{dot}");
        }
        assert!(dot.contains("artifact"));
    }
}
