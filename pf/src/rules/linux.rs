//! Linux distribution rules: parsers for every release file and the precedence that combines
//! them, as python-distro's `version(best=True)` does, without its known mistakes.
//!
//! Everything here is a pure function over text: [`identify`] takes the texts that
//! [`crate::read_release_files`] collected under a root.

use std::collections::BTreeMap;

use super::table;
use crate::System;

/// Key/value pairs of a shell-style file (`os-release`, `lsb-release`, `armbian-release`),
/// keys as written (`ID`, `VERSION_ID`, ...).
pub type KeyValues = BTreeMap<String, String>;

/// Parses an `os-release` file (`/etc/os-release`, `/usr/lib/os-release`).
///
/// The format is shell assignments; this follows python-distro's `shlex` reading: quotes and
/// backslash escapes are honoured, comments and anything that is not `KEY=value` are ignored.
/// Never fails: garbage gives an empty or partial map.
#[must_use]
pub fn parse_os_release(text: &str) -> KeyValues {
    let mut map = KeyValues::new();
    for token in shell_tokens(text) {
        if let Some((key, value)) = token.split_once('=')
            && !key.is_empty()
            && key.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
        {
            map.insert(key.to_string(), value.to_string());
        }
    }
    map
}

/// Parses `/etc/lsb-release` (`DISTRIB_ID=`, `DISTRIB_RELEASE=`, `DISTRIB_CODENAME=`,
/// `DISTRIB_DESCRIPTION=`). `n/a` values are dropped, as `lsb_release` prints them.
#[must_use]
pub fn parse_lsb_release(text: &str) -> KeyValues {
    let mut map = parse_os_release(text);
    map.retain(|_, v| !v.eq_ignore_ascii_case("n/a"));
    map
}

/// Splits shell text into words the way Python's `shlex(posix=True, whitespace_split=True)`
/// does: whitespace separates words, `'...'` and `"..."` quote, `\` escapes, `#` at the start of
/// a word comments out the rest of the line.
fn shell_tokens(text: &str) -> Vec<String> {
    let mut tokens = Vec::new();
    let mut chars = text.chars().peekable();
    let mut current = String::new();
    let mut in_token = false;
    while let Some(c) = chars.next() {
        match c {
            c if c.is_whitespace() => {
                if in_token {
                    tokens.push(std::mem::take(&mut current));
                    in_token = false;
                }
            }
            '#' if !in_token => {
                for c in chars.by_ref() {
                    if c == '\n' {
                        break;
                    }
                }
            }
            '\'' => {
                in_token = true;
                for c in chars.by_ref() {
                    if c == '\'' {
                        break;
                    }
                    current.push(c);
                }
            }
            '"' => {
                in_token = true;
                while let Some(c) = chars.next() {
                    match c {
                        '"' => break,
                        '\\' => match chars.peek() {
                            Some(&n @ ('"' | '\\' | '$' | '`')) => {
                                current.push(n);
                                chars.next();
                            }
                            Some('\n') => {
                                chars.next();
                            }
                            _ => current.push('\\'),
                        },
                        c => current.push(c),
                    }
                }
            }
            '\\' => {
                in_token = true;
                match chars.next() {
                    Some('\n') | None => {}
                    Some(n) => current.push(n),
                }
            }
            c => {
                in_token = true;
                current.push(c);
            }
        }
    }
    if in_token {
        tokens.push(current);
    }
    tokens
}

/// What a distribution release file's first line says: "CentOS Linux release 7.1.1503 (Core)"
/// gives name "CentOS Linux", version "7.1.1503", codename "Core".
#[derive(Debug, Clone, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct ReleaseLine {
    /// Distribution name, "" when none.
    pub name: String,
    /// Version, "" when none.
    pub version: String,
    /// Text in parentheses after the version (may be an architecture: filtered later), "" when
    /// none.
    pub codename: String,
}

/// Parses one line of a distribution release file, with the same grammar as python-distro's
/// reversed pattern: `NAME [release] VERSION [LTS] [(CODENAME) ...]`, where VERSION starts with a
/// digit and holds digits, dots, `+`, `-` and lowercase letters. A line without a version is all
/// name. `None` for an empty line.
#[must_use]
pub fn parse_release_line(line: &str) -> Option<ReleaseLine> {
    let s = line.trim();
    if s.is_empty() {
        return None;
    }
    if let Some(close) = s.rfind(')') {
        for (open, _) in s[..close].match_indices('(') {
            if let Some((name, version)) = match_name_version(&s[..open]) {
                return Some(ReleaseLine {
                    name,
                    version,
                    codename: s[open + 1..close].to_string(),
                });
            }
        }
    }
    if let Some((name, version)) = match_name_version(s) {
        return Some(ReleaseLine {
            name,
            version,
            codename: String::new(),
        });
    }
    Some(ReleaseLine {
        name: s.to_string(),
        ..ReleaseLine::default()
    })
}

/// `text` = NAME, spaces, optional "release" and spaces, VERSION, optional " LTS", spaces.
fn match_name_version(text: &str) -> Option<(String, String)> {
    let t = text.trim_end_matches(' ');
    let mut bodies = Vec::with_capacity(2);
    if let Some(stripped) = t.strip_suffix(" LTS") {
        bodies.push(stripped);
    }
    bodies.push(t);
    for body in bodies {
        let allowed =
            |c: char| c.is_ascii_digit() || c.is_ascii_lowercase() || matches!(c, '.' | '+' | '-');
        let run_start = body
            .char_indices()
            .rev()
            .take_while(|&(_, c)| allowed(c))
            .last()
            .map_or(body.len(), |(i, _)| i);
        for (offset, c) in body[run_start..].char_indices() {
            if !c.is_ascii_digit() {
                continue;
            }
            let split = run_start + offset;
            let version = &body[split..];
            let rest = body[..split].trim_end_matches(' ');
            if let Some(before) = rest.strip_suffix("release") {
                let name = before.trim_end_matches(' ');
                if !name.is_empty() {
                    return Some((name.to_string(), version.to_string()));
                }
            }
            if !rest.is_empty() {
                return Some((rest.to_string(), version.to_string()));
            }
        }
    }
    None
}

/// Parses a distribution release file (`centos-release`, `redhat-release`, `system-release`,
/// `oracle-release`, `gentoo-release`, `slackware-version`, ...): its first line that is neither
/// empty nor a comment. See [`parse_release_line`].
#[must_use]
pub fn parse_release_file(text: &str) -> Option<ReleaseLine> {
    text.lines()
        .map(str::trim)
        .find(|l| !l.is_empty() && !l.starts_with('#'))
        .and_then(parse_release_line)
}

/// Parses `/etc/SuSE-release` (SUSE 10 to 12, openSUSE up to 42): the first line names the
/// product, `VERSION =` and `PATCHLEVEL =` give the precise version ("11" + SP4 is "11.4", as
/// os-release says for later releases), `CODENAME =` the codename. The architecture in
/// parentheses is not a codename and is dropped.
#[must_use]
pub fn parse_suse_release(text: &str) -> Option<ReleaseLine> {
    let mut line = parse_release_file(text)?;
    if is_architecture(&line.codename) {
        line.codename.clear();
    }
    let mut version = None;
    let mut patch = None;
    for l in text.lines() {
        let Some((k, v)) = l.split_once('=') else {
            continue;
        };
        let v = v.trim().to_string();
        match k.trim() {
            "VERSION" if !v.is_empty() => version = Some(v),
            "PATCHLEVEL" => patch = Some(v),
            "CODENAME" if !v.is_empty() => line.codename = v,
            _ => {}
        }
    }
    if let Some(version) = version {
        line.version = match patch.as_deref() {
            Some(p) if !p.is_empty() && p != "0" && !version.contains('.') => {
                format!("{version}.{p}")
            }
            _ => version,
        };
    }
    Some(line)
}

/// The first line of `/etc/debian_version` ("12.11", "bookworm/sid"), `None` when empty or
/// not text.
#[must_use]
pub fn parse_debian_version(text: &str) -> Option<String> {
    let line = text.lines().next()?.trim();
    (!line.is_empty() && line.chars().all(|c| c.is_ascii_graphic())).then(|| line.to_string())
}

/// The codename inside an os-release `VERSION` value, as python-distro finds it: the text in
/// the first parentheses ("7 (Core)"), or after a comma ("14.04.3 LTS, Trusty Tahr").
#[must_use]
pub fn codename_from_version(version: &str) -> Option<String> {
    for (i, c) in version.char_indices() {
        let after = &version[i + c.len_utf8()..];
        let run_end = after
            .find(|c: char| c.is_ascii_digit())
            .unwrap_or(after.len());
        let run = &after[..run_end];
        match c {
            '(' => {
                if let Some(close) = run.rfind(')')
                    && close > 0
                {
                    return Some(run[..close].to_string());
                }
            }
            ',' => {
                let name = run.trim();
                if !name.is_empty() {
                    return Some(name.to_string());
                }
            }
            _ => {}
        }
    }
    None
}

/// The version number a text starts with: "14.04.3 LTS, Trusty Tahr" gives "14.04.3",
/// "12-SP1" gives "12", "v3.23" gives "3.23"; `None` when it does not start with one.
#[must_use]
pub fn leading_version(text: &str) -> Option<String> {
    let t = text.trim();
    let t = t.strip_prefix(['v', 'V']).unwrap_or(t);
    let end = t
        .find(|c: char| !(c.is_ascii_digit() || c == '.'))
        .unwrap_or(t.len());
    let v = t[..end].trim_end_matches('.');
    (v.starts_with(|c: char| c.is_ascii_digit())).then(|| v.to_string())
}

/// Whether a word is a machine architecture ("x86_64", "s390x", "aarch64", "i686"...), which
/// release files put in parentheses where a codename would be.
#[must_use]
pub fn is_architecture(word: &str) -> bool {
    const ARCHES: &[&str] = &[
        "x86_64",
        "x86-64",
        "amd64",
        "x64",
        "i386",
        "i486",
        "i586",
        "i686",
        "x86",
        "ia32",
        "ia64",
        "aarch64",
        "arm64",
        "arm",
        "armhf",
        "armel",
        "armv6l",
        "armv7l",
        "armv7hl",
        "armv8l",
        "ppc",
        "ppc64",
        "ppc64le",
        "powerpc",
        "powerpc64",
        "powerpc64le",
        "s390",
        "s390x",
        "sparc",
        "sparc64",
        "mips",
        "mipsel",
        "mips64",
        "mips64el",
        "riscv64",
        "loongarch64",
        "alpha",
        "noarch",
        "sun4u",
        "sun4v",
        "i86pc",
    ];
    let w = word.trim().to_ascii_lowercase();
    ARCHES.contains(&w.as_str())
}

/// The texts of the release files found under a root, as [`crate::read_release_files`]
/// collects them. Build one by hand to run [`identify`] on texts from elsewhere.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct ReleaseFiles {
    /// `etc/os-release`, or `usr/lib/os-release` when the former is absent.
    pub os_release: Option<String>,
    /// Files of `etc/`, keyed by their path under `etc/`: `lsb-release`, `debian_version`,
    /// `centos-release`, `SuSE-release`, `upstream-release/lsb-release`, `release`, ...
    pub etc: BTreeMap<String, String>,
    /// Other files, keyed by their path under the root, read only when there is no
    /// os-release: `bin/freebsd-version` (FreeBSD's os-release is made at boot).
    pub other: BTreeMap<String, String>,
}

impl ReleaseFiles {
    /// Empty: nothing found.
    #[must_use]
    pub fn new() -> Self {
        Self::default()
    }

    /// Sets the os-release text.
    #[must_use]
    pub fn os_release(mut self, text: impl Into<String>) -> Self {
        self.os_release = Some(text.into());
        self
    }

    /// Adds a file of `etc/` (`name` relative to `etc/`, e.g. "centos-release").
    #[must_use]
    pub fn etc_file(mut self, name: impl Into<String>, text: impl Into<String>) -> Self {
        self.etc.insert(name.into(), text.into());
        self
    }

    /// Whether nothing was found.
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.os_release.is_none() && self.etc.is_empty() && self.other.is_empty()
    }

    /// Adds another file (`path` relative to the root, e.g. "bin/freebsd-version").
    #[must_use]
    pub fn root_file(mut self, path: impl Into<String>, text: impl Into<String>) -> Self {
        self.other.insert(path.into(), text.into());
        self
    }

    fn get(&self, name: &str) -> Option<&str> {
        self.etc.get(name).map(String::as_str)
    }
}

/// Files under `etc/` read besides the `*-release`/`*_version` ones.
pub(crate) const EXTRA_ETC_FILES: &[&str] = &[
    "lsb-release",
    "debian_version",
    "armbian-release",
    "board-release",
    "upstream-release/lsb-release",
    "release",
];

/// Whether [`crate::read_release_files`] reads the file `name` of `etc/`.
#[must_use]
pub(crate) fn wanted_etc_file(name: &str) -> bool {
    EXTRA_ETC_FILES.contains(&name) || is_release_file_name(name)
}

/// Names probed directly when `etc/` cannot be listed.
pub(crate) fn probe_etc_files() -> impl Iterator<Item = &'static str> {
    EXTRA_ETC_FILES
        .iter()
        .chain(PREFERRED_RELEASE_FILES)
        .copied()
}

/// Release files looked at first, in this order: the distribution's own before the generic
/// `redhat-release` and `system-release` that derivatives also ship.
const PREFERRED_RELEASE_FILES: &[&str] = &[
    "centos-release",
    "almalinux-release",
    "rocky-release",
    "oracle-release",
    "enterprise-release",
    "sl-release",
    "cloudlinux-release",
    "fedora-release",
    "mageia-release",
    "mandriva-release",
    "mandrake-release",
    "mandrakelinux-release",
    "SuSE-release",
    "altlinux-release",
    "arch-release",
    "gentoo-release",
    "alpine-release",
    "manjaro-release",
    "slackware-version",
    "base-release",
    "redhat-release",
    "system-release",
];

/// Files that match `*-release` but describe something else (or are read on their own).
const IGNORED_RELEASE_FILES: &[&str] = &[
    "debian_version",
    "lsb-release",
    "oem-release",
    "os-release",
    "plesk-release",
    "iredmail-release",
    "board-release",
    "armbian-release",
    "ec2_version",
    "upstream-release",
];

/// Whether a name under `etc/` is a distribution release file candidate: `(\w+)[-_](release|version)`.
#[must_use]
pub(crate) fn is_release_file_name(name: &str) -> bool {
    if IGNORED_RELEASE_FILES.contains(&name) {
        return false;
    }
    let stem = name
        .strip_suffix("release")
        .or_else(|| name.strip_suffix("version"));
    let Some(stem) = stem.and_then(|s| s.strip_suffix(['-', '_'])) else {
        return false;
    };
    !stem.is_empty() && stem.chars().all(|c| c.is_alphanumeric() || c == '_')
}

/// What [`identify`] concludes about a root's operating system distribution.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct Distribution {
    /// Linux, or FreeBSD/Solaris/illumos when their os-release or `/etc/release` says so;
    /// `Unknown` when nothing was found.
    pub system: System,
    /// The name people use ("CentOS", "Ubuntu", "Mint"), or the distribution's own `NAME`
    /// when it is not in the table; "Unknown" when nothing was found.
    pub dist: String,
    /// python-distro id ("centos", "rhel", "ubuntu", "opensuse", "amzn", "oracle"); "unknown"
    /// when nothing was found.
    pub id: String,
    /// The most precise version the sources agree on, "" when none states one (rolling
    /// releases).
    pub version: String,
    /// Release codename, never an architecture.
    pub codename: Option<String>,
    /// Ids of the distributions this one derives from.
    pub like: Vec<String>,
    /// Full human name with version.
    pub pretty_name: String,
}

impl Distribution {
    /// Nothing known.
    #[must_use]
    pub fn unknown() -> Self {
        Self {
            system: System::Unknown,
            dist: "Unknown".into(),
            id: "unknown".into(),
            version: String::new(),
            codename: None,
            like: Vec::new(),
            pretty_name: "Unknown".into(),
        }
    }
}

fn normalize_id(raw: &str) -> String {
    raw.trim().to_lowercase().replace(' ', "_")
}

/// os-release `ID` to python-distro id.
#[must_use]
pub fn normalize_os_id(raw: &str) -> String {
    let id = normalize_id(raw);
    match id.as_str() {
        "ol" => "oracle".into(),
        "opensuse-leap" => "opensuse".into(),
        _ => id,
    }
}

/// lsb-release `DISTRIB_ID` to python-distro id.
#[must_use]
pub fn normalize_lsb_id(raw: &str) -> String {
    let id = normalize_id(raw);
    let mapped = match id.as_str() {
        "enterpriseenterpriseas" | "enterpriseenterpriseserver" | "oracleserver" => "oracle",
        "redhatenterpriseworkstation"
        | "redhatenterpriseserver"
        | "redhatenterprisecomputenode"
        | "redhatenterpriseclient" => "rhel",
        "manjarolinux" => "manjaro",
        "mandrivalinux" => "mandriva",
        "archlinux" => "arch",
        "amazonami" | "amazon" => "amzn",
        "scientificsl" | "scientificfermi" | "scientific" => "scientific",
        "suse_linux" | "suse" => "sles",
        _ => return table::id_by_name(raw).map_or(id, str::to_string),
    };
    mapped.to_string()
}

/// A chosen distribution release file.
struct Release {
    line: ReleaseLine,
    id: String,
    first_line: String,
}

fn release_candidates(files: &ReleaseFiles) -> Vec<&str> {
    let mut names: Vec<&str> = PREFERRED_RELEASE_FILES
        .iter()
        .copied()
        .filter(|n| files.etc.contains_key(*n))
        .collect();
    for name in files.etc.keys() {
        if is_release_file_name(name) && !names.contains(&name.as_str()) {
            names.push(name);
        }
    }
    names
}

fn parse_release(name: &str, text: &str) -> Option<Release> {
    let first = text
        .lines()
        .map(str::trim)
        .find(|l| !l.is_empty() && !l.starts_with('#'))?;
    let mut first_line = first.to_string();
    let line = if leading_version(first).is_some_and(|v| v == first) {
        // A file holding only a version ("3.2.3" in alpine-release) is named by its file name.
        let id = normalize_id(release_stem(name));
        let name = table::name_of(&id)
            .unwrap_or(release_stem(name))
            .to_string();
        first_line = format!("{name} {first}");
        ReleaseLine {
            name,
            version: first.to_string(),
            codename: String::new(),
        }
    } else if name == "SuSE-release" {
        parse_suse_release(text)?
    } else {
        parse_release_line(first)?
    };
    let id = table::id_by_name(&line.name)
        .map(str::to_string)
        .unwrap_or_else(|| match normalize_id(release_stem(name)).as_str() {
            "redhat" => "rhel".to_string(),
            "system" | "base" => slug(&line.name),
            other => other.to_string(),
        });
    if id.is_empty() {
        return None;
    }
    Some(Release {
        line,
        id,
        first_line,
    })
}

/// The distribution release file that says the most: the first whose name is in the table,
/// else the first that parses.
fn choose_release(files: &ReleaseFiles) -> Option<Release> {
    let mut first = None;
    for name in release_candidates(files) {
        let Some(text) = files.get(name) else {
            continue;
        };
        let Some(rel) = parse_release(name, text) else {
            continue;
        };
        if table::id_by_name(&rel.line.name).is_some() {
            return Some(rel);
        }
        if first.is_none() {
            first = Some(rel);
        }
    }
    first
}

/// "centos" for "centos-release", "slackware" for "slackware-version".
fn release_stem(name: &str) -> &str {
    name.strip_suffix("release")
        .or_else(|| name.strip_suffix("version"))
        .unwrap_or(name)
        .trim_end_matches(['-', '_'])
}

/// A lowercase id made of a name's letters and digits ("BTT-CB1" → "bttcb1").
fn slug(name: &str) -> String {
    name.chars()
        .filter(|c| c.is_alphanumeric())
        .flat_map(char::to_lowercase)
        .collect()
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Source {
    /// Only the presence of a file (`debian_version`, an empty `arch-release`).
    Files,
    Os,
    Lsb,
    Release,
    Board,
}

/// A board image (Armbian and its rebrands) over Debian or Ubuntu: `armbian-release` or
/// `board-release`.
struct Board {
    name: String,
    id: String,
    version: String,
    codename: String,
}

fn board(files: &ReleaseFiles) -> Option<Board> {
    if let Some(text) = files.get("armbian-release") {
        let kv = parse_os_release(text);
        return Some(Board {
            name: "Armbian".into(),
            id: "armbian".into(),
            version: kv.get("VERSION").cloned().unwrap_or_default(),
            codename: kv.get("DISTRIBUTION_CODENAME").cloned().unwrap_or_default(),
        });
    }
    let kv = parse_os_release(files.get("board-release")?);
    let name = kv
        .get("BOARD_NAME")
        .map(|s| s.trim())
        .filter(|s| !s.is_empty())?
        .to_string();
    let id = slug(&name);
    if id.is_empty() {
        return None;
    }
    Some(Board {
        name,
        id,
        version: kv.get("VERSION").cloned().unwrap_or_default(),
        codename: kv.get("DISTRIBUTION_CODENAME").cloned().unwrap_or_default(),
    })
}

/// Whether `candidate` says the same version as `primary`, at least as precisely ("7.9.2009"
/// refines "7"; "2.3.1" does not refine "11").
fn refines(candidate: &str, primary: &str) -> bool {
    candidate == primary
        || candidate
            .strip_prefix(primary)
            .is_some_and(|rest| rest.starts_with(['.', '-', '_', '+']))
}

/// The most precise version: python-distro's `best=True` rule (most dots, first on a tie)
/// among the candidates that agree with the first stated one.
fn best_version(candidates: &[String]) -> String {
    let candidates: Vec<&str> = candidates
        .iter()
        .map(|s| s.trim())
        .filter(|s| !s.is_empty())
        .collect();
    let Some(primary) = candidates.first().copied() else {
        return String::new();
    };
    let mut best = primary;
    for c in candidates {
        if refines(c, primary) && c.matches('.').count() > best.matches('.').count() {
            best = c;
        }
    }
    best.to_string()
}

/// A codename worth reporting: not empty, not an architecture, not one of the distribution's
/// own names ("Amazon Linux" in AL2023's system-release).
fn good_codename(c: &str, names: &[&str]) -> Option<String> {
    let c = c.trim();
    let bad = c.is_empty()
        || is_architecture(c)
        || c.eq_ignore_ascii_case("n/a")
        || names.iter().any(|n| c.eq_ignore_ascii_case(n.trim()));
    (!bad).then(|| c.to_string())
}

/// os-release codename as python-distro reads it: `VERSION_CODENAME` when the key exists (even
/// empty: the distribution says it has none), else `UBUNTU_CODENAME`, else the one inside
/// `VERSION`. Outer `None`: os-release says nothing.
fn os_codename(os: &KeyValues) -> Option<String> {
    if let Some(c) = os.get("VERSION_CODENAME") {
        return Some(c.clone());
    }
    if let Some(c) = os.get("UBUNTU_CODENAME") {
        return Some(c.clone());
    }
    os.get("VERSION").and_then(|v| codename_from_version(v))
}

fn dedup_push(list: &mut Vec<String>, item: &str, exclude: &str) {
    let item = item.trim();
    if !item.is_empty() && item != exclude && !list.iter().any(|x| x == item) {
        list.push(item.to_string());
    }
}

fn system_of(id: &str, like: &[String]) -> System {
    let is = |x: &str| id == x || like.iter().any(|l| l == x);
    if is("freebsd") {
        System::FreeBsd
    } else if id == "openbsd" {
        System::OpenBsd
    } else if id == "netbsd" {
        System::NetBsd
    } else if id == "solaris" {
        System::Solaris
    } else if is("illumos") || matches!(id, "omnios" | "openindiana" | "smartos") {
        System::Illumos
    } else {
        System::Linux
    }
}

/// Identifies the distribution from the texts of its release files.
///
/// Precedence (python-distro's, with its known mistakes fixed):
/// 1. the id comes from os-release `ID`, else lsb-release `DISTRIB_ID`, else the distribution
///    release file (by the name it prints: `redhat-release` saying "Scientific Linux" is
///    Scientific, `system-release` saying "Amazon Linux AMI" is Amazon), else os-release `NAME`;
/// 2. a derivative that ships its parent's files keeps its own name, `like` pointing at the
///    parent: Armbian and board images (`armbian-release`, `board-release`), Linux Mint 17
///    (`lsb-release` over Ubuntu's os-release), Scientific Linux 7 (`ID=rhel` but
///    `NAME="Scientific Linux"`);
/// 3. the version is the most precise of the sources that describe that distribution
///    (`VERSION_ID`, `DISTRIB_RELEASE`, the release file, the numbers in `VERSION`,
///    `PRETTY_NAME` and `DISTRIB_DESCRIPTION`, `debian_version` for Debian and its rebuilds),
///    among those agreeing with the first stated one;
/// 4. the codename is os-release's, else lsb-release's, else the release file's, never an
///    architecture or a distribution name.
///
/// Never fails: with nothing usable it answers [`Distribution::unknown`], except for Solaris
/// whose `/etc/release` alone is enough.
#[must_use]
pub fn identify(files: &ReleaseFiles) -> Distribution {
    let os = files
        .os_release
        .as_deref()
        .map(parse_os_release)
        .unwrap_or_default();
    let lsb = files
        .get("lsb-release")
        .map(parse_lsb_release)
        .unwrap_or_default();
    let rel = choose_release(files);
    let os_get = |k: &str| os.get(k).map(|s| s.trim()).filter(|s| !s.is_empty());
    let lsb_get = |k: &str| lsb.get(k).map(|s| s.trim()).filter(|s| !s.is_empty());

    let os_id = os_get("ID").map(normalize_os_id).or_else(|| {
        os_get("NAME").map(|n| table::id_by_name(n).map_or_else(|| slug(n), str::to_string))
    });
    let os_id = os_id.filter(|id| !id.is_empty());
    let lsb_id = lsb_get("DISTRIB_ID")
        .map(normalize_lsb_id)
        .filter(|id| !id.is_empty());
    let rel_id = rel.as_ref().map(|r| r.id.clone());

    let base = match (&os_id, &lsb_id, &rel_id) {
        (Some(id), _, _) => Some((id.clone(), Source::Os)),
        (None, Some(id), _) => Some((id.clone(), Source::Lsb)),
        (None, None, Some(id)) => Some((id.clone(), Source::Release)),
        _ => None,
    };
    // Without os-release, lsb-release or a readable release file: Debian before 7 has only
    // debian_version; old Arch only an empty arch-release.
    let base = base.or_else(|| {
        if files
            .get("debian_version")
            .and_then(parse_debian_version)
            .is_some()
        {
            return Some(("debian".to_string(), Source::Files));
        }
        release_candidates(files).into_iter().find_map(|name| {
            let stem = release_stem(name);
            let id = if stem == "redhat" {
                "rhel".to_string()
            } else {
                normalize_id(stem)
            };
            table::by_id(&id).map(|_| (id, Source::Files))
        })
    });
    let Some((base_id, base_source)) = base else {
        return solaris_from_release(files.get("release"))
            .or_else(|| freebsd_from_version_script(files.other.get("bin/freebsd-version")))
            .or_else(|| bsd_from_uname_script(files.other.get("bin/uname")))
            .unwrap_or_else(Distribution::unknown);
    };

    // Derivatives that ship their parent's files.
    let board =
        board(files).filter(|_| matches!(base_id.as_str(), "debian" | "ubuntu" | "raspbian"));
    let name_id = os_get("NAME").and_then(table::id_by_name);
    let (id, source) = if let Some(b) = &board {
        (b.id.clone(), Source::Board)
    } else if let Some(l) = lsb_id.as_ref().filter(|l| {
        **l != base_id
            && (files.etc.contains_key("upstream-release/lsb-release")
                || table::derives_from(l, &base_id))
    }) {
        (l.clone(), Source::Lsb)
    } else if let Some(n) = name_id.filter(|n| *n != base_id && table::derives_from(n, &base_id)) {
        (n.to_string(), Source::Os)
    } else if let Some(r) = rel_id
        .as_ref()
        .filter(|r| **r != base_id && table::derives_from(r, &base_id))
    {
        (r.clone(), Source::Release)
    } else {
        (base_id.clone(), base_source)
    };
    let overridden = id != base_id;

    let os_valid = source == Source::Os || os_id.as_deref() == Some(id.as_str());
    let lsb_valid = lsb_id.as_deref() == Some(id.as_str());
    let rel_valid = rel_id.as_deref() == Some(id.as_str());

    // like
    let mut like = Vec::new();
    if overridden {
        dedup_push(&mut like, &base_id, &id);
        let base_like: Vec<String> = match os_get("ID_LIKE") {
            Some(l) if os_id.as_deref() == Some(base_id.as_str()) => {
                l.split_whitespace().map(normalize_os_id).collect()
            }
            _ => table::by_id(&base_id)
                .map(|r| r.like.iter().map(|s| s.to_string()).collect())
                .unwrap_or_default(),
        };
        for l in &base_like {
            dedup_push(&mut like, l, &id);
        }
    } else if let Some(l) = os_get("ID_LIKE").filter(|_| os_valid) {
        // As given, even when it names the normalised id itself (openSUSE Leap: "suse opensuse").
        for l in l.split_whitespace() {
            dedup_push(&mut like, l, "");
        }
    }
    if like.is_empty()
        && let Some(row) = table::by_id(&id)
    {
        for l in row.like {
            dedup_push(&mut like, l, &id);
        }
    }

    // dist
    let dist = match (&board, table::name_of(&id)) {
        (Some(b), _) => b.name.clone(),
        (None, Some(name)) => name.to_string(),
        (None, None) => {
            let from_os = os_get("NAME").filter(|_| os_valid);
            let from_lsb = lsb_get("DISTRIB_ID").filter(|_| lsb_valid);
            let from_rel = rel
                .as_ref()
                .filter(|_| rel_valid)
                .map(|r| r.line.name.trim())
                .filter(|s| !s.is_empty());
            from_os
                .or(from_lsb)
                .or(from_rel)
                .unwrap_or("Unknown")
                .to_string()
        }
    };

    // version
    let mut versions: Vec<String> = Vec::new();
    if let Some(b) = &board {
        versions.push(b.version.clone());
    } else {
        if os_valid {
            versions.extend(os_get("VERSION_ID").map(str::to_string));
        }
        if lsb_valid {
            versions.extend(lsb_get("DISTRIB_RELEASE").map(str::to_string));
        }
        if rel_valid && let Some(r) = &rel {
            versions.push(r.line.version.clone());
        }
        if os_valid {
            versions.extend(os_get("VERSION").and_then(leading_version));
            versions.extend(
                os_get("PRETTY_NAME")
                    .and_then(parse_release_line)
                    .map(|l| l.version),
            );
            versions.extend(os_get("DEBIAN_VERSION_FULL").map(str::to_string));
        }
        if lsb_valid {
            versions.extend(
                lsb_get("DISTRIB_DESCRIPTION")
                    .and_then(parse_release_line)
                    .map(|l| l.version),
            );
        }
        let debian_rebuild = id == "debian"
            || id == "raspbian"
            || (table::by_id(&id).is_none() && like.iter().any(|l| l == "debian"));
        if debian_rebuild {
            versions.extend(files.get("debian_version").and_then(parse_debian_version));
        }
    }
    let version = best_version(&versions);

    // codename
    let mut own_names = vec![dist.as_str(), id.as_str()];
    own_names.extend(os_get("NAME"));
    own_names.extend(rel.as_ref().map(|r| r.line.name.as_str()));
    let good_codename = |c: &str| good_codename(c, &own_names);
    let codename = if let Some(b) = &board {
        [Some(b.codename.clone()), os_codename(&os)]
            .into_iter()
            .flatten()
            .find_map(|c| good_codename(&c))
    } else {
        let mut candidates = Vec::new();
        let mut says_none = false;
        if os_valid && let Some(c) = os_codename(&os) {
            // VERSION_CODENAME="": the distribution says it has no codename (Fedora).
            says_none = c.trim().is_empty();
            candidates.push(c);
        }
        if !says_none {
            if lsb_valid {
                candidates.extend(lsb_get("DISTRIB_CODENAME").map(str::to_string));
            }
            if rel_valid && let Some(r) = &rel {
                candidates.push(r.line.codename.clone());
            }
        }
        candidates.iter().find_map(|c| good_codename(c))
    };

    let codename = codename.or_else(|| {
        if id == "debian" {
            debian_codename(&version).map(str::to_string)
        } else {
            None
        }
    });

    // pretty name
    let composed = || {
        let mut s = format!("{dist} {version}").trim().to_string();
        if let Some(c) = &codename {
            s.push_str(&format!(" ({c})"));
        }
        s
    };
    let pretty_name = match source {
        Source::Board => match os_get("PRETTY_NAME") {
            Some(p) if p.to_lowercase().starts_with(&dist.to_lowercase()) => p.to_string(),
            _ => composed(),
        },
        _ => {
            let from_os = os_get("PRETTY_NAME").filter(|_| os_valid && source != Source::Lsb);
            let from_lsb = lsb_get("DISTRIB_DESCRIPTION").filter(|_| lsb_valid);
            let from_rel = rel
                .as_ref()
                .filter(|_| rel_valid)
                .map(|r| r.first_line.as_str());
            from_os
                .or(from_lsb)
                .or(from_rel)
                .map_or_else(composed, str::to_string)
        }
    };

    let system = system_of(&id, &like);
    Distribution {
        system,
        dist,
        id,
        version,
        codename,
        like,
        pretty_name,
    }
}

/// The codename of a Debian major version ("6.0.10" → "squeeze").
#[must_use]
pub fn debian_codename(version: &str) -> Option<&'static str> {
    let major: u32 = version.split('.').next()?.parse().ok()?;
    const NAMES: &[&str] = &[
        "buzz", "rex", "bo", "hamm", "slink", "potato", "woody", "sarge", "etch", "lenny",
        "squeeze", "wheezy", "jessie", "stretch", "buster", "bullseye", "bookworm", "trixie",
        "forky", "duke",
    ];
    // 1.1 buzz .. 1.3 bo, 2.0 hamm, 2.1 slink, 2.2 potato, 3.0 woody, 3.1 sarge, then one per major from 4.
    match major {
        4.. => NAMES.get(major as usize + 4).copied(),
        _ => None,
    }
}

/// The userland version in FreeBSD's `/bin/freebsd-version` script
/// (`USERLAND_VERSION="13.2-RELEASE-p4"`).
#[must_use]
pub fn parse_freebsd_version_script(text: &str) -> Option<String> {
    text.lines().find_map(|l| {
        let v = l.trim().strip_prefix("USERLAND_VERSION=")?;
        let v = v.trim().trim_matches('"').trim();
        (v.starts_with(|c: char| c.is_ascii_digit())).then(|| v.to_string())
    })
}

fn freebsd_from_version_script(text: Option<&String>) -> Option<Distribution> {
    let full = parse_freebsd_version_script(text?)?;
    Some(Distribution {
        system: System::FreeBsd,
        dist: "FreeBSD".into(),
        id: "freebsd".into(),
        version: super::unix::bsd_version(&full),
        codename: None,
        like: Vec::new(),
        pretty_name: format!("FreeBSD {full}"),
    })
}

/// The `uname -rs` line a `bin/uname` shell script echoes ("FreeBSD 11.1-RELEASE"), as
/// python-distro's BSD test trees carry: (system name, release). `None` for a real binary.
#[must_use]
pub fn parse_uname_script(text: &str) -> Option<(String, String)> {
    if !text.starts_with("#!") {
        return None;
    }
    text.lines().find_map(|l| {
        let rest = l.trim().strip_prefix("echo")?;
        let rest = rest.trim().trim_matches(|c| c == '"' || c == '\'');
        let mut words = rest.split_whitespace();
        let name = words.next()?.to_string();
        let release = words.next()?.to_string();
        Some((name, release))
    })
}

fn bsd_from_uname_script(text: Option<&String>) -> Option<Distribution> {
    let (name, release) = parse_uname_script(text?)?;
    let (system, dist) = match name.to_ascii_lowercase().as_str() {
        "freebsd" => (System::FreeBsd, "FreeBSD"),
        "openbsd" => (System::OpenBsd, "OpenBSD"),
        "netbsd" => (System::NetBsd, "NetBSD"),
        "midnightbsd" => (System::Unknown, "MidnightBSD"),
        _ => return None,
    };
    let id = name.to_ascii_lowercase();
    let like = if id == "midnightbsd" {
        vec!["freebsd".to_string()]
    } else {
        Vec::new()
    };
    Some(Distribution {
        system,
        dist: dist.into(),
        id,
        version: super::unix::bsd_version(&release),
        codename: None,
        like,
        pretty_name: format!("{dist} {release}"),
    })
}

/// Parses Solaris and illumos `/etc/release`: "Oracle Solaris 11.4 X86" → ("Oracle Solaris",
/// "11.4"), "Oracle Solaris 10 1/13 s10x_u11wos_24a X86" → ("Oracle Solaris", "10"),
/// "OpenIndiana Hipster 2023.04 (powered by illumos)" → ("OpenIndiana Hipster", "2023.04").
#[must_use]
pub fn parse_solaris_release(text: &str) -> Option<(String, String)> {
    let line = text.lines().map(str::trim).find(|l| !l.is_empty())?;
    let words: Vec<&str> = line.split_whitespace().collect();
    let pos = words
        .iter()
        .position(|w| leading_version(w).is_some_and(|v| v.len() == w.len()))?;
    let version = leading_version(words[pos])?;
    let name = words[..pos].join(" ");
    (!name.is_empty()).then_some((name, version))
}

fn solaris_from_release(text: Option<&str>) -> Option<Distribution> {
    let text = text?;
    let (name, version) = parse_solaris_release(text)?;
    let lower = text.to_lowercase();
    let (system, id, dist) = if lower.contains("solaris") && !lower.contains("illumos") {
        (
            System::Solaris,
            "solaris".to_string(),
            "Solaris".to_string(),
        )
    } else if lower.contains("illumos") || lower.contains("openindiana") || lower.contains("omnios")
    {
        let id = table::id_by_name(&name).map_or_else(|| slug(&name), str::to_string);
        let dist = table::name_of(&id).map_or_else(|| name.clone(), str::to_string);
        (System::Illumos, id, dist)
    } else {
        return None;
    };
    let pretty_name = text
        .lines()
        .map(str::trim)
        .find(|l| !l.is_empty())
        .unwrap_or_default()
        .to_string();
    let like = if system == System::Illumos && id != "illumos" {
        vec!["illumos".to_string()]
    } else {
        Vec::new()
    };
    Some(Distribution {
        system,
        dist,
        id,
        version,
        codename: None,
        like,
        pretty_name,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn os_release_quoting() {
        let kv = parse_os_release(
            "# comment\nNAME=\"Foo \\\"Bar\\\" Linux\"\nID=foo\nVERSION='1.2 (x)'\nBAD LINE\nEMPTY=\nX=a\\ b\n",
        );
        assert_eq!(kv["NAME"], "Foo \"Bar\" Linux");
        assert_eq!(kv["ID"], "foo");
        assert_eq!(kv["VERSION"], "1.2 (x)");
        assert_eq!(kv["EMPTY"], "");
        assert_eq!(kv["X"], "a b");
        assert!(!kv.contains_key("BAD"));
    }

    #[test]
    fn release_lines() {
        let cases: &[(&str, &str, &str, &str)] = &[
            ("CentOS release 5.11 (Final)", "CentOS", "5.11", "Final"),
            (
                "CentOS Linux release 7.1.1503 (Core) ",
                "CentOS Linux",
                "7.1.1503",
                "Core",
            ),
            ("CentOS Stream release 9", "CentOS Stream", "9", ""),
            (
                "Red Hat Enterprise Linux Server release 6.5 (Santiago)",
                "Red Hat Enterprise Linux Server",
                "6.5",
                "Santiago",
            ),
            (
                "Oracle Linux Server release 7.5",
                "Oracle Linux Server",
                "7.5",
                "",
            ),
            (
                "Amazon Linux AMI release 2014.03",
                "Amazon Linux AMI",
                "2014.03",
                "",
            ),
            (
                "Amazon Linux release 2 (Karoo)",
                "Amazon Linux",
                "2",
                "Karoo",
            ),
            (
                "Amazon Linux release 2.0 (2017.12) LTS Release Candidate",
                "Amazon Linux",
                "2.0",
                "2017.12",
            ),
            (
                "Gentoo Base System release 2.2",
                "Gentoo Base System",
                "2.2",
                "",
            ),
            ("Slackware 14.1", "Slackware", "14.1", ""),
            ("openSUSE 42.1 (x86_64)", "openSUSE", "42.1", "x86_64"),
            (
                "Mageia release 5 (Official) for x86_64",
                "Mageia",
                "5",
                "Official",
            ),
            ("Manjaro Linux", "Manjaro Linux", "", ""),
            ("Ubuntu 14.04.3 LTS", "Ubuntu", "14.04.3", ""),
            ("Alpine Linux v3.23", "Alpine Linux v", "3.23", ""),
            (
                "ALT Server 10.1 (Mendelevium)",
                "ALT Server",
                "10.1",
                "Mendelevium",
            ),
        ];
        for (line, name, version, codename) in cases {
            let got = parse_release_line(line).unwrap_or_default();
            assert_eq!(
                (
                    got.name.as_str(),
                    got.version.as_str(),
                    got.codename.as_str()
                ),
                (*name, *version, *codename),
                "{line}"
            );
        }
        assert_eq!(parse_release_line("   "), None);
    }

    #[test]
    fn suse_release() {
        let sles11 = "SUSE Linux Enterprise Server 11 (x86_64)\nVERSION = 11\nPATCHLEVEL = 4\n";
        let got = parse_suse_release(sles11).unwrap_or_default();
        assert_eq!(
            (
                got.name.as_str(),
                got.version.as_str(),
                got.codename.as_str()
            ),
            ("SUSE Linux Enterprise Server", "11.4", "")
        );
        let os132 = "openSUSE 13.2 (x86_64)\nVERSION = 13.2\nCODENAME = Harlequin\n";
        let got = parse_suse_release(os132).unwrap_or_default();
        assert_eq!(
            (got.version.as_str(), got.codename.as_str()),
            ("13.2", "Harlequin")
        );
        let sles12ga = "SUSE Linux Enterprise Server 12 (x86_64)\nVERSION = 12\nPATCHLEVEL = 0\n";
        assert_eq!(
            parse_suse_release(sles12ga).unwrap_or_default().version,
            "12"
        );
    }

    #[test]
    fn codenames_in_version() {
        assert_eq!(codename_from_version("7 (Core)").as_deref(), Some("Core"));
        assert_eq!(
            codename_from_version("14.04.3 LTS, Trusty Tahr").as_deref(),
            Some("Trusty Tahr")
        );
        assert_eq!(
            codename_from_version("16.04.1 LTS (Xenial Xerus)").as_deref(),
            Some("Xenial Xerus")
        );
        assert_eq!(codename_from_version("42.1"), None);
        assert_eq!(codename_from_version("1.1.1 (Z)").as_deref(), Some("Z"));
    }

    #[test]
    fn leading_versions() {
        assert_eq!(
            leading_version("14.04.3 LTS, Trusty Tahr").as_deref(),
            Some("14.04.3")
        );
        assert_eq!(leading_version("12-SP1").as_deref(), Some("12"));
        assert_eq!(leading_version("v3.23").as_deref(), Some("3.23"));
        assert_eq!(leading_version("Rolling"), None);
        assert_eq!(leading_version(""), None);
    }

    #[test]
    fn release_file_names() {
        assert!(is_release_file_name("centos-release"));
        assert!(is_release_file_name("slackware-version"));
        assert!(is_release_file_name("SuSE-release"));
        assert!(!is_release_file_name("os-release"));
        assert!(!is_release_file_name("system-release-cpe"));
        assert!(!is_release_file_name("-release"));
        assert!(!is_release_file_name("debian_version"));
    }

    #[test]
    fn version_agreement() {
        let v = |xs: &[&str]| best_version(&xs.iter().map(|s| s.to_string()).collect::<Vec<_>>());
        assert_eq!(v(&["7", "7.9.2009"]), "7.9.2009");
        assert_eq!(v(&["11", "2.3.1"]), "11");
        assert_eq!(v(&["", "bookworm/sid"]), "bookworm/sid");
        assert_eq!(v(&["14.04", "14.04.3", "14.04.3"]), "14.04.3");
        assert_eq!(v(&[]), "");
    }

    #[test]
    fn solaris_release() {
        assert_eq!(
            parse_solaris_release("                             Oracle Solaris 11.4 X86\n"),
            Some(("Oracle Solaris".into(), "11.4".into()))
        );
        assert_eq!(
            parse_solaris_release("  Oracle Solaris 10 1/13 s10x_u11wos_24a X86\n  Copyright"),
            Some(("Oracle Solaris".into(), "10".into()))
        );
        assert_eq!(
            parse_solaris_release("  OpenIndiana Hipster 2023.04 (powered by illumos)\n"),
            Some(("OpenIndiana Hipster".into(), "2023.04".into()))
        );
        assert_eq!(parse_solaris_release("\u{0}\u{1}garbage"), None);
    }

    #[test]
    fn freebsd_version_script() {
        let script = "#!/bin/sh\n# comment\nUSERLAND_VERSION=\"13.2-RELEASE-p4\"\n";
        assert_eq!(
            parse_freebsd_version_script(script).as_deref(),
            Some("13.2-RELEASE-p4")
        );
        let d = identify(&ReleaseFiles::new().root_file("bin/freebsd-version", script));
        assert_eq!(
            (d.system, d.dist.as_str(), d.id.as_str(), d.version.as_str()),
            (System::FreeBsd, "FreeBSD", "freebsd", "13.2")
        );
        assert_eq!(
            parse_freebsd_version_script("USERLAND_VERSION=\"$foo\""),
            None
        );
        let os = "NAME=FreeBSD\nVERSION=\"14.0-RELEASE\"\nVERSION_ID=\"14.0\"\nID=freebsd\nPRETTY_NAME=\"FreeBSD 14.0-RELEASE\"\n";
        let d = identify(&ReleaseFiles::new().os_release(os));
        assert_eq!(
            (d.system, d.dist.as_str(), d.version.as_str()),
            (System::FreeBsd, "FreeBSD", "14.0")
        );
    }

    #[test]
    fn uname_scripts() {
        let script = "#!/bin/sh\necho \"OpenBSD 6.2\"\n";
        assert_eq!(
            parse_uname_script(script),
            Some(("OpenBSD".into(), "6.2".into()))
        );
        let d = identify(
            &ReleaseFiles::new().root_file("bin/uname", "#!/bin/sh\necho \"NetBSD 7.1.1\"\n"),
        );
        assert_eq!(
            (d.system, d.dist.as_str(), d.id.as_str(), d.version.as_str()),
            (System::NetBsd, "NetBSD", "netbsd", "7.1.1")
        );
        assert_eq!(
            parse_uname_script("\u{7f}ELF\u{2}\u{1}echo FreeBSD 1"),
            None
        );
        let linux = identify(
            &ReleaseFiles::new().root_file("bin/uname", "#!/bin/sh\necho \"Linux 6.1.0\"\n"),
        );
        assert_eq!(linux.id, "unknown");
    }

    #[test]
    fn unknown_distribution_from_os_release_only() {
        let d = identify(&ReleaseFiles::new().os_release(
            "NAME=\"Pengwin\"\nID=pengwin\nID_LIKE=debian\nVERSION_ID=\"24.1\"\nVERSION=\"24.1.3 (bookworm)\"\nPRETTY_NAME=\"Pengwin 24\"\n",
        ));
        assert_eq!(
            (d.dist.as_str(), d.id.as_str(), d.version.as_str()),
            ("Pengwin", "pengwin", "24.1.3")
        );
        assert_eq!(d.codename.as_deref(), Some("bookworm"));
        assert_eq!(d.like, ["debian"]);
        assert_eq!(d.system, System::Linux);
    }

    #[test]
    fn nothing_is_unknown() {
        let d = identify(&ReleaseFiles::new());
        assert_eq!(d, Distribution::unknown());
        let d = identify(
            &ReleaseFiles::new()
                .os_release("\u{0}\u{ff}\u{1}")
                .etc_file("lsb-release", "=\n=="),
        );
        assert_eq!(d.id, "unknown");
    }
}
