//! Teaching text: what each report means, who is to blame, and what to collect next.

use std::fmt::Write;

use super::trace;
use super::{Kind, Report};

/// Explains reports in plain language, a few lines each.
pub fn explain(reports: &[Report]) -> String {
    if reports.is_empty() {
        return "No reports: no soft or hard lockup, RCU stall, hung task, warning, oops or panic in this log.\n".to_owned();
    }
    let plural = if reports.len() == 1 { "" } else { "s" };
    let mut out = format!("{} report{plural}.\n", reports.len());
    for (i, r) in reports.iter().enumerate() {
        out.push('\n');
        explain_one(&mut out, i, r, reports);
        // What to collect next is the same for every report of a kind: say it once.
        if !reports[..i].iter().any(|o| o.kind == r.kind) {
            out.push_str(next_steps(r.kind));
            out.push('\n');
        }
    }
    out
}

fn cpu_name(cpu: Option<u32>) -> String {
    cpu.map_or_else(|| "the CPU".to_owned(), |c| format!("CPU {c}"))
}

fn kind_name(kind: Kind) -> &'static str {
    match kind {
        Kind::SoftLockup => "soft lockup",
        Kind::HardLockup => "hard lockup",
        Kind::RcuStall => "RCU stall",
        Kind::HungTask => "hung task",
        Kind::Warning => "warning",
        Kind::Oops => "oops",
        Kind::Bug => "kernel BUG",
        Kind::Panic => "panic",
    }
}

fn with_module(name: &str, module: Option<&str>) -> String {
    match module {
        Some(m) => format!("{name} [{m}]"),
        None => name.to_owned(),
    }
}

fn explain_one(out: &mut String, i: usize, r: &Report, all: &[Report]) {
    let cpu = cpu_name(r.cpu);
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

    let what = match r.kind {
        Kind::SoftLockup => format!(
            "  {cpu} kept running kernel code without scheduling, so the watchdog's per-CPU stopper work could \
             not run. A soft lockup is reported once that work has not run for 2*watchdog_thresh (20 s by \
             default; 2.6 kernels used softlockup_thresh, 10 s on RHEL 5); interrupts still worked, and \
             the timer interrupt noticed. Whether a loop that never sleeps gets here depends on the \
             preemption model: under preempt=none or voluntary nothing takes the CPU from kernel code, \
             while under full or lazy preemption the scheduler preempts it for the stopper, so there the \
             loop must also have had preemption or interrupts off (a spinlock held, preempt_disable())."
        ),
        Kind::HardLockup => {
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
                "  {cpu} took no timer interrupts for more than watchdog_thresh (10 s by default): interrupts \
                 were disabled (local_irq_disable, spin_lock_irqsave) or it was stuck in an interrupt handler.{how}"
            )
        }
        Kind::RcuStall => format!(
            "  An RCU grace period could not end because {cpu} (or a task) did not pass a quiescent state: it \
             did not schedule, or stayed with preemption off or in an RCU read-side section, for the stall \
             timeout (rcupdate.rcu_cpu_stall_timeout, 21 s by default). Often the same cause as a soft lockup \
             on that CPU.{}",
            r.reporting_cpu.filter(|&c| Some(c) != r.cpu).map_or(String::new(), |c| format!(" CPU {c} detected it."))
        ),
        Kind::HungTask => format!(
            "  The task stayed in uninterruptible sleep (D state) for more than {} s \
             (kernel.hung_task_timeout_secs, 120 s by default): it waits for a lock, I/O or a completion that \
             did not come. A hung task is not a busy CPU.",
            r.stuck_secs.map_or("the timeout".to_owned(), |s| s.to_string())
        ),
        Kind::Warning => "  A WARN_ON() in the kernel fired: code found a state it considers a bug and printed its \
             registers and stack, then went on. Not a lockup, but a scenario that provokes one must not \
             cause it."
            .to_owned(),
        Kind::Oops => "  The kernel hit a fault it cannot handle (a bad pointer, a BUG_ON()): the current task is \
             killed, and the kernel panics if that task was in an interrupt or panic_on_oops is set."
            .to_owned(),
        Kind::Bug => "  The kernel caught code breaking one of its rules (sleeping while atomic, a memory \
             error found by a sanitizer...). Not a lockup, but a sign something is wrong."
            .to_owned(),
        Kind::Panic => "  The kernel stopped (panic) for a reason that no report above explains.".to_owned(),
    };
    out.push_str(&what);
    out.push('\n');

    out.push_str(&where_(r, i, all));
    out.push('\n');

    if let (Some(comm), Kind::SoftLockup | Kind::HardLockup | Kind::RcuStall) = (&r.comm, r.kind) {
        let pid = r.pid.map_or(String::new(), |p| format!(":{p}"));
        let _ = writeln!(
            out,
            "  [{comm}{pid}] is the task that was current on {cpu}: {}",
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
    if r.panic {
        let reason = r.panic_reason.as_deref().unwrap_or("");
        let knob = match r.kind {
            Kind::SoftLockup => "kernel.softlockup_panic",
            Kind::HardLockup => "kernel.hardlockup_panic",
            Kind::RcuStall => "kernel.panic_on_rcu_stall",
            Kind::HungTask => "kernel.hung_task_panic",
            Kind::Warning => "kernel.panic_on_warn",
            Kind::Oops | Kind::Bug | Kind::Panic => "panic_on_oops or the kernel's own judgement",
        };
        let _ = writeln!(
            out,
            "  Then the kernel panicked (\"{reason}\"): {knob} is set, so the machine stops here instead of \
             trying to recover; with kdump configured this yields a crash dump."
        );
    }
}

/// The culprit, victim or user-space paragraph.
fn where_(r: &Report, i: usize, all: &[Report]) -> String {
    let cpu = cpu_name(r.cpu);
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
        return format!(
            "  No culprit: the log has no usable RIP or call trace for {cpu} (the dump may have been cut off, \
             or printed by an NMI backtrace that is missing)."
        );
    };
    let at = with_module(culprit, r.module.as_deref());
    if r.victim {
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
            "No other report in this log shows it: collect every CPU's backtrace (see Next)."
                .to_owned()
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
        return format!(
            "  {cpu} spins in {at}, a spinlock slow path: it is a victim waiting for a lock{caller}. The \
             culprit is the CPU holding that lock too long. {look}"
        );
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
    match r.kind {
        Kind::SoftLockup => format!(
            "  Culprit: {at}{from}: it kept the CPU without calling schedule(). A loop there needs \
             cond_resched(), a sleep, or an end."
        ),
        Kind::HardLockup => format!(
            "  Culprit: {at}{from}: interrupts were off there. Look for spin_lock_irqsave()/local_irq_disable() \
             held across a long loop."
        ),
        Kind::RcuStall => format!("  The stalled CPU was in {at}{from}."),
        Kind::HungTask => format!(
            "  It waits in {at} (the first frame past the scheduler and lock primitives); the owner of what it \
             waits for is elsewhere."
        ),
        Kind::Warning | Kind::Oops | Kind::Bug | Kind::Panic => format!("  It happened in {at}{from}."),
    }
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

fn next_steps(kind: Kind) -> &'static str {
    match kind {
        Kind::SoftLockup => {
            "  Next: sysctl kernel.softlockup_all_cpu_backtrace=1 adds every CPU's stack to the next report; echo l \
             > /proc/sysrq-trigger dumps all active CPUs now (t: every task); kernel.softlockup_panic=1 with \
             kdump keeps a crash dump; kernel.watchdog_thresh sets both thresholds."
        }
        Kind::HardLockup => {
            "  Next: sysctl kernel.hardlockup_all_cpu_backtrace=1 adds every CPU's stack to the next report; \
             kernel.hardlockup_panic=1 with kdump keeps a crash dump; echo l > /proc/sysrq-trigger dumps all \
             active CPUs; KVM guests need nmi_watchdog=1 for the perf detector."
        }
        Kind::RcuStall => {
            "  Next: echo l > /proc/sysrq-trigger for every CPU's backtrace; look for a soft lockup on the same \
             CPU; rcupdate.rcu_cpu_stall_timeout= changes the timeout, kernel.panic_on_rcu_stall=1 with kdump \
             keeps a crash dump."
        }
        Kind::HungTask => {
            "  Next: echo w > /proc/sysrq-trigger lists blocked tasks (t: every task) to find who holds what it \
             waits for; kernel.hung_task_timeout_secs tunes the check, kernel.hung_task_panic=1 stops there."
        }
        Kind::Warning | Kind::Oops | Kind::Bug | Kind::Panic => {
            "  Next: the file and line in the report's first line name the check that fired; decode the \
             stack with scripts/decode_stacktrace.sh and the vmlinux of this build."
        }
    }
}
