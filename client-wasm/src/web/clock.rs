//! The game clock: a dedicated Web Worker that posts a message every frame.
//!
//! Main-thread timers are throttled to once a second in a hidden tab; a Worker's are not, and
//! its messages still reach a hidden page at full rate, so a hidden tab keeps simulating and
//! its partner never waits for it. The worker schedules against `performance.now()` so ticks
//! do not drift. Dropping the clock terminates the worker.

use gloo_events::EventListener;
use js_sys::Array;
use wasm_bindgen::JsValue;
use web_sys::{Blob, BlobPropertyBag, Url, Worker};

use crate::web::app::WeakDispatch;

/// The worker's whole program; `PERIOD` is replaced with the frame period in ms.
const WORKER_JS: &str = "
const period = PERIOD;
let next = performance.now() + period;
function tick() {
  postMessage(0);
  next += period;
  const now = performance.now();
  // After a long stall (a frozen page), restart the schedule instead of bursting.
  if (next < now - 1000) next = now + period;
  setTimeout(tick, Math.max(0, next - now));
}
setTimeout(tick, period);
";

pub(super) struct WorkerClock {
    worker: Worker,
    url: String,
    _on_tick: EventListener,
}

impl WorkerClock {
    pub(super) fn start(fps: u32, events: WeakDispatch) -> Result<Self, JsValue> {
        let period = 1000.0 / f64::from(fps.max(1));
        let source = WORKER_JS.replace("PERIOD", &period.to_string());
        let options = BlobPropertyBag::new();
        options.set_type("text/javascript");
        let parts = Array::of1(&JsValue::from_str(&source));
        let blob = Blob::new_with_str_sequence_and_options(&parts, &options)?;
        let url = Url::create_object_url_with_blob(&blob)?;
        let worker = Worker::new(&url)?;
        let on_tick = EventListener::new(&worker, "message", move |_| events.clock_tick());
        Ok(Self { worker, url, _on_tick: on_tick })
    }
}

impl Drop for WorkerClock {
    fn drop(&mut self) {
        self.worker.terminate();
        let _ = Url::revoke_object_url(&self.url);
    }
}
