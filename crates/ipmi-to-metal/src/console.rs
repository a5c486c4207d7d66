//! The I/O of a BMC's serial console: one task reads the backend's console continuously (the
//! console log gets every byte, whether or not a SOL session is attached; a source that drops is
//! opened again with backoff and the gap marked in the log), and one task carries Serial over
//! LAN between the session layer and the console: console output in, the datagrams and the
//! retransmissions the session layer asks for out, keyboard input to the console.

use crate::config::ConsoleSettings;
use crate::console_log::ConsoleLog;
use ipmi_bmc::{AuditSink, Backend, Bmc, Console, Requester};
use ipmi_proto::session::{Server, SolEvent};
use std::io::ErrorKind;
use std::net::{SocketAddr, UdpSocket};
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tokio::sync::{mpsc, Notify};
use tracing::Instrument;

/// The most console output read at once.
const CHUNK: usize = 4096;
/// The most read at once while the console may be idle (see [`ReadBuffer`]).
const IDLE_CHUNK: usize = 256;
/// Backoff between attempts to open a console that failed or closed: from 1 s up to this.
const MAX_BACKOFF: Duration = Duration::from_secs(30);

/// What the console tasks of a BMC share with its receive loop.
pub struct ConsoleLink {
    /// Woken when the session layer has SOL work ([`Server::sol_dirty`]).
    pub wake: Arc<Notify>,
}

/// The console as it is now: open, or being opened again.
type Current = Arc<Mutex<Option<Arc<dyn Console>>>>;

/// Starts the console tasks of `bmc` (through its backend; SOL sessions audited where its
/// audit records go); they end when `server`'s BMC stops (abort the handle).
pub fn spawn(
    bmc: &Bmc,
    server: Arc<Mutex<Server>>,
    socket: Arc<UdpSocket>,
    settings: ConsoleSettings,
    log_path: Option<PathBuf>,
    link: &ConsoleLink,
) -> tokio::task::AbortHandle {
    let name = bmc.settings().name.as_str();
    let backend = bmc.backend().clone();
    let audit = bmc.audit_sink().cloned();
    let log = log_path.and_then(|p| match ConsoleLog::open(p.clone(), &settings) {
        Ok(l) => Some(l),
        Err(e) => {
            tracing::warn!(path = %p.display(), error = %e, "console log cannot be opened: console output is not kept");
            None
        }
    });
    let (tx, rx) = mpsc::channel(4);
    let current: Current = Arc::default();
    let who = Requester {
        user: "console".into(),
        peer: "0.0.0.0:0".parse().expect("an address"),
        bmc: name.to_string(),
    };
    let reader = tokio::spawn(read_console(backend, who, current.clone(), tx).in_current_span());
    let pump = Pump {
        server,
        socket,
        current,
        log,
        replay_bytes: settings.replay_bytes,
        attached: false,
        replay: Vec::new(),
        audit,
        bmc: name.to_string(),
        attached_by: None,
    };
    let wake = link.wake.clone();
    let task = tokio::spawn(
        async move {
            // The reader goes with the pump.
            let _reader = AbortOnDrop(reader);
            pump.run(rx, wake).await
        }
        .in_current_span(),
    );
    task.abort_handle()
}

struct AbortOnDrop(tokio::task::JoinHandle<()>);

impl Drop for AbortOnDrop {
    fn drop(&mut self) {
        self.0.abort();
    }
}

/// Something from the console reader.
enum Read {
    Output(Vec<u8>),
    /// The source was lost or found again (for the log).
    Mark(String),
}

/// Opens the console and reads it for ever, sending what it prints; opens it again with backoff
/// when it fails or closes.
async fn read_console(
    backend: Arc<dyn Backend>,
    who: Requester,
    current: Current,
    tx: mpsc::Sender<Read>,
) {
    let mut backoff = Duration::from_secs(1);
    let mut lost: Option<String> = None;
    loop {
        let console: Arc<dyn Console> = match backend.console(&who).await {
            Ok(c) => Arc::from(c),
            Err(ipmi_bmc::BackendError::NotSupported) => {
                tracing::debug!("the backend has no console");
                return;
            }
            Err(e) => {
                if lost.is_none() {
                    tracing::warn!(error = %e, "console cannot be opened: trying again");
                    let _ = tx
                        .send(Read::Mark(format!("console unavailable: {e}")))
                        .await;
                }
                lost = Some(e.to_string());
                tokio::time::sleep(backoff).await;
                backoff = (backoff * 2).min(MAX_BACKOFF);
                continue;
            }
        };
        if lost.take().is_some() {
            tracing::info!("console open again");
            let _ = tx.send(Read::Mark("console open again".into())).await;
        }
        *current.lock().unwrap_or_else(|e| e.into_inner()) = Some(console.clone());
        let mut buf = ReadBuffer::default();
        let why = loop {
            match console.read(buf.space()).await {
                Ok(0) => break "the console closed".to_string(),
                Ok(n) => {
                    backoff = Duration::from_secs(1);
                    if tx.send(Read::Output(buf.take(n))).await.is_err() {
                        return;
                    }
                }
                Err(e) => break e.to_string(),
            }
        };
        *current.lock().unwrap_or_else(|e| e.into_inner()) = None;
        tracing::warn!(why = %why, "console lost: opening it again");
        let _ = tx.send(Read::Mark(format!("console lost: {why}"))).await;
        lost = Some(why);
        tokio::time::sleep(backoff).await;
        backoff = (backoff * 2).min(MAX_BACKOFF);
    }
}

/// What the console is read into. A console is mostly idle, and a read waiting for output holds
/// its buffer all the while: a small one then (10,000 BMCs each waiting with [`CHUNK`] bytes held
/// 40 MB), a large one only while output keeps coming, as a read that fills the small one says.
/// The bytes and their order are the same either way.
struct ReadBuffer {
    small: [u8; IDLE_CHUNK],
    /// Empty, or [`CHUNK`] bytes.
    large: Vec<u8>,
}

impl Default for ReadBuffer {
    fn default() -> Self {
        ReadBuffer {
            small: [0; IDLE_CHUNK],
            large: Vec::new(),
        }
    }
}

impl ReadBuffer {
    /// Where the next read goes.
    fn space(&mut self) -> &mut [u8] {
        if self.large.is_empty() {
            &mut self.small
        } else {
            &mut self.large
        }
    }

    /// The `n` bytes just read into [`ReadBuffer::space`]. The next read gets the large buffer
    /// if they filled the small one (more is waiting), the small one again once a read leaves
    /// the large one unfilled (the output is drained).
    fn take(&mut self, n: usize) -> Vec<u8> {
        let data = self.space()[..n].to_vec();
        if self.large.is_empty() {
            if n == IDLE_CHUNK {
                self.large = vec![0; CHUNK];
            }
        } else if n < CHUNK {
            self.large = Vec::new();
        }
        data
    }
}

/// Sends on the BMC's (non-blocking) socket, which its receive task reads: a send the socket
/// refuses for a full buffer is tried again a few times, then dropped as a lost datagram would be
/// (SOL retransmits).
async fn send_to(socket: &UdpSocket, bytes: &[u8], peer: SocketAddr) -> std::io::Result<()> {
    for pause_ms in [1, 5, 20, 100] {
        match socket.send_to(bytes, peer) {
            Err(e) if e.kind() == ErrorKind::WouldBlock => {
                tokio::time::sleep(Duration::from_millis(pause_ms)).await;
            }
            r => return r.map(drop),
        }
    }
    Err(ErrorKind::WouldBlock.into())
}

/// Carries SOL between the session layer and the console.
struct Pump {
    server: Arc<Mutex<Server>>,
    socket: Arc<UdpSocket>,
    current: Current,
    log: Option<ConsoleLog>,
    replay_bytes: usize,
    /// A SOL instance is active: output goes to it.
    attached: bool,
    /// The log's end, still to be sent to a newly activated instance before new output.
    replay: Vec<u8>,
    /// Where SOL activations and deactivations are audited, if anywhere.
    audit: Option<Arc<dyn AuditSink>>,
    /// The BMC's name, for the audit.
    bmc: String,
    /// Who activated the instance attached now, for the audit of its end.
    attached_by: Option<Requester>,
}

impl Pump {
    fn server(&self) -> std::sync::MutexGuard<'_, Server> {
        self.server.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn console(&self) -> Option<Arc<dyn Console>> {
        self.current
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
    }

    async fn run(mut self, mut rx: mpsc::Receiver<Read>, wake: Arc<Notify>) {
        let mut next: Option<Instant> = None;
        loop {
            self.feed_replay();
            // While the remote console lags, leave the output in the console (flow control).
            let take =
                !self.attached || (self.replay.is_empty() && self.server().sol_room() >= CHUNK);
            let sleep = next.map_or(Duration::from_secs(3600), |t| {
                t.saturating_duration_since(Instant::now())
            });
            tokio::select! {
                r = rx.recv(), if take => match r {
                    Some(Read::Output(data)) => self.output(&data),
                    Some(Read::Mark(what)) => {
                        if let Some(l) = self.log.as_mut() {
                            l.mark(&what);
                        }
                    }
                    None => return,
                },
                _ = wake.notified() => {}
                _ = tokio::time::sleep(sleep) => {}
            }
            next = self.poll().await;
        }
    }

    fn output(&mut self, data: &[u8]) {
        if let Some(l) = self.log.as_mut() {
            l.append(data);
        }
        if self.attached {
            let taken = self.server().sol_output(Instant::now(), data);
            if taken < data.len() {
                tracing::debug!(lost = data.len() - taken, "SOL output buffer full");
            }
        }
    }

    fn feed_replay(&mut self) {
        if self.replay.is_empty() {
            return;
        }
        let taken = self.server().sol_output(Instant::now(), &self.replay);
        self.replay.drain(..taken);
    }

    /// Audits a SOL instance attached to the console (`activated`) or detached from it.
    async fn audit_sol(&self, who: Requester, activated: bool, why: Option<&str>) {
        if let Some(sink) = &self.audit {
            let record = crate::audit::sol_record(who, activated, why);
            sink.record(record, ipmi_bmc::Durability::Written).await;
        }
    }

    /// Does what the session layer asks; returns when to come back.
    async fn poll(&mut self) -> Option<Instant> {
        let poll = self.server().sol_poll(Instant::now());
        for (peer, bytes) in &poll.send {
            if let Err(e) = send_to(&self.socket, bytes, *peer).await {
                tracing::debug!(%peer, error = %e, "SOL send failed");
            }
        }
        for e in &poll.events {
            match e {
                SolEvent::Activated { user, peer } => {
                    tracing::info!(%user, %peer, "SOL session attached to the console");
                    let who = Requester {
                        user: user.clone(),
                        peer: *peer,
                        bmc: self.bmc.clone(),
                    };
                    self.audit_sol(who.clone(), true, None).await;
                    self.attached_by = Some(who);
                    self.attached = true;
                    self.replay = match (&self.log, self.replay_bytes) {
                        (Some(l), n) if n > 0 => l.tail(n),
                        _ => Vec::new(),
                    };
                }
                SolEvent::Deactivated(why) => {
                    tracing::info!(why, "SOL session detached from the console");
                    if let Some(who) = self.attached_by.take() {
                        self.audit_sol(who, false, Some(why)).await;
                    }
                    self.attached = false;
                    self.replay.clear();
                }
                SolEvent::Break => {
                    if let Some(c) = self.console() {
                        let _ = c.send_break().await;
                    }
                }
            }
        }
        if !poll.input.is_empty() {
            match self.console() {
                Some(c) => {
                    if let Err(e) = c.write(&poll.input).await {
                        tracing::warn!(error = %e, "typing into the console failed");
                    }
                }
                None => tracing::debug!("keys typed while the console is away: dropped"),
            }
        }
        if !self.replay.is_empty() {
            // Come back at once to send more of it.
            return Some(Instant::now() + Duration::from_millis(5));
        }
        poll.next
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_read_buffer_is_small_while_idle_and_large_while_output_keeps_coming() {
        let mut b = ReadBuffer::default();
        let read = |b: &mut ReadBuffer, available: &mut Vec<u8>| {
            let space = b.space();
            let n = space.len().min(available.len());
            space[..n].copy_from_slice(&available[..n]);
            available.drain(..n);
            b.take(n)
        };
        assert_eq!(b.space().len(), IDLE_CHUNK);
        assert_eq!(b.large.capacity(), 0, "nothing on the heap while idle");
        // A short read: still small.
        let mut waiting = b"login: ".to_vec();
        assert_eq!(read(&mut b, &mut waiting), b"login: ");
        assert_eq!(b.space().len(), IDLE_CHUNK);
        // A burst: the small buffer fills, then the large one takes the rest, in order.
        let burst: Vec<u8> = (0..6000u32).map(|i| i as u8).collect();
        let mut waiting = burst.clone();
        let mut got = Vec::new();
        let mut sizes = Vec::new();
        while !waiting.is_empty() {
            let chunk = read(&mut b, &mut waiting);
            sizes.push(chunk.len());
            got.extend(chunk);
        }
        assert_eq!(got, burst);
        assert_eq!(sizes, [IDLE_CHUNK, CHUNK, 6000 - IDLE_CHUNK - CHUNK]);
        // Drained: small again, the large buffer given back.
        assert_eq!(b.space().len(), IDLE_CHUNK);
        assert_eq!(b.large.capacity(), 0);
    }
}
