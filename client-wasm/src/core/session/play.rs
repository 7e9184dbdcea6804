//! The game: the countdown, the channel to the partner, frames of the netcode, the end.

use super::*;

impl Session {
    /// Seconds left in the countdown, for the page; the phase follows.
    pub(super) fn update_countdown(&mut self, now_ms: f64) {
        let left = self.countdown_ends_at.map(|end| ((end - now_ms) / 1000.0).ceil());
        self.status.countdown = left.filter(|s| *s > 0.0).map(|s| s as u32);
        if !self.started && matches!(self.status.phase, Phase::Matched | Phase::Countdown) {
            self.status.phase =
                if self.status.countdown.is_some() { Phase::Countdown } else { Phase::Matched };
        }
    }

    /// Once every episode is over and confirmed here, tell the partner (so it may close the
    /// connection) and, when the partner is finished too or has had time to be, move on to the
    /// next scene.
    pub(super) fn finish_game(&mut self, now_ms: f64) -> Vec<Command> {
        /// How long to keep the connection for a partner that has not confirmed the end yet.
        const GRACE_MS: f64 = 5_000.0;
        if self.status.phase != Phase::Done {
            return Vec::new();
        }
        let finished_at = *self.finished_at.get_or_insert(now_ms);
        let mut commands = Vec::new();
        if self.channel_open {
            commands.push(Command::SendPeer(finished_packet()));
        }
        let scene = self.status.scene.as_ref().filter(|s| !s.last).map(|s| s.index);
        let partner_done = self.partner_finished || now_ms - finished_at >= GRACE_MS;
        if let (Some(from), true, false) = (scene, partner_done, self.advanced) {
            self.advanced = true;
            commands.push(Command::SendRelay(ClientMsg::Advance { from }));
        }
        commands
    }

    /// Forgets the game (if any) and shows `phase`.
    pub(super) fn reset_game(&mut self, phase: Phase, notice: Option<String>) -> Vec<Command> {
        let had_peer = self.partner.is_some();
        self.play = None;
        self.announced = None;
        self.partner = None;
        self.players.clear();
        self.channel_open = false;
        self.countdown_ends_at = None;
        self.started = false;
        self.validated_sent = false;
        self.partner_left_relay = false;
        self.partner_silent = false;
        self.last_frame_at = None;
        self.finished_at = None;
        self.partner_finished = false;
        self.was_frozen = false;
        self.probe = None;
        self.rtt = RttTracker::default();
        let keep = Status {
            phase,
            participant_id: self.status.participant_id.take(),
            exports: std::mem::take(&mut self.status.exports),
            scene: self.status.scene.take(),
            probes: self.status.probes,
            probe_rtt_ms: self.status.probe_rtt_ms,
            notice,
            ..Status::default()
        };
        self.status = keep;
        if had_peer { vec![Command::ClosePeer] } else { Vec::new() }
    }

    pub(super) fn channel_opened(&mut self, now_ms: f64) -> Vec<Command> {
        if self.status.phase.is_terminal() {
            return Vec::new();
        }
        self.channel_open = true;
        if let Err(message) = self.start_game() {
            self.fail(message);
            return vec![Command::ClosePeer];
        }
        vec![Command::SendPeer(self.rtt.ping(now_ms).encode())]
    }

    pub(super) fn start_game(&mut self) -> Result<(), String> {
        let (Some((config, seed)), Some(player)) =
            (self.announced.take(), self.status.player_index)
        else {
            return Err("The game settings are missing.".into());
        };
        let layout = Layout::classic(&config.layout).map_err(|e| e.to_string())?;
        let env = Overcooked::new(layout, Rules { cook_time: config.cook_time });
        let plan = EpisodePlan {
            num_episodes: config.num_episodes,
            max_steps: config.max_steps,
            pause_frames: config.frames(config.between_episodes_ms),
            seed,
            seed_per_episode: config.seed_per_episode,
        };
        let settings = NetSettings {
            fps: config.fps,
            input_delay: config.input_delay,
            max_prediction: config.max_prediction,
            desync_interval: config.desync_interval,
            disconnect_timeout_ms: config.focus_loss_timeout_ms,
        };
        let netcode = Netcode::new(env, plan, settings, usize::from(player))
            .map_err(|e| format!("The game could not start: {e}"))?;
        self.play = Some(Play { netcode, config });
        Ok(())
    }

    pub(super) fn frame(&mut self, input: NetInput, now_ms: f64, epoch_ms: f64) -> Vec<Command> {
        let phase = self.status.phase;
        let Some(play) = &mut self.play else { return Vec::new() };
        if matches!(phase, Phase::PartnerDisconnected | Phase::Error) {
            return Vec::new();
        }
        if let Some(last) = self.last_frame_at.replace(now_ms) {
            self.was_frozen |= now_ms - last > f64::from(play.config.focus_loss_timeout_ms);
        }
        self.status.focused = input.focused;
        if input.action != NO_ACTION {
            self.status.local_actions += 1;
        }
        if !self.started {
            // Before the start: only the handshake, which validates the connection.
            let events = play.netcode.poll();
            let mut commands = outgoing(&mut play.netcode);
            if play.netcode.is_running() && !self.validated_sent {
                self.validated_sent = true;
                if let Some(game_id) = self.current_game_id() {
                    commands.push(Command::SendRelay(ClientMsg::Validated { game_id }));
                }
            }
            self.update_countdown(now_ms);
            if events.contains(&PeerEvent::Disconnected) {
                commands.extend(self.partner_gone(Outcome::PartnerDisconnected));
            }
            return commands;
        }
        let events = play.netcode.tick(input, epoch_ms);
        let mut commands = outgoing(&mut play.netcode);
        for (end, rows) in play.netcode.take_finished_episodes() {
            commands.extend(self.export(end.episode, rows, Outcome::Complete, false));
        }
        self.refresh_game_status();
        for event in &events {
            match event {
                PeerEvent::Interrupted => self.partner_silent = true,
                PeerEvent::Resumed => self.partner_silent = false,
                PeerEvent::Synchronized | PeerEvent::Disconnected => {}
            }
        }
        if events.contains(&PeerEvent::Disconnected) {
            commands.extend(self.partner_gone(Outcome::PartnerAway));
        } else if self.partner_left_relay && self.partner_silent {
            commands.extend(self.partner_gone(Outcome::PartnerDisconnected));
        }
        commands
    }

    pub(super) fn refresh_game_status(&mut self) {
        let Some(play) = &self.play else { return };
        let netcode = &play.netcode;
        let game = netcode.game();
        let status = &mut self.status;
        status.frame = game.frame;
        status.confirmed_frame = netcode.confirmed_frame();
        status.episode = game.episode;
        status.rollbacks = netcode.stats().rollbacks;
        status.desyncs = netcode.desyncs().len() as u32;
        // A third of a second without progress is visible to a person.
        status.waiting_for_partner =
            netcode.is_running() && netcode.stats().stall_streak >= (play.config.fps / 3).max(1);
        let confirmed = netcode.confirmed_episodes();
        if status.episodes.len() != confirmed.len() {
            status.episodes = confirmed
                .iter()
                .map(|end| EpisodeSummary {
                    episode: end.episode,
                    last_frame: end.frame,
                    steps: end.steps,
                    state_hash: format!("{:016x}", end.state_hash),
                })
                .collect();
        }
        if status.phase.is_terminal() {
            return;
        }
        status.phase = if !self.started {
            if status.countdown.is_some() { Phase::Countdown } else { Phase::Matched }
        } else if netcode.is_finished() {
            status.outcome = Some(Outcome::Complete);
            Phase::Done
        } else {
            match game.stage {
                Stage::Between { .. } => Phase::BetweenEpisodes,
                // Stage::Done until the last frame is confirmed: still the game's last moments.
                Stage::Playing | Stage::Done => Phase::Playing,
            }
        };
    }

    pub(super) fn peer_packet(&mut self, bytes: &[u8], now_ms: f64) -> Vec<Command> {
        match Packet::decode(bytes) {
            Ok(Packet::Finished) => {
                self.partner_finished = true;
                Vec::new()
            }
            Ok(Packet::Netcode(payload)) => {
                if let Some(play) = &mut self.play {
                    play.netcode.receive(payload.to_vec());
                }
                Vec::new()
            }
            Ok(Packet::Control(PeerMsg::Ping { seq, sent_at_ms })) => {
                vec![Command::SendPeer(PeerMsg::Pong { seq, sent_at_ms }.encode())]
            }
            Ok(Packet::Control(PeerMsg::Pong { seq, sent_at_ms })) => {
                if self.rtt.pong(seq, sent_at_ms, now_ms).is_some() {
                    self.status.p2p_rtt_ms = self.rtt.median_ms();
                }
                Vec::new()
            }
            Err(_) => {
                self.dropped_packets += 1;
                Vec::new()
            }
        }
    }

    pub(super) fn partner_gone(&mut self, outcome: Outcome) -> Vec<Command> {
        if !(self.status.phase == Phase::Matched || self.status.phase.in_game()) {
            return Vec::new();
        }
        if !self.started {
            // Before the start nothing is lost: the relay sends us back to the waiting room
            // (the partner left, or the connection was never validated) or places us anew (it
            // restarted). Until then the game is gone but the match stands.
            self.status.notice = Some("The connection to your partner was lost.".into());
            self.play = None;
            self.announced = None;
            self.channel_open = false;
            return vec![Command::ClosePeer];
        }
        let outcome = if self.was_frozen { Outcome::PartnerAway } else { outcome };
        self.status.phase = Phase::PartnerDisconnected;
        self.status.outcome = Some(outcome);
        self.status.waiting_for_partner = false;
        self.channel_open = false;
        let mut commands = vec![Command::ClosePeer];
        let partial = self.play.as_mut().and_then(|p| p.netcode.take_partial_episode());
        if let Some((episode, rows)) = partial {
            commands.extend(self.export(episode, rows, outcome, true));
        }
        commands
    }
}
