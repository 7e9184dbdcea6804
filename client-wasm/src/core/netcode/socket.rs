//! ggrs's `NonBlockingSocket` over in-memory queues. The adapter that owns the real transports
//! (one DataChannel per partner in the browser, a simulated network in tests) moves packets in
//! and out of the [`Wire`], each with the partner it comes from or goes to; ggrs only ever
//! sees this socket.
//!
//! Packets from the partner are untrusted: undecodable ones are dropped and counted.

use std::{cell::RefCell, rc::Rc};

use ggrs::{Message, NonBlockingSocket};

/// A partner's address: its player index.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct PeerAddr(pub u8);

/// Packets waiting to be read or sent, with the partner each comes from or goes to, and
/// traffic counters (over every partner).
#[derive(Debug, Default)]
pub struct Wire {
    pub inbox: Vec<(PeerAddr, Vec<u8>)>,
    pub outbox: Vec<(PeerAddr, Vec<u8>)>,
    pub packets_sent: u64,
    pub packets_received: u64,
    pub bytes_sent: u64,
    pub bytes_received: u64,
    /// Packets that did not decode as a ggrs message.
    pub dropped: u64,
}

/// The socket handed to ggrs; shares its [`Wire`] with the driver.
#[derive(Debug)]
pub struct WireSocket {
    wire: Rc<RefCell<Wire>>,
}

impl WireSocket {
    pub fn new(wire: Rc<RefCell<Wire>>) -> Self {
        Self { wire }
    }
}

impl NonBlockingSocket<PeerAddr> for WireSocket {
    fn send_to(&mut self, msg: &Message, addr: &PeerAddr) {
        // A ggrs message always serializes; if it ever did not, losing it is what the
        // unreliable channel does anyway and ggrs resends.
        if let Ok(bytes) = postcard::to_allocvec(msg) {
            let mut wire = self.wire.borrow_mut();
            wire.packets_sent += 1;
            wire.bytes_sent += bytes.len() as u64;
            wire.outbox.push((*addr, bytes));
        }
    }

    fn receive_all_messages(&mut self) -> Vec<(PeerAddr, Message)> {
        let mut wire = self.wire.borrow_mut();
        let packets = std::mem::take(&mut wire.inbox);
        let mut messages = Vec::with_capacity(packets.len());
        for (from, packet) in packets {
            wire.packets_received += 1;
            wire.bytes_received += packet.len() as u64;
            match postcard::from_bytes::<Message>(&packet) {
                Ok(msg) => messages.push((from, msg)),
                Err(_) => wire.dropped += 1,
            }
        }
        messages
    }
}
