//! What a reload changes: a pure comparison of two configurations.

use serde::Serialize;

use crate::config::{Config, Watcher};

/// A watcher whose number of processes changes.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[non_exhaustive]
pub struct ScaleChange {
    /// The watcher.
    pub name: String,
    /// Processes before.
    pub from: usize,
    /// Processes after.
    pub to: usize,
}

/// What a reload did (or, from [`diff`], will do).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
#[non_exhaustive]
pub struct ReloadReport {
    /// New watchers, started if `autostart`.
    pub added: Vec<String>,
    /// Watchers gone from the configuration, stopped gracefully.
    pub removed: Vec<String>,
    /// Watchers whose processes change (command, environment, user, limits, output...): restarted.
    pub restarted: Vec<String>,
    /// Watchers whose only process change is their number: processes added or removed, the
    /// others keep running.
    pub scaled: Vec<ScaleChange>,
    /// Watchers whose supervision settings changed (timeouts, respawn, priority...): applied
    /// in place, processes keep running.
    pub updated: Vec<String>,
    /// Watchers that did not change: their processes keep their pids.
    pub unchanged: Vec<String>,
    /// Whether the `[circle]` section changed (applied by `circled` where it can, e.g. the log level).
    pub circle_changed: bool,
}

/// Copies the settings that do not affect a running process from `from` into `into`.
fn with_settings_of(into: &Watcher, from: &Watcher) -> Watcher {
    let mut w = into.clone();
    w.numprocesses = from.numprocesses;
    w.location.clone_from(&from.location);
    w.respawn = from.respawn;
    w.max_retry = from.max_retry;
    w.min_uptime = from.min_uptime;
    w.backoff_delay = from.backoff_delay;
    w.max_backoff = from.max_backoff;
    w.graceful_timeout = from.graceful_timeout;
    w.warmup_delay = from.warmup_delay;
    w.stop_signal = from.stop_signal;
    w.stop_children = from.stop_children;
    w.autostart = from.autostart;
    w.priority = from.priority;
    w.singleton = from.singleton;
    w
}

/// Whether two definitions run the same processes (same command, environment, identity, limits,
/// output), ignoring their number and supervision settings.
pub fn same_processes(a: &Watcher, b: &Watcher) -> bool {
    with_settings_of(a, b) == *b
}

/// Compares two configurations watcher by watcher.
pub fn diff(old: &Config, new: &Config) -> ReloadReport {
    let mut r = ReloadReport {
        circle_changed: old.circle != new.circle,
        ..ReloadReport::default()
    };
    for n in &new.watchers {
        match old.get(&n.name) {
            None => r.added.push(n.name.clone()),
            Some(o) if !same_processes(o, n) => r.restarted.push(n.name.clone()),
            Some(o) => {
                if o.numprocesses != n.numprocesses {
                    r.scaled.push(ScaleChange {
                        name: n.name.clone(),
                        from: o.numprocesses,
                        to: n.numprocesses,
                    });
                }
                let mut o2 = o.clone();
                o2.numprocesses = n.numprocesses;
                o2.location.clone_from(&n.location);
                if o2 != *n {
                    r.updated.push(n.name.clone());
                } else if o.numprocesses == n.numprocesses {
                    r.unchanged.push(n.name.clone());
                }
            }
        }
    }
    for o in &old.watchers {
        if new.get(&o.name).is_none() {
            r.removed.push(o.name.clone());
        }
    }
    r
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    fn w(name: &str, cmd: &str) -> Watcher {
        Watcher::new(name).cmd(cmd)
    }

    #[test]
    fn classifies_every_kind_of_change() {
        let old = Config::new()
            .watcher(w("same", "sleep 1"))
            .watcher(w("gone", "sleep 2"))
            .watcher(w("cmd", "sleep 3"))
            .watcher(w("env", "sleep 4"))
            .watcher(w("scale", "sleep 5").numprocesses(2))
            .watcher(w("timeout", "sleep 6"))
            .watcher(w("both", "sleep 7"));
        let mut new = Config::new()
            .watcher(w("same", "sleep 1"))
            .watcher(w("cmd", "sleep 33"))
            .watcher(w("env", "sleep 4").env("A", "1"))
            .watcher(w("scale", "sleep 5").numprocesses(5))
            .watcher(w("timeout", "sleep 6").graceful_timeout(Duration::from_secs(3)))
            .watcher(w("both", "sleep 7").numprocesses(3).priority(4))
            .watcher(w("new", "sleep 8"));
        // Where a watcher is defined does not matter.
        new.watchers[0].location = Some(("other.ini".into(), 42));
        let r = diff(&old, &new);
        assert_eq!(r.added, ["new"]);
        assert_eq!(r.removed, ["gone"]);
        assert_eq!(r.restarted, ["cmd", "env"]);
        assert_eq!(
            r.scaled,
            [
                ScaleChange {
                    name: "scale".into(),
                    from: 2,
                    to: 5
                },
                ScaleChange {
                    name: "both".into(),
                    from: 1,
                    to: 3
                },
            ]
        );
        assert_eq!(r.updated, ["timeout", "both"]);
        assert_eq!(r.unchanged, ["same"]);
        assert!(!r.circle_changed);
    }

    #[test]
    fn identical_configs_change_nothing() {
        let c = Config::new()
            .watcher(w("a", "x"))
            .watcher(w("b", "y").numprocesses(3));
        let r = diff(&c, &c.clone());
        assert_eq!(r.unchanged, ["a", "b"]);
        assert!(r.added.is_empty() && r.removed.is_empty() && r.restarted.is_empty());
        assert!(r.scaled.is_empty() && r.updated.is_empty());
    }

    #[test]
    fn output_and_identity_changes_restart() {
        let a = w("a", "x");
        assert!(!same_processes(&a, &a.clone().uid("nobody")));
        assert!(!same_processes(&a, &a.clone().working_dir("/tmp")));
        assert!(!same_processes(
            &a,
            &a.clone().stdout_stream(crate::StreamConfig::file("/tmp/x"))
        ));
        assert!(same_processes(
            &a,
            &a.clone().respawn(false).max_retry(None)
        ));
    }
}
