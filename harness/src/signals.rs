//! SIGINT and SIGTERM while a run goes on: remembered, so the boot in progress is killed with
//! its whole process tree, the results so far are written, and `hogs` exits 128 + signal.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, OnceLock};

use anyhow::{Context, Result};
use signal_hook::consts::{SIGINT, SIGTERM};

static CAUGHT: OnceLock<Arc<AtomicUsize>> = OnceLock::new();

/// From now on SIGINT and SIGTERM no longer end the process: [`caught`] tells the run.
pub fn install() -> Result<()> {
    let flag = CAUGHT.get_or_init(|| Arc::new(AtomicUsize::new(0)));
    for signal in [SIGINT, SIGTERM] {
        signal_hook::flag::register_usize(signal, Arc::clone(flag), signal as usize)
            .with_context(|| format!("cannot handle signal {signal}"))?;
    }
    Ok(())
}

/// The signal received since [`install`], if any.
pub fn caught() -> Option<i32> {
    let signal = CAUGHT.get()?.load(Ordering::SeqCst);
    (signal != 0).then_some(signal as i32)
}

/// `SIGKILL` for 9, as people read signals.
pub fn signal_name(signal: i32) -> String {
    nix::sys::signal::Signal::try_from(signal)
        .map_or_else(|_| format!("signal {signal}"), |s| s.as_str().to_owned())
}
