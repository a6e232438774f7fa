// SPDX-License-Identifier: GPL-2.0

//! The busy loop every hog spins in, and the messages around it.
//!
//! The seed's hog is `while (1);`. Ours differs in two ways. So that the machine rights itself
//! again, it looks at the clock (`ktime_get()`) and at `kthread_should_stop()` every
//! [`RELAX_PER_ROUND`] `pause` instructions (or every interrupt, below), and returns after
//! `secs` seconds or when the module is unloaded. And so that a hog costs an emulated
//! machine's host nothing, it halts between two looks when interrupts are on and the tick will
//! end the halt ([`compat::wait_for_interrupt`]), unless told to spin ([`Manners::spin`]): the
//! thread keeps its CPU either way, and the detectors see the same. It does not schedule unless
//! asked to ([`Manners`]); whether that makes a lockup depends on the context the caller gives
//! it:
//!
//! | caller                            | context                       | watchdog report |
//! |-----------------------------------|-------------------------------|-----------------|
//! | `hog_busy`, `hog_isolated`        | preemptible kthread           | soft lockup unless `preempt=full` |
//! | `hog_nopreempt`, `hog_pair` holder | raw spinlock held: preemption off | soft lockup |
//! | `hog_irqsave`                     | `spin_lock_irqsave`: interrupts off | hard lockup |
//! | `hog_polite`                      | calls `cond_resched()` each round | none |
//!
//! [`busy_loop`] is never inlined, so the `RIP:` line of a report names it, with the hog's
//! crate in front: `hog_busy::spin::busy_loop` (v0-mangled in the report:
//! `_RNvNtCs<hash>_8hog_busy4spin9busy_loop`).
//!
//! The messages have a fixed form the test harness greps, with the module name as prefix:
//! `hog_busy: hogging CPU 1 for 8 s ...` when the hog starts and
//! `hog_busy: released CPU 1 after 8.000 s` when it ends.

use crate::{
    compat::{self, Instant},
    thread::Kthread,
};
use core::fmt;
use core::sync::atomic::{AtomicBool, Ordering};
use kernel::prelude::*;

/// How many `pause` instructions between two looks at the clock and at the stop flag.
///
/// Large enough that nearly all the time is spent in [`busy_loop`] itself (so that is where a
/// lockup report finds the RIP, not in `ktime_get()`), small enough that the hog notices its
/// deadline or `kthread_stop()` within a millisecond or so (a `pause` takes up to ~100 cycles).
const RELAX_PER_ROUND: u32 = 10_000;

/// Nanoseconds per second.
const NSEC_PER_SEC: i64 = 1_000_000_000;

/// What the busy loop does between two rounds of spinning, besides looking at the clock.
///
/// The default does nothing: the hog never gives the CPU away by itself.
#[derive(Default, Clone, Copy)]
pub(crate) struct Manners {
    /// Call `cond_resched()`: let the scheduler run something else if it wants to.
    pub(crate) cond_resched: bool,
    /// Call `touch_softlockup_watchdog()`: tell the soft-lockup detector all is well.
    pub(crate) touch_watchdog: bool,
    /// Do what C's `touch_nmi_watchdog()` does: tell both detectors all is well (what the
    /// serial console driver does while it prints).
    pub(crate) touch_nmi_watchdog: bool,
    /// Also stop when this is set (a hog that is not its own thread: a work item).
    pub(crate) stop: Option<&'static AtomicBool>,
    /// Spin with `pause` even where the CPU could halt until its next interrupt: the seed's
    /// loop, which keeps an emulated CPU's host thread busy all along.
    pub(crate) spin: bool,
}

/// How [`busy_loop`] ended.
#[derive(Clone, Copy)]
pub(crate) enum End {
    /// The `secs` were over.
    Expired,
    /// `kthread_stop()` asked the thread to stop (the module is being unloaded).
    Stopped,
}

/// What [`busy_loop`] reports when it returns.
#[derive(Clone, Copy)]
pub(crate) struct Outcome {
    /// How long it spun, in nanoseconds.
    pub(crate) elapsed_ns: i64,
    /// Why it stopped.
    pub(crate) end: End,
}

/// Spins on the current CPU for `secs` seconds (0: until `kthread_stop()`), halting between
/// two looks at the clock where it can ([`Manners::spin`]).
///
/// Never sleeps and never schedules unless `manners` says so, whatever the caller holds.
/// Returns early when `kthread_stop()` is called on `kthread`, or `manners.stop` is set.
#[inline(never)]
pub(crate) fn busy_loop(secs: u32, manners: Manners, kthread: &Kthread) -> Outcome {
    let limit_ns = i64::from(secs) * NSEC_PER_SEC;
    let start = Instant::now();
    loop {
        if manners.spin || !compat::wait_for_interrupt() {
            for _ in 0..RELAX_PER_ROUND {
                compat::cpu_relax();
            }
        }
        if manners.cond_resched {
            compat::cond_resched();
        }
        if manners.touch_watchdog || manners.touch_nmi_watchdog {
            // SAFETY: `touch_softlockup_watchdog()` may be called from any context.
            unsafe { compat::touch_softlockup_watchdog() };
        }
        if manners.touch_nmi_watchdog {
            // SAFETY: `arch_touch_nmi_watchdog()` only sets this CPU's `watchdog_hardlockup_touched`
            // flag, from any context, with interrupts on or off.
            unsafe { compat::arch_touch_nmi_watchdog() };
        }

        let elapsed_ns = start.elapsed().as_nanos();
        let stop_flag = manners.stop.is_some_and(|f| f.load(Ordering::Acquire));
        if stop_flag || kthread.should_stop() {
            return Outcome {
                elapsed_ns,
                end: End::Stopped,
            };
        }
        if secs != 0 && elapsed_ns >= limit_ns {
            return Outcome {
                elapsed_ns,
                end: End::Expired,
            };
        }
    }
}

/// A hog's whole turn on the CPU it runs on: announce, spin for `secs` seconds, give back what
/// kept the CPU (`hold`: a lock guard, or `()` for a preemptible loop), then log the release.
///
/// Call it once the CPU is kept (lock taken): with preemption or interrupts off the thread
/// cannot move. A loop that schedules (`hog_polite`) may: the release names the CPU it ended on.
pub(crate) fn hog<H>(
    hold: H,
    secs: u32,
    manners: Manners,
    kthread: &Kthread,
    how: fmt::Arguments<'_>,
) {
    announce(compat::current_cpu(), secs, how);
    let outcome = busy_loop(secs, manners, kthread);
    let cpu = compat::current_cpu();
    drop(hold);
    released(cpu, outcome);
}

/// Logs that the hog starts hogging `cpu` for `secs` seconds, and how (`how`).
///
/// The line reads `<module>: hogging CPU <cpu> for <secs> s <how>`, or `... until unloaded
/// <how>` when `secs` is 0.
pub(crate) fn announce(cpu: u32, secs: u32, how: fmt::Arguments<'_>) {
    if secs == 0 {
        pr_info!("hogging CPU {} until unloaded {}\n", cpu, how);
    } else {
        pr_info!("hogging CPU {} for {} s {}\n", cpu, secs, how);
    }
}

/// Logs that the hog gave `cpu` back, after how long and why.
///
/// The line reads `<module>: released CPU <cpu> after <s.mmm> s`, followed by
/// ` (stopped by rmmod)` if the module was unloaded before the time was over.
pub(crate) fn released(cpu: u32, outcome: Outcome) {
    let why = match outcome.end {
        End::Expired => "",
        End::Stopped => " (stopped by rmmod)",
    };
    let (secs, ms) = seconds_ms(outcome.elapsed_ns);
    pr_info!("released CPU {} after {}.{:03} s{}\n", cpu, secs, ms, why);
}

/// Splits nanoseconds into whole seconds and milliseconds, printed as `8.004 s`.
///
/// Plain integers rather than a type implementing `core::fmt::Display`: newer kernels (7.3 here)
/// format `pr_info!` arguments through their own `kernel::fmt::Display`, which integers have on
/// every version and our own types would not.
pub(crate) fn seconds_ms(ns: i64) -> (i64, i64) {
    let ms = ns.max(0) / 1_000_000;
    (ms / 1000, ms % 1000)
}
