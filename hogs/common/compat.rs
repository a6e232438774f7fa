// SPDX-License-Identifier: GPL-2.0

//! Differences between the kernels the hogs build against, in one place.
//!
//! Every hog includes this file with `#[path = "common/compat.rs"] mod compat;`, and nothing
//! else in `hogs/` asks what the kernel offers. The top-level `Kbuild` probes the kernel's own
//! Rust source (not its version number, so a stable kernel that backports a feature is read
//! right) and turns what it finds into `--cfg` flags that only this file reads:
//!
//! | flag                    | set where the kernel's Rust crates have            | 6.12 | 7.3 |
//! |-------------------------|----------------------------------------------------|------|-----|
//! | `hogs_module_authors`   | `module!` with `authors: [..]` (6.15)               | no   | yes |
//! | `hogs_module_metadata`  | `ModuleMetadata::THIS_MODULE`                       | no   | yes |
//! | `hogs_sync_aref`        | `ARef` in `kernel::sync::aref`                      | no   | yes |
//! | `hogs_kernel_cpu_id`    | `kernel::cpu::CpuId`                                | no   | yes |
//! | `hogs_kernel_instant`   | `kernel::time::Instant<C: ClockSource>`             | no   | yes |
//! | `hogs_sync_rcu`         | `kernel::sync::rcu::read_lock()`                    | no   | yes |
//!
//! Where the kernel crate has the abstraction, this file re-exports it; where it does not, a
//! stand-in with the same names and the same contract takes its place, so the hogs read the
//! same on every kernel. Adding a difference means a probe in `Kbuild` and a `cfg` pair here.
//! Things that differ between versions but are deliberately done the same way everywhere:
//!
//! - Module parameters: `module!` has `params` only from 6.19; the hogs declare theirs with
//!   [`crate::params::module_param`], which writes the same `__param` and `.modinfo` entries
//!   as C's `module_param()` and therefore works on every version.
//! - `cpu_relax()`: 7.x has `kernel::processor::cpu_relax()`, but it calls an out-of-line C
//!   helper on kernels built with GCC, so a lockup report would show its RIP in
//!   `rust_helper_cpu_relax` instead of in the hog. [`cpu_relax`] emits a spin-wait hint inline
//!   (`pause` on x86-64, `isb` on arm64), on every version.
//!
//! Differences between architectures live here too: how a hog knows it runs in a virtual
//! machine ([`hypervisor_present`]), whether it must leave a borrowed memory map before
//! spinning with interrupts off ([`leave_lazy_mm`]) and whether it can halt between two looks
//! at the clock ([`wait_for_interrupt`]).
//!
//! [`module_fully_loaded`] reads module-loader internals (`struct module`), which may need a
//! `cfg` branch on a future kernel.

use kernel::bindings;

#[cfg(not(MODULE))]
compile_error!("the hogs can only be built as loadable modules (obj-m), never built in");

#[cfg(not(any(CONFIG_X86_64, CONFIG_ARM64)))]
compile_error!("the hogs are for x86-64 and arm64 (hypervisor check, lazy TLB, report formats)");

/// Declares the hog's module with the metadata every hog shares.
///
/// Hides the `author` (6.12) versus `authors` (6.15 and later) difference of `module!`.
///
/// # Examples
///
/// ```ignore
/// compat::hog_module! {
///     type: HogBusy,
///     name: "hog_busy",
///     description: "Soft lockup: a kthread spinning without ever scheduling",
/// }
/// ```
macro_rules! hog_module {
    (type: $type:ident, name: $name:tt, description: $description:tt $(,)?) => {
        #[cfg(not(hogs_module_authors))]
        ::kernel::prelude::module! {
            type: $type,
            name: $name,
            author: "the hogs project",
            description: $description,
            license: "GPL",
        }

        #[cfg(hogs_module_authors)]
        ::kernel::prelude::module! {
            type: $type,
            name: $name,
            authors: ["the hogs project"],
            description: $description,
            license: "GPL",
        }
    };
}
pub(crate) use hog_module;

/// Tells the CPU that this is a spin-wait loop, like C's `cpu_relax()` (`pause` on x86-64;
/// on arm64 Rust's hint is `isb` where C's is `yield`, both mere hints).
///
/// Always inlined, so the busy loop stays in the hog's own function (see the module
/// documentation for why 7.x's `kernel::processor::cpu_relax()` is not used).
#[inline(always)]
pub(crate) fn cpu_relax() {
    core::hint::spin_loop();
}

/// Waits, without scheduling, for this CPU's next interrupt when one is sure to come soon;
/// returns whether it did. Otherwise returns `false` at once, and the caller spins instead.
///
/// To the kernel a CPU halted in a thread is as busy as a spinning one: the thread never
/// leaves it, the scheduler cannot run anything else there (unless preemption is on and the
/// interrupt that wakes the CPU asks for it), and every detector sees the same clocks and the
/// same ticks. To the host it is not: an emulated CPU that halts costs its host nothing until
/// the next interrupt, one that spins keeps a host CPU busy.
///
/// x86-64 only, with `hlt`, when interrupts are on (with them off only an NMI would end the
/// wait) and no CPU is `nohz_full`: such a CPU running one thread stops its tick, and then no
/// interrupt need ever come, not even from `kthread_stop()`, which wakes a running thread
/// without an IPI. With the tick running, the wait ends within one tick (4 ms at `HZ=250`).
/// arm64 always spins: with pseudo-NMIs, interrupts are masked by the GIC's priority mask
/// rather than by `DAIF`, and telling the two apart needs the kernel's inline helpers.
///
/// Always inlined, so that a lockup report finds the `RIP` in the hog's own loop.
#[inline(always)]
pub(crate) fn wait_for_interrupt() -> bool {
    #[cfg(CONFIG_X86_64)]
    {
        /// RFLAGS.IF: maskable interrupts are on.
        const X86_EFLAGS_IF: u64 = 1 << 9;
        let flags: u64;
        // SAFETY: `pushfq; pop` copies RFLAGS into a register through one word of the stack,
        // which it gives back; nothing else is read or written.
        unsafe {
            core::arch::asm!("pushfq", "pop {}", out(reg) flags, options(nomem, preserves_flags))
        };
        if flags & X86_EFLAGS_IF != 0 && !nohz_full_running() {
            // SAFETY: The hogs run in ring 0, where `hlt` is allowed. Interrupts are on, so the
            // CPU resumes after the next one, whose handler may touch any memory: no `nomem`.
            unsafe { core::arch::asm!("hlt", options(nostack, preserves_flags)) };
            return true;
        }
    }
    false
}

/// Whether some CPU is `nohz_full` (`tick_nohz_full_running`, set once at boot).
#[cfg(CONFIG_X86_64)]
#[inline(always)]
fn nohz_full_running() -> bool {
    #[cfg(CONFIG_NO_HZ_FULL)]
    {
        extern "C" {
            /// `<linux/tick.h>`: set during boot when `nohz_full=` names CPUs; exported.
            static tick_nohz_full_running: bool;
        }
        // SAFETY: The kernel writes `tick_nohz_full_running` only while it boots, before any
        // module can be loaded; reading a `bool` has no other condition.
        unsafe { tick_nohz_full_running }
    }
    #[cfg(not(CONFIG_NO_HZ_FULL))]
    false
}

/// Gives the CPU away if the scheduler wants it, like C's `cond_resched()`.
///
/// `__cond_resched()` exists where `cond_resched()` can do something: without
/// `CONFIG_PREEMPTION`, or with `CONFIG_PREEMPT_DYNAMIC` (where `preempt=full` turns C's
/// `cond_resched()` into a no-op; calling `__cond_resched()` directly is harmless then). On a
/// fully preemptible kernel without dynamic preemption, C's `cond_resched()` is empty, and so
/// is this.
#[inline]
pub(crate) fn cond_resched() {
    #[cfg(any(not(CONFIG_PREEMPTION), CONFIG_PREEMPT_DYNAMIC))]
    // SAFETY: `__cond_resched()` has no precondition: it schedules only when the preemption
    // count is zero (`should_resched(0)`), so called with preemption or interrupts off (a
    // spinlock held) it returns without scheduling. The hogs call it from kthreads, at most with
    // a sleeping lock (a mutex) or a preemptible RCU read-side section held, where scheduling
    // is allowed.
    unsafe {
        bindings::__cond_resched()
    };
}

/// Takes a raw spinlock with preemption off, C's `raw_spin_lock()`, through a function this
/// kernel exports.
///
/// `_raw_spin_unlock()` is exported only with `CONFIG_UNINLINE_SPIN_UNLOCK` (preemptible or
/// `DEBUG_SPINLOCK` kernels); with `PREEMPT_VOLUNTARY` and no `PREEMPT_DYNAMIC` it is inline and
/// modpost fails. Outside `PREEMPT_RT`, a `spinlock_t` *is* a raw spinlock (`spin_lock(l)` is
/// `raw_spin_lock(&l->rlock)`), and the Rust helpers `spin_lock()` and `spin_unlock()` are built
/// into every kernel with Rust: those are used. `PREEMPT_RT` implies
/// `CONFIG_UNINLINE_SPIN_UNLOCK` on x86, so there the `_raw_` pair is exported.
/// (`_raw_spin_lock_irqsave()` and `_raw_spin_unlock_irqrestore()` are inline only where the
/// architecture asks, `ARCH_INLINE_SPIN_*`, which x86 never does.)
///
/// # Safety
///
/// `lock` must point to an initialised `raw_spinlock_t` that stays valid until released with
/// [`raw_spin_unlock`] on the same CPU.
#[allow(dead_code)] // Only the hogs that include `lock.rs` take a lock.
pub(crate) unsafe fn raw_spin_lock(lock: *mut bindings::raw_spinlock_t) {
    #[cfg(not(CONFIG_PREEMPT_RT))]
    // SAFETY: `lock` is a valid, initialised raw spinlock (this function's contract). Without
    // `PREEMPT_RT`, `spinlock_t` is a union whose `rlock` member, at offset 0, is a
    // `raw_spinlock_t`, and of the same size; `spin_lock()` takes `rlock` and nothing else.
    unsafe {
        bindings::spin_lock(lock.cast::<bindings::spinlock_t>())
    };
    #[cfg(CONFIG_PREEMPT_RT)]
    // SAFETY: `lock` is a valid, initialised raw spinlock (this function's contract).
    unsafe {
        bindings::_raw_spin_lock(lock)
    };
}

/// Releases a raw spinlock taken with [`raw_spin_lock`], C's `raw_spin_unlock()`.
///
/// # Safety
///
/// This CPU must hold `lock`, taken with [`raw_spin_lock`].
#[allow(dead_code)] // Only the hogs that include `lock.rs` take a lock.
pub(crate) unsafe fn raw_spin_unlock(lock: *mut bindings::raw_spinlock_t) {
    #[cfg(not(CONFIG_PREEMPT_RT))]
    // SAFETY: This CPU holds `lock` (this function's contract); `spin_unlock()` releases the
    // `rlock` that `spin_lock()` took in `raw_spin_lock`.
    unsafe {
        bindings::spin_unlock(lock.cast::<bindings::spinlock_t>())
    };
    #[cfg(CONFIG_PREEMPT_RT)]
    // SAFETY: This CPU holds `lock` (this function's contract).
    unsafe {
        bindings::_raw_spin_unlock(lock)
    };
}

/// Returns the number of the CPU the current task runs on (C's `task_cpu(current)`).
///
/// Only stable while the task cannot migrate: it is bound to one CPU, or preemption is off.
pub(crate) fn current_cpu() -> u32 {
    // SAFETY: `get_current()` returns the running task, which stays valid while it runs this
    // code. `thread_info.cpu` is what `task_cpu()` reads (`CONFIG_THREAD_INFO_IN_TASK`, always
    // set on x86-64); the volatile read is C's `READ_ONCE()`.
    unsafe {
        core::ptr::read_volatile(core::ptr::addr_of!(
            (*bindings::get_current()).thread_info.cpu
        ))
    }
}

/// Returns whether the module loader is done with this module.
///
/// True once `init` has returned, the module is live and the loader has dropped its init
/// sections: in `do_init_module()` that happens after `module_enable_rodata_ro()`, whose TLB
/// flush waits for every CPU to answer an IPI, and just before `insmod` returns. Reads loader
/// internals (`struct module`'s `state` and `mem[MOD_INIT_TEXT]`, 6.4 and later).
pub(crate) fn module_fully_loaded() -> bool {
    let module = this_module!();
    // SAFETY: `module` is this module's `struct module`, valid while its code runs. The loader
    // writes both fields while this may run on another CPU: the volatile reads are C's
    // `READ_ONCE()`, and a stale value only makes the caller poll again.
    let (state, init_text) = unsafe {
        (
            core::ptr::read_volatile(core::ptr::addr_of!((*module).state)),
            core::ptr::read_volatile(core::ptr::addr_of!(
                (*module).mem[bindings::mod_mem_type_MOD_INIT_TEXT as usize].base
            )),
        )
    };
    state == bindings::module_state_MODULE_STATE_LIVE && init_text.is_null()
}

/// The module's own `struct module`, C's `THIS_MODULE`, from the `ThisModule` that `module!`
/// makes: a constant expression, usable in a `static`'s initialiser.
///
/// 6.12's `module!` defines a `static THIS_MODULE` at the crate's root; later ones a constant of
/// the `ModuleMetadata` trait, implemented for the module's type (`LocalModule`).
#[cfg(not(hogs_module_metadata))]
macro_rules! this_module {
    () => {
        $crate::THIS_MODULE.as_ptr()
    };
}
#[cfg(hogs_module_metadata)]
macro_rules! this_module {
    () => {
        <$crate::LocalModule as ::kernel::ModuleMetadata>::THIS_MODULE.as_ptr()
    };
}
pub(crate) use this_module;

/// Whether the machine says it is virtual, and how that was asked (for the log).
///
/// x86-64: CPUID leaf 1, ECX bit 31, "hypervisor present", set by every hypervisor for its
/// guests. arm64 has no such bit: the device tree's root must be QEMU's `virt` machine
/// (`linux,dummy-virt`), the machine virtme-ng boots; any other arm64 machine counts as bare
/// metal.
pub(crate) fn hypervisor_present() -> (bool, &'static str) {
    #[cfg(CONFIG_X86_64)]
    {
        /// CPUID leaf 1, ECX bit 31.
        const CPUID_1_ECX_HYPERVISOR: u32 = 1 << 31;
        // `__cpuid` was an `unsafe fn` in older Rust versions (the kernel's minimum is 1.78)
        // and is safe in newer ones: the `unsafe` block is needed by the former only.
        #[allow(unused_unsafe)]
        // SAFETY: Every x86-64 CPU has the CPUID instruction; it only reads identification
        // registers.
        let leaf1 = unsafe { core::arch::x86_64::__cpuid(1) };
        (
            leaf1.ecx & CPUID_1_ECX_HYPERVISOR != 0,
            "CPUID.1:ECX bit 31 (hypervisor present)",
        )
    }
    #[cfg(CONFIG_ARM64)]
    {
        extern "C" {
            /// `<linux/of.h>`, which the bindings do not include; exported by drivers/of.
            fn of_machine_compatible_match(compats: *const *const kernel::ffi::c_char) -> bool;
        }
        let compats: [*const kernel::ffi::c_char; 2] =
            [c"linux,dummy-virt".as_ptr(), core::ptr::null()];
        // SAFETY: `compats` is a NULL-terminated array of NUL-terminated strings that outlive
        // the call, which only reads them (and the device tree, under its own lock).
        let virt = unsafe { of_machine_compatible_match(compats.as_ptr()) };
        (virt, "the device tree root is QEMU's virt machine (linux,dummy-virt)")
    }
}

/// Makes this CPU leave the user memory map it borrowed, before a hog spins on it with
/// interrupts off.
///
/// A kthread runs on the memory map of the last user process that ran on its CPU ("lazy
/// TLB"). On x86-64, when that process exits (say, `insmod` itself), freeing its page tables
/// sends a TLB-flush IPI to every CPU still using the map, and the freeing CPU waits for the
/// hogged one: a victim soft lockup. `leave_mm()` switches to the kernel's own map, as idle
/// drivers do before deep C-states. arm64 invalidates TLBs by broadcast instructions, with no
/// IPI to wait for: nothing to do there.
///
/// # Safety
///
/// Preemption must be off (the caller holds a spinlock or has disabled it), and the caller
/// must be a kthread, which uses no user memory.
#[allow(dead_code)] // Only hog_irqsave spins with interrupts off.
pub(crate) unsafe fn leave_lazy_mm() {
    #[cfg(CONFIG_X86_64)]
    // SAFETY: `leave_mm()` needs preemption off, as this function's contract says; switching
    // a kthread to the kernel's map loses nothing it uses.
    unsafe {
        bindings::leave_mm()
    };
}

extern "C" {
    /// Tells the soft-lockup detector that this CPU is making progress (`<linux/nmi.h>`, which
    /// 6.12's bindings do not include; exported with `CONFIG_SOFTLOCKUP_DETECTOR`).
    pub(crate) fn touch_softlockup_watchdog();

    /// Tells the hard-lockup detector that this CPU is making progress: the half of C's inline
    /// `touch_nmi_watchdog()` that is not [`touch_softlockup_watchdog`] (`<linux/nmi.h>`;
    /// exported with the perf or buddy hard-lockup detector, which `--kdir` validation demands).
    pub(crate) fn arch_touch_nmi_watchdog();
}

/// A counted reference to a kernel object, `ARef` (in `kernel::sync::aref` on newer kernels).
#[cfg(hogs_sync_aref)]
pub(crate) use kernel::sync::aref::ARef;
#[cfg(not(hogs_sync_aref))]
pub(crate) use kernel::types::ARef;

/// A CPU number the kernel's per-CPU functions accept (`cpumask_of()`, `kthread_bind()`):
/// `kernel::cpu::CpuId` where the kernel has it.
#[cfg(hogs_kernel_cpu_id)]
pub(crate) use kernel::cpu::{nr_cpu_ids, CpuId};
#[cfg(not(hogs_kernel_cpu_id))]
pub(crate) use cpu::{nr_cpu_ids, CpuId};

/// The stand-in for `kernel::cpu` (7.x) on kernels without it: the same names and invariant.
#[cfg(not(hogs_kernel_cpu_id))]
mod cpu {
    use kernel::bindings;

    /// The number of possible CPU numbers (C's `nr_cpu_ids`).
    pub(crate) fn nr_cpu_ids() -> u32 {
        // SAFETY: `nr_cpu_ids` is set during boot, before any module can be loaded, and only
        // read afterwards.
        unsafe { bindings::nr_cpu_ids }
    }

    /// A CPU number below `nr_cpu_ids`, as `kernel::cpu::CpuId`.
    ///
    /// # Invariants
    ///
    /// The number is below [`nr_cpu_ids`].
    #[derive(Clone, Copy, PartialEq, Eq)]
    pub(crate) struct CpuId(u32);

    impl CpuId {
        /// The CPU numbered `id`, if there is such a CPU (online or not).
        pub(crate) fn from_u32(id: u32) -> Option<Self> {
            // INVARIANT: Checked here.
            (id < nr_cpu_ids()).then_some(Self(id))
        }

        /// The CPU's number.
        pub(crate) fn as_u32(&self) -> u32 {
            self.0
        }
    }
}

/// A point in time on `CLOCK_MONOTONIC` (`ktime_get()`): `kernel::time::Instant<Monotonic>`
/// where the kernel has it.
#[cfg(hogs_kernel_instant)]
pub(crate) type Instant = kernel::time::Instant<kernel::time::Monotonic>;
#[cfg(not(hogs_kernel_instant))]
pub(crate) use time::Instant;

/// The stand-in for `kernel::time::{Instant, Delta}` (7.x) on kernels without them, over
/// 6.12's `Ktime`: the same names, for the methods the hogs use.
#[cfg(not(hogs_kernel_instant))]
mod time {
    use kernel::time::Ktime;

    /// A point in time on `CLOCK_MONOTONIC`.
    #[derive(Clone, Copy)]
    pub(crate) struct Instant(Ktime);

    impl Instant {
        /// Now.
        #[inline]
        pub(crate) fn now() -> Self {
            Self(Ktime::ktime_get())
        }

        /// The time since `self`.
        #[inline]
        pub(crate) fn elapsed(&self) -> Delta {
            Delta(Ktime::ktime_get() - self.0)
        }
    }

    /// A span of time.
    #[derive(Clone, Copy)]
    pub(crate) struct Delta(Ktime);

    impl Delta {
        /// The span in nanoseconds.
        #[inline]
        pub(crate) fn as_nanos(self) -> i64 {
            self.0.to_ns()
        }
    }
}

/// Enters an RCU read-side critical section, left when the guard is dropped (C's
/// `rcu_read_lock()` and `rcu_read_unlock()`): `kernel::sync::rcu::read_lock()` where the kernel
/// has it. hog_rcu uses it with preemptible RCU only, where every kernel has one or the other.
#[cfg(hogs_sync_rcu)]
#[allow(unused_imports)] // Only hog_rcu reads under RCU.
pub(crate) use kernel::sync::rcu::read_lock as rcu_read_lock;
#[cfg(all(not(hogs_sync_rcu), CONFIG_PREEMPT_RCU))]
#[allow(unused_imports)] // Only hog_rcu reads under RCU.
pub(crate) use rcu::read_lock as rcu_read_lock;

/// The stand-in for `kernel::sync::rcu` on kernels without it (6.12). Only for preemptible RCU:
/// there the C inline `rcu_read_lock()` is the exported `__rcu_read_lock()` plus lockdep and
/// sparse annotations, while elsewhere it is an inline `preempt_disable()` with nothing exported
/// to call (hog_rcu then holds a raw spinlock instead).
#[cfg(all(not(hogs_sync_rcu), CONFIG_PREEMPT_RCU))]
#[allow(dead_code)] // Only hog_rcu reads under RCU.
mod rcu {
    use core::marker::PhantomData;
    use kernel::bindings;

    /// Inside an RCU read-side critical section until dropped.
    ///
    /// # Invariants
    ///
    /// The current task is inside a read-side critical section that this guard opened, and the
    /// guard stays on that task (it is neither `Send` nor `Sync`).
    pub(crate) struct Guard(PhantomData<*mut ()>);

    /// Enters a read-side critical section.
    pub(crate) fn read_lock() -> Guard {
        // SAFETY: `__rcu_read_lock()` may be called from any context; it only increments the
        // current task's nesting count.
        unsafe { bindings::__rcu_read_lock() };
        // INVARIANT: the section was just entered, on the current task.
        Guard(PhantomData)
    }

    impl Drop for Guard {
        fn drop(&mut self) {
            // SAFETY: By the type invariant the current task is inside the section
            // `read_lock()` opened, so this `__rcu_read_unlock()` pairs with its
            // `__rcu_read_lock()`.
            unsafe { bindings::__rcu_read_unlock() };
        }
    }
}
