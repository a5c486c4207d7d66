//! Sending on a BMC's UDP socket, which is non-blocking and registered for reading only (its
//! receive task reads it): a send the socket refuses because its buffer is full is tried again
//! after a few pauses, then dropped as a lost datagram would be (the client, or SOL, sends again).

use std::io::ErrorKind;
use std::net::{SocketAddr, UdpSocket};
use std::time::Duration;

/// The pauses before each new try of a send the socket refused for a full buffer.
const RETRY_PAUSES: [Duration; 4] = [
    Duration::from_millis(1),
    Duration::from_millis(5),
    Duration::from_millis(20),
    Duration::from_millis(100),
];

/// Sends now if the socket takes it, else tries again after each of the pauses.
pub async fn send(socket: &UdpSocket, bytes: &[u8], peer: SocketAddr) -> std::io::Result<()> {
    match socket.send_to(bytes, peer) {
        Err(e) if e.kind() == ErrorKind::WouldBlock => send_after_full(socket, bytes, peer).await,
        r => r.map(drop),
    }
}

/// Tries again, after each of the pauses, a send the socket refused for a full buffer; a
/// `WouldBlock` error if it stayed full.
pub async fn send_after_full(
    socket: &UdpSocket,
    bytes: &[u8],
    peer: SocketAddr,
) -> std::io::Result<()> {
    for pause in RETRY_PAUSES {
        tokio::time::sleep(pause).await;
        match socket.send_to(bytes, peer) {
            Err(e) if e.kind() == ErrorKind::WouldBlock => continue,
            r => return r.map(drop),
        }
    }
    Err(ErrorKind::WouldBlock.into())
}
