//! Browser storage: undelivered uploads (`localStorage`, so they survive a reload or a crash
//! of the tab) and the relay-assigned participant id (`sessionStorage`, so a reload of this
//! tab keeps its identity while another tab gets its own).

use rollgym_protocol::{ParticipantId, UploadId};

use crate::core::pending::PendingUpload;

/// Undelivered uploads as wire text ([`PendingUpload`]); "rollgym.uploads" held decoded ones
/// before protocol version 4.
const UPLOADS_KEY: &str = "rollgym.pending";
const PARTICIPANT_KEY: &str = "rollgym.participant";

fn local() -> Option<web_sys::Storage> {
    web_sys::window()?.local_storage().ok()?
}

fn session() -> Option<web_sys::Storage> {
    web_sys::window()?.session_storage().ok()?
}

/// Every undelivered upload of this browser profile.
pub(super) fn pending_uploads() -> Vec<PendingUpload> {
    let text = local().and_then(|s| s.get_item(UPLOADS_KEY).ok().flatten());
    // Unreadable data (another version, manual edits) is dropped rather than fatal.
    text.and_then(|t| serde_json::from_str(&t).ok()).unwrap_or_default()
}

fn save_uploads(uploads: &[PendingUpload]) {
    let Some(storage) = local() else { return };
    let Ok(text) = serde_json::to_string(uploads) else { return };
    if let Err(err) = storage.set_item(UPLOADS_KEY, &text) {
        // Full storage: the upload is still held in memory and sent; only a reload loses it.
        web_sys::console::warn_2(&"rollgym: cannot keep data in browser storage".into(), &err);
    }
}

pub(super) fn persist(upload: &PendingUpload) {
    let mut uploads = pending_uploads();
    uploads
        .retain(|u| u.upload_id != upload.upload_id || u.participant_id != upload.participant_id);
    uploads.push(upload.clone());
    save_uploads(&uploads);
}

/// Both players of a game in one browser profile (two tabs) share this storage and the
/// upload id, so the participant is part of the key.
pub(super) fn forget(participant: &ParticipantId, upload_id: &UploadId) {
    let mut uploads = pending_uploads();
    uploads.retain(|u| &u.upload_id != upload_id || &u.participant_id != participant);
    save_uploads(&uploads);
}

/// The id the relay assigned to this tab earlier, if any.
pub(super) fn remembered_participant() -> Option<ParticipantId> {
    let raw = session()?.get_item(PARTICIPANT_KEY).ok()??;
    ParticipantId::parse(&raw).ok()
}

pub(super) fn remember_participant(id: &str) {
    if let Some(storage) = session() {
        let _ = storage.set_item(PARTICIPANT_KEY, id);
    }
}
