//! # ipmi-client
//!
//! An async IPMI 2.0 / RMCP+ client on tokio: the I/O around [`ipmi_proto::session::Client`],
//! with retransmission, timeouts and re-login; and [`bench`], a load generator built on it.

#![warn(missing_docs)]

pub mod bench;

use ipmi_proto::session::{Client, Client15, ClientConfig, ClientError, ClientEvent, Interface};
use ipmi_proto::types::{CompletionCode, NetFn};
use std::net::SocketAddr;
use std::time::Duration;
use tokio::net::UdpSocket;
use tokio::time::timeout;

/// Why a call failed.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// No answer after every retry.
    #[error("no answer from {0} after {1} tries")]
    Timeout(SocketAddr, u32),
    /// The login was refused or failed.
    #[error("login failed: {0}")]
    Login(#[from] ClientError),
    /// A socket error.
    #[error("socket error: {0}")]
    Io(#[from] std::io::Error),
}

/// Retransmission policy: each try waits `timeout`; `retries` more tries after the first.
#[derive(Clone, Copy, Debug)]
pub struct Retry {
    /// How long to wait for an answer to one try.
    pub timeout: Duration,
    /// How many times to send again.
    pub retries: u32,
}

impl Default for Retry {
    fn default() -> Self {
        Retry {
            timeout: Duration::from_secs(1),
            retries: 3,
        }
    }
}

/// A response: completion code and data.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Response {
    /// The completion code.
    pub ccode: CompletionCode,
    /// The data after the completion code.
    pub data: Vec<u8>,
}

/// The session protocol state, IPMI 2.0 or 1.5.
enum Proto {
    V20(Client),
    V15(Client15),
}

impl Proto {
    fn new(config: &ClientConfig) -> Self {
        match config.interface {
            Interface::Lanplus => Proto::V20(Client::new(config.clone())),
            Interface::Lan => Proto::V15(Client15::new(config.clone())),
        }
    }
    fn start(&mut self) -> Vec<u8> {
        match self {
            Proto::V20(c) => c.start(),
            Proto::V15(c) => c.start(),
        }
    }
    fn retransmission(&mut self) -> Vec<u8> {
        match self {
            Proto::V20(c) => c.retransmission(),
            Proto::V15(c) => c.retransmission(),
        }
    }
    fn request(&mut self, netfn: NetFn, cmd: u8, data: &[u8]) -> Result<Vec<u8>, ClientError> {
        match self {
            Proto::V20(c) => c.request(netfn, cmd, data),
            Proto::V15(c) => c.request(netfn, cmd, data),
        }
    }
    fn close(&mut self) -> Result<Vec<u8>, ClientError> {
        match self {
            Proto::V20(c) => c.close(),
            Proto::V15(c) => c.close(),
        }
    }
    fn handle(&mut self, datagram: &[u8]) -> Result<ClientEvent, ClientError> {
        match self {
            Proto::V20(c) => c.handle(datagram),
            Proto::V15(c) => c.handle(datagram),
        }
    }
}

/// An open session (RMCP+ or IPMI 1.5, as [`ClientConfig::interface`] says) with one BMC.
pub struct Session {
    socket: UdpSocket,
    peer: SocketAddr,
    client: Proto,
    config: ClientConfig,
    retry: Retry,
}

impl Session {
    /// Connects to `peer` and logs in.
    pub async fn open(peer: SocketAddr, config: ClientConfig, retry: Retry) -> Result<Self, Error> {
        let bind: SocketAddr = if peer.is_ipv4() {
            "0.0.0.0:0".parse().expect("valid")
        } else {
            "[::]:0".parse().expect("valid")
        };
        let socket = UdpSocket::bind(bind).await?;
        socket.connect(peer).await?;
        let mut s = Session {
            socket,
            peer,
            client: Proto::new(&config),
            config,
            retry,
        };
        s.login().await?;
        Ok(s)
    }

    /// The cipher suite in use (`None` for IPMI 1.5).
    pub fn cipher_suite(&self) -> Option<u8> {
        match &self.client {
            Proto::V20(c) => c.cipher_suite(),
            Proto::V15(_) => None,
        }
    }

    async fn login(&mut self) -> Result<(), Error> {
        self.client = Proto::new(&self.config);
        let mut out = self.client.start();
        loop {
            match self.exchange(&out).await? {
                ClientEvent::Send(next) => out = next,
                ClientEvent::Established => return Ok(()),
                ClientEvent::Response(_) | ClientEvent::Ignored => {}
            }
        }
    }

    /// Sends `out` and waits for the first datagram that means something, resending on timeout.
    async fn exchange(&mut self, out: &[u8]) -> Result<ClientEvent, Error> {
        let mut buf = [0u8; 2048];
        for attempt in 0..=self.retry.retries {
            if attempt == 0 {
                self.socket.send(out).await?;
            } else {
                let again = self.client.retransmission();
                self.socket.send(&again).await?;
            }
            let deadline = tokio::time::Instant::now() + self.retry.timeout;
            loop {
                let left = deadline.saturating_duration_since(tokio::time::Instant::now());
                let Ok(received) = timeout(left, self.socket.recv(&mut buf)).await else {
                    break;
                };
                let n = match received {
                    Ok(n) => n,
                    // ICMP port unreachable surfaces here: treat as a lost answer.
                    Err(_) => break,
                };
                match self.client.handle(&buf[..n])? {
                    ClientEvent::Ignored => continue,
                    ev => return Ok(ev),
                }
            }
        }
        Err(Error::Timeout(self.peer, self.retry.retries + 1))
    }

    /// Sends a request and waits for its response.
    pub async fn request(&mut self, netfn: NetFn, cmd: u8, data: &[u8]) -> Result<Response, Error> {
        let out = self.client.request(netfn, cmd, data)?;
        match self.exchange(&out).await? {
            ClientEvent::Response(r) => Ok(Response {
                ccode: r.ccode,
                data: r.data,
            }),
            _ => Err(Error::Login(ClientError::State)),
        }
    }

    /// Like [`Session::request`], but logs in again once if the BMC stopped answering (it may have
    /// dropped the session, or restarted).
    pub async fn request_relogin(
        &mut self,
        netfn: NetFn,
        cmd: u8,
        data: &[u8],
    ) -> Result<Response, Error> {
        match self.request(netfn, cmd, data).await {
            Err(Error::Timeout(..)) => {
                tracing::info!(peer = %self.peer, "no answer in session: logging in again");
                self.login().await?;
                self.request(netfn, cmd, data).await
            }
            other => other,
        }
    }

    /// Closes the session (best effort: the answer is not awaited beyond one timeout).
    pub async fn close(mut self) {
        if let Ok(out) = self.client.close() {
            let _ = self.socket.send(&out).await;
            let mut buf = [0u8; 512];
            let _ = timeout(self.retry.timeout, self.socket.recv(&mut buf)).await;
        }
    }
}

impl Session {
    /// The session's socket (connected to the BMC) and its RMCP+ state, for a caller that runs
    /// a payload of its own in the session (Serial over LAN); `None` for IPMI 1.5, which has no
    /// payloads (the session is then dropped without closing).
    pub fn into_parts(self) -> Option<(UdpSocket, Client, Retry)> {
        match self.client {
            Proto::V20(c) => Some((self.socket, c, self.retry)),
            Proto::V15(_) => None,
        }
    }
}
