//! Scenarios in words: `hogs explain NAME` and the reference, docs/scenarios.md.

use super::Scenario;
use crate::detectors;

impl Scenario {
    /// What the scenario does and proves, for `hogs explain SCENARIO`.
    pub fn explain(&self) -> String {
        format!(
            "{}: {}\n\n{}\n\n{}",
            self.name,
            self.summary,
            self.description.trim(),
            self.facts()
        )
    }

    /// The scenario's rules and the windows of its expected reports, one sentence a line.
    fn rule_facts(&self) -> String {
        let mut out = String::new();
        let rules = [
            ("Must see", &self.expect),
            ("May see", &self.allow),
            ("Must not see", &self.forbid),
        ];
        for (what, rules) in rules {
            for r in rules {
                let why = r.why.as_deref().map_or(String::new(), |w| format!(": {w}"));
                out += &format!("{what}: {r}{why}\n");
            }
        }
        if self.expect.is_empty() {
            out += "Must see: nothing; any report in the scenario fails it.\n";
        }
        for w in self.windows() {
            out += &format!(
                "The first {} must come {:.1}-{:.1} s after the hog starts ({}).\n",
                w.kind, w.window.earliest, w.window.latest, w.setting
            );
            let delay = detectors::of(w.kind).map_or(0.0, |d| d.prove_rcu_delay);
            if delay > 0.0 {
                out += &format!(
                    "On a kernel with CONFIG_PROVE_RCU (lockdep) it comes {delay} s later.\n"
                );
            }
        }
        out
    }

    /// The scenario's boot, hog, settings, rules and windows, one sentence a line.
    fn facts(&self) -> String {
        let mut out = format!(
            "Boot: {} vCPUs, kernel arguments {}. Hog: insmod {}.ko {}\n",
            self.cpus,
            self.kernel_args().join(" "),
            self.module,
            self.param_string()
        );
        for (option, why) in &self.needs {
            out += &format!("Needs {option}: {why}. Without it the scenario is skipped.\n");
        }
        for s in &self.set {
            let when = s.at.map_or("before the hog".to_owned(), |t| {
                format!("{t} s after the hog is loaded")
            });
            out += &format!("Sets {} {when}, and back afterwards.\n", s.label());
        }
        if self.whole_time {
            out += "Keeps the hog its whole time, even once every expected report came.\n";
        }
        out += &self.rule_facts();
        for c in &self.console {
            if let Some(re) = &c.line {
                let must = if c.absent {
                    "must not show"
                } else {
                    "must show"
                };
                out += &format!("The console {must} /{re}/: {}.\n", c.why);
            }
        }
        for v in &self.variants {
            let when: Vec<String> = v.when.iter().map(|(k, x)| format!("{k}={x}")).collect();
            let params: Vec<String> = v.params.iter().map(|(k, x)| format!("{k}={x}")).collect();
            out += &format!(
                "On kernels with {}: {} ({}).\n",
                when.join(" "),
                params.join(" "),
                v.why
            );
        }
        if !self.order.is_empty() {
            let names: Vec<&str> = self.order.iter().map(|k| k.as_str()).collect();
            out += &format!("First reports in this order: {}.\n", names.join(", then "));
        }
        out
    }
}

/// The scenario reference, `docs/scenarios.md`: every scenario's summary, description and facts
/// as `hogs explain` prints them, generated so that it cannot drift from `expected/`.
pub fn reference(scenarios: &[Scenario]) -> String {
    let mut out = String::from(
        "# Scenarios\n\nGenerated from `expected/*.toml` by `hogs list --markdown > docs/scenarios.md`; \
         a test fails when this file is not what that prints. `hogs explain NAME` prints one.\n\n\
         | scenario | what it shows |\n|---|---|\n",
    );
    for s in scenarios {
        out += &format!(
            "| [{}](#{}) | {} |\n",
            s.name,
            s.name,
            s.summary.replace('|', "\\|")
        );
    }
    for s in scenarios {
        out += &format!(
            "\n## {}\n\n{}\n\n{}\n\n",
            s.name,
            s.summary,
            s.description.trim()
        );
        for fact in s.facts().lines() {
            out += &format!("- {fact}\n");
        }
    }
    out
}
