// SPDX-License-Identifier: GPL-2.0

//! `hog_wq`: a work item that does not yield its per-CPU worker pool (workqueue lockup), or
//! work items that keep hogging the CPU for tens of milliseconds (the CPU-intensive warning).
//!
//! Work items on a per-CPU workqueue run one after the other in that CPU's worker pool. The
//! pool counts on each item to finish (or sleep) soon; a work item that spins takes the CPU
//! from every item queued behind it. Two ways to show it, on CPU `cpu`:
//!
//! - **Stall** (the default): one work item spins for `secs` seconds with preemption disabled
//!   (a raw spinlock held), and a second, empty "canary" item is queued behind it on the same
//!   pool. The canary cannot run, so the pool makes no progress, and the workqueue watchdog
//!   (`CONFIG_WQ_WATCHDOG`, kernel/workqueue.c) reports after `workqueue.watchdog_thresh`
//!   seconds:
//!
//!   ```text
//!   BUG: workqueue lockup - pool cpus=1 node=0 flags=0x0 nice=0 stuck for 3s!
//!   Showing busy workqueues and worker pools:
//!   workqueue events: flags=0x0
//!     pwq 6: cpus=1 node=0 flags=0x0 nice=0 active=2 refcnt=3
//!       in-flight: 45:hog_wq::stall_work
//!       pending: hog_wq::canary_work
//!   ```
//!
//!   With preemption off the CPU does not schedule either: the soft lockup detector reports
//!   the same spin (the kworker running it), as RCU would after its own timeout.
//! - **Bursts** (`burst=N`): the work item spins `burst_ms` milliseconds (preemptible, but it
//!   does not schedule by itself), then queues itself again, `N` times. Every time it runs
//!   longer than `workqueue.cpu_intensive_thresh_us`, the pool marks it CPU-intensive (and
//!   lets other items run beside it); with `CONFIG_WQ_CPU_INTENSIVE_REPORT` the kernel warns
//!   from the 4th time on: `workqueue: hog_wq::burst_work hogged CPU for >10000us 4 times,
//!   consider switching to WQ_UNBOUND`.
//!
//! ```text
//! insmod hog_wq.ko secs=8 cpu=1
//! insmod hog_wq.ko burst=8 burst_ms=30 cpu=1
//! ```
//!
//! Unloading the module stops the spin within a round, cancels whatever is still queued and
//! waits for a running item to return (`cancel_work_sync()`).
//!
//! Parameters: `secs` (default 10, at least 1), `cpu` (default 1), `burst` (default 0 = stall
//! mode; 1-64), `burst_ms` (default 30, 1-1000), `force`, `assume_bare_metal` (see
//! `common/guard.rs`).

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
// The busy loop asks `kthread_should_stop()` through a `thread::Kthread` (a kworker is a
// kthread too); hog_wq starts no thread of its own.
#[allow(dead_code)]
#[path = "common/thread.rs"]
mod thread;

use core::sync::atomic::{AtomicBool, AtomicU32, Ordering};
use kernel::{bindings, ffi::c_int, prelude::*, types::Opaque};

compat::hog_module! {
    type: HogWq,
    name: "hog_wq",
    description: "Workqueue lockup: a work item that never yields its worker pool",
}

params::module_param!(
    secs: u32 = 10,
    "Stall mode: how long the work item spins with preemption off, in seconds"
);
params::module_param!(cpu: i32 = 1, "CPU whose worker pool runs the work items");
params::module_param!(
    burst: u32 = 0,
    "Burst mode: how many times the work item runs (0 = stall mode)"
);
params::module_param!(
    burst_ms: u32 = 30,
    "Burst mode: how long each run spins, in milliseconds"
);

/// Set when the module is being unloaded: spinning work items return, bursts stop requeueing.
static STOP: AtomicBool = AtomicBool::new(false);
/// How long the stalling item sleeps before it takes the CPU, in milliseconds.
const LOADER_SETTLE_MS: u32 = 500;
/// Bursts still to run.
static BURSTS_LEFT: AtomicU32 = AtomicU32::new(0);
/// Held by the stalling work item, to run with preemption off.
static NO_PREEMPT: lock::RawSpinLock = lock::RawSpinLock::new();

/// What a work item does.
#[derive(Clone, Copy)]
enum Job {
    /// Spin `secs` seconds with preemption off.
    Stall { secs: u32 },
    /// Nothing: it only has to run for its pool to make progress.
    Canary,
    /// Spin `ms` milliseconds, then queue itself again while bursts are left.
    Burst { ms: u32 },
}

impl Job {
    /// The job's name, as its work function is named (`stall_work`...).
    fn name(self) -> &'static str {
        match self {
            Job::Stall { .. } => "stall",
            Job::Canary => "canary",
            Job::Burst { .. } => "burst",
        }
    }
}

/// One of our work items: the kernel's `work_struct` first, so the work function can find the
/// whole item from the pointer it is given. Dropping it cancels it and waits for it to return.
///
/// # Invariants
///
/// `work` was initialised with [`Item::function`] of `job`, a work function of this file that
/// takes its argument for the `work` field of an `Item`; the item is pinned in its `KBox` (the
/// kernel's lists point into it) from then until its `Drop` has cancelled it.
#[repr(C)]
struct Item {
    /// The kernel's part; only ever touched through the workqueue API.
    work: Opaque<bindings::work_struct>,
    /// What to do when it runs.
    job: Job,
    /// The CPU whose pool runs it.
    cpu: compat::CpuId,
    /// An item this one queues on its pool once it has taken the CPU (the stall's canary),
    /// cancelled after this one (fields drop after `Drop::drop`).
    then: Option<Pin<KBox<Item>>>,
}

// SAFETY: The kernel's part is only used through the workqueue API, which may be called from any
// task; the rest is read-only after `new`.
unsafe impl Send for Item {}

// SAFETY: As for `Send`: nothing in an `Item` is mutated through `&Item` but by the kernel's own
// synchronised workqueue code.
unsafe impl Sync for Item {}

impl Item {
    /// Allocates and initialises a work item for `job` on `cpu`'s pool (not queued yet).
    fn new(
        job: Job,
        cpu: compat::CpuId,
        then: Option<Pin<KBox<Item>>>,
    ) -> Result<Pin<KBox<Item>>> {
        let item = KBox::new(
            Item {
                work: Opaque::uninit(),
                job,
                cpu,
                then,
            },
            GFP_KERNEL,
        )?;
        /// The lockdep class of our work items (C's `static struct lock_class_key __key`).
        static KEY: lock::LockClassKey = lock::LockClassKey::new();
        // SAFETY: `item.work` is valid for writes and not in use by the kernel yet; the name is
        // a static string and the key a static object, as lockdep requires. The function has
        // the signature of `work_func_t`.
        unsafe {
            bindings::init_work_with_key(
                item.work.get(),
                Some(Self::function(job)),
                false,
                c"hog_wq".to_bytes_with_nul().as_ptr().cast(),
                KEY.as_ptr(),
            )
        };
        // INVARIANT: initialised with the job's function, and pinned before anything can queue
        // it (`Item` is `!Unpin`: it holds an `Opaque`).
        Ok(Pin::from(item))
    }

    /// The work function of a job: one per job, so the kernel's reports (the CPU-intensive
    /// count, a lockup's in-flight and pending lists) tell them apart by name.
    fn function(job: Job) -> unsafe extern "C" fn(*mut bindings::work_struct) {
        match job {
            Job::Stall { .. } => stall_work,
            Job::Canary => canary_work,
            Job::Burst { .. } => burst_work,
        }
    }

    /// Queues the item on its CPU's pool of the per-CPU system workqueue.
    fn queue(&self) {
        // SAFETY: `system_percpu_wq` (6.12 and later; the per-CPU workqueue `system_wq` used to
        // be) is allocated at boot and never freed; `self.work` is initialised and stays valid
        // until `Drop` has cancelled it, and `cpu` is below `nr_cpu_ids` (`CpuId`'s invariant).
        unsafe {
            bindings::queue_work_on(
                self.cpu.as_u32() as c_int,
                bindings::system_percpu_wq,
                self.work.get(),
            )
        };
    }
}

impl Drop for Item {
    fn drop(&mut self) {
        // SAFETY: `self.work` is initialised (type invariant); `cancel_work_sync()` may sleep,
        // as a module's exit path and its init's error path may. It returns once the item is
        // neither queued nor running, so the memory can go.
        unsafe { bindings::cancel_work_sync(self.work.get()) };
    }
}

/// [`Job::Stall`]'s work function.
///
/// # Safety
///
/// `work` must be the `work` field of a live [`Item`] (the workqueue only calls it so: see the
/// type invariant of [`Item`]).
unsafe extern "C" fn stall_work(work: *mut bindings::work_struct) {
    // SAFETY: This function's contract.
    unsafe { run_work(work, "stall") }
}

/// [`Job::Canary`]'s work function.
///
/// # Safety
///
/// As for [`stall_work`].
unsafe extern "C" fn canary_work(work: *mut bindings::work_struct) {
    // SAFETY: This function's contract.
    unsafe { run_work(work, "canary") }
}

/// [`Job::Burst`]'s work function.
///
/// # Safety
///
/// As for [`stall_work`].
unsafe extern "C" fn burst_work(work: *mut bindings::work_struct) {
    // SAFETY: This function's contract.
    unsafe { run_work(work, "burst") }
}

/// What every work function does: the item's job, which must be the one `called_as` names.
///
/// The check also keeps the three work functions different code: identical ones would be
/// merged into one address, and kallsyms would give all three the same name in reports.
///
/// # Safety
///
/// `work` must be the `work` field of a live [`Item`].
#[inline(always)]
unsafe fn run_work(work: *mut bindings::work_struct, called_as: &str) {
    // SAFETY: `work` is the first field of a `#[repr(C)]` `Item` (this function's contract),
    // which lives until its `Drop` has cancelled it, so after this function returns.
    let item = unsafe { &*work.cast::<Item>() };
    if item.job.name() != called_as {
        pr_err!("{} work function called for a {} item\n", called_as, item.job.name());
        return;
    }
    // Insmod is still loading the module when the item first runs: with preemption off on the
    // CPU insmod may run on, it would wait for the whole spin. Sleeping here lets the pool run
    // other items meanwhile, which is why the canary is queued only once the CPU is held.
    while !compat::module_fully_loaded() {
        if STOP.load(Ordering::Acquire) {
            return;
        }
        // SAFETY: `msleep()` may be called from any sleepable context, as a work item is.
        unsafe { bindings::msleep(1) };
    }
    // SAFETY: Work functions run in a kworker, which `create_worker()` made with
    // `kthread_create_on_node()`.
    let kthread = unsafe { thread::Kthread::assume() };
    let manners = spin::Manners {
        stop: Some(&STOP),
        ..spin::Manners::default()
    };
    match item.job {
        Job::Stall { secs } => {
            // The loader has just queued its own deferred work (`do_free_init()`, which waits
            // for an RCU grace period) on the CPU insmod ran on, maybe this one. Caught behind
            // the hog it would be a second work item in flight on the stuck pool, and which of
            // the two a lockup report names first is a matter of chance: let it finish first.
            // SAFETY: `msleep()` may be called from any sleepable context, as a work item is.
            unsafe { bindings::msleep(LOADER_SETTLE_MS) };
            let held = NO_PREEMPT.lock();
            if let Some(canary) = &item.then {
                canary.queue();
            }
            spin::hog(
                held,
                secs,
                manners,
                &kthread,
                format_args!(
                    "in a work item with preemption disabled: the canary queued behind it waits"
                ),
            );
        }
        Job::Canary => pr_info!("canary work item ran: the pool made progress\n"),
        Job::Burst { ms } => {
            let left = BURSTS_LEFT.fetch_sub(1, Ordering::AcqRel);
            if left == burst::get() {
                pr_info!(
                    "hogging CPU {} in {} bursts of {} ms (a work item that queues itself again)\n",
                    compat::current_cpu(),
                    left,
                    ms
                );
            }
            let start = compat::Instant::now();
            while start.elapsed().as_nanos() < i64::from(ms) * 1_000_000
                && !STOP.load(Ordering::Relaxed)
            {
                compat::cpu_relax();
            }
            if left > 1 && !STOP.load(Ordering::Acquire) {
                item.queue();
            } else {
                pr_info!("released CPU {} after its last burst\n", compat::current_cpu());
            }
        }
    }
}

/// The loaded module: owns the work items (the hog, which owns its canary); dropping them
/// cancels them, the hog first.
struct HogWq {
    /// The item that spins (stall mode) or bursts.
    _hog: Pin<KBox<Item>>,
}

impl kernel::Module for HogWq {
    fn init(_module: &'static ThisModule) -> Result<Self> {
        guard::check_virtual_machine()?;
        let Some(cpu) = guard::cpu_param("cpu", cpu::get())? else {
            pr_err!("cpu=-1: hog_wq needs a CPU, whose worker pool it stalls\n");
            return Err(EINVAL);
        };
        // SAFETY: The module's `init` runs once and has started no thread yet: nothing holds or
        // takes the lock.
        unsafe {
            NO_PREEMPT.init();
        }
        let (bursts, ms) = (burst::get(), burst_ms::get());
        let hog = if bursts == 0 {
            let secs = guard::secs_param(secs::get(), false)?;
            if secs == 0 {
                pr_err!("secs=0: a work item cannot be stopped from outside once it runs\n");
                return Err(EINVAL);
            }
            let canary = Item::new(Job::Canary, cpu, None)?;
            Item::new(Job::Stall { secs }, cpu, Some(canary))?
        } else {
            if bursts > 64 || !(1..=1000).contains(&ms) {
                pr_err!("burst={} burst_ms={}: at most 64 bursts of 1-1000 ms\n", bursts, ms);
                return Err(EINVAL);
            }
            BURSTS_LEFT.store(bursts, Ordering::Release);
            Item::new(Job::Burst { ms }, cpu, None)?
        };
        hog.queue();
        Ok(HogWq { _hog: hog })
    }
}

impl Drop for HogWq {
    fn drop(&mut self) {
        // The spin returns within a round, and a burst does not queue itself again; then the
        // items' own `Drop` cancels them.
        STOP.store(true, Ordering::Release);
    }
}
