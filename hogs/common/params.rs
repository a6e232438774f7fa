// SPDX-License-Identifier: GPL-2.0

//! Module parameters (`insmod hog_busy.ko secs=8 cpu=1`) without help from `module!`.
//!
//! Linux 6.12's `module!` has no parameters (they arrive in 6.19), so this file does in Rust
//! what C's `module_param(secs, uint, 0444)` and `MODULE_PARM_DESC(secs, "...")` do:
//!
//! - a `struct kernel_param` in the `__param` section, naming the parameter, its
//!   `kernel_param_ops` (`param_ops_uint` parses and prints an `unsigned int`), the address of
//!   the storage and the sysfs permissions (0444: readable in
//!   `/sys/module/<hog>/parameters/`). When the module is loaded, the kernel walks that section
//!   and stores each `name=value` argument *before* the module's `init` runs;
//! - `parmtype=secs:uint` and `parm=secs:description` strings in `.modinfo`, which
//!   `modinfo hog_busy.ko` prints.
//!
//! The statics are marked `#[used(compiler)]` (keep them, let the linker do as it likes), as
//! `module!` does for its own `.modinfo` strings: with plain `#[used]` rustc 1.96 marks the
//! section `SHF_GNU_RETAIN`, the object gets a second `.modinfo` section, and `insmod` rejects
//! the module with "Invalid module format".
//!
//! Every hog includes this file as `mod params` (the macro refers to `$crate::params`).

use core::cell::UnsafeCell;
use kernel::bindings;

/// Declares a module parameter in one line.
///
/// `module_param!(secs: u32 = 10, "description")` creates a module `secs` whose `secs::get()`
/// returns the value given at load time, or the default. The types are `i32` (C's `int`),
/// `u32` (`uint`) and `bool` (`bool`: `1`, `0`, `y`, `n`, `Y`, `N`). The parameter is
/// read-only (0444) once the module is loaded.
///
/// # Examples
///
/// ```ignore
/// params::module_param!(secs: u32 = 10, "How long to hog the CPU, in seconds");
///
/// let seconds: u32 = secs::get();
/// ```
macro_rules! module_param {
    ($name:ident: i32 = $default:expr, $description:literal $(,)?) => {
        $crate::params::module_param!(@param $name, i32, param_ops_int, "int", $default, $description);
    };
    ($name:ident: u32 = $default:expr, $description:literal $(,)?) => {
        $crate::params::module_param!(@param $name, u32, param_ops_uint, "uint", $default, $description);
    };
    ($name:ident: bool = $default:expr, $description:literal $(,)?) => {
        $crate::params::module_param!(@param $name, bool, param_ops_bool, "bool", $default, $description);
    };
    (@param $name:ident, $type:ty, $ops:ident, $kind:literal, $default:expr, $description:literal) => {
        #[doc = concat!("Module parameter `", stringify!($name), "` (", $kind, "): ", $description)]
        pub(crate) mod $name {
            use kernel::bindings;
            use $crate::params::{modinfo, KernelParam, Storage};

            /// Where the kernel stores the value given at load time.
            static VALUE: Storage<$type> = Storage::new($default);

            /// Returns the value given at load time, or the default.
            pub(crate) fn get() -> $type {
                VALUE.get()
            }

            /// The parameter's name as C sees it.
            const NAME: &str = concat!(stringify!($name), "\0");

            /// The `struct kernel_param` the kernel finds in the `__param` section.
            #[link_section = "__param"]
            #[used(compiler)]
            static PARAM: KernelParam = KernelParam(bindings::kernel_param {
                name: NAME.as_ptr().cast(),
                mod_: $crate::compat::this_module!(),
                // SAFETY: Only the address of the exported `kernel_param_ops` is taken.
                ops: unsafe { &bindings::$ops },
                perm: 0o444,
                level: -1,
                flags: 0,
                __bindgen_anon_1: bindings::kernel_param__bindgen_ty_1 {
                    arg: core::ptr::addr_of!(VALUE).cast_mut().cast(),
                },
            });

            /// The `.modinfo` description string, `parm=NAME:DESCRIPTION`.
            const PARM: &str = concat!("parm=", stringify!($name), ":", $description, "\0");

            /// The description, in the `.modinfo` section.
            #[link_section = ".modinfo"]
            #[used(compiler)]
            static PARM_INFO: [u8; PARM.len()] = modinfo(PARM);

            /// The `.modinfo` type string, `parmtype=NAME:TYPE`.
            const PARMTYPE: &str = concat!("parmtype=", stringify!($name), ":", $kind, "\0");

            /// The type, in the `.modinfo` section.
            #[link_section = ".modinfo"]
            #[used(compiler)]
            static PARMTYPE_INFO: [u8; PARMTYPE.len()] = modinfo(PARMTYPE);
        }
    };
}
pub(crate) use module_param;

/// The storage of one parameter, written by the kernel while it loads the module.
#[repr(transparent)]
pub(crate) struct Storage<T>(UnsafeCell<T>);

// SAFETY: The kernel writes the value only while it parses the module's arguments, before the
// module's `init` runs and so before any of the module's code can read it; the parameter is
// registered read-only (0444), so sysfs cannot write it later. After loading, all accesses are
// reads.
unsafe impl<T: Copy + Send> Sync for Storage<T> {}

impl<T: Copy> Storage<T> {
    /// Creates the storage holding the default value.
    pub(crate) const fn new(default: T) -> Self {
        Self(UnsafeCell::new(default))
    }

    /// Returns the current value.
    pub(crate) fn get(&self) -> T {
        // SAFETY: The pointer comes from a live `UnsafeCell` and no one writes it any more (see
        // the `Sync` implementation). The read is volatile because the value was written by C
        // code the compiler cannot see, so it must not assume the default.
        unsafe { core::ptr::read_volatile(self.0.get()) }
    }
}

/// A `struct kernel_param` that can live in a `static`.
#[repr(transparent)]
pub(crate) struct KernelParam(pub(crate) bindings::kernel_param);

// SAFETY: The kernel only reads the entry, and the pointers in it point to `'static` data: the
// name, the module, the exported `kernel_param_ops` and the parameter's `Storage`.
unsafe impl Sync for KernelParam {}

/// Copies `text` into an array of its exact length, as a `.modinfo` entry must be.
///
/// Used in constant context only: a length mismatch fails the build.
pub(crate) const fn modinfo<const N: usize>(text: &str) -> [u8; N] {
    let bytes = text.as_bytes();
    assert!(bytes.len() == N, "modinfo string length mismatch");
    let mut out = [0u8; N];
    let mut i = 0;
    while i < N {
        out[i] = bytes[i];
        i += 1;
    }
    out
}
