// SPDX-License-Identifier: GPL-2.0

//! The hogs' kernel threads: create, bind to a CPU, start, and stop.
//!
//! 6.12 has no kthread abstraction in Rust; this is C's usual pattern, written with
//! `kernel::bindings` for the kthread calls and the kernel crate's `ARef<Task>` for the
//! reference and `KBox` for what the thread runs on:
//!
//! ```c
//! task = kthread_create(threadfn, data, "%s", name);  // created, not running yet
//! get_task_struct(task);                              // keep it even after threadfn returns
//! kthread_bind(task, cpu);                            // only while it is not running
//! wake_up_process(task);                              // now it runs threadfn(data)
//! ...
//! kthread_stop(task); put_task_struct(task);          // ask it to stop, wait, drop the reference
//! ```
//!
//! The reference matters because a hog's thread may already have returned (the hog ended
//! after `secs`) when the module is unloaded: without it the `task_struct` would be freed and
//! `kthread_stop()` would use freed memory. With it, `kthread_stop()` on a thread that has
//! exited returns at once, and on a thread that still runs it sets the "should stop" flag,
//! which the hog's loop checks, and waits for the thread function to return.
//!
//! A hog starts only once the module loader is done with the module (`insmod` is about to
//! return), not as soon as `init` has created its thread: after `init` the loader still makes
//! the module's read-only-after-init data read-only, which flushes the TLB of every CPU with
//! an IPI. A CPU hogged with interrupts off cannot answer it, so `insmod` would hang with the
//! module half-loaded and impossible to remove (seen with `hog_irqsave secs=0`: `insmod`
//! soft-locked in `smp_call_function_many_cond` for good).

use crate::compat::{self, ARef, CpuId};
use core::{ffi::CStr, marker::PhantomData, ptr::NonNull};
use kernel::{
    bindings,
    error::from_err_ptr,
    ffi::{c_char, c_int, c_void},
    prelude::*,
    task::Task,
};

/// The code a hog thread runs.
pub(crate) trait ThreadBody: Send + Sync + 'static {
    /// Runs in the new kernel thread; the thread ends when this returns.
    ///
    /// Must return soon after `kthread.should_stop()` becomes true, or unloading the module
    /// waits for it.
    fn run(&self, kthread: &Kthread);
}

/// Proof that the code holding it runs in a kernel thread made by `kthread_create*()`: the
/// only tasks where `kthread_should_stop()` may be asked (elsewhere it dereferences a
/// `struct kthread` the task does not have).
///
/// # Invariants
///
/// The task that created the value is a kthread made by `kthread_create*()`, and the value
/// never leaves it: it is neither `Send` nor `Sync`.
pub(crate) struct Kthread {
    /// Keeps the value on its task.
    _not_send: PhantomData<*mut ()>,
}

impl Kthread {
    /// Says that the current task is a kthread made by `kthread_create*()`.
    ///
    /// # Safety
    ///
    /// The caller must run in such a kthread: a thread function given to `kthread_create*()`
    /// (as [`Thread::spawn`]'s trampoline), or a work item's function, which runs in a kworker
    /// that `create_worker()` made with `kthread_create_on_node()`.
    pub(crate) unsafe fn assume() -> Self {
        // INVARIANT: The caller runs in a kthread (this function's contract); `_not_send` keeps
        // the value there.
        Self {
            _not_send: PhantomData,
        }
    }

    /// Returns whether `kthread_stop()` was called on this kthread.
    pub(crate) fn should_stop(&self) -> bool {
        // SAFETY: `kthread_should_stop()` requires the current task to be a kthread made by
        // `kthread_create*()`, which `self` proves (type invariant).
        unsafe { bindings::kthread_should_stop() }
    }

    /// Sleeps, a millisecond or so at a time, until `ready()` is true; returns `false` instead
    /// if `kthread_stop()` is called meanwhile.
    ///
    /// Call it where sleeping is allowed (no spinlock held, preemption on), like every sleep.
    pub(crate) fn sleep_until(&self, ready: impl Fn() -> bool) -> bool {
        while !ready() {
            if self.should_stop() {
                return false;
            }
            // SAFETY: `msleep()` has no precondition besides a context that may sleep, which
            // is the caller's to give (sleeping elsewhere is a bug the kernel reports, not
            // undefined behaviour).
            unsafe { bindings::msleep(1) };
        }
        true
    }
}

/// A running (or finished) kernel thread executing [`ThreadBody::run`] on its `T`.
///
/// Dropping it stops the thread and waits for it to end.
///
/// # Invariants
///
/// `task` is a kthread made by `kthread_create_on_node()` to run [`trampoline::<T>`] on `body`;
/// `body` comes from `KBox::leak()` and is freed only by `Drop`, once the thread has been
/// stopped.
pub(crate) struct Thread<T: ThreadBody> {
    /// The thread, with a reference of ours: its `task_struct` outlives the thread function.
    task: ARef<Task>,
    /// What the thread runs on, owned by this value but read by the thread through this
    /// pointer until it is stopped.
    body: NonNull<T>,
}

// SAFETY: `task` is only used by `Drop`, and stopping a kthread may be done from any task. `T`
// is `Send + Sync`, and `body` is only freed by `Drop`.
unsafe impl<T: ThreadBody> Send for Thread<T> {}

// SAFETY: `&Thread` gives no access to anything (all methods take `self` or `&mut self`).
unsafe impl<T: ThreadBody> Sync for Thread<T> {}

impl<T: ThreadBody> Thread<T> {
    /// Starts a kernel thread named `name` running `body.run()`, bound to `cpu` if given.
    pub(crate) fn spawn(name: &CStr, cpu: Option<CpuId>, body: T) -> Result<Self> {
        let body = NonNull::from(KBox::leak(KBox::new(body, GFP_KERNEL)?));

        // SAFETY: `trampoline::<T>` has the signature `kthread_create_on_node` expects, and
        // `body` points to a `T` that stays alive until the thread has been stopped (it is freed
        // only by the `Drop` of the `Thread` made below, or here if there is no thread). The
        // format `"%s"` takes one NUL-terminated string, `name`.
        let task = unsafe {
            bindings::kthread_create_on_node(
                Some(trampoline::<T>),
                body.as_ptr().cast::<c_void>(),
                bindings::NUMA_NO_NODE,
                // The bytes' pointer, not `CStr::as_ptr()`: newer kernels forbid that one (their
                // `char` is unsigned) and it is the same address.
                c"%s".to_bytes_with_nul().as_ptr().cast::<c_char>(),
                name.to_bytes_with_nul().as_ptr().cast::<c_char>(),
            )
        };
        let task = match from_err_ptr(task).and_then(|task| NonNull::new(task).ok_or(ENOMEM)) {
            Ok(task) => task,
            Err(e) => {
                // SAFETY: `body` comes from `KBox::leak()` just above, and no thread was made
                // that could use it.
                drop(unsafe { KBox::from_raw(body.as_ptr()) });
                return Err(e);
            }
        };

        // SAFETY: `task` is a valid `task_struct`, just created: `kthread_create_on_node()`
        // returns it with the reference the not yet running thread holds. `Task` is a
        // transparent wrapper of `task_struct`. `ARef::from` takes a reference of our own
        // (`get_task_struct()`), dropped after `kthread_stop()` in `Drop`.
        let task = ARef::from(unsafe { &*task.as_ptr().cast::<Task>() });
        // INVARIANT: `task` was made to run `trampoline::<T>` on `body`, which comes from
        // `KBox::leak()`. From here on, dropping `thread` stops the thread, even one that never
        // ran, then frees `body`.
        let thread = Self { task, body };

        if let Some(cpu) = cpu {
            // SAFETY: The thread has not been woken up yet, which `kthread_bind()` requires.
            // `cpu` is below `nr_cpu_ids` (`CpuId`'s invariant), as `cpumask_of()` in it needs.
            unsafe { bindings::kthread_bind(thread.task_ptr(), cpu.as_u32()) };
        }

        thread.task.wake_up();
        Ok(thread)
    }

    /// The thread's `task_struct`, for the C functions that take one.
    fn task_ptr(&self) -> *mut bindings::task_struct {
        // `Task` is a transparent wrapper of `task_struct`.
        core::ptr::from_ref::<Task>(&self.task)
            .cast_mut()
            .cast::<bindings::task_struct>()
    }
}

impl<T: ThreadBody> Drop for Thread<T> {
    fn drop(&mut self) {
        // SAFETY: `task` is a kthread (type invariant) and we hold a reference to it, dropped
        // with `self.task` after this. `kthread_stop()` works whether the thread is running,
        // has already returned, or never ran, and returns once the thread function has
        // returned.
        unsafe { bindings::kthread_stop(self.task_ptr()) };
        // SAFETY: `body` comes from `KBox::leak()` (type invariant) and the thread that read it
        // has ended, so nothing uses it any more.
        drop(unsafe { KBox::from_raw(self.body.as_ptr()) });
    }
}

/// The C-callable thread function: waits for the module to be loaded, then runs the body
/// `data` points to.
///
/// # Safety
///
/// `data` must point to a `T` that stays valid until this function returns.
unsafe extern "C" fn trampoline<T: ThreadBody>(data: *mut c_void) -> c_int {
    // SAFETY: `spawn` passed a pointer to the `T` in the `Thread`'s box, which is freed only
    // after `kthread_stop()` has waited for this function to return.
    let body = unsafe { &*data.cast::<T>() };
    // SAFETY: `kthread_create_on_node()` in `spawn` made this thread to run this function.
    let kthread = unsafe { Kthread::assume() };

    // If `init` fails after creating this thread, the module never goes live: `Drop` stops the
    // thread while it waits here.
    if kthread.sleep_until(compat::module_fully_loaded) {
        body.run(&kthread);
    }
    0
}
