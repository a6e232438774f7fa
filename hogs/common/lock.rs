// SPDX-License-Identifier: GPL-2.0

//! A module-owned raw spinlock: what the hogs hold to turn preemption or interrupts off.
//!
//! 6.12 has no Rust abstraction for `preempt_disable()` or `spin_lock_irqsave()`, and
//! `preempt_disable()` is an inline function with no exported equivalent
//! (`preempt_count_add()` is exported only with `CONFIG_DEBUG_PREEMPT` or
//! `CONFIG_TRACE_PREEMPT_TOGGLE`). Taking a spinlock is the exported, documented way to get
//! that context: `_raw_spin_lock()` is `preempt_disable()` followed by the lock, and
//! `_raw_spin_lock_irqsave()` saves and disables interrupts, then does the same.
//!
//! The lock is a `raw_spinlock_t`, not a `spinlock_t`: on `PREEMPT_RT` kernels a `spinlock_t`
//! is a sleeping lock that leaves preemption (and interrupts) on, while a raw spinlock
//! disables them on every kernel. 6.12's bindings also make `spinlock_t` opaque, while
//! `raw_spinlock_t` is a plain struct.
//!
//! Which kernel functions take and release it depends on the configuration (so that the module
//! links on every one): [`crate::compat::raw_spin_lock`] says why.

use core::{cell::UnsafeCell, marker::PhantomData, mem::MaybeUninit};
use kernel::{bindings, ffi::c_ulong};

/// A lockdep class key in a `static`, as C's `static struct lock_class_key key;`.
///
/// `kernel::sync::LockClassKey` would do, but 6.12 keeps its pointer to the kernel crate.
pub(crate) struct LockClassKey(kernel::types::Opaque<bindings::lock_class_key>);

// SAFETY: lockdep only ever uses a class key through its address, under its own locking.
unsafe impl Sync for LockClassKey {}

// Used by the work items of `hog_wq`, and by `RawSpinLock::init` under `CONFIG_DEBUG_SPINLOCK`.
#[allow(dead_code)]
impl LockClassKey {
    /// A key for a `static`: lockdep expects the memory of a static key to be left as it is.
    pub(crate) const fn new() -> Self {
        Self(kernel::types::Opaque::uninit())
    }

    /// The key's address, for the kernel's `*_init` functions (valid for the whole run: a key
    /// is always a `static`).
    pub(crate) fn as_ptr(&'static self) -> *mut bindings::lock_class_key {
        self.0.get()
    }
}

/// A `raw_spinlock_t` in a `static`, as C's `static DEFINE_RAW_SPINLOCK(lock)`.
pub(crate) struct RawSpinLock(UnsafeCell<bindings::raw_spinlock_t>);

// SAFETY: The lock exists to be shared between CPUs: all accesses go through the kernel's
// locking functions, which synchronise them.
unsafe impl Sync for RawSpinLock {}

impl RawSpinLock {
    /// Creates an unlocked lock.
    ///
    /// All zeroes is an unlocked `raw_spinlock_t` (`__RAW_SPIN_LOCK_UNLOCKED`) unless
    /// `CONFIG_DEBUG_SPINLOCK` adds debugging fields; [`RawSpinLock::init`] fills those in.
    pub(crate) const fn new() -> Self {
        // SAFETY: `raw_spinlock_t` is plain data (integers) for which zero is a valid value.
        Self(UnsafeCell::new(unsafe {
            MaybeUninit::<bindings::raw_spinlock_t>::zeroed().assume_init()
        }))
    }

    /// Finishes initialising the lock: C's `raw_spin_lock_init()`.
    ///
    /// Does something only with `CONFIG_DEBUG_SPINLOCK`, which adds the owner and lockdep
    /// fields that all zeroes leave wrong. Taking the lock without it is not unsound, but such a
    /// kernel complains about the lock's bad magic.
    ///
    /// # Safety
    ///
    /// No CPU may hold the lock or be taking it while this runs (it rewrites the lock word):
    /// call it before starting any thread that takes the lock.
    pub(crate) unsafe fn init(&'static self) {
        #[cfg(CONFIG_DEBUG_SPINLOCK)]
        {
            /// The lockdep class of the lock (`static struct lock_class_key __key;` in C).
            static KEY: LockClassKey = LockClassKey::new();

            // SAFETY: Nobody holds or takes the lock (this function's contract); the name is a
            // static string and the key a static object, as lockdep requires.
            unsafe {
                bindings::__raw_spin_lock_init(
                    self.0.get(),
                    c"hog_lock".to_bytes_with_nul().as_ptr().cast(),
                    KEY.as_ptr(),
                    bindings::lockdep_wait_type_LD_WAIT_SPIN as _,
                )
            };
        }
    }

    /// Takes the lock with preemption disabled (`raw_spin_lock()`), spinning while another CPU
    /// holds it.
    #[allow(dead_code)] // Each hog takes the lock one way or the other, not both.
    pub(crate) fn lock(&self) -> Guard<'_> {
        // SAFETY: The lock is initialised (`new`) and lives as long as `self`.
        unsafe { crate::compat::raw_spin_lock(self.0.get()) };
        Guard {
            lock: self,
            _not_send: PhantomData,
        }
    }

    /// Takes the lock with interrupts and preemption disabled (`raw_spin_lock_irqsave()`).
    #[allow(dead_code)] // Each hog takes the lock one way or the other, not both.
    pub(crate) fn lock_irqsave(&self) -> IrqSaveGuard<'_> {
        // SAFETY: The lock is initialised (`new`) and lives as long as `self`.
        let flags = unsafe { bindings::_raw_spin_lock_irqsave(self.0.get()) };
        IrqSaveGuard {
            lock: self,
            flags,
            _not_send: PhantomData,
        }
    }
}

/// The lock is held (preemption off) until this is dropped.
pub(crate) struct Guard<'a> {
    /// The lock to release.
    lock: &'a RawSpinLock,
    /// The lock must be released on the CPU that took it.
    _not_send: PhantomData<*mut ()>,
}

impl Drop for Guard<'_> {
    fn drop(&mut self) {
        // SAFETY: This guard was created by `RawSpinLock::lock`, so this CPU took the lock with
        // `compat::raw_spin_lock()` and holds it, with preemption disabled since then.
        unsafe { crate::compat::raw_spin_unlock(self.lock.0.get()) };
    }
}

/// The lock is held (interrupts and preemption off) until this is dropped.
pub(crate) struct IrqSaveGuard<'a> {
    /// The lock to release.
    lock: &'a RawSpinLock,
    /// The interrupt state to restore, as saved by `_raw_spin_lock_irqsave()`.
    flags: c_ulong,
    /// The lock must be released on the CPU that took it.
    _not_send: PhantomData<*mut ()>,
}

impl Drop for IrqSaveGuard<'_> {
    fn drop(&mut self) {
        // SAFETY: This guard was created by `RawSpinLock::lock_irqsave`, so the lock is held by
        // this CPU, with interrupts off; `flags` is what that call saved.
        unsafe { bindings::_raw_spin_unlock_irqrestore(self.lock.0.get(), self.flags) };
    }
}
