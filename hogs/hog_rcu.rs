// SPDX-License-Identifier: GPL-2.0

//! `hog_rcu`: an RCU reader that does not leave its read-side critical section (RCU CPU stall).
//!
//! The thread `hog_rcu` enters `rcu_read_lock()` on CPU `cpu` and spins there for `secs`
//! seconds before `rcu_read_unlock()`. A grace period cannot end while a reader that began
//! before it is still inside, so every grace period started meanwhile waits for this one
//! reader, and after `rcupdate.rcu_cpu_stall_timeout` seconds RCU's stall detector prints:
//!
//! ```text
//! rcu: INFO: rcu_preempt detected stalls on CPUs/tasks:
//! rcu:     Tasks blocked on level-0 rcu_node (CPUs 0-1): P85/1:b..l
//! rcu:     (detected by 0, t=3002 jiffies, g=-959, q=12 ncpus=2)
//! task:hog_rcu         state:R  running task     stack:0     pid:85 ...
//! Call Trace:
//!  hog_rcu::spin::busy_loop ...
//! ```
//!
//! The kernels this project builds have preemptible RCU (`CONFIG_PREEMPT_RCU`, which comes with
//! `PREEMPT_DYNAMIC`): the reader may be preempted, and RCU then lists it among the tasks that
//! block the grace period, as above. With `resched=1` (the default) the reader also calls
//! `cond_resched()` every round, so the CPU keeps scheduling: no soft lockup, only the RCU
//! stall, whose culprit is the reader itself (no victim). With `resched=0` on a kernel that
//! does not preempt kernel code (`preempt=none`/`voluntary`), the CPU does not schedule either:
//! the stall names the CPU (`self-detected stall on CPU`), and the soft lockup detector
//! reports the same hog later. Without preemptible RCU, `rcu_read_lock()` disables preemption
//! (C's `__rcu_read_lock()` is then `preempt_disable()`); this hog does the same by holding a
//! raw spinlock, and refuses `resched=1`, since `cond_resched()` reports a quiescent state there.
//!
//! ```text
//! insmod hog_rcu.ko secs=8 cpu=1
//! ```
//!
//! Parameters: `secs` (default 10, 0 = until unloaded), `cpu` (default -1 = not bound),
//! `resched` (default 1), `force`, `assume_bare_metal` (see `common/guard.rs`).

#[path = "common/compat.rs"]
mod compat;
#[path = "common/guard.rs"]
mod guard;
#[cfg(not(CONFIG_PREEMPT_RCU))]
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
    type: HogRcu,
    name: "hog_rcu",
    description: "RCU CPU stall: a reader that stays inside rcu_read_lock()",
}

params::module_param!(
    secs: u32 = 10,
    "How long to stay in the read-side critical section, in seconds (0 = until unloaded)"
);
params::module_param!(
    cpu: i32 = -1,
    "CPU to bind the reader to (-1 = let the scheduler choose)"
);
params::module_param!(
    resched: bool = true,
    "Call cond_resched() every round, so only RCU complains (0: the CPU does not schedule either)"
);

/// Without preemptible RCU a reader runs with preemption off; holding this lock does that.
#[cfg(not(CONFIG_PREEMPT_RCU))]
static NO_PREEMPT: lock::RawSpinLock = lock::RawSpinLock::new();

/// The reader thread.
struct Reader {
    /// How long to stay inside, in seconds (0: until unloaded).
    secs: u32,
    /// Whether to call `cond_resched()` every round.
    resched: bool,
}

impl thread::ThreadBody for Reader {
    fn run(&self, kthread: &thread::Kthread) {
        #[cfg(CONFIG_PREEMPT_RCU)]
        let reader = compat::rcu_read_lock();
        #[cfg(not(CONFIG_PREEMPT_RCU))]
        let reader = NO_PREEMPT.lock();
        let manners = spin::Manners {
            cond_resched: self.resched,
            ..spin::Manners::default()
        };
        spin::hog(
            reader,
            self.secs,
            manners,
            kthread,
            format_args!(
                "inside rcu_read_lock(){}",
                if self.resched {
                    ", calling cond_resched() every round (only RCU is held up)"
                } else {
                    ", never scheduling"
                }
            ),
        );
    }
}

/// The loaded module: owns the reader thread, which is stopped when the module is unloaded.
struct HogRcu {
    /// The `hog_rcu` kthread.
    _thread: thread::Thread<Reader>,
}

impl kernel::Module for HogRcu {
    fn init(_module: &'static ThisModule) -> Result<Self> {
        guard::check_virtual_machine()?;
        let cpu = guard::cpu_param("cpu", cpu::get())?;
        #[cfg(not(CONFIG_PREEMPT_RCU))]
        {
            // There, cond_resched() reports a quiescent state (rcu_all_qs()): no stall would come.
            if resched::get() {
                pr_err!("resched=1 without preemptible RCU: cond_resched() would end the stall; use resched=0\n");
                return Err(EINVAL);
            }
            // SAFETY: The module's `init` runs once and has started no thread yet: nothing holds or
            // takes the lock.
            unsafe {
                NO_PREEMPT.init();
            }
        }
        let reader = Reader {
            // A reader that schedules leaves the CPU to others, but it still holds up every
            // grace period, and memory that waits for one, for good: bounded like the others.
            secs: guard::secs_param(secs::get(), resched::get())?,
            resched: resched::get(),
        };
        let thread = thread::Thread::spawn(c"hog_rcu", cpu, reader)?;
        Ok(Self { _thread: thread })
    }
}
