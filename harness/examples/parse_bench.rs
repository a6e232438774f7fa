//! Throughput of `report::parse` and `report::lines` on a large synthetic console: mostly
//! ordinary boot and runtime noise, with a real watchdog report every 4 MB.
//!
//! `cargo run --release -p hogs-harness --example parse_bench [MEGABYTES]` (default 200).

use std::fmt::Write;
use std::time::Instant;

use hogs::report;

/// Lines a long-running VM prints between lockups.
const NOISE: &[&str] = &[
    "systemd[1]: Started session-4.scope - Session 4 of User root.",
    "audit: type=1400 audit(1730268083.512:131): apparmor=\"STATUS\" operation=\"profile_load\" profile=\"unconfined\" name=\"nvidia_modprobe\" pid=612 comm=\"apparmor_parser\"",
    "EXT4-fs (vda1): mounted filesystem 3b4f1b9e-6a1c-4d2b-9f62-1b7d2d1e5c11 r/w with ordered data mode. Quota mode: none.",
    "virtio_net virtio0 enp0s2: renamed from eth0",
    "IPv6: ADDRCONF(NETDEV_CHANGE): enp0s2: link becomes ready",
    "usb 1-1: new high-speed USB device number 2 using xhci_hcd",
    "smpboot: CPU 1 is now offline",
    "x86: Booting SMP configuration:",
    "hog_busy: loading out-of-tree module taints kernel.",
    "random: crng init done",
    "9pnet: Installing 9P2000 support",
    "overlayfs: \"xino\" feature enabled using 32 upper inode bits.",
    "clocksource: tsc: mask: 0xffffffffffffffff max_cycles: 0x2b3e459bf4c, max_idle_ns: 440795289890 ns",
    "sched_clock: Marking stable (1523440113, 12345678)->(1540000000, -4211209)",
    "hogs-mark: begin busy-loop",
    "hogs-mark: end busy-loop ok",
    "nvme nvme0: 2/0/0 default/read/poll queues",
    "e1000e 0000:00:19.0 eth0: NIC Link is Up 1000 Mbps Full Duplex, Flow Control: Rx/Tx",
    "kauditd_printk_skb: 14 callbacks suppressed",
    "perf: interrupt took too long (2503 > 2500), lowering kernel.perf_event_max_sample_rate to 79800",
];

/// Reports from the test fixtures, dropped into the noise.
const REPORTS: &[&str] = &[
    include_str!("../src/report/fixtures/design_6.12_rust_busy_loop.log"),
    include_str!("../src/report/fixtures/design_6.12_irqsave_insmod_victim.log"),
    include_str!("../src/report/fixtures/rcu_detected_stalls_nmi.log"),
    include_str!("../src/report/fixtures/hung_task.log"),
];

fn synthetic_console(size: usize) -> String {
    let mut out = String::with_capacity(size + (1 << 20));
    let mut next_report = 4 << 20;
    let (mut i, mut reports) = (0usize, 0usize);
    while out.len() < size {
        let t = i as f64 * 0.000_731;
        let _ = writeln!(out, "[{t:12.6}] {}", NOISE[i % NOISE.len()]);
        if out.len() >= next_report {
            out.push_str(REPORTS[reports % REPORTS.len()]);
            reports += 1;
            next_report += 4 << 20;
        }
        i += 1;
    }
    out
}

fn main() {
    let megabytes: usize = std::env::args()
        .nth(1)
        .map_or(200, |a| a.parse().expect("size in MB"));
    let console = synthetic_console(megabytes << 20);
    let mb = console.len() as f64 / (1 << 20) as f64;

    let start = Instant::now();
    let reports = report::parse(console.as_bytes());
    let secs = start.elapsed().as_secs_f64();
    println!(
        "parse: {mb:.0} MB in {secs:.3} s = {:.0} MB/s, {} reports",
        mb / secs,
        reports.len()
    );

    // The worst case: nothing but reports, so every line goes through the state machine.
    let dense = REPORTS
        .concat()
        .repeat((megabytes << 20) / 4 / REPORTS.concat().len() + 1);
    let dense_mb = dense.len() as f64 / (1 << 20) as f64;
    let start = Instant::now();
    let reports = report::parse(dense.as_bytes());
    let secs = start.elapsed().as_secs_f64();
    println!(
        "parse, reports only: {dense_mb:.0} MB in {secs:.3} s = {:.0} MB/s, {} reports",
        dense_mb / secs,
        reports.len()
    );

    let start = Instant::now();
    let count = report::lines(console.as_bytes())
        .filter(|l| l.text.starts_with("hogs-mark:"))
        .count();
    let secs = start.elapsed().as_secs_f64();
    println!(
        "lines: {mb:.0} MB in {secs:.3} s = {:.0} MB/s, {count} marker lines",
        mb / secs
    );
}
