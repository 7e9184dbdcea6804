//! Time-limited TURN credentials for `[webrtc.turn]` (the "TURN REST API" scheme coturn
//! implements as `use-auth-secret`): each page gets username `<expiry>:<who>` and, as its
//! password, the base64 HMAC-SHA1 of that username under the secret the relay shares with the
//! TURN server. The server checks the signature and the expiry itself, so the secret never
//! leaves the relay and a copied credential stops working after `ttl_s`.
//!
//! The lobby decides who gets ICE servers and never reads a clock; the hub adds these
//! credentials to the messages that carry ICE servers as they go out (`ice_servers_mut`).

use base64::Engine;
use hmac::{Hmac, Mac};
use rollgym_protocol::{IceServer, ServerMsg, TurnConfig};

/// The environment variable the secret is read from when the experiment file has none.
pub const SECRET_ENV: &str = "ROLLGYM_TURN_SECRET";

/// Issues credentials for one TURN configuration.
#[derive(Clone)]
pub struct Issuer {
    urls: Vec<String>,
    secret: Vec<u8>,
    ttl_s: u64,
}

impl std::fmt::Debug for Issuer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // The secret stays out of every log.
        f.debug_struct("Issuer").field("urls", &self.urls).field("ttl_s", &self.ttl_s).finish()
    }
}

impl Issuer {
    /// From `[webrtc.turn]`, the secret from the file or else from `env_secret`; `None` without
    /// `[webrtc.turn]`, an error when it has no secret from either.
    pub fn new(
        config: Option<&TurnConfig>,
        env_secret: Option<String>,
    ) -> Result<Option<Self>, String> {
        let Some(config) = config else { return Ok(None) };
        let secret =
            config.secret.clone().or(env_secret).filter(|s| !s.is_empty()).ok_or_else(|| {
                format!("webrtc.turn has no secret: set {SECRET_ENV} or webrtc.turn.secret")
            })?;
        Ok(Some(Self {
            urls: config.urls.clone(),
            secret: secret.into_bytes(),
            ttl_s: config.ttl_s.into(),
        }))
    }

    /// Credentials for `who`, valid until `unix_now_s + ttl_s`.
    pub fn issue(&self, unix_now_s: u64, who: &str) -> IceServer {
        let username = format!("{}:{who}", unix_now_s + self.ttl_s);
        // HMAC takes a key of any length; this cannot fail.
        let mut mac = Hmac::<sha1::Sha1>::new_from_slice(&self.secret)
            .unwrap_or_else(|_| unreachable!("HMAC accepts any key length"));
        mac.update(username.as_bytes());
        let credential =
            base64::engine::general_purpose::STANDARD.encode(mac.finalize().into_bytes());
        IceServer {
            urls: self.urls.clone(),
            username: Some(username),
            credential: Some(credential),
        }
    }
}

/// The ICE servers a message hands out (a game, a probe, a screening); `None` for the others,
/// which are most messages: nothing else is computed for them.
pub fn ice_servers_mut(msg: &mut ServerMsg) -> Option<&mut Vec<IceServer>> {
    match msg {
        ServerMsg::Paired { ice_servers, .. } | ServerMsg::Probe { ice_servers, .. } => {
            Some(ice_servers)
        }
        ServerMsg::Screen(request) => Some(&mut request.ice_servers),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config() -> TurnConfig {
        TurnConfig { urls: vec!["turn:10.9.1.1:3478".into()], secret: None, ttl_s: 3600 }
    }

    #[test]
    fn credentials_are_the_rest_api_scheme_coturn_checks() {
        let issuer =
            Issuer::new(Some(&config()), Some("north-star".into())).expect("ok").expect("on");
        let server = issuer.issue(1_699_996_400, "c7");
        assert_eq!(server.username.as_deref(), Some("1700000000:c7"));
        // python3: base64(hmac.new(b"north-star", b"1700000000:c7", sha1).digest())
        assert_eq!(server.credential.as_deref(), Some("PXApobBn7t2d6K9nvyzMgDITzqQ="));
        assert_eq!(server.urls, ["turn:10.9.1.1:3478"]);
    }

    #[test]
    fn the_file_secret_wins_and_none_at_all_is_an_error() {
        let mut with_secret = config();
        with_secret.secret = Some("from-file".into());
        let issuer =
            Issuer::new(Some(&with_secret), Some("from-env".into())).expect("ok").expect("on");
        assert_eq!(issuer.secret, b"from-file");
        assert!(Issuer::new(Some(&config()), None).is_err());
        assert!(Issuer::new(Some(&config()), Some(String::new())).is_err(), "empty");
        assert!(Issuer::new(None, None).expect("ok").is_none());
        assert!(!format!("{issuer:?}").contains("from-file"), "never logged");
    }

    #[test]
    fn only_messages_with_ice_servers_get_credentials() {
        let issuer = Issuer::new(Some(&config()), Some("s".into())).expect("ok").expect("on");
        let add_to = |msg: &mut ServerMsg| {
            if let Some(servers) = ice_servers_mut(msg) {
                servers.push(issuer.issue(10, "c1"));
            }
        };
        let mut probe = ServerMsg::Probe {
            probe_id: rollgym_protocol::ProbeId::parse("q1").expect("id"),
            peer: rollgym_protocol::ParticipantId::parse("p").expect("id"),
            initiator: true,
            ice_servers: Vec::new(),
            force_relay: true,
        };
        add_to(&mut probe);
        let ServerMsg::Probe { ice_servers, .. } = &probe else { unreachable!() };
        assert_eq!(ice_servers.len(), 1);
        let mut waiting = ServerMsg::Waiting { waiting: 1, needed: 2 };
        add_to(&mut waiting);
        assert_eq!(waiting, ServerMsg::Waiting { waiting: 1, needed: 2 });
    }
}
