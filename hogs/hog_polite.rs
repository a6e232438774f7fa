// SPDX-License-Identifier: GPL-2.0

//! `hog_polite`: the negative control, a busy loop that calls `cond_resched()` (no lockup).
//!
//! The thread `hog_polite` spins on CPU `cpu` for `secs` seconds like `hog_busy`, but calls
//! `cond_resched()` after every round of spinning (a round is a few microseconds to a
//! millisecond): the fix seed 002 recommends ("It may be necessary to insert a conditional
//! reschedule (cond_resched()) call in the loop"). When the watchdog's hrtimer queues its
//! stopper work, the stopper needs the CPU, `cond_resched()` gives it, the watchdog is touched,
//! and **no** lockup is ever reported, on any preemption model. With `touch_watchdog=1` it also
//! calls `touch_softlockup_watchdog()` every round, as `test_lockup`'s `touch_softlockup=1`
//! does.
//!
//! ```text
//! insmod hog_polite.ko secs=8 cpu=1
//! ```
//!
//! A `BUG: soft lockup` naming `hog_polite` would be a false positive of the detector or a
//! broken harness.
//!
//! With `warn=1` the thread first makes the kernel print one real `WARNING:` (a test aid: a
//! control during which the kernel complains must fail, and the harness's test command checks
//! that it does).
//!
//! Parameters: `secs` (default 10, 0 = until unloaded), `cpu` (default -1 = not bound),
//! `touch_watchdog` (default 0), `warn` (default 0), `force`, `assume_bare_metal` (see
//! `common/guard.rs`).

#[path = "common/compat.rs"]
mod compat;
#[path = "common/guard.rs"]
mod guard;
#[path = "common/params.rs"]
mod params;
#[path = "common/spin.rs"]
mod spin;
#[path = "common/thread.rs"]
mod thread;

use kernel::{bindings, prelude::*};

compat::hog_module! {
    type: HogPolite,
    name: "hog_polite",
    description: "Negative control: a busy loop that calls cond_resched() and is never reported",
}

params::module_param!(
    secs: u32 = 10,
    "How long to keep the CPU busy, in seconds (0 = until the module is unloaded)"
);
params::module_param!(
    cpu: i32 = -1,
    "CPU to bind the thread to (-1 = let the scheduler choose)"
);
params::module_param!(
    touch_watchdog: bool = false,
    "Also call touch_softlockup_watchdog() every round"
);
params::module_param!(
    warn: bool = false,
    "First make the kernel print one WARNING (test aid: the control must then fail)"
);

/// The thread: the busy loop with `cond_resched()` after every round.
struct Polite {
    /// How long to spin, in seconds (0: until unloaded).
    secs: u32,
    /// Whether to touch the soft-lockup watchdog every round too.
    touch_watchdog: bool,
    /// Whether to make the kernel print a warning first.
    warn: bool,
}

/// Makes the kernel print one real `WARNING:` and go on: `flush_work()` on a work item that was
/// never set up trips `WARN_ON(!work->func)` at the top of `__flush_work()`, which then returns
/// without touching anything else (kernel/workqueue.c, 6.12 and 7.3).
fn provoke_warning() {
    // SAFETY: `struct work_struct` is plain integers and pointers, for which all-zero bits are
    // valid values (`func` is NULL).
    let mut work: bindings::work_struct = unsafe { core::mem::zeroed() };
    // SAFETY: `work` is a valid, exclusively borrowed `work_struct` for the whole call;
    // `flush_work()` may be called from any context that may sleep (a kthread), and with `func`
    // NULL it warns and returns before it queues or waits for anything.
    unsafe { bindings::flush_work(&mut work) };
}

impl thread::ThreadBody for Polite {
    fn run(&self, kthread: &thread::Kthread) {
        if self.warn {
            provoke_warning();
        }
        let manners = spin::Manners {
            cond_resched: true,
            touch_watchdog: self.touch_watchdog,
            ..spin::Manners::default()
        };
        spin::hog(
            (),
            self.secs,
            manners,
            kthread,
            format_args!(
                "but calling cond_resched(){} every round (negative control, must not be reported)",
                if self.touch_watchdog {
                    " and touch_softlockup_watchdog()"
                } else {
                    ""
                }
            ),
        );
    }
}

/// The loaded module: owns the thread, which is stopped when the module is unloaded.
struct HogPolite {
    /// The `hog_polite` kthread.
    _thread: thread::Thread<Polite>,
}

impl kernel::Module for HogPolite {
    fn init(_module: &'static ThisModule) -> Result<Self> {
        guard::check_virtual_machine()?;
        let cpu = guard::cpu_param("cpu", cpu::get())?;
        let polite = Polite {
            secs: guard::secs_param(secs::get(), true)?,
            touch_watchdog: touch_watchdog::get(),
            warn: warn::get(),
        };
        let thread = thread::Thread::spawn(c"hog_polite", cpu, polite)?;
        Ok(Self { _thread: thread })
    }
}
