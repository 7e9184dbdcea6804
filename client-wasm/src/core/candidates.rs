//! Remote ICE candidates that arrive before the remote description.
//!
//! `addIceCandidate` fails until `setRemoteDescription` has completed, and a partner's first
//! candidates can overtake its offer or answer in our own asynchronous processing. They wait
//! here and are applied, in order, right after the description.

/// Holds candidates until the remote description is set.
#[derive(Debug)]
pub struct CandidateBuffer<C> {
    remote_description_set: bool,
    pending: Vec<C>,
}

impl<C> Default for CandidateBuffer<C> {
    fn default() -> Self {
        Self { remote_description_set: false, pending: Vec::new() }
    }
}

impl<C> CandidateBuffer<C> {
    /// A candidate arrived: returns it when it can be applied now, else keeps it.
    pub fn arrived(&mut self, candidate: C) -> Option<C> {
        if self.remote_description_set {
            Some(candidate)
        } else {
            self.pending.push(candidate);
            None
        }
    }

    /// The remote description is set: returns the buffered candidates, oldest first.
    pub fn remote_description_set(&mut self) -> Vec<C> {
        self.remote_description_set = true;
        std::mem::take(&mut self.pending)
    }

    pub fn pending_len(&self) -> usize {
        self.pending.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn early_candidates_wait_and_come_out_in_order() {
        let mut buffer = CandidateBuffer::default();
        assert_eq!(buffer.arrived(1), None);
        assert_eq!(buffer.arrived(2), None);
        assert_eq!(buffer.pending_len(), 2);
        assert_eq!(buffer.remote_description_set(), vec![1, 2]);
        assert_eq!(buffer.arrived(3), Some(3));
        assert_eq!(buffer.pending_len(), 0);
    }
}
