//! The drawing surface environments render to: simple shapes in scene units, so the core can
//! describe a frame without knowing about canvases (the web adapter scales it to pixels).

/// An sRGB colour.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Color(pub u8, pub u8, pub u8);

impl Color {
    pub fn css(self) -> String {
        format!("rgb({},{},{})", self.0, self.1, self.2)
    }
}

/// Shapes in scene units (see [`crate::env::Env::view_size`]).
pub trait Painter {
    fn rect(&mut self, x: f32, y: f32, w: f32, h: f32, color: Color);
    fn circle(&mut self, cx: f32, cy: f32, r: f32, color: Color);
    /// The upper half of a disc centred on `(cx, cy)`.
    fn half_disc(&mut self, cx: f32, cy: f32, r: f32, color: Color);
    /// Centred text; `size` is the font height.
    fn text(&mut self, cx: f32, cy: f32, size: f32, color: Color, text: &str);
    /// This page's player, for a "you" marker; `None` where there is no such player.
    fn local_player(&self) -> Option<usize> {
        None
    }
    /// The surface underneath, for an environment that draws itself (a JavaScript one gets
    /// the canvas): `None` for painters that only take shapes.
    fn surface(&self) -> Option<&dyn std::any::Any> {
        None
    }
}

/// A painter that records what is drawn, for tests of environments' rendering.
#[cfg(test)]
#[derive(Debug, Default)]
pub(crate) struct Recording {
    pub(crate) player: Option<usize>,
    /// Every shape's bounding box (x0, y0, x1, y1).
    pub(crate) boxes: Vec<(f32, f32, f32, f32)>,
    pub(crate) texts: Vec<String>,
}

#[cfg(test)]
impl Painter for Recording {
    fn rect(&mut self, x: f32, y: f32, w: f32, h: f32, _color: Color) {
        self.boxes.push((x, y, x + w, y + h));
    }
    fn circle(&mut self, cx: f32, cy: f32, r: f32, _color: Color) {
        self.boxes.push((cx - r, cy - r, cx + r, cy + r));
    }
    fn half_disc(&mut self, cx: f32, cy: f32, r: f32, _color: Color) {
        self.boxes.push((cx - r, cy - r, cx + r, cy));
    }
    fn text(&mut self, cx: f32, cy: f32, size: f32, _color: Color, text: &str) {
        self.boxes.push((cx, cy - size / 2.0, cx, cy + size / 2.0));
        self.texts.push(text.to_owned());
    }
    fn local_player(&self) -> Option<usize> {
        self.player
    }
}

/// Every recorded shape lies inside the view (with `margin` for what may overhang a little).
#[cfg(test)]
pub(crate) fn assert_inside(recording: &Recording, (w, h): (f32, f32), margin: f32) {
    for &(x0, y0, x1, y1) in &recording.boxes {
        assert!(
            x0 >= -margin && y0 >= -margin && x1 <= w + margin && y1 <= h + margin,
            "({x0}, {y0})-({x1}, {y1}) outside {w} x {h}"
        );
    }
}
