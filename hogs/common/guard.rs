// SPDX-License-Identifier: GPL-2.0

//! Checks every hog makes before it locks anything up.
//!
//! - [`check_virtual_machine`]: the hogs are meant for virtual machines; they refuse to load
//!   on bare metal unless `force=1`. The test-only `assume_bare_metal=1` makes them act as if
//!   the hypervisor flag were absent, so the refusal can be tested in a VM.
//! - [`cpu_param`]: a `cpu=`-like parameter names a CPU that exists and is online.
//! - [`secs_param`]: a hog's duration is bounded: at most [`MAX_SECS`], and "until unloaded"
//!   (0) only where something can still run `rmmod`.
//!
//! Declares the `force` and `assume_bare_metal` parameters, shared by every hog.

use crate::{
    compat::{self, nr_cpu_ids, CpuId},
    params::module_param,
};
use kernel::{bindings, ffi::c_ulong, prelude::*};

module_param!(
    force: bool = false,
    "Load even on bare metal (no sign of a hypervisor), where the lockup is real"
);
module_param!(
    assume_bare_metal: bool = false,
    "Testing only: act as if there were no sign of a hypervisor"
);

/// Refuses to hog a CPU of a physical machine unless the `force` parameter says so.
///
/// Returns `EPERM` when no hypervisor is detected (or `assume_bare_metal=1`) and `force=0`.
pub(crate) fn check_virtual_machine() -> Result {
    let (flag, asked) = compat::hypervisor_present();
    let hypervisor = if assume_bare_metal::get() {
        pr_info!(
            "assume_bare_metal=1: acting as if there were no hypervisor ({}: {})\n",
            asked,
            if flag { "yes" } else { "no" }
        );
        false
    } else {
        flag
    };

    if hypervisor {
        return Ok(());
    }
    if force::get() {
        pr_warn!(
            "no hypervisor detected ({}: no), but force=1: going ahead\n",
            asked
        );
        return Ok(());
    }
    pr_err!(
        "refusing to load: no hypervisor detected ({}: no), this looks like bare metal and \
         the hog would really lock up one of its CPUs; run it in a virtual machine, or load \
         it with force=1\n",
        asked
    );
    Err(EPERM)
}

/// The longest a hog may keep a CPU: ten minutes. Longer is the same hazard as "until unloaded"
/// on a CPU nothing else can use.
pub(crate) const MAX_SECS: u32 = 600;

/// Checks a hog's `secs` parameter and returns it.
///
/// Refuses (with `EINVAL` and a log line) more than [`MAX_SECS`], and 0 ("until unloaded")
/// when the hog does not give its CPU away (`yields` false) and only one CPU is online: then
/// nothing could ever run `rmmod` to stop it.
pub(crate) fn secs_param(value: u32, yields: bool) -> Result<u32> {
    if value > MAX_SECS {
        pr_err!(
            "secs={}: at most {} (a longer lockup is as hazardous as one until unloaded)\n",
            value,
            MAX_SECS
        );
        return Err(EINVAL);
    }
    if value == 0 && !yields && online_cpus() <= 1 {
        pr_err!(
            "secs=0 with one online CPU: the hog would keep it until unloaded, and nothing \
             could run rmmod\n"
        );
        return Err(EINVAL);
    }
    Ok(value)
}

/// Checks a CPU-number parameter: `-1` means "do not bind" and gives `None`.
///
/// Otherwise the CPU must exist (below `nr_cpu_ids`) and be online; if not, the reason is
/// logged with the parameter's `name` and `EINVAL` is returned.
pub(crate) fn cpu_param(name: &str, value: i32) -> Result<Option<CpuId>> {
    if value == -1 {
        return Ok(None);
    }
    let nr_cpu_ids = nr_cpu_ids();
    let cpu = match u32::try_from(value).ok().and_then(CpuId::from_u32) {
        Some(cpu) => cpu,
        None => {
            pr_err!(
                "{}={}: no such CPU: this machine has CPUs 0 to {} (-1 = do not bind)\n",
                name,
                value,
                nr_cpu_ids.saturating_sub(1)
            );
            return Err(EINVAL);
        }
    };
    if !cpu_online(cpu) {
        pr_err!("{}={}: CPU {} is offline\n", name, value, cpu.as_u32());
        return Err(EINVAL);
    }
    Ok(Some(cpu))
}

/// The number of online CPUs, C's `num_online_cpus()` (a snapshot: hotplug may change it).
fn online_cpus() -> u32 {
    (0..nr_cpu_ids())
        .filter_map(CpuId::from_u32)
        .filter(|&cpu| cpu_online(cpu))
        .count() as u32
}

/// Returns whether `cpu` is online, C's `cpu_online()`.
///
/// The answer can change right after (CPU hotplug); binding a kthread to a CPU that went
/// offline in between only makes the scheduler run it elsewhere, with a warning.
fn cpu_online(cpu: CpuId) -> bool {
    let cpu = cpu.as_u32();
    /// The number of words of a bitmap, from a pointer to it (no reference is made).
    fn words<const N: usize>(_bitmap: *const [c_ulong; N]) -> usize {
        N
    }

    let bits_per_word = c_ulong::BITS;
    let word = (cpu / bits_per_word) as usize;
    // SAFETY: Only the address of the exported `__cpu_online_mask` is taken here.
    let bitmap = unsafe { core::ptr::addr_of!(bindings::__cpu_online_mask.bits) };
    if word >= words(bitmap) {
        return false;
    }
    // SAFETY: `bitmap` points to the live mask and `word` is within it. The volatile read is
    // C's `READ_ONCE()` of a word that CPU hotplug may change concurrently.
    let bits = unsafe { core::ptr::read_volatile(bitmap.cast::<c_ulong>().add(word)) };
    bits & (1 << (cpu % bits_per_word)) != 0
}
