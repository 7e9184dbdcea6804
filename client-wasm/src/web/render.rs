//! Drawing the game on the canvas, once per animation frame.
//!
//! Rendering reads the latest simulated state and never feeds back into the simulation, so a
//! slow or stopped renderer (a hidden tab has no animation frames) cannot stall the game.

use std::{cell::RefCell, rc::Rc};

use rollgym_protocol::GameConfig;
use wasm_bindgen::{JsCast, JsValue, closure::Closure};
use web_sys::{CanvasRenderingContext2d, HtmlCanvasElement};

use crate::{
    core::{
        game::{Game, Stage},
        status::{Phase, Status},
    },
    env::{Color, Env, Painter, overcooked::Overcooked},
    web::app::WeakDispatch,
};

/// Pixels per environment unit (one kitchen cell).
const CELL: f64 = 72.0;
/// Height of the score line above the kitchen.
const HUD: f64 = 44.0;

pub(super) struct GameCanvas {
    canvas: HtmlCanvasElement,
    ctx: CanvasRenderingContext2d,
}

impl GameCanvas {
    pub(super) fn find() -> Result<Self, JsValue> {
        let document = web_sys::window().and_then(|w| w.document()).ok_or("no document")?;
        let canvas: HtmlCanvasElement =
            document.get_element_by_id("game").ok_or("the page has no #game")?.dyn_into()?;
        let ctx: CanvasRenderingContext2d =
            canvas.get_context("2d")?.ok_or("no 2d context")?.dyn_into()?;
        Ok(Self { canvas, ctx })
    }

    pub(super) fn set_visible(&self, visible: bool) {
        self.canvas.set_hidden(!visible);
    }

    pub(super) fn draw(&self, game: &Game<Overcooked>, status: &Status, config: &GameConfig) {
        let (w, h) = game.env.view_size();
        let (width, height) = (f64::from(w) * CELL, f64::from(h) * CELL + HUD);
        if f64::from(self.canvas.width()) != width || f64::from(self.canvas.height()) != height {
            self.canvas.set_width(width as u32);
            self.canvas.set_height(height as u32);
        }
        let ctx = &self.ctx;
        ctx.set_fill_style_str("#f7f7f5");
        ctx.fill_rect(0.0, 0.0, width, height);
        game.env.render(&mut Scaled { ctx, scale: CELL, top: HUD });

        let plan = game.plan();
        let seconds_left = plan.max_steps.saturating_sub(game.step).div_ceil(config.fps.max(1));
        let hud = format!(
            "Score {}    Time left {}s    Round {} of {}",
            game.score,
            seconds_left,
            (game.episode + 1).min(plan.num_episodes),
            plan.num_episodes
        );
        text(ctx, width / 2.0, HUD / 2.0, 20.0, "#1d1d1f", &hud);

        let banner = match game.stage {
            Stage::Between { .. } => Some(format!("Round {} starting", game.episode + 1)),
            Stage::Playing | Stage::Done => None,
        };
        let banner = match status.phase {
            Phase::Countdown => Some(format!("Players found! {}", status.countdown.unwrap_or(1))),
            Phase::Matched => Some("Connecting to your partner…".to_owned()),
            _ => banner,
        };
        let banner = if status.waiting_for_partner {
            Some("Waiting for your partner…".to_owned())
        } else {
            banner
        };
        if let Some(banner) = banner {
            ctx.set_fill_style_str("rgba(255,255,255,0.8)");
            ctx.fill_rect(0.0, HUD + (height - HUD) / 2.0 - 40.0, width, 80.0);
            text(ctx, width / 2.0, HUD + (height - HUD) / 2.0, 36.0, "#1d1d1f", &banner);
        }
    }
}

fn text(ctx: &CanvasRenderingContext2d, x: f64, y: f64, size: f64, color: &str, text: &str) {
    ctx.set_fill_style_str(color);
    ctx.set_font(&format!("{size:.0}px system-ui, sans-serif"));
    ctx.set_text_align("center");
    ctx.set_text_baseline("middle");
    let _ = ctx.fill_text(text, x, y);
}

/// A [`Painter`] in kitchen cells, drawing in canvas pixels.
struct Scaled<'a> {
    ctx: &'a CanvasRenderingContext2d,
    scale: f64,
    top: f64,
}

impl Painter for Scaled<'_> {
    fn rect(&mut self, x: f32, y: f32, w: f32, h: f32, color: Color) {
        let s = self.scale;
        self.ctx.set_fill_style_str(&color.css());
        self.ctx.fill_rect(
            f64::from(x) * s,
            self.top + f64::from(y) * s,
            f64::from(w) * s,
            f64::from(h) * s,
        );
    }

    fn circle(&mut self, cx: f32, cy: f32, r: f32, color: Color) {
        let s = self.scale;
        self.ctx.set_fill_style_str(&color.css());
        self.ctx.begin_path();
        let _ = self.ctx.arc(
            f64::from(cx) * s,
            self.top + f64::from(cy) * s,
            f64::from(r) * s,
            0.0,
            std::f64::consts::TAU,
        );
        self.ctx.fill();
    }

    fn text(&mut self, cx: f32, cy: f32, size: f32, color: Color, label: &str) {
        let s = self.scale;
        text(
            self.ctx,
            f64::from(cx) * s,
            self.top + f64::from(cy) * s,
            f64::from(size) * s,
            &color.css(),
            label,
        );
    }
}

/// The frame callback; it holds its own slot to schedule itself again.
type FrameCallback = Rc<RefCell<Option<Closure<dyn FnMut()>>>>;

/// Calls back once per animation frame until dropped.
pub(super) struct AnimationLoop {
    callback: FrameCallback,
    request: Rc<RefCell<Option<i32>>>,
}

impl AnimationLoop {
    pub(super) fn start(events: WeakDispatch) -> Self {
        let callback: FrameCallback = Rc::new(RefCell::new(None));
        let request = Rc::new(RefCell::new(None));
        let next = {
            let callback = callback.clone();
            let request = request.clone();
            Closure::<dyn FnMut()>::new(move || {
                events.render();
                if let Some(cb) = callback.borrow().as_ref() {
                    *request.borrow_mut() = schedule(cb);
                }
            })
        };
        *request.borrow_mut() = schedule(&next);
        *callback.borrow_mut() = Some(next);
        Self { callback, request }
    }
}

fn schedule(callback: &Closure<dyn FnMut()>) -> Option<i32> {
    web_sys::window()?.request_animation_frame(callback.as_ref().unchecked_ref()).ok()
}

impl Drop for AnimationLoop {
    fn drop(&mut self) {
        if let (Some(window), Some(id)) = (web_sys::window(), self.request.borrow_mut().take()) {
            let _ = window.cancel_animation_frame(id);
        }
        // Breaks the closure's reference to itself.
        self.callback.borrow_mut().take();
    }
}
