//! The kernel's hang detectors, one [`Detector`] entry each: the report kinds it prints, the
//! setting that times it, when it can report (its window, from its own code), how often it
//! repeats, how lateness is judged, and how the boot check sees it switched on. Scenarios,
//! the judge, the boot check and `hogs explain` read this table and nothing else.
//!
//! **Adding a detector** takes its entry in [`DETECTORS`], its report kind in
//! `report/kinds.rs` (the [`Kind`] variant and the patterns of its first line) and fixtures in
//! `report/fixtures/` that pin the parser on real consoles. Nothing else names a detector.

use std::ops::RangeInclusive;

use serde::Serialize;

use crate::report::{Kind, Report};

/// A detector's timeout, as a scenario sets it: on the command line or at run time.
#[derive(Debug)]
pub struct Setting {
    /// How messages name it (`watchdog_thresh=2`).
    pub name: &'static str,
    /// The boot argument that sets it, up to the value.
    pub arg: &'static str,
    /// The file that sets it at run time (a scenario's `[[set]]` target).
    pub path: &'static str,
    /// What the kernel accepts, and why, when a scenario could ask for more.
    pub accepts: Option<(RangeInclusive<f64>, &'static str)>,
}

/// When a detector can report a CPU (or task, or pool) that stopped at time 0, in seconds.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Window {
    pub earliest: f64,
    pub latest: f64,
}

/// Which hard lockup detector watches: they sample at different rates, so their windows differ.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum HardDetector {
    /// A CPU watches its neighbour's timer interrupts (x86 under TCG: no PMU).
    #[default]
    Buddy,
    /// A PMU counter's overflow NMI on the locked CPU itself (`CONFIG_HARDLOCKUP_DETECTOR_PERF`).
    Perf,
}

/// The file that says a detector is on, as the boot check reads it in the guest.
#[derive(Debug)]
pub struct Switch {
    pub path: &'static str,
    /// Whether the file's (trimmed) contents mean "on".
    pub on: fn(&str) -> bool,
    /// What a boot lacks when it is off or missing.
    pub off: &'static str,
}

/// A counter of a detector's reports that the kernel exposes, for monitoring systems.
#[derive(Debug)]
pub struct Counter {
    pub path: &'static str,
    /// The first release that has it (`(6, 16)`): a kernel from then on without it broke it.
    pub since: (u32, u32),
    /// Every count is a printed report (soft lockups, RCU stalls), so the counter may not rise
    /// by more than the reports printed; else it also counts detections it does not print (the
    /// hard lockup detector counts every check that finds the CPU still stuck, the hung task
    /// detector every look at a task past the warning limit).
    pub exact: bool,
    /// A knob (sysctl or boot parameter name) under which counts go unprinted even where
    /// `exact`: with `kernel.softlockup_all_cpu_backtrace` a CPU that finds another dumping
    /// counts its lockup and returns without a report.
    pub inexact_with: Option<&'static str>,
    /// Which reports of its kind the kernel counts (RCU's expedited stalls, reported from
    /// tree_exp.h, do not touch `rcu_stall_count`).
    pub counts: fn(&Report) -> bool,
}

/// One hang detector.
#[derive(Debug)]
pub struct Detector {
    /// How people call it.
    pub name: &'static str,
    /// The report it prints.
    pub kind: Kind,
    /// The setting its window follows.
    pub setting: &'static Setting,
    /// When its first report can come after the stall began, at setting `t`.
    pub window: fn(t: f64, hard: HardDetector) -> Window,
    /// When each repeated report of one episode can come after the one before, at setting `t`
    /// (`None`: repeats are not checked).
    pub repeat: Option<fn(t: f64) -> Window>,
    /// Seconds the kernel adds to its timeout where RCU is checked by lockdep
    /// (`CONFIG_PROVE_RCU`).
    pub prove_rcu_delay: f64,
    /// Whether a late report is judged against the guest's measured timer lag. True where the
    /// window follows from the detector's own timers, which host load delays as it delays the
    /// guest's; false where the checker runs in kthreads, grace-period machinery or workqueues
    /// whose delays the timer lag does not bound (hung-task-mutex reported 9.2 s in for a
    /// window ending at 6.5 s on 7.3, with timers 0.04 s late): a fixed tolerance until their
    /// windows are derived again.
    pub follows_timer_lag: bool,
    /// How the boot check sees it on.
    pub switch: Switch,
    /// The kernel option that builds it.
    pub option: &'static str,
    /// Its report counter, on kernels that have one.
    pub counter: Option<Counter>,
}

/// `kernel.watchdog_thresh` (seconds; 10 by default): the soft and hard lockup detectors'.
pub const WATCHDOG_THRESH: Setting = Setting {
    name: "watchdog_thresh",
    arg: "watchdog_thresh=",
    path: "/proc/sys/kernel/watchdog_thresh",
    accepts: None,
};

/// RCU's stall timeout (seconds, at least 3; 21 by default). Read at every grace period start.
pub const RCU_STALL_TIMEOUT: Setting = Setting {
    name: "rcupdate.rcu_cpu_stall_timeout",
    arg: "rcupdate.rcu_cpu_stall_timeout=",
    path: "/sys/module/rcupdate/parameters/rcu_cpu_stall_timeout",
    accepts: Some((
        3.0..=300.0,
        "the kernel takes 3 to 300 s (it raises lower values to 3)",
    )),
};

/// The hung task detector's timeout (seconds; 120 by default). Writing it wakes khungtaskd.
pub const HUNG_TASK_TIMEOUT: Setting = Setting {
    name: "kernel.hung_task_timeout_secs",
    arg: "sysctl.kernel.hung_task_timeout_secs=",
    path: "/proc/sys/kernel/hung_task_timeout_secs",
    accepts: None,
};

/// The workqueue watchdog's threshold (seconds; 30 by default).
pub const WQ_WATCHDOG_THRESH: Setting = Setting {
    name: "workqueue.watchdog_thresh",
    arg: "workqueue.watchdog_thresh=",
    path: "/sys/module/workqueue/parameters/watchdog_thresh",
    accepts: None,
};

/// Seconds per unit of the soft lockup detector's clock: `watchdog_thresh` counts 2^30 ns.
const UNIT: f64 = (1u64 << 30) as f64 / 1e9;

/// The soft and hard lockup detectors' sample period at `watchdog_thresh` `t`: 2t/5 s.
fn sample(t: f64) -> f64 {
    2.0 * t / 5.0
}

/// Seconds between two perf hard lockup NMIs per unit of `watchdog_thresh` under TCG: the
/// kernel's 5 GHz guess of the CPU's clock over QEMU's 1 GHz cycle counter.
pub const PERF_SECS_PER_THRESH: f64 = 5.0;

/// **Soft lockup** at `watchdog_thresh` `t` (kernel/watchdog.c, the same in 6.12 and 7.3): the
/// per-CPU hrtimer fires every sample period and queues the stopper, whose run stamps
/// `watchdog_report_ts`; stamps count units of 2^30 ns, and the check is
/// `time_after(now, period_ts + 2t)`. The last stamp before the hog took the CPU is at most one
/// sample old, and more than 2t units must pass after it: **earliest** 2t units minus a sample.
/// Our hogs announce themselves on the serial console, whose driver calls
/// `touch_nmi_watchdog()`, which restarts the count at the next sample; then up to 2t + 1 units
/// pass, plus a sample until the timer looks: **latest** (2t+1) units + 2 samples.
fn soft_window(t: f64, _: HardDetector) -> Window {
    Window {
        earliest: 2.0 * t * UNIT - sample(t),
        latest: (2.0 * t + 1.0) * UNIT + 2.0 * sample(t),
    }
}

/// A repeated soft lockup report: the report restarts the count (`update_report_ts()`), and
/// its own console output touches the watchdog as the hog's did, so between 2t units and
/// (2t+1) units plus two samples after the previous one.
fn soft_repeat(t: f64) -> Window {
    Window {
        earliest: 2.0 * t * UNIT,
        latest: (2.0 * t + 1.0) * UNIT + 2.0 * sample(t),
    }
}

/// **Hard lockup** at `watchdog_thresh` `t`.
/// - **Buddy** (kernel/watchdog_buddy.c): a CPU checks its neighbour's hrtimer count every
///   sample (7.3: three misses in a row) or every third sample (6.12: one miss after a save);
///   either way 3 samples (1.2t) must pass after the neighbour's last timer interrupt, which came
///   at most a sample before the hog turned interrupts off: **earliest** 0.8t. With the
///   console's touch skipping one check: **latest** 3.6t.
/// - **Perf** (arm64 under TCG): each CPU's PMU cycle counter overflows into an NMI every
///   `5 GHz x t` cycles (`SAFE_MAX_CPU_FREQ` without cpufreq, arch/arm64/kernel/watchdog_hld.c)
///   of QEMU's 1 GHz virtual cycle counter: a period P of [`PERF_SECS_PER_THRESH`]`t` s. The
///   NMI reports when the CPU's timer count has not moved since the last one, which came at
///   most a sample before the hog: **earliest** P minus a sample. The console's touch skips
///   one check, and a period may have just begun: **latest** 3P.
fn hard_window(t: f64, hard: HardDetector) -> Window {
    match hard {
        HardDetector::Perf => Window {
            earliest: PERF_SECS_PER_THRESH * t - sample(t),
            latest: 3.0 * PERF_SECS_PER_THRESH * t,
        },
        HardDetector::Buddy => Window {
            earliest: 2.0 * sample(t),
            latest: 3.6 * t,
        },
    }
}

/// **RCU stall** at `rcu_cpu_stall_timeout` `t` (kernel/rcu/tree_stall.h): a grace period that
/// waits for the reader is reported `t` after it started, from the next scheduler tick of a CPU
/// that checks. A grace period already under way when the reader began is the earliest case,
/// and those last milliseconds on an idle guest: **earliest** `t` - 0.25 s. One starts only
/// when something needs it (a callback queued), which the guest's own activity does within
/// moments: **latest** 1.5t + 1 s.
fn rcu_window(t: f64, _: HardDetector) -> Window {
    Window {
        earliest: t - 0.25,
        latest: 1.5 * t + 1.0,
    }
}

/// **Hung task** at `hung_task_timeout_secs` `t` (kernel/hung_task.c): khungtaskd looks every
/// `t` seconds; the first look after the task blocked only notes its switch count, the next one
/// reports it if it has not run since. **Workqueue lockup** at `workqueue.watchdog_thresh` `t`
/// (kernel/workqueue.c): the watchdog's timer fires every `t` seconds and reports a pool with
/// pending work and no progress for more than `t`; the first firing after the pool stalled is
/// at most `t` later and too early, the next one reports. Both: **earliest** `t`, **latest**
/// 2t + 0.5 s.
fn periodic_check_window(t: f64, _: HardDetector) -> Window {
    Window {
        earliest: t,
        latest: 2.0 * t + 0.5,
    }
}

/// Every detector the suite checks.
pub const DETECTORS: &[Detector] = &[
    Detector {
        name: "soft lockup detector",
        kind: Kind::SoftLockup,
        setting: &WATCHDOG_THRESH,
        window: soft_window,
        repeat: Some(soft_repeat),
        prove_rcu_delay: 0.0,
        follows_timer_lag: true,
        switch: Switch {
            path: "/proc/sys/kernel/soft_watchdog",
            on: |v| v == "1",
            off: "no soft lockup detector",
        },
        option: "CONFIG_SOFTLOCKUP_DETECTOR",
        // kernel/watchdog.c: `++softlockup_count` just before the report is printed.
        counter: Some(Counter {
            path: "/sys/kernel/softlockup_count",
            since: (6, 16),
            exact: true,
            inexact_with: Some("softlockup_all_cpu_backtrace"),
            counts: |_| true,
        }),
    },
    Detector {
        name: "hard lockup detector",
        kind: Kind::HardLockup,
        setting: &WATCHDOG_THRESH,
        window: hard_window,
        repeat: None,
        prove_rcu_delay: 0.0,
        follows_timer_lag: true,
        switch: Switch {
            path: "/proc/sys/kernel/nmi_watchdog",
            on: |v| v == "1",
            off: "no hard lockup detector",
        },
        option: "CONFIG_HARDLOCKUP_DETECTOR",
        // kernel/watchdog.c: `++hardlockup_count` at every check that finds the CPU stuck,
        // before "Only print hardlockups once".
        counter: Some(Counter {
            path: "/sys/kernel/hardlockup_count",
            since: (6, 16),
            exact: false,
            inexact_with: None,
            counts: |_| true,
        }),
    },
    Detector {
        name: "RCU CPU stall detector",
        kind: Kind::RcuStall,
        setting: &RCU_STALL_TIMEOUT,
        window: rcu_window,
        repeat: None,
        // `RCU_STALL_DELAY_DELTA`: with `CONFIG_PROVE_RCU` the first warning of a grace period
        // comes this much later than `rcu_cpu_stall_timeout` says.
        prove_rcu_delay: 5.0,
        follows_timer_lag: false,
        switch: Switch {
            path: "/sys/module/rcupdate/parameters/rcu_cpu_stall_suppress",
            on: |v| v == "0",
            off: "no RCU stall warnings",
        },
        option: "CONFIG_RCU_STALL_COMMON",
        // kernel/rcu/tree_stall.h: `++rcu_stall_count` as a stall warning starts.
        counter: Some(Counter {
            path: "/sys/kernel/rcu_stall_count",
            since: (6, 16),
            exact: true,
            inexact_with: None,
            counts: |r| !r.expedited,
        }),
    },
    Detector {
        name: "hung task detector",
        kind: Kind::HungTask,
        setting: &HUNG_TASK_TIMEOUT,
        window: periodic_check_window,
        repeat: None,
        prove_rcu_delay: 0.0,
        follows_timer_lag: false,
        switch: Switch {
            path: "/proc/sys/kernel/hung_task_timeout_secs",
            on: |v| v != "0",
            off: "no hung task detector (CONFIG_DETECT_HUNG_TASK)",
        },
        option: "CONFIG_DETECT_HUNG_TASK",
        // kernel/hung_task.c: every hung task found, printed or not (hung_task_warnings).
        counter: Some(Counter {
            path: "/proc/sys/kernel/hung_task_detect_count",
            since: (6, 13),
            exact: false,
            inexact_with: None,
            counts: |_| true,
        }),
    },
    Detector {
        name: "workqueue watchdog",
        kind: Kind::WorkqueueLockup,
        setting: &WQ_WATCHDOG_THRESH,
        window: periodic_check_window,
        repeat: None,
        prove_rcu_delay: 0.0,
        follows_timer_lag: false,
        switch: Switch {
            path: "/sys/module/workqueue/parameters/watchdog_thresh",
            on: |v| v != "0",
            off: "no workqueue lockup detector (CONFIG_WQ_WATCHDOG)",
        },
        option: "CONFIG_WQ_WATCHDOG",
        counter: None,
    },
];

/// The detector that prints reports of `kind`, if a hang detector does.
pub fn of(kind: Kind) -> Option<&'static Detector> {
    DETECTORS.iter().find(|d| d.kind == kind)
}

/// When the first report of `kind` can come at setting `t`, if a hang detector prints it.
pub fn detection_window(kind: Kind, t: f64, hard: HardDetector) -> Option<Window> {
    of(kind).map(|d| (d.window)(t, hard))
}

/// Whether a late report of `kind` is judged against the guest's measured timer lag
/// ([`Detector::follows_timer_lag`]).
pub fn follows_timer_lag(kind: Kind) -> bool {
    of(kind).is_some_and(|d| d.follows_timer_lag)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_hang_kind_but_the_rare_ones_has_one_detector() {
        for d in DETECTORS {
            assert_eq!(
                DETECTORS.iter().filter(|o| o.kind == d.kind).count(),
                1,
                "{}",
                d.name
            );
            assert!(d.kind.is_hang(), "{} is a hang kind", d.name);
        }
    }

    #[test]
    fn windows_follow_the_detectors_code() {
        let w = |kind, t, hard| detection_window(kind, t, hard).unwrap();
        let soft = w(Kind::SoftLockup, 1.0, HardDetector::Buddy);
        assert!((soft.earliest - 1.747).abs() < 0.01 && (soft.latest - 4.02).abs() < 0.01);
        let buddy = w(Kind::HardLockup, 1.0, HardDetector::Buddy);
        assert_eq!((buddy.earliest, buddy.latest), (0.8, 3.6));
        let perf = w(Kind::HardLockup, 1.0, HardDetector::Perf);
        assert_eq!((perf.earliest, perf.latest), (4.6, 15.0));
        let rcu = w(Kind::RcuStall, 3.0, HardDetector::Buddy);
        assert_eq!((rcu.earliest, rcu.latest), (2.75, 5.5));
        let hung = w(Kind::HungTask, 3.0, HardDetector::Buddy);
        assert_eq!((hung.earliest, hung.latest), (3.0, 6.5));
        assert!(follows_timer_lag(Kind::SoftLockup) && !follows_timer_lag(Kind::HungTask));
    }
}
