//! What the relay says: placing, pairing, starting, probing, excluding; and its connection closing.

use super::*;
use rollgym_protocol::{InputDelay, MAX_INPUT_DELAY};

impl Session {
    pub(super) fn relay_message(&mut self, msg: ServerMsg, now_ms: f64) -> Vec<Command> {
        match msg {
            ServerMsg::UploadAck { upload_id } => return self.upload_settled(upload_id, None),
            ServerMsg::UploadRefused { upload_id, message, .. } => {
                return self.upload_settled(upload_id, Some(message));
            }
            ServerMsg::Welcome { .. } => {}
            // After a game, the next scene follows; never the finished one again (its data
            // would be played over).
            ServerMsg::Scene { index, .. }
                if self.status.phase == Phase::Done
                    && self.status.scene.as_ref().is_none_or(|s| index > s.index) => {}
            _ if self.status.phase.is_terminal() => return Vec::new(),
            _ => {}
        }
        self.on_relay(msg, now_ms)
    }

    /// A relay message that still matters in the current phase.
    fn on_relay(&mut self, msg: ServerMsg, now_ms: f64) -> Vec<Command> {
        match msg {
            ServerMsg::UploadAck { .. } | ServerMsg::UploadRefused { .. } => Vec::new(),
            ServerMsg::Welcome { participant_id, .. } => self.welcome(participant_id),
            ServerMsg::Waiting { waiting, needed } => self.waiting(waiting, needed, now_ms),
            paired @ ServerMsg::Paired { .. } => self.paired(paired, now_ms),
            ServerMsg::Signal { from, payload } => {
                let link = self.matched_mut().and_then(|m| m.link_of(&from));
                link.map(|l| Command::ApplySignal(l.index, payload)).into_iter().collect()
            }
            ServerMsg::PartnerLeft { participant_id } => self.partner_left(&participant_id, now_ms),
            ServerMsg::Start { game_id, input_delay } => self.start(&game_id, input_delay),
            ServerMsg::Repool { message } => self.repool(message),
            ServerMsg::Probe { probe_id, peer: _, initiator, ice_servers, force_relay } => {
                self.probe_proposed(probe_id, initiator, ice_servers, force_relay, now_ms)
            }
            ServerMsg::ProbeSignal { probe_id, payload } => self.probe_signal(&probe_id, payload),
            ServerMsg::ProbeEnd { probe_id } => self.probe_ended(&probe_id),
            ServerMsg::Scene { index, view, last } => self.enter_scene(index, view, last),
            ServerMsg::ScreenSignal { payload } => self
                .screening()
                .then_some(Command::ApplyScreenSignal(payload))
                .into_iter()
                .collect(),
            ServerMsg::Screen(request) => self.screen(request),
            ServerMsg::Watch { game_id, on } => self.watch(&game_id, on),
            ServerMsg::Exit { outcome, message, completion_code, redirect_url } => {
                self.exit(&outcome, Exit { message, completion_code, redirect_url })
            }
            ServerMsg::Error { code: ErrorCode::AlreadyFinished, message, .. } => {
                // A reload after the end: a thank-you, not an error.
                let exit = Exit { message, completion_code: None, redirect_url: None };
                self.exclude(Outcome::AlreadyFinished, exit);
                Vec::new()
            }
            ServerMsg::Error { message, fatal, .. } => {
                if fatal {
                    self.fail(message);
                } else {
                    self.status.last_error = Some(message);
                }
                Vec::new()
            }
        }
    }

    /// The relay asks for the entry checks.
    fn screen(&mut self, request: ScreenRequest) -> Vec<Command> {
        self.status.phase = Phase::Screening;
        self.status.notice = None;
        vec![Command::Screen(request)]
    }

    /// The relay ends the session: each way of ending shows its own page.
    fn exit(&mut self, outcome: &str, exit: Exit) -> Vec<Command> {
        let by_researcher = match OutcomeName::parse(outcome) {
            Some(OutcomeName::EndedByResearcher) => Some(Outcome::EndedByResearcher),
            Some(OutcomeName::Excluded) => Some(Outcome::Excluded),
            Some(OutcomeName::PartnerExcluded) => Some(Outcome::PartnerExcluded),
            _ => None,
        };
        if let Some(outcome) = by_researcher {
            return self.ended_by_researcher(outcome, exit);
        }
        match OutcomeName::parse(outcome) {
            Some(OutcomeName::WaitTimeout) => {
                // Only a wait can time out (a late one raced a match).
                if self.status.phase == Phase::Waiting {
                    self.exclude(Outcome::Timeout, exit);
                }
            }
            Some(OutcomeName::ScreenedOut) => {
                self.exclude(Outcome::ScreenedOut, exit);
                self.status.phase = Phase::ScreenedOut;
            }
            Some(OutcomeName::LoadingFailed) => {
                self.fail(exit.message.clone());
                self.status.outcome = Some(Outcome::LoadingFailed);
                self.status.exit = Some(exit);
            }
            Some(OutcomeName::StudyClosed) => self.exclude(Outcome::StudyClosed, exit),
            // An ending this page does not know (a newer relay): it still ends.
            _ => self.exclude(Outcome::Error, exit),
        }
        Vec::new()
    }

    /// Greeted (again): deliver whatever is still undelivered (after a reconnect or a reload).
    fn welcome(&mut self, participant_id: ParticipantId) -> Vec<Command> {
        let mut resend: Vec<Command> = self
            .unacked
            .values()
            .filter(|u| u.participant_id == participant_id)
            .map(|u| Command::SendRelayText(u.message.clone()))
            .collect();
        // The game ended while the relay was away: the request for the next scene may have
        // been lost with the old connection.
        if let (Phase::Done, true, Some(scene)) =
            (self.status.phase, self.advanced, &self.status.scene)
            && !scene.last
        {
            resend.push(Command::SendRelay(ClientMsg::Advance { from: scene.index }));
        }
        self.status.participant_id = Some(participant_id.to_string());
        self.me = Some(participant_id);
        if self.status.notice.as_deref() == Some(RECONNECTING) {
            self.status.notice = None;
        }
        resend
    }

    fn waiting(&mut self, waiting: u32, needed: u32, now_ms: f64) -> Vec<Command> {
        let phase = self.status.phase;
        let Some(lobby) = self.lobby_mut() else { return Vec::new() };
        if phase != Phase::Waiting || lobby.waiting_since.is_none() {
            lobby.waiting_since = Some(now_ms);
            self.status.waited_s = Some(0);
        }
        self.status.phase = Phase::Waiting;
        self.status.waiting = Some((waiting, needed));
        Vec::new()
    }

    /// Matched: remember the game and the players, open the peer connection.
    fn paired(&mut self, msg: ServerMsg, now_ms: f64) -> Vec<Command> {
        let ServerMsg::Paired {
            game_id,
            player_index,
            peers,
            ice_servers,
            force_relay,
            game,
            seed,
            countdown_ms,
            monitoring,
            ends,
        } = msg
        else {
            return Vec::new();
        };
        let game = *game;
        let mut indices: Vec<u8> = peers.iter().map(|p| p.player_index).collect();
        indices.push(player_index);
        indices.sort_unstable();
        indices.dedup();
        if peers.is_empty() || indices.len() != peers.len() + 1 {
            self.fail("The server's pairing names no partner, or one player twice.".into());
            return Vec::new();
        }
        let mut players: Vec<PeerInfo> = self
            .my_id()
            .map(|me| PeerInfo { participant_id: me, player_index })
            .into_iter()
            .chain(peers.iter().cloned())
            .collect();
        players.sort_by_key(|p| p.player_index);
        self.status.game = Some((&game).into());
        let countdown_ends_at = now_ms + f64::from(countdown_ms);
        let matched =
            Match::new((game_id.clone(), player_index), players, (game, seed), countdown_ends_at)
                .watched(monitoring, *ends);
        // The waiting room and any probe are over.
        self.place = Place::Game(Box::new(matched));
        self.status.notice = None;
        self.status.waited_s = None;
        self.status.phase = Phase::Matched;
        self.status.waiting = None;
        self.status.game_id = Some(game_id.to_string());
        self.status.player_index = Some(player_index);
        self.status.partner_ids = peers.iter().map(|p| p.participant_id.to_string()).collect();
        // One connection per partner; of each pair, the lower player index offers.
        peers
            .iter()
            .map(|p| Command::OpenPeer {
                partner: p.player_index,
                initiator: player_index < p.player_index,
                ice_servers: ice_servers.clone(),
                force_relay,
            })
            .collect()
    }

    fn partner_left(&mut self, participant_id: &ParticipantId, now_ms: f64) -> Vec<Command> {
        let Some(m) = self.matched_mut() else { return Vec::new() };
        let running = m.play.as_ref().is_some_and(|p| p.netcode.is_running());
        let Some(link) = m.link_of(participant_id) else {
            return Vec::new();
        };
        // The partner's relay connection can drop (a network blip) while the game goes on peer
        // to peer, so during a game this counts only together with silence on the channel
        // (ggrs reports an interruption after a second without packets; it only watches for
        // that once synchronized).
        link.left_relay = true;
        if running && !link.silent {
            Vec::new()
        } else {
            let player = link.index;
            self.lost_member(player, Outcome::PartnerDisconnected, now_ms)
        }
    }

    fn start(&mut self, game_id: &GameId, input_delay: Option<AgreedDelay>) -> Vec<Command> {
        let Some(m) = self.matched_mut().filter(|m| m.game_id == *game_id) else {
            return Vec::new();
        };
        m.kickoff = Kickoff::Started;
        let Some(play) = &mut m.play else {
            // The connection was lost before the start: this game cannot be played.
            return self.partner_gone(Outcome::PartnerDisconnected);
        };
        let auto = play.config.input_delay == InputDelay::Auto;
        if let Some(agreed) = input_delay.filter(|d| auto && d.frames <= MAX_INPUT_DELAY) {
            if let Err(e) = play.netcode.set_input_delay(agreed.frames) {
                self.status.last_error = Some(format!("the input delay could not be set: {e}"));
            } else {
                play.agreed_delay = Some(agreed);
            }
        }
        self.status.countdown = None;
        self.refresh_game_status();
        Vec::new()
    }

    fn probe_proposed(
        &mut self,
        probe_id: ProbeId,
        initiator: bool,
        ice_servers: Vec<IceServer>,
        force_relay: bool,
        now_ms: f64,
    ) -> Vec<Command> {
        let waiting = self.status.phase == Phase::Waiting;
        let Some(lobby) = self.lobby_mut().filter(|_| waiting) else {
            // Not waiting (any more): the relay's view will catch up; say so.
            return vec![Command::SendRelay(ClientMsg::ProbeResult { probe_id, rtt_ms: None })];
        };
        lobby.probe = Some(Prober::new(probe_id, now_ms));
        self.status.probes += 1;
        vec![Command::OpenProbe { initiator, ice_servers, force_relay }]
    }

    /// Leaves without (more) play: the waiting room gave up, or the study is already done.
    fn exclude(&mut self, outcome: Outcome, exit: Exit) {
        self.status.phase = Phase::Excluded;
        self.status.outcome = Some(outcome);
        self.status.waiting = None;
        self.status.exit = Some(exit);
    }

    pub(super) fn relay_closed(&mut self) -> Vec<Command> {
        if self.needs_relay() {
            // The game runs peer to peer and can finish without the relay; data waits in
            // browser storage; everything else waits for the relay to place us again.
            if !self.started() && self.status.phase != Phase::Scene {
                self.status.notice = Some(RECONNECTING.into());
            }
            return vec![Command::Reconnect];
        }
        self.fail("Lost the connection to the server.".into());
        if self.matched().is_some() { vec![Command::ClosePeer] } else { Vec::new() }
    }

    /// The game did not start: forget it and wait for a new partner (the relay re-queued us).
    pub(super) fn repool(&mut self, message: String) -> Vec<Command> {
        if !matches!(self.status.phase, Phase::Matched | Phase::Countdown) {
            return Vec::new();
        }
        self.reset_game(Phase::Waiting, Some(message))
    }

    /// A new scene: whatever game there was is over; a static scene is shown, a gym scene
    /// waits for its pairing.
    pub(super) fn enter_scene(&mut self, index: u32, view: SceneView, last: bool) -> Vec<Command> {
        if matches!(self.status.phase, Phase::Error | Phase::Excluded | Phase::PartnerDisconnected)
        {
            return Vec::new();
        }
        let (status, phase) = match view {
            SceneView::Static { id, title, html, button, completion_code } => (
                SceneStatus {
                    index,
                    id: id.to_string(),
                    kind: "static",
                    title,
                    html,
                    button,
                    completion_code,
                    last,
                },
                Phase::Scene,
            ),
            SceneView::Gym { id } => (
                SceneStatus {
                    index,
                    id: id.to_string(),
                    kind: "gym",
                    title: String::new(),
                    html: String::new(),
                    button: None,
                    completion_code: None,
                    last,
                },
                Phase::Waiting,
            ),
        };
        let commands = self.reset_game(phase, None);
        self.status.scene = Some(status);
        self.advanced = false;
        commands
    }

    pub(super) fn upload_settled(
        &mut self,
        upload_id: UploadId,
        refusal: Option<String>,
    ) -> Vec<Command> {
        let Some(me) = self.my_id() else {
            return Vec::new();
        };
        let Some(upload) = self.unacked.remove(&(me, upload_id.clone())) else { return Vec::new() };
        if let Some(message) = refusal {
            self.status.last_error =
                Some(format!("the server refused data upload {upload_id}: {message}"));
        } else if let Some(export) =
            self.status.exports.iter_mut().find(|e| e.upload_id == upload_id.as_str())
        {
            export.acked = true;
        }
        vec![Command::Forget { participant: upload.participant_id, upload_id }]
    }
}
