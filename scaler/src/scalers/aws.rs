//! `aws`: CPU target tracking as AWS Application Auto Scaling does it (the "AWS" baseline of
//! DeepScaler Table II, which says only that it emulates Amazon's CPU-based auto scaling).
//!
//! What AWS documents: target tracking adds capacity in proportion to the metric as fast as
//! it can, removes it only once the metric is well below the target ("typically more than
//! 10%") and never where removing capacity would push the metric above the target; a
//! scale-out cooldown (default 300 s on ECS services) lets a further scale-out go only
//! beyond the capacity the initiating one set; a scale-in cooldown (default 300 s) blocks
//! scale-in, and a scale-out ends it. The alarm shapes are not documented; holoscale uses
//! the ones target tracking creates on ECS: scale out when the one-minute average is above
//! the target for 3 consecutive minutes, scale in when it is below 90% of the target for 15.
//! The new capacity is `⌈n · U / T⌉` both ways (AWS publishes no formula).

use std::collections::VecDeque;

use holoscale_sim::engine::col;

use super::{Scaler, change};
use crate::{Action, Observation};

/// Settings of [`TargetTracking`]; every default is named in the module docs.
#[derive(Debug, Clone, PartialEq)]
pub struct TargetTrackingConfig {
    /// Target CPU utilisation (of the limit).
    pub target: f64,
    /// Datapoint period (and decision period), ms.
    pub period_ms: i64,
    /// Consecutive datapoints above the target that trigger a scale-out.
    pub out_datapoints: usize,
    /// Consecutive datapoints below `in_threshold · target` that trigger a scale-in.
    pub in_datapoints: usize,
    /// The scale-in alarm's threshold as a share of the target.
    pub in_threshold: f64,
    /// Scale-out cooldown, ms.
    pub out_cooldown_ms: i64,
    /// Scale-in cooldown, ms.
    pub in_cooldown_ms: i64,
}

impl Default for TargetTrackingConfig {
    fn default() -> Self {
        TargetTrackingConfig {
            target: 0.6,
            period_ms: 60_000,
            out_datapoints: 3,
            in_datapoints: 15,
            in_threshold: 0.9,
            out_cooldown_ms: 300_000,
            in_cooldown_ms: 300_000,
        }
    }
}

#[derive(Debug, Clone, Default)]
struct State {
    datapoints: VecDeque<f64>,
    /// Time and capacity of the last scale-out.
    last_out: Option<(i64, u32)>,
    /// Time of the last scale-in.
    last_in: Option<i64>,
}

/// AWS-style target tracking on CPU, per service.
#[derive(Debug, Clone)]
pub struct TargetTracking {
    cfg: TargetTrackingConfig,
    state: Vec<State>,
}

impl TargetTracking {
    /// Target tracking for `services` services.
    pub fn new(cfg: TargetTrackingConfig, services: usize) -> TargetTracking {
        TargetTracking {
            cfg,
            state: vec![State::default(); services],
        }
    }

    /// The capacity of one service at `now_ms` with `current` replicas after the datapoint
    /// `util` (NaN: a missing datapoint, which breaks a run of alarm datapoints).
    pub fn step(&mut self, s: usize, now_ms: i64, current: u32, util: f64) -> u32 {
        let c = &self.cfg;
        let st = &mut self.state[s];
        st.datapoints.push_back(util);
        while st.datapoints.len() > c.out_datapoints.max(c.in_datapoints) {
            st.datapoints.pop_front();
        }
        let last = |k: usize| st.datapoints.iter().rev().take(k);
        let high = st.datapoints.len() >= c.out_datapoints
            && last(c.out_datapoints).all(|&u| u.is_finite() && u > c.target);
        let low = st.datapoints.len() >= c.in_datapoints
            && last(c.in_datapoints).all(|&u| u.is_finite() && u < c.in_threshold * c.target);
        if !util.is_finite() || current == 0 {
            return current;
        }
        let proportional = (current as f64 * util / c.target).ceil().max(1.0) as u32;
        if high && proportional > current {
            let in_cooldown = st
                .last_out
                .is_some_and(|(t, _)| now_ms - t < c.out_cooldown_ms);
            let floor = match st.last_out {
                Some((_, cap)) if in_cooldown => cap,
                _ => current,
            };
            if proportional > floor {
                st.last_out = Some((now_ms, proportional));
                // A scale-out ends the scale-in cooldown.
                st.last_in = None;
                return proportional;
            }
            return current;
        }
        if low && proportional < current {
            if st.last_in.is_some_and(|t| now_ms - t < c.in_cooldown_ms) {
                return current;
            }
            // Never remove capacity that would push the metric above the target.
            if util * current as f64 / proportional as f64 > c.target {
                return current;
            }
            st.last_in = Some(now_ms);
            return proportional;
        }
        current
    }
}

impl Scaler for TargetTracking {
    fn name(&self) -> String {
        "aws".into()
    }

    fn decide(&mut self, obs: &Observation) -> Vec<Action> {
        if obs.rows.is_empty() {
            return Vec::new();
        }
        (0..obs.len())
            .filter_map(|s| {
                let want = self.step(s, obs.time_ms, obs.replicas(s), obs.value(s, col::CPU_UTIL));
                change(obs, s, want)
            })
            .collect()
    }

    fn period_ms(&self) -> Option<i64> {
        Some(self.cfg.period_ms)
    }

    fn stabilises_itself(&self) -> bool {
        true
    }
}
