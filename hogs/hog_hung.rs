// SPDX-License-Identifier: GPL-2.0

//! `hog_hung`: one thread keeps a mutex and sleeps, another blocks on it (hung task).
//!
//! - `hog_holder` (bound to `cpu`) takes the module's mutex and keeps it for `secs` seconds,
//!   spinning like `hog_polite`: it calls `cond_resched()` every round, so it never locks up its
//!   CPU and is never "hung" itself (it keeps running), but it is the culprit;
//! - `hog_waiter` (bound to the same CPU) waits until the holder has the mutex, then calls
//!   `mutex_lock()` too and sleeps in `TASK_UNINTERRUPTIBLE` (state `D`) until the holder lets
//!   go: the victim. Sharing the CPU matters: a waiter on another CPU would first spin on the
//!   running owner (the mutex's optimistic spinning) instead of sleeping.
//!
//! The hung task detector (`khungtaskd`, kernel/hung_task.c) wakes every
//! `kernel.hung_task_timeout_secs` seconds and reports a `D` task that has not been scheduled
//! since its previous look, so the waiter is reported between one and two timeouts after it
//! blocked, and again at every look while it stays blocked:
//!
//! ```text
//! INFO: task hog_waiter:86 blocked for more than 3 seconds.
//! "echo 0 > /proc/sys/kernel/hung_task_timeout_secs" disables this message.
//! task:hog_waiter      state:D stack:0     pid:86    tgid:86    ppid:2      flags:0x00004000
//! Call Trace:
//!  __schedule ... schedule_preempt_disabled ... __mutex_lock ... hog_hung::Waiter::run
//! ```
//!
//! Kernels with `CONFIG_DETECT_HUNG_TASK_BLOCKER` (7.x) also name the holder and show its stack:
//! `INFO: task hog_waiter:86 is blocked on a mutex likely owned by task hog_holder:85.`
//!
//! No CPU is held up (the holder lets the scheduler in every round), only the waiter. Unloading the module stops the
//! holder first (it lets go of the mutex), then the waiter (which gets the mutex and ends).
//!
//! ```text
//! insmod hog_hung.ko secs=8 cpu=1
//! ```
//!
//! Parameters: `secs` (default 10, 0 = until unloaded), `cpu` (the holder's CPU, default -1 =
//! not bound), `force`, `assume_bare_metal` (see `common/guard.rs`).

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

use core::sync::atomic::{AtomicBool, Ordering};
use kernel::{
    init::InPlaceInit,
    new_mutex,
    prelude::*,
    sync::{Arc, Mutex},
};

compat::hog_module! {
    type: HogHung,
    name: "hog_hung",
    description: "Hung task: a thread blocked on a mutex that another keeps for long",
}

params::module_param!(
    secs: u32 = 10,
    "How long the holder keeps the mutex, in seconds (0 = until unloaded)"
);
params::module_param!(
    cpu: i32 = -1,
    "CPU to bind the holder to (-1 = let the scheduler choose)"
);

/// What both threads share.
struct Shared {
    /// The mutex the holder keeps and the waiter blocks on.
    mutex: Pin<KBox<Mutex<()>>>,
    /// Set once the holder has the mutex, so the waiter blocks on it rather than taking it first.
    held: AtomicBool,
}

/// The holder: keeps the mutex for `secs` seconds, busy but polite.
struct Holder {
    /// What it shares with the waiter.
    shared: Arc<Shared>,
    /// How long to keep the mutex, in seconds (0: until unloaded).
    secs: u32,
}

impl thread::ThreadBody for Holder {
    fn run(&self, kthread: &thread::Kthread) {
        let guard = self.shared.mutex.lock();
        self.shared.held.store(true, Ordering::Release);
        let manners = spin::Manners {
            cond_resched: true,
            ..spin::Manners::default()
        };
        spin::hog(
            guard,
            self.secs,
            manners,
            kthread,
            format_args!(
                "holding a mutex, calling cond_resched() every round: hog_waiter blocks on it in D state"
            ),
        );
    }
}

/// The waiter: blocks on the mutex once the holder has it.
struct Waiter {
    /// What it shares with the holder.
    shared: Arc<Shared>,
}

impl thread::ThreadBody for Waiter {
    fn run(&self, kthread: &thread::Kthread) {
        if !kthread.sleep_until(|| self.shared.held.load(Ordering::Acquire)) {
            return;
        }
        // Blocks (state D) until the holder lets go, then lets go at once.
        drop(self.shared.mutex.lock());
    }
}

/// The loaded module: owns both threads. Fields drop in order: the holder is stopped (and lets
/// go of the mutex) before the waiter, which can only end once it got the mutex.
struct HogHung {
    /// The `hog_holder` kthread.
    _holder: thread::Thread<Holder>,
    /// The `hog_waiter` kthread.
    _waiter: thread::Thread<Waiter>,
}

impl kernel::Module for HogHung {
    fn init(_module: &'static ThisModule) -> Result<Self> {
        guard::check_virtual_machine()?;
        let cpu = guard::cpu_param("cpu", cpu::get())?;
        // The holder yields: "until unloaded" only blocks the waiter, and rmmod can always run.
        let secs = guard::secs_param(secs::get(), true)?;
        let shared = Arc::new(
            Shared {
                mutex: KBox::pin_init(new_mutex!(()), GFP_KERNEL)?,
                held: AtomicBool::new(false),
            },
            GFP_KERNEL,
        )?;
        let holder = thread::Thread::spawn(
            c"hog_holder",
            cpu,
            Holder {
                shared: shared.clone(),
                secs,
            },
        )?;
        // On the holder's CPU: the waiter runs only while the holder is off the CPU, so
        // mutex_lock() finds the owner not running and sleeps at once. Elsewhere it would first
        // spin on the running owner (optimistic spinning, CONFIG_MUTEX_SPIN_ON_OWNER), in state
        // R with preemption off, for as long as the owner keeps its CPU.
        let waiter = thread::Thread::spawn(c"hog_waiter", cpu, Waiter { shared })?;
        Ok(Self {
            _holder: holder,
            _waiter: waiter,
        })
    }
}
