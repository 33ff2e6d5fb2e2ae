//! The supervision decisions of one watcher, as a pure state machine.
//!
//! [`Machine::step`] takes an [`Input`] and the current time and returns the [`Action`]s to carry
//! out: spawn a slot, signal a process, arm a timer, give up. Time is passed in, so backoff,
//! warmup and graceful timeouts are tested without sleeping or processes; the runtime is a thin
//! layer that performs the actions and feeds back what happened (spawned, exited, timer fired).
//!
//! One slot (`wid`), by input:
//!
//! | slot is | input | becomes | actions |
//! | --- | --- | --- | --- |
//! | stopped | `Start` | spawning (or waiting `warmup_delay × k`) | `Spawn` |
//! | spawning | `Spawned` | running | (`Started` once no slot is pending) |
//! | spawning | `SpawnFailed` | as a quick death | |
//! | running | `Exited`, up ≥ `min_uptime` | spawning | `Spawn` (backoff count reset) |
//! | running | `Exited`, quick death n ≤ `max_retry` | spawning (n = 1) or waiting `backoff(n)` | `Spawn` / `ArmTimer` |
//! | running | `Exited`, quick death n > `max_retry` | stopped; watcher failed | `GiveUp`, others stopped |
//! | running | `Exited`, `respawn = false` | exited | |
//! | running | `Stop` | stopping | `Signal(stop_signal)`, `ArmTimer(graceful_timeout)` |
//! | stopping | `Timer` past the deadline | killing | `Signal(KILL)` |
//! | stopping, killing | `Exited` | stopped (spawning if started again meanwhile) | `KillTree` with `stop_children`; `Stopped` once none is left |
//! | waiting | `Timer` at its time | spawning | `Spawn` |
//! | waiting | `Stop` | stopped | (a backoff never outlives a stop by hand) |

use std::time::{Duration, Instant};

use serde::Serialize;

use crate::config::Watcher;
use crate::signal::Signal;

/// How a process ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[non_exhaustive]
pub struct ExitInfo {
    /// The exit code, when it exited by itself.
    pub code: Option<i32>,
    /// The signal that killed it (Unix).
    pub signal: Option<i32>,
}

impl ExitInfo {
    /// An exit with a code.
    pub fn code(code: i32) -> Self {
        ExitInfo {
            code: Some(code),
            signal: None,
        }
    }

    /// A death by signal.
    pub fn signal(signal: i32) -> Self {
        ExitInfo {
            code: None,
            signal: Some(signal),
        }
    }
}

impl std::fmt::Display for ExitInfo {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match (self.code, self.signal) {
            (_, Some(s)) => match Signal::from_number(s) {
                Some(sig) => write!(f, "killed by SIG{sig}"),
                None => write!(f, "killed by signal {s}"),
            },
            (Some(c), None) => write!(f, "exited with code {c}"),
            (None, None) => f.write_str("exited"),
        }
    }
}

/// The decisions' parameters, taken from a [`Watcher`].
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct Policy {
    /// Restart processes that exit.
    pub respawn: bool,
    /// Quick deaths in a row before giving up (`None`: never).
    pub max_retry: Option<u32>,
    /// A process up for less than this died "quickly".
    pub min_uptime: Duration,
    /// First backoff delay (the first quick death respawns at once).
    pub backoff_delay: Duration,
    /// Backoff cap.
    pub max_backoff: Duration,
    /// Time between the stop signal and `KILL`.
    pub graceful_timeout: Duration,
    /// Delay between spawning two slots.
    pub warmup_delay: Duration,
    /// The stop signal.
    pub stop_signal: Signal,
    /// Signal and kill the whole tree.
    pub stop_children: bool,
}

impl Policy {
    /// The policy of a watcher.
    pub fn from_watcher(w: &Watcher) -> Self {
        Policy {
            respawn: w.respawn,
            max_retry: w.max_retry,
            min_uptime: w.min_uptime,
            backoff_delay: w.backoff_delay,
            max_backoff: w.max_backoff,
            graceful_timeout: w.graceful_timeout,
            warmup_delay: w.warmup_delay,
            stop_signal: w.stop_signal,
            stop_children: w.stop_children,
        }
    }

    /// The delay before respawning after the `n`-th quick death in a row (n >= 1):
    /// none for the first, then `backoff_delay`, doubling, capped at `max_backoff`.
    pub fn backoff(&self, n: u32) -> Duration {
        if n <= 1 {
            return Duration::ZERO;
        }
        let factor = 1u32.checked_shl(n - 2).unwrap_or(u32::MAX);
        self.backoff_delay
            .checked_mul(factor)
            .unwrap_or(self.max_backoff)
            .min(self.max_backoff)
    }
}

/// What the machine is told.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub enum Input {
    /// Start (by hand or autostart): spawn every slot; clears a failure.
    Start,
    /// Stop by hand: stop every process; nothing respawns until the next `Start`.
    Stop,
    /// Run this many slots.
    Scale(usize),
    /// A slot's process was spawned.
    Spawned {
        /// The slot.
        wid: usize,
        /// Its pid.
        pid: u32,
    },
    /// A slot's process could not be spawned.
    SpawnFailed {
        /// The slot.
        wid: usize,
        /// Why.
        reason: String,
    },
    /// A process exited (and was reaped).
    Exited {
        /// Its pid.
        pid: u32,
        /// How.
        exit: ExitInfo,
    },
    /// A timer armed earlier fired (or any time: the machine acts on what is due).
    Timer,
}

/// What the machine asks for.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub enum Action {
    /// Spawn the process of slot `wid`, then report `Spawned` or `SpawnFailed`.
    Spawn {
        /// The slot.
        wid: usize,
    },
    /// Send a signal to a process (its whole tree when `tree`).
    Signal {
        /// The slot.
        wid: usize,
        /// The process.
        pid: u32,
        /// The signal.
        signal: Signal,
        /// The whole tree (process group and descendants).
        tree: bool,
    },
    /// The process `pid` is gone; kill whatever is left of its tree (`stop_children`).
    KillTree {
        /// The slot.
        wid: usize,
        /// The former process.
        pid: u32,
    },
    /// Call `step(Timer)` at this time.
    ArmTimer {
        /// When.
        at: Instant,
    },
    /// Every wanted process has been spawned (after a `Start`).
    Started,
    /// No process is left (after a `Stop` or a give-up).
    Stopped,
    /// Too many quick deaths: the watcher failed.
    GiveUp {
        /// Why.
        reason: String,
    },
}

/// The state of a whole watcher.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "state", rename_all = "lowercase")]
#[non_exhaustive]
pub enum WatcherState {
    /// Not running.
    Stopped,
    /// Spawning its processes.
    Starting,
    /// All processes spawned.
    Running,
    /// Stopping its processes.
    Stopping,
    /// Waiting to respawn a process that died quickly.
    Backoff,
    /// Gave up after `max_retry` quick deaths; stays so until started by hand.
    Failed {
        /// Why.
        reason: String,
    },
}

/// The state of one process slot.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
#[non_exhaustive]
pub enum ProcessState {
    /// No process.
    Stopped,
    /// Being spawned.
    Spawning,
    /// Running.
    Running,
    /// Stop signal sent, waiting for it to exit.
    Stopping,
    /// `KILL` sent, waiting for it to be reaped.
    Killing,
    /// Waiting before a (re)spawn: warmup or backoff.
    Waiting,
    /// Exited and not respawned (`respawn = false`).
    Exited,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Phase {
    Idle,
    Waiting { at: Instant, backoff: bool },
    Spawning,
    Running { pid: u32, since: Instant },
    Stopping { pid: u32, deadline: Instant },
    Killing { pid: u32 },
    Dead,
}

/// One process slot (`wid`).
#[derive(Debug, Clone, PartialEq)]
pub struct Slot {
    wid: usize,
    phase: Phase,
    restarts: u32,
    quick_deaths: u32,
    last_exit: Option<ExitInfo>,
    remove: bool,
}

impl Slot {
    fn new(wid: usize) -> Self {
        Slot {
            wid,
            phase: Phase::Idle,
            restarts: 0,
            quick_deaths: 0,
            last_exit: None,
            remove: false,
        }
    }

    /// The slot number, from 1.
    pub fn wid(&self) -> usize {
        self.wid
    }

    /// The pid of its process, if one runs.
    pub fn pid(&self) -> Option<u32> {
        match self.phase {
            Phase::Running { pid, .. } | Phase::Stopping { pid, .. } | Phase::Killing { pid } => {
                Some(pid)
            }
            _ => None,
        }
    }

    /// How many times it was respawned.
    pub fn restarts(&self) -> u32 {
        self.restarts
    }

    /// How its last process ended.
    pub fn last_exit(&self) -> Option<ExitInfo> {
        self.last_exit
    }

    /// Its state.
    pub fn state(&self) -> ProcessState {
        match self.phase {
            Phase::Idle => ProcessState::Stopped,
            Phase::Waiting { .. } => ProcessState::Waiting,
            Phase::Spawning => ProcessState::Spawning,
            Phase::Running { .. } => ProcessState::Running,
            Phase::Stopping { .. } => ProcessState::Stopping,
            Phase::Killing { .. } => ProcessState::Killing,
            Phase::Dead => ProcessState::Exited,
        }
    }

    fn active(&self) -> bool {
        matches!(
            self.phase,
            Phase::Spawning
                | Phase::Running { .. }
                | Phase::Stopping { .. }
                | Phase::Killing { .. }
        )
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Target {
    Running,
    Stopped,
    Failed(String),
}

/// The state machine of one watcher.
#[derive(Debug, Clone)]
pub struct Machine {
    policy: Policy,
    slots: Vec<Slot>,
    target: Target,
    starting: bool,
    stopping: bool,
}

impl Machine {
    /// A stopped watcher with `numprocesses` slots.
    pub fn new(policy: Policy, numprocesses: usize) -> Self {
        Machine {
            policy,
            slots: (1..=numprocesses).map(Slot::new).collect(),
            target: Target::Stopped,
            starting: false,
            stopping: false,
        }
    }

    /// The policy in force.
    pub fn policy(&self) -> &Policy {
        &self.policy
    }

    /// Replaces the policy (a reload that changes only timings); running processes are kept.
    pub fn set_policy(&mut self, policy: Policy) {
        self.policy = policy;
    }

    /// The slots.
    pub fn slots(&self) -> &[Slot] {
        &self.slots
    }

    /// The slot whose process has this pid.
    pub fn slot_of(&self, pid: u32) -> Option<&Slot> {
        self.slots.iter().find(|s| s.pid() == Some(pid))
    }

    /// Whether a start is in progress (not every process spawned yet).
    pub fn is_starting(&self) -> bool {
        self.starting
    }

    /// Whether the watcher is wanted running.
    pub fn wanted_running(&self) -> bool {
        self.target == Target::Running
    }

    /// Whether any process is alive (or being spawned).
    pub fn any_active(&self) -> bool {
        self.slots.iter().any(Slot::active)
    }

    /// The watcher's state.
    pub fn state(&self) -> WatcherState {
        match &self.target {
            Target::Failed(reason) => WatcherState::Failed {
                reason: reason.clone(),
            },
            Target::Stopped if self.any_active() => WatcherState::Stopping,
            Target::Stopped => WatcherState::Stopped,
            Target::Running => {
                if self
                    .slots
                    .iter()
                    .any(|s| matches!(s.phase, Phase::Waiting { backoff: true, .. }))
                {
                    WatcherState::Backoff
                } else if self.starting {
                    WatcherState::Starting
                } else if self
                    .slots
                    .iter()
                    .any(|s| matches!(s.phase, Phase::Stopping { .. } | Phase::Killing { .. }))
                {
                    WatcherState::Stopping
                } else if !self.slots.is_empty()
                    && self
                        .slots
                        .iter()
                        .all(|s| matches!(s.phase, Phase::Dead | Phase::Idle))
                {
                    WatcherState::Stopped
                } else {
                    WatcherState::Running
                }
            }
        }
    }

    /// The earliest time the machine wants a `Timer`.
    pub fn next_deadline(&self) -> Option<Instant> {
        self.slots
            .iter()
            .filter_map(|s| match s.phase {
                Phase::Waiting { at, .. } if self.target == Target::Running => Some(at),
                Phase::Stopping { deadline, .. } => Some(deadline),
                _ => None,
            })
            .min()
    }

    /// Feeds one input; returns the actions to carry out, in order.
    pub fn step(&mut self, input: Input, now: Instant) -> Vec<Action> {
        let mut out = Vec::new();
        match input {
            Input::Start => self.start(now, &mut out),
            Input::Stop => self.stop(now, &mut out),
            Input::Scale(n) => self.scale(n, now, &mut out),
            Input::Spawned { wid, pid } => {
                if let Some(i) = self.index(wid) {
                    if self.slots[i].phase == Phase::Spawning {
                        self.slots[i].phase = Phase::Running { pid, since: now };
                        if self.target != Target::Running || self.slots[i].remove {
                            self.stop_slot(i, now, &mut out);
                        }
                    }
                }
            }
            Input::SpawnFailed { wid, reason } => {
                if let Some(i) = self.index(wid) {
                    if self.slots[i].phase == Phase::Spawning {
                        self.slots[i].phase = Phase::Idle;
                        if self.target == Target::Running && !self.slots[i].remove {
                            self.quick_death(i, now, &reason, &mut out);
                        } else if self.slots[i].remove {
                            self.slots.remove(i);
                        }
                    }
                }
            }
            Input::Exited { pid, exit } => self.exited(pid, exit, now, &mut out),
            Input::Timer => self.timer(now, &mut out),
        }
        self.notify(&mut out);
        if let Some(at) = self.next_deadline() {
            out.push(Action::ArmTimer { at });
        }
        out
    }

    fn index(&self, wid: usize) -> Option<usize> {
        self.slots.iter().position(|s| s.wid == wid)
    }

    fn notify(&mut self, out: &mut Vec<Action>) {
        if self.starting
            && self.target == Target::Running
            && !self.slots.iter().any(|s| match s.phase {
                Phase::Waiting { .. } | Phase::Spawning | Phase::Idle => true,
                // Stopped for a restart: respawns when it exits.
                Phase::Stopping { .. } | Phase::Killing { .. } => !s.remove,
                _ => false,
            })
        {
            self.starting = false;
            out.push(Action::Started);
        }
        if self.stopping && !self.any_active() {
            self.stopping = false;
            out.push(Action::Stopped);
        }
    }

    fn start(&mut self, now: Instant, out: &mut Vec<Action>) {
        self.target = Target::Running;
        self.starting = true;
        self.stopping = false;
        let mut k: u32 = 0;
        for i in 0..self.slots.len() {
            self.slots[i].quick_deaths = 0;
            match self.slots[i].phase {
                Phase::Idle | Phase::Dead | Phase::Waiting { .. } => {
                    let at = now + self.policy.warmup_delay.saturating_mul(k);
                    k += 1;
                    if at <= now {
                        self.slots[i].phase = Phase::Spawning;
                        out.push(Action::Spawn {
                            wid: self.slots[i].wid,
                        });
                    } else {
                        self.slots[i].phase = Phase::Waiting { at, backoff: false };
                    }
                }
                // Stopping/Killing slots respawn when they exit; running ones stay.
                _ => {}
            }
        }
    }

    fn stop(&mut self, now: Instant, out: &mut Vec<Action>) {
        // A stop by hand also clears a failure: the watcher is simply stopped.
        self.target = Target::Stopped;
        self.starting = false;
        self.stopping = true;
        for i in 0..self.slots.len() {
            match self.slots[i].phase {
                Phase::Running { .. } => self.stop_slot(i, now, out),
                Phase::Waiting { .. } | Phase::Dead => self.slots[i].phase = Phase::Idle,
                _ => {}
            }
        }
    }

    fn stop_slot(&mut self, i: usize, now: Instant, out: &mut Vec<Action>) {
        if let Phase::Running { pid, .. } = self.slots[i].phase {
            out.push(Action::Signal {
                wid: self.slots[i].wid,
                pid,
                signal: self.policy.stop_signal,
                tree: self.policy.stop_children,
            });
            if self.policy.stop_signal == Signal::Kill {
                self.slots[i].phase = Phase::Killing { pid };
            } else {
                self.slots[i].phase = Phase::Stopping {
                    pid,
                    deadline: now + self.policy.graceful_timeout,
                };
            }
        }
    }

    fn scale(&mut self, n: usize, now: Instant, out: &mut Vec<Action>) {
        let live = self.slots.iter().filter(|s| !s.remove).count();
        if n > live {
            for _ in live..n {
                let mut wid = 1;
                while self.slots.iter().any(|s| s.wid == wid) {
                    wid += 1;
                }
                let mut slot = Slot::new(wid);
                if self.target == Target::Running {
                    slot.phase = Phase::Spawning;
                    out.push(Action::Spawn { wid });
                }
                self.slots.push(slot);
            }
            self.slots.sort_by_key(|s| s.wid);
        } else {
            let mut excess = live - n;
            let mut order: Vec<usize> = (0..self.slots.len()).collect();
            order.sort_by_key(|&i| std::cmp::Reverse(self.slots[i].wid));
            let mut drop_now = Vec::new();
            for i in order {
                if excess == 0 {
                    break;
                }
                if self.slots[i].remove {
                    continue;
                }
                excess -= 1;
                self.slots[i].remove = true;
                match self.slots[i].phase {
                    Phase::Running { .. } => self.stop_slot(i, now, out),
                    Phase::Idle | Phase::Dead | Phase::Waiting { .. } => drop_now.push(i),
                    _ => {}
                }
            }
            drop_now.sort_unstable_by(|a, b| b.cmp(a));
            for i in drop_now {
                self.slots.remove(i);
            }
        }
    }

    fn exited(&mut self, pid: u32, exit: ExitInfo, now: Instant, out: &mut Vec<Action>) {
        let Some(i) = self.slots.iter().position(|s| s.pid() == Some(pid)) else {
            return;
        };
        let wid = self.slots[i].wid;
        self.slots[i].last_exit = Some(exit);
        match self.slots[i].phase {
            Phase::Running { since, .. } => {
                self.slots[i].phase = Phase::Idle;
                if self.target == Target::Running && !self.slots[i].remove {
                    if now.saturating_duration_since(since) >= self.policy.min_uptime {
                        self.slots[i].quick_deaths = 0;
                    }
                    if self.policy.respawn {
                        self.quick_or_respawn(i, now, &exit.to_string(), since, out);
                    } else {
                        self.slots[i].phase = Phase::Dead;
                    }
                } else if self.slots[i].remove {
                    self.slots.remove(i);
                }
            }
            Phase::Stopping { .. } | Phase::Killing { .. } => {
                if self.policy.stop_children {
                    out.push(Action::KillTree { wid, pid });
                }
                self.slots[i].phase = Phase::Idle;
                if self.slots[i].remove {
                    self.slots.remove(i);
                } else if self.target == Target::Running {
                    // Stopped for a restart: respawn at once.
                    self.slots[i].phase = Phase::Spawning;
                    self.slots[i].restarts += 1;
                    out.push(Action::Spawn { wid });
                }
            }
            _ => {}
        }
    }

    fn quick_or_respawn(
        &mut self,
        i: usize,
        now: Instant,
        reason: &str,
        since: Instant,
        out: &mut Vec<Action>,
    ) {
        if now.saturating_duration_since(since) < self.policy.min_uptime {
            self.quick_death(i, now, reason, out);
        } else {
            self.slots[i].phase = Phase::Spawning;
            self.slots[i].restarts += 1;
            out.push(Action::Spawn {
                wid: self.slots[i].wid,
            });
        }
    }

    fn quick_death(&mut self, i: usize, now: Instant, reason: &str, out: &mut Vec<Action>) {
        let slot = &mut self.slots[i];
        slot.quick_deaths += 1;
        let n = slot.quick_deaths;
        if let Some(max) = self.policy.max_retry {
            if n > max {
                let reason = format!(
                    "process {} died {n} times in a row within {:?} of starting (last: {reason}); gave up after max_retry = {max}",
                    slot.wid, self.policy.min_uptime
                );
                slot.phase = Phase::Idle;
                self.give_up(reason, now, out);
                return;
            }
        }
        let delay = self.policy.backoff(n);
        if delay.is_zero() {
            slot.phase = Phase::Spawning;
            slot.restarts += 1;
            out.push(Action::Spawn { wid: slot.wid });
        } else {
            slot.phase = Phase::Waiting {
                at: now + delay,
                backoff: true,
            };
        }
    }

    fn give_up(&mut self, reason: String, now: Instant, out: &mut Vec<Action>) {
        self.target = Target::Failed(reason.clone());
        self.starting = false;
        self.stopping = true;
        out.push(Action::GiveUp { reason });
        for i in 0..self.slots.len() {
            match self.slots[i].phase {
                Phase::Running { .. } => self.stop_slot(i, now, out),
                Phase::Waiting { .. } | Phase::Dead => self.slots[i].phase = Phase::Idle,
                _ => {}
            }
        }
    }

    fn timer(&mut self, now: Instant, out: &mut Vec<Action>) {
        for i in 0..self.slots.len() {
            match self.slots[i].phase {
                Phase::Stopping { pid, deadline } if deadline <= now => {
                    out.push(Action::Signal {
                        wid: self.slots[i].wid,
                        pid,
                        signal: Signal::Kill,
                        tree: self.policy.stop_children,
                    });
                    self.slots[i].phase = Phase::Killing { pid };
                }
                Phase::Waiting { at, backoff } if at <= now && self.target == Target::Running => {
                    self.slots[i].phase = Phase::Spawning;
                    if backoff {
                        self.slots[i].restarts += 1;
                    }
                    out.push(Action::Spawn {
                        wid: self.slots[i].wid,
                    });
                }
                _ => {}
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn policy() -> Policy {
        Policy::from_watcher(
            &Watcher::new("t")
                .cmd("x")
                .graceful_timeout(Duration::from_secs(30))
                .min_uptime(Duration::from_secs(1))
                .backoff_delay(Duration::from_millis(100))
                .max_backoff(Duration::from_secs(2)),
        )
    }

    fn secs(s: f64) -> Duration {
        Duration::from_secs_f64(s)
    }

    fn spawns(actions: &[Action]) -> Vec<usize> {
        actions
            .iter()
            .filter_map(|a| match a {
                Action::Spawn { wid } => Some(*wid),
                _ => None,
            })
            .collect()
    }

    /// Starts `n` slots and reports pids 100+wid spawned at t0.
    fn running(n: usize, p: Policy, t0: Instant) -> Machine {
        let mut m = Machine::new(p, n);
        let a = m.step(Input::Start, t0);
        for wid in spawns(&a) {
            m.step(
                Input::Spawned {
                    wid,
                    pid: 100 + wid as u32,
                },
                t0,
            );
        }
        m
    }

    #[test]
    fn start_spawns_every_slot_then_reports_started() {
        let t0 = Instant::now();
        let mut m = Machine::new(policy(), 3);
        assert_eq!(m.state(), WatcherState::Stopped);
        let a = m.step(Input::Start, t0);
        assert_eq!(spawns(&a), vec![1, 2, 3]);
        assert_eq!(m.state(), WatcherState::Starting);
        assert!(m.step(Input::Spawned { wid: 1, pid: 11 }, t0).is_empty());
        m.step(Input::Spawned { wid: 2, pid: 12 }, t0);
        let a = m.step(Input::Spawned { wid: 3, pid: 13 }, t0);
        assert_eq!(a, vec![Action::Started]);
        assert_eq!(m.state(), WatcherState::Running);
        assert_eq!(m.slot_of(12).map(Slot::wid), Some(2));
    }

    #[test]
    fn warmup_delay_staggers_spawns() {
        let t0 = Instant::now();
        let mut p = policy();
        p.warmup_delay = secs(2.0);
        let mut m = Machine::new(p, 3);
        let a = m.step(Input::Start, t0);
        assert_eq!(spawns(&a), vec![1]);
        assert!(a.contains(&Action::ArmTimer { at: t0 + secs(2.0) }));
        m.step(Input::Spawned { wid: 1, pid: 1 }, t0);
        assert!(spawns(&m.step(Input::Timer, t0 + secs(1.9))).is_empty());
        let a = m.step(Input::Timer, t0 + secs(2.0));
        assert_eq!(spawns(&a), vec![2]);
        assert!(a.contains(&Action::ArmTimer { at: t0 + secs(4.0) }));
        m.step(Input::Spawned { wid: 2, pid: 2 }, t0 + secs(2.0));
        let a = m.step(Input::Timer, t0 + secs(4.0));
        assert_eq!(spawns(&a), vec![3]);
        let a = m.step(Input::Spawned { wid: 3, pid: 3 }, t0 + secs(4.0));
        assert!(a.contains(&Action::Started));
    }

    #[test]
    fn a_death_after_min_uptime_respawns_at_once() {
        let t0 = Instant::now();
        let mut m = running(2, policy(), t0);
        let a = m.step(
            Input::Exited {
                pid: 101,
                exit: ExitInfo::signal(9),
            },
            t0 + secs(5.0),
        );
        assert_eq!(a, vec![Action::Spawn { wid: 1 }]);
        m.step(Input::Spawned { wid: 1, pid: 201 }, t0 + secs(5.0));
        assert_eq!(m.slots()[0].restarts(), 1);
        assert_eq!(m.slots()[0].last_exit(), Some(ExitInfo::signal(9)));
        assert_eq!(m.state(), WatcherState::Running);
    }

    #[test]
    fn quick_deaths_back_off_exponentially_capped_then_give_up() {
        let t0 = Instant::now();
        let mut p = policy();
        p.max_retry = Some(6);
        let mut m = running(1, p, t0);
        let mut now = t0;
        let mut pid = 101;
        let mut delays = Vec::new();
        for _ in 0..6 {
            now += secs(0.01);
            let a = m.step(
                Input::Exited {
                    pid,
                    exit: ExitInfo::code(1),
                },
                now,
            );
            let at = a.iter().find_map(|a| match a {
                Action::ArmTimer { at } => Some(*at),
                _ => None,
            });
            match at {
                None => {
                    assert_eq!(spawns(&a), vec![1]);
                    delays.push(Duration::ZERO);
                }
                Some(at) => {
                    assert_eq!(m.state(), WatcherState::Backoff);
                    delays.push(at - now);
                    assert!(spawns(&m.step(Input::Timer, at - secs(0.001))).is_empty());
                    now = at;
                    assert_eq!(spawns(&m.step(Input::Timer, now)), vec![1]);
                }
            }
            pid += 1;
            m.step(Input::Spawned { wid: 1, pid }, now);
        }
        assert_eq!(delays, [0.0, 0.1, 0.2, 0.4, 0.8, 1.6].map(secs).to_vec(),);
        assert_eq!(p_backoff(10), secs(2.0));
        // The 7th quick death exceeds max_retry = 6.
        let a = m.step(
            Input::Exited {
                pid,
                exit: ExitInfo::code(1),
            },
            now + secs(0.01),
        );
        assert!(
            matches!(&a[0], Action::GiveUp { reason } if reason.contains("max_retry = 6") && reason.contains("exited with code 1"))
        );
        assert!(a.contains(&Action::Stopped));
        assert!(matches!(m.state(), WatcherState::Failed { .. }));
        // Nothing happens any more until a manual start.
        assert!(m.step(Input::Timer, now + secs(100.0)).is_empty());
        let mut stopped = m.clone();
        assert_eq!(stopped.step(Input::Stop, now), vec![Action::Stopped]);
        assert_eq!(
            stopped.state(),
            WatcherState::Stopped,
            "a stop by hand clears the failure"
        );
        let a = m.step(Input::Start, now + secs(100.0));
        assert_eq!(spawns(&a), vec![1]);
        assert_eq!(m.state(), WatcherState::Starting);
    }

    fn p_backoff(n: u32) -> Duration {
        policy().backoff(n)
    }

    #[test]
    fn staying_up_resets_the_backoff() {
        let t0 = Instant::now();
        let mut p = policy();
        p.max_retry = Some(2);
        let mut m = running(1, p, t0);
        // Two quick deaths: second waits 100 ms.
        m.step(
            Input::Exited {
                pid: 101,
                exit: ExitInfo::code(1),
            },
            t0 + secs(0.1),
        );
        m.step(Input::Spawned { wid: 1, pid: 102 }, t0 + secs(0.1));
        m.step(
            Input::Exited {
                pid: 102,
                exit: ExitInfo::code(1),
            },
            t0 + secs(0.2),
        );
        m.step(Input::Timer, t0 + secs(0.3));
        m.step(Input::Spawned { wid: 1, pid: 103 }, t0 + secs(0.3));
        // Up for 10 s: the next death is not quick, and the count starts over.
        let a = m.step(
            Input::Exited {
                pid: 103,
                exit: ExitInfo::code(1),
            },
            t0 + secs(10.3),
        );
        assert_eq!(spawns(&a), vec![1]);
        m.step(Input::Spawned { wid: 1, pid: 104 }, t0 + secs(10.3));
        let a = m.step(
            Input::Exited {
                pid: 104,
                exit: ExitInfo::code(1),
            },
            t0 + secs(10.4),
        );
        assert_eq!(
            spawns(&a),
            vec![1],
            "first quick death after a reset respawns at once"
        );
        assert_eq!(m.state(), WatcherState::Running);
    }

    #[test]
    fn graceful_stop_escalates_to_kill_after_timeout() {
        let t0 = Instant::now();
        let mut m = running(1, policy(), t0);
        let a = m.step(Input::Stop, t0 + secs(1.0));
        assert_eq!(
            a,
            vec![
                Action::Signal {
                    wid: 1,
                    pid: 101,
                    signal: Signal::Term,
                    tree: false
                },
                Action::ArmTimer {
                    at: t0 + secs(31.0)
                },
            ]
        );
        assert_eq!(m.state(), WatcherState::Stopping);
        assert!(
            m.step(Input::Timer, t0 + secs(30.9))
                .iter()
                .all(|a| matches!(a, Action::ArmTimer { .. }))
        );
        let a = m.step(Input::Timer, t0 + secs(31.0));
        assert_eq!(
            a,
            vec![Action::Signal {
                wid: 1,
                pid: 101,
                signal: Signal::Kill,
                tree: false
            }]
        );
        let a = m.step(
            Input::Exited {
                pid: 101,
                exit: ExitInfo::signal(9),
            },
            t0 + secs(31.1),
        );
        assert_eq!(a, vec![Action::Stopped]);
        assert_eq!(m.state(), WatcherState::Stopped);
    }

    #[test]
    fn stop_children_kills_the_tree_also_when_the_child_exits_first() {
        let t0 = Instant::now();
        let mut p = policy();
        p.stop_children = true;
        let mut m = running(1, p, t0);
        let a = m.step(Input::Stop, t0);
        assert!(matches!(
            a[0],
            Action::Signal {
                tree: true,
                signal: Signal::Term,
                ..
            }
        ));
        let a = m.step(
            Input::Exited {
                pid: 101,
                exit: ExitInfo::code(0),
            },
            t0 + secs(0.1),
        );
        assert_eq!(
            a,
            vec![Action::KillTree { wid: 1, pid: 101 }, Action::Stopped]
        );
    }

    #[test]
    fn manual_stop_cancels_a_pending_backoff() {
        let t0 = Instant::now();
        let mut m = running(1, policy(), t0);
        m.step(
            Input::Exited {
                pid: 101,
                exit: ExitInfo::code(1),
            },
            t0 + secs(0.1),
        );
        m.step(Input::Spawned { wid: 1, pid: 102 }, t0 + secs(0.1));
        m.step(
            Input::Exited {
                pid: 102,
                exit: ExitInfo::code(1),
            },
            t0 + secs(0.2),
        );
        assert_eq!(m.state(), WatcherState::Backoff);
        let a = m.step(Input::Stop, t0 + secs(0.25));
        assert_eq!(a, vec![Action::Stopped]);
        assert_eq!(m.next_deadline(), None);
        assert!(m.step(Input::Timer, t0 + secs(60.0)).is_empty());
        assert_eq!(m.state(), WatcherState::Stopped);
    }

    #[test]
    fn no_respawn_leaves_the_slot_exited() {
        let t0 = Instant::now();
        let mut p = policy();
        p.respawn = false;
        let mut m = running(1, p, t0);
        let a = m.step(
            Input::Exited {
                pid: 101,
                exit: ExitInfo::code(0),
            },
            t0 + secs(5.0),
        );
        assert!(a.is_empty());
        assert_eq!(m.slots()[0].state(), ProcessState::Exited);
        assert_eq!(m.state(), WatcherState::Stopped);
    }

    #[test]
    fn spawn_failures_count_as_quick_deaths() {
        let t0 = Instant::now();
        let mut p = policy();
        p.max_retry = Some(1);
        let mut m = Machine::new(p, 1);
        m.step(Input::Start, t0);
        let a = m.step(
            Input::SpawnFailed {
                wid: 1,
                reason: "no such file".into(),
            },
            t0,
        );
        assert_eq!(spawns(&a), vec![1]);
        let a = m.step(
            Input::SpawnFailed {
                wid: 1,
                reason: "no such file".into(),
            },
            t0,
        );
        assert!(matches!(&a[0], Action::GiveUp { reason } if reason.contains("no such file")));
    }

    #[test]
    fn scale_up_and_down() {
        let t0 = Instant::now();
        let mut m = running(2, policy(), t0);
        let a = m.step(Input::Scale(4), t0);
        assert_eq!(spawns(&a), vec![3, 4]);
        m.step(Input::Spawned { wid: 3, pid: 103 }, t0);
        m.step(Input::Spawned { wid: 4, pid: 104 }, t0);
        let a = m.step(Input::Scale(1), t0);
        let signalled: Vec<u32> = a
            .iter()
            .filter_map(|a| match a {
                Action::Signal { pid, .. } => Some(*pid),
                _ => None,
            })
            .collect();
        assert_eq!(signalled, vec![104, 103, 102]);
        for pid in [102, 103, 104] {
            let a = m.step(
                Input::Exited {
                    pid,
                    exit: ExitInfo::signal(15),
                },
                t0,
            );
            assert!(spawns(&a).is_empty());
        }
        assert_eq!(m.slots().len(), 1);
        assert_eq!(m.slots()[0].pid(), Some(101));
        // Free wids are reused.
        let a = m.step(Input::Scale(2), t0);
        assert_eq!(spawns(&a), vec![2]);
    }

    #[test]
    fn restart_is_stop_then_start() {
        let t0 = Instant::now();
        let mut m = running(1, policy(), t0);
        m.step(Input::Stop, t0);
        let a = m.step(Input::Start, t0);
        assert!(spawns(&a).is_empty(), "waits for the old process to exit");
        let a = m.step(
            Input::Exited {
                pid: 101,
                exit: ExitInfo::signal(15),
            },
            t0 + secs(0.1),
        );
        assert_eq!(spawns(&a), vec![1]);
        let a = m.step(Input::Spawned { wid: 1, pid: 201 }, t0 + secs(0.1));
        assert_eq!(a, vec![Action::Started]);
    }

    #[test]
    fn stop_when_already_stopped_reports_stopped() {
        let mut m = Machine::new(policy(), 2);
        assert_eq!(m.step(Input::Stop, Instant::now()), vec![Action::Stopped]);
    }

    #[test]
    fn unknown_pids_are_ignored() {
        let t0 = Instant::now();
        let mut m = running(1, policy(), t0);
        assert!(
            m.step(
                Input::Exited {
                    pid: 999,
                    exit: ExitInfo::code(0)
                },
                t0
            )
            .is_empty()
        );
    }

    proptest::proptest! {
        /// Whatever happens, a stop by hand is never followed by a spawn until a start.
        #[test]
        fn never_spawns_after_a_manual_stop(events in proptest::collection::vec(0u8..5, 1..60)) {
            let t0 = Instant::now();
            let mut m = running(2, policy(), t0);
            let mut now = t0;
            let mut next_pid = 1000;
            let mut stopped = false;
            for e in events {
                now += secs(0.3);
                let input = match e {
                    0 => { stopped = true; Input::Stop }
                    1 => Input::Timer,
                    2 => match m.slots().iter().find_map(Slot::pid) {
                        Some(pid) => Input::Exited { pid, exit: ExitInfo::code(1) },
                        None => Input::Timer,
                    },
                    3 => Input::Scale(3),
                    _ => Input::Timer,
                };
                let actions = m.step(input, now);
                for a in &actions {
                    if let Action::Spawn { wid } = a {
                        proptest::prop_assert!(!stopped, "spawned after stop");
                        next_pid += 1;
                        let more = m.step(Input::Spawned { wid: *wid, pid: next_pid }, now);
                        proptest::prop_assert!(spawns(&more).is_empty());
                    }
                }
            }
        }
    }
}
