//! The settings every ggrs session of a game is built with: the first one, and the one a group
//! starts when it goes on without a member (`departure.rs`).

use std::{cell::RefCell, rc::Rc, time::Duration};

use ggrs::{DesyncDetection, P2PSession, PlayerType, SessionBuilder};

use super::{Cfg, NetcodeError, PeerAddr, Wire, WireSocket};
use crate::env::Env;

/// The settings a ggrs session is built with.
#[derive(Debug, Clone, Copy)]
pub(super) struct Built {
    pub(super) players: usize,
    pub(super) fps: u32,
    pub(super) input_delay: u32,
    pub(super) max_prediction: u32,
    pub(super) desync_interval: u32,
    pub(super) disconnect_timeout_ms: u32,
}

impl Built {
    /// A session in which `kinds[player]` says where each player is (a list, not a closure:
    /// one copy of this code in the page's module, not one per caller).
    pub(super) fn session<E: Env + 'static>(
        &self,
        wire: &Rc<RefCell<Wire>>,
        kinds: Vec<PlayerType<PeerAddr>>,
    ) -> Result<P2PSession<Cfg<E>>, NetcodeError> {
        let desync = match self.desync_interval {
            0 => DesyncDetection::Off,
            interval => DesyncDetection::On { interval },
        };
        let timeout = Duration::from_millis(u64::from(self.disconnect_timeout_ms));
        let mut builder = SessionBuilder::<Cfg<E>>::new()
            .with_num_players(self.players)?
            .with_fps(self.fps as usize)?
            .with_input_delay(self.input_delay as usize)
            .with_max_prediction_window(self.max_prediction as usize)
            .with_desync_detection_mode(desync)
            .with_disconnect_timeout(timeout)
            .with_disconnect_notify_delay(timeout.min(Duration::from_millis(1000)));
        for (player, kind) in kinds.into_iter().enumerate() {
            builder = builder.add_player(kind, player)?;
        }
        Ok(builder.start_p2p_session(WireSocket::new(wire.clone()))?)
    }
}
