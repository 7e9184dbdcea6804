//! The game clock: a dedicated Web Worker that posts a message every frame.
//!
//! Main-thread timers are throttled to once a second in a hidden tab; a Worker's are not, and
//! its messages still reach a hidden page at full rate, so a hidden tab keeps simulating and
//! its partner never waits for it. The worker schedules against `performance.now()` so ticks
//! do not drift. Dropping the clock terminates the worker.
//!
//! A page that cannot run the worker (a Content-Security-Policy without `blob:` in
//! `worker-src`, for example) cannot play: the construction error, or the worker's `error`
//! event when the browser refuses it later, is reported once as fatal, never retried.

use gloo_events::EventListener;
use js_sys::Array;
use wasm_bindgen::{JsCast, JsValue};
use web_sys::{Blob, BlobPropertyBag, ErrorEvent, Url, Worker};

use crate::{core::session::Input, web::app::WeakDispatch};

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
    _on_error: EventListener,
}

/// What the participant and the researcher read when the clock cannot run.
pub(super) fn clock_failure(detail: &str) -> String {
    format!(
        "The game cannot run on this page: its clock (a Web Worker) could not start ({detail}). \
         If this page sets a Content-Security-Policy, it must allow blob: in worker-src."
    )
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
        let worker = match Worker::new(&url) {
            Ok(worker) => worker,
            Err(err) => {
                let _ = Url::revoke_object_url(&url);
                return Err(err);
            }
        };
        let on_error = {
            let events = events.clone();
            EventListener::new(&worker, "error", move |event| {
                let detail = event
                    .dyn_ref::<ErrorEvent>()
                    .map(ErrorEvent::message)
                    .filter(|m| !m.is_empty())
                    .unwrap_or_else(|| "the browser refused to run it".into());
                events.send(Input::Fatal(clock_failure(&detail)));
            })
        };
        let on_tick = EventListener::new(&worker, "message", move |_| events.clock_tick());
        Ok(Self { worker, url, _on_tick: on_tick, _on_error: on_error })
    }
}

impl Drop for WorkerClock {
    fn drop(&mut self) {
        self.worker.terminate();
        let _ = Url::revoke_object_url(&self.url);
    }
}
