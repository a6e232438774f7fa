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
//! With `rounds=2 rest=3` it hogs the CPU twice, sleeping 3 s in between: time for a sysctl
//! that reconfigures the watchdog on every CPU (and so needs CPU 1 for a moment) to complete.
//!
//! On x86-64 the loop halts until each timer tick (the host's CPU is free meanwhile, the
//! thread keeps the guest's: see `common/spin.rs`); `always_spin=1` spins all along.
//!
//! Parameters: `secs` (default 10, 0 = until unloaded), `cpu` (default -1 = not bound),
//! `touch_watchdog` (default 0), `rounds` (default 1), `rest` (default 0),
//! `always_spin` (default 0), `force`, `assume_bare_metal` (see `common/guard.rs`).

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
    always_spin: bool = false,
    "Spin with pause all along, as the seed does, instead of halting until each timer tick"
);
params::module_param!(
    rounds: u32 = 1,
    "How many times to hog the CPU for secs seconds (1-10)"
);
params::module_param!(
    rest: u32 = 0,
    "Seconds between two rounds, with the CPU given back (asleep)"
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
    /// How many times to hog the CPU.
    rounds: u32,
    /// Seconds asleep between two rounds.
    rest: u32,
    /// Whether to spin all along rather than halt between ticks.
    spin: bool,
}

impl thread::ThreadBody for NoPreempt {
    fn run(&self, kthread: &thread::Kthread) {
        let manners = spin::Manners {
            touch_watchdog: self.touch_watchdog,
            spin: self.spin,
            ..spin::Manners::default()
        };
        let touching = if self.touch_watchdog {
            ", touching the soft-lockup watchdog every round"
        } else {
            ""
        };
        for round in 0..self.rounds {
            if round > 0 {
                // Give the CPU back for `rest` seconds, so that what needs it (a sysctl that
                // reconfigures the watchdog on every CPU) can run between the rounds.
                let since = compat::Instant::now();
                let rest_ns = i64::from(self.rest) * 1_000_000_000;
                if !kthread.sleep_until(|| since.elapsed().as_nanos() >= rest_ns) {
                    return;
                }
            }
            spin::hog(
                NO_PREEMPT.lock(),
                self.secs,
                manners,
                kthread,
                format_args!("with preemption disabled (raw spinlock held){touching}"),
            );
            if kthread.should_stop() {
                return;
            }
        }
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
        let rounds = rounds::get();
        if !(1..=10).contains(&rounds) {
            pr_err!("rounds={}: must be 1 to 10\n", rounds);
            return Err(EINVAL);
        }
        // SAFETY: The module's `init` runs once and has started no thread yet: nothing holds or
        // takes the lock.
        unsafe {
            NO_PREEMPT.init();
        }
        let hog = NoPreempt {
            secs: guard::secs_param(secs::get(), false)?,
            touch_watchdog: touch_watchdog::get(),
            rounds,
            rest: rest::get(),
            spin: always_spin::get(),
        };
        let thread = thread::Thread::spawn(c"hog_nopreempt", cpu, hog)?;
        Ok(Self { _thread: thread })
    }
}
