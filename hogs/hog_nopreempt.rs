// SPDX-License-Identifier: GPL-2.0

//! `hog_nopreempt`: the `hog_busy` loop with preemption disabled (soft lockup everywhere).
//!
//! What LKDTM's `SOFTLOCKUP` (`preempt_disable(); for (;;) cpu_relax();`) and `test_lockup`'s
//! `disable_preempt=1` do: the thread `hog_nopreempt` spins for `secs` seconds on CPU `cpu`
//! with preemption off, then turns it back on and ends.
//!
//! ```text
//! insmod hog_nopreempt.ko secs=8 cpu=1
//! ```
//!
//! 6.12 has no Rust `preempt_disable()` and the C one is inline; the thread takes a raw
//! spinlock of its own instead, which nobody else uses: `raw_spin_lock()` is
//! `preempt_disable()` plus an uncontended atomic, on every kernel including `PREEMPT_RT` (see
//! `common/lock.rs`). With preemption off, not even `preempt=full` (or 7.x's `lazy`) can move
//! the loop aside for the watchdog's stopper work, so the soft-lockup detector reports it
//! after `2 * watchdog_thresh` seconds whatever the preemption model:
//!
//! ```text
//! watchdog: BUG: soft lockup - CPU#1 stuck for 5s! [hog_nopreempt:99]
//! ...
//! RIP: 0010:_RNvNtCs<hash>_13hog_nopreempt4spin9busy_loop+0x../0x.. [hog_nopreempt]
//! ```
//!
//! With `touch_watchdog=1` it calls `touch_softlockup_watchdog()` every round, as code that
//! knows it keeps a CPU busy legitimately does: the touch control, never reported.
//!
//! Parameters: `secs` (default 10, 0 = until unloaded), `cpu` (default -1 = not bound),
//! `touch_watchdog` (default 0),
//! `force`, `assume_bare_metal` (see `common/guard.rs`).

#[path = "common/compat.rs"]
mod compat;
#[path = "common/guard.rs"]
mod guard;
#[path = "common/lock.rs"]
mod lock;
#[path = "common/params.rs"]
mod params;
#[path = "common/spin.rs"]
mod spin;
#[path = "common/thread.rs"]
mod thread;

use kernel::prelude::*;

compat::hog_module! {
    type: HogNoPreempt,
    name: "hog_nopreempt",
    description: "Soft lockup: a kthread spinning with preemption disabled",
}

params::module_param!(
    secs: u32 = 10,
    "How long to hog the CPU, in seconds (0 = until the module is unloaded)"
);
params::module_param!(
    cpu: i32 = -1,
    "CPU to bind the hog thread to (-1 = let the scheduler choose)"
);
params::module_param!(
    touch_watchdog: bool = false,
    "Call touch_softlockup_watchdog() every round (a control: no soft lockup is reported)"
);

/// The lock whose only purpose is to disable preemption while it is held.
static NO_PREEMPT: lock::RawSpinLock = lock::RawSpinLock::new();

/// The hog thread: spins on its CPU with preemption disabled.
struct NoPreempt {
    /// How long to spin, in seconds (0: until unloaded).
    secs: u32,
    /// Whether to touch the soft-lockup watchdog every round.
    touch_watchdog: bool,
}

impl thread::ThreadBody for NoPreempt {
    fn run(&self) {
        let manners = spin::Manners {
            touch_watchdog: self.touch_watchdog,
            ..spin::Manners::default()
        };
        let touching = if self.touch_watchdog {
            ", touching the soft-lockup watchdog every round"
        } else {
            ""
        };
        spin::hog(
            NO_PREEMPT.lock(),
            self.secs,
            manners,
            format_args!("with preemption disabled (raw spinlock held){touching}"),
        );
    }
}

/// The loaded module: owns the hog thread, which is stopped when the module is unloaded.
struct HogNoPreempt {
    /// The `hog_nopreempt` kthread.
    _thread: thread::Thread<NoPreempt>,
}

impl kernel::Module for HogNoPreempt {
    fn init(_module: &'static ThisModule) -> Result<Self> {
        guard::check_virtual_machine()?;
        let cpu = guard::cpu_param("cpu", cpu::get())?;
        NO_PREEMPT.init();
        let hog = NoPreempt {
            secs: secs::get(),
            touch_watchdog: touch_watchdog::get(),
        };
        let thread = thread::Thread::spawn(c"hog_nopreempt", cpu, hog)?;
        Ok(Self { _thread: thread })
    }
}
