//! `ipmi-to-metal echo-floor` (hidden): a UDP echo server on the server's own runtime, the floor
//! `bench/cpu-per-request.sh` measures the server against beside the blocking C echo server.
//!
//! It waits as a BMC's receive loop does (the multi-threaded runtime of `serve`, the socket's
//! readiness awaited, then read until it would block: one more read a wake-up than a blocking
//! `recvfrom`) and keeps a one-second interval running as `serve`'s session expiry does (so the
//! runtime parks with a timer armed). What it costs a datagram is what tokio and the kernel
//! cost any server built this way before it does any work: the part of a session that no
//! change to the IPMI code can remove (docs/performance-sessions.md, "Fifth pass").

use std::io::ErrorKind;
use std::net::SocketAddr;
use std::time::Duration;

/// Serves until killed: every datagram to `listen` is sent back to its sender.
pub fn run(listen: SocketAddr) -> Result<(), String> {
    let rt = crate::tokio_runtime(true)?;
    rt.block_on(async move {
        let socket = tokio::net::UdpSocket::bind(listen)
            .await
            .map_err(|e| format!("cannot listen on {listen}: {e}"))?;
        tokio::spawn(async {
            let mut tick = tokio::time::interval(Duration::from_secs(1));
            loop {
                tick.tick().await;
            }
        });
        let echo = tokio::spawn(async move {
            let mut buf = [0u8; 1500];
            loop {
                socket.readable().await?;
                loop {
                    match socket.try_recv_from(&mut buf) {
                        // A lost answer is the client's to send again, as with any UDP server.
                        Ok((n, peer)) => drop(socket.try_send_to(&buf[..n], peer)),
                        Err(e) if e.kind() == ErrorKind::WouldBlock => break,
                        Err(e) => return Err::<(), _>(e),
                    }
                }
            }
        });
        match echo.await {
            Ok(Ok(())) => Ok(()),
            Ok(Err(e)) => Err(format!("receive error: {e}")),
            Err(e) => Err(format!("the echo task ended: {e}")),
        }
    })
}
