// SPDX-License-Identifier: GPL-2.0

//! `hog_busy`: a kernel thread that spins without ever scheduling (soft lockup).
//!
//! The seed's first hog, `kthread_run(hog_thread, ...)` with `while (1);`, made recoverable:
//! the thread `hog_busy` spins for `secs` seconds on CPU `cpu`, then gives the CPU back.
//!
//! ```text
//! insmod hog_busy.ko secs=8 cpu=1
//! ```
//!
//! The loop never calls `schedule()` but leaves preemption enabled. Whether the kernel takes
//! the CPU away from it depends on the preemption model:
//!
//! - `preempt=none` or `voluntary` (6.12's default here): nothing can preempt a kthread running
//!   kernel code, so the per-CPU watchdog stopper work cannot run on that CPU, and after
//!   `2 * watchdog_thresh` seconds the soft-lockup detector reports it:
//!
//!   ```text
//!   watchdog: BUG: soft lockup - CPU#1 stuck for 5s! [hog_busy:99]
//!   ...
//!   RIP: 0010:_RNvNtCs<hash>_8hog_busy4spin9busy_loop+0x../0x.. [hog_busy]
//!   ```
//!
//!   (the RIP is `hog_busy::spin::busy_loop`, v0-mangled).
//! - `preempt=full` (and 7.x's `lazy`): the scheduler preempts the loop whenever the stopper
//!   needs the CPU, and nothing is reported. See `hog_nopreempt` for a soft lockup on every
//!   preemption model.
//!
//! On x86-64 the loop halts until each timer tick (the host's CPU is free meanwhile, the
//! thread keeps the guest's: see `common/spin.rs`); `always_spin=1` spins all along.
//!
//! Parameters: `secs` (default 10, 0 = until unloaded), `cpu` (default -1 = not bound),
//! `always_spin` (default 0), `force`, `assume_bare_metal` (see `common/guard.rs`).

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

use kernel::prelude::*;

compat::hog_module! {
    type: HogBusy,
    name: "hog_busy",
    description: "Soft lockup: a kthread spinning without ever scheduling (preemptible)",
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

/// The hog thread: spins on its CPU, preemptible, without scheduling.
struct Busy {
    /// How long to spin, in seconds (0: until unloaded).
    secs: u32,
    /// Whether to spin all along rather than halt between ticks.
    spin: bool,
}

impl thread::ThreadBody for Busy {
    fn run(&self, kthread: &thread::Kthread) {
        // Nothing held: preemption stays on.
        spin::hog(
            (),
            self.secs,
            spin::Manners {
                spin: self.spin,
                ..spin::Manners::default()
            },
            kthread,
            format_args!("without scheduling (preemptible busy loop)"),
        );
    }
}

/// The loaded module: owns the hog thread, which is stopped when the module is unloaded.
struct HogBusy {
    /// The `hog_busy` kthread.
    _thread: thread::Thread<Busy>,
}

impl kernel::Module for HogBusy {
    fn init(_module: &'static ThisModule) -> Result<Self> {
        guard::check_virtual_machine()?;
        let cpu = guard::cpu_param("cpu", cpu::get())?;
        let secs = guard::secs_param(secs::get(), false)?;
        let thread = thread::Thread::spawn(c"hog_busy", cpu, Busy {
            secs,
            spin: always_spin::get(),
        })?;
        Ok(Self { _thread: thread })
    }
}
