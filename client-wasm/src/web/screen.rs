//! What the participant sees besides the game canvas: one status line, and a full-page notice
//! when the session ends.

use rollgym_protocol::GameConfig;
use wasm_bindgen::JsValue;
use web_sys::{Document, Element};

use crate::core::status::{Outcome, Phase, Status};

pub(super) struct Screen {
    status: Element,
    scene: Element,
    scene_title: Element,
    scene_html: Element,
    scene_code: Element,
    scene_button: Element,
    notice: Element,
    notice_title: Element,
    notice_text: Element,
    notice_code: Element,
}

impl Screen {
    pub(super) fn find() -> Result<Self, JsValue> {
        let document = web_sys::window().and_then(|w| w.document()).ok_or("no document")?;
        Ok(Self {
            status: element(&document, "status")?,
            scene: element(&document, "scene")?,
            scene_title: element(&document, "scene-title")?,
            scene_html: element(&document, "scene-html")?,
            scene_code: element(&document, "scene-code")?,
            scene_button: element(&document, "scene-button")?,
            notice: element(&document, "notice")?,
            notice_title: element(&document, "notice-title")?,
            notice_text: element(&document, "notice-text")?,
            notice_code: element(&document, "notice-code")?,
        })
    }

    /// The continue button of static scenes.
    pub(super) fn scene_button(&self) -> &Element {
        &self.scene_button
    }

    pub(super) fn show(&self, status: &Status, config: Option<&GameConfig>) {
        let code = config.and_then(|c| c.completion_code.as_deref());
        self.show_scene(status);
        let connected = match status.p2p_rtt_ms {
            Some(rtt) => format!("Connected to your partner — round trip {rtt:.0} ms"),
            None => "Partner found — connecting…".to_owned(),
        };
        let line = match status.phase {
            Phase::Loading | Phase::Ready => "Connecting to the server…".to_owned(),
            Phase::Waiting => {
                let waited =
                    status.waited_s.map(|s| format!(" · waiting for {}:{:02}", s / 60, s % 60));
                let line = match (&status.notice, status.waiting) {
                    (Some(notice), _) => notice.clone(),
                    // A count of 0 means the experiment hides it.
                    (None, Some((waiting, needed))) if waiting > 0 => {
                        format!("Waiting for a partner… ({waiting} of {needed} players here)")
                    }
                    _ => "Waiting for a partner…".to_owned(),
                };
                line + &waited.unwrap_or_default()
            }
            Phase::Matched => connected,
            Phase::Countdown => {
                format!(
                    "Players found! Starting in {}… · {connected}",
                    status.countdown.unwrap_or(1)
                )
            }
            Phase::Playing | Phase::BetweenEpisodes => {
                format!("{connected} · move: arrow keys or WASD · interact: space or E")
            }
            Phase::Done if status.scene.as_ref().is_some_and(|s| !s.last) => {
                "The game is over. Continuing in a moment…".to_owned()
            }
            Phase::Done => {
                self.notice("Thank you!", "The game is over.", code);
                "The game is over.".to_owned()
            }
            Phase::Scene => String::new(),
            Phase::Excluded => {
                let exit = status.exit.as_ref();
                let message = exit.map_or("Thank you for your patience.", |e| e.message.as_str());
                let title = if status.outcome == Some(Outcome::AlreadyFinished) {
                    "Already completed"
                } else {
                    "No partner found"
                };
                self.notice(title, message, exit.and_then(|e| e.completion_code.as_deref()));
                if let Some(url) = exit.and_then(|e| e.redirect_url.as_deref())
                    && let Some(window) = web_sys::window()
                {
                    let _ = window.location().assign(url);
                }
                message.to_owned()
            }
            Phase::PartnerDisconnected => {
                let message = match (status.outcome, config) {
                    (Some(Outcome::PartnerAway), _) => {
                        "The connection to your partner was interrupted for too long, so the game has ended. Thank you for taking part."
                    }
                    (_, Some(config)) => config.partner_left_message.as_str(),
                    (_, None) => "Your partner has left the game. Thank you for taking part.",
                };
                self.notice("Your partner has left", message, code);
                message.to_owned()
            }
            Phase::Error => {
                let message = status.last_error.as_deref().unwrap_or("Something went wrong.");
                self.notice("Something went wrong", message, None);
                message.to_owned()
            }
        };
        self.status.set_text_content(Some(&line));
    }

    /// A static scene: its title, the researcher's HTML, a completion code, the button.
    fn show_scene(&self, status: &Status) {
        let shown = status.scene.as_ref().filter(|_| status.phase == Phase::Scene);
        self.scene.toggle_attribute_with_force("hidden", shown.is_none()).ok();
        let Some(scene) = shown else { return };
        self.scene_title.set_text_content(Some(&scene.title));
        // Researcher-written HTML from the experiment file, never participant input.
        self.scene_html.set_inner_html(&scene.html);
        let code = scene.completion_code.as_ref().map(|c| format!("Your completion code: {c}"));
        self.scene_code.set_text_content(code.as_deref());
        self.scene_button.set_text_content(scene.button.as_deref());
        self.scene_button
            .toggle_attribute_with_force("hidden", scene.button.is_none() || scene.last)
            .ok();
    }

    /// Start-up failure before a session exists.
    pub(super) fn fail(&self, message: &str) {
        self.notice("Something went wrong", message, None);
        self.status.set_text_content(Some(message));
    }

    fn notice(&self, title: &str, text: &str, completion_code: Option<&str>) {
        self.notice_title.set_text_content(Some(title));
        self.notice_text.set_text_content(Some(text));
        let code = completion_code.map(|c| format!("Your completion code: {c}"));
        self.notice_code.set_text_content(code.as_deref());
        let _ = self.notice.remove_attribute("hidden");
    }
}

fn element(document: &Document, id: &str) -> Result<Element, JsValue> {
    document
        .get_element_by_id(id)
        .ok_or_else(|| JsValue::from_str(&format!("the page has no #{id}")))
}
