//! An upload on its way to the relay, as the page keeps it: the `upload` message's wire text
//! and the two ids it is found by. A page reloaded with data still to deliver re-sends the text
//! as it is; the page's module never decodes an episode (an `Upload` decoder, with its sidecar,
//! cost 14 kB of the 250 kB gzip budget).

use rollgym_protocol::{ClientMsg, ParticipantId, Upload, UploadId};
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PendingUpload {
    pub participant_id: ParticipantId,
    pub upload_id: UploadId,
    /// The encoded [`ClientMsg::Upload`].
    pub message: String,
}

impl PendingUpload {
    pub fn new(upload: Upload) -> Self {
        Self {
            participant_id: upload.participant_id.clone(),
            upload_id: upload.upload_id.clone(),
            message: ClientMsg::Upload(Box::new(upload)).encode(),
        }
    }

    /// The upload inside, for tests and tools (the page itself never needs it).
    #[cfg(test)]
    pub fn upload(&self) -> Upload {
        match ClientMsg::decode(&self.message) {
            Ok(ClientMsg::Upload(upload)) => *upload,
            other => panic!("not an upload message: {other:?}"),
        }
    }
}
