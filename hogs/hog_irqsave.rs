// SPDX-License-Identifier: GPL-2.0

//! `hog_irqsave`: a kernel thread spinning inside `spin_lock_irqsave()` (hard lockup).
//!
//! The seed's second hog (`spin_lock_irqsave(&lock, flags); while (1);`), made recoverable:
//! the thread `hog_irqsave` takes a spinlock with interrupts disabled, spins for `secs`
//! seconds on CPU `cpu`, then releases the lock and restores interrupts.
//!
//! ```text
//! insmod hog_irqsave.ko secs=8 cpu=1
//! ```
//!
//! With interrupts off, the CPU takes no timer interrupt at all: its watchdog hrtimer stops
//! counting, and the hard-lockup detector reports it. Under QEMU's TCG there is no PMU for the
//! perf NMI detector; the buddy detector runs instead: every third sample of its own watchdog
//! hrtimer (1.2 * `watchdog_thresh` seconds), a CPU checks that its neighbour's counter has
//! moved since the last check. With `watchdog_thresh=2` the report came 5.7 to 7 s after the
//! hog started. The reporting CPU then sends an NMI, which interrupts even this loop, so the
//! backtrace shows the hog:
//!
//! ```text
//! watchdog: Watchdog detected hard LOCKUP on cpu 1
//! ...
//! NMI backtrace for cpu 1
//! RIP: 0010:_RNvNtCs<hash>_11hog_irqsave4spin9busy_loop+0x../0x.. [hog_irqsave]
//! ```
//!
//! Other CPUs that wait for this one meanwhile are victims, and may be reported as soft
//! lockups with their RIP in `smp_call_function_many_cond`: anything that needs every CPU to
//! answer an IPI waits until the hog ends (kernel TLB flushes, `on_each_cpu()`, RCU's
//! expedited grace periods...). Two such waits are avoided on purpose:
//!
//! - the hog starts only once `insmod` is done loading the module (see `common/thread.rs`);
//! - with interrupts off, the hog leaves the memory map it borrowed (x86's `leave_mm()`; see
//!   `compat::leave_lazy_mm`): a kthread runs on the map of the last user process that ran on
//!   its CPU ("lazy TLB"), and when that process exits (say, `insmod` itself), freeing its page
//!   tables needs an IPI to every CPU still using that map on x86.
//!
//! `secs=0` (until unloaded) is refused: interrupts that devices deliver to the hogged CPU wait
//! too, and when they belong to the console or the disk the shell that would run `rmmod`
//! waits with them (seen under virtme-ng: the guest's script output stopped for good).
//!
//! The lock is a raw spinlock (see `common/lock.rs`): `raw_spin_lock_irqsave()` disables
//! interrupts on every kernel, `PREEMPT_RT` included.
//!
//! With `touch_nmi_watchdog=1` it does what `touch_nmi_watchdog()` does every round (as the
//! serial console driver does while it prints): the touch control, reported by neither detector.
//!
//! With `also_cpu=N` a second thread does the same on CPU N at the same time: on a 2-CPU guest,
//! every CPU has interrupts off, the buddy detector's blind spot.
//!
//! Parameters: `secs` (default 10, must not be 0), `cpu` (default -1 = not bound),
//! `also_cpu` (default -1), `touch_nmi_watchdog` (default 0),
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

use core::sync::atomic::{AtomicBool, AtomicU32, Ordering};
use kernel::prelude::*;

compat::hog_module! {
    type: HogIrqSave,
    name: "hog_irqsave",
    description: "Hard lockup: a kthread spinning inside spin_lock_irqsave",
}

params::module_param!(
    secs: u32 = 10,
    "How long to hog the CPU with interrupts off, in seconds (at least 1)"
);
params::module_param!(
    cpu: i32 = -1,
    "CPU to bind the hog thread to (-1 = let the scheduler choose)"
);
params::module_param!(
    also_cpu: i32 = -1,
    "A second CPU to hog the same way at the same time (-1 = none): all CPUs of a 2-CPU guest"
);
params::module_param!(
    touch_nmi_watchdog: bool = false,
    "Do what touch_nmi_watchdog() does every round (a control: no lockup is reported)"
);

/// The lock the hog holds with interrupts disabled.
static LOCK: lock::RawSpinLock = lock::RawSpinLock::new();
/// The lock of the hog on `also_cpu`, so neither waits for the other.
static ALSO_LOCK: lock::RawSpinLock = lock::RawSpinLock::new();

/// How many hog threads have reached the start line: with `also_cpu` both turn interrupts off
/// only once both are there.
static ARRIVED: AtomicU32 = AtomicU32::new(0);
/// The [`IrqSave::bit`]s of the hog threads now waiting for each other with interrupts off.
static WAITING: AtomicU32 = AtomicU32::new(0);
/// Both bits: both hogs are waiting with interrupts off, and both go.
const BOTH: u32 = 0b11;
/// Set by a hog that gave up waiting, so the other one, arriving late, does not lock up alone.
static ABORTED: AtomicBool = AtomicBool::new(false);

/// How long a hog waits for the other one to arrive before it gives up, in nanoseconds.
const RENDEZVOUS_NS: i64 = 10_000_000_000;
/// How long one try at turning interrupts off together lasts before the hog turns them on again
/// and retries, in nanoseconds: far below any detector's threshold.
const TRY_NS: i64 = 20_000_000;

/// The hog thread: spins on its CPU with interrupts disabled.
struct IrqSave {
    /// The lock this thread holds.
    lock: &'static lock::RawSpinLock,
    /// How long to spin, in seconds (0: until unloaded).
    secs: u32,
    /// Whether to touch both lockup detectors every round.
    touch_nmi_watchdog: bool,
    /// This thread's bit in [`WAITING`] when it must turn interrupts off together with the other
    /// (`also_cpu`); 0 when it hogs alone.
    bit: u32,
}

impl IrqSave {
    /// Takes the lock with interrupts off, together with the other hog thread when there is
    /// one; `None` if the module is being unloaded or the other thread did not come within
    /// [`RENDEZVOUS_NS`].
    ///
    /// Neither hog may turn interrupts off before the other runs: a CPU with interrupts off
    /// stops `jiffies` when it is the one that keeps time, and the other thread, still polling
    /// in `msleep()` for the module to finish loading, would then not wake up until the first
    /// hog is done. So both first meet with interrupts on ([`ARRIVED`]).
    ///
    /// Meeting once is not enough: between that and turning interrupts off, the other thread
    /// can be kept from its CPU by code that waits, with preemption off, for an IPI this
    /// CPU does not answer with interrupts off (seen on 7.3 under load: the two hogs took turns).
    /// So each hog then waits with interrupts off for at most [`TRY_NS`] for the other to do the
    /// same ([`WAITING`]), and otherwise turns them on again, answers what waited for it, and
    /// tries again. Once both bits are set neither may withdraw, so both go.
    /// `ktime_get()` reads the clock source itself, so these waits do not depend on jiffies.
    fn lock_together(&self, kthread: &thread::Kthread) -> Option<lock::IrqSaveGuard<'static>> {
        if self.bit == 0 {
            return Some(self.lock.lock_irqsave());
        }
        let start = compat::Instant::now();
        let gave_up = || {
            if kthread.should_stop() || ABORTED.load(Ordering::Acquire) {
                return true;
            }
            if start.elapsed().as_nanos() > RENDEZVOUS_NS {
                ABORTED.store(true, Ordering::Release);
                pr_err!(
                    "the other hog thread did not start within {} s: not hogging\n",
                    RENDEZVOUS_NS / 1_000_000_000
                );
                return true;
            }
            false
        };
        ARRIVED.fetch_add(1, Ordering::AcqRel);
        while ARRIVED.load(Ordering::Acquire) < 2 {
            if gave_up() {
                return None;
            }
            compat::cpu_relax();
        }
        loop {
            let guard = self.lock.lock_irqsave();
            let this_try = compat::Instant::now();
            WAITING.fetch_or(self.bit, Ordering::AcqRel);
            while WAITING.load(Ordering::Acquire) != BOTH {
                if this_try.elapsed().as_nanos() > TRY_NS {
                    break;
                }
                compat::cpu_relax();
            }
            // Withdraw, unless the other has come meanwhile: then both are committed.
            if WAITING
                .compare_exchange(self.bit, 0, Ordering::AcqRel, Ordering::Acquire)
                .is_err()
            {
                return Some(guard);
            }
            drop(guard);
            if gave_up() {
                return None;
            }
            compat::cond_resched();
        }
    }
}

impl thread::ThreadBody for IrqSave {
    fn run(&self, kthread: &thread::Kthread) {
        let Some(guard) = self.lock_together(kthread) else {
            return;
        };
        // SAFETY: Preemption is off (the lock is held with interrupts off) and this is a
        // kthread, as `leave_lazy_mm()` requires.
        unsafe { compat::leave_lazy_mm() };
        let manners = spin::Manners {
            touch_nmi_watchdog: self.touch_nmi_watchdog,
            ..spin::Manners::default()
        };
        let touching = if self.touch_nmi_watchdog {
            ", calling touch_nmi_watchdog() every round"
        } else {
            ""
        };
        spin::hog(
            guard,
            self.secs,
            manners,
            kthread,
            format_args!("with interrupts disabled (spin_lock_irqsave){touching}"),
        );
    }
}

/// The loaded module: owns the hog thread, which is stopped when the module is unloaded.
struct HogIrqSave {
    /// The `hog_irqsave` kthread.
    _thread: thread::Thread<IrqSave>,
    /// The second one, on `also_cpu`.
    _also: Option<thread::Thread<IrqSave>>,
}

impl kernel::Module for HogIrqSave {
    fn init(_module: &'static ThisModule) -> Result<Self> {
        guard::check_virtual_machine()?;
        let cpu = guard::cpu_param("cpu", cpu::get())?;
        let secs = guard::secs_param(secs::get(), false)?;
        if secs == 0 {
            pr_err!(
                "secs=0: hog_irqsave needs a duration: with interrupts off until rmmod, the \
                 interrupts and IPIs the rest of the machine needs from that CPU would wait too, \
                 and rmmod might never get to run\n"
            );
            return Err(EINVAL);
        }
        let also = guard::cpu_param("also_cpu", also_cpu::get())?;
        if also.is_some() && (cpu.is_none() || also == cpu) {
            pr_err!("also_cpu needs cpu set to another CPU\n");
            return Err(EINVAL);
        }
        // SAFETY: The module's `init` runs once and has started no thread yet: nothing holds or
        // takes the locks.
        unsafe {
            LOCK.init();
            ALSO_LOCK.init();
        }
        let hog = |lock, bit| IrqSave {
            lock,
            secs,
            touch_nmi_watchdog: touch_nmi_watchdog::get(),
            bit: if also.is_some() { bit } else { 0 },
        };
        let thread = thread::Thread::spawn(c"hog_irqsave", cpu, hog(&LOCK, 0b01))?;
        let also = match also {
            Some(cpu) => Some(thread::Thread::spawn(
                c"hog_irqsave",
                Some(cpu),
                hog(&ALSO_LOCK, 0b10),
            )?),
            None => None,
        };
        Ok(Self {
            _thread: thread,
            _also: also,
        })
    }
}
