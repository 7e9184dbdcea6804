//! The game: the countdown, the channels to the partners, frames of the netcode, the end.

use super::*;
use crate::{
    core::{
        link_watch::LinkWatch,
        monitor::{Monitor, MonitorPlan},
        status::Warning,
    },
    env::catalog,
};
use rollgym_protocol::{ExclusionReason, InputDelay, OnPlayerLeave};

/// Round trips a page measures before it validates a game with `input_delay = "auto"`, and
/// how often it pings for them.
const AUTO_DELAY_SAMPLES: usize = 5;
const HANDSHAKE_PING_MS: f64 = 100.0;

/// Shown to the partner of an excluded participant unless `[outcomes.partner_excluded]` says
/// otherwise.
const PARTNER_EXCLUDED: &str =
    "Your partner had a technical problem, so the game has ended. Thank you for taking part.";

impl Session {
    /// Seconds left in the countdown, for the page; the phase follows.
    pub(super) fn update_countdown(&mut self, now_ms: f64) {
        let Some(m) = self.matched().filter(|m| !m.started()) else {
            self.status.countdown = None;
            return;
        };
        let left = ((m.countdown_ends_at - now_ms) / 1000.0).ceil();
        self.status.countdown = (left > 0.0).then_some(left as u32);
        if matches!(self.status.phase, Phase::Matched | Phase::Countdown) {
            self.status.phase =
                if self.status.countdown.is_some() { Phase::Countdown } else { Phase::Matched };
        }
    }

    /// Once the game is over here (every episode confirmed, or monitoring ended it), tell the
    /// partner (so it may close the connection) and, after a completed game, once the partner
    /// is finished too or has had time to be, move on to the next scene.
    pub(super) fn finish_game(&mut self, now_ms: f64) -> Vec<Command> {
        if !self.game_over_here() {
            return Vec::new();
        }
        let completed = self.status.phase == Phase::Done;
        let Some(m) = self.matched_mut() else { return Vec::new() };
        m.finished_at.get_or_insert(now_ms);
        let mut commands: Vec<Command> = m
            .links
            .iter()
            .filter(|l| l.open)
            .map(|l| Command::SendPeer(l.index, finished_packet()))
            .collect();
        let partner_done = m.partner_released(now_ms);
        let scene = self.status.scene.as_ref().filter(|s| !s.last).map(|s| s.index);
        if let (Some(from), true, true, false) = (scene, completed, partner_done, self.advanced) {
            self.advanced = true;
            commands.push(Command::SendRelay(ClientMsg::Advance { from }));
        }
        commands
    }

    /// The game ended here and its connection stays for the partner's sake: it completed, or
    /// monitoring ended it (the partner may still need our inputs up to that frame).
    pub(super) fn game_over_here(&self) -> bool {
        self.status.phase == Phase::Done
            || self.play().is_some_and(|p| p.netcode.exclusion().is_some())
    }

    /// Forgets the game (if any) and shows `phase`.
    pub(super) fn reset_game(&mut self, phase: Phase, notice: Option<String>) -> Vec<Command> {
        let had_peer = self.matched().is_some();
        self.place = Place::default();
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

    /// The channel to one partner opened; the game is made once every partner's is.
    pub(super) fn channel_opened(&mut self, partner: u8, now_ms: f64) -> Vec<Command> {
        if self.status.phase.is_terminal() {
            return Vec::new();
        }
        let Place::Game(m) = &mut self.place else { return Vec::new() };
        let given_up = m.play.is_none() && m.announced.is_none();
        let Some(link) = m.link_mut(partner).filter(|l| !l.open && !given_up) else {
            // A repeated open event (seen once under packet loss), or the open of a channel
            // given up before the start: the game that runs (or its loss) stands.
            return Vec::new();
        };
        link.open = true;
        let ping = Command::SendPeer(partner, link.rtt.ping(now_ms).encode());
        if m.play.is_some() || !m.links.iter().all(|l| l.open) {
            return vec![ping];
        }
        if let Err(message) = m.start_game(self.supplied.as_ref()) {
            self.fail(message);
            return vec![Command::ClosePeer];
        }
        vec![ping]
    }
}

/// The environment `config` names: a built-in one, or the page's own.
fn make_env(config: &GameConfig, supplied: Option<&SuppliedEnv>) -> Result<DynEnv, String> {
    if let Some(built_in) = catalog::built_in(config) {
        return built_in;
    }
    let Some(supplied) = supplied else {
        return Err(format!(
            "This experiment plays the environment \"{}\", which this page does not provide.",
            config.env
        ));
    };
    let env = supplied()?;
    let name = env.identity().name;
    if name != config.env {
        return Err(format!(
            "This experiment plays the environment \"{}\", but this page provides \"{name}\".",
            config.env
        ));
    }
    Ok(env)
}

impl Match {
    fn start_game(&mut self, supplied: Option<&SuppliedEnv>) -> Result<(), String> {
        let Some((mut config, seed)) = self.announced.take() else {
            return Err("The game settings are missing.".into());
        };
        let player = self.player_index;
        let env = make_env(&config, supplied)?;
        let me = self.player_index;
        let players = self.players.iter().filter(|p| p.player_index != me).count() + 1;
        if env.num_players() != players {
            return Err(format!(
                "The environment \"{}\" is for {} players, but this game has {}.",
                config.env,
                env.num_players(),
                players
            ));
        }
        // Resolved here, so the page and the data show what was played.
        config.input_mode.get_or_insert(env.default_input_mode());
        let plan = EpisodePlan {
            num_episodes: config.num_episodes,
            max_steps: config.max_steps,
            pause_frames: config.frames(config.between_episodes_ms),
            seed,
            seed_per_episode: config.seed_per_episode,
        };
        let settings = NetSettings {
            fps: config.fps,
            input_delay: config.first_input_delay(),
            max_prediction: config.max_prediction,
            desync_interval: config.desync_interval,
            disconnect_timeout_ms: config.focus_loss_timeout_ms,
            monitor: MonitorPlan::new(&self.monitoring, &config),
            keep_states: kept_for_departure(&config, players),
        };
        let netcode = Netcode::new(env, plan, settings, usize::from(player))
            .map_err(|e| format!("The game could not start: {e}"))?;
        self.play = Some(Play { netcode, config, agreed_delay: None });
        Ok(())
    }
}

/// How many recent states a game keeps to go back to a group's agreed frame when a member
/// leaves and the others play on: the agreed frame trails this page's frame by at most two
/// prediction windows and the input delay (see `netcode/departure.rs`).
fn kept_for_departure(config: &GameConfig, players: usize) -> usize {
    if players < 3 || config.on_player_leave != OnPlayerLeave::Continue {
        return 0;
    }
    (2 * config.max_prediction + rollgym_protocol::MAX_INPUT_DELAY + 4) as usize
}

impl Session {
    pub(super) fn frame(&mut self, input: NetInput, now_ms: f64, epoch_ms: f64) -> Vec<Command> {
        if self.departing().is_some_and(|d| d.settled.is_none()) {
            // Stopped while the group agrees where the game ends: no frame moves.
            return self.settle_departure(now_ms);
        }
        if let Some(ended) = self.resync_overdue(now_ms) {
            return ended;
        }
        let phase = self.status.phase;
        let Place::Game(m) = &mut self.place else { return Vec::new() };
        let Some(play) = &mut m.play else { return Vec::new() };
        // After an exclusion the netcode still runs: the partner may need our inputs up to it.
        let excluded = play.netcode.exclusion().is_some();
        if matches!(phase, Phase::PartnerDisconnected | Phase::Error) && !excluded {
            return Vec::new();
        }
        let input =
            NetInput { slow: m.link_watch.as_ref().is_some_and(LinkWatch::tripped), ..input };
        if let Some(last) = m.last_frame_at.replace(now_ms) {
            m.was_frozen |= now_ms - last > f64::from(play.config.focus_loss_timeout_ms);
        }
        self.status.focused = input.focused;
        if input.action != NO_ACTION {
            self.status.local_actions += 1;
        }
        if m.kickoff != Kickoff::Started {
            return self.handshake_frame(now_ms);
        }
        let events = play.netcode.tick(input, epoch_ms);
        if let Some(failure) = play.netcode.game().env.failure() {
            return self.env_failed(failure);
        }
        let mut commands = outgoing(&mut play.netcode);
        let finished = play.netcode.take_finished_episodes();
        let was_done = phase == Phase::Done;
        m.note_silence(&events);
        let lost = m.lost_partner(&events);
        commands.extend(self.feed_finished(&finished));
        for (end, rows) in finished {
            commands.extend(self.export(end.episode, rows, Outcome::Complete, false));
        }
        self.refresh_game_status();
        if let (Some(exclusion), false) = (self.exclusion(), excluded) {
            commands.extend(self.excluded(&exclusion, now_ms));
        } else if let Some((partner, outcome)) = lost {
            commands.extend(self.lost_member(partner, outcome, now_ms));
        }
        if !was_done && self.status.phase == Phase::Done {
            // Tell the partner now, not at the next tick: its page may be waiting to close.
            commands.extend(self.finish_game(now_ms));
        }
        commands.extend(self.health_report(now_ms));
        commands.extend(self.feed(now_ms));
        commands
    }

    /// A frame before the start: only the handshake, which validates the connection.
    fn handshake_frame(&mut self, now_ms: f64) -> Vec<Command> {
        let Place::Game(m) = &mut self.place else { return Vec::new() };
        let Some(play) = &mut m.play else { return Vec::new() };
        let events = play.netcode.poll();
        let mut commands = outgoing(&mut play.netcode);
        // An automatic input delay is chosen from the round trip: validate with the shortest
        // of several (pings answered while the partner's page is still starting run long),
        // sent faster than during play so the start does not wait for them.
        let auto = play.config.input_delay == InputDelay::Auto;
        let measured =
            !auto || m.links.iter().all(|l| l.rtt.recent_samples() >= AUTO_DELAY_SAMPLES);
        if !measured && m.kickoff == Kickoff::Connecting && now_ms >= m.next_handshake_ping {
            m.next_handshake_ping = now_ms + HANDSHAKE_PING_MS;
            for link in &mut m.links {
                commands.push(Command::SendPeer(link.index, link.rtt.ping(now_ms).encode()));
            }
        }
        if play.netcode.is_running() && m.kickoff == Kickoff::Connecting && measured {
            m.kickoff = Kickoff::Validated;
            // The slowest link's shortest round trip: the delay must cover every partner.
            let shortest = m.links.iter().map(|l| l.rtt.min_recent_ms());
            let rtt_ms = shortest.reduce(|a, b| a.zip(b).map(|(a, b)| a.max(b)));
            let rtt_ms = rtt_ms.flatten().map(|rtt| rtt.round() as u32);
            let game_id = m.game_id.clone();
            let identity = play.netcode.game().env.identity();
            let env = Some(EnvStamp { name: identity.name, version: identity.version });
            commands.push(Command::SendRelay(ClientMsg::Validated { game_id, env, rtt_ms }));
        }
        self.update_countdown(now_ms);
        if events.iter().any(|e| matches!(e, PeerEvent::Disconnected(_))) {
            commands.extend(self.partner_gone(Outcome::PartnerDisconnected));
        }
        commands
    }

    pub(super) fn refresh_game_status(&mut self) {
        let Place::Game(m) = &self.place else { return };
        let started = m.started();
        let Some(play) = &m.play else { return };
        let netcode = &play.netcode;
        let game = netcode.game();
        let status = &mut self.status;
        status.frame = game.frame;
        status.confirmed_frame = netcode.confirmed_frame();
        status.episode = game.episode;
        status.rollbacks = netcode.stats().rollbacks;
        status.desyncs = netcode.desyncs().len() as u32;
        status.input_latency = Some(netcode.latency().summary());
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
                    rewards: end.returns.clone(),
                })
                .collect();
        }
        if status.phase.is_terminal() {
            return;
        }
        status.warning = warning(m, game.monitor());
        status.phase = if !started {
            if status.countdown.is_some() { Phase::Countdown } else { Phase::Matched }
        } else if netcode.is_finished() {
            status.outcome = Some(Outcome::Complete);
            status.exit = Some(exit(&m.ends.completed, "The game is over."));
            Phase::Done
        } else {
            match game.stage {
                Stage::Between { .. } => Phase::BetweenEpisodes,
                // Stage::Done until the last frame is confirmed: still the game's last moments.
                Stage::Playing | Stage::Done => Phase::Playing,
            }
        };
    }

    /// A packet on the channel of the partner at player index `partner`.
    pub(super) fn peer_packet(&mut self, partner: u8, bytes: &[u8], now_ms: f64) -> Vec<Command> {
        let packet = Packet::decode(bytes);
        let Place::Game(m) = &mut self.place else { return Vec::new() };
        if !m.links.iter().any(|l| l.index == partner) {
            return Vec::new();
        }
        match packet {
            Ok(Packet::Finished) => {
                m.link_mut(partner).into_iter().for_each(|l| l.finished = true);
                Vec::new()
            }
            Ok(Packet::Left { player, confirmed, answer }) => {
                self.heard_left(partner, (player, confirmed, answer), now_ms)
            }
            Ok(Packet::Netcode { epoch, payload }) => {
                if let Some(play) = m.play.as_mut() {
                    play.netcode.receive_in(PeerAddr(partner), epoch, payload.to_vec());
                }
                Vec::new()
            }
            Ok(Packet::Bundle { epoch, body }) => {
                if let Some(play) = m.play.as_mut() {
                    for payload in bundled(body) {
                        play.netcode.receive_in(PeerAddr(partner), epoch, payload.to_vec());
                    }
                }
                Vec::new()
            }
            Ok(Packet::Control(PeerMsg::Ping { seq, sent_at_ms })) => {
                vec![Command::SendPeer(partner, PeerMsg::Pong { seq, sent_at_ms }.encode())]
            }
            Ok(Packet::Control(PeerMsg::Pong { seq, sent_at_ms })) => {
                let Some(link) = m.link_mut(partner) else { return Vec::new() };
                if let Some(rtt) = link.rtt.pong(seq, sent_at_ms, now_ms) {
                    self.status.p2p_rtt_ms = m.rtt_median_ms();
                    if let Some(watch) = &mut m.link_watch
                        && m.kickoff == Kickoff::Started
                    {
                        watch.measure(rtt);
                    }
                }
                Vec::new()
            }
            Err(_) => {
                self.dropped_packets += 1;
                Vec::new()
            }
        }
    }

    /// The channel to a partner closed. A partner that confirmed the last frame before we
    /// simulated it (it finished first, then its page closed) left us every input we need:
    /// the game plays on to its end, and the data of all agree. Otherwise the game is over.
    pub(super) fn channel_closed(&mut self, partner: u8, now_ms: f64) -> Vec<Command> {
        let in_play = self.status.phase.in_game();
        let Some(m) = self.matched_mut().filter(|m| m.links.iter().any(|l| l.index == partner))
        else {
            return Vec::new();
        };
        let departing = m.departure.is_some();
        let play_on = in_play && m.started() && m.can_play_on();
        if let Some(link) = m.link_mut(partner).filter(|_| play_on || departing) {
            // A remaining member that agreed and closed is not waited for.
            link.open = false;
            link.closed = play_on;
        }
        if play_on {
            return Vec::new();
        }
        self.lost_member(partner, Outcome::PartnerDisconnected, now_ms)
    }

    pub(super) fn partner_gone(&mut self, outcome: Outcome) -> Vec<Command> {
        if !(self.status.phase == Phase::Matched || self.status.phase.in_game()) {
            return Vec::new();
        }
        let Place::Game(m) = &mut self.place else { return Vec::new() };
        m.links.iter_mut().for_each(|l| l.open = false);
        if m.kickoff != Kickoff::Started {
            // Before the start nothing is lost: the relay sends us back to the waiting room
            // (the partner left, or the connection was never validated) or places us anew (it
            // restarted). Until then the game is gone but the match stands.
            self.status.notice = Some("The connection to your partner was lost.".into());
            m.play = None;
            m.announced = None;
            return vec![Command::ClosePeer];
        }
        let outcome = if m.was_frozen { Outcome::PartnerAway } else { outcome };
        let mut left = m.ends.partner_left.clone();
        match outcome {
            Outcome::PartnerAway => left.message = Some(PARTNER_AWAY.into()),
            Outcome::ReconnectionTimeout => left.message = Some(CONNECTION_LOST.into()),
            _ => {}
        }
        self.status.exit = Some(exit(&left, ""));
        self.status.phase = Phase::PartnerDisconnected;
        self.status.outcome = Some(outcome);
        self.status.waiting_for_partner = false;
        self.status.reconnecting = false;
        let mut commands = vec![Command::ClosePeer];
        commands.extend(self.export_partial(outcome));
        commands
    }

    /// The confirmed exclusion, if monitoring ended the game.
    fn exclusion(&self) -> Option<Exclusion> {
        self.play().and_then(|p| p.netcode.exclusion().cloned())
    }

    /// Monitoring ended the game at a confirmed frame, the same on every peer: the excluded
    /// player gets `excluded`, the others `partner_excluded`; the episode under way is stored
    /// as partial data (identical on both sides: every row before the frame is confirmed),
    /// and the partner hears we are done, so it can close once it has our last inputs too.
    fn excluded(&mut self, exclusion: &Exclusion, now_ms: f64) -> Vec<Command> {
        let Some(m) = self.matched() else { return Vec::new() };
        let (phase, outcome, exit) = if exclusion.players.contains(&m.player_index) {
            let message = match exclusion.reason {
                ExclusionReason::TabHidden => {
                    "The game has ended because this page was in the background for too long."
                }
                ExclusionReason::SlowConnection => {
                    "The game has ended because the connection to your partner was too slow."
                }
            };
            (Phase::Excluded, Outcome::Excluded, exit(&m.ends.excluded, message))
        } else {
            let exit = exit(&m.ends.partner_excluded, PARTNER_EXCLUDED);
            (Phase::PartnerDisconnected, Outcome::PartnerExcluded, exit)
        };
        self.status.phase = phase;
        self.status.outcome = Some(outcome);
        self.status.exit = Some(exit);
        self.status.waiting_for_partner = false;
        self.status.reconnecting = false;
        self.status.warning = None;
        let mut commands = self.export_partial(outcome);
        if commands.is_empty() {
            // Excluded between two episodes: an empty partial episode still records it.
            commands = self.export_empty(outcome);
        }
        commands.extend(self.finish_game(now_ms));
        commands
    }

    /// The next episode as an empty partial file, so the exclusion is in the data even when
    /// no episode was under way (during the pause between two).
    pub(super) fn export_empty(&mut self, outcome: Outcome) -> Vec<Command> {
        let Some(game) = self.play().map(|p| p.netcode.game()) else { return Vec::new() };
        let episode = game.episode;
        if episode >= game.plan().num_episodes {
            return Vec::new();
        }
        self.export(episode, Vec::new(), outcome, true)
    }

    /// The episode cut short, as far as it got: stored with `outcome` and marked partial.
    fn export_partial(&mut self, outcome: Outcome) -> Vec<Command> {
        let Place::Game(m) = &mut self.place else { return Vec::new() };
        match m.play.as_mut().and_then(|p| p.netcode.take_partial_episode()) {
            Some((episode, rows)) => self.export(episode, rows, outcome, true),
            None => Vec::new(),
        }
    }

    /// The researcher ended the game or excluded a player (the relay says so): a game under
    /// way ends here, its episode so far stored as partial data (an empty file of the next
    /// episode during a pause, so the ending is in the data), and the connection closes.
    pub(super) fn ended_by_researcher(&mut self, outcome: Outcome, exit: Exit) -> Vec<Command> {
        let mut commands = Vec::new();
        if self.status.phase == Phase::Matched || self.status.phase.in_game() {
            commands.push(Command::ClosePeer);
            if self.matched().is_some_and(Match::started) {
                let partial = self.export_partial(outcome);
                commands.extend(if partial.is_empty() {
                    self.export_empty(outcome)
                } else {
                    partial
                });
            }
            if let Some(m) = self.matched_mut() {
                m.play = None;
            }
        }
        self.status.phase = match outcome {
            Outcome::PartnerExcluded => Phase::PartnerDisconnected,
            _ => Phase::Excluded,
        };
        self.status.outcome = Some(outcome);
        self.status.exit = Some(exit);
        self.status.waiting = None;
        self.status.waiting_for_partner = false;
        self.status.reconnecting = false;
        self.status.warning = None;
        commands
    }

    /// What this page tells the relay about its running game, every
    /// [`rollgym_protocol::HEALTH_INTERVAL_MS`] (for the admin console).
    fn health_report(&mut self, now_ms: f64) -> Option<Command> {
        let pending_uploads = self.unacked.len() as u32;
        let Place::Game(m) = &mut self.place else { return None };
        if !m.started() || self.status.phase.is_terminal() || now_ms < m.health_due_at {
            return None;
        }
        m.health_due_at = now_ms + f64::from(rollgym_protocol::HEALTH_INTERVAL_MS);
        let status = &self.status;
        Some(Command::SendRelay(ClientMsg::Health(Box::new(GameHealth {
            game_id: m.game_id.clone(),
            rtt_ms: status.p2p_rtt_ms.map(|rtt| rtt.round() as u32),
            connection: m.least_direct_connection(),
            rollbacks: status.rollbacks,
            frame: status.frame,
            confirmed_frame: status.confirmed_frame.min(status.frame),
            episode: status.episode,
            desyncs: status.desyncs,
            stalled: status.waiting_for_partner,
            pending_uploads,
        }))))
    }

    /// The environment cannot go on (a JavaScript environment threw): the game ends in
    /// `error` with its message, the episode so far is stored as partial data, and the partner
    /// hears that the connection closed.
    fn env_failed(&mut self, failure: String) -> Vec<Command> {
        self.status.outcome = Some(Outcome::Error);
        self.fail(format!("The game stopped because of an error in the environment: {failure}"));
        let mut commands = vec![Command::ClosePeer];
        commands.extend(self.export_partial(Outcome::Error));
        commands
    }
}

/// Shown when the partner was unheard for too long (its page froze or lost the network).
const PARTNER_AWAY: &str = "The connection to your partner was interrupted for too long, so the game has ended. Thank you for taking part.";

/// Shown when the connection to the partner lost its path and did not come back in time.
const CONNECTION_LOST: &str = "The connection to your partner was lost and could not be restored, so the game has ended. Thank you for taking part.";

/// What the page shows for an ending: the experiment's `[outcomes.<name>]`, else `default`.
fn exit(end: &OutcomeConfig, default: &str) -> Exit {
    Exit {
        message: end.message.clone().unwrap_or_else(|| default.to_owned()),
        completion_code: end.completion_code.clone(),
        redirect_url: end.redirect_url.clone(),
    }
}

/// What monitoring warns about right now: this page first, then the partner.
fn warning(m: &Match, monitor: &Monitor) -> Option<Warning> {
    let me = m.player_index;
    if monitor.warned(me.into()) {
        Some(Warning::TabHidden)
    } else if m.link_watch.as_ref().is_some_and(LinkWatch::warning) {
        Some(Warning::SlowConnection)
    } else if m
        .players
        .iter()
        .any(|p| p.player_index != me && monitor.warned(p.player_index.into()))
    {
        Some(Warning::PartnerTabHidden)
    } else {
        None
    }
}
