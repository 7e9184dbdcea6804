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
    env::{Color, DynEnv, Env, Painter},
    web::app::WeakDispatch,
};

/// CSS pixels per environment unit at most (one kitchen cell), and the widest the scene may be.
const MAX_UNIT: f64 = 120.0;
const MAX_WIDTH: f64 = 720.0;
/// Height of the score line above the scene, CSS pixels.
const HUD: f64 = 44.0;

pub(super) struct GameCanvas {
    canvas: HtmlCanvasElement,
    ctx: CanvasRenderingContext2d,
}

impl GameCanvas {
    pub(super) fn new(canvas: HtmlCanvasElement) -> Result<Self, JsValue> {
        let ctx: CanvasRenderingContext2d =
            canvas.get_context("2d")?.ok_or("no 2d context")?.dyn_into()?;
        Ok(Self { canvas, ctx })
    }

    pub(super) fn set_visible(&self, visible: bool) {
        self.canvas.set_hidden(!visible);
    }

    /// Sizes the canvas for the scene: CSS size from the scene, backing store times the
    /// device pixel ratio so it is crisp on high-DPI screens. Returns (scale, width, height)
    /// in CSS pixels.
    fn fit(&self, view: (f32, f32)) -> (f64, f64, f64) {
        let (w, h) = (f64::from(view.0).max(1.0), f64::from(view.1).max(1.0));
        let unit = MAX_UNIT.min(MAX_WIDTH / w);
        let (width, height) = ((w * unit).round(), (h * unit + HUD).round());
        let ratio = web_sys::window().map_or(1.0, |w| w.device_pixel_ratio()).clamp(1.0, 4.0);
        let (px_w, px_h) = ((width * ratio) as u32, (height * ratio) as u32);
        if self.canvas.width() != px_w || self.canvas.height() != px_h {
            self.canvas.set_width(px_w);
            self.canvas.set_height(px_h);
            let style = self.canvas.style();
            let _ = style.set_property("width", &format!("{width}px"));
            let _ = style.set_property("height", &format!("{height}px"));
        }
        let _ = self.ctx.set_transform(ratio, 0.0, 0.0, ratio, 0.0, 0.0);
        (unit, width, height)
    }

    /// Just the scene and a caption line above it (the console's replay player).
    #[cfg(feature = "console")]
    pub(super) fn draw_scene(&self, env: &DynEnv, caption: &str) {
        let (unit, width, height) = self.fit(env.view_size());
        let ctx = &self.ctx;
        ctx.set_fill_style_str("#f7f7f5");
        ctx.fill_rect(0.0, 0.0, width, height);
        let surface = SceneSurface { ctx: ctx.clone(), scale: unit, top: HUD, player: None };
        env.render(&mut Scaled { surface });
        fit_text(ctx, width / 2.0, HUD / 2.0, 18.0, width - 16.0, "#1d1d1f", caption);
    }

    pub(super) fn draw(&self, game: &Game<DynEnv>, status: &Status, config: &GameConfig) {
        let (unit, width, height) = self.fit(game.env.view_size());
        let ctx = &self.ctx;
        ctx.set_fill_style_str("#f7f7f5");
        ctx.fill_rect(0.0, 0.0, width, height);
        let surface =
            SceneSurface { ctx: ctx.clone(), scale: unit, top: HUD, player: status.player_index };
        game.env.render(&mut Scaled { surface });

        let plan = game.plan();
        let seconds_left = plan.max_steps.saturating_sub(game.step).div_ceil(config.fps.max(1));
        let mut hud = vec![
            game.env.score_text(game.score()),
            format!("Time {seconds_left}s"),
            format!("Round {} of {}", (game.episode + 1).min(plan.num_episodes), plan.num_episodes),
        ];
        if let Some(player) = status.player_index {
            hud.push(format!("You: {}", game.env.player_name(usize::from(player))));
        }
        fit_text(ctx, width / 2.0, HUD / 2.0, 18.0, width - 16.0, "#1d1d1f", &hud.join("   ·   "));

        let banner = match game.stage {
            Stage::Between { .. } => Some(format!("Round {} starting", game.episode + 1)),
            Stage::Playing | Stage::Done => None,
        };
        let banner = match status.phase {
            Phase::Countdown => Some(format!("Players found! {}", status.countdown.unwrap_or(1))),
            Phase::Matched => Some("Connecting to your partner…".to_owned()),
            _ => banner,
        };
        let banner = if status.reconnecting {
            Some("Reconnecting to your partner…".to_owned())
        } else if status.waiting_for_partner {
            Some("Waiting for your partner…".to_owned())
        } else {
            banner
        };
        if let Some(banner) = banner {
            let middle = HUD + (height - HUD) / 2.0;
            ctx.set_fill_style_str("rgba(255,255,255,0.85)");
            ctx.fill_rect(0.0, middle - 40.0, width, 80.0);
            fit_text(ctx, width / 2.0, middle, 36.0, width - 24.0, "#1d1d1f", &banner);
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

/// Centred text at `size`, made smaller when it would be wider than `max_width`.
fn fit_text(
    ctx: &CanvasRenderingContext2d,
    x: f64,
    y: f64,
    size: f64,
    max_width: f64,
    color: &str,
    label: &str,
) {
    ctx.set_font(&format!("{size:.0}px system-ui, sans-serif"));
    let measured = ctx.measure_text(label).map_or(0.0, |m| m.width());
    let size = if measured > max_width && measured > 0.0 {
        (size * max_width / measured).floor().max(8.0)
    } else {
        size
    };
    text(ctx, x, y, size, color, label);
}

/// The canvas under a scene: what an environment that draws itself (a JavaScript one) gets,
/// with the scale and offset the built-in painter uses.
pub(super) struct SceneSurface {
    pub(super) ctx: CanvasRenderingContext2d,
    /// CSS pixels per scene unit.
    pub(super) scale: f64,
    /// The scene starts this far below the top (under the score line).
    pub(super) top: f64,
    /// The local player, for "you" markers.
    pub(super) player: Option<u8>,
}

/// A [`Painter`] in scene units, drawing in CSS pixels.
struct Scaled {
    surface: SceneSurface,
}

impl Scaled {
    fn at(&self, x: f32, y: f32) -> (f64, f64) {
        let s = &self.surface;
        (f64::from(x) * s.scale, s.top + f64::from(y) * s.scale)
    }

    fn len(&self, v: f32) -> f64 {
        f64::from(v) * self.surface.scale
    }
}

impl Painter for Scaled {
    fn rect(&mut self, x: f32, y: f32, w: f32, h: f32, color: Color) {
        let (px, py) = self.at(x, y);
        let ctx = &self.surface.ctx;
        ctx.set_fill_style_str(&color.css());
        ctx.fill_rect(px, py, self.len(w), self.len(h));
    }

    fn circle(&mut self, cx: f32, cy: f32, r: f32, color: Color) {
        let (x, y) = self.at(cx, cy);
        let ctx = &self.surface.ctx;
        ctx.set_fill_style_str(&color.css());
        ctx.begin_path();
        let _ = ctx.arc(x, y, self.len(r), 0.0, std::f64::consts::TAU);
        ctx.fill();
    }

    fn half_disc(&mut self, cx: f32, cy: f32, r: f32, color: Color) {
        let (x, y) = self.at(cx, cy);
        let ctx = &self.surface.ctx;
        ctx.set_fill_style_str(&color.css());
        ctx.begin_path();
        let _ = ctx.arc(x, y, self.len(r), std::f64::consts::PI, std::f64::consts::TAU);
        ctx.close_path();
        ctx.fill();
    }

    fn text(&mut self, cx: f32, cy: f32, size: f32, color: Color, label: &str) {
        let (x, y) = self.at(cx, cy);
        text(&self.surface.ctx, x, y, self.len(size), &color.css(), label);
    }

    fn local_player(&self) -> Option<usize> {
        self.surface.player.map(usize::from)
    }

    fn surface(&self) -> Option<&dyn std::any::Any> {
        Some(&self.surface)
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
