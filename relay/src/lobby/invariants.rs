//! The lobby's books, checked by the property tests after every event: who waits, who probes
//! and who plays must agree wherever the lobby records it.

use std::collections::HashSet;

use super::{ConnId, Lobby, Phase};

impl Lobby {
    /// Panics with a description of the first inconsistency found.
    pub(crate) fn check_invariants(&self) {
        self.check_waiting_line();
        self.check_probes();
        self.check_games();
        self.check_owners();
    }

    /// The waiting line holds every waiting connection exactly once, and nobody else.
    fn check_waiting_line(&self) {
        let line: HashSet<ConnId> = self.waiting.iter().copied().collect();
        assert_eq!(line.len(), self.waiting.len(), "someone is in the line twice");
        for (conn, state) in &self.conns {
            let waits = matches!(state.phase, Phase::Waiting);
            assert_eq!(waits, line.contains(conn), "{conn:?} in {:?} and line", state.phase);
            if waits {
                assert!(self.gym_of(*conn).is_some(), "{conn:?} waits outside a gym scene");
            }
        }
    }

    /// A connection is in at most one probe, and a probe's members say they are in it.
    fn check_probes(&self) {
        for (id, probe) in &self.probes {
            for member in probe.members() {
                let state = self.conns.get(member).unwrap_or_else(|| panic!("{id}: gone member"));
                assert_eq!(state.probe.as_ref(), Some(id), "{member:?} not in its probe {id}");
                assert!(matches!(state.phase, Phase::Waiting), "{member:?} probes, not waiting");
            }
        }
        for (conn, state) in &self.conns {
            if let Some(id) = &state.probe {
                let probe = self.probes.get(id).unwrap_or_else(|| panic!("{conn:?}: no {id}"));
                assert!(probe.members().contains(conn), "{conn:?} not a member of {id}");
            }
            assert!(state.ended_probes.len() <= super::ENDED_PROBES_REMEMBERED);
        }
    }

    /// Every game's members are paired into it, and every paired connection is in its game.
    fn check_games(&self) {
        let mut seen = HashSet::new();
        for (id, game) in &self.games {
            assert!(!game.members.is_empty(), "game {id} has no members");
            for member in &game.members {
                assert!(seen.insert(*member), "{member:?} is in two games");
                let state = self.conns.get(member).unwrap_or_else(|| panic!("{id}: gone member"));
                assert!(
                    matches!(&state.phase, Phase::Paired { game_id, .. } if game_id == id),
                    "{member:?} of {id} is {:?}",
                    state.phase
                );
            }
        }
        for (conn, state) in &self.conns {
            if let Phase::Paired { game_id, .. } = &state.phase {
                let game = self.games.get(game_id);
                assert!(game.is_some_and(|g| g.members.contains(conn)), "{conn:?}: no {game_id}");
            }
        }
    }

    /// A participant id is owned by the one live connection that said hello with it.
    fn check_owners(&self) {
        for (participant, conn) in &self.owners {
            let state = self.conns.get(conn).unwrap_or_else(|| panic!("{participant}: gone"));
            assert_eq!(state.participant.as_ref(), Some(participant), "owner of {participant}");
        }
        for (conn, state) in &self.conns {
            if let Some(participant) = &state.participant {
                assert_eq!(self.owners.get(participant), Some(conn), "{participant} unowned");
            }
        }
    }
}
