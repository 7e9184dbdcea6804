//! What the participant sees besides the game canvas: one status line, and a full-page notice
//! when the session ends.

use rollgym_protocol::GameConfig;
use wasm_bindgen::{JsCast, JsValue};
use web_sys::{Element, HtmlCanvasElement};

use crate::core::status::{Exit, Outcome, Phase, Status, Warning};

pub(super) struct Screen {
    /// Everything below, inside the embedding page's container; removed on drop.
    root: Element,
    status: Element,
    canvas: HtmlCanvasElement,
    scene: Element,
    scene_title: Element,
    scene_html: Element,
    scene_code: Element,
    scene_button: Element,
    notice: Element,
    notice_title: Element,
    notice_text: Element,
    notice_code: Element,
    /// Whether the notice is on the page: hiding it is a DOM write, and `show` runs every frame.
    notice_open: std::cell::Cell<bool>,
}

impl Drop for Screen {
    fn drop(&mut self) {
        self.root.remove();
    }
}

impl Screen {
    /// Builds the status line, the game canvas, the scene page and the notice in `container`.
    pub(super) fn build(container: &Element) -> Result<Self, JsValue> {
        let document = container.owner_document().ok_or("the container is not in a document")?;
        let make = |parent: &Element, tag: &str, class: &str| -> Result<Element, JsValue> {
            let element = document.create_element(tag)?;
            element.set_class_name(class);
            parent.append_child(&element)?;
            Ok(element)
        };
        let root = document.create_element("div")?;
        root.set_class_name("rollgym");
        let status = make(&root, "p", "rollgym-status")?;
        status.set_attribute("role", "status")?;
        status.set_attribute("aria-live", "polite")?;
        status.set_text_content(Some("Loading…"));
        let canvas: HtmlCanvasElement = make(&root, "canvas", "rollgym-canvas")?.dyn_into()?;
        canvas.set_hidden(true);
        let scene = make(&root, "section", "rollgym-scene")?;
        scene.set_attribute("hidden", "")?;
        let scene_title = make(&scene, "h2", "rollgym-scene-title")?;
        let scene_html = make(&scene, "div", "rollgym-scene-html")?;
        let scene_code = make(&scene, "p", "rollgym-scene-code rollgym-code")?;
        let scene_button = make(&scene, "button", "rollgym-scene-button")?;
        scene_button.set_attribute("type", "button")?;
        let notice = make(&root, "div", "rollgym-notice")?;
        notice.set_attribute("role", "alertdialog")?;
        notice.set_attribute("hidden", "")?;
        let box_ = make(&notice, "div", "rollgym-notice-box")?;
        let notice_title = make(&box_, "h2", "rollgym-notice-title")?;
        let notice_text = make(&box_, "p", "rollgym-notice-text")?;
        let notice_code = make(&box_, "p", "rollgym-notice-code rollgym-code")?;
        container.append_child(&root)?;
        Ok(Self {
            root,
            status,
            canvas,
            scene,
            scene_title,
            scene_html,
            scene_code,
            scene_button,
            notice,
            notice_title,
            notice_text,
            notice_code,
            notice_open: std::cell::Cell::new(false),
        })
    }

    /// The game canvas, drawn by the renderer.
    pub(super) fn canvas(&self) -> &HtmlCanvasElement {
        &self.canvas
    }

    /// The continue button of static scenes.
    pub(super) fn scene_button(&self) -> &Element {
        &self.scene_button
    }

    /// `help` is the environment's one line about its keys.
    pub(super) fn show(&self, status: &Status, config: Option<&GameConfig>, help: &str) {
        let code = config.and_then(|c| c.completion_code.as_deref());
        self.show_scene(status);
        if !status.phase.is_terminal() && status.phase != Phase::Screening {
            // The enlarge-window prompt is the one notice that goes away again.
            self.hide_notice();
        }
        let connected = match status.p2p_rtt_ms {
            Some(rtt) => format!("Connected to your partner — round trip {rtt:.0} ms"),
            None => "Partner found — connecting…".to_owned(),
        };
        let line = match status.phase {
            Phase::Loading | Phase::Ready => "Connecting to the server…".to_owned(),
            Phase::Screening => {
                match &status.notice {
                    Some(prompt) => self.notice("Please enlarge your window", prompt, None),
                    None => self.hide_notice(),
                }
                "Checking your browser…".to_owned()
            }
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
                let line = match status.warning {
                    Some(Warning::TabHidden) => {
                        "Please stay on this page: the game ends if it stays in the background."
                            .to_owned()
                    }
                    Some(Warning::SlowConnection) => {
                        format!("The connection to your partner is slow · {connected}")
                    }
                    Some(Warning::PartnerTabHidden) => {
                        "Your partner has left the game page for a while…".to_owned()
                    }
                    None => connected,
                };
                if help.is_empty() { line } else { format!("{line} · {help}") }
            }
            Phase::Done if status.scene.as_ref().is_some_and(|s| !s.last) => {
                "The game is over. Continuing in a moment…".to_owned()
            }
            Phase::Done => self.end("Thank you!", "The game is over.", code, status),
            Phase::Scene => String::new(),
            Phase::Excluded | Phase::ScreenedOut => {
                let title = match status.outcome {
                    Some(Outcome::AlreadyFinished) => "Already completed",
                    Some(Outcome::ScreenedOut) => "Sorry, you cannot take part",
                    Some(Outcome::Excluded | Outcome::EndedByResearcher) => "The game has ended",
                    Some(Outcome::StudyClosed) => "This study is closed",
                    _ => "No partner found",
                };
                self.end(title, "Thank you for your patience.", None, status)
            }
            Phase::PartnerDisconnected => {
                let title = match status.outcome {
                    Some(Outcome::PartnerExcluded) => "Your partner could not continue",
                    _ => "Your partner has left",
                };
                let fallback = config
                    .map_or("Your partner has left the game. Thank you for taking part.", |c| {
                        c.partner_left_message.as_str()
                    });
                self.end(title, fallback, code, status)
            }
            Phase::Error => {
                let message = status.last_error.as_deref().unwrap_or("Something went wrong.");
                let exit = status.exit.as_ref();
                let code = exit.and_then(|e| e.completion_code.as_deref());
                self.notice("Something went wrong", message, code);
                redirect(exit);
                message.to_owned()
            }
        };
        self.status.set_text_content(Some(&line));
    }

    /// The notice of an ending: the outcome's message and code (`status.exit`), else the
    /// fallbacks; then its redirect, if any. Returns the message for the status line.
    fn end(&self, title: &str, message: &str, code: Option<&str>, status: &Status) -> String {
        let exit = status.exit.as_ref();
        let message = exit.map_or(message, |e| e.message.as_str());
        let code = exit.and_then(|e| e.completion_code.as_deref()).or(code);
        self.notice(title, message, code);
        redirect(exit);
        message.to_owned()
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

    fn hide_notice(&self) {
        if self.notice_open.replace(false) {
            let _ = self.notice.set_attribute("hidden", "");
        }
    }

    fn notice(&self, title: &str, text: &str, completion_code: Option<&str>) {
        self.notice_title.set_text_content(Some(title));
        self.notice_text.set_text_content(Some(text));
        let code = completion_code.map(|c| format!("Your completion code: {c}"));
        self.notice_code.set_text_content(code.as_deref());
        let _ = self.notice.remove_attribute("hidden");
        self.notice_open.set(true);
    }
}

/// Goes to the ending's redirect URL, if it has one (the experiment's, never a participant's).
fn redirect(exit: Option<&Exit>) {
    if let Some(url) = exit.and_then(|e| e.redirect_url.as_deref())
        && let Some(window) = web_sys::window()
    {
        let _ = window.location().assign(url);
    }
}
