// SPDX-License-Identifier: GPL-2.0

//! `hog_pair`: one thread holds a spinlock for long, another spins waiting for it.
//!
//! Seed 002's "typical scenario": task 1 takes a spinlock and keeps it; task 2 wants it too and
//! spins. Both CPUs soft-lock, and the two reports tell the culprit from the victim:
//!
//! - `hog_holder` (bound to `cpu`) takes the module's spinlock, which disables preemption, and
//!   spins in the hog loop for `secs` seconds before releasing it: its report has the RIP in
//!   the hog, `hog_pair::spin::busy_loop` (the culprit);
//! - `hog_waiter` (bound to `waiter_cpu`) waits until the holder has the lock, then takes it
//!   too: it spins in the kernel's queued-spinlock slow path, with preemption disabled, until
//!   the holder lets go. Its report has the RIP in the spinlock code (the victim), which is
//!   what seed 002 shows (`.text.lock.spinlock` on 2.6.18; `queued_spin_lock_slowpath` on
//!   x86 today, `native_queued_spin_lock_slowpath` with `CONFIG_PARAVIRT_SPINLOCKS`):
//!
//! ```text
//! insmod hog_pair.ko secs=8 cpu=1 waiter_cpu=2
//!
//! watchdog: BUG: soft lockup - CPU#1 stuck for 6s! [hog_holder:73]
//! RIP: 0010:_RNvNtCs<hash>_8hog_pair4spin9busy_loop+0x32/0x80 [hog_pair]
//! watchdog: BUG: soft lockup - CPU#2 stuck for 6s! [hog_waiter:74]
//! RIP: 0010:queued_spin_lock_slowpath+0x21/0x1d0
//! Call Trace:
//!  <TASK>
//!  _RNvXs_Cs<hash>_8hog_pairNtB4_6WaiterNtNtB4_6thread10ThreadBody3run+0xa8/0x110 [hog_pair]
//! ```
//!
//! (`_raw_spin_lock()` jumps to the slow path, so the frame under it is the waiter's own code,
//! `<hog_pair::Waiter as hog_pair::thread::ThreadBody>::run`.)
//!
//! Neither thread disables interrupts. After `secs` seconds the holder releases the lock, the
//! waiter gets it, releases it at once, and both threads end. Both CPUs must differ; the
//! defaults (1 and 2) leave CPU 0 to the rest of a 3-CPU machine.
//!
//! Parameters: `secs` (default 10, 0 = until unloaded), `cpu` (the holder's CPU, default 1),
//! `waiter_cpu` (default 2), `force`, `assume_bare_metal` (see `common/guard.rs`).

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

use core::sync::atomic::{AtomicBool, AtomicU32, Ordering};
use kernel::prelude::*;

compat::hog_module! {
    type: HogPair,
    name: "hog_pair",
    description: "Soft lockups: a spinlock holder (culprit) and a waiter spinning on it (victim)",
}

params::module_param!(
    secs: u32 = 10,
    "How long the holder keeps the lock, in seconds (0 = until the module is unloaded)"
);
params::module_param!(cpu: i32 = 1, "CPU of the holder thread hog_holder");
params::module_param!(
    waiter_cpu: i32 = 2,
    "CPU of the waiter thread hog_waiter (must differ from cpu)"
);

/// The spinlock the two threads fight over.
static LOCK: lock::RawSpinLock = lock::RawSpinLock::new();

/// Set by the holder once it has the lock: the waiter starts spinning only then.
static HELD: AtomicBool = AtomicBool::new(false);

/// The CPU the holder runs on, for the waiter's message.
static HOLDER_CPU: AtomicU32 = AtomicU32::new(0);

/// The holder thread: keeps the lock for `secs` seconds while spinning (the culprit).
struct Holder {
    /// How long to hold the lock, in seconds (0: until unloaded).
    secs: u32,
}

impl thread::ThreadBody for Holder {
    fn run(&self, kthread: &thread::Kthread) {
        let guard = LOCK.lock();
        let cpu = compat::current_cpu();
        HOLDER_CPU.store(cpu, Ordering::Relaxed);
        HELD.store(true, Ordering::Release);
        spin::hog(
            guard,
            self.secs,
            spin::Manners::default(),
            kthread,
            format_args!("holding the shared spinlock (holder, preemption disabled)"),
        );
    }
}

/// The waiter thread: spins on the lock until the holder releases it (the victim).
struct Waiter;

impl thread::ThreadBody for Waiter {
    fn run(&self, kthread: &thread::Kthread) {
        // Sleep until the holder has the lock, so that the waiter is the one that spins.
        if !kthread.sleep_until(|| HELD.load(Ordering::Acquire)) {
            return;
        }

        let cpu = compat::current_cpu();
        pr_info!(
            "hogging CPU {} spinning on the shared spinlock held by CPU {} (waiter)\n",
            cpu,
            HOLDER_CPU.load(Ordering::Relaxed)
        );
        let start = compat::Instant::now();
        drop(LOCK.lock());
        let waited = start.elapsed().as_nanos();
        let (secs, ms) = spin::seconds_ms(waited);
        pr_info!(
            "released CPU {} after {}.{:03} s (got the spinlock)\n",
            cpu,
            secs,
            ms
        );
    }
}

/// The loaded module: owns both threads.
///
/// The fields are dropped in order: the holder is stopped first, so that it releases the lock
/// (with `secs=0` it holds it until stopped) and the waiter can then end.
struct HogPair {
    /// The `hog_holder` kthread.
    _holder: thread::Thread<Holder>,
    /// The `hog_waiter` kthread.
    _waiter: thread::Thread<Waiter>,
}

impl kernel::Module for HogPair {
    fn init(_module: &'static ThisModule) -> Result<Self> {
        guard::check_virtual_machine()?;
        let holder_cpu = guard::cpu_param("cpu", cpu::get())?;
        let waiter_cpu = guard::cpu_param("waiter_cpu", waiter_cpu::get())?;
        let (Some(holder_cpu), Some(waiter_cpu)) = (holder_cpu, waiter_cpu) else {
            pr_err!("cpu and waiter_cpu must both name a CPU: -1 (not bound) is not allowed\n");
            return Err(EINVAL);
        };
        if holder_cpu == waiter_cpu {
            pr_err!(
                "cpu={} and waiter_cpu={}: the holder and the waiter need two different CPUs\n",
                holder_cpu.as_u32(),
                waiter_cpu.as_u32()
            );
            return Err(EINVAL);
        }

        // SAFETY: The module's `init` runs once and has started no thread yet: nothing holds or
        // takes the lock.
        unsafe {
            LOCK.init();
        }
        let holder = thread::Thread::spawn(
            c"hog_holder",
            Some(holder_cpu),
            Holder {
                secs: guard::secs_param(secs::get(), false)?,
            },
        )?;
        let waiter = thread::Thread::spawn(c"hog_waiter", Some(waiter_cpu), Waiter)?;
        Ok(Self {
            _holder: holder,
            _waiter: waiter,
        })
    }
}
