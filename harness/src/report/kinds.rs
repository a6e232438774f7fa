//! The table of report kinds: everything the parser, the titles, `explain` and `--live` know
//! about a kind lives in its one [`KindInfo`] entry. Adding a kind is one [`Kind`] variant, one
//! entry here (in the variant's position) and fixtures.

use super::{Kind, Report};

/// Where a report's culprit comes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum CulpritFrom {
    /// What kept the CPU: the RIP/pc function unless it is plumbing, else the first reliable
    /// task-context frame that is not plumbing, else the function an interrupt interrupted.
    Stuck,
    /// Where the check fired: the RIP/pc even inside watchdog or printing code.
    FiredAt,
    /// The blocked task's own trace past the scheduler, sleep and lock primitives.
    Sleeper,
    /// The function named on the report's lines (a header's `func`, the in-flight work
    /// function of the stuck pool), else the [`CulpritFrom::Stuck`] rule on the worker's dump.
    Named,
}

/// Lines of a report's dump only its kind knows how to read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Details {
    None,
    /// `1-....: (5250 ticks this GP)`, `Tasks blocked on ...: P85/1:b..l`, `(detected by 0, ...)`.
    Rcu,
    /// The blocked task's `task:` dump, then `... is blocked on a mutex likely owned by task
    /// X:N.` and the owner's dump.
    HungTask,
    /// `Showing busy workqueues ...`, `pwq N: cpus=...`, `in-flight: PID:func`, `pool N:` and
    /// the running worker's `task:` dump.
    Workqueue,
}

/// How much of the console a report takes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Extent {
    /// Its first line and the dump that follows, until the dump ends (an `---[ end` line, a
    /// quiet stretch, another report, or one of [`KindInfo::ends`]).
    Dump,
    /// Its first line only.
    Line,
}

/// One kind of report.
pub(crate) struct KindInfo {
    pub kind: Kind,
    /// Serialized name, e.g. `soft_lockup`.
    pub name: &'static str,
    /// How people call it, e.g. `soft lockup`.
    pub label: &'static str,
    /// A hang detector's report (what the scenarios are about), as opposed to the kernel
    /// complaining about something else.
    pub hang: bool,
    /// Literal words one of which is on every first line of this kind; the parser's prefilter
    /// is made of them, so lines without any are never decoded.
    pub triggers: &'static [&'static str],
    /// Regexes of the first line, tried in order on the message (leading blanks removed).
    /// Named groups fill the report: `cpu` (the stuck CPU), `cpus` (a cpumask: the CPU when it
    /// names one), `rep` (the CPU that noticed), `secs`, `comm`, `pid`, `count`, `at` (a
    /// `func+0x1/0x2 [mod]` where the CPU was), `func` (the culprit, named by the line). An
    /// empty `join` group means the line continues an open report of this kind for that CPU
    /// (powerpc's stuck CPU answering the IPI of the one that noticed it).
    pub headers: &'static [&'static str],
    pub culprit: CulpritFrom,
    pub details: Details,
    pub extent: Extent,
    /// Message prefixes that end the report's own dump.
    pub ends: &'static [&'static str],
    /// The kernel always prints a call trace for this kind: a report without one was cut off.
    pub needs_trace: bool,
    /// Lower-case words of a `Kernel panic - not syncing:` reason this kind's panic knob
    /// prints (`softlockup: hung tasks`, `Hard LOCKUP`, `hung_task: blocked tasks`, `RCU Stall`).
    pub panic_words: &'static [&'static str],
    /// The knob that turns this kind into a panic.
    pub panic_knob: &'static str,
    /// Title with a culprit: `{culprit}`, and `{what}` for the first line's stable words.
    pub title: &'static str,
    /// Title when the culprit is unknown.
    pub title_bare: &'static str,
    /// `--live`'s note: `{cpu}` (`CPU 1`, `a CPU`) and `{secs}` (` for 6 s` or nothing).
    pub live: &'static str,
    /// `explain`'s paragraph on what the report means.
    pub what: fn(&Report) -> String,
    /// `explain`'s sentence on the culprit: `{at}` (`func [module]`), `{from}` (` (RIP ...)` or
    /// ` (first meaningful frame ...)`), `{worker}` (` (worker kworker/1:1)` or nothing).
    pub blame: &'static str,
    /// `explain`'s paragraph on what to collect next.
    pub next: &'static str,
}

fn cpu(r: &Report) -> String {
    r.cpu
        .map_or_else(|| "the CPU".to_owned(), |c| format!("CPU {c}"))
}

const FAULT_BLAME: &str = "  It happened in {at}{from}.";

const FAULT_NEXT: &str =
    "  Next: the file and line in the report's first line name the check that fired; decode the \
     stack with scripts/decode_stacktrace.sh and the vmlinux of this build.";

/// Every kind, in [`Kind`]'s order.
pub(crate) const TABLE: &[KindInfo] = &[
    KindInfo {
        kind: Kind::SoftLockup,
        name: "soft_lockup",
        label: "soft lockup",
        hang: true,
        triggers: &["soft lockup"],
        // `- CPU#1`, `– CPU#1` (en-dash, or its lossy replacement) and 2.6.18's `detected on
        // CPU#0!`. The task is the last `[comm:pid]`: a comm may hold `:`, `[`, `]` and spaces.
        headers: &[
            r"soft lockup(?:\W+|\s+detected on\s+)CPU#(?P<cpu>\d+)(?:\s+stuck for (?P<secs>\d+)s)?(?:.*?\[(?P<comm>.*):(?P<pid>\d+)\]\s*$)?",
        ],
        culprit: CulpritFrom::Stuck,
        details: Details::None,
        extent: Extent::Dump,
        ends: &[],
        needs_trace: true,
        panic_words: &["softlockup", "soft lockup"],
        panic_knob: "kernel.softlockup_panic",
        title: "soft lockup in {culprit}",
        title_bare: "soft lockup (no culprit)",
        live: "{cpu} has not scheduled{secs}: soft lockup reported",
        what: |r| {
            format!(
                "  {} kept running kernel code without scheduling, so the watchdog's per-CPU stopper work could \
                 not run. A soft lockup is reported once that work has not run for 2*watchdog_thresh (20 s by \
                 default; 2.6 kernels used softlockup_thresh, 10 s on RHEL 5); interrupts still worked, and \
                 the timer interrupt noticed. Whether a loop that never sleeps gets here depends on the \
                 preemption model: under preempt=none or voluntary nothing takes the CPU from kernel code, \
                 while under full or lazy preemption the scheduler preempts it for the stopper, so there the \
                 loop must also have had preemption or interrupts off (a spinlock held, preempt_disable()).",
                cpu(r)
            )
        },
        blame: "  Culprit: {at}{from}: it kept the CPU without calling schedule(). A loop there needs \
             cond_resched(), a sleep, or an end.",
        next: "  Next: sysctl kernel.softlockup_all_cpu_backtrace=1 adds every CPU's stack to the next report; echo l \
             > /proc/sysrq-trigger dumps all active CPUs now (t: every task); kernel.softlockup_panic=1 with \
             kdump keeps a crash dump; kernel.watchdog_thresh sets both thresholds.",
    },
    KindInfo {
        kind: Kind::HardLockup,
        name: "hard_lockup",
        label: "hard lockup",
        hang: true,
        triggers: &["LOCKUP"],
        headers: &[
            // kernel/watchdog.c since 2.6.36 (a WARN() message until 4.x; sparc's die_nmi too).
            r"(?:CPU(?P<rep>\d+): )?Watchdog detected hard LOCKUP on cpu (?P<cpu>\d+)",
            // x86 and sparc before 2.6.36: `BUG: NMI Watchdog detected LOCKUP on CPU1, ip ...`.
            r"NMI Watchdog detected LOCKUP on CPU ?(?P<cpu>\d+)",
            // powerpc's own watchdog (arch/powerpc/kernel/watchdog.c) since 5.x ...
            r"CPU (?P<rep>\d+) detected hard LOCKUP on other CPUs (?P<cpu>\d+)",
            r"CPU (?P<cpu>\d+) self-detected hard LOCKUP @ (?P<at>\S+(?: \[[\w-]+\])?)",
            r"^(?:watchdog: )?CPU (?P<cpu>\d+) Hard LOCKUP\s*$(?P<join>)",
            // ... and in 4.13-4.x.
            r"Watchdog CPU:(?P<rep>\d+) detected Hard LOCKUP other CPUS:(?P<cpu>\d+)",
            r"Watchdog CPU:(?P<cpu>\d+) Hard LOCKUP\s*$(?P<join>)",
        ],
        culprit: CulpritFrom::Stuck,
        details: Details::None,
        extent: Extent::Dump,
        ends: &[],
        needs_trace: true,
        panic_words: &["hardlockup", "hard lockup"],
        panic_knob: "kernel.hardlockup_panic",
        title: "hard LOCKUP in {culprit}",
        title_bare: "hard LOCKUP (no culprit)",
        live: "{cpu} has not taken timer interrupts: hard lockup reported",
        what: |r| {
            let how = match r.reporting_cpu {
                Some(rep) if Some(rep) != r.cpu => format!(
                    " CPU {rep} noticed it: with the buddy detector each CPU checks that its neighbour's timer \
                     interrupts keep counting, then asks the stuck CPU for its registers with an NMI."
                ),
                _ => " It was noticed from an NMI: the perf counter NMI on the CPU itself (perf detector) or a \
                      buddy CPU's check."
                    .to_owned(),
            };
            format!(
                "  {} took no timer interrupts for more than watchdog_thresh (10 s by default): interrupts \
                 were disabled (local_irq_disable, spin_lock_irqsave) or it was stuck in an interrupt handler.{how}",
                cpu(r)
            )
        },
        blame: "  Culprit: {at}{from}: interrupts were off there. Look for spin_lock_irqsave()/local_irq_disable() \
             held across a long loop.",
        next: "  Next: sysctl kernel.hardlockup_all_cpu_backtrace=1 adds every CPU's stack to the next report; \
             kernel.hardlockup_panic=1 with kdump keeps a crash dump; echo l > /proc/sysrq-trigger dumps all \
             active CPUs; KVM guests need nmi_watchdog=1 for the perf detector.",
    },
    KindInfo {
        kind: Kind::RcuStall,
        name: "rcu_stall",
        label: "RCU stall",
        hang: true,
        triggers: &["stall on", "stalls on"],
        headers: &[
            // 3.x: `self-detected stall on CPU { 1}  (t=...)`, `stalls on CPUs/tasks: { 1} (detected by 0, ...)`.
            r"INFO: \S*rcu\S* (?:self-)?detected (?P<expedited>expedited )?stalls? on[^{]*\{\s*(?P<cpu>\d+)(?:.*detected by (?P<rep>\d+))?",
            // 2.6.3x `rcu_sched_state detected stall on CPU 1 (t=...)`; 4.x+ without a CPU.
            r"INFO: \S*rcu\S* (?:self-)?detected (?P<expedited>expedited )?stalls? on(?: CPU (?P<cpu>\d+))?(?:.*detected by (?P<rep>\d+))?",
        ],
        culprit: CulpritFrom::Stuck,
        details: Details::Rcu,
        extent: Extent::Dump,
        ends: &[],
        needs_trace: true,
        panic_words: &["rcu stall"],
        panic_knob: "kernel.panic_on_rcu_stall",
        title: "rcu stall in {culprit}",
        title_bare: "rcu stall (no culprit)",
        live: "{cpu} is holding up RCU: stall reported",
        what: |r| {
            let who = if r.cpu.is_none() && !r.tasks.is_empty() {
                "a task preempted inside an RCU read-side section".to_owned()
            } else {
                format!("{} (or a task)", cpu(r))
            };
            format!(
                "  An RCU grace period could not end because {who} did not pass a quiescent state: it \
                 did not schedule, or stayed with preemption off or in an RCU read-side section, for the stall \
                 timeout (rcupdate.rcu_cpu_stall_timeout, 21 s by default). Often the same cause as a soft lockup \
                 on that CPU.{}",
                r.reporting_cpu
                    .filter(|&c| Some(c) != r.cpu)
                    .map_or(String::new(), |c| format!(" CPU {c} detected it."))
            )
        },
        blame: "  The stalled CPU was in {at}{from}.",
        next: "  Next: echo l > /proc/sysrq-trigger for every CPU's backtrace; look for a soft lockup on the same \
             CPU; rcupdate.rcu_cpu_stall_timeout= changes the timeout, kernel.panic_on_rcu_stall=1 with kdump \
             keeps a crash dump.",
    },
    KindInfo {
        kind: Kind::HungTask,
        name: "hung_task",
        label: "hung task",
        hang: true,
        triggers: &[" for more than "],
        // The comm is greedy: it may hold `:` and spaces, the pid is the last `:N` before `blocked`.
        headers: &[
            r"(?:^|INFO: )task (?P<comm>.+):(?P<pid>\d+) blocked (?:in I/O wait )?for more than (?P<secs>\d+) seconds",
        ],
        culprit: CulpritFrom::Sleeper,
        details: Details::HungTask,
        extent: Extent::Dump,
        ends: &[
            "Future hung task reports are suppressed",
            "Showing all locks held in the system",
        ],
        needs_trace: true,
        panic_words: &["hung_task", "blocked tasks"],
        panic_knob: "kernel.hung_task_panic",
        title: "task hung in {culprit}",
        title_bare: "task hung (no culprit)",
        live: "a task has been blocked{secs}: hung task reported",
        what: |r| {
            let blocker = match (&r.blocker, r.blocker_pid) {
                (Some(b), Some(p)) => format!(
                    " The kernel names the lock's likely owner: {b}:{p}{}.",
                    r.blocker_culprit
                        .as_deref()
                        .map_or(String::new(), |c| format!(", which was in {c}"))
                ),
                _ => String::new(),
            };
            format!(
                "  The task stayed in uninterruptible sleep (D state) for more than {} s \
                 (kernel.hung_task_timeout_secs, 120 s by default): it waits for a lock, I/O or a completion that \
                 did not come. A hung task is not a busy CPU.{blocker}",
                r.stuck_secs
                    .map_or("the timeout".to_owned(), |s| s.to_string())
            )
        },
        blame: "  It waits in {at} (the first frame past the scheduler and lock primitives); the owner of what it \
             waits for is elsewhere.",
        next: "  Next: echo w > /proc/sysrq-trigger lists blocked tasks (t: every task) to find who holds what it \
             waits for; kernel.hung_task_timeout_secs tunes the check, kernel.hung_task_panic=1 stops there; \
             CONFIG_DETECT_HUNG_TASK_BLOCKER (recent kernels, 7.x) names a mutex or semaphore's owner in the \
             report.",
    },
    KindInfo {
        kind: Kind::WorkqueueLockup,
        name: "workqueue_lockup",
        label: "workqueue lockup",
        hang: true,
        triggers: &["workqueue lockup"],
        // kernel/workqueue.c since 4.5; `node=` only on NUMA pools, ` bh`/` bh-hi` for BH pools (6.9+).
        headers: &[
            r"BUG: workqueue lockup - pool (?P<pool>cpus=(?P<cpus>[0-9,-]*)(?: node=-?\d+)? flags=0x[0-9a-fA-F]+(?: nice=-?\d+| bh(?:-hi)?)?) stuck for (?P<secs>\d+)s",
        ],
        culprit: CulpritFrom::Named,
        details: Details::Workqueue,
        extent: Extent::Dump,
        ends: &[],
        needs_trace: false,
        panic_words: &["workqueue: "],
        panic_knob: "workqueue.panic_on_stall",
        title: "workqueue lockup in {culprit}",
        title_bare: "workqueue lockup (no culprit)",
        live: "{cpu}'s workqueue pool made no progress{secs}: workqueue lockup reported",
        what: |r| {
            format!(
                "  The workqueue watchdog saw a worker pool{} make no progress for {} s (workqueue.watchdog_thresh, \
                 30 s by default, checked by a timer every threshold, so reported 30 to 60 s after the last \
                 progress): a work item ran (or waited) so long that the items queued behind it never started. \
                 On a per-CPU pool that usually means the CPU itself was kept busy: look for a soft lockup or RCU \
                 stall there first.",
                r.cpu.map_or(String::new(), |c| format!(" of CPU {c}")),
                r.stuck_secs
                    .map_or("the threshold".to_owned(), |s| s.to_string())
            )
        },
        blame: "  The work in flight on the stuck pool is {at}{worker}: it kept its worker, so the work queued \
             behind it did not run.",
        next: "  Next: echo w > /proc/sysrq-trigger and the `Showing busy workqueues` list name the work items in \
             flight; workqueue.watchdog_thresh= tunes the check, workqueue.panic_on_stall=1 stops there.",
    },
    KindInfo {
        kind: Kind::WorkqueueHog,
        name: "workqueue_hog",
        label: "workqueue hog",
        hang: false,
        triggers: &["hogged CPU"],
        // CONFIG_WQ_CPU_INTENSIVE_REPORT (6.5+), printed at warning_thresh (4) and then at 4+2^n-1 counts.
        headers: &[
            r"workqueue: (?P<func>.+?) hogged CPU for >(?P<us>\d+)us (?P<count>\d+) times, consider switching to WQ_UNBOUND",
        ],
        culprit: CulpritFrom::Named,
        details: Details::None,
        extent: Extent::Line,
        ends: &[],
        needs_trace: false,
        panic_words: &[],
        panic_knob: "no knob (the report is a warning only)",
        title: "workqueue hog in {culprit}",
        title_bare: "workqueue hog (no culprit)",
        live: "a per-CPU work item kept a CPU for too long: workqueue hog reported",
        what: |r| {
            format!(
                "  A work item on a per-CPU workqueue ran longer than workqueue.cpu_intensive_thresh_us (10 ms by \
                 default) without sleeping{}, so the workqueue took it out of concurrency management (it stops \
                 holding up the other items of its pool). The kernel warns at 4 such runs, then each time the \
                 count doubles. Not a lockup yet, but the same code under preempt=none becomes one.",
                r.count.map_or(String::new(), |c| format!(", {c} times so far"))
            )
        },
        blame: "  The work function is {at}: it ran without sleeping for longer than the threshold.",
        next: "  Next: make the work function yield (cond_resched()) or queue it on a WQ_UNBOUND workqueue; \
             workqueue.cpu_intensive_thresh_us= tunes the threshold.",
    },
    KindInfo {
        kind: Kind::Warning,
        name: "warning",
        label: "warning",
        hang: false,
        triggers: &["WARNING:"],
        headers: &[r"^WARNING:(?: CPU: (?P<cpu>\d+) PID: (?P<pid>\d+))?"],
        culprit: CulpritFrom::FiredAt,
        details: Details::None,
        extent: Extent::Dump,
        ends: &[],
        needs_trace: true,
        panic_words: &[],
        panic_knob: "kernel.panic_on_warn",
        title: "WARNING in {culprit}",
        title_bare: "WARNING (no culprit)",
        live: "{cpu} hit a WARN_ON(): warning reported",
        what: |_| {
            "  A WARN_ON() in the kernel fired: code found a state it considers a bug and printed its \
             registers and stack, then went on. Not a lockup, but a scenario that provokes one must not \
             cause it."
                .to_owned()
        },
        blame: FAULT_BLAME,
        next: FAULT_NEXT,
    },
    KindInfo {
        kind: Kind::Oops,
        name: "oops",
        label: "oops",
        hang: false,
        triggers: &[
            "BUG:",
            "Oops",
            "Unable to handle kernel",
            "Internal error:",
            "general protection fault",
            "kernel BUG at",
        ],
        headers: &[
            r"^(?:BUG: unable to handle|BUG: kernel NULL pointer dereference|Unable to handle kernel|general protection fault|Oops|Internal error: Oops|kernel BUG at)",
        ],
        culprit: CulpritFrom::FiredAt,
        details: Details::None,
        extent: Extent::Dump,
        ends: &[],
        needs_trace: false,
        panic_words: &[],
        panic_knob: "panic_on_oops or the kernel's own judgement",
        title: "{what} in {culprit}",
        title_bare: "{what}",
        live: "{cpu} oopsed: the current task is killed",
        what: |_| {
            "  The kernel hit a fault it cannot handle (a bad pointer, a BUG_ON()): the current task is \
             killed, and the kernel panics if that task was in an interrupt or panic_on_oops is set."
                .to_owned()
        },
        blame: FAULT_BLAME,
        next: FAULT_NEXT,
    },
    KindInfo {
        kind: Kind::Bug,
        name: "bug",
        label: "kernel BUG",
        hang: false,
        triggers: &["BUG:"],
        headers: &[r"^BUG: "],
        culprit: CulpritFrom::FiredAt,
        details: Details::None,
        extent: Extent::Dump,
        ends: &[],
        needs_trace: false,
        panic_words: &[],
        panic_knob: "panic_on_oops or the kernel's own judgement",
        title: "{what} in {culprit}",
        title_bare: "{what}",
        live: "{cpu} broke a kernel rule: BUG reported",
        what: |_| {
            "  The kernel caught code breaking one of its rules (sleeping while atomic, a memory \
             error found by a sanitizer...). Not a lockup, but a sign something is wrong."
                .to_owned()
        },
        blame: FAULT_BLAME,
        next: FAULT_NEXT,
    },
    KindInfo {
        kind: Kind::Panic,
        name: "panic",
        label: "panic",
        hang: false,
        triggers: &[],
        headers: &[],
        culprit: CulpritFrom::Stuck,
        details: Details::None,
        extent: Extent::Dump,
        ends: &[],
        needs_trace: false,
        panic_words: &[],
        panic_knob: "panic_on_oops or the kernel's own judgement",
        title: "{what}",
        title_bare: "{what}",
        live: "the kernel panics",
        what: |_| "  The kernel stopped (panic) for a reason that no report above explains.".to_owned(),
        blame: FAULT_BLAME,
        next: FAULT_NEXT,
    },
];

/// Every kind, in the order `check` and errors name them (the table's).
pub const KINDS: [Kind; TABLE.len()] = {
    let mut kinds = [Kind::Panic; TABLE.len()];
    let mut i = 0;
    while i < TABLE.len() {
        // The table is indexed by the variant: entry i must describe variant i.
        assert!(TABLE[i].kind as usize == i, "TABLE is out of Kind's order");
        kinds[i] = TABLE[i].kind;
        i += 1;
    }
    kinds
};

impl Kind {
    pub(crate) fn info(self) -> &'static KindInfo {
        &TABLE[self as usize]
    }
}

/// The stable words of a first line or panic reason for a title: prefixes, numbers, addresses,
/// task names and everything after the first `,` `!` or ` at ` go (`BUG: scheduling while
/// atomic: hog/99/0x00000002` -> `BUG: scheduling while atomic`).
pub(crate) fn headline(text: &str) -> String {
    let text = text.trim();
    let text = text.strip_prefix("watchdog: ").unwrap_or(text);
    let (prefix, rest) = if let Some(r) = text.strip_prefix("Kernel panic - not syncing:") {
        ("kernel panic: ", r.trim())
    } else if let Some(r) = text.strip_prefix("BUG: ") {
        ("BUG: ", r)
    } else {
        ("", text)
    };
    let mut end = rest.len();
    for stop in [
        ", ",
        "!",
        " in ",
        " on CPU",
        " at virtual",
        " at address",
        " at 0x",
        "[#",
        " (",
        "\u{fffd}",
    ] {
        if let Some(i) = rest.find(stop) {
            end = end.min(i);
        }
    }
    // `scheduling while atomic: hog/99/...`: a colon after several words starts the details;
    // `KASAN: use-after-free` keeps its one-word tool name.
    if let Some(i) = rest[..end].find(": ") {
        if rest[..i].contains(' ') {
            end = i;
        }
    }
    let words: Vec<&str> = rest[..end]
        .split_whitespace()
        .filter(|w| !unstable(w))
        .collect();
    let words = words.join(" ");
    let words = words.trim_end_matches([':', '.', ' ']);
    if prefix == "kernel panic: " && words.is_empty() {
        "kernel panic".to_owned()
    } else {
        format!("{prefix}{words}")
    }
}

/// A word that changes from one occurrence of a bug to the next: a number, an address, a
/// `comm/pid`, `31s`, `CPU#1`, `exitcode=0x9` (`mm/slub.c:4117` and `unknown-block(0,0)` stay).
fn unstable(word: &str) -> bool {
    let digits = word.bytes().filter(u8::is_ascii_digit).count();
    let letters = word.bytes().filter(u8::is_ascii_alphabetic).count();
    digits > 0 && (digits >= letters || word.contains("0x") || word.contains(['#', '=']))
}

/// The report's title, e.g. `soft lockup in hog_busy::spin::busy_loop`: the same bug gets the
/// same title (no CPU numbers, pids, addresses, offsets or seconds).
pub(crate) fn title(r: &Report, first_line: &str) -> String {
    let info = r.kind.info();
    // A panic's first line is its `Kernel panic - not syncing: reason`. Most titles do not
    // use the first line: spare them its reading.
    let what = if info.title.contains("{what}") || info.title_bare.contains("{what}") {
        headline(first_line)
    } else {
        String::new()
    };
    let culprit = if r.user_space {
        Some("user space")
    } else {
        r.culprit.as_deref()
    };
    match culprit {
        Some(c) => info.title.replace("{what}", &what).replace("{culprit}", c),
        None => info.title_bare.replace("{what}", &what),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn table_is_in_kind_order_and_names_are_unique() {
        for (i, info) in TABLE.iter().enumerate() {
            assert_eq!(info.kind as usize, i, "{}", info.name);
            assert_eq!(
                serde_json::to_string(&info.kind).unwrap(),
                format!("\"{}\"", info.name)
            );
            assert!(
                TABLE[..i].iter().all(|o| o.name != info.name),
                "{}",
                info.name
            );
            assert!(
                info.headers.is_empty() == info.triggers.is_empty(),
                "{}: a kind with first lines needs trigger words",
                info.name
            );
        }
    }

    #[test]
    fn headlines_are_stable() {
        for (line, want) in [
            (
                "BUG: scheduling while atomic: hog/99/0x00000002",
                "BUG: scheduling while atomic",
            ),
            (
                "BUG: spinlock lockup suspected on CPU#1, hog/99",
                "BUG: spinlock lockup suspected",
            ),
            (
                "BUG: KASAN: use-after-free in hog_thread+0x1/0x2",
                "BUG: KASAN: use-after-free",
            ),
            (
                "BUG: kernel NULL pointer dereference, address: 0000000000000000",
                "BUG: kernel NULL pointer dereference",
            ),
            ("general protection fault, probably for non-canonical address 0xdffffc0000000000: 0000 [#1] SMP KASAN", "general protection fault"),
            ("Oops: 0000 [#1] SMP", "Oops"),
            ("kernel BUG at mm/slub.c:4117!", "kernel BUG at mm/slub.c:4117"),
            ("BUG: workqueue leaked lock or atomic: kworker/0:1/0x00000000/23", "BUG: workqueue leaked lock or atomic"),
            ("Kernel panic - not syncing: workqueue: stall lasted 31s, exceeding threshold 30s", "kernel panic: workqueue: stall lasted"),
            (
                "Kernel panic - not syncing: Attempted to kill init! exitcode=0x00000009",
                "kernel panic: Attempted to kill init",
            ),
            (
                "Kernel panic - not syncing: VFS: Unable to mount root fs on unknown-block(0,0)",
                "kernel panic: VFS: Unable to mount root fs on unknown-block(0,0)",
            ),
        ] {
            assert_eq!(headline(line), want, "{line}");
        }
    }
}
