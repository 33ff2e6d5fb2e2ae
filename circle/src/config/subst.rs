//! Variable substitution, pure.
//!
//! - `$(circle.env.NAME)` (prefix in any case, `circus.` too): a variable's value;
//! - `$(circle.wid)`: left in place at load time, replaced by the process's slot number at spawn;
//! - in `[env]` values only: `$NAME`, `${NAME}` and `$$` (a literal `$`).
//!
//! Any other `$(...)` (e.g. a shell's `$(date)`) is left untouched; an unknown `$(circle.*)` is an error.

/// Why a substitution failed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum SubstError {
    /// The variable is defined nowhere.
    Undefined(String),
    /// `$(circle.something)` that circle does not know.
    Unknown(String),
    /// `${` or `$(circle.` without its closing bracket.
    Unterminated(String),
}

impl std::fmt::Display for SubstError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            SubstError::Undefined(v) => write!(f, "undefined variable {v}"),
            SubstError::Unknown(v) => write!(
                f,
                "unknown variable {v} (known: $(circle.env.NAME), $(circle.wid))"
            ),
            SubstError::Unterminated(v) => write!(f, "unterminated variable {v:?}"),
        }
    }
}

fn is_name_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || c == '_'
}

/// Replaces variables in `s`. `lookup` answers a variable's value. With `shell_vars`,
/// `$NAME`, `${NAME}` and `$$` are substituted too.
pub(crate) fn substitute(
    s: &str,
    shell_vars: bool,
    lookup: &dyn Fn(&str) -> Option<String>,
) -> Result<String, SubstError> {
    let mut out = String::with_capacity(s.len());
    let mut rest = s;
    while let Some(pos) = rest.find('$') {
        out.push_str(&rest[..pos]);
        let after = &rest[pos + 1..];
        if let Some(inner) = after.strip_prefix('(') {
            let lower = inner.to_ascii_lowercase();
            if lower.starts_with("circle.") || lower.starts_with("circus.") {
                let Some(end) = inner.find(')') else {
                    return Err(SubstError::Unterminated(format!("$({inner}")));
                };
                let var = &inner[..end];
                let spelled = format!("$({var})");
                let lvar = var.to_ascii_lowercase();
                let tail = &lvar[7..];
                if tail == "wid" {
                    out.push_str(&spelled);
                } else if let Some(name) = tail.strip_prefix("env.") {
                    // Keep the name's own case (the prefix is case-insensitive).
                    let name = &var[var.len() - name.len()..];
                    match lookup(name) {
                        Some(v) => out.push_str(&v),
                        None => return Err(SubstError::Undefined(spelled)),
                    }
                } else {
                    return Err(SubstError::Unknown(spelled));
                }
                rest = &inner[end + 1..];
                continue;
            }
            out.push('$');
            rest = after;
            continue;
        }
        if !shell_vars {
            out.push('$');
            rest = after;
            continue;
        }
        if let Some(r) = after.strip_prefix('$') {
            out.push('$');
            rest = r;
        } else if let Some(inner) = after.strip_prefix('{') {
            let Some(end) = inner.find('}') else {
                return Err(SubstError::Unterminated(format!("${{{inner}")));
            };
            let name = &inner[..end];
            if name.is_empty() || !name.chars().all(is_name_char) {
                return Err(SubstError::Unterminated(format!("${{{name}}}")));
            }
            match lookup(name) {
                Some(v) => out.push_str(&v),
                None => return Err(SubstError::Undefined(format!("${{{name}}}"))),
            }
            rest = &inner[end + 1..];
        } else {
            let len = after
                .char_indices()
                .find(|&(_, c)| !is_name_char(c))
                .map_or(after.len(), |(i, _)| i);
            if len == 0 {
                // A lone `$` (e.g. at the end or before a space) stays as is.
                out.push('$');
                rest = after;
                continue;
            }
            let name = &after[..len];
            match lookup(name) {
                Some(v) => out.push_str(&v),
                None => return Err(SubstError::Undefined(format!("${name}"))),
            }
            rest = &after[len..];
        }
    }
    out.push_str(rest);
    Ok(out)
}

/// Replaces `$(circle.wid)` / `$(circus.wid)` (any case) with the slot number.
pub(crate) fn substitute_wid(s: &str, wid: usize) -> String {
    if !s.contains("$(") {
        return s.to_string();
    }
    let mut out = String::with_capacity(s.len());
    let mut rest = s;
    while let Some(pos) = rest.find("$(") {
        out.push_str(&rest[..pos]);
        let inner = &rest[pos + 2..];
        let lower: String = inner
            .chars()
            .take(11)
            .collect::<String>()
            .to_ascii_lowercase();
        if lower == "circle.wid)" || lower == "circus.wid)" {
            out.push_str(&wid.to_string());
            rest = &inner[11..];
        } else {
            out.push_str("$(");
            rest = inner;
        }
    }
    out.push_str(rest);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn vars(name: &str) -> Option<String> {
        match name {
            "HOME" => Some("/home/u".into()),
            "ANT_PYTHON" => Some("/usr/bin/python3".into()),
            "EMPTY" => Some(String::new()),
            _ => None,
        }
    }

    #[test]
    fn circle_env_any_case() {
        let cases = [
            ("$(circle.env.HOME)/x", "/home/u/x"),
            (
                "$(CIRCLE.ENV.ANT_PYTHON) -m framework",
                "/usr/bin/python3 -m framework",
            ),
            ("$(circus.env.HOME)", "/home/u"),
            ("a$(Circle.Env.EMPTY)b", "ab"),
            ("echo $(date) $HOME", "echo $(date) $HOME"),
            ("w$(circle.wid)", "w$(circle.wid)"),
            ("100$", "100$"),
        ];
        for (input, want) in cases {
            assert_eq!(
                substitute(input, false, &vars).as_deref(),
                Ok(want),
                "{input}"
            );
        }
    }

    #[test]
    fn shell_vars_in_env_values() {
        let cases = [
            ("$HOME/lib", "/home/u/lib"),
            ("${HOME}lib", "/home/ulib"),
            ("$$HOME", "$HOME"),
            ("a $ b", "a $ b"),
            ("$(circle.env.HOME):$HOME", "/home/u:/home/u"),
        ];
        for (input, want) in cases {
            assert_eq!(
                substitute(input, true, &vars).as_deref(),
                Ok(want),
                "{input}"
            );
        }
    }

    #[test]
    fn errors() {
        assert_eq!(
            substitute("$(circle.env.UNDEFINED)", false, &vars),
            Err(SubstError::Undefined("$(circle.env.UNDEFINED)".into()))
        );
        assert_eq!(
            substitute("$NOPE", true, &vars),
            Err(SubstError::Undefined("$NOPE".into()))
        );
        assert!(matches!(
            substitute("$(circle.sockets.web)", false, &vars),
            Err(SubstError::Unknown(_))
        ));
        assert!(matches!(
            substitute("$(circle.env.HOME", false, &vars),
            Err(SubstError::Unterminated(_))
        ));
        assert!(matches!(
            substitute("${HOME", true, &vars),
            Err(SubstError::Unterminated(_))
        ));
    }

    #[test]
    fn wid() {
        assert_eq!(
            substitute_wid("--id $(circle.wid) $(CIRCUS.WID)", 3),
            "--id 3 3"
        );
        assert_eq!(
            substitute_wid("$(date) $(circle.wi", 1),
            "$(date) $(circle.wi"
        );
    }

    proptest::proptest! {
        #[test]
        fn never_panics(s in "\\PC*", shell in proptest::bool::ANY) {
            let _ = substitute(&s, shell, &vars);
            let _ = substitute_wid(&s, 7);
        }

        #[test]
        fn text_without_dollar_is_unchanged(s in "[^$]*") {
            proptest::prop_assert_eq!(substitute(&s, true, &vars), Ok(s.clone()));
        }
    }
}
