//! Windows command lines and environment blocks, pure (tested on every OS).

/// Splits a command line the way the Microsoft C runtime does: whitespace separates arguments
/// outside double quotes; backslashes are literal except before a quote. `None` for an
/// unterminated quote.
#[cfg_attr(not(windows), allow(dead_code))]
pub(crate) fn split_command_line(line: &str) -> Option<Vec<String>> {
    let mut out = Vec::new();
    let mut cur = String::new();
    let mut in_arg = false;
    let mut quoted = false;
    let mut backslashes = 0usize;
    for c in line.chars() {
        match c {
            '\\' => {
                backslashes += 1;
                in_arg = true;
                continue;
            }
            '"' => {
                cur.extend(std::iter::repeat_n('\\', backslashes / 2));
                if backslashes % 2 == 1 {
                    cur.push('"');
                } else {
                    quoted = !quoted;
                }
                backslashes = 0;
                in_arg = true;
                continue;
            }
            _ => {}
        }
        cur.extend(std::iter::repeat_n('\\', backslashes));
        backslashes = 0;
        if (c == ' ' || c == '\t') && !quoted {
            if in_arg {
                out.push(std::mem::take(&mut cur));
                in_arg = false;
            }
        } else {
            cur.push(c);
            in_arg = true;
        }
    }
    cur.extend(std::iter::repeat_n('\\', backslashes));
    if quoted {
        return None;
    }
    if in_arg {
        out.push(cur);
    }
    Some(out)
}

/// Quotes one argument so that the C runtime's parser gives it back unchanged.
#[cfg_attr(not(windows), allow(dead_code))]
pub(crate) fn quote_arg(arg: &str) -> String {
    if !arg.is_empty() && !arg.contains([' ', '\t', '\n', '\u{b}', '"']) {
        return arg.to_string();
    }
    let mut out = String::from("\"");
    let mut backslashes = 0usize;
    for c in arg.chars() {
        if c == '\\' {
            backslashes += 1;
            continue;
        }
        if c == '"' {
            out.extend(std::iter::repeat_n('\\', backslashes * 2 + 1));
        } else {
            out.extend(std::iter::repeat_n('\\', backslashes));
        }
        backslashes = 0;
        out.push(c);
    }
    out.extend(std::iter::repeat_n('\\', backslashes * 2));
    out.push('"');
    out
}

/// The full command line: program and arguments, each quoted.
#[cfg_attr(not(windows), allow(dead_code))]
pub(crate) fn command_line(program: &str, args: &[String]) -> String {
    std::iter::once(program)
        .chain(args.iter().map(String::as_str))
        .map(quote_arg)
        .collect::<Vec<_>>()
        .join(" ")
}

/// A `CREATE_UNICODE_ENVIRONMENT` block: `KEY=VALUE\0` sorted case-insensitively, then `\0`.
#[cfg_attr(not(windows), allow(dead_code))]
pub(crate) fn environment_block(env: &[(String, String)]) -> Vec<u16> {
    let mut vars: Vec<&(String, String)> = env.iter().collect();
    vars.sort_by_key(|(k, _)| k.to_uppercase());
    let mut out = Vec::new();
    for (k, v) in vars {
        out.extend(k.encode_utf16());
        out.push('=' as u16);
        out.extend(v.encode_utf16());
        out.push(0);
    }
    if out.is_empty() {
        out.push(0);
    }
    out.push(0);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn splits_like_the_c_runtime() {
        let cases: &[(&str, &[&str])] = &[
            (
                r"C:\Python\python.exe -m web",
                &[r"C:\Python\python.exe", "-m", "web"],
            ),
            (
                r#""C:\Program Files\x.exe" "a b" c"#,
                &[r"C:\Program Files\x.exe", "a b", "c"],
            ),
            (r#"a\"b "c\\" d"#, &[r#"a"b"#, r"c\", "d"]),
            ("  spaced   out  ", &["spaced", "out"]),
            (r#""""#, &[""]),
        ];
        for (line, want) in cases {
            assert_eq!(split_command_line(line).unwrap(), *want, "{line}");
        }
        assert_eq!(split_command_line(r#"unterminated "quote"#), None);
    }

    #[test]
    fn quoting_round_trips() {
        let args = [
            "plain",
            "with space",
            r#"q"uote"#,
            r"trail\",
            r"C:\dir\",
            "",
            r#"\\"\\"#,
        ];
        for a in args {
            let q = quote_arg(a);
            assert_eq!(
                split_command_line(&q).unwrap(),
                vec![a.to_string()],
                "{a:?} -> {q}"
            );
        }
        let line = command_line(r"C:\x y\p.exe", &["a b".into(), "c".into()]);
        assert_eq!(line, r#""C:\x y\p.exe" "a b" c"#);
    }

    #[test]
    fn environment_block_is_sorted_and_double_nul_terminated() {
        let env = vec![
            ("b".to_string(), "2".to_string()),
            ("A".to_string(), "1".to_string()),
        ];
        let block = environment_block(&env);
        let text = String::from_utf16(&block).unwrap();
        assert_eq!(text, "A=1\0b=2\0\0");
        assert_eq!(environment_block(&[]), vec![0, 0]);
    }

    proptest::proptest! {
        #[test]
        fn any_argument_round_trips(a in "\\PC{0,20}") {
            proptest::prop_assert_eq!(split_command_line(&quote_arg(&a)), Some(vec![a.clone()]));
        }
    }
}
