//! Signals, by name or number, on every OS.

use std::fmt;
use std::str::FromStr;

use serde::{Serialize, Serializer};

use crate::error::{Error, Result};

/// A signal a watcher's processes can be sent.
///
/// Parses `"TERM"`, `"SIGTERM"`, `"term"` or the number `"15"`.
///
/// # Platform behavior
/// Numbers are those of the running OS (`USR1` is 10 on Linux, 30 on macOS and FreeBSD); on
/// Windows, which has no signals, the Linux numbers are used for parsing. On Windows `INT`,
/// `TERM`, `HUP`, `QUIT` and `BREAK`-like stops are delivered as `CTRL_BREAK_EVENT` to the
/// process group, and `KILL` terminates the process's Job Object.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
#[non_exhaustive]
pub enum Signal {
    /// SIGHUP: hang up, conventionally "reload".
    Hup,
    /// SIGINT: interrupt (Ctrl-C).
    Int,
    /// SIGQUIT: quit with core.
    Quit,
    /// SIGKILL: cannot be caught.
    Kill,
    /// SIGUSR1.
    Usr1,
    /// SIGUSR2.
    Usr2,
    /// SIGTERM: polite stop, the default `stop_signal`.
    Term,
    /// SIGALRM.
    Alrm,
    /// SIGCONT: continue a stopped process.
    Cont,
    /// SIGSTOP: stop (pause), cannot be caught.
    Stop,
    /// SIGTSTP: terminal stop.
    Tstp,
    /// SIGWINCH: window size changed.
    Winch,
    /// SIGTTIN.
    Ttin,
    /// SIGTTOU.
    Ttou,
    /// SIGABRT.
    Abrt,
}

/// Name (without `SIG`), signal, Linux number.
const TABLE: &[(&str, Signal, i32)] = &[
    ("HUP", Signal::Hup, 1),
    ("INT", Signal::Int, 2),
    ("QUIT", Signal::Quit, 3),
    ("ABRT", Signal::Abrt, 6),
    ("KILL", Signal::Kill, 9),
    ("USR1", Signal::Usr1, 10),
    ("USR2", Signal::Usr2, 12),
    ("ALRM", Signal::Alrm, 14),
    ("TERM", Signal::Term, 15),
    ("CONT", Signal::Cont, 18),
    ("STOP", Signal::Stop, 19),
    ("TSTP", Signal::Tstp, 20),
    ("TTIN", Signal::Ttin, 21),
    ("TTOU", Signal::Ttou, 22),
    ("WINCH", Signal::Winch, 28),
];

impl Signal {
    /// Every signal, in table order.
    pub fn all() -> impl Iterator<Item = Signal> {
        TABLE.iter().map(|&(_, s, _)| s)
    }

    /// The name without the `SIG` prefix, e.g. `"TERM"`.
    pub fn name(self) -> &'static str {
        TABLE
            .iter()
            .find(|&&(_, s, _)| s == self)
            .map_or("?", |&(n, _, _)| n)
    }

    /// The signal's number on this OS.
    ///
    /// # Platform behavior
    /// On Unix the value of the libc constant; elsewhere the Linux number.
    pub fn number(self) -> i32 {
        #[cfg(unix)]
        {
            match self {
                Signal::Hup => libc::SIGHUP,
                Signal::Int => libc::SIGINT,
                Signal::Quit => libc::SIGQUIT,
                Signal::Kill => libc::SIGKILL,
                Signal::Usr1 => libc::SIGUSR1,
                Signal::Usr2 => libc::SIGUSR2,
                Signal::Term => libc::SIGTERM,
                Signal::Alrm => libc::SIGALRM,
                Signal::Cont => libc::SIGCONT,
                Signal::Stop => libc::SIGSTOP,
                Signal::Tstp => libc::SIGTSTP,
                Signal::Winch => libc::SIGWINCH,
                Signal::Ttin => libc::SIGTTIN,
                Signal::Ttou => libc::SIGTTOU,
                Signal::Abrt => libc::SIGABRT,
            }
        }
        #[cfg(not(unix))]
        {
            TABLE
                .iter()
                .find(|&&(_, s, _)| s == self)
                .map_or(0, |&(_, _, n)| n)
        }
    }

    /// The signal with this number on this OS, if it is one `circle` knows.
    pub fn from_number(n: i32) -> Option<Signal> {
        Signal::all().find(|s| s.number() == n)
    }

    /// Parses `"TERM"`, `"SIGTERM"`, `"sigterm"` or `"15"`.
    ///
    /// # Errors
    /// [`Error::BadSignal`] when the text names no known signal.
    pub fn parse(text: &str) -> Result<Signal> {
        let t = text.trim();
        if let Ok(n) = t.parse::<i32>() {
            return Signal::from_number(n).ok_or_else(|| Error::BadSignal {
                value: text.to_string(),
            });
        }
        let upper = t.to_ascii_uppercase();
        let name = upper.strip_prefix("SIG").unwrap_or(&upper);
        let name = match name {
            "IOT" => "ABRT",
            "CLD" | "CHLD" => "",
            other => other,
        };
        TABLE
            .iter()
            .find(|&&(n, _, _)| n == name)
            .map(|&(_, s, _)| s)
            .ok_or_else(|| Error::BadSignal {
                value: text.to_string(),
            })
    }
}

impl fmt::Display for Signal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for Signal {
    type Err = Error;
    fn from_str(s: &str) -> Result<Signal> {
        Signal::parse(s)
    }
}

impl Serialize for Signal {
    fn serialize<S: Serializer>(&self, s: S) -> std::result::Result<S::Ok, S::Error> {
        s.serialize_str(self.name())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_names_prefixes_and_numbers() {
        let cases = [
            ("TERM", Some(Signal::Term)),
            ("SIGTERM", Some(Signal::Term)),
            ("sigterm", Some(Signal::Term)),
            (" term ", Some(Signal::Term)),
            ("15", Some(Signal::Term)),
            ("9", Some(Signal::Kill)),
            ("KILL", Some(Signal::Kill)),
            ("hup", Some(Signal::Hup)),
            ("SIGIOT", Some(Signal::Abrt)),
            ("QUIT", Some(Signal::Quit)),
            ("WINCH", Some(Signal::Winch)),
            ("TERMINATE", None),
            ("", None),
            ("SIG", None),
            ("0", None),
            ("999", None),
            ("-15", None),
            ("CHLD", None),
        ];
        for (text, want) in cases {
            assert_eq!(Signal::parse(text).ok(), want, "{text:?}");
        }
    }

    #[test]
    fn names_and_numbers_round_trip() {
        for s in Signal::all() {
            assert_eq!(Signal::parse(s.name()).ok(), Some(s));
            assert_eq!(Signal::from_number(s.number()), Some(s));
            assert_eq!(Signal::parse(&s.number().to_string()).ok(), Some(s));
        }
    }

    #[cfg(unix)]
    #[test]
    fn numbers_are_the_os_numbers() {
        assert_eq!(Signal::Term.number(), libc::SIGTERM);
        assert_eq!(Signal::Usr1.number(), libc::SIGUSR1);
        assert_eq!(
            Signal::parse(&libc::SIGUSR2.to_string()).ok(),
            Some(Signal::Usr2)
        );
    }

    #[test]
    fn serializes_as_name() {
        assert_eq!(
            serde_json::to_string(&Signal::Term).ok().as_deref(),
            Some("\"TERM\"")
        );
    }
}
