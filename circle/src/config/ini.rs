//! A pure INI reader with line numbers, compatible with what circus (Python's `configparser`) accepts.
//!
//! - `[section]` headers, `key = value` or `key: value` entries;
//! - whole-line comments starting with `#` or `;`;
//! - inline comments: ` #` (whitespace then `#`) outside quotes ends the value;
//! - indented lines continue the previous value (joined with a newline), as in `configparser`.

use std::path::{Path, PathBuf};

use crate::error::ConfigError;

/// One `key = value` line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct RawEntry {
    pub key: String,
    pub value: String,
    pub line: usize,
}

/// One section with its entries, in file order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct RawSection {
    pub name: String,
    pub file: PathBuf,
    pub line: usize,
    pub entries: Vec<RawEntry>,
}

/// Removes an inline ` # comment` that is outside quotes.
fn strip_inline_comment(s: &str) -> &str {
    let mut quote: Option<char> = None;
    let mut prev_ws = true;
    for (i, c) in s.char_indices() {
        match quote {
            Some(q) if c == q => quote = None,
            Some(_) => {}
            None if c == '"' || c == '\'' => quote = Some(c),
            None if c == '#' && prev_ws => return &s[..i],
            None => {}
        }
        prev_ws = c.is_whitespace();
    }
    s
}

/// Parses INI text. Returns the sections found and every malformed line.
pub(crate) fn parse_ini(text: &str, file: &Path) -> (Vec<RawSection>, Vec<ConfigError>) {
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    let mut sections: Vec<RawSection> = Vec::new();
    let mut errors = Vec::new();
    // Whether the last non-comment line was an entry that an indented line may continue.
    let mut continuable = false;
    for (idx, raw) in text.lines().enumerate() {
        let lineno = idx + 1;
        let line = raw.trim_end();
        let trimmed = line.trim_start();
        if trimmed.is_empty() {
            continuable = false;
            continue;
        }
        if trimmed.starts_with('#') || trimmed.starts_with(';') {
            continue;
        }
        let indented = line.len() != trimmed.len();
        if indented && continuable {
            if let Some(entry) = sections.last_mut().and_then(|s| s.entries.last_mut()) {
                let more = strip_inline_comment(trimmed).trim_end();
                if !entry.value.is_empty() {
                    entry.value.push('\n');
                }
                entry.value.push_str(more);
                continue;
            }
        }
        if let Some(rest) = trimmed.strip_prefix('[') {
            let rest = strip_inline_comment(rest).trim_end();
            match rest.strip_suffix(']') {
                Some(name) if !name.trim().is_empty() => {
                    sections.push(RawSection {
                        name: name.trim().to_string(),
                        file: file.to_path_buf(),
                        line: lineno,
                        entries: Vec::new(),
                    });
                }
                _ => errors.push(ConfigError::new(
                    file,
                    lineno,
                    format!("malformed section header {trimmed:?}: expected `[name]`"),
                )),
            }
            continuable = false;
            continue;
        }
        let sep = trimmed.find(['=', ':']);
        let Some(sep) = sep else {
            errors.push(ConfigError::new(
                file,
                lineno,
                format!("malformed line {trimmed:?}: expected `key = value`"),
            ));
            continuable = false;
            continue;
        };
        let key = trimmed[..sep].trim();
        let value = strip_inline_comment(&trimmed[sep + 1..]).trim();
        if key.is_empty() {
            errors.push(ConfigError::new(
                file,
                lineno,
                format!("malformed line {trimmed:?}: empty key"),
            ));
            continuable = false;
            continue;
        }
        let Some(section) = sections.last_mut() else {
            errors.push(
                ConfigError::new(file, lineno, "key outside of any section").key(key.to_string()),
            );
            continuable = false;
            continue;
        };
        if section.entries.iter().any(|e| e.key == key) {
            let first = section
                .entries
                .iter()
                .find(|e| e.key == key)
                .map_or(0, |e| e.line);
            errors.push(
                ConfigError::new(
                    file,
                    lineno,
                    format!("duplicate key (first set on line {first})"),
                )
                .section(section.name.clone())
                .key(key.to_string()),
            );
            continuable = false;
            continue;
        }
        section.entries.push(RawEntry {
            key: key.to_string(),
            value: value.to_string(),
            line: lineno,
        });
        continuable = true;
    }
    (sections, errors)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str) -> (Vec<RawSection>, Vec<ConfigError>) {
        parse_ini(text, Path::new("t.ini"))
    }

    #[test]
    fn sections_entries_and_lines() {
        let (s, e) = parse(
            "# comment\n[circle]\nendpoint = /tmp/x\n\n[watcher:web]\ncmd: python -m web\n; other\nargs = --port 80   # the port\n",
        );
        assert!(e.is_empty(), "{e:?}");
        assert_eq!(s.len(), 2);
        assert_eq!(s[0].name, "circle");
        assert_eq!(s[0].line, 2);
        assert_eq!(s[0].entries[0].value, "/tmp/x");
        assert_eq!(s[1].name, "watcher:web");
        assert_eq!(s[1].entries[0].key, "cmd");
        assert_eq!(s[1].entries[0].value, "python -m web");
        assert_eq!(s[1].entries[0].line, 6);
        assert_eq!(s[1].entries[1].value, "--port 80");
        assert_eq!(s[1].entries[1].line, 8);
    }

    #[test]
    fn inline_comments_respect_quotes_and_need_whitespace() {
        let (s, _) = parse("[a]\nx = echo '# not a comment' # comment\ny = a#b\nz = \"q # q\"\n");
        assert_eq!(s[0].entries[0].value, "echo '# not a comment'");
        assert_eq!(s[0].entries[1].value, "a#b");
        assert_eq!(s[0].entries[2].value, "\"q # q\"");
    }

    #[test]
    fn continuation_lines_join() {
        let (s, e) = parse("[a]\ncmd = python\n   -m web\n   --debug\nnext = 1\n");
        assert!(e.is_empty());
        assert_eq!(s[0].entries[0].value, "python\n-m web\n--debug");
        assert_eq!(s[0].entries[1].key, "next");
    }

    #[test]
    fn errors_carry_line_numbers() {
        let (_, e) = parse("orphan = 1\n[a]\nno separator here\n[broken\nx = 1\nx = 2\n= 3\n");
        let lines: Vec<usize> = e.iter().map(|e| e.line).collect();
        assert_eq!(lines, vec![1, 3, 4, 6, 7], "{e:?}");
        assert!(e[3].message.contains("duplicate key"));
        assert!(e[3].message.contains("line 5"));
    }

    #[test]
    fn bom_and_crlf() {
        let (s, e) = parse("\u{feff}[a]\r\nx = 1\r\n");
        assert!(e.is_empty());
        assert_eq!(s[0].entries[0].value, "1");
    }

    proptest::proptest! {
        #[test]
        fn never_panics(text in "\\PC*") {
            let _ = parse(&text);
        }

        #[test]
        fn error_lines_are_in_range(text in "([\\[\\]=:#; a-z]{0,12}\n){0,12}") {
            let (s, e) = parse(&text);
            let n = text.lines().count();
            for err in &e { proptest::prop_assert!(err.line >= 1 && err.line <= n); }
            for sec in &s { for ent in &sec.entries { proptest::prop_assert!(ent.line >= 1 && ent.line <= n); } }
        }
    }
}
