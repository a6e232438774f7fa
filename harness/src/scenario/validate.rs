//! What a scenario file must get right beyond its syntax, each a one-line error naming the file
//! and the field.

use anyhow::{bail, Result};

use super::{KindPattern, Scenario, Set};
use crate::detectors::{self, DETECTORS};

impl Scenario {
    /// Everything a scenario file must get right beyond its syntax, each a one-line error
    /// naming the file and the field.
    pub(super) fn validate(&self) -> Result<()> {
        let at = self.path.display();
        if !self.module.starts_with("hog_")
            || !self
                .module
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '_')
        {
            bail!(
                "{at}: module `{}` is not a hog module name (hog_*)",
                self.module
            );
        }
        if self.cpus == 0 || self.cpus > 8 {
            bail!("{at}: cpus = {} is out of range (1..=8)", self.cpus);
        }
        for (param, value) in &self.params {
            let is_cpu = param == "cpu" || param.ends_with("_cpu");
            if is_cpu && (*value < -1 || *value >= i64::from(self.cpus)) {
                bail!(
                    "{at}: params.{param} = {value} is not a CPU of the guest (0..{}, or -1 for any)",
                    self.cpus
                );
            }
        }
        if self.panics && !self.expect.iter().any(|r| r.panic == Some(true)) {
            bail!("{at}: panics = true but no expect rule has panic = true");
        }
        self.validate_rules()?;
        self.validate_kernel_needs()?;
        self.validate_timing()?;
        self.validate_order()
    }

    /// Rules (the scenario's and its variants'): CPUs the guest has, `max` above `min`, models named.
    fn validate_rules(&self) -> Result<()> {
        let at = self.path.display();
        let mut rules = vec![
            ("expect".to_owned(), &self.expect),
            ("allow".to_owned(), &self.allow),
            ("forbid".to_owned(), &self.forbid),
        ];
        for (i, v) in self.variants.iter().enumerate() {
            let tables = [
                ("expect", &v.expect),
                ("allow", &v.allow),
                ("forbid", &v.forbid),
            ];
            for (table, r) in tables {
                if let Some(r) = r {
                    rules.push((format!("variant[{i}].{table}"), r));
                }
            }
        }
        for (table, rules) in rules {
            for (i, rule) in rules.iter().enumerate() {
                let field = format!("{table}[{i}]");
                if let Some(cpu) = [rule.cpu, rule.reported_by]
                    .into_iter()
                    .flatten()
                    .find(|&cpu| cpu >= self.cpus)
                {
                    bail!(
                        "{at}: {field}.cpu names CPU {cpu} but the guest has {} CPUs",
                        self.cpus
                    );
                }
                if rule.max.is_some_and(|max| max < rule.min) {
                    bail!("{at}: {field} has max < min");
                }
                if rule.preempt.as_ref().is_some_and(|p| p.is_empty()) {
                    bail!("{at}: {field}.preempt is empty, so the rule would never apply: name the models or leave it out");
                }
            }
        }
        Ok(())
    }

    /// What it needs of a kernel, its console lines, and its variants for other kernels.
    fn validate_kernel_needs(&self) -> Result<()> {
        let at = self.path.display();
        for (option, why) in &self.needs {
            let name_ok = option.strip_prefix("CONFIG_").is_some_and(|rest| {
                !rest.is_empty()
                    && rest
                        .chars()
                        .all(|c| c.is_ascii_uppercase() || c.is_ascii_digit() || c == '_')
            });
            if !name_ok {
                bail!("{at}: needs.{option} is not a kernel option name (CONFIG_...)");
            }
            if why.trim().is_empty() {
                bail!("{at}: needs.{option} must say why the scenario needs it");
            }
        }
        for (i, c) in self.console.iter().enumerate() {
            if c.line.is_none() || c.why.trim().is_empty() {
                bail!("{at}: console[{i}] needs a line (regex) and why");
            }
        }
        for (i, v) in self.variants.iter().enumerate() {
            if v.when.is_empty() || v.why.trim().is_empty() {
                bail!(
                    "{at}: variant[{i}] must name the kernel options it is for (when) and say why"
                );
            }
            if let Some(option) = v.when.keys().find(|o| !o.starts_with("CONFIG_")) {
                bail!("{at}: variant[{i}].when.{option} is not a kernel option name (CONFIG_...)");
            }
            if let Some(param) = v.params.keys().find(|p| !self.params.contains_key(*p)) {
                bail!("{at}: variant[{i}].params.{param} is not a parameter of the scenario");
            }
        }
        Ok(())
    }

    /// The settings its verdicts depend on: `watchdog_thresh`, each expected detector's, writes, repeats.
    fn validate_timing(&self) -> Result<()> {
        let at = self.path.display();
        if self.thresh().is_none() {
            bail!("{at}: set kernel.watchdog_thresh before the hog ([[set]]) or watchdog_thresh=N in cmdline: the verdicts depend on it");
        }
        for (i, set) in self.set.iter().enumerate() {
            set.validate(&at.to_string(), &format!("set[{i}]"), self.wait_secs())?;
        }
        for (i, rule) in self.expect.iter().enumerate() {
            let repeats = match rule.kind {
                KindPattern::Kind(kind) => detectors::of(kind).is_some_and(|d| d.repeat.is_some()),
                KindPattern::Any => false,
            };
            if rule.repeating == Some(true) && !repeats {
                bail!("{at}: expect[{i}] is repeating, but the suite knows no repeat cadence for {}: name a kind whose detector repeats (soft_lockup)", rule.kind);
            }
        }
        for d in DETECTORS {
            let expected = self
                .expect
                .iter()
                .any(|r| r.kind == KindPattern::Kind(d.kind));
            let value = self.setting(d.setting);
            if expected && value.is_none() {
                bail!(
                    "{at}: expects {}, so it must set {} (boot argument {}N, or set {}): the verdicts depend on it",
                    d.kind,
                    d.setting.name,
                    d.setting.arg,
                    d.setting.path
                );
            }
            if let Some(t) = value.filter(|t| t.fract() != 0.0) {
                bail!(
                    "{at}: {} = {t}: the kernel takes whole seconds",
                    d.setting.name
                );
            }
            if let (Some(t), Some((range, why))) = (value, &d.setting.accepts) {
                if !range.contains(&t) {
                    bail!("{at}: {} = {t}: {why}", d.setting.name);
                }
            }
        }
        Ok(())
    }

    /// `order` and `detect_from` name what the scenario has.
    fn validate_order(&self) -> Result<()> {
        let at = self.path.display();
        if self.order.len() == 1 {
            bail!("{at}: order names one kind: name two or more, or leave it out");
        }
        for kind in &self.order {
            if !self
                .expect
                .iter()
                .any(|r| r.kind == KindPattern::Kind(*kind))
            {
                bail!("{at}: order names {kind}, which no expect rule expects");
            }
        }
        if let Some(from) = &self.detect_from {
            if !self.set.iter().any(|s| &s.label() == from) {
                bail!("{at}: detect_from `{from}` names no set of this scenario (name=value)");
            }
        }
        Ok(())
    }
}

impl Set {
    pub(super) fn validate(&self, at: &str, field: &str, wait: u64) -> Result<()> {
        match (&self.sysctl, &self.path) {
            (Some(name), None) => {
                let ok = name.split('.').count() >= 2
                    && name.split('.').all(|p| {
                        !p.is_empty() && p.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_')
                    });
                if !ok {
                    bail!(
                        "{at}: {field}.sysctl `{name}` is not a sysctl name (like kernel.watchdog)"
                    );
                }
            }
            (None, Some(path)) => {
                if !(path.starts_with("/sys/") || path.starts_with("/proc/sys/"))
                    || path.contains("..")
                {
                    bail!("{at}: {field}.path `{path}` must be a file under /sys or /proc/sys");
                }
            }
            _ => bail!("{at}: {field} needs exactly one of sysctl or path"),
        }
        if self.at.is_some_and(|t| !(0.0..wait as f64).contains(&t)) {
            bail!("{at}: {field}.at must be between 0 and the scenario's wait ({wait} s)");
        }
        Ok(())
    }
}
