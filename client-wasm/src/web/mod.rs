//! The browser adapter: the only code that touches web-sys. It turns browser events into
//! [`crate::core::session::Input`]s and carries out the resulting commands.

mod app;
mod clock;
mod hook;
mod keyboard;
mod peer;
mod relay_socket;
mod render;
mod screen;
mod storage;

use wasm_bindgen::prelude::*;

/// Entry point, run by wasm-bindgen when the module is instantiated.
#[wasm_bindgen(start)]
pub(crate) fn start() -> Result<(), JsValue> {
    app::launch()
}
