//! Turning INI sections (from the main file and its includes) into a validated [`Config`].

use std::collections::{BTreeMap, HashSet};
use std::path::{Path, PathBuf};

use globset::{Glob, GlobMatcher};

use super::ini::{RawEntry, RawSection, parse_ini};
use super::subst::{SubstError, substitute};
use super::values::{
    parse_bool, parse_duration, parse_int, parse_max_retry, parse_rlimit, parse_size,
    parse_stream_class, parse_umask,
};
use super::{CircleSection, Config, RLIMIT_NAMES, Watcher};
use crate::error::{ConfigError, Error, Result};
use crate::signal::Signal;

/// How deep includes may nest.
const MAX_INCLUDE_DEPTH: usize = 16;

/// Keys of `[circle]`.
const CIRCLE_KEYS: &[&str] = &[
    "endpoint",
    "tcp_endpoint",
    "token",
    "pidfile",
    "logoutput",
    "loglevel",
    "warmup_delay",
    "include",
    "include_dir",
];

/// circus keys of `[circus]` that have no meaning in circle: accepted and ignored, so a
/// circus configuration loads after renaming nothing.
const CIRCUS_IGNORED_KEYS: &[&str] = &[
    "check_delay",
    "pubsub_endpoint",
    "stats_endpoint",
    "statsd",
    "statsd_close_outputs",
    "httpd",
    "httpd_host",
    "httpd_port",
    "httpd_close_outputs",
    "debug",
    "debug_gc",
    "multicast_endpoint",
    "endpoint_owner",
    "umask",
    "fqdn_prefix",
];

/// Keys of `[watcher:NAME]` (plus `rlimit_*`).
const WATCHER_KEYS: &[&str] = &[
    "cmd",
    "args",
    "numprocesses",
    "numprocess",
    "working_dir",
    "shell",
    "uid",
    "gid",
    "umask",
    "copy_env",
    "copy_path",
    "stop_signal",
    "graceful_timeout",
    "stop_children",
    "respawn",
    "max_retry",
    "warmup_delay",
    "autostart",
    "priority",
    "singleton",
    "min_uptime",
    "backoff_delay",
    "max_backoff",
    "stdout_stream.class",
    "stdout_stream.filename",
    "stdout_stream.max_bytes",
    "stdout_stream.backup_count",
    "stderr_stream.class",
    "stderr_stream.filename",
    "stderr_stream.max_bytes",
    "stderr_stream.backup_count",
];

/// circus watcher options circle does not implement: named as such rather than as typos.
const CIRCUS_UNSUPPORTED_KEYS: &[&str] = &[
    "use_sockets",
    "send_hup",
    "max_age",
    "max_age_variance",
    "on_demand",
    "virtualenv",
    "virtualenv_py_ver",
    "close_child_stdin",
    "close_child_stdout",
    "close_child_stderr",
    "use_papa",
    "hooks",
    "respawn_delay",
    "stdin_socket",
    "executable",
    "env",
];

/// This process's environment, as strings.
pub(crate) fn process_env() -> BTreeMap<String, String> {
    std::env::vars_os()
        .map(|(k, v)| {
            (
                k.to_string_lossy().into_owned(),
                v.to_string_lossy().into_owned(),
            )
        })
        .collect()
}

/// The closest known key, when it is close enough to be a likely typo.
pub(crate) fn closest<'a>(key: &str, known: impl IntoIterator<Item = &'a str>) -> Option<&'a str> {
    known
        .into_iter()
        .map(|k| (strsim::damerau_levenshtein(key, k), k))
        .filter(|&(d, k)| d <= (k.len().max(key.len()) / 3).max(2))
        .min_by_key(|&(d, _)| d)
        .map(|(_, k)| k)
}

fn unknown_key_message(key: &str, known: &[&str]) -> String {
    match closest(key, known.iter().copied()) {
        Some(k) => format!("unknown key (did you mean `{k}`?)"),
        None => "unknown key".to_string(),
    }
}

struct Loader<'a> {
    env: &'a BTreeMap<String, String>,
    sections: Vec<RawSection>,
    errors: Vec<ConfigError>,
    files: Vec<PathBuf>,
    loaded: HashSet<PathBuf>,
}

fn canonical(p: &Path) -> PathBuf {
    std::fs::canonicalize(p).unwrap_or_else(|_| p.to_path_buf())
}

fn is_circle_section(name: &str) -> bool {
    name.eq_ignore_ascii_case("circle") || name.eq_ignore_ascii_case("circus")
}

impl<'a> Loader<'a> {
    fn new(env: &'a BTreeMap<String, String>) -> Self {
        Loader {
            env,
            sections: Vec::new(),
            errors: Vec::new(),
            files: Vec::new(),
            loaded: HashSet::new(),
        }
    }

    fn lookup_env(&self, name: &str) -> Option<String> {
        lookup_in(&[self.env], name)
    }

    fn add_text(&mut self, text: &str, file: &Path, base: &Path, depth: usize) {
        let (sections, errors) = parse_ini(text, file);
        self.errors.extend(errors);
        let mut includes: Vec<(PathBuf, usize)> = Vec::new();
        for sec in sections.iter().filter(|s| is_circle_section(&s.name)) {
            for e in &sec.entries {
                let key = e.key.to_ascii_lowercase();
                if key != "include" && key != "include_dir" {
                    continue;
                }
                let value = match substitute(&e.value, false, &|n| self.lookup_env(n)) {
                    Ok(v) => v,
                    Err(err) => {
                        self.errors.push(entry_error(sec, e, err.to_string()));
                        continue;
                    }
                };
                for item in value.split_whitespace() {
                    let found = if key == "include" {
                        expand_include(item, base)
                    } else {
                        list_include_dir(item, base)
                    };
                    match found {
                        Ok(paths) => includes.extend(paths.into_iter().map(|p| (p, e.line))),
                        Err(msg) => self.errors.push(entry_error(sec, e, msg)),
                    }
                }
            }
        }
        self.sections.extend(sections);
        for (path, line) in includes {
            let canon = canonical(&path);
            if !self.loaded.insert(canon) {
                // Already read (e.g. matched by both `include` and `include_dir`): read once.
                continue;
            }
            if depth >= MAX_INCLUDE_DEPTH {
                self.errors.push(ConfigError::new(
                    file,
                    line,
                    format!("includes nest deeper than {MAX_INCLUDE_DEPTH} levels"),
                ));
                continue;
            }
            match std::fs::read_to_string(&path) {
                Ok(text) => {
                    self.files.push(path.clone());
                    let sub_base = path.parent().map(Path::to_path_buf).unwrap_or_default();
                    self.add_text(&text, &path, &sub_base, depth + 1);
                }
                Err(e) => self.errors.push(
                    ConfigError::new(
                        file,
                        line,
                        format!("cannot read included file {}: {e}", path.display()),
                    )
                    .key("include"),
                ),
            }
        }
    }

    fn finish(mut self, base: &Path) -> Result<Config> {
        let mut config = Config {
            files: std::mem::take(&mut self.files),
            ..Config::default()
        };
        let sections = std::mem::take(&mut self.sections);
        let mut env_sections: Vec<(&RawSection, Vec<GlobMatcher>)> = Vec::new();
        let mut watcher_sections: Vec<&RawSection> = Vec::new();
        for sec in &sections {
            let lower = sec.name.to_ascii_lowercase();
            if is_circle_section(&sec.name) {
                self.circle_section(sec, &mut config.circle);
            } else if lower == "env" {
                env_sections.push((sec, Vec::new()));
            } else if let Some(patterns) = lower.strip_prefix("env:") {
                let patterns = &sec.name[sec.name.len() - patterns.len()..];
                let mut matchers = Vec::new();
                for p in patterns.split(',').map(str::trim) {
                    match Glob::new(p) {
                        Ok(g) if !p.is_empty() => matchers.push(g.compile_matcher()),
                        _ => self.errors.push(
                            ConfigError::new(
                                &sec.file,
                                sec.line,
                                format!("bad watcher pattern {p:?}"),
                            )
                            .section(sec.name.clone()),
                        ),
                    }
                }
                env_sections.push((sec, matchers));
            } else if lower.starts_with("watcher:") {
                watcher_sections.push(sec);
            } else if lower.starts_with("socket:") || lower.starts_with("plugin:") {
                self.errors.push(
                    ConfigError::new(
                        &sec.file,
                        sec.line,
                        "circus sockets and plugins are not supported by circle",
                    )
                    .section(sec.name.clone()),
                );
            } else {
                let kind = lower.split(':').next().unwrap_or("");
                let hint = match closest(kind, ["circle", "watcher", "env"]) {
                    Some(k) if k != kind => format!(" (did you mean `[{k}...]`?)"),
                    _ => String::new(),
                };
                self.errors.push(
                    ConfigError::new(
                        &sec.file,
                        sec.line,
                        format!(
                            "unknown section{hint}: expected [circle], [watcher:NAME], [env] or [env:NAMES]"
                        ),
                    )
                    .section(sec.name.clone()),
                );
            }
        }
        // Global [env] first, then the specific ones, each in file order.
        env_sections.sort_by_key(|(_, m)| !m.is_empty());
        let mut env_used = vec![false; env_sections.len()];
        let mut seen: BTreeMap<String, (PathBuf, usize)> = BTreeMap::new();
        for sec in watcher_sections {
            let name = sec.name["watcher:".len()..].trim().to_string();
            if let Some((f, l)) = seen.get(&name) {
                self.errors.push(
                    ConfigError::new(
                        &sec.file,
                        sec.line,
                        format!("duplicate watcher (first defined at {}:{l})", f.display()),
                    )
                    .section(sec.name.clone()),
                );
                continue;
            }
            seen.insert(name.clone(), (sec.file.clone(), sec.line));
            let mut env: BTreeMap<String, String> = BTreeMap::new();
            for (i, (esec, matchers)) in env_sections.iter().enumerate() {
                if !matchers.is_empty() && !matchers.iter().any(|m| m.is_match(&name)) {
                    continue;
                }
                if !matchers.is_empty() {
                    env_used[i] = true;
                }
                for e in &esec.entries {
                    let value = substitute(&e.value, true, &|n| lookup_in(&[&env, self.env], n));
                    match value {
                        Ok(v) => {
                            env.insert(e.key.clone(), v);
                        }
                        Err(err) => self.errors.push(entry_error(esec, e, err.to_string())),
                    }
                }
            }
            let dir = sec
                .file
                .parent()
                .map_or_else(|| base.to_path_buf(), Path::to_path_buf);
            let dir = if sec.file.as_os_str() == "<string>" {
                base.to_path_buf()
            } else {
                dir
            };
            let watcher = self.watcher_section(sec, name, env, &dir);
            self.errors.extend(watcher.problems());
            config.watchers.push(watcher);
        }
        for (used, (sec, matchers)) in env_used.iter().zip(&env_sections) {
            if !matchers.is_empty() && !used {
                self.errors.push(
                    ConfigError::new(&sec.file, sec.line, "matches no watcher")
                        .section(sec.name.clone()),
                );
            }
        }
        // One [env] section applied to several watchers may report the same problem more than once.
        let mut unique = Vec::new();
        for e in self.errors {
            if !unique.contains(&e) {
                unique.push(e);
            }
        }
        if unique.is_empty() {
            Ok(config)
        } else {
            Err(Error::Config(unique))
        }
    }

    fn circle_section(&mut self, sec: &RawSection, circle: &mut CircleSection) {
        for e in &sec.entries {
            let key = e.key.to_ascii_lowercase();
            let value = match substitute(&e.value, false, &|n| self.lookup_env(n)) {
                Ok(v) => v,
                Err(err) => {
                    self.errors.push(entry_error(sec, e, err.to_string()));
                    continue;
                }
            };
            let opt = || (!value.is_empty()).then(|| value.clone());
            match key.as_str() {
                "endpoint" => circle.endpoint = opt(),
                "tcp_endpoint" => circle.tcp_endpoint = opt(),
                "token" => circle.token = opt(),
                "pidfile" => circle.pidfile = opt().map(PathBuf::from),
                "logoutput" => circle.logoutput = opt(),
                "loglevel" => {
                    let l = value.to_ascii_lowercase();
                    if [
                        "debug", "info", "warning", "warn", "error", "critical", "trace",
                    ]
                    .contains(&l.as_str())
                    {
                        circle.loglevel = Some(l);
                    } else {
                        self.errors.push(entry_error(
                            sec,
                            e,
                            format!(
                                "expected debug, info, warning, error or critical, found {value:?}"
                            ),
                        ));
                    }
                }
                "warmup_delay" => match parse_duration(&value) {
                    Ok(d) => circle.warmup_delay = d,
                    Err(m) => self.errors.push(entry_error(sec, e, m)),
                },
                "include" => circle
                    .include
                    .extend(value.split_whitespace().map(String::from)),
                "include_dir" => circle
                    .include_dir
                    .extend(value.split_whitespace().map(String::from)),
                k if CIRCUS_IGNORED_KEYS.contains(&k) => {}
                _ => self
                    .errors
                    .push(entry_error(sec, e, unknown_key_message(&key, CIRCLE_KEYS))),
            }
        }
    }

    fn watcher_section(
        &mut self,
        sec: &RawSection,
        name: String,
        env: BTreeMap<String, String>,
        dir: &Path,
    ) -> Watcher {
        let mut w = Watcher::new(name);
        w.location = Some((sec.file.clone(), sec.line));
        let mut numprocesses_line: Option<usize> = None;
        for e in &sec.entries {
            let key = e.key.to_ascii_lowercase();
            let subst = |v: &str| {
                substitute(v, false, &|n| lookup_in(&[&env, self.env], n))
                    .map_err(|err: SubstError| err.to_string())
            };
            let path = |v: &str| -> std::result::Result<PathBuf, String> {
                let p = PathBuf::from(subst(v)?);
                Ok(if p.is_relative() { dir.join(p) } else { p })
            };
            let v = e.value.as_str();
            let res: std::result::Result<(), String> = (|| {
                match key.as_str() {
                    "cmd" => w.cmd = subst(v)?,
                    "args" => w.args = subst(v)?,
                    "numprocesses" | "numprocess" => {
                        if let Some(first) = numprocesses_line {
                            return Err(format!("numprocesses already set on line {first}"));
                        }
                        numprocesses_line = Some(e.line);
                        w.numprocesses = parse_int(v, "a number of processes")?;
                    }
                    "working_dir" => w.working_dir = Some(path(v)?),
                    "shell" => w.shell = parse_bool(v)?,
                    "uid" => w.uid = Some(subst(v)?),
                    "gid" => w.gid = Some(subst(v)?),
                    "umask" => w.umask = Some(parse_umask(v)?),
                    "copy_env" => w.copy_env = parse_bool(v)?,
                    "copy_path" => w.copy_path = parse_bool(v)?,
                    "stop_signal" => {
                        w.stop_signal = Signal::parse(v)
                            .map_err(|_| format!("unknown signal {v:?} (e.g. TERM, SIGINT, 15)"))?;
                    }
                    "graceful_timeout" => w.graceful_timeout = parse_duration(v)?,
                    "stop_children" => w.stop_children = parse_bool(v)?,
                    "respawn" => w.respawn = parse_bool(v)?,
                    "max_retry" => w.max_retry = parse_max_retry(v)?,
                    "warmup_delay" => w.warmup_delay = parse_duration(v)?,
                    "autostart" => w.autostart = parse_bool(v)?,
                    "priority" => w.priority = parse_int(v, "an integer priority")?,
                    "singleton" => w.singleton = parse_bool(v)?,
                    "min_uptime" => w.min_uptime = parse_duration(v)?,
                    "backoff_delay" => w.backoff_delay = parse_duration(v)?,
                    "max_backoff" => w.max_backoff = parse_duration(v)?,
                    k if k.starts_with("stdout_stream.") || k.starts_with("stderr_stream.") => {
                        let (which, field) = k.split_once('.').unwrap_or((k, ""));
                        let stream = if which == "stdout_stream" {
                            &mut w.stdout_stream
                        } else {
                            &mut w.stderr_stream
                        };
                        match field {
                            "class" => stream.class = parse_stream_class(v)?,
                            "filename" => stream.filename = Some(path(v)?),
                            "max_bytes" => stream.max_bytes = parse_size(v)?,
                            "backup_count" => {
                                stream.backup_count = parse_int(v, "a number of files")?;
                            }
                            _ => return Err(unknown_key_message(k, WATCHER_KEYS)),
                        }
                    }
                    k if k.starts_with("rlimit_") => {
                        let name = &k["rlimit_".len()..];
                        if !RLIMIT_NAMES.contains(&name) {
                            let known: Vec<String> =
                                RLIMIT_NAMES.iter().map(|n| format!("rlimit_{n}")).collect();
                            let hint = closest(k, known.iter().map(String::as_str))
                                .map(|s| format!(" (did you mean `{s}`?)"))
                                .unwrap_or_default();
                            return Err(format!("unknown resource limit{hint}"));
                        }
                        w.rlimits.insert(name.to_string(), parse_rlimit(v)?);
                    }
                    k if CIRCUS_UNSUPPORTED_KEYS.contains(&k)
                        || k.starts_with("hooks.")
                        || k.starts_with("stdin_") =>
                    {
                        return Err("a circus option that circle does not support".into());
                    }
                    k => {
                        let mut known: Vec<&str> = WATCHER_KEYS.to_vec();
                        known.push("rlimit_nofile");
                        return Err(unknown_key_message(k, &known));
                    }
                }
                Ok(())
            })();
            if let Err(msg) = res {
                self.errors.push(entry_error(sec, e, msg));
            }
        }
        if w.numprocesses == 0 && w.singleton {
            w.numprocesses = 1;
        }
        w.env = env;
        w
    }
}

/// Looks a variable up in each map in turn: the exact name first, then ignoring case.
fn lookup_in(maps: &[&BTreeMap<String, String>], name: &str) -> Option<String> {
    for m in maps {
        if let Some(v) = m.get(name) {
            return Some(v.clone());
        }
    }
    for m in maps {
        if let Some((_, v)) = m.iter().find(|(k, _)| k.eq_ignore_ascii_case(name)) {
            return Some(v.clone());
        }
    }
    None
}

fn entry_error(sec: &RawSection, e: &RawEntry, msg: impl Into<String>) -> ConfigError {
    ConfigError::new(&sec.file, e.line, msg)
        .section(sec.name.clone())
        .key(e.key.clone())
}

fn has_wildcard(s: &str) -> bool {
    s.contains(['*', '?', '['])
}

/// `include = PATTERN`: a file, or a wildcard in the file name (`conf/*.ini`).
fn expand_include(pattern: &str, base: &Path) -> std::result::Result<Vec<PathBuf>, String> {
    let full = base.join(pattern);
    if !has_wildcard(pattern) {
        if full.is_file() {
            return Ok(vec![full]);
        }
        return Err(format!("included file {} does not exist", full.display()));
    }
    let file_pat = full
        .file_name()
        .map(|f| f.to_string_lossy().into_owned())
        .unwrap_or_default();
    let dir = full.parent().map(Path::to_path_buf).unwrap_or_default();
    if has_wildcard(&dir.to_string_lossy()) {
        return Err(format!(
            "include pattern {pattern:?}: wildcards are allowed in the file name only"
        ));
    }
    let matcher = Glob::new(&file_pat)
        .map_err(|e| format!("bad include pattern {pattern:?}: {e}"))?
        .compile_matcher();
    let Ok(rd) = std::fs::read_dir(&dir) else {
        // A pattern that matches nothing includes nothing (as in circus).
        return Ok(Vec::new());
    };
    let mut out: Vec<PathBuf> = rd
        .filter_map(|e| e.ok())
        .map(|e| e.path())
        .filter(|p| p.is_file() && p.file_name().is_some_and(|f| matcher.is_match(f)))
        .collect();
    out.sort();
    Ok(out)
}

/// `include_dir = DIR`: every `*.ini` in it, in name order.
fn list_include_dir(dir: &str, base: &Path) -> std::result::Result<Vec<PathBuf>, String> {
    let full = base.join(dir);
    let rd =
        std::fs::read_dir(&full).map_err(|e| format!("include_dir {}: {e}", full.display()))?;
    let mut out: Vec<PathBuf> = rd
        .filter_map(|e| e.ok())
        .map(|e| e.path())
        .filter(|p| p.is_file() && p.extension().is_some_and(|x| x == "ini"))
        .collect();
    out.sort();
    Ok(out)
}

pub(crate) fn load_file(path: &Path, env: &BTreeMap<String, String>) -> Result<Config> {
    let text = std::fs::read_to_string(path).map_err(|e| Error::io(path, e))?;
    let base = path.parent().map(Path::to_path_buf).unwrap_or_default();
    let mut loader = Loader::new(env);
    loader.loaded.insert(canonical(path));
    loader.files.push(path.to_path_buf());
    loader.add_text(&text, path, &base, 0);
    let mut config = loader.finish(&base)?;
    config.source = Some(path.to_path_buf());
    Ok(config)
}

pub(crate) fn load_str(text: &str, base: &Path, env: &BTreeMap<String, String>) -> Result<Config> {
    let mut loader = Loader::new(env);
    loader.add_text(text, Path::new("<string>"), base, 0);
    loader.finish(base)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::StreamClass;
    use std::time::Duration;

    fn env() -> BTreeMap<String, String> {
        [
            ("HOME", "/home/u"),
            ("ANT_PYTHON", "/opt/py/bin/python"),
            ("ANT_ROOT_DIR", "/opt/ant"),
            ("PATH", "/usr/bin"),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
    }

    fn load(text: &str) -> Result<Config> {
        load_str(text, Path::new("/base"), &env())
    }

    fn errors(text: &str) -> Vec<String> {
        match load(text) {
            Err(Error::Config(e)) => e.iter().map(ToString::to_string).collect(),
            other => panic!("expected config errors, got {other:?}"),
        }
    }

    #[test]
    fn the_talks_example() {
        let c = load(
            "[circus]\nendpoint = /tmp/circle.sock\n\n[watcher:framework]\ncmd = $(CIRCLE.ENV.ANT_PYTHON) -m framework\nnumprocess = 1\n\n[env:framework]\nANT_MODULE_ROOT = $ANT_ROOT_DIR\n",
        )
        .unwrap();
        let w = &c.watchers[0];
        assert_eq!(w.name, "framework");
        assert_eq!(w.cmd, "/opt/py/bin/python -m framework");
        assert_eq!(w.numprocesses, 1);
        assert_eq!(
            w.env.get("ANT_MODULE_ROOT").map(String::as_str),
            Some("/opt/ant")
        );
        assert_eq!(c.circle.endpoint.as_deref(), Some("/tmp/circle.sock"));
    }

    #[test]
    fn every_key() {
        let c = load(
            "[circle]\nloglevel = DEBUG\nwarmup_delay = 1\ncheck_delay = 5\n[watcher:w]\ncmd = sleep\nargs = 10\nnumprocesses = 3\nworking_dir = run\nshell = yes\nuid = nobody\ngid = 0\numask = 027\nrlimit_nofile = 1024\nrlimit_core = unlimited\ncopy_env = true\ncopy_path = true\nstop_signal = SIGINT\ngraceful_timeout = 2.5\nstop_children = true\nrespawn = false\nmax_retry = -1\nwarmup_delay = 100ms\nautostart = false\npriority = -3\nsingleton = false\nmin_uptime = 2\nbackoff_delay = 0.2\nmax_backoff = 1m\nstdout_stream.class = FileStream\nstdout_stream.filename = /var/log/w.log\nstdout_stream.max_bytes = 10MB\nstdout_stream.backup_count = 5\nstderr_stream.class = StdoutStream\n",
        )
        .unwrap();
        let w = &c.watchers[0];
        assert_eq!(c.circle.loglevel.as_deref(), Some("debug"));
        assert_eq!(c.circle.warmup_delay, Duration::from_secs(1));
        assert_eq!(w.command_line(), "sleep 10");
        assert_eq!(w.numprocesses, 3);
        assert_eq!(w.working_dir.as_deref(), Some(Path::new("/base/run")));
        assert!(w.shell && w.copy_env && w.copy_path && w.stop_children && !w.respawn);
        assert!(!w.autostart && !w.singleton);
        assert_eq!(w.uid.as_deref(), Some("nobody"));
        assert_eq!(w.gid.as_deref(), Some("0"));
        assert_eq!(w.umask, Some(0o27));
        assert_eq!(w.rlimits.get("nofile"), Some(&Some(1024)));
        assert_eq!(w.rlimits.get("core"), Some(&None));
        assert_eq!(w.stop_signal, Signal::Int);
        assert_eq!(w.graceful_timeout, Duration::from_millis(2500));
        assert_eq!(w.max_retry, None);
        assert_eq!(w.warmup_delay, Duration::from_millis(100));
        assert_eq!(w.priority, -3);
        assert_eq!(w.min_uptime, Duration::from_secs(2));
        assert_eq!(w.backoff_delay, Duration::from_millis(200));
        assert_eq!(w.max_backoff, Duration::from_secs(60));
        assert_eq!(w.stdout_stream.class, StreamClass::File);
        assert_eq!(
            w.stdout_stream.filename.as_deref(),
            Some(Path::new("/var/log/w.log"))
        );
        assert_eq!(w.stdout_stream.max_bytes, 10 << 20);
        assert_eq!(w.stdout_stream.backup_count, 5);
        assert_eq!(w.stderr_stream.class, StreamClass::Stdout);
    }

    #[test]
    fn all_problems_at_once_with_lines_and_suggestions() {
        let e = errors(
            "[circle]\nendpont = x\n[watcher:a]\ncmd = run\nnumprocesess = 2\ngraceful_timeout = soon\nstop_signal = TERMINATE\nmax_bytes = 3\n[watcher:a]\ncmd = again\n[watcher:b]\ncmd = $(circle.env.UNDEFINED)\nstdout_stream.max_bytes = 10XB\n[env:nobody]\nX = 1\n[env]\nY = $NOT_SET\n[wacther:c]\nthis is not a line\nuse_sockets = true\n",
        );
        let want = [
            "<string>:2: [circle] endpont: unknown key (did you mean `endpoint`?)",
            "<string>:5: [watcher:a] numprocesess: unknown key (did you mean `numprocesses`?)",
            "<string>:6: [watcher:a] graceful_timeout: expected a duration",
            "<string>:7: [watcher:a] stop_signal: unknown signal \"TERMINATE\"",
            "<string>:8: [watcher:a] max_bytes: unknown key",
            "<string>:9: [watcher:a]: duplicate watcher (first defined at <string>:3)",
            "<string>:12: [watcher:b] cmd: undefined variable $(circle.env.UNDEFINED)",
            "<string>:13: [watcher:b] stdout_stream.max_bytes: expected a size",
            "<string>:14: [env:nobody]: matches no watcher",
            "<string>:17: [env] Y: undefined variable $NOT_SET",
            "<string>:18: [wacther:c]: unknown section (did you mean `[watcher...]`?)",
            "<string>:19: malformed line",
        ];
        for w in want {
            assert!(
                e.iter().any(|m| m.starts_with(w)),
                "missing {w:?} in {e:#?}"
            );
        }
    }

    #[test]
    fn env_precedence() {
        // [env] for all, then [env:...] in order; earlier keys, then the inherited environment.
        let c = load(
            "[watcher:web1]\ncmd = run $(circle.env.B)\n[watcher:web2]\ncmd = run $(circle.env.HOME)\n[watcher:db]\ncmd = db\n\
             [env:web*]\nB = specific-$A\nHOME = $HOME/web\n[env]\nA = global\nB = global-b\n[env:db, web2]\nA = db-$A\n",
        )
        .unwrap();
        let get = |w: &str, k: &str| c.get(w).and_then(|w| w.env.get(k).cloned());
        assert_eq!(get("web1", "A").as_deref(), Some("global"));
        assert_eq!(get("web1", "B").as_deref(), Some("specific-global"));
        assert_eq!(get("web1", "HOME").as_deref(), Some("/home/u/web"));
        assert_eq!(get("web2", "A").as_deref(), Some("db-global"));
        assert_eq!(get("db", "A").as_deref(), Some("db-global"));
        assert_eq!(get("db", "B").as_deref(), Some("global-b"));
        assert_eq!(get("db", "HOME"), None);
        // $(circle.env.X) in cmd: the watcher's env first, then circled's environment.
        assert_eq!(
            c.get("web1").map(|w| w.cmd.as_str()),
            Some("run specific-global")
        );
        assert_eq!(
            c.get("web2").map(|w| w.cmd.as_str()),
            Some("run /home/u/web")
        );
    }

    #[test]
    fn includes_and_include_dir() {
        let dir = tempfile::tempdir().unwrap();
        let d = dir.path();
        std::fs::create_dir(d.join("conf.d")).unwrap();
        std::fs::write(d.join("conf.d/b.ini"), "[watcher:b]\ncmd = b\n").unwrap();
        std::fs::write(d.join("conf.d/a.ini"), "[watcher:a]\ncmd = a\n").unwrap();
        std::fs::write(d.join("conf.d/ignored.txt"), "garbage").unwrap();
        std::fs::write(
            d.join("extra.ini"),
            "[watcher:x]\ncmd = x\n[env:main]\nE = 1\n",
        )
        .unwrap();
        std::fs::write(
            d.join("main.ini"),
            "[circle]\ninclude = extra.ini conf.d/*.ini\ninclude_dir = conf.d\n[watcher:main]\ncmd = m\n",
        )
        .unwrap();
        let c = load_file(&d.join("main.ini"), &env()).unwrap();
        let names: Vec<&str> = c.watchers.iter().map(|w| w.name.as_str()).collect();
        assert_eq!(names, ["main", "x", "a", "b"]);
        assert_eq!(c.files.len(), 4);
        assert_eq!(
            c.get("main")
                .and_then(|w| w.env.get("E"))
                .map(String::as_str),
            Some("1")
        );

        std::fs::write(
            d.join("bad.ini"),
            "[circle]\ninclude = nope.ini\ninclude_dir = missing.d\n[watcher:y]\ncmd = y\ncolour = red\n",
        )
        .unwrap();
        std::fs::write(
            d.join("conf.d/c.ini"),
            "[watcher:c]\ncmd = c\nnumprocesses = many\n",
        )
        .unwrap();
        let Err(Error::Config(e)) = load_file(&d.join("bad.ini"), &env()) else {
            panic!("expected errors");
        };
        let msgs: Vec<String> = e.iter().map(ToString::to_string).collect();
        assert!(
            msgs.iter()
                .any(|m| m.contains("bad.ini:2:") && m.contains("does not exist")),
            "{msgs:#?}"
        );
        assert!(
            msgs.iter()
                .any(|m| m.contains("bad.ini:3:") && m.contains("missing.d")),
            "{msgs:#?}"
        );
        assert!(
            msgs.iter()
                .any(|m| m.contains("bad.ini:6:") && m.contains("colour")),
            "{msgs:#?}"
        );

        std::fs::write(d.join("bad2.ini"), "[circle]\ninclude_dir = conf.d\n").unwrap();
        let Err(Error::Config(e)) = load_file(&d.join("bad2.ini"), &env()) else {
            panic!("expected errors");
        };
        assert!(
            e.iter()
                .any(|e| e.file.ends_with("conf.d/c.ini") && e.line == 3),
            "{e:#?}"
        );
    }

    #[test]
    fn include_cycle_is_read_once() {
        let dir = tempfile::tempdir().unwrap();
        let d = dir.path();
        std::fs::write(
            d.join("a.ini"),
            "[circle]\ninclude = b.ini\n[watcher:a]\ncmd = a\n",
        )
        .unwrap();
        std::fs::write(
            d.join("b.ini"),
            "[circle]\ninclude = a.ini\n[watcher:b]\ncmd = b\n",
        )
        .unwrap();
        let c = load_file(&d.join("a.ini"), &env()).unwrap();
        assert_eq!(c.watchers.len(), 2);
    }

    proptest::proptest! {
        /// Whatever the text, loading answers (a config or errors with lines in range).
        #[test]
        fn loading_never_panics(text in "(\\[[a-z:*, ]{0,12}\\]\n|[a-z_.]{1,12} ?[=:] ?[-a-z0-9$(){}. ]{0,16}\n|\\PC{0,10}\n){0,12}") {
            let n = text.lines().count();
            if let Err(Error::Config(errs)) = load(&text) {
                for e in errs {
                    proptest::prop_assert!(e.line <= n.max(1), "{e}");
                }
            }
        }
    }

    #[test]
    fn closest_suggestions() {
        assert_eq!(
            closest("numprocesess", WATCHER_KEYS.iter().copied()),
            Some("numprocesses")
        );
        assert_eq!(
            closest("gracefull_timeout", WATCHER_KEYS.iter().copied()),
            Some("graceful_timeout")
        );
        assert_eq!(closest("zzzzzzzz", WATCHER_KEYS.iter().copied()), None);
    }
}
