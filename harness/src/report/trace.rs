//! Reading call-trace frames and instruction-pointer lines (`RIP:`, `pc :` ...) and
//! classifying the functions they name.

/// A function as printed in a RIP line or a stack frame.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Symbol {
    /// Demangled name without offsets, e.g. `hog_busy::hog_thread`.
    pub name: String,
    /// `hog_busy` from `[hog_busy]` (or from the old `:nfs:` prefix).
    pub module: Option<String>,
}

/// One line of a call trace.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Frame {
    pub symbol: Symbol,
    /// False for `? func` frames (stale return addresses the unwinder merely found on the
    /// stack) and powerpc's `(unreliable)`.
    pub reliable: bool,
}

/// Where the CPU was when the registers were dumped.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Pc {
    /// Text for [`crate::report::Report::rip`]: the symbol as printed, or the user address.
    pub raw: String,
    pub symbol: Option<Symbol>,
    /// The CPU was in user mode (x86 code segment with RPL 3, e.g. `0033`; arm64 user pc).
    pub user: bool,
}

/// Which stack a frame was on, from the `<IRQ>`, `</IRQ>`, `<NMI>`, `<EOI>` ... markers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Context {
    Task,
    Interrupt,
}

/// Symbol characters: C identifiers, compiler suffixes (`.isra.0`) and legacy Rust `$`.
fn is_symbol_byte(b: u8) -> bool {
    b.is_ascii_alphanumeric() || matches!(b, b'_' | b'.' | b'$')
}

fn is_module_byte(b: u8) -> bool {
    b.is_ascii_alphanumeric() || matches!(b, b'_' | b'-')
}

fn hex_len(s: &[u8]) -> usize {
    s.iter().take_while(|b| b.is_ascii_hexdigit()).count()
}

/// Length of `+0x3b/0x50` (or `+0x3b`) at the start of `s`.
fn offset_len(s: &str) -> Option<usize> {
    let b = s.as_bytes();
    let n = hex_len(b.strip_prefix(b"+0x")?);
    if n == 0 {
        return None;
    }
    let len = 3 + n;
    Some(match b[len..].strip_prefix(b"/0x").map(hex_len) {
        Some(m) if m > 0 => len + 3 + m,
        _ => len,
    })
}

/// Splits `func+0x10/0x20 [mod]` (module optional, maybe followed by a build id; or the old
/// `:mod:func+0x10/0x20`) off the start of `s`. Returns the symbol, its text as printed
/// (`func+0x10/0x20`) and the rest of the line. Hand-written rather than a regex: call traces
/// are most of a report's lines.
fn split_symbol(s: &str, offset_required: bool) -> Option<(Symbol, &str, &str)> {
    let (mut module, s) = match s.strip_prefix(':') {
        Some(rest) => {
            let end = rest.find(':')?;
            let m = &rest[..end];
            if m.is_empty() || !m.bytes().all(is_module_byte) {
                return None;
            }
            (Some(m.to_owned()), &rest[end + 1..])
        }
        None => (None, s),
    };
    let name_len = s.bytes().take_while(|b| is_symbol_byte(*b)).count();
    if name_len == 0 {
        return None;
    }
    let off_len = match offset_len(&s[name_len..]) {
        Some(n) => n,
        None if offset_required => return None,
        None => 0,
    };
    let mut rest = &s[name_len + off_len..];
    if let Some(inner) = rest.trim_start().strip_prefix('[') {
        if let Some(end) = inner.find(']') {
            let mut words = inner[..end].split_whitespace();
            let name = words.next().filter(|m| m.bytes().all(is_module_byte));
            if let (Some(m), true) = (
                name,
                words.all(|w| w.bytes().all(|b| b.is_ascii_hexdigit())),
            ) {
                module = Some(m.to_owned());
                rest = &inner[end + 1..];
            }
        }
    }
    let symbol = Symbol {
        name: demangle(&s[..name_len]),
        module,
    };
    Some((symbol, &s[..name_len + off_len], rest))
}

/// Parses the function at the start of `text` as `%ps` prints it (`func` or `func [mod]`, an
/// offset tolerated): a work function in a workqueue line.
pub(crate) fn parse_symbol(text: &str) -> Option<Symbol> {
    split_symbol(text.trim_start(), false).map(|(symbol, _, _)| symbol)
}

/// Skips `[<ffffffff810a0c25>]`, `[]`, `[ ]`, powerpc's `[c0000000fe5bfd80]` address groups;
/// returns the first address and the rest. `None` if a bracket holds anything else.
fn skip_addresses(mut s: &str) -> Option<(Option<&str>, &str)> {
    let mut first = None;
    while let Some(inner) = s.strip_prefix('[') {
        let end = inner.find(']')?;
        let addr = &inner[..end];
        if !addr
            .bytes()
            .all(|b| b.is_ascii_hexdigit() || matches!(b, b'<' | b'>' | b' ' | b'x'))
        {
            return None;
        }
        first = first.or(Some(
            addr.trim_matches(|c| c == '<' || c == '>' || c == ' '),
        ));
        s = inner[end + 1..].trim_start();
    }
    Some((first, s))
}

/// Parses `func+0x10/0x20 [mod]` at the start of `text` as a kernel-mode [`Pc`].
pub(crate) fn parse_kernel_pc(text: &str) -> Option<Pc> {
    let (symbol, raw, _) = split_symbol(text.trim_start(), true)?;
    Some(Pc {
        raw: raw.to_owned(),
        symbol: Some(symbol),
        user: false,
    })
}

/// Parses one call-trace line in any of the x86 (old and new), arm64, riscv, powerpc and
/// arm32 styles.
pub(crate) fn parse_frame(text: &str) -> Option<Frame> {
    let (_, s) = skip_addresses(text.trim_start())?;
    if let Some(inner) = s.strip_prefix('(') {
        // arm32: `[<c01a2b3c>] (hog_thread [hog]) from [<c0145678>] (kthread+0x120/0x14c)`
        let (symbol, _, rest) = split_symbol(inner, false)?;
        return rest.starts_with(") from ").then_some(Frame {
            symbol,
            reliable: true,
        });
    }
    let (reliable, s) = match s.strip_prefix('?') {
        Some(rest) => (false, rest.trim_start()),
        None => (true, s),
    };
    let (symbol, _, rest) = split_symbol(s, true)?;
    Some(Frame {
        symbol,
        reliable: reliable && !rest.trim_end().ends_with("(unreliable)"),
    })
}

/// Parses a stack marker at the start of a trace line (`<IRQ>`, `</IRQ>`, `<NMI>`, `<EOI>`,
/// `<<EOE>>`, `<TASK>`, `<#DF>` ...); returns the context the following frames are in and the
/// rest of the line (old kernels print the first frame after the marker).
pub(crate) fn parse_marker(text: &str) -> Option<(Context, &str)> {
    let t = text.trim_start();
    let t = t.strip_prefix('<')?;
    let end = t.find('>')?;
    let tag = &t[..end];
    let rest = t[end + 1..].trim_start_matches('>');
    let context = match tag {
        "/IRQ" | "/NMI" | "/SOFTIRQ" | "EOI" | "<EOE" | "EOE" | "TASK" | "/TASK" => Context::Task,
        "IRQ" | "NMI" | "SOFTIRQ" => Context::Interrupt,
        _ if tag.starts_with("/#") => Context::Task,
        _ if tag.starts_with('#') || tag == "ENTRY_TRAMPOLINE" => Context::Interrupt,
        _ => return None,
    };
    Some((context, rest))
}

/// Parses the line that says where the CPU was: x86 `RIP: 0010:...`/`EIP:`, `EIP is at`,
/// arm `PC is at`, arm64 `pc : ...`, riscv `epc : ...`, powerpc `NIP [..] ...`.
/// Kernel addresses without a symbol give `None`: a later line may name the function.
pub(crate) fn parse_pc(text: &str) -> Option<Pc> {
    let t = text.trim_start();
    let (rest, user) = if let Some(r) = t.strip_prefix("RIP:").or_else(|| t.strip_prefix("EIP:")) {
        let r = r.trim_start();
        // `0010:` is the code segment; i386 since 4.x prints `EIP: func+0x10/0x20` without it.
        let seg = r.get(..4).filter(|_| r.as_bytes().get(4) == Some(&b':'));
        match seg.and_then(|seg| u16::from_str_radix(seg, 16).ok()) {
            Some(seg) => (&r[5..], seg & 3 == 3),
            None => (r, false),
        }
    } else {
        let rest = ["EIP is at ", "PC is at "]
            .iter()
            .find_map(|p| t.strip_prefix(p))
            .or_else(|| {
                let r = t.strip_prefix("pc").or_else(|| t.strip_prefix("epc"))?;
                r.trim_start().strip_prefix(':')
            })
            .or_else(|| {
                let r = t.strip_prefix("NIP")?.trim_start().strip_prefix('[')?;
                r.find(']').map(|end| &r[end + 1..])
            })?
            .trim();
        let hex = rest.split_whitespace().next().unwrap_or("");
        let hex = hex.strip_prefix("0x").unwrap_or(hex);
        // arm64 prints user pcs as bare hex; kernel addresses start with ffff.
        let user = !hex.is_empty()
            && hex.bytes().all(|b| b.is_ascii_hexdigit())
            && !hex.to_ascii_lowercase().starts_with("ffff");
        (rest, user)
    };
    let (addr, after) = skip_addresses(rest.trim())?;
    if user {
        let raw = match after.split_whitespace().next() {
            Some(tok) if tok.starts_with("0x") || tok.bytes().all(|b| b.is_ascii_hexdigit()) => tok,
            _ => addr.unwrap_or(""),
        };
        return Some(Pc {
            raw: raw.to_owned(),
            symbol: None,
            user,
        });
    }
    parse_kernel_pc(after)
}

/// Demangles Rust symbols (v0 and legacy) without their hash; other names pass unchanged.
pub(crate) fn demangle(symbol: &str) -> String {
    // Most frames are C: skip the demangler for names that cannot be Rust.
    if !(symbol.starts_with("_R") || symbol.starts_with("_ZN")) {
        return symbol.to_owned();
    }
    match rustc_demangle::try_demangle(symbol) {
        Ok(d) => format!("{d:#}"),
        Err(_) => symbol.to_owned(),
    }
}

/// The function name without compiler suffixes (`.isra.0`, `.constprop.0`, `.cold`), for
/// matching against the lists below. `.text.lock.spinlock` stays whole.
fn base_name(name: &str) -> &str {
    match name.find('.') {
        Some(dot) if dot > 0 => &name[..dot],
        _ => name,
    }
}

/// Interrupt, NMI, timer, watchdog, printing, idle and entry functions: how the report was
/// produced or how the CPU got where it is, never what kept it busy. Prefixes of names.
const PLUMBING: &[&str] = &[
    // the watchdogs and the timer interrupt that runs them
    "watchdog_",
    "softlockup_",
    "__hrtimer_",
    "hrtimer_",
    "tick_",
    "update_process_times",
    "smp_apic_timer_interrupt",
    "apic_timer_interrupt",
    "local_apic_timer_interrupt",
    "smp_local_timer_interrupt",
    "arch_timer_handler",
    // interrupt entry and exit
    "__sysvec_",
    "sysvec_",
    "asm_",
    "common_interrupt",
    "ret_from_intr",
    "retint_",
    "restore_regs_and_return_to_kernel",
    "interrupt_entry",
    "irq_enter",
    "irq_exit",
    "__irq_exit_rcu",
    "irqentry_",
    "idtentry_",
    "run_on_irqstack",
    "call_on_irq_stack",
    "do_interrupt_handler",
    "preempt_schedule_irq",
    "handle_softirqs",
    "__do_softirq",
    "do_softirq",
    "run_ksoftirqd",
    "gic_handle_irq",
    "handle_domain_irq",
    "__handle_domain_irq",
    "generic_handle_",
    "handle_percpu_devid_irq",
    "el1_",
    "el1h_",
    "__irq_svc",
    // where softirqs come back on (unlocks: see is_plumbing)
    "__local_bh_enable_ip",
    "local_bh_enable",
    // NMIs and backtraces
    "nmi_",
    "do_nmi",
    "exc_nmi",
    "default_do_nmi",
    "end_repeat_nmi",
    "repeat_nmi",
    "perf_event_nmi_handler",
    "__perf_event_overflow",
    "perf_event_overflow",
    "handle_pmi_common",
    "intel_pmu_handle_irq",
    "x86_pmu_handle_irq",
    "arch_trigger_cpumask_backtrace",
    "trigger_",
    // reading the clock: a loop that looks at the time is where the CPU spins, not the clock
    // (an NMI landed in read_tsc under ktime_get of a hog's busy loop, a real 6.12 report)
    "ktime_get",
    "read_tsc",
    "arch_counter_read",
    "arch_counter_get_cntvct",
    "__arch_counter_get_cntvct",
    "native_sched_clock",
    "sched_clock",
    "local_clock",
    "kvm_clock_",
    "pvclock_clocksource_read",
    // printing the report
    "show_",
    "__show_regs",
    "dump_stack",
    "__dump_stack",
    "dump_backtrace",
    "print_",
    "printk",
    "_printk",
    "vprintk",
    "console_",
    "sched_show_task",
    "__switch_to",
    "panic",
    "nmi_panic",
    "__warn",
    "warn_slowpath",
    "report_bug",
    "handle_bug",
    "exc_invalid_op",
    // RCU's stall check
    "rcu_sched_clock_irq",
    "rcu_pending",
    "rcu_check_callbacks",
    "rcu_dump_cpu_stacks",
    "check_cpu_stall",
    "rcu_irq_exit",
    "rcu_nmi_exit",
    // writing to the console
    "serial8250_",
    "univ8250_",
    "uart_console_write",
    "wait_for_xmitr",
    "io_serial_",
    "hvc_",
    // unwinding the stack for the report
    "unwind_",
    "__unwind_start",
    "__kernel_text_address",
    "kernel_text_address",
    "is_ftrace_trampoline",
    "stack_trace_",
    "save_stack_trace",
    "__save_stack_trace",
    "dump_trace",
    "arch_stack_walk",
    // debugging instrumentation (lockdep, KASAN, KCOV, KMSAN, KCSAN, might_sleep)
    "trace_hardirqs_",
    "lock_is_held",
    "debug_lockdep_",
    "rcu_read_lock_held",
    "rcu_read_lock_sched_held",
    "rcu_read_lock_bh_held",
    "rcu_lockdep_",
    "__might_",
    "___might_",
    "check_memory_region",
    "write_comp_data",
    "__msan_",
    "msan_",
    "kmsan_",
    "__tsan_",
    "kcsan_",
    "lockdep_",
    "lock_acquire",
    "lock_release",
    "__sanitizer_cov",
    "__asan_",
    "kasan_",
    "__pfx_",
    // idle
    "native_safe_halt",
    "pv_native_safe_halt",
    "safe_halt",
    "default_idle",
    "arch_cpu_idle",
    "cpu_idle",
    "cpuidle_",
    "do_idle",
    "acpi_idle_",
    "intel_idle",
    "mwait_idle",
    "poll_idle",
    "cpu_startup_entry",
    "start_secondary",
    "secondary_startup",
    "common_startup_64",
    "rest_init",
    "start_kernel",
    "x86_64_start",
    // thread and syscall entry
    "kthread",
    "ret_from_fork",
    "child_rip",
    "kernel_thread",
    "entry_SYSCALL",
    "do_syscall_64",
    "system_call",
    "el0_svc",
];

/// Sleeping and lock-waiting functions a hung task's stack starts with: where it waits, not
/// what it waits for. Prefixes of names.
const SLEEP: &[&str] = &[
    "__schedule",
    "schedule",
    "io_schedule",
    "context_switch",
    "__switch_to",
    "wait_for_completion",
    "__wait_for_common",
    "wait_for_common",
    "do_wait_for_common",
    "__mutex_lock",
    "mutex_lock",
    "rwsem_down_",
    "down_",
    "__down",
    "___down",
    "percpu_down_",
    "percpu_rwsem_wait",
    "rt_mutex",
    "__rt_mutex",
    "rtlock_",
    "bit_wait",
    "__wait_on_bit",
    "out_of_line_wait_on_bit",
    "wait_on_page_bit",
    "folio_wait",
    "__folio_lock",
    "__lock_page",
    "msleep",
    "ssleep",
    "do_nanosleep",
    "hrtimer_nanosleep",
    "schedule_hrtimeout",
    "futex_wait",
    "usleep_range",
    "prepare_to_wait",
    "finish_wait",
    "__wait_rcu_gp",
    "synchronize_rcu",
];

/// Never the culprit: see [`PLUMBING`]. Unlocks are plumbing too: a pending interrupt fires
/// as soon as one re-enables interrupts or preemption, so the loop is in the caller.
pub(crate) fn is_plumbing(name: &str) -> bool {
    let base = base_name(name);
    // The Rust kernel crate's thin wrappers name the C function they call last
    // (`<kernel::time::Monotonic as kernel::time::ClockSource>::ktime_get`): judged by it.
    let leaf = (name.starts_with("kernel::") || name.starts_with("<kernel::"))
        .then(|| name.rsplit("::").next())
        .flatten();
    PLUMBING
        .iter()
        .any(|p| base.starts_with(p) || leaf.is_some_and(|l| l.starts_with(p)))
        || ["spin_unlock", "read_unlock", "write_unlock"]
            .iter()
            .any(|u| base.contains(u))
}

/// arm64's exception entry for an interrupt taken in the kernel: arm64 traces have no `<IRQ>`
/// markers, so the frames above this one ran in the interrupt, the ones below were interrupted.
pub(crate) fn is_arm64_irq_entry(name: &str) -> bool {
    matches!(name, "el1h_64_irq" | "el1h_64_fiq")
}

/// A hung task's wait primitives: see [`SLEEP`].
pub(crate) fn is_sleep(name: &str) -> bool {
    let base = base_name(name);
    base == "down" || SLEEP.iter().any(|p| base.starts_with(p))
}

/// Sleeping on a lock someone else holds: the slow paths of mutexes, rw-semaphores, semaphores
/// and rt-mutexes. A hung task with one in its trace waits for the lock's owner.
pub(crate) fn is_lock_sleep(name: &str) -> bool {
    let n = base_name(name);
    n == "down"
        || [
            "__mutex_lock",
            "mutex_lock",
            "rwsem_down_",
            "down_read",
            "down_write",
            "down_interruptible",
            "down_killable",
            "down_timeout",
            "__down",
            "___down",
            "percpu_down_",
            "percpu_rwsem_wait",
            "rt_mutex_slowlock",
            "__rt_mutex_slowlock",
            "rtlock_slowlock",
        ]
        .iter()
        .any(|p| n.starts_with(p))
}

/// The scheduler's own frames at the top of a preempted or sleeping task's stack.
pub(crate) fn is_scheduler(name: &str) -> bool {
    let n = base_name(name);
    [
        "__schedule",
        "schedule",
        "preempt_schedule",
        "__cond_resched",
        "_cond_resched",
    ]
    .iter()
    .any(|p| n.starts_with(p))
}

/// Spinning on a lock someone else holds: spinlock and rwlock slow paths, optimistic mutex
/// spinning. Such a CPU is a victim; the holder runs elsewhere.
pub(crate) fn is_lock_spin(name: &str) -> bool {
    let n = base_name(name);
    (n.contains("spin_lock") && !n.contains("unlock") && !n.contains("trylock"))
        || n.contains("lock_slowpath")
        || n.starts_with(".text.lock.")
        || n.starts_with("_raw_read_lock")
        || n.starts_with("_raw_write_lock")
        || matches!(
            n,
            "__read_lock_failed"
                | "__write_lock_failed"
                | "osq_lock"
                | "mutex_spin_on_owner"
                | "rwsem_spin_on_owner"
        )
}

/// Spinning until other CPUs run a function sent by IPI (`smp_call_function*`,
/// `csd_lock_wait`): a victim of whichever CPU does not take interrupts.
pub(crate) fn is_ipi_wait(name: &str) -> bool {
    let n = base_name(name);
    n == "csd_lock_wait" || (n.starts_with("smp_call_function") && !n.ends_with("interrupt"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn frames_in_every_style() {
        let cases = [
            ("  kthread+0xcf/0x100", "kthread", None, true),
            ("  ? __pfx_kthread+0x10/0x10", "__pfx_kthread", None, false),
            (
                " _RNvCs32VmJVZqcFt_8hog_busy10hog_thread+0x3b/0x50 [hog_busy]",
                "hog_busy::hog_thread",
                Some("hog_busy"),
                true,
            ),
            (" [<ffffffff810a0c25>] kthread+0xe5/0x100", "kthread", None, true),
            ("[<ffffffff810a0b40>] ? kthread_create_on_node+0x1e0/0x1e0", "kthread_create_on_node", None, false),
            ("[] :nfs:nfs_access_cache_shrinker+0x2d/0x1da", "nfs_access_cache_shrinker", Some("nfs"), true),
            ("[ ] :ext3:htree_dirblock_to_tree+0xa8/0xc9", "htree_dirblock_to_tree", Some("ext3"), true),
            (" hog_thread+0x10/0x20 [hog 0123456789abcdef]", "hog_thread", Some("hog"), true),
            ("[c0000000fe5bfd80] [c000000000123456] hog+0x10/0x20 [hog] (unreliable)", "hog", Some("hog"), false),
            ("[<c01a2b3c>] (hog_thread [hog]) from [<c0145678>] (kthread+0x120/0x14c)", "hog_thread", Some("hog"), true),
            (
                " _ZN8hog_busy10hog_thread28_$u7b$$u7b$closure$u7d$$u7d$17h1736b61e8b23c2b0E+0x5/0x10 [hog_busy]",
                "hog_busy::hog_thread::{{closure}}",
                Some("hog_busy"),
                true,
            ),
        ];
        for (line, name, module, reliable) in cases {
            let f = parse_frame(line).unwrap_or_else(|| panic!("no frame in {line:?}"));
            assert_eq!(f.symbol.name, name, "{line}");
            assert_eq!(f.symbol.module.as_deref(), module, "{line}");
            assert_eq!(f.reliable, reliable, "{line}");
        }
        for not_frame in [
            "RIP: 0010:hog_thread+0x15/0x1000 [hog]",
            "hardirqs last  enabled at (76609499): [<ffffffff81c66ccf>] d_walk+0x80f/0xc80",
            "DWARF2 unwinder stuck at apic_timer_interrupt+0x66/0x6c",
            "lr : _raw_spin_unlock_irqrestore+0xd8/0x110",
            "Code: <eb> fe 00 00",
        ] {
            assert_eq!(parse_frame(not_frame), None, "{not_frame}");
        }
    }

    #[test]
    fn pc_lines() {
        let pc = parse_pc(
            "RIP: 0010:[<ffffffffc0351015>]  [<ffffffffc0351015>] hog_thread+0x15/0x1000 [hog]",
        )
        .unwrap();
        assert_eq!(
            (pc.raw.as_str(), pc.user),
            ("hog_thread+0x15/0x1000", false)
        );
        assert_eq!(pc.symbol.unwrap().module.as_deref(), Some("hog"));
        let pc = parse_pc("EIP: queued_spin_lock_slowpath+0x40/0x1d0").unwrap();
        assert_eq!(pc.symbol.unwrap().name, "queued_spin_lock_slowpath");
        let pc = parse_pc("RIP: 0010:[] [] .text.lock.spinlock+0x2/0x30").unwrap();
        assert_eq!(pc.symbol.unwrap().name, ".text.lock.spinlock");
        let pc = parse_pc("RIP: 0033:0x4005c2").unwrap();
        assert_eq!(
            (pc.raw.as_str(), pc.user, pc.symbol),
            ("0x4005c2", true, None)
        );
        let pc = parse_pc("RIP: 0033:[<00000000004005c2>] [<00000000004005c2>]").unwrap();
        assert_eq!((pc.raw.as_str(), pc.user), ("00000000004005c2", true));
        let pc = parse_pc("pc : hog_thread+0x10/0x20 [hog]").unwrap();
        assert_eq!(pc.symbol.unwrap().name, "hog_thread");
        let pc = parse_pc("pc : 0000ffff8a1b2c3c").unwrap();
        assert!(pc.user);
        assert_eq!(parse_pc("lr : hog_thread+0x10/0x20 [hog]"), None);
        assert_eq!(
            parse_pc("epc : ffffffff80014264 ra : ffffffff80014264 sp : ffff8f8000fd7860"),
            None
        );
        let pc = parse_pc("NIP [c000000000123456] hog_thread+0x10/0x20 [hog]").unwrap();
        assert_eq!(pc.symbol.unwrap().module.as_deref(), Some("hog"));
    }

    #[test]
    fn markers() {
        assert_eq!(parse_marker(" <IRQ>"), Some((Context::Interrupt, "")));
        assert_eq!(parse_marker("</IRQ>"), Some((Context::Task, "")));
        assert_eq!(
            parse_marker(" <EOI>  [<ffffffff8100>] hog+0x1/0x2"),
            Some((Context::Task, "  [<ffffffff8100>] hog+0x1/0x2"))
        );
        assert_eq!(parse_marker("<<EOE>>  x"), Some((Context::Task, "  x")));
        assert_eq!(parse_marker("<NMI>"), Some((Context::Interrupt, "")));
        assert_eq!(parse_marker("<#DF>"), Some((Context::Interrupt, "")));
        assert_eq!(parse_marker("<4>foo"), None);
    }

    #[test]
    fn classification() {
        assert!(is_plumbing("asm_sysvec_apic_timer_interrupt"));
        assert!(is_plumbing("check_cpu_stall.isra.61"));
        assert!(!is_plumbing("hog_busy::hog_thread"));
        assert!(is_lock_spin("native_queued_spin_lock_slowpath"));
        assert!(is_lock_spin(".text.lock.spinlock"));
        assert!(is_lock_spin("_raw_spin_lock_irqsave"));
        assert!(!is_lock_spin("_raw_spin_unlock_irqrestore"));
        assert!(!is_lock_spin("rcu_read_lock"));
        assert!(is_ipi_wait("smp_call_function_many_cond"));
        assert!(!is_ipi_wait("generic_smp_call_function_single_interrupt"));
        assert!(is_sleep("schedule_timeout"));
        assert!(is_sleep("down"));
        assert!(!is_sleep("hog_wait::hog_thread"));
        assert!(is_lock_sleep("__mutex_lock.constprop.0"));
        assert!(is_lock_sleep("rwsem_down_write_slowpath"));
        assert!(is_lock_sleep("down"));
        assert!(!is_lock_sleep("wait_for_completion"));
        assert!(!is_lock_sleep("download_firmware"));
        assert!(is_scheduler("preempt_schedule_irq"));
        assert!(!is_scheduler("hog_rcu::hog_thread"));
        let s = parse_symbol("_RNvCs1234_6hog_wq9busy_work [hog_wq] for 31s").unwrap();
        assert_eq!(
            (s.name.as_str(), s.module.as_deref()),
            ("hog_wq::busy_work", Some("hog_wq"))
        );
    }
}
