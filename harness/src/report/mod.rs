//! Console text -> watchdog reports. Knows nothing about VMs or scenarios.
//!
//! [`parse`] finds soft and hard lockups, RCU stalls, hung tasks and workqueue lockups (and the
//! workqueue hogs, warnings, oopses, other BUGs and panics around them) in a console log of any
//! kernel age and logging path, binds each to its registers and call trace, names the culprit
//! function and gives the report a stable title. [`kinds`] is the table of kinds. [`lines`] gives the harness the same view of the console (prefixes
//! removed, timestamps read) for its own marker lines. [`explain`] turns reports into
//! teaching text.

mod explain;
mod kinds;
mod lines;
mod parser;
mod trace;

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

pub use explain::explain;
pub use kinds::KINDS;
pub use lines::{lines, Caller, Line};
pub use parser::Reader;

/// What the kernel reported. Everything about a kind but its name in Rust is its entry in
/// [`kinds::TABLE`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum Kind {
    /// `BUG: soft lockup - CPU#N stuck for Ns!`: a CPU did not schedule.
    SoftLockup,
    /// `Watchdog detected hard LOCKUP on cpu N`: a CPU took no timer interrupts.
    HardLockup,
    /// `rcu: INFO: rcu_sched self-detected stall on CPU` and friends.
    RcuStall,
    /// `INFO: task comm:pid blocked for more than N seconds.`
    HungTask,
    /// `BUG: workqueue lockup - pool cpus=1 ... stuck for 31s!`: a worker pool made no progress.
    WorkqueueLockup,
    /// `workqueue: func hogged CPU for >10000us 4 times, consider switching to WQ_UNBOUND`.
    WorkqueueHog,
    /// `WARNING: CPU: N PID: P at file:line func`: a WARN_ON() fired; the kernel goes on.
    Warning,
    /// `Oops`, `BUG: unable to handle ...`, `general protection fault`, `kernel BUG at`: the
    /// current task dies (and the kernel with it when it cannot go on).
    Oops,
    /// Any other `BUG: ...` line (`scheduling while atomic`, `sleeping function called from
    /// invalid context`, KASAN...): a broken rule, not a hang.
    Bug,
    /// `Kernel panic - not syncing: ...` that belongs to no report above.
    Panic,
}

impl Kind {
    /// The serialized name, e.g. `soft_lockup`.
    pub fn as_str(self) -> &'static str {
        self.info().name
    }

    /// How people call it, e.g. `soft lockup`.
    pub fn label(self) -> &'static str {
        self.info().label
    }

    /// A hang detector's report (what the scenarios are about), as opposed to the kernel
    /// complaining about something else (a warning, an oops, a panic of its own).
    pub fn is_hang(self) -> bool {
        self.info().hang
    }

    /// `--live`'s one-line note, with `{cpu}` (`CPU 1`, `a CPU`) and `{secs}` (` for 6 s` or
    /// nothing) to fill in.
    pub fn live_note(self) -> &'static str {
        self.info().live
    }
}

impl fmt::Display for Kind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A string that names no [`Kind`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UnknownKind(pub String);

impl fmt::Display for UnknownKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let names: Vec<&str> = KINDS.iter().map(|k| k.as_str()).collect();
        write!(
            f,
            "unknown report kind {:?} (expected one of {})",
            self.0,
            names.join(", ")
        )
    }
}

impl std::error::Error for UnknownKind {}

impl FromStr for Kind {
    type Err = UnknownKind;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        KINDS
            .into_iter()
            .find(|k| k.as_str() == s)
            .ok_or_else(|| UnknownKind(s.to_owned()))
    }
}

/// One watchdog report found in a console log. Field order is the JSON order. Fields added
/// after the first results files default when missing, so older files still read.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct Report {
    pub kind: Kind,
    /// Stable name of the bug, the same each time it happens: `soft lockup in
    /// hog_busy::spin::busy_loop`, `hard LOCKUP (no culprit)`, `task hung in ...`, `WARNING in
    /// ...`, `BUG: scheduling while atomic in ...`, `kernel panic: ...`. No CPU numbers, pids,
    /// addresses, offsets or seconds.
    #[serde(default)]
    pub title: String,
    /// The stuck CPU (a workqueue lockup's: the CPU of its per-CPU pool).
    pub cpu: Option<u32>,
    /// `stuck for Ns` of a soft lockup or workqueue lockup, `more than N seconds` of a hung task.
    pub stuck_secs: Option<u64>,
    /// `N times` of a workqueue hog.
    #[serde(default)]
    pub count: Option<u64>,
    /// The task that was current on the stuck CPU (`[comm:pid]`, `Comm:`), the hung task, the
    /// task an RCU stall waits for, or a workqueue lockup's worker in flight.
    pub comm: Option<String>,
    pub pid: Option<u32>,
    /// Demangled function the report is about, e.g. `hog_busy::hog_thread`: the RIP/pc
    /// function, else the first reliable task-context frame that is not watchdog, interrupt,
    /// printing or idle plumbing (for a hung task: nor a sleep or lock primitive; for a
    /// workqueue lockup or hog: the work function). No offsets, no module.
    pub culprit: Option<String>,
    /// Why the report is incomplete, when it is: `the log ends before its call trace`,
    /// `another report (line N) started inside its dump before its call trace`, `no call
    /// trace`, `its call trace is cut off by ...`. Its culprit, if any, is a best guess.
    #[serde(default)]
    pub corrupted: Option<String>,
    /// A hung task's lock owner as the kernel names it (`... likely owned by task comm:pid`,
    /// CONFIG_DETECT_HUNG_TASK_BLOCKER).
    #[serde(default)]
    pub blocker: Option<String>,
    #[serde(default)]
    pub blocker_pid: Option<u32>,
    /// Where the owner was: the first frame of its dump past scheduler, sleep and lock plumbing.
    #[serde(default)]
    pub blocker_culprit: Option<String>,
    /// A `Kernel panic - not syncing:` followed and belongs to this report.
    pub panic: bool,
    pub panic_reason: Option<String>,
    /// 1-based line of the report's first line.
    pub line: usize,
    /// The CPU that printed the report when the log names one other than by implication
    /// (`CPU1: Watchdog detected ...`, `Sending NMI from CPU 1`, RCU's `detected by 1`).
    pub reporting_cpu: Option<u32>,
    /// Module of the culprit, e.g. `hog_busy` from `[hog_busy]`.
    pub module: Option<String>,
    /// The RIP/pc as printed, e.g. `_RNvCs32VmJVZqcFt_8hog_busy10hog_thread+0x3b/0x50`,
    /// or the address of a user-mode RIP.
    pub rip: Option<String>,
    /// The report is a consequence of another CPU or task: its RIP or culprit is a spinlock/rwlock
    /// slow path (`native_queued_spin_lock_slowpath`, `_raw_spin_lock*`, `.text.lock.spinlock`,
    /// `do_raw_spin_lock` ...) or an IPI wait (`smp_call_function_many_cond`, `csd_lock_wait`),
    /// or it is a hung task blocked on a mutex, rw-semaphore or semaphore (a lock slow path in
    /// its trace, or the kernel's `blocked on` line). The culprit runs elsewhere.
    pub victim: bool,
    /// The RIP was in user mode (x86 segment `0033`): no kernel culprit.
    pub user_space: bool,
    /// An RCU stall of an expedited grace period (`detected expedited stalls on`), which the
    /// kernel reports from tree_exp.h and does not count in `rcu_stall_count`.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub expedited: bool,
    /// Seconds since boot of the report's first line, from its `[  12.345678]` prefix.
    pub time: Option<f64>,
    /// Demangled reliable (non-`?`) frames of the report's call trace, in order.
    pub stack: Vec<String>,
    /// Taint letters from the report's `Tainted:` field, e.g. `GOL`; empty for `Not tainted`.
    pub tainted: Option<String>,
    /// Other CPUs whose `NMI backtrace for cpu N` (or `... skipped: idling`) followed the report
    /// (an all-CPU backtrace, `kernel.softlockup_all_cpu_backtrace` /
    /// `hardlockup_all_cpu_backtrace`), in order.
    pub backtraces: Vec<u32>,
    /// Pids of the tasks an RCU stall names as blocking the grace period (`P85/1:b..l`).
    #[serde(default)]
    pub tasks: Vec<u32>,
}

impl Report {
    /// A report of `kind` starting at `line` that knows nothing else yet.
    pub fn empty(kind: Kind, line: usize) -> Self {
        Report {
            kind,
            title: String::new(),
            cpu: None,
            stuck_secs: None,
            count: None,
            comm: None,
            pid: None,
            culprit: None,
            corrupted: None,
            blocker: None,
            blocker_pid: None,
            blocker_culprit: None,
            panic: false,
            panic_reason: None,
            line,
            reporting_cpu: None,
            expedited: false,
            module: None,
            rip: None,
            victim: false,
            user_space: false,
            time: None,
            stack: Vec::new(),
            tainted: None,
            backtraces: Vec::new(),
            tasks: Vec::new(),
        }
    }
}

/// Parses a whole console log. The text may be invalid UTF-8, use CRLF, or be truncated.
pub fn parse(text: &[u8]) -> Vec<Report> {
    parser::parse(text)
}

/// Whether `text` looks like a kernel log at all: it has a report, a `[  12.345678]` stamp, or a
/// line a kernel or syslog prints (`Linux version`, `kernel:`). `check` refuses anything else, so
/// garbage is an error rather than a quiet "no reports".
pub fn looks_like_kernel_log(text: &[u8], reports: &[Report]) -> bool {
    !reports.is_empty()
        || lines(text).any(|l| {
            l.time.is_some() || l.text.starts_with("Linux version") || l.text.contains("kernel: ")
        })
}

/// What a boot's console says of its kernel besides reports, gathered a line at a time.
#[derive(Debug, Default)]
pub struct BootLines {
    /// `(major, minor)` from `Linux version X.Y...`.
    pub version: Option<(u32, u32)>,
    /// The kernel announced lockdep checking of RCU (`rcu: \tRCU lockdep checking is
    /// enabled.`, printed with `CONFIG_PROVE_RCU` by 6.12 and 7.3 alike).
    pub rcu_lockdep: bool,
    /// The last `Dynamic Preempt: voluntary` (a refused `preempt=`, `unsupported mode: none`,
    /// is skipped).
    dynamic: Option<String>,
    /// The first `PREEMPT(lazy)` tag newer kernels print on a dump's `CPU:` line.
    tagged: Option<String>,
}

impl BootLines {
    /// Reads `text` whole.
    pub fn of(text: &[u8]) -> BootLines {
        let mut facts = BootLines::default();
        for line in lines(text) {
            facts.line(&line);
        }
        facts
    }

    pub fn line(&mut self, line: &Line<'_>) {
        let msg = line.text.as_ref();
        if self.version.is_none() {
            if let Some(rest) = msg.strip_prefix("Linux version ") {
                self.version = parse_version(rest);
            }
        }
        if msg.trim_start_matches("rcu:").trim() == "RCU lockdep checking is enabled." {
            self.rcu_lockdep = true;
        }
        if let Some(model) = msg.strip_prefix("Dynamic Preempt: ") {
            if !model.starts_with("unsupported") {
                let word = model.split_whitespace().next().unwrap_or_default();
                self.dynamic = Some(word.to_ascii_lowercase());
            }
        } else if self.tagged.is_none() && msg.starts_with("CPU: ") {
            self.tagged = msg
                .split_once("PREEMPT(")
                .and_then(|(_, rest)| rest.split_once(')'))
                .map(|(model, _)| model.to_ascii_lowercase());
        }
    }

    /// The preemption model the console says the kernel runs: the boot line's, else the dump
    /// tag's. The word is returned as printed, lower-cased.
    pub fn preemption_model(&self) -> Option<String> {
        self.dynamic.clone().or_else(|| self.tagged.clone())
    }
}

/// `(major, minor)` of a kernel release such as `7.3.4-rc1`.
pub fn parse_version(release: &str) -> Option<(u32, u32)> {
    let mut parts = release.split(|c: char| !c.is_ascii_digit());
    let major = parts.next()?.parse().ok()?;
    let minor = parts.next()?.parse().ok()?;
    Some((major, minor))
}

/// Whether the kernel announced lockdep checking of RCU at boot ([`BootLines::rcu_lockdep`]).
pub fn rcu_lockdep(text: &[u8]) -> bool {
    BootLines::of(text).rcu_lockdep
}

/// The preemption model the console says the kernel runs ([`BootLines::preemption_model`]).
pub fn preemption_model(text: &[u8]) -> Option<String> {
    BootLines::of(text).preemption_model()
}

/// The reports as `{"reports":[...]}`, pretty-printed.
pub fn to_json(reports: &[Report]) -> String {
    #[derive(Serialize)]
    struct Document<'a> {
        reports: &'a [Report],
    }
    serde_json::to_string_pretty(&Document { reports }).expect("reports always serialize")
}

#[cfg(test)]
mod tests;
