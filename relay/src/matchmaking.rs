//! Matchmakers: who is paired with whom in the waiting room.
//!
//! Pure functions of the arriving participant and the waiting list (arrival order), so every
//! rule is unit-tested directly. The lobby calls [`Matchmaker::find_match`] when someone arrives,
//! after removing pairs that must not be matched again (failed connections).

use std::fmt;

use rollgym_protocol::{MatchmakerKind, MatchmakingConfig, ParticipantId};

/// A participant as a matchmaker sees it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Candidate {
    pub participant: ParticipantId,
    /// Median server round trip in ms; `None` until measured.
    pub rtt_ms: Option<u32>,
    /// Partners from earlier games, most recent first.
    pub previous_partners: Vec<ParticipantId>,
}

/// A rule for forming groups.
pub trait Matchmaker: fmt::Debug + Send + Sync {
    /// Names the matchmaker in the match log.
    fn name(&self) -> &'static str;

    /// A group of exactly `group_size` that includes `arriving`, or `None` to keep waiting.
    /// `waiting` is in arrival order and does not contain `arriving`.
    fn find_match(
        &self,
        arriving: &Candidate,
        waiting: &[Candidate],
        group_size: usize,
    ) -> Option<Vec<Candidate>>;

    /// The candidates worth trying for `arriving`, best first (the order peer-to-peer probes
    /// would be tried in). Default: everyone waiting, in arrival order.
    fn rank_candidates(
        &self,
        _arriving: &Candidate,
        waiting: &[Candidate],
        group_size: usize,
    ) -> Vec<Candidate> {
        if waiting.len() + 1 < group_size { Vec::new() } else { waiting.to_vec() }
    }
}

/// The matchmaker an experiment configured.
pub fn from_config(config: &MatchmakingConfig) -> Box<dyn Matchmaker> {
    match config.kind {
        MatchmakerKind::Fifo => Box::new(Fifo),
        MatchmakerKind::LatencyFifo => {
            Box::new(LatencyFifo { max_server_rtt_ms: config.max_server_rtt_ms })
        }
        MatchmakerKind::GroupReunion => {
            Box::new(GroupReunion { fallback_to_fifo: config.fallback_to_fifo })
        }
    }
}

/// The longest-waiting participants, in arrival order.
#[derive(Debug, Clone, Copy)]
pub struct Fifo;

impl Matchmaker for Fifo {
    fn name(&self) -> &'static str {
        "fifo"
    }

    fn find_match(
        &self,
        arriving: &Candidate,
        waiting: &[Candidate],
        group_size: usize,
    ) -> Option<Vec<Candidate>> {
        fifo(arriving, waiting, group_size)
    }
}

fn fifo(arriving: &Candidate, waiting: &[Candidate], group_size: usize) -> Option<Vec<Candidate>> {
    let others = group_size.checked_sub(1)?;
    if waiting.len() < others {
        return None;
    }
    let mut group: Vec<Candidate> = waiting[..others].to_vec();
    group.push(arriving.clone());
    Some(group)
}

/// FIFO among the waiting participants whose estimated peer-to-peer round trip (the sum of both
/// server round trips) is within `max_server_rtt_ms`, boundary included. An unknown round trip
/// on either side does not exclude anyone. In a group every pair is within it (each pair has
/// its own connection).
#[derive(Debug, Clone, Copy)]
pub struct LatencyFifo {
    pub max_server_rtt_ms: u32,
}

impl LatencyFifo {
    fn compatible(&self, a: &Candidate, b: &Candidate) -> bool {
        match (a.rtt_ms, b.rtt_ms) {
            (Some(x), Some(y)) => x.saturating_add(y) <= self.max_server_rtt_ms,
            _ => true,
        }
    }
}

impl Matchmaker for LatencyFifo {
    fn name(&self) -> &'static str {
        "latency_fifo"
    }

    fn find_match(
        &self,
        arriving: &Candidate,
        waiting: &[Candidate],
        group_size: usize,
    ) -> Option<Vec<Candidate>> {
        let others = group_size.checked_sub(1)?;
        let mut group: Vec<Candidate> = Vec::with_capacity(group_size);
        for candidate in self.rank_candidates(arriving, waiting, group_size) {
            if group.len() == others {
                break;
            }
            if group.iter().all(|member| self.compatible(member, &candidate)) {
                group.push(candidate);
            }
        }
        (group.len() == others).then(|| {
            group.push(arriving.clone());
            group
        })
    }

    fn rank_candidates(
        &self,
        arriving: &Candidate,
        waiting: &[Candidate],
        _group_size: usize,
    ) -> Vec<Candidate> {
        waiting.iter().filter(|c| self.compatible(arriving, c)).cloned().collect()
    }
}

/// Previous partners first (someone the arriving participant played with, then someone who
/// played with the arriving participant), then FIFO if `fallback_to_fifo`.
#[derive(Debug, Clone, Copy)]
pub struct GroupReunion {
    pub fallback_to_fifo: bool,
}

impl GroupReunion {
    /// Waiting previous partners: the arriving participant's own, most recent first, then
    /// those who remember the arriving one, in arrival order.
    fn reunions(arriving: &Candidate, waiting: &[Candidate]) -> Vec<Candidate> {
        let own = arriving
            .previous_partners
            .iter()
            .filter_map(|p| waiting.iter().find(|c| &c.participant == p));
        let reverse =
            waiting.iter().filter(|c| c.previous_partners.contains(&arriving.participant));
        let mut found: Vec<Candidate> = Vec::new();
        for c in own.chain(reverse) {
            if !found.contains(c) {
                found.push(c.clone());
            }
        }
        found
    }
}

impl Matchmaker for GroupReunion {
    fn name(&self) -> &'static str {
        "group_reunion"
    }

    /// A group of previous partners when enough wait; else, if allowed, the previous
    /// partners waiting filled up in arrival order.
    fn find_match(
        &self,
        arriving: &Candidate,
        waiting: &[Candidate],
        group_size: usize,
    ) -> Option<Vec<Candidate>> {
        let others = group_size.checked_sub(1)?;
        let ranked = self.rank_candidates(arriving, waiting, group_size);
        let reunited = Self::reunions(arriving, waiting).len() >= others;
        if ranked.len() < others || !(reunited || self.fallback_to_fifo) {
            return None;
        }
        let mut group: Vec<Candidate> = ranked[..others].to_vec();
        group.push(arriving.clone());
        Some(group)
    }

    fn rank_candidates(
        &self,
        arriving: &Candidate,
        waiting: &[Candidate],
        group_size: usize,
    ) -> Vec<Candidate> {
        let mut ranked = Self::reunions(arriving, waiting);
        if self.fallback_to_fifo && waiting.len() + 1 >= group_size {
            let rest: Vec<Candidate> =
                waiting.iter().filter(|c| !ranked.contains(c)).cloned().collect();
            ranked.extend(rest);
        }
        ranked
    }
}

#[cfg(test)]
mod tests;
