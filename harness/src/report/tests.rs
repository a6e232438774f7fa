//! Golden tests: every fixture in `fixtures/` is parsed, checked for the facts that matter,
//! and its JSON compared with an insta snapshot in `snapshots/`.

use std::path::PathBuf;

use super::*;

/// Every fixture, so a new file without a test is noticed. `seed*` are the reports quoted in
/// the seed articles, verbatim (the pausetest one with the `BUG:`/`CPU 0:`/`Modules linked in:`
/// lines of RHEL 5 that the article leaves out); `design_*` rebuild the measured lines of ../shared/DESIGN.md
/// into whole 6.12/7.3 consoles; the rest are hand-made edge cases. Hand-made from the format
/// strings of the kernel sources: `workqueue_*` from kernel/workqueue.c (wq_watchdog_timer_fn,
/// show_pwq, show_one_worker_pool, show_cpu_pools_hogs of 6.12 / show_cpu_pools_busy_workers of
/// 7.3, wq_cpu_intensive_report), `hung_task_blocker_7.3` and `chain_one_bug_7.3` from 7.3's
/// kernel/hung_task.c (hung_task_info, debug_show_blocker: every mutex, semaphore and
/// rw-semaphore form), `rcu_tasks_only_7.3` from kernel/rcu/tree_stall.h
/// (rcu_print_task_stall, print_other_cpu_stall, rcu_print_detail_task_stall_rnp),
/// `powerpc_ipi_hard_lockup` from arch/powerpc/kernel/watchdog.c of 5.x (`CPU %d Hard LOCKUP`
/// from wd_lockup_ipi) and 4.14 (`Watchdog CPU:%d ...`), `printk_caller_interleaved` from
/// CONFIG_PRINTK_CALLER's `[    T1]`/`[    C1]` prefix, `task_names` from the `[%s:%d]`,
/// `Comm: %s` and `task:%-15.15s` formats.
const FIXTURES: &[&str] = &[
    "arm64_soft_lockup.log",
    "chain_one_bug_7.3.log",
    "crlf_invalid_utf8.log",
    "design_6.12_buddy_hard_lockup.log",
    "design_6.12_irqsave_insmod_victim.log",
    "design_6.12_rust_busy_loop.log",
    "design_7.3_hard_lockup_twice.log",
    "hard_perf_nmi_panic.log",
    "hung_task.log",
    "hung_task_blocker_7.3.log",
    "interleaved_cpus.log",
    "not_reports.log",
    "old_kernels_hard_lockup.log",
    "oops_after_lockup.log",
    "panic_without_report.log",
    "powerpc_hard_lockup.log",
    "powerpc_ipi_hard_lockup.log",
    "prefix_styles.log",
    "printk_caller_interleaved.log",
    "rcu_detected_stalls_nmi.log",
    "rcu_self_detected.log",
    "rcu_tasks_only_7.3.log",
    "rhel7_3.10_hard_lockup_panic.log",
    "run_6.12_all_cpu_backtrace.log",
    "run_6.12_arm64_clock_read.log",
    "run_6.12_arm64_perf_all_cpu_backtrace.log",
    "run_6.12_arm64_softirq_on_irq_exit.log",
    "run_6.12_contention_pair.log",
    "run_6.12_hardlockup_panic.log",
    "run_6.12_nmi_in_clock_read.log",
    "run_6.12_rcu_tasks_running.log",
    "run_6.12_shared_boot.log",
    "run_6.12_softlockup_panic.log",
    "run_7.3_rust_ktime_get_under_nmi.log",
    "rust_closure_and_legacy.log",
    "seed000_ubuntu_4.4_soft_lockup.log",
    "seed000_xenserver_emerg_panic.log",
    "seed002_rhel5_kswapd_victim.log",
    "seed004_rhel5_ext3_detected_on_cpu.log",
    "seed004_rhel5_pausetest_user_space.log",
    "soft_lockup_panic.log",
    "soft_prefixes_and_comms.log",
    "softirq_rip_before_task_rip.log",
    "spinlock_pair.log",
    "task_names.log",
    "truncated_eof.log",
    "user_space_modern.log",
    "workqueue_hog.log",
    "workqueue_lockup_7.3.log",
    "workqueue_lockup_victim_6.12.log",
];

fn fixture_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("src/report/fixtures")
}

fn read(name: &str) -> Vec<u8> {
    std::fs::read(fixture_dir().join(name)).unwrap_or_else(|e| panic!("{name}: {e}"))
}

/// Parses a fixture and compares its JSON with the snapshot named after it.
fn golden(name: &str) -> Vec<Report> {
    let reports = parse(&read(name));
    insta::assert_snapshot!(name.trim_end_matches(".log"), to_json(&reports));
    reports
}

fn only(reports: &[Report]) -> &Report {
    assert_eq!(reports.len(), 1, "{reports:#?}");
    &reports[0]
}

/// Time of the first line whose message starts with `text`.
fn marker_time(console: &[u8], text: &str) -> f64 {
    lines(console)
        .find(|l| l.text.starts_with(text))
        .and_then(|l| l.time)
        .expect(text)
}

#[test]
fn every_fixture_has_a_test() {
    let mut on_disk: Vec<String> = std::fs::read_dir(fixture_dir())
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .filter(|n| n.ends_with(".log"))
        .collect();
    on_disk.sort();
    assert_eq!(on_disk, FIXTURES);
}

// --- the seeds ---

#[test]
fn seed000_ubuntu_soft_lockup() {
    let reports = golden("seed000_ubuntu_4.4_soft_lockup.log");
    let r = only(&reports);
    assert_eq!(r.kind, Kind::SoftLockup);
    assert_eq!(
        (r.cpu, r.stuck_secs, r.pid),
        (Some(0), Some(22), Some(6885))
    );
    assert_eq!(r.comm.as_deref(), Some("hog"));
    assert_eq!(r.culprit.as_deref(), Some("hog_thread"));
    assert_eq!(r.module.as_deref(), Some("hog"));
    assert_eq!(r.rip.as_deref(), Some("hog_thread+0x15/0x1000"));
    assert_eq!(r.time, Some(355.900698));
    assert_eq!(r.tainted.as_deref(), Some("GOEL"));
    // `? kthread_create_on_node` frames are unreliable and left out.
    assert_eq!(r.stack, ["kthread", "ret_from_fork"]);
    assert!(!r.victim && !r.user_space && !r.panic);
    assert_eq!(r.title, "soft lockup in hog_thread");
    assert_eq!(r.corrupted, None);
}

#[test]
fn seed000_xenserver_emerg_panic() {
    let r = only(&golden("seed000_xenserver_emerg_panic.log")).clone();
    assert_eq!(
        (r.cpu, r.stuck_secs, r.pid),
        (Some(3), Some(23), Some(23395))
    );
    assert_eq!(r.comm.as_deref(), Some("tapdisk"));
    assert!(r.panic);
    assert_eq!(r.panic_reason.as_deref(), Some("softlockup: hung tasks"));
    assert_eq!(r.time, Some(41819967.871466));
    // The seed quotes the header and the panic only.
    assert_eq!(
        r.corrupted.as_deref(),
        Some("the log ends before its call trace")
    );
    assert_eq!(r.title, "soft lockup (no culprit)");
}

#[test]
fn seed002_rhel5_kswapd_is_a_spinlock_victim() {
    let reports = golden("seed002_rhel5_kswapd_victim.log");
    let r = only(&reports);
    // The en-dash header, the syslog prefix and `CPU 1:` / `Pid:` of RHEL 5.
    assert_eq!((r.cpu, r.stuck_secs, r.pid), (Some(1), Some(10), Some(982)));
    assert_eq!(r.comm.as_deref(), Some("kswapd1"));
    assert_eq!(r.culprit.as_deref(), Some(".text.lock.spinlock"));
    assert!(r.victim);
    assert_eq!(r.time, None, "syslog dates are not seconds since boot");
    assert_eq!(
        r.stack.first().map(String::as_str),
        Some("nfs_access_cache_shrinker")
    );
    let text = explain(&reports);
    assert!(text.contains("victim"), "{text}");
    assert!(
        text.contains("requested by nfs_access_cache_shrinker"),
        "{text}"
    );
    assert!(
        text.contains("No other report in this log shows it"),
        "{text}"
    );
}

#[test]
fn seed004_pausetest_is_user_space() {
    let r = only(&golden("seed004_rhel5_pausetest_user_space.log")).clone();
    assert!(r.user_space);
    assert_eq!(r.culprit, None);
    assert_eq!(r.rip.as_deref(), Some("00000000004005c2"));
    assert_eq!(r.comm.as_deref(), Some("pausetest"));
    assert_eq!(r.tainted.as_deref(), Some(""));
    assert!(r.stack.is_empty());
    // A user-mode RIP is all the dump there is: not a cut-off report.
    assert_eq!(r.corrupted, None);
    assert_eq!(r.title, "soft lockup in user space");
}

#[test]
fn seed004_register_dump_without_watchdog_line_is_no_report() {
    // The seed quotes only the dump; without its `BUG:` line nothing says it is a lockup.
    let text = read("seed004_rhel5_pausetest_user_space.log");
    let dump = text.splitn(4, |b| *b == b'\n').nth(3).unwrap();
    assert!(dump.starts_with(b"Pid: 2642"));
    assert_eq!(parse(dump), []);
}

#[test]
fn seed004_ext3_detected_on_cpu() {
    let r = only(&golden("seed004_rhel5_ext3_detected_on_cpu.log")).clone();
    assert_eq!(
        (r.cpu, r.stuck_secs, r.comm.as_deref()),
        (Some(0), None, None)
    );
    // The timer-interrupt frames are plumbing; the culprit is in the leftover inexact part.
    assert_eq!(r.culprit.as_deref(), Some("htree_dirblock_to_tree"));
    assert_eq!(r.module.as_deref(), Some("ext3"));
}

// --- ../shared/DESIGN.md's measured reports ---

#[test]
fn design_rust_busy_loop() {
    let console = read("design_6.12_rust_busy_loop.log");
    let reports = golden("design_6.12_rust_busy_loop.log");
    let r = only(&reports);
    assert_eq!((r.cpu, r.stuck_secs, r.pid), (Some(1), Some(6), Some(99)));
    assert_eq!(r.culprit.as_deref(), Some("hog_busy::hog_thread"));
    assert_eq!(r.module.as_deref(), Some("hog_busy"));
    assert_eq!(
        r.rip.as_deref(),
        Some("_RNvCs32VmJVZqcFt_8hog_busy10hog_thread+0x3b/0x50")
    );
    assert_eq!(r.line, 12);
    // The harness measures detection latency this way: 5.2 s in ../shared/DESIGN.md.
    let latency = r.time.unwrap() - marker_time(&console, "hogs-mark: begin busy-loop");
    assert!((latency - 5.212816).abs() < 1e-6, "{latency}");
}

#[test]
fn design_buddy_hard_lockup() {
    let reports = golden("design_6.12_buddy_hard_lockup.log");
    let r = only(&reports);
    assert_eq!(r.kind, Kind::HardLockup);
    assert_eq!((r.cpu, r.reporting_cpu), (Some(0), Some(1)));
    // comm, pid and culprit come from the later `NMI backtrace for cpu 0` block.
    assert_eq!((r.comm.as_deref(), r.pid), (Some("hog"), Some(99)));
    assert_eq!(r.culprit.as_deref(), Some("hog_irqsave::hog_thread"));
    assert!(explain(&reports).contains("CPU 1 noticed it"));
}

#[test]
fn design_irqsave_hog_makes_insmod_a_victim() {
    let reports = golden("design_6.12_irqsave_insmod_victim.log");
    assert_eq!(reports.len(), 2);
    let (insmod, hog) = (&reports[0], &reports[1]);
    assert_eq!(
        (insmod.kind, insmod.cpu, insmod.comm.as_deref()),
        (Kind::SoftLockup, Some(0), Some("insmod"))
    );
    assert_eq!(
        insmod.culprit.as_deref(),
        Some("smp_call_function_many_cond")
    );
    assert!(insmod.victim);
    // The user-mode RIP after the trace is the syscall entry, not where the CPU was.
    assert!(!insmod.user_space);
    assert_eq!(
        (hog.kind, hog.cpu, hog.reporting_cpu),
        (Kind::HardLockup, Some(1), Some(0))
    );
    assert_eq!(hog.culprit.as_deref(), Some("hog_irqsave::hog_thread"));
    let text = explain(&reports);
    assert!(text.contains("by IPI"), "{text}");
    assert!(
        text.contains("#2 hard lockup on CPU 1 in hog_irqsave::hog_thread"),
        "{text}"
    );
}

#[test]
fn design_7_3_hard_lockup_printed_twice() {
    let reports = golden("design_7.3_hard_lockup_twice.log");
    assert_eq!(reports.len(), 2);
    for r in &reports {
        assert_eq!(
            (r.kind, r.cpu, r.reporting_cpu),
            (Kind::HardLockup, Some(1), Some(0))
        );
        assert_eq!((r.comm.as_deref(), r.pid), (Some("hog"), Some(101)));
        assert_eq!(r.culprit.as_deref(), Some("hog_irqsave::hog_thread"));
        assert_eq!(r.tainted.as_deref(), Some("GO"));
    }
    assert_ne!(
        reports[0].rip, reports[1].rip,
        "each report has its own NMI backtrace"
    );
}

// --- hand-made edge cases ---

#[test]
fn soft_lockup_prefixes_and_comms() {
    let reports = golden("soft_prefixes_and_comms.log");
    let got: Vec<_> = reports
        .iter()
        .map(|r| (r.cpu, r.comm.as_deref(), r.pid, r.stuck_secs))
        .collect();
    assert_eq!(
        got,
        [
            (Some(1), Some("kworker/u8:2"), Some(123), Some(22)),
            (Some(0), Some("my prog"), Some(77), Some(23)),
            (Some(1), Some("hog"), Some(99), Some(48)),
        ]
    );
    assert!(reports
        .iter()
        .all(|r| r.culprit.as_deref() == Some("hog_busy::hog_thread")));
}

#[test]
fn hard_lockup_perf_detector_with_panic() {
    let reports = golden("hard_perf_nmi_panic.log");
    let r = only(&reports);
    // The perf detector's NMI fires on the locked CPU, which dumps itself: it is the reporter.
    assert_eq!(
        (r.cpu, r.reporting_cpu, r.pid),
        (Some(1), Some(1), Some(2301))
    );
    assert_eq!(r.culprit.as_deref(), Some("hog_thread"));
    assert_eq!(r.module.as_deref(), Some("hog_irqsave"));
    assert_eq!(r.panic_reason.as_deref(), Some("Hard LOCKUP"));
    // The panic's own dump did not replace the report's stack.
    assert_eq!(r.stack, ["kthread", "ret_from_fork"]);
    assert!(explain(&reports).contains("kernel.hardlockup_panic is set"));
}

#[test]
fn soft_lockup_panic() {
    let r = only(&golden("soft_lockup_panic.log")).clone();
    assert!(r.panic);
    assert_eq!(r.panic_reason.as_deref(), Some("softlockup: hung tasks"));
    assert_eq!(r.culprit.as_deref(), Some("hog_busy::hog_thread"));
    assert_eq!(
        r.tainted.as_deref(),
        Some("GO"),
        "the panic's `L` taint belongs to the panic dump"
    );
}

#[test]
fn panic_without_report_is_a_panic_report() {
    let r = only(&golden("panic_without_report.log")).clone();
    assert_eq!(r.kind, Kind::Panic);
    assert!(r.panic);
    assert_eq!(
        r.panic_reason.as_deref(),
        Some("VFS: Unable to mount root fs on unknown-block(0,0)")
    );
    assert_eq!(
        r.title,
        "kernel panic: VFS: Unable to mount root fs on unknown-block(0,0)"
    );
    assert_eq!(r.culprit.as_deref(), Some("mount_root_generic"));
}

#[test]
fn oops_after_lockup_owns_its_panic() {
    let reports = golden("oops_after_lockup.log");
    assert_eq!(reports.len(), 2);
    let (r, oops) = (reports[0].clone(), &reports[1]);
    assert_eq!((oops.kind, oops.panic), (Kind::Oops, true));
    assert_eq!(oops.panic_reason.as_deref(), Some("Fatal exception"));
    assert_eq!(r.kind, Kind::SoftLockup);
    assert!(
        !r.panic,
        "`Fatal exception` belongs to the NULL dereference"
    );
    // The oops' registers on another CPU were not taken for the report's.
    assert_eq!(
        r.rip.as_deref(),
        Some("_RNvCs32VmJVZqcFt_8hog_busy10hog_thread+0x3b/0x50")
    );
}

#[test]
fn rcu_self_detected_stall() {
    let r = only(&golden("rcu_self_detected.log")).clone();
    assert_eq!(
        (r.kind, r.cpu, r.reporting_cpu),
        (Kind::RcuStall, Some(1), None)
    );
    assert_eq!((r.comm.as_deref(), r.pid), (Some("hog_rcu"), Some(130)));
    assert_eq!(r.culprit.as_deref(), Some("hog_rcu::hog_thread"));
}

#[test]
fn rcu_stall_detected_by_another_cpu() {
    let r = only(&golden("rcu_detected_stalls_nmi.log")).clone();
    assert_eq!(
        (r.kind, r.cpu, r.reporting_cpu),
        (Kind::RcuStall, Some(1), Some(0))
    );
    assert_eq!(r.culprit.as_deref(), Some("hog_rcu::hog_thread"));
    // The grace-period kthread's stack dump is not the stalled CPU's.
    assert!(
        !r.stack.iter().any(|f| f == "rcu_gp_kthread"),
        "{:?}",
        r.stack
    );
}

#[test]
fn hung_tasks() {
    let reports = golden("hung_task.log");
    let got: Vec<_> = reports
        .iter()
        .map(|r| {
            (
                r.kind,
                r.comm.as_deref(),
                r.pid,
                r.stuck_secs,
                r.culprit.as_deref(),
                r.cpu,
            )
        })
        .collect();
    assert_eq!(
        got,
        [
            (
                Kind::HungTask,
                Some("hog_wait"),
                Some(120),
                Some(122),
                Some("hog_wait::hog_thread"),
                None
            ),
            (
                Kind::HungTask,
                Some("kworker/u8:2"),
                Some(123),
                Some(122),
                Some("hog_flush_work"),
                None
            ),
        ]
    );
    assert_eq!(reports[0].tainted.as_deref(), Some("GO"));
    // `__mutex_lock` in its stack: it waits for the mutex's owner. The other waits for a
    // completion, which is not a lock.
    assert!(reports[0].victim && !reports[1].victim);
    assert_eq!(
        (reports[0].title.as_str(), reports[1].title.as_str()),
        (
            "task hung in hog_wait::hog_thread",
            "task hung in hog_flush_work"
        )
    );
}

#[test]
fn other_oopses_and_lookalikes_are_not_hang_reports() {
    let reports = golden("not_reports.log");
    let kinds: Vec<(Kind, usize)> = reports.iter().map(|r| (r.kind, r.line)).collect();
    // The workqueue lockup (a `BUG:` line of its own kind, not a `bug`), the spinlock BUG, the
    // WARNING, and the NULL dereference with its `Oops:` line as one oops; the markers, sysctl
    // echo and NMI handler notice are nothing.
    assert_eq!(
        kinds,
        [
            (Kind::WorkqueueLockup, 15),
            (Kind::Bug, 16),
            (Kind::Warning, 18),
            (Kind::Oops, 28)
        ]
    );
    assert!(reports[1..].iter().all(|r| !r.kind.is_hang()));
    assert_eq!(
        reports[0].corrupted.as_deref(),
        Some("another report (line 16) started before its pool's busy workqueues")
    );
    let titles: Vec<&str> = reports.iter().map(|r| r.title.as_str()).collect();
    assert_eq!(
        titles,
        [
            "workqueue lockup (no culprit)",
            "BUG: spinlock lockup suspected",
            "WARNING in watchdog_timer_fn",
            "BUG: kernel NULL pointer dereference in hog_busy::hog_thread"
        ]
    );
    assert_eq!(reports[2].culprit.as_deref(), Some("watchdog_timer_fn"));
    assert_eq!((reports[2].cpu, reports[2].pid), (Some(0), Some(1)));
}

#[test]
fn line_prefix_styles() {
    let reports = golden("prefix_styles.log");
    let got: Vec<_> = reports
        .iter()
        .map(|r| (r.pid.unwrap(), r.time, r.line))
        .collect();
    assert_eq!(
        got,
        [
            (101, Some(12.345678), 1),
            (102, Some(13.5), 4),
            (103, Some(14.25), 7),
            (104, Some(15.000001), 10),
            (105, None, 13),
            (106, None, 16),
            (107, None, 19),
            (108, None, 22),
            (109, Some(16.75), 25),
            (110, Some(17.0), 28),
            (111, None, 31),
            (112, Some(18.0), 34),
        ]
    );
    for r in &reports {
        assert_eq!(
            r.culprit.as_deref(),
            Some("hog_busy::hog_thread"),
            "pid {:?}",
            r.pid
        );
        assert_eq!(r.comm.as_deref(), Some("hog"));
    }
}

#[test]
fn crlf_and_invalid_utf8() {
    let r = only(&golden("crlf_invalid_utf8.log")).clone();
    // A Latin-1 en-dash (0x96) in the header and a broken byte in the comm.
    assert_eq!((r.cpu, r.stuck_secs, r.pid), (Some(1), Some(6), Some(99)));
    assert_eq!(r.comm.as_deref(), Some("hog\u{fffd}"));
    assert_eq!(
        r.rip.as_deref(),
        Some("_RNvCs32VmJVZqcFt_8hog_busy10hog_thread+0x3b/0x50")
    );
    assert_eq!(r.stack, ["kthread", "ret_from_fork"]);
}

#[test]
fn interleaved_reports_bind_by_cpu() {
    let reports = golden("interleaved_cpus.log");
    assert_eq!(reports.len(), 2);
    let (waiter, holder) = (&reports[0], &reports[1]);
    assert_eq!((waiter.cpu, waiter.pid), (Some(0), Some(201)));
    assert_eq!(
        waiter.culprit.as_deref(),
        Some("native_queued_spin_lock_slowpath")
    );
    assert!(waiter.victim);
    assert_eq!((holder.cpu, holder.pid), (Some(1), Some(202)));
    assert_eq!(holder.culprit.as_deref(), Some("hog_pair::holder_thread"));
    assert!(!holder.victim);
}

#[test]
fn truncated_console_still_reports() {
    let r = only(&golden("truncated_eof.log")).clone();
    assert_eq!(
        (r.cpu, r.pid, r.culprit.as_deref()),
        (Some(1), Some(99), None)
    );
    assert_eq!(
        r.corrupted.as_deref(),
        Some("the log ends before its call trace")
    );
    assert_eq!(r.title, "soft lockup (no culprit)");
    assert!(explain(std::slice::from_ref(&r)).contains("No culprit"));
}

#[test]
fn modern_user_space_lockup() {
    let reports = golden("user_space_modern.log");
    let r = only(&reports);
    assert!(r.user_space);
    assert_eq!(
        (r.rip.as_deref(), r.culprit.as_deref()),
        (Some("0x7f3a5c1d2e4b"), None)
    );
    assert!(explain(&reports).contains("hypervisor"));
}

#[test]
fn arm64_pc_and_call_trace() {
    let r = only(&golden("arm64_soft_lockup.log")).clone();
    assert_eq!((r.cpu, r.pid), (Some(2), Some(412)));
    assert_eq!(
        (r.culprit.as_deref(), r.module.as_deref()),
        (Some("hog_thread"), Some("hog"))
    );
    assert_eq!(r.rip.as_deref(), Some("hog_thread+0x14/0x20"));
    assert_eq!(r.stack, ["hog_thread", "kthread", "ret_from_fork"]);
}

#[test]
fn rhel7_panic_carries_the_hard_lockup() {
    let r = only(&golden("rhel7_3.10_hard_lockup_panic.log")).clone();
    assert_eq!(
        (r.kind, r.cpu, r.pid),
        (Kind::HardLockup, Some(5), Some(28734))
    );
    assert!(r.panic);
    // Only the NMI stack's saved registers name the interrupted function.
    assert_eq!(
        (r.culprit.as_deref(), r.module.as_deref()),
        (Some("hog_thread"), Some("hog"))
    );
}

#[test]
fn old_kernels_hard_lockups() {
    let reports = golden("old_kernels_hard_lockup.log");
    assert_eq!(reports.len(), 2);
    let (warn, i386) = (&reports[0], &reports[1]);
    // 2.6.32: the lockup is the message of a WARN(); `Pid:` gives the task.
    assert_eq!(
        (warn.cpu, warn.pid, warn.comm.as_deref()),
        (Some(3), Some(4321), Some("hog"))
    );
    assert_eq!(warn.culprit.as_deref(), Some("hog_thread"));
    // 2.6.18 i386: `NMI Watchdog detected LOCKUP`, `EIP is at`, `Process hog (pid: ...)`.
    assert_eq!(
        (i386.cpu, i386.pid, i386.comm.as_deref()),
        (Some(1), Some(4402), Some("hog"))
    );
    assert_eq!(i386.culprit.as_deref(), Some("_spin_lock"));
    assert!(i386.victim);
}

#[test]
fn powerpc_hard_lockups() {
    let reports = golden("powerpc_hard_lockup.log");
    assert_eq!(reports.len(), 2);
    assert_eq!(
        (reports[0].cpu, reports[0].culprit.as_deref()),
        (Some(8), Some("_raw_spin_lock"))
    );
    assert!(reports[0].victim);
    assert_eq!(
        (reports[1].cpu, reports[1].reporting_cpu),
        (Some(9), Some(10))
    );
    // The fixture ends before CPU 9's answer to the IPI.
    assert_eq!(
        reports[1].corrupted.as_deref(),
        Some("the log ends before its call trace")
    );
    assert_eq!(reports[0].title, "hard LOCKUP in _raw_spin_lock");
}

#[test]
fn rust_closures_and_legacy_symbols() {
    let reports = golden("rust_closure_and_legacy.log");
    assert_eq!(reports.len(), 2);
    assert_eq!(
        reports[0].culprit.as_deref(),
        Some("hog_busy::hog_thread::{closure#0}")
    );
    assert_eq!(reports[0].stack[0], "hog_busy::hog_thread");
    assert_eq!(reports[1].culprit.as_deref(), Some("hog_busy::hog_thread"));
}

#[test]
fn spinlock_pair_names_the_holder() {
    let reports = golden("spinlock_pair.log");
    assert_eq!(reports.len(), 2);
    assert!(reports[0].victim && !reports[1].victim);
    let text = explain(&reports);
    assert!(
        text.contains("requested by hog_pair::waiter_thread"),
        "{text}"
    );
    assert!(text.contains(
        "Candidates among the other reports: #2 soft lockup on CPU 1 in hog_pair::holder_thread"
    ));
    insta::assert_snapshot!("spinlock_pair_explained", text);
}

// --- Consoles recorded from this project's own runs (Linux 6.12.117, TCG, watchdog_thresh=2) ---

/// What `hogs check` prints for a report, so each assertion reads like the console.
fn brief(r: &Report) -> String {
    format!(
        "{} cpu={:?} comm={:?} culprit={:?} module={:?} victim={} panic={}",
        r.kind,
        r.cpu,
        r.comm.as_deref(),
        r.culprit.as_deref(),
        r.module.as_deref(),
        r.victim,
        r.panic
    )
}

#[test]
fn run_shared_boot_busy_irqsave_nopreempt() {
    let reports = golden("run_6.12_shared_boot.log");
    let got: Vec<String> = reports.iter().map(brief).collect();
    assert_eq!(
        got,
        [
            "soft_lockup cpu=Some(1) comm=Some(\"hog_busy\") culprit=Some(\"hog_busy::spin::busy_loop\") module=Some(\"hog_busy\") victim=false panic=false",
            "hard_lockup cpu=Some(1) comm=Some(\"hog_irqsave\") culprit=Some(\"hog_irqsave::spin::busy_loop\") module=Some(\"hog_irqsave\") victim=false panic=false",
            "soft_lockup cpu=Some(1) comm=Some(\"hog_nopreempt\") culprit=Some(\"hog_nopreempt::spin::busy_loop\") module=Some(\"hog_nopreempt\") victim=false panic=false",
        ]
    );
    // The buddy detector on CPU 0 reported CPU 1.
    assert_eq!(reports[1].reporting_cpu, Some(0));
    // Latency from the hog's own start line, as the runner measures it.
    let start = marker_time(&read("run_6.12_shared_boot.log"), "hog_busy: hogging CPU 1");
    let latency = reports[0].time.unwrap() - start;
    assert!((4.0..8.0).contains(&latency), "{latency}");
}

#[test]
fn run_contention_pair_victim_and_culprit() {
    let reports = golden("run_6.12_contention_pair.log");
    let holder = reports
        .iter()
        .find(|r| r.comm.as_deref() == Some("hog_holder"))
        .unwrap();
    let waiter = reports
        .iter()
        .find(|r| r.comm.as_deref() == Some("hog_waiter"))
        .unwrap();
    assert_eq!((holder.cpu, holder.victim), (Some(1), false));
    assert_eq!(holder.culprit.as_deref(), Some("hog_pair::spin::busy_loop"));
    assert_eq!((waiter.cpu, waiter.victim), (Some(2), true));
    assert_eq!(waiter.culprit.as_deref(), Some("queued_spin_lock_slowpath"));
}

#[test]
fn run_panics_end_their_reports() {
    let soft = golden("run_6.12_softlockup_panic.log");
    let soft = only(&soft);
    assert_eq!(
        (soft.kind, soft.cpu, soft.panic),
        (Kind::SoftLockup, Some(1), true)
    );
    assert_eq!(soft.panic_reason.as_deref(), Some("softlockup: hung tasks"));
    let hard = golden("run_6.12_hardlockup_panic.log");
    let hard = only(&hard);
    assert_eq!(
        (hard.kind, hard.cpu, hard.panic),
        (Kind::HardLockup, Some(1), true)
    );
    assert_eq!(hard.panic_reason.as_deref(), Some("Hard LOCKUP"));
    assert_eq!(
        hard.culprit.as_deref(),
        Some("hog_irqsave::spin::busy_loop")
    );
}

#[test]
fn softirq_rip_gives_way_to_the_task_rip() {
    // The timer hit while softirqs ran on irq exit: the first RIP is in sched_balance_domains,
    // the task's (the hog's) comes inside <TASK> after the interrupt section.
    let reports = golden("softirq_rip_before_task_rip.log");
    let r = only(&reports);
    assert_eq!(r.culprit.as_deref(), Some("hog_busy::spin::busy_loop"));
    assert_eq!(r.module.as_deref(), Some("hog_busy"));
    assert!(!r.victim);
}

// --- API details ---

#[test]
fn preemption_model_from_boot_line_or_cpu_tag() {
    assert_eq!(
        preemption_model(&read("run_6.12_shared_boot.log")).as_deref(),
        Some("voluntary")
    );
    let tagged =
        b"[ 5.0] CPU: 1 UID: 0 PID: 64 Comm: hog_busy Tainted: G O 7.3.4 #1 PREEMPT(lazy)\n";
    assert_eq!(preemption_model(tagged).as_deref(), Some("lazy"));
    assert_eq!(preemption_model(b"[ 1.0] Linux version 6.1\n"), None);
    // 7.x refuses preempt=none and boots lazy.
    let refused = b"[ 0.1] Dynamic Preempt: unsupported mode: none\n[ 0.1] Dynamic Preempt: lazy\n";
    assert_eq!(preemption_model(refused).as_deref(), Some("lazy"));
}

#[test]
fn rcu_lockdep_from_the_boot_line() {
    assert!(rcu_lockdep(
        b"[ 0.000000] rcu: Preemptible hierarchical RCU implementation.\n[ 0.000000] rcu: \tRCU lockdep checking is enabled.\n"
    ));
    assert!(!rcu_lockdep(&read("run_6.12_shared_boot.log")));
}

#[test]
fn lines_strip_prefixes_and_read_times() {
    let console = b"[   12.345678][    C1] hogs-mark: begin busy-loop\r\n\
[   13.000001] [  T123] a\n\
<6>[    1.5] b\n\
Aug 13 17:42:32 host kernel: c\n\
[Thu Oct 30 06:21:23 2025] d\n\
[  3.25]  EMERG: e\n\
[   1.0] [<ffffffff810a0c25>] kthread+0xe5/0x100\n\
\n\
no newline";
    let got: Vec<_> = lines(console)
        .map(|l| (l.number, l.time, l.text.into_owned()))
        .collect();
    assert_eq!(
        got,
        [
            (1, Some(12.345678), "hogs-mark: begin busy-loop".to_owned()),
            (2, Some(13.000001), "a".to_owned()),
            (3, Some(1.5), "b".to_owned()),
            (4, None, "c".to_owned()),
            (5, None, "d".to_owned()),
            (6, Some(3.25), "e".to_owned()),
            (
                7,
                Some(1.0),
                "[<ffffffff810a0c25>] kthread+0xe5/0x100".to_owned()
            ),
            (8, None, String::new()),
            (9, None, "no newline".to_owned()),
        ]
    );
    assert_eq!(lines(b"").count(), 0);
    assert_eq!(lines(b"\xff\n").next().unwrap().text, "\u{fffd}");
}

#[test]
fn kind_names_round_trip() {
    for kind in KINDS {
        let name = kind.to_string();
        assert_eq!(name.parse::<Kind>(), Ok(kind));
        assert_eq!(serde_json::to_string(&kind).unwrap(), format!("\"{name}\""));
    }
    assert_eq!("soft".parse::<Kind>(), Err(UnknownKind("soft".into())));
}

#[test]
fn json_shape_and_field_order() {
    let reports = parse(&read("design_6.12_rust_busy_loop.log"));
    let json = to_json(&reports);
    let value: serde_json::Value = serde_json::from_str(&json).unwrap();
    let object = value.as_object().unwrap();
    assert_eq!(object.keys().collect::<Vec<_>>(), ["reports"]);
    assert_eq!(object["reports"].as_array().unwrap().len(), 1);
    let order = [
        "kind",
        "title",
        "cpu",
        "stuck_secs",
        "count",
        "comm",
        "pid",
        "culprit",
        "corrupted",
        "blocker",
        "blocker_pid",
        "blocker_culprit",
        "panic",
        "panic_reason",
        "line",
        "reporting_cpu",
        "module",
        "rip",
        "victim",
        "user_space",
        "time",
        "stack",
        "tainted",
        "backtraces",
        "tasks",
    ];
    let positions: Vec<usize> = order
        .iter()
        .map(|k| json.find(&format!("\"{k}\":")).unwrap())
        .collect();
    assert!(positions.windows(2).all(|w| w[0] < w[1]), "{json}");
    let back: Vec<Report> = serde_json::from_value(object["reports"].clone()).unwrap();
    assert_eq!(back, reports);
    assert_eq!(to_json(&[]).replace([' ', '\n'], ""), r#"{"reports":[]}"#);
    // Results files written before the title, corruption, blocker and task fields still read.
    let mut old = object["reports"][0].clone();
    for field in [
        "title",
        "count",
        "corrupted",
        "blocker",
        "blocker_pid",
        "blocker_culprit",
        "tasks",
    ] {
        old.as_object_mut().unwrap().remove(field);
    }
    let back: Report = serde_json::from_value(old).unwrap();
    assert_eq!(back.title, "");
    assert_eq!(back.culprit, reports[0].culprit);
}

#[test]
fn explain_without_reports_is_one_line() {
    let text = explain(&[]);
    assert_eq!(text.lines().count(), 1);
    assert!(text.starts_with("No reports"));
}

#[test]
fn explain_teaches_thresholds_taint_and_next_steps() {
    let mut reports = parse(&read("seed000_ubuntu_4.4_soft_lockup.log"));
    reports.extend(parse(&read("design_6.12_buddy_hard_lockup.log")));
    let text = explain(&reports);
    insta::assert_snapshot!("explain_soft_and_hard", text);
    for needle in [
        "2 reports.",
        "2*watchdog_thresh (20 s by default",
        "more than watchdog_thresh (10 s by default)",
        "O = an out-of-tree module is loaded",
        "E = an unsigned module is loaded",
        "L = a soft lockup occurred",
        "[hog:6885] is the task that was current on CPU 0",
        "kernel.softlockup_all_cpu_backtrace=1",
        "kernel.hardlockup_all_cpu_backtrace=1",
        "echo l > /proc/sysrq-trigger",
        "Culprit: hog_thread [hog] (RIP hog_thread+0x15/0x1000)",
    ] {
        assert!(text.contains(needle), "missing {needle:?} in\n{text}");
    }
}

#[test]
fn explain_rcu_and_hung_task() {
    let mut reports = parse(&read("rcu_detected_stalls_nmi.log"));
    reports.extend(parse(&read("hung_task.log")));
    let text = explain(&reports);
    assert!(text.contains("RCU stall on CPU 1"), "{text}");
    assert!(text.contains("CPU 0 detected it"), "{text}");
    assert!(
        text.contains("uninterruptible sleep (D state) for more than 122 s"),
        "{text}"
    );
    assert!(
        text.contains("It waits in hog_wait::hog_thread [hog_wait]"),
        "{text}"
    );
    assert!(text.contains("echo w > /proc/sysrq-trigger"), "{text}");
}

#[test]
fn an_all_cpu_backtrace_belongs_to_its_report() {
    // kernel.softlockup_all_cpu_backtrace=1 on 6.12: CPU 1's report, then CPU 0's NMI backtrace.
    let r = only(&golden("run_6.12_all_cpu_backtrace.log")).clone();
    assert_eq!(
        (r.kind, r.cpu, r.backtraces.as_slice()),
        (Kind::SoftLockup, Some(1), &[0][..])
    );
    assert_eq!(r.culprit.as_deref(), Some("hog_nopreempt::spin::busy_loop"));
    // A one-line workqueue hog between the report and the backtraces does not take them.
    let text = String::from_utf8(read("run_6.12_all_cpu_backtrace.log")).unwrap();
    let at = text.find("NMI backtrace for cpu 0").unwrap();
    let line_start = text[..at].rfind('\n').unwrap() + 1;
    let hogged = format!(
        "{}[ 9.0] workqueue: f hogged CPU for >10000us 4 times, consider switching to WQ_UNBOUND\n{}",
        &text[..line_start],
        &text[line_start..]
    );
    let reports = parse(hogged.as_bytes());
    assert_eq!(reports.len(), 2, "{reports:#?}");
    assert_eq!(reports[0].backtraces, [0]);
    assert!(reports[1].backtraces.is_empty());
    // Without the knob the report stands alone.
    let plain = parse(&read("run_6.12_shared_boot.log"));
    assert!(plain.iter().all(|r| r.backtraces.is_empty()), "{plain:#?}");
}

// --- the kinds added with the table: workqueues, hung-task blockers, RCU tasks, callers ---

#[test]
fn workqueue_lockup_names_the_work_in_flight() {
    let reports = golden("workqueue_lockup_7.3.log");
    let r = only(&reports);
    assert_eq!(r.kind, Kind::WorkqueueLockup);
    assert!(r.kind.is_hang());
    assert_eq!((r.cpu, r.stuck_secs), (Some(1), Some(31)));
    // The stuck pool's in-flight work (not CPU 0's pool's flush_to_ldisc), demangled.
    assert_eq!(
        (r.culprit.as_deref(), r.module.as_deref()),
        (Some("hog_wq::busy_work"), Some("hog_wq"))
    );
    // The worker in flight, named by its dump in the stalled-pool backtraces.
    assert_eq!((r.comm.as_deref(), r.pid), (Some("kworker/1:1"), Some(45)));
    assert_eq!(
        r.stack,
        [
            "hog_wq::busy_work",
            "process_one_work",
            "worker_thread",
            "kthread",
            "ret_from_fork",
            "ret_from_fork_asm"
        ]
    );
    assert_eq!(r.title, "workqueue lockup in hog_wq::busy_work");
    assert_eq!(r.corrupted, None);
}

#[test]
fn workqueue_lockup_behind_a_soft_lockup_is_its_victim() {
    let reports = golden("workqueue_lockup_victim_6.12.log");
    assert_eq!(reports.len(), 2, "{reports:#?}");
    let (soft, wq) = (&reports[0], &reports[1]);
    assert_eq!((soft.kind, soft.cpu), (Kind::SoftLockup, Some(1)));
    assert_eq!(soft.culprit.as_deref(), Some("hog_busy::spin::busy_loop"));
    // Only pending work on the pool: no work function to blame, and nothing was cut off.
    assert_eq!(
        (wq.kind, wq.cpu, wq.stuck_secs, wq.culprit.as_deref()),
        (Kind::WorkqueueLockup, Some(1), Some(40), None)
    );
    assert_eq!(wq.corrupted, None);
    assert_eq!(wq.title, "workqueue lockup (no culprit)");
    let text = explain(&reports);
    assert!(
        text.contains("#2 workqueue lockup is a victim of #1 soft lockup"),
        "{text}"
    );
}

#[test]
fn workqueue_hogs_are_one_line_reports() {
    let reports = golden("workqueue_hog.log");
    let got: Vec<_> = reports
        .iter()
        .map(|r| (r.kind, r.count, r.culprit.as_deref(), r.module.as_deref()))
        .collect();
    assert_eq!(
        got,
        [
            (
                Kind::WorkqueueHog,
                Some(4),
                Some("hog_wq::busy_work"),
                Some("hog_wq")
            ),
            (
                Kind::SoftLockup,
                None,
                Some("hog_busy::hog_thread"),
                Some("hog_busy")
            ),
            (
                Kind::WorkqueueHog,
                Some(5),
                Some("hog_wq::busy_work"),
                Some("hog_wq")
            ),
            (
                Kind::WorkqueueHog,
                Some(7),
                Some("hog_wq::busy_work"),
                Some("hog_wq")
            ),
            (
                Kind::WorkqueueHog,
                Some(4),
                Some("drm_fb_helper_damage_work"),
                None
            ),
        ]
    );
    assert!(!Kind::WorkqueueHog.is_hang());
    // The hog line printed inside the soft lockup's dump did not end that dump.
    assert_eq!(
        reports[1].stack,
        ["kthread", "ret_from_fork", "ret_from_fork_asm"]
    );
    assert_eq!(reports[1].corrupted, None);
    // v0 and legacy mangling of the same function: one title.
    assert!(reports[0].title == "workqueue hog in hog_wq::busy_work");
    assert_eq!(reports[0].title, reports[3].title);
    assert!(reports
        .iter()
        .filter(|r| r.kind == Kind::WorkqueueHog)
        .all(|r| r.stuck_secs.is_none() && r.cpu.is_none()));
}

#[test]
fn hung_tasks_name_their_blockers() {
    let reports = golden("hung_task_blocker_7.3.log");
    let got: Vec<_> = reports
        .iter()
        .map(|r| {
            (
                r.comm.as_deref(),
                r.pid,
                r.culprit.as_deref(),
                r.victim,
                r.blocker.as_deref(),
                r.blocker_pid,
                r.blocker_culprit.as_deref(),
            )
        })
        .collect();
    assert_eq!(
        got,
        [
            (
                Some("hog_waiter"),
                Some(123),
                Some("hog_lock::waiter_main"),
                true,
                Some("hog_holder"),
                Some(122),
                // Past schedule_timeout and msleep.
                Some("hog_lock::holder_main")
            ),
            (
                Some("hog_sem"),
                Some(124),
                Some("hog_sem_take"),
                true,
                Some("hog_waiter"),
                Some(123),
                // The holder is hung itself: the kernel prints no second dump, its report says.
                Some("hog_lock::waiter_main")
            ),
            (
                Some("a b:c"),
                Some(130),
                Some("hog_rwsem_write"),
                true,
                Some("[my task:1]"),
                Some(131),
                Some("hog_rwsem_read_and_sleep")
            ),
            // No lock frame, but the kernel says it waits for a mutex.
            (
                Some("hog_orphan"),
                Some(140),
                Some("hog_orphan_wait"),
                true,
                None,
                None,
                None
            ),
        ]
    );
    assert!(reports
        .iter()
        .all(|r| r.kind == Kind::HungTask && r.stuck_secs == Some(122) && r.corrupted.is_none()));
    // The owner's frames are not the blocked task's.
    assert!(!reports[0].stack.iter().any(|f| f.contains("holder_main")));
    assert_eq!(reports[0].title, "task hung in hog_lock::waiter_main");
    let text = explain(&reports);
    assert!(
        text.contains(
            "the kernel names its likely owner, hog_holder:122, which was in hog_lock::holder_main"
        ),
        "{text}"
    );
    assert!(
        text.contains("#2 hung task is a victim of task hog_waiter:123"),
        "{text}"
    );
}

#[test]
fn rcu_stall_of_a_preempted_reader() {
    let r = only(&golden("rcu_tasks_only_7.3.log")).clone();
    assert_eq!(
        (r.kind, r.cpu, r.reporting_cpu),
        (Kind::RcuStall, None, Some(0))
    );
    assert_eq!(r.tasks, [85]);
    assert_eq!((r.comm.as_deref(), r.pid), (Some("hog_rcu"), Some(85)));
    // Past __schedule and the preemption from the timer interrupt.
    assert_eq!(r.culprit.as_deref(), Some("hog_rcu::reader_loop"));
    assert_eq!(r.title, "rcu stall in hog_rcu::reader_loop");
    assert!(explain(std::slice::from_ref(&r))
        .contains("a task preempted inside an RCU read-side section"));
}

#[test]
fn powerpc_stuck_cpu_answers_the_ipi_in_the_same_report() {
    let reports = golden("powerpc_ipi_hard_lockup.log");
    let got: Vec<_> = reports
        .iter()
        .map(|r| (r.kind, r.cpu, r.reporting_cpu, r.pid, r.culprit.as_deref()))
        .collect();
    assert_eq!(
        got,
        [
            (
                Kind::HardLockup,
                Some(9),
                Some(10),
                Some(2346),
                Some("hog_irqsave_thread")
            ),
            (
                Kind::HardLockup,
                Some(5),
                Some(4),
                Some(2400),
                Some("hog_old_thread")
            ),
        ]
    );
    assert!(reports.iter().all(|r| r.corrupted.is_none()));
}

#[test]
fn printk_callers_keep_interleaved_cpus_apart() {
    let console = read("printk_caller_interleaved.log");
    let callers: Vec<Option<Caller>> = lines(&console).map(|l| l.caller).take(4).collect();
    assert_eq!(
        callers,
        [
            Some(Caller::Task(0)),
            Some(Caller::Task(150)),
            Some(Caller::Cpu(1)),
            Some(Caller::Cpu(0))
        ]
    );
    let reports = golden("printk_caller_interleaved.log");
    let got: Vec<_> = reports
        .iter()
        .map(|r| {
            (
                r.cpu,
                r.comm.as_deref(),
                r.culprit.as_deref(),
                r.stack.clone(),
            )
        })
        .collect();
    assert_eq!(
        got,
        [
            (
                Some(1),
                Some("hog_a"),
                Some("hog_a::spin_loop"),
                vec![
                    "hog_a::worker".to_owned(),
                    "kthread".into(),
                    "ret_from_fork".into()
                ]
            ),
            (
                Some(0),
                Some("hog_b"),
                Some("hog_b::spin_loop"),
                vec![
                    "hog_b::worker".to_owned(),
                    "kthread".into(),
                    "ret_from_fork".into()
                ]
            ),
        ]
    );
    assert!(reports.iter().all(|r| r.corrupted.is_none()));
}

#[test]
fn task_names_with_spaces_colons_and_brackets() {
    let reports = golden("task_names.log");
    let got: Vec<_> = reports
        .iter()
        .map(|r| (r.kind, r.comm.as_deref(), r.pid, r.culprit.as_deref()))
        .collect();
    assert_eq!(
        got,
        [
            (
                Kind::SoftLockup,
                Some("[my task:1]"),
                Some(77),
                Some("hog_user_loop")
            ),
            (
                Kind::SoftLockup,
                Some("kworker/0:1H"),
                Some(12),
                Some("hog_block_work")
            ),
            (
                Kind::HungTask,
                Some("a b:c"),
                Some(123),
                Some("hog_sleep_forever")
            ),
        ]
    );
}

#[test]
fn titles_do_not_change_with_cpus_pids_or_times() {
    let one = parse(&read("run_6.12_shared_boot.log"));
    let other = parse(
        &String::from_utf8(read("run_6.12_shared_boot.log"))
            .unwrap()
            .replace("stuck for ", "stuck for 1")
            .into_bytes(),
    );
    let titles = |rs: &[Report]| rs.iter().map(|r| r.title.clone()).collect::<Vec<_>>();
    assert_eq!(titles(&one), titles(&other));
    for r in one.iter().chain(&other) {
        assert!(!r.title.bytes().any(|b| b.is_ascii_digit()), "{}", r.title);
    }
}

#[test]
fn explain_relates_one_bug_seen_by_four_detectors() {
    let reports = golden("chain_one_bug_7.3.log");
    let kinds: Vec<Kind> = reports.iter().map(|r| r.kind).collect();
    assert_eq!(
        kinds,
        [
            Kind::RcuStall,
            Kind::SoftLockup,
            Kind::WorkqueueLockup,
            Kind::HungTask
        ]
    );
    assert!(reports[..3].iter().all(|r| r.cpu == Some(1)));
    assert!(reports[..2]
        .iter()
        .all(|r| r.culprit.as_deref() == Some("hog_lock::spin::busy_loop")));
    let hung = &reports[3];
    assert_eq!(
        (
            hung.blocker.as_deref(),
            hung.blocker_pid,
            hung.blocker_culprit.as_deref()
        ),
        (Some("hog_holder"), Some(122), Some("hog_lock::holder_main"))
    );
    let text = explain(&reports);
    insta::assert_snapshot!("chain_one_bug_explained", text);
    for needle in [
        "How these reports relate.",
        "RCU stall after rcupdate.rcu_cpu_stall_timeout (21 s",
        "soft lockup after 2*watchdog_thresh",
        "#1 RCU stall and #2 soft lockup on CPU 1 are one bug",
        "#3 workqueue lockup is a victim of #2 soft lockup",
        "#4 hung task is a victim of #2 soft lockup",
        "(#2 soft lockup in this log)",
        "workqueue.watchdog_thresh",
    ] {
        assert!(text.contains(needle), "missing {needle:?} in\n{text}");
    }
}

#[test]
fn cut_off_reports_say_why() {
    let report = |text: &str| -> Vec<(Kind, Option<String>, Option<String>)> {
        parse(text.as_bytes())
            .into_iter()
            .map(|r| (r.kind, r.culprit, r.corrupted))
            .collect()
    };
    let head = "[ 1.0] watchdog: BUG: soft lockup - CPU#1 stuck for 22s! [hog:99]\n\
                [ 1.1] CPU: 1 UID: 0 PID: 99 Comm: hog Not tainted 6.12.117 #1\n\
                [ 1.2] RIP: 0010:hog_loop+0x1/0x2 [hog]\n\
                [ 1.3] Call Trace:\n\
                [ 1.4]  <TASK>\n\
                [ 1.5]  hog_thread+0x1/0x2 [hog]\n";
    // The log ends inside <TASK>: the culprit is kept, the report says it is incomplete.
    assert_eq!(
        report(head),
        [(
            Kind::SoftLockup,
            Some("hog_loop".into()),
            Some("the log ends inside its call trace".into())
        )]
    );
    // The same trace closed by </TASK> is whole.
    assert_eq!(report(&format!("{head}[ 1.6]  </TASK>\n"))[0].2, None);
    // Another report inside the trace.
    let cut = format!("{head}[ 2.0] INFO: task hog_wait:5 blocked for more than 122 seconds.\n");
    assert_eq!(
        report(&cut)[0].2.as_deref(),
        Some("its call trace is cut off by another report (line 7)")
    );
    // Another report before the trace: the RCU stall's CPU dump never came.
    let before = "[ 1.0] rcu: INFO: rcu_preempt self-detected stall on CPU\n\
                  [ 1.1] rcu: \t1-....: (5250 ticks this GP) idle=b6c4/1/0x4000000000000000\n\
                  [ 1.2] watchdog: BUG: soft lockup - CPU#0 stuck for 22s! [other:7]\n\
                  [ 1.3] RIP: 0010:other_loop+0x1/0x2\n";
    assert_eq!(
        report(before),
        [
            (
                Kind::RcuStall,
                None,
                Some(
                    "another report (line 3) started inside its dump before its call trace".into()
                )
            ),
            (Kind::SoftLockup, Some("other_loop".into()), None),
        ]
    );
    // A dump that ends (here: a quiet stretch) without any trace.
    let quiet = format!(
        "[ 1.0] INFO: task hog_wait:5 blocked for more than 122 seconds.\n{}",
        "[ 1.1] unrelated line\n".repeat(80)
    );
    assert_eq!(report(&quiet)[0].2.as_deref(), Some("no call trace"));
}

#[test]
fn printk_caller_ids_are_read_and_removed() {
    let got: Vec<_> =
        lines(b"[    5.140900][    T1] a\n[ 12.3][    C1] b\n[ 1.0] [  T123] c\n[ 2.0] d\n")
            .map(|l| (l.caller, l.text.into_owned()))
            .collect();
    assert_eq!(
        got,
        [
            (Some(Caller::Task(1)), "a".to_owned()),
            (Some(Caller::Cpu(1)), "b".to_owned()),
            (Some(Caller::Task(123)), "c".to_owned()),
            (None, "d".to_owned()),
        ]
    );
}

#[test]
fn old_workqueue_and_rcu_detail_forms() {
    // 4.x: `in-flight: PID:func` without ` for Ns`, a rescuer, a second worker after a comma;
    // `active=1/256` of the pwq line; 3.x RCU listing a blocked task inline.
    let console = b"[ 60.0] BUG: workqueue lockup - pool cpus=2 node=0 flags=0x0 nice=-20 stuck for 33s!\n\
[ 60.1] Showing busy workqueues and worker pools:\n\
[ 60.2] workqueue events_highpri: flags=0x10\n\
[ 60.3]   pwq 5: cpus=2 node=0 flags=0x0 nice=-20 active=1/256\n\
[ 60.4]     in-flight: 77(RESCUER):hog_old_work [hog], 78:other_work\n\
[ 70.0] INFO: rcu_preempt detected stalls on CPUs/tasks: { P85} (detected by 0, t=6002 jiffies, g=123, c=122, q=7)\n";
    let reports = parse(console);
    assert_eq!(reports.len(), 2, "{reports:#?}");
    let (wq, rcu) = (&reports[0], &reports[1]);
    assert_eq!(
        (
            wq.kind,
            wq.cpu,
            wq.pid,
            wq.culprit.as_deref(),
            wq.module.as_deref()
        ),
        (
            Kind::WorkqueueLockup,
            Some(2),
            Some(77),
            Some("hog_old_work"),
            Some("hog")
        )
    );
    assert_eq!(
        (rcu.kind, rcu.cpu, rcu.reporting_cpu, rcu.tasks.as_slice()),
        (Kind::RcuStall, None, Some(0), &[85][..])
    );
}

#[test]
fn every_kind_explains_itself_from_its_table_entry() {
    for kind in KINDS {
        let mut r = Report::empty(kind, 1);
        r.culprit = Some("hog_fn".into());
        let text = explain(std::slice::from_ref(&r));
        assert!(text.contains(&format!("#1 {}", kind.label())), "{text}");
        assert!(text.contains("hog_fn"), "{kind}: {text}");
        assert!(text.contains("Next:"), "{kind}: {text}");
        let note = crate::live::live_note(&r);
        assert!(!note.contains('{'), "{kind}: {note}");
    }
}

/// A real 6.12 console (hog_rcu, resched=1): RCU waits for a reader that runs on another CPU,
/// whose stack the detecting CPU can only guess (every frame `?`). The trace is there, so the
/// report is not cut off; no frame is trusted for the culprit.
#[test]
fn rcu_stall_on_a_running_task_with_guessed_frames() {
    let r = golden("run_6.12_rcu_tasks_running.log");
    assert_eq!(r.len(), 1);
    assert_eq!(r[0].kind, Kind::RcuStall);
    assert_eq!(r[0].comm.as_deref(), Some("hog_rcu"));
    assert_eq!(r[0].tasks, [64]);
    assert_eq!(r[0].corrupted, None);
    assert_eq!(r[0].culprit, None);
    assert_eq!(r[0].title, "rcu stall (no culprit)");
}

/// A real 6.12 console from a stability run: the buddy detector's NMI landed while the hog's
/// busy loop was reading the clock (`RIP: read_tsc`, under `ktime_get`). The clock is not the
/// culprit; the loop that reads it is.
#[test]
fn an_nmi_in_the_clock_read_names_the_loop() {
    let r = golden("run_6.12_nmi_in_clock_read.log");
    let hard: Vec<&Report> = r.iter().filter(|r| r.kind == Kind::HardLockup).collect();
    assert_eq!(hard.len(), 1);
    assert_eq!(hard[0].cpu, Some(1));
    assert!(hard[0].rip.as_deref().unwrap().starts_with("read_tsc"));
    assert_eq!(
        hard[0].culprit.as_deref(),
        Some("hog_irqsave::spin::busy_loop")
    );
}

/// A real arm64 console (6.12, TCG): the soft lockup's timer interrupt landed while the hog's
/// busy loop was reading the clock (`pc : arch_counter_read`, under `ktime_get`). As with x86's
/// `read_tsc`, the loop that reads the clock is the culprit, not the clock.
#[test]
fn an_arm64_clock_read_names_the_loop() {
    let r = golden("run_6.12_arm64_clock_read.log");
    let soft: Vec<&Report> = r.iter().filter(|r| r.kind == Kind::SoftLockup).collect();
    assert_eq!(soft.len(), 2);
    assert!(soft[0]
        .rip
        .as_deref()
        .unwrap()
        .starts_with("arch_counter_read"));
    for s in soft {
        assert_eq!(s.cpu, Some(1));
        assert_eq!(s.culprit.as_deref(), Some("hog_busy::spin::busy_loop"));
    }
}

/// A real arm64 perf hard lockup with `kernel.hardlockup_all_cpu_backtrace=1`: the locked CPU
/// reports itself from its own PMU NMI, with its `pc` in the hog, and asks the other CPU for
/// its backtrace, which answers `skipped: idling`: an answer all the same.
#[test]
fn an_arm64_perf_hard_lockup_is_its_own_cpus_with_the_idle_answer() {
    let r = golden("run_6.12_arm64_perf_all_cpu_backtrace.log");
    let hard = only(&r);
    assert_eq!(hard.kind, Kind::HardLockup);
    assert_eq!(hard.cpu, Some(1));
    assert_eq!(hard.comm.as_deref(), Some("hog_irqsave"));
    assert_eq!(
        hard.culprit.as_deref(),
        Some("hog_irqsave::spin::busy_loop")
    );
    assert_eq!(hard.backtraces, [0]);
}

/// A real arm64 console (6.12 buddy flavour, TCG): the soft lockup's timer came while the CPU
/// ran the scheduler's softirq on its way out of an earlier interrupt (`pc :
/// sched_balance_update_blocked_averages`, then `el1h_64_irq`, then the hog). arm64 prints no
/// `<IRQ>` markers; the interrupt's entry frame splits the trace, and the interrupted hog is
/// the culprit.
#[test]
fn an_arm64_interrupt_entry_splits_the_trace() {
    let r = golden("run_6.12_arm64_softirq_on_irq_exit.log");
    let soft = only(&r);
    assert_eq!(soft.kind, Kind::SoftLockup);
    assert!(soft
        .rip
        .as_deref()
        .unwrap()
        .starts_with("sched_balance_update_blocked_averages"));
    assert_eq!(soft.culprit.as_deref(), Some("hog_busy::spin::busy_loop"));
}

/// The reader fed as a console streams (a line at a time, or in odd-sized chunks that split
/// lines) finds exactly the reports of the whole log read at once, for every fixture: `--live`,
/// the guest step and a boot's record cannot disagree.
#[test]
fn reading_as_it_comes_finds_what_reading_at_once_does() {
    for entry in std::fs::read_dir(fixture_dir()).unwrap() {
        let path = entry.unwrap().path();
        let text = std::fs::read(&path).unwrap();
        let whole = parse(&text);
        let mut by_line = crate::report::Reader::default();
        for line in text.split_inclusive(|&b| b == b'\n') {
            by_line.push(line);
        }
        assert_eq!(by_line.reports(), whole, "{} line by line", path.display());
        let mut by_chunk = crate::report::Reader::default();
        for chunk in text.chunks(97) {
            by_chunk.push(chunk);
            // Asking midway must not change what comes after.
            let _ = by_chunk.reports();
        }
        assert_eq!(by_chunk.reports(), whole, "{} in chunks", path.display());
    }
}

/// An NMI that lands in the Rust kernel crate's clock wrapper, called by the hog's busy loop
/// (7.3, a loaded host): the wrapper is plumbing like the `ktime_get` it calls, and the culprit
/// is the loop. It was named the culprit once, failing hotplug-watched-cpu1.
#[test]
fn a_rust_kernel_crate_wrapper_is_plumbing() {
    let reports = parse(&read("run_7.3_rust_ktime_get_under_nmi.log"));
    let r = only(&reports);
    assert_eq!(r.kind, Kind::HardLockup);
    assert_eq!(
        r.culprit.as_deref(),
        Some("hog_irqsave::spin::busy_loop"),
        "{r:#?}"
    );
}

/// An expedited grace period's stall is marked: the kernel does not count it in
/// `rcu_stall_count`, and the judge leaves it out of that counter's sum.
#[test]
fn an_expedited_rcu_stall_is_marked() {
    let expedited = parse(b"[ 5.0] rcu: INFO: rcu_preempt detected expedited stalls on CPUs/tasks: { 1-.... } 21 jiffies s: 813 root: 0x2/.\n");
    assert!(only(&expedited).expedited);
    let normal = parse(b"[ 5.0] rcu: INFO: rcu_preempt detected stalls on CPUs/tasks:\n[ 5.0] rcu: \t1-....: (5250 ticks this GP) idle=9f4/1/0x4000000000000000 softirq=1/1 fqs=2\n");
    assert!(!only(&normal).expedited);
}
