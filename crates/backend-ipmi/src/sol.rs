//! The BMC behind's Serial over LAN as this BMC's console: a session of its own (apart from the
//! one that carries commands) in which the payload is activated, its packets acknowledged as
//! they come (a repeated packet acknowledged again, its characters taken once) and what is typed
//! sent one packet at a time, each sent again until acknowledged (partial acceptance: the rest
//! goes in the next one). A Get Device ID keeps the session alive. The console reads as closed
//! when the BMC deactivates the payload, stops answering, or the session fails; dropping it
//! deactivates the payload and closes the session.

use async_trait::async_trait;
use ipmi_bmc::{BackendError, BackendResult, Console};
use ipmi_client::{Retry, Session};
use ipmi_proto::cmd::app::{ActivatePayloadResponse, AUX_AUTHENTICATE, AUX_ENCRYPT};
use ipmi_proto::cmd::Body;
use ipmi_proto::session::{Client, ClientConfig, ClientEvent};
use ipmi_proto::types::{CompletionCode, NetFn};
use ipmi_proto::wire::ipmi20::PayloadType;
use ipmi_proto::wire::sol::{next_seq, op, status, Repr};
use std::net::SocketAddr;
use std::time::Duration;
use tokio::net::UdpSocket;
use tokio::sync::{mpsc, Mutex};
use tokio::time::Instant;

const ACTIVATE_PAYLOAD: u8 = 0x48;
const DEACTIVATE_PAYLOAD: u8 = 0x49;
const GET_DEVICE_ID: u8 = 0x01;
/// SOL, instance 1.
const SOL_INSTANCE: [u8; 2] = [PayloadType::SOL.0, 1];
/// A packet of typed characters is sent again after this long without its acknowledgement...
const RETRY_AFTER: Duration = Duration::from_millis(500);
/// ... this many times at most.
const RETRIES: u32 = 7;
/// The session is kept alive this often (BMCs close idle sessions, commonly after 60 s).
const KEEPALIVE: Duration = Duration::from_secs(15);
/// The BMC silent this long (keep-alives unanswered): the console is lost.
const SILENCE: Duration = Duration::from_secs(50);

/// The BMC behind's SOL.
pub struct IpmiConsole {
    output: Mutex<(mpsc::Receiver<Vec<u8>>, Vec<u8>)>,
    input: mpsc::Sender<Input>,
}

enum Input {
    Keys(Vec<u8>),
    Break,
}

/// Logs in to `address`, activates SOL and starts relaying it.
pub async fn open(
    address: SocketAddr,
    config: ClientConfig,
    retry: Retry,
) -> BackendResult<IpmiConsole> {
    let session = Session::open(address, config, retry)
        .await
        .map_err(|e| BackendError::Failed(format!("SOL session: {e}")))?;
    let Some((socket, mut client, retry)) = session.into_parts() else {
        return Err(BackendError::NotSupported);
    };
    let aux = AUX_ENCRYPT | AUX_AUTHENTICATE;
    let mut data = SOL_INSTANCE.to_vec();
    data.extend_from_slice(&[aux, 0, 0, 0]);
    let r = ask(
        &socket,
        &mut client,
        retry,
        NetFn::APP,
        ACTIVATE_PAYLOAD,
        &data,
    )
    .await?;
    if r.0 != CompletionCode::OK {
        close(&socket, &mut client).await;
        return Err(BackendError::Failed(format!(
            "the BMC behind refused to activate SOL: completion code {}",
            r.0
        )));
    }
    let sizes = ActivatePayloadResponse::parse(&r.1)
        .map_err(|_| BackendError::Failed("malformed Activate Payload answer".into()))?;
    let max_chars = usize::from(sizes.inbound_size.saturating_sub(4)).clamp(1, 255);
    tracing::info!(bmc_behind = %address, "SOL of the BMC behind activated");
    let (out_tx, out_rx) = mpsc::channel(8);
    let (in_tx, in_rx) = mpsc::channel(16);
    let relay = Relay {
        socket,
        client,
        output: out_tx,
        max_chars,
        address,
    };
    tokio::spawn(tracing::Instrument::in_current_span(relay.run(in_rx)));
    Ok(IpmiConsole {
        output: Mutex::new((out_rx, Vec::new())),
        input: in_tx,
    })
}

/// Sends a request in the session and waits for its response (SOL packets meanwhile dropped:
/// there is no instance yet, or it is ending).
async fn ask(
    socket: &UdpSocket,
    client: &mut Client,
    retry: Retry,
    netfn: NetFn,
    cmd: u8,
    data: &[u8],
) -> BackendResult<(CompletionCode, Vec<u8>)> {
    let out = client
        .request(netfn, cmd, data)
        .map_err(|e| BackendError::Failed(e.to_string()))?;
    let mut buf = [0u8; 2048];
    for attempt in 0..=retry.retries {
        let bytes = if attempt == 0 {
            out.clone()
        } else {
            client.retransmission()
        };
        socket.send(&bytes).await.map_err(io)?;
        let until = Instant::now() + retry.timeout;
        while let Ok(Ok(n)) = tokio::time::timeout_at(until, socket.recv(&mut buf)).await {
            if client.open_payload(PayloadType::SOL, &buf[..n]).is_some() {
                continue;
            }
            if let Ok(ClientEvent::Response(r)) = client.handle(&buf[..n]) {
                if r.cmd == cmd {
                    return Ok((r.ccode, r.data));
                }
            }
        }
    }
    Err(BackendError::Timeout(
        "the BMC behind did not answer".into(),
    ))
}

fn io(e: std::io::Error) -> BackendError {
    BackendError::Failed(e.to_string())
}

/// Deactivates SOL and closes the session, without waiting long for either.
async fn close(socket: &UdpSocket, client: &mut Client) {
    let quick = Retry {
        timeout: Duration::from_millis(300),
        retries: 1,
    };
    let mut data = SOL_INSTANCE.to_vec();
    data.extend_from_slice(&[0; 4]);
    let _ = ask(socket, client, quick, NetFn::APP, DEACTIVATE_PAYLOAD, &data).await;
    if let Ok(out) = client.close() {
        let _ = socket.send(&out).await;
    }
}

/// A packet of typed characters waiting for its acknowledgement.
struct InFlight {
    seq: u8,
    data: Vec<u8>,
    flags: u8,
    sent_at: Instant,
    sends: u32,
}

struct Relay {
    socket: UdpSocket,
    client: Client,
    output: mpsc::Sender<Vec<u8>>,
    max_chars: usize,
    address: SocketAddr,
}

impl Relay {
    async fn send(&mut self, p: &Repr) -> bool {
        match self.client.payload(PayloadType::SOL, &p.to_bytes()) {
            Ok(bytes) => self.socket.send(&bytes).await.is_ok(),
            Err(_) => false,
        }
    }

    async fn run(mut self, mut input: mpsc::Receiver<Input>) {
        let why = self.relay(&mut input).await;
        tracing::info!(bmc_behind = %self.address, why, "SOL of the BMC behind ended");
        close(&self.socket, &mut self.client).await;
    }

    async fn relay(&mut self, input: &mut mpsc::Receiver<Input>) -> &'static str {
        let mut buf = [0u8; 2048];
        let mut typed: Vec<u8> = Vec::new();
        let mut brk = false;
        let mut in_flight: Option<InFlight> = None;
        let mut next = 1u8;
        let mut last_in = (0u8, 0u8);
        let mut heard = Instant::now();
        let mut keepalive = tokio::time::interval(KEEPALIVE);
        keepalive.tick().await;
        loop {
            // Typed characters go out one packet at a time.
            if in_flight.is_none() && (!typed.is_empty() || brk) {
                let n = typed.len().min(self.max_chars);
                let f = InFlight {
                    seq: next,
                    data: typed.drain(..n).collect(),
                    flags: if std::mem::take(&mut brk) {
                        op::BREAK
                    } else {
                        0
                    },
                    sent_at: Instant::now(),
                    sends: 1,
                };
                next = next_seq(next);
                let p = Repr {
                    seq: f.seq,
                    flags: f.flags,
                    data: f.data.clone(),
                    ..Repr::default()
                };
                if !self.send(&p).await {
                    return "the session failed";
                }
                in_flight = Some(f);
            }
            let retry_at = in_flight
                .as_ref()
                .map_or(Instant::now() + KEEPALIVE, |f| f.sent_at + RETRY_AFTER);
            tokio::select! {
                got = input.recv(), if typed.len() < 4096 => match got {
                    Some(Input::Keys(k)) => typed.extend_from_slice(&k),
                    Some(Input::Break) => brk = true,
                    // The console was dropped: deactivate and close.
                    None => return "the console was closed",
                },
                r = self.socket.recv(&mut buf) => {
                    let Ok(n) = r else { return "the socket failed" };
                    let Some(payload) = self.client.open_payload(PayloadType::SOL, &buf[..n]) else {
                        // A keep-alive's answer, or something stale.
                        if let Ok(ClientEvent::Response(_)) = self.client.handle(&buf[..n]) {
                            heard = Instant::now();
                        }
                        continue;
                    };
                    heard = Instant::now();
                    let Ok(p) = Repr::parse(&payload) else { continue };
                    if let Some(f) = in_flight.as_ref().filter(|f| p.ack_seq != 0 && p.ack_seq == f.seq) {
                        let taken = if p.has(status::NACK) { 0 } else { usize::from(p.accepted).min(f.data.len()) };
                        let mut rest = f.data[taken..].to_vec();
                        rest.extend_from_slice(&typed);
                        typed = rest;
                        in_flight = None;
                    }
                    if p.seq != 0 {
                        if p.seq != last_in.0 {
                            last_in = (p.seq, p.data.len().min(255) as u8);
                            if !p.data.is_empty() && self.output.send(p.data.clone()).await.is_err() {
                                return "the console was closed";
                            }
                        }
                        let ack = Repr { ack_seq: last_in.0, accepted: last_in.1, ..Repr::default() };
                        if !self.send(&ack).await {
                            return "the session failed";
                        }
                    }
                    if p.has(status::DEACTIVATING) {
                        return "the BMC behind deactivated SOL";
                    }
                }
                _ = tokio::time::sleep_until(retry_at) => {
                    if let Some(f) = in_flight.as_mut() {
                        if f.sends > RETRIES {
                            tracing::warn!(bmc_behind = %self.address, chars = f.data.len(), "typed characters not acknowledged by the BMC behind: dropped");
                            in_flight = None;
                        } else {
                            f.sends += 1;
                            f.sent_at = Instant::now();
                            let p = Repr { seq: f.seq, flags: f.flags, data: f.data.clone(), ..Repr::default() };
                            if !self.send(&p).await {
                                return "the session failed";
                            }
                        }
                    }
                }
                _ = keepalive.tick() => {
                    if heard.elapsed() > SILENCE {
                        return "the BMC behind stopped answering";
                    }
                    if let Ok(out) = self.client.request(NetFn::APP, GET_DEVICE_ID, &[]) {
                        let _ = self.socket.send(&out).await;
                    }
                }
            }
        }
    }
}

#[async_trait]
impl Console for IpmiConsole {
    async fn read(&self, buf: &mut [u8]) -> BackendResult<usize> {
        let mut out = self.output.lock().await;
        let (rx, left) = &mut *out;
        if left.is_empty() {
            match rx.recv().await {
                Some(chunk) => *left = chunk,
                None => return Ok(0),
            }
        }
        let n = left.len().min(buf.len());
        buf[..n].copy_from_slice(&left[..n]);
        left.drain(..n);
        Ok(n)
    }

    async fn write(&self, data: &[u8]) -> BackendResult<()> {
        self.input
            .send(Input::Keys(data.to_vec()))
            .await
            .map_err(|_| BackendError::Failed("the SOL of the BMC behind ended".into()))
    }

    async fn send_break(&self) -> BackendResult<()> {
        let _ = self.input.send(Input::Break).await;
        Ok(())
    }
}
