// SPDX-License-Identifier: GPL-2.0

//! `hog_isolated`: a hog on a CPU isolated from the scheduler (seed 004).
//!
//! "There are a number of kernel options that can isolate a cpu and run a single process on
//! it. As the process hogs the CPU it may be seen as causing a soft lockup." The thread
//! `hog_isolated` is bound to CPU `cpu` (default 1), which the scenario isolates on the kernel
//! command line, and spins there for `secs` seconds with preemption disabled (as `hog_nopreempt`
//! does), so that what the scenarios show is how the CPU was isolated, on every preemption
//! model: a preemptible loop would simply be preempted under `full` or `lazy` preemption (7.x)
//! and be reported nowhere. What the watchdog says:
//!
//! - `isolcpus=1` takes the CPU out of the scheduler's load balancing only; the watchdog still
//!   watches it and reports it:
//!
//!   ```text
//!   watchdog: BUG: soft lockup - CPU#1 stuck for 6s! [hog_isolated:99]
//!   RIP: 0010:_RNvNtCs<hash>_12hog_isolated4spin9busy_loop+0x../0x.. [hog_isolated]
//!   ```
//!
//! - `nohz_full=1` also stops the tick there, and the watchdog leaves such CPUs out by default
//!   (`kernel.watchdog_cpumask`; the boot log says `Disabling watchdog on nohz_full cores by
//!   default`): nothing is reported.
//!
//! ```text
//! insmod hog_isolated.ko secs=8 cpu=1
//! ```
//!
//! Parameters: `secs` (default 10, 0 = until unloaded), `cpu` (default 1; it must name a CPU,
//! -1 is refused), `force`, `assume_bare_metal` (see `common/guard.rs`).

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
    type: HogIsolated,
    name: "hog_isolated",
    description: "Soft lockup (or none): a preempt-off loop on a CPU isolated with isolcpus= or nohz_full=",
}

params::module_param!(
    secs: u32 = 10,
    "How long to hog the CPU, in seconds (0 = until the module is unloaded)"
);
params::module_param!(
    cpu: i32 = 1,
    "The isolated CPU to bind the hog thread to (isolcpus=/nohz_full= on the command line)"
);

/// The lock whose only purpose is to disable preemption while it is held.
static NO_PREEMPT: lock::RawSpinLock = lock::RawSpinLock::new();

/// The hog thread: the busy loop with preemption disabled, on the isolated CPU.
struct Isolated {
    /// How long to spin, in seconds (0: until unloaded).
    secs: u32,
}

impl thread::ThreadBody for Isolated {
    fn run(&self, kthread: &thread::Kthread) {
        spin::hog(
            NO_PREEMPT.lock(),
            self.secs,
            spin::Manners::default(),
            kthread,
            format_args!("on an isolated CPU with preemption disabled (raw spinlock held)"),
        );
    }
}

/// The loaded module: owns the hog thread, which is stopped when the module is unloaded.
struct HogIsolated {
    /// The `hog_isolated` kthread.
    _thread: thread::Thread<Isolated>,
}

impl kernel::Module for HogIsolated {
    fn init(_module: &'static ThisModule) -> Result<Self> {
        guard::check_virtual_machine()?;
        let Some(cpu) = guard::cpu_param("cpu", cpu::get())? else {
            pr_err!("cpu=-1: hog_isolated must be bound to the isolated CPU\n");
            return Err(EINVAL);
        };
        let secs = guard::secs_param(secs::get(), false)?;
        // SAFETY: The module's `init` runs once and has started no thread yet: nothing holds or
        // takes the lock.
        unsafe {
            NO_PREEMPT.init();
        }
        let thread = thread::Thread::spawn(c"hog_isolated", Some(cpu), Isolated { secs })?;
        Ok(Self { _thread: thread })
    }
}
