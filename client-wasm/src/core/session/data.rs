//! Research data: each finished episode becomes an upload (CSV and sidecar) kept until the
//! relay acknowledges it.

use rollgym_protocol::episode::{
    Desync, Packets, RollbackEvent, Rollbacks, SIDECAR_FORMAT, Settings, Sidecar, Traffic,
};

use super::*;

impl Session {
    /// Turns an episode's rows into an upload: kept until acknowledged, sent now.
    pub(super) fn export(
        &mut self,
        episode: u32,
        rows: Vec<FrameRow>,
        outcome: Outcome,
        partial: bool,
    ) -> Vec<Command> {
        // This episode's key presses; the next episode's start from none.
        let input_latency = self
            .matched_mut()
            .and_then(|m| m.play.as_mut())
            .map(|play| play.netcode.latency_mut().take_episode());
        let interruptions = self.take_interruptions();
        let (Some(m), Some(me)) = (self.matched(), self.my_id()) else {
            self.status.last_error = Some(format!(
                "episode {episode}: no game or participant id to store its data under"
            ));
            return Vec::new();
        };
        let (Some(play), game_id) = (&m.play, m.game_id.clone()) else {
            self.status.last_error = Some(format!("episode {episode}: the game is gone"));
            return Vec::new();
        };
        let Ok(upload_id) = UploadId::parse(&format!("{game_id}-ep{episode}")) else {
            self.status.last_error =
                Some(format!("episode {episode}: game id {game_id} is too long"));
            return Vec::new();
        };
        let sidecar = Sidecar {
            input_latency,
            interruptions,
            ..self.sidecar(m, play, episode, &rows, outcome, partial)
        };
        let upload = Upload {
            upload_id: upload_id.clone(),
            participant_id: me,
            game_id,
            scene_id: play.config.scene_id.clone(),
            episode,
            csv: export::csv(&rows),
            sidecar,
        };
        self.status.exports.push(ExportStatus {
            episode,
            upload_id: upload_id.to_string(),
            rows: rows.len(),
            partial,
            acked: false,
        });
        let pending = PendingUpload::new(upload);
        let message = pending.message.clone();
        self.unacked.insert((pending.participant_id.clone(), upload_id), pending.clone());
        vec![Command::Persist(Box::new(pending)), Command::SendRelayText(message)]
    }

    /// The episode's JSON sidecar (documented in docs/DATA.md).
    pub(super) fn sidecar(
        &self,
        m: &Match,
        play: &Play,
        episode: u32,
        rows: &[FrameRow],
        outcome: Outcome,
        partial: bool,
    ) -> Sidecar {
        let netcode = &play.netcode;
        let stats = netcode.stats();
        let wire = netcode.wire();
        let (first, last) =
            (rows.first().map_or(0, |r| r.frame), rows.last().map_or(0, |r| r.frame));
        let events: Vec<RollbackEvent> = stats
            .rollback_events
            .iter()
            .filter(|e| (first..=last).contains(&e.frame))
            .map(|e| RollbackEvent { frame: e.frame, depth: e.depth })
            .collect();
        Sidecar {
            format: SIDECAR_FORMAT.into(),
            seed: netcode.game().plan().episode_seed(episode),
            game_seed: netcode.game().plan().seed,
            player_index: Some(m.player_index),
            participants: m.players.clone(),
            outcome,
            partial,
            rows: rows.len(),
            unconfirmed_rows: rows.iter().filter(|r| !r.confirmed).count(),
            first_frame: first,
            last_frame: last,
            connection_type: self.status.connection_type.clone(),
            p2p_rtt_ms: m.rtt_summary(),
            netcode_bytes: Traffic { sent: wire.bytes_sent, received: wire.bytes_received },
            netcode_packets: Packets {
                sent: wire.packets_sent,
                received: wire.packets_received,
                dropped_undecodable: wire.dropped,
            },
            rollbacks: Rollbacks {
                in_episode: events.len(),
                events,
                session_total: stats.rollbacks,
                session_resimulated_frames: stats.resimulated_frames,
                session_max_depth: stats.max_rollback_depth,
            },
            desyncs: desyncs(netcode, first..=last),
            settings: settings(play),
            exclusion: netcode.exclusion().cloned(),
            input_latency: None,
            interruptions: Vec::new(),
            departure: m.departure.as_ref().and_then(|d| d.settled.clone()),
        }
    }
}

/// The settings the game was played with, the environment's own facts and the relay's choice
/// of input delay included.
fn settings(play: &Play) -> Settings {
    let env = &play.netcode.game().env;
    Settings {
        env_version: env.identity().version,
        action_names: env.action_names(),
        input_delay: play.agreed_delay.map_or(play.config.first_input_delay(), |d| d.frames),
        input_delay_auto: play.agreed_delay,
        ..Settings::from(&play.config)
    }
}

/// The desyncs ggrs detected in these frames, with this side's state for diagnosis.
fn desyncs(netcode: &Netcode<DynEnv>, frames: std::ops::RangeInclusive<i32>) -> Vec<Desync> {
    netcode
        .desyncs()
        .iter()
        .filter(|d| frames.contains(&d.frame))
        .map(|d| {
            let state: String = d.local_state.iter().map(|b| format!("{b:02x}")).collect();
            Desync {
                frame: d.frame,
                local_checksum: format!("{:016x}", d.local_checksum),
                remote_checksum: format!("{:016x}", d.remote_checksum),
                local_state_hex: state,
            }
        })
        .collect()
}
