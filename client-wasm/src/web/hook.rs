//! `window.rollgym`: the read-only status object that tests and embedding pages watch.
//!
//! Every field is redefined as a non-writable property on each update, so a page script can
//! read the client's state but not change it by accident.

use js_sys::{JSON, Object, Reflect};
use wasm_bindgen::JsValue;

use crate::core::status::Status;

pub(super) struct Hook {
    object: Object,
}

impl Hook {
    /// Replaces the placeholder the page set before the module loaded.
    pub(super) fn install() -> Result<Self, JsValue> {
        let window = web_sys::window().ok_or("no window")?;
        let object = Object::new();
        let ready_at = window.performance().map(|p| p.now()).unwrap_or(0.0);
        define(&object, "readyAtMs", &JsValue::from_f64(ready_at))?;
        Reflect::set(&window, &"rollgym".into(), &object)?;
        Ok(Self { object })
    }

    pub(super) fn publish(&self, status: &Status) -> Result<(), JsValue> {
        let json = serde_json::to_string(status).map_err(|e| JsValue::from_str(&e.to_string()))?;
        let fields = JSON::parse(&json)?;
        for key in Object::keys(&Object::from(fields.clone())) {
            define(
                &self.object,
                &key.as_string().unwrap_or_default(),
                &Reflect::get(&fields, &key)?,
            )?;
        }
        Ok(())
    }
}

fn define(object: &Object, key: &str, value: &JsValue) -> Result<(), JsValue> {
    let descriptor = Object::new();
    Reflect::set(&descriptor, &"value".into(), value)?;
    Reflect::set(&descriptor, &"enumerable".into(), &JsValue::TRUE)?;
    Reflect::set(&descriptor, &"configurable".into(), &JsValue::TRUE)?;
    Object::define_property(object, &key.into(), &descriptor);
    Ok(())
}
