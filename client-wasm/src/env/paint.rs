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
    /// The surface underneath, for an environment that draws itself (a JavaScript one gets
    /// the canvas): `None` for painters that only take shapes.
    fn surface(&self) -> Option<&dyn std::any::Any> {
        None
    }
}
