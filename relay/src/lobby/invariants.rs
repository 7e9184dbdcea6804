//! The lobby's books, checked by the property tests after every event: who waits, who probes
//! and who plays must agree wherever the lobby records it.

use std::collections::HashSet;

use super::{GameState, Lobby, Phase, Timer};

impl Lobby {
    /// Panics with a description of the first inconsistency found.
    pub(crate) fn check_invariants(&self) {
        self.check_waiting_line();
        self.check_probes();
        self.check_games();
        self.check_owners();
        self.check_deadlines();
        self.check_watched();
    }

    /// Only running games are watched, each by at least one console, fed by one of its
    /// players (a watch of a game that ended was ended with it).
    fn check_watched(&self) {
        for (id, watched) in &self.watched {
            let game = self.games.get(id).unwrap_or_else(|| panic!("{id} watched but over"));
            assert!(watched.watchers > 0, "{id}: watched by nobody");
            assert!(game.members.contains(&watched.feeder), "{id}: fed by a stranger");
        }
    }

    /// Every deadline still to come has its timer armed (the driver sleeps until the next
    /// one, so a missing entry is a game that never starts or a wait that never ends).
    fn check_deadlines(&self) {
        for (id, game) in &self.games {
            if game.state != GameState::Validating {
                continue;
            }
            let validation = Timer::Validation(id.clone());
            assert!(
                self.timers.armed_by(&validation, game.validate_by),
                "{id}: no validation timer"
            );
            if game.members.iter().all(|m| game.validated.contains_key(m)) {
                let countdown = Timer::Countdown(id.clone());
                assert!(
                    self.timers.armed_by(&countdown, game.countdown_ends_at),
                    "{id} never starts"
                );
            }
        }
        for (id, probe) in &self.probes {
            assert!(
                self.timers.armed_by(&Timer::Probe(id.clone()), probe.deadline()),
                "{id}: no timer"
            );
        }
        for (conn, state) in &self.conns {
            let (Some(since), None) = (state.waiting_since, &state.probe) else { continue };
            let Some(gym) = self.gym_of(*conn) else { continue };
            if matches!(state.phase, Phase::Waiting) {
                let by = since.saturating_add(u64::from(gym.waiting_room.timeout_ms));
                assert!(self.timers.armed_by(&Timer::Waiting(*conn), by), "{conn:?} waits forever");
            }
        }
    }

    /// The waiting lines hold every waiting connection exactly once, in its scene's line,
    /// and nobody else.
    fn check_waiting_line(&self) {
        let mut line = HashSet::new();
        for (scene, room) in self.rooms.iter().enumerate() {
            for conn in room {
                assert!(line.insert(*conn), "{conn:?} is in a line twice");
                let here = self.conns.get(conn).map(|s| s.scene);
                assert_eq!(here, Some(scene), "{conn:?} in the line of scene {scene}");
            }
        }
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
