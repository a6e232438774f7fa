//! hogs: provoke Linux soft and hard lockups in virtme-ng guests and judge the watchdog reports.
//!
//! One data type carries the story: a console log becomes a list of [`report::Report`]s, a
//! [`scenario::Scenario`] says what to load and which reports must (and must not) appear, and a
//! verdict ([`judge`]) compares the two over the [`record`] of a boot. The parser knows nothing
//! of scenarios; the runner knows nothing of regexes and decides no verdict.

pub mod compare;
pub mod detectors;
pub mod guest;
pub mod guest_root;
pub mod html;
pub mod judge;
pub mod kernel;
pub mod live;
pub mod modules;
pub mod output;
pub mod protocol;
pub mod record;
pub mod report;
pub mod results;
pub mod runner;
pub mod scenario;
pub mod signals;
pub mod vm;
