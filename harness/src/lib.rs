//! hogs: provoke Linux soft and hard lockups in virtme-ng guests and judge the watchdog reports.
//!
//! One data type carries the story: a console log becomes a list of [`report::Report`]s, a
//! [`scenario::Scenario`] says what to load and which reports must (and must not) appear, and a
//! verdict ([`judge`]) compares the two. The parser knows nothing of scenarios; the runner knows
//! nothing of regexes.

pub mod compare;
pub mod guest;
pub mod judge;
pub mod kernel;
pub mod modules;
pub mod output;
pub mod report;
pub mod runner;
pub mod scenario;
pub mod vm;
