//! Teaching text: what each report means, who is to blame, and what to collect next.

use std::fmt::Write;

use super::trace;
use super::{Kind, Report};

/// Explains reports in plain language, a few lines each.
pub fn explain(reports: &[Report]) -> String {
    if reports.is_empty() {
        return "No reports: no soft or hard lockup, RCU stall, hung task, workqueue lockup or hog, warning, oops or panic in this log.\n".to_owned();
    }
    let plural = if reports.len() == 1 { "" } else { "s" };
    let mut out = format!("{} report{plural}.\n", reports.len());
    for (i, r) in reports.iter().enumerate() {
        out.push('\n');
        explain_one(&mut out, i, r, reports);
        // What to collect next is the same for every report of a kind: say it once.
        if !reports[..i].iter().any(|o| o.kind == r.kind) {
            out.push_str(r.kind.info().next);
            out.push('\n');
        }
    }
    out.push_str(&relations(reports));
    out
}

fn cpu_name(cpu: Option<u32>) -> String {
    cpu.map_or_else(|| "the CPU".to_owned(), |c| format!("CPU {c}"))
}

fn kind_name(kind: Kind) -> &'static str {
    kind.label()
}

fn with_module(name: &str, module: Option<&str>) -> String {
    match module {
        Some(m) => format!("{name} [{m}]"),
        None => name.to_owned(),
    }
}

fn explain_one(out: &mut String, i: usize, r: &Report, all: &[Report]) {
    heading(out, i, r);
    if !r.title.is_empty() {
        let _ = writeln!(out, "  Title: {}", r.title);
    }
    let what = (r.kind.info().what)(r);
    out.push_str(&what);
    out.push('\n');

    out.push_str(&where_(r, i, all));
    out.push('\n');
    if let Some(why) = &r.corrupted {
        let _ = writeln!(
            out,
            "  The report is incomplete ({why}): what it names is a best guess from what was printed."
        );
    }
    task_and_taint(out, r);
    if r.panic {
        let reason = r.panic_reason.as_deref().unwrap_or("");
        let knob = r.kind.info().panic_knob;
        let _ = writeln!(
            out,
            "  Then the kernel panicked (\"{reason}\"): {knob} is set, so the machine stops here instead of \
             trying to recover; with kdump configured this yields a crash dump."
        );
    }
}

/// `#1 soft lockup on CPU 1, line 312 (5.1 s), stuck for 3 s, task hog_busy (pid 80)`.
fn heading(out: &mut String, i: usize, r: &Report) {
    let _ = write!(out, "#{} {}", i + 1, kind_name(r.kind));
    if let Some(c) = r.cpu {
        let _ = write!(out, " on CPU {c}");
    }
    let _ = write!(out, ", line {}", r.line);
    if let Some(t) = r.time {
        let _ = write!(out, " ({t} s)");
    }
    match (r.stuck_secs, r.kind) {
        (Some(s), Kind::HungTask) => {
            let _ = write!(out, ", blocked for more than {s} s");
        }
        (Some(s), _) => {
            let _ = write!(out, ", stuck for {s} s");
        }
        (None, _) => {}
    }
    if let Some(comm) = &r.comm {
        let _ = write!(out, ", task {comm}");
        if let Some(pid) = r.pid {
            let _ = write!(out, " (pid {pid})");
        }
    }
    out.push('\n');
}

/// What the task in brackets was, and what the taint flags say.
fn task_and_taint(out: &mut String, r: &Report) {
    if let (Some(comm), Kind::SoftLockup | Kind::HardLockup | Kind::RcuStall) = (&r.comm, r.kind) {
        let pid = r.pid.map_or(String::new(), |p| format!(":{p}"));
        let _ = writeln!(
            out,
            "  [{comm}{pid}] is the task that was current on {}: {}",
            cpu_name(r.cpu),
            task_hint(comm, r)
        );
    }
    match r.tainted.as_deref() {
        Some("") => {
            out.push_str("  Not tainted: no out-of-tree or proprietary module, no earlier oops.\n")
        }
        Some(flags) => {
            let meanings: Vec<String> = flags
                .chars()
                .filter_map(|c| taint_meaning(c).map(|m| format!("{c} = {m}")))
                .collect();
            let _ = writeln!(out, "  Tainted {flags}: {}.", meanings.join("; "));
        }
        None => {}
    }
}

/// The culprit, victim or user-space paragraph.
fn where_(r: &Report, i: usize, all: &[Report]) -> String {
    let rip = r.rip.as_deref().unwrap_or("?");
    if r.user_space {
        return format!(
            "  The CPU was in user mode (RIP {rip}; on x86 the code segment 0033 says so), so there is no kernel \
             culprit: the task was running in user space. A program cannot lock up a CPU from user mode (it can always be preempted); \
             a lockup reported there points at the hypervisor (vCPU not scheduled: steal time, overcommit) or \
             at an interrupt storm, not at the program."
        );
    }
    let Some(culprit) = r.culprit.as_deref() else {
        return no_culprit(r);
    };
    let at = with_module(culprit, r.module.as_deref());
    if r.victim && r.kind == Kind::HungTask {
        return lock_waiter(r, i, all, &at);
    }
    if r.victim {
        return spin_victim(r, i, all, culprit, &at);
    }
    let from = match r
        .rip
        .as_deref()
        .and_then(trace::parse_kernel_pc)
        .and_then(|pc| pc.symbol)
    {
        Some(s) if s.name == culprit => format!(" (RIP {rip})"),
        _ => " (first meaningful frame of the call trace)".to_owned(),
    };
    let worker = r
        .comm
        .as_deref()
        .map_or(String::new(), |c| format!(" (worker {c})"));
    r.kind
        .info()
        .blame
        .replace("{at}", &at)
        .replace("{from}", &from)
        .replace("{worker}", &worker)
}

/// Why a report names no culprit.
fn no_culprit(r: &Report) -> String {
    if r.kind == Kind::WorkqueueLockup {
        return "  No culprit: the busy-workqueue list shows no work in flight on the stuck pool and no \
                running worker's stack: what kept the pool is whatever ran on its CPU (see the other \
                reports)."
            .to_owned();
    }
    if r.kind == Kind::Panic {
        return "  The panic names no function: its reason says why the kernel stopped.".to_owned();
    }
    format!(
        "  No culprit: the log has no usable RIP or call trace for {} (the dump may have been cut off, \
         or printed by an NMI backtrace that is missing).",
        cpu_name(r.cpu)
    )
}

/// A hung task asleep on a lock: a victim of the lock's owner, named where the kernel does.
fn lock_waiter(r: &Report, i: usize, all: &[Report], at: &str) -> String {
    let owner = match (&r.blocker, r.blocker_pid) {
        (Some(b), Some(p)) => {
            let place = r
                .blocker_culprit
                .as_deref()
                .map_or(String::new(), |c| format!(", which was in {c}"));
            let reported = holder_report(all, i, p).map_or(String::new(), |j| {
                format!(" (#{} {} in this log)", j + 1, kind_name(all[j].kind))
            });
            format!("the kernel names its likely owner, {b}:{p}{place}{reported}")
        }
        _ => "the kernel does not say who holds the lock: echo w > /proc/sysrq-trigger lists \
              blocked tasks, lockdep's `Showing all locks held` names holders"
            .to_owned(),
    };
    format!(
        "  It waits in {at} for a lock (a mutex, rw-semaphore or semaphore slow path is in its stack): \
         it is a victim, the culprit is the task holding that lock; {owner}."
    )
}

/// A CPU spinning on a lock or waiting for an IPI: a victim, with the other reports that may
/// show the culprit.
fn spin_victim(r: &Report, i: usize, all: &[Report], culprit: &str, at: &str) -> String {
    let cpu = cpu_name(r.cpu);
    let holders: Vec<String> = all
        .iter()
        .enumerate()
        .filter(|(j, o)| *j != i && o.cpu != r.cpu && !o.victim && !o.user_space)
        .map(|(j, o)| {
            let place = o
                .culprit
                .as_deref()
                .map_or(String::new(), |c| format!(" in {c}"));
            format!(
                "#{} {} on {}{place}",
                j + 1,
                kind_name(o.kind),
                cpu_name(o.cpu)
            )
        })
        .collect();
    let look = if holders.is_empty() {
        "No other report in this log shows it: collect every CPU's backtrace (see Next).".to_owned()
    } else {
        format!(
            "Candidates among the other reports: {}.",
            holders.join(", ")
        )
    };
    if trace::is_ipi_wait(culprit) {
        return format!(
            "  {cpu} waits in {at} for other CPUs to run a function it sent them by IPI: it is a victim of \
             a CPU that does not take interrupts. {look}"
        );
    }
    let caller = r
        .stack
        .iter()
        .find(|f| !trace::is_lock_spin(f) && !trace::is_plumbing(f))
        .map_or(String::new(), |f| format!(", requested by {f}"));
    format!(
        "  {cpu} spins in {at}, a spinlock slow path: it is a victim waiting for a lock{caller}. The \
         culprit is the CPU holding that lock too long. {look}"
    )
}

fn task_hint(comm: &str, r: &Report) -> &'static str {
    if r.user_space {
        "the program it was running in user mode, which cannot be the cause."
    } else if r.victim {
        "the task that waits, not the one to blame."
    } else if comm.starts_with("kworker") {
        "a workqueue worker; the stuck work function is in the call trace."
    } else if comm.starts_with("ksoftirqd") {
        "the softirq thread: network, timer or block softirq work kept the CPU."
    } else if comm.starts_with("swapper") {
        "the idle task: the CPU was idle or busy in interrupt work."
    } else if r.stack.iter().any(|f| f == "kthread")
        || r.culprit.as_deref().is_some_and(|c| c.contains("thread"))
    {
        "a kernel thread, so the loop is likely its own code."
    } else {
        "where the CPU was (a process in a system call, or interrupt work on its time), not necessarily the \
         cause."
    }
}

/// The kernel's taint letters (Documentation/admin-guide/tainted-kernels.rst).
fn taint_meaning(flag: char) -> Option<&'static str> {
    Some(match flag {
        'P' => "a proprietary module is loaded",
        'G' => "no proprietary module (all GPL-compatible)",
        'F' => "a module was force-loaded",
        'S' => "running on out-of-spec hardware",
        'R' => "a module was force-unloaded",
        'M' => "a machine check occurred",
        'B' => "a bad page was referenced",
        'U' => "tainted on user request",
        'D' => "the kernel died recently (an earlier oops)",
        'A' => "an ACPI table was overridden",
        'W' => "a warning was issued earlier",
        'C' => "a staging driver is loaded",
        'I' => "a firmware bug is being worked around",
        'O' => "an out-of-tree module is loaded",
        'E' => "an unsigned module is loaded",
        'L' => "a soft lockup occurred on this boot (this one or earlier)",
        'K' => "the kernel is live-patched",
        'X' => "auxiliary (distribution) taint",
        'T' => "built with struct randomization",
        'N' => "an in-kernel test has run",
        _ => return None,
    })
}

/// The report about the task with `pid` (a hung task's lock owner), preferring what says where
/// it ran (a soft or hard lockup) over an RCU stall or its own hung-task report.
fn holder_report(all: &[Report], i: usize, pid: u32) -> Option<usize> {
    let rank = |k: Kind| match k {
        Kind::SoftLockup | Kind::HardLockup => 0,
        Kind::RcuStall => 1,
        _ => 2,
    };
    all.iter()
        .enumerate()
        .filter(|(j, o)| *j != i && o.pid == Some(pid))
        .min_by_key(|(j, o)| (rank(o.kind), *j))
        .map(|(j, _)| j)
}

/// How report `i` relates to another of the log, if it is a consequence of one.
fn relation(all: &[Report], i: usize) -> Option<String> {
    let name = |j: usize| format!("#{} {}", j + 1, kind_name(all[j].kind));
    let r = &all[i];
    // The other report on this CPU of the first of `kinds` that has one.
    let same_cpu = |kinds: &[Kind]| {
        kinds.iter().find_map(|k| {
            all.iter()
                .enumerate()
                .find(|(j, o)| *j != i && r.cpu.is_some() && o.cpu == r.cpu && o.kind == *k)
                .map(|(j, _)| j)
        })
    };
    match r.kind {
        Kind::RcuStall => same_cpu(&[Kind::SoftLockup, Kind::HardLockup]).map(|j| {
            format!(
                "{} and {} on CPU {} are one bug seen by two detectors: a CPU that does not schedule \
                 passes no RCU quiescent state either. Fix the {}'s culprit.",
                name(i),
                name(j),
                r.cpu.unwrap_or_default(),
                kind_name(all[j].kind)
            )
        }),
        Kind::WorkqueueLockup => {
            same_cpu(&[Kind::SoftLockup, Kind::HardLockup, Kind::RcuStall]).map(|j| {
                format!(
                    "{} is a victim of {}: the pool's CPU {} was kept busy, so its workers could not run.",
                    name(i),
                    name(j),
                    r.cpu.unwrap_or_default()
                )
            })
        }
        Kind::HungTask if r.victim => {
            let holder = r.blocker_pid.and_then(|p| holder_report(all, i, p));
            if let Some(j) = holder.filter(|&j| all[j].kind != Kind::HungTask) {
                Some(format!(
                    "{} is a victim of {}: the task it waits for holds the lock while it hogs CPU {}.",
                    name(i),
                    name(j),
                    all[j].cpu.map_or("?".to_owned(), |c| c.to_string())
                ))
            } else {
                r.blocker_pid.map(|p| {
                    format!(
                        "{} is a victim of task {}:{p}, which holds the lock it waits for.",
                        name(i),
                        r.blocker.as_deref().unwrap_or("?")
                    )
                })
            }
        }
        _ => None,
    }
}

/// How the reports of one log relate: which detector fires first for one stuck CPU, and which
/// reports are consequences of others. Empty when there is nothing to relate.
fn relations(all: &[Report]) -> String {
    let notes: Vec<String> = (0..all.len()).filter_map(|i| relation(all, i)).collect();
    let hang_kinds = all
        .iter()
        .filter(|r| r.kind.is_hang())
        .map(|r| r.kind)
        .fold(Vec::new(), |mut v, k| {
            if !v.contains(&k) {
                v.push(k);
            }
            v
        });
    if notes.is_empty() && hang_kinds.len() < 2 {
        return String::new();
    }
    let mut out = String::from(
        "\nHow these reports relate. For one stuck CPU the detectors fire in this order with default \
         settings: hard lockup after watchdog_thresh (10 s, checked by a perf NMI or a buddy CPU: 10 to \
         20 s; only with interrupts off), RCU stall after \
         rcupdate.rcu_cpu_stall_timeout (21 s after the grace period began), soft lockup after \
         2*watchdog_thresh (counted in 2^30 ns units and checked every 4 s: about 21.5 to 26 s), workqueue \
         lockup after workqueue.watchdog_thresh (30 s, checked every 30 s: 30 to 60 s), hung task after \
         kernel.hung_task_timeout_secs (120 s, checked every 120 s: 120 to 240 s). The first report of a \
         chain is the closest to the cause; later ones on the same CPU, and tasks waiting for a lock its \
         task holds, are its victims.\n",
    );
    for n in notes {
        let _ = writeln!(out, "  - {n}");
    }
    out
}
