//! Parsers for configuration values, pure.

use std::time::Duration;

use super::StreamClass;

/// `true/false`, `yes/no`, `on/off`, `1/0` (any case).
pub(crate) fn parse_bool(s: &str) -> Result<bool, String> {
    match s.trim().to_ascii_lowercase().as_str() {
        "true" | "yes" | "on" | "1" => Ok(true),
        "false" | "no" | "off" | "0" => Ok(false),
        _ => Err(format!("expected true or false, found {s:?}")),
    }
}

/// A duration: seconds as a number (`30`, `0.5`) or with a unit (`500ms`, `30s`, `2m`, `1h`).
///
/// # Errors
/// A message naming the text when it is not a non-negative duration.
pub fn parse_duration(s: &str) -> Result<Duration, String> {
    let t = s.trim().to_ascii_lowercase();
    let split = t
        .find(|c: char| !(c.is_ascii_digit() || c == '.'))
        .unwrap_or(t.len());
    let (num, unit) = t.split_at(split);
    let factor = match unit.trim() {
        "" | "s" | "sec" | "secs" | "second" | "seconds" => 1.0,
        "ms" => 0.001,
        "m" | "min" | "mins" | "minute" | "minutes" => 60.0,
        "h" | "hour" | "hours" => 3600.0,
        _ => {
            return Err(format!(
                "expected a duration like 30, 0.5, 500ms or 2m, found {s:?}"
            ));
        }
    };
    let n: f64 = num
        .parse()
        .map_err(|_| format!("expected a duration like 30, 0.5, 500ms or 2m, found {s:?}"))?;
    let secs = n * factor;
    if !secs.is_finite() || !(0.0..=1e10).contains(&secs) {
        return Err(format!("duration out of range: {s:?}"));
    }
    Ok(Duration::from_secs_f64(secs))
}

/// A size in bytes: `1024`, `10KB`, `10 MB`, `1MiB`, `2G` (K/M/G/T are powers of 1024, as in
/// circus and supervisord).
///
/// # Errors
/// A message naming the text when it is not a size.
pub fn parse_size(s: &str) -> Result<u64, String> {
    let t = s.trim().to_ascii_lowercase();
    let split = t.find(|c: char| !c.is_ascii_digit()).unwrap_or(t.len());
    let (num, unit) = t.split_at(split);
    let shift = match unit.trim() {
        "" | "b" => 0,
        "k" | "kb" | "kib" => 10,
        "m" | "mb" | "mib" => 20,
        "g" | "gb" | "gib" => 30,
        "t" | "tb" | "tib" => 40,
        _ => {
            return Err(format!(
                "expected a size like 1024, 10KB or 10MB, found {s:?}"
            ));
        }
    };
    let n: u64 = num
        .parse()
        .map_err(|_| format!("expected a size like 1024, 10KB or 10MB, found {s:?}"))?;
    n.checked_mul(1u64 << shift)
        .ok_or_else(|| format!("size out of range: {s:?}"))
}

/// An integer.
pub(crate) fn parse_int<T: std::str::FromStr>(s: &str, what: &str) -> Result<T, String> {
    s.trim()
        .parse()
        .map_err(|_| format!("expected {what}, found {s:?}"))
}

/// `max_retry`: a count, or -1 for "forever".
pub(crate) fn parse_max_retry(s: &str) -> Result<Option<u32>, String> {
    match s.trim() {
        "-1" => Ok(None),
        t => parse_int(t, "a count or -1").map(Some),
    }
}

/// An octal umask, `022` or `0o022`.
pub(crate) fn parse_umask(s: &str) -> Result<u32, String> {
    let t = s.trim();
    let digits = t.strip_prefix("0o").unwrap_or(t);
    match u32::from_str_radix(digits, 8) {
        Ok(v) if v <= 0o777 => Ok(v),
        _ => Err(format!("expected an octal umask like 022, found {s:?}")),
    }
}

/// A resource limit: a number (sizes accepted) or `unlimited`/`infinity`/`-1`.
pub(crate) fn parse_rlimit(s: &str) -> Result<Option<u64>, String> {
    match s.trim().to_ascii_lowercase().as_str() {
        "unlimited" | "infinity" | "-1" => Ok(None),
        _ => parse_size(s).map(Some),
    }
}

/// `FileStream`, `StdoutStream`, `Null` (circus class names, with or without `circus.stream.`).
pub(crate) fn parse_stream_class(s: &str) -> Result<StreamClass, String> {
    let t = s.trim();
    let short = t.rsplit('.').next().unwrap_or(t).to_ascii_lowercase();
    match short.as_str() {
        // WatchedFileStream reopens a moved file: here `circlectl reopen` does that.
        "filestream" | "file" | "watchedfilestream" => Ok(StreamClass::File),
        "stdoutstream" | "stdout" | "fancystdoutstream" => Ok(StreamClass::Stdout),
        "null" | "nullstream" | "none" => Ok(StreamClass::Null),
        _ => Err(format!(
            "unknown stream class {s:?}: expected FileStream, StdoutStream or Null"
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations() {
        let ok = [
            ("30", 30_000),
            ("0.5", 500),
            ("500ms", 500),
            ("2m", 120_000),
            (" 1.5 s ", 1500),
            ("1h", 3_600_000),
            ("0", 0),
        ];
        for (s, ms) in ok {
            assert_eq!(parse_duration(s), Ok(Duration::from_millis(ms)), "{s}");
        }
        for bad in ["", "-1", "abc", "1x", "1.2.3", "s"] {
            assert!(parse_duration(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn sizes() {
        let ok = [
            ("1024", 1024),
            ("10KB", 10 << 10),
            ("10 MB", 10 << 20),
            ("1MiB", 1 << 20),
            ("2g", 2 << 30),
            ("0", 0),
        ];
        for (s, n) in ok {
            assert_eq!(parse_size(s), Ok(n), "{s}");
        }
        for bad in [
            "",
            "ten",
            "10XB",
            "-5",
            "99999999999999999999",
            "18446744073709551615T",
        ] {
            assert!(parse_size(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn small_values() {
        assert_eq!(parse_bool("Yes"), Ok(true));
        assert_eq!(parse_bool("off"), Ok(false));
        assert!(parse_bool("maybe").is_err());
        assert_eq!(parse_max_retry("-1"), Ok(None));
        assert_eq!(parse_max_retry("3"), Ok(Some(3)));
        assert!(parse_max_retry("-2").is_err());
        assert_eq!(parse_umask("022"), Ok(0o22));
        assert_eq!(parse_umask("0o077"), Ok(0o77));
        assert!(parse_umask("9").is_err());
        assert_eq!(parse_rlimit("unlimited"), Ok(None));
        assert_eq!(parse_rlimit("4096"), Ok(Some(4096)));
        assert_eq!(parse_stream_class("FileStream"), Ok(StreamClass::File));
        assert_eq!(
            parse_stream_class("circus.stream.StdoutStream"),
            Ok(StreamClass::Stdout)
        );
        assert!(parse_stream_class("Syslog").is_err());
    }

    proptest::proptest! {
        #[test]
        fn parsers_never_panic(s in "\\PC*") {
            let _ = parse_duration(&s);
            let _ = parse_size(&s);
            let _ = parse_umask(&s);
            let _ = parse_rlimit(&s);
        }
    }
}
