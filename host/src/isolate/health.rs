//! Health of a plugin's workers and components: the restart back-off, the refusal of a plugin
//! whose workers cannot start, and the quarantine of a component that keeps crashing.
//!
//! Invariants: the back-off doubles with each worker death in a row, from
//! `backoff_initial` up to `backoff_max`, and resets on the first answered call; a quarantine or
//! a refusal, once set, is never lifted for the life of the supervisor; only `crash` and
//! `timeout` count towards a component's quarantine (a plugin's typed error, a panic caught in
//! the worker, or `out_of_memory` do not).

use std::collections::HashMap;
use std::time::Instant;

use super::IsolationConfig;
use crate::call_error::{CallError, CallErrorKind};

/// The health of one plugin library.
#[derive(Debug, Default)]
pub(super) struct Health {
    /// Worker deaths in a row across the plugin, for the restart back-off.
    pub(super) deaths_in_a_row: u32,
    /// No worker of the plugin starts before this (the back-off).
    pub(super) restart_not_before: Option<Instant>,
    /// Set when workers of this plugin cannot even start.
    pub(super) broken: Option<String>,
    /// Per component (by index in the plugin).
    components: HashMap<u32, ComponentHealth>,
}

impl Health {
    /// The error a call of `component` must fail with at once, if it or the plugin is out of
    /// service.
    pub(super) fn refusal(&self, component: u32) -> Option<CallError> {
        if let Some(message) = &self.broken {
            return Some(CallError {
                kind: CallErrorKind::Load,
                message: message.clone(),
            });
        }
        self.components
            .get(&component)
            .and_then(|c| c.quarantined.clone())
            .map(|message| CallError {
                kind: CallErrorKind::Crash,
                message,
            })
    }

    /// A call was answered: the worker is sound, and so is the component.
    pub(super) fn answered(&mut self, component: u32) {
        self.deaths_in_a_row = 0;
        self.restart_not_before = None;
        if let Some(c) = self.components.get_mut(&component) {
            c.crashes_in_a_row = 0;
        }
    }

    /// Counts a crash or timeout of `component`; when it makes `limit` in a row (and `limit`
    /// is not 0), quarantines the component with the message `message(count)` and returns that
    /// message.
    pub(super) fn component_failed(
        &mut self,
        component: u32,
        limit: u32,
        message: impl FnOnce(u32) -> String,
    ) -> Option<String> {
        let comp = self.components.entry(component).or_default();
        comp.crashes_in_a_row += 1;
        if limit > 0 && comp.crashes_in_a_row >= limit && comp.quarantined.is_none() {
            let m = message(comp.crashes_in_a_row);
            comp.quarantined = Some(m.clone());
            return Some(m);
        }
        None
    }

    /// A worker died: the next start waits for the back-off.
    pub(super) fn note_death(&mut self, config: &IsolationConfig) {
        self.deaths_in_a_row = self.deaths_in_a_row.saturating_add(1);
        let doublings = self.deaths_in_a_row.saturating_sub(1).min(30);
        let wait = config
            .backoff_initial
            .saturating_mul(1u32 << doublings)
            .min(config.backoff_max);
        self.restart_not_before = Some(Instant::now() + wait);
    }
}

/// The health of one component.
#[derive(Debug, Default)]
struct ComponentHealth {
    crashes_in_a_row: u32,
    quarantined: Option<String>,
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use std::path::PathBuf;
    use std::time::Duration;

    #[test]
    fn backoff_doubles_up_to_the_cap() {
        let mut config = IsolationConfig::new(PathBuf::from("x"));
        config.backoff_initial = Duration::from_secs(1);
        config.backoff_max = Duration::from_secs(5);
        let mut h = Health::default();
        let mut waits = Vec::new();
        for _ in 0..5 {
            let before = Instant::now();
            h.note_death(&config);
            let wait = h.restart_not_before.unwrap() - before;
            waits.push(wait.as_secs_f64().round() as u64);
        }
        assert_eq!(waits, vec![1, 2, 4, 5, 5]);
    }
}
