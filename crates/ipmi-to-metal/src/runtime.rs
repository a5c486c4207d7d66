//! The I/O around the sans-IO session layer: one UDP socket per BMC and one task receiving on it,
//! which answers every request whose answer is ready at once itself, and gives a task only to
//! requests that wait on their backend. Each BMC's tasks run in its tracing span
//! (`bmc{name backend}`) and each request in its own (`request{peer user netfn cmd}`), so that
//! every log line says whose it is.
//!
//! The receive task waits for its socket to be readable, then reads, handles and answers the
//! datagrams waiting there without awaiting anything: the datagram buffer lives on the stack of
//! that synchronous part, so an idle BMC holds no buffer, and its task is small. The socket is
//! registered for reading only: a send on a UDP socket almost never blocks, and a registration
//! for writing too would wake the runtime after every send for nothing (each send raises the
//! socket's "writable" edge again). A request the
//! BMC model can answer without waiting (a refusal, the sim backend, a cached state) costs a
//! receive, one poll of its handler and a send: no task, no timer, no slot. Only a request whose
//! handler is still pending after that first poll takes one of the BMC's [`MAX_IN_FLIGHT`] slots
//! and a task bounded by [`REQUEST_DEADLINE`], counted from its arrival.
//!
//! Each answer is counted for the metrics in the table of the BMC's class, taken when it starts
//! (a relaxed atomic add: no lock, no allocation); the session layers' own counts are read at
//! scrape time (`metrics`).

use crate::config::BmcConfig;
use crate::factory::BackendFactory;
use backend_config::REQUEST_DEADLINE;
use ipmi_bmc::{Bmc, Response};
use ipmi_proto::session::{Action, Request, RequestContext, Server, ServerStats};
use ipmi_proto::types::CompletionCode;
use std::collections::HashMap;
use std::future::Future;
use std::io::ErrorKind;
use std::net::SocketAddr;
use std::net::UdpSocket;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};
use std::time::{Duration, Instant};
use tokio::io::unix::AsyncFd;
use tokio::io::Interest;
use tokio::sync::Semaphore;
use tracing::Instrument;

/// Requests of one BMC waiting on their backend at the same time; beyond that the client gets
/// 0xC0 (busy).
const MAX_IN_FLIGHT: usize = 32;
/// The largest datagram we accept; RMCP+ packets are far smaller.
const MAX_DATAGRAM: usize = 1500;
/// Datagrams one BMC handles in a row before letting the other tasks of its thread run.
const BURST: usize = 64;
/// One running BMC.
struct Running {
    /// Shared (by reference count) with the console task, which sends SOL packets on it.
    socket: AsyncFd<Arc<UdpSocket>>,
    /// Shared with the console task (SOL output, acks and retransmissions).
    server: Arc<Mutex<Server>>,
    bmc: Arc<Bmc>,
    slots: Arc<Semaphore>,
    /// Shutting down: only datagrams of open sessions are still taken.
    draining: AtomicBool,
    /// The console tasks (Serial over LAN, the console log).
    console: crate::console::ConsoleLink,
    /// The BMC's class for the metrics: its backend's kind (`routed` for a router).
    class: &'static str,
    /// The request counts of its class.
    requests: Arc<telemetry::requests::RequestCounters>,
}

/// Every BMC the process serves, by name; discovery adds and removes them while it runs.
pub struct Fleet {
    /// Boxed: the map's table (kept half empty as it grows, two of them while it does) holds a
    /// pointer per BMC, not the entry.
    bmcs: Mutex<HashMap<String, Box<Entry>>>,
    factory: Arc<Mutex<BackendFactory>>,
    /// The SEL database and each log's capacity; without it each BMC's SEL is in memory.
    sel: std::sync::OnceLock<(sel_store::SelStore, u16)>,
    /// Where the console logs go by default (`NAME.log` in it).
    console_logs: std::sync::OnceLock<std::path::PathBuf>,
    /// Where the virtual media state goes, and the iPXE endpoint's public URL.
    /// Shared by every BMC (one copy, not one a BMC).
    media: std::sync::OnceLock<Arc<ipmi_bmc::MediaSettings>>,
    /// Held by whoever changes which BMCs are served beyond one start or stop: a discovery
    /// applying a listing, a reload applying a configuration ([`Fleet::lock_membership`]).
    membership: tokio::sync::Mutex<()>,
    /// Where the audit records of every BMC go, if anywhere.
    audit: std::sync::OnceLock<Arc<dyn ipmi_bmc::AuditSink>>,
    /// The session-layer counts of the BMCs no longer served, by class, so that the metrics'
    /// counters never go back when a BMC stops.
    retired: Mutex<Vec<(&'static str, ServerStats)>>,
    /// Told whenever a BMC starts, restarts or stops (the BMCs' own Redfish services follow).
    changed: tokio::sync::watch::Sender<()>,
}

/// How long a shutdown waits, once the requests in flight are answered, for clients to close
/// their sessions (ipmitool closes its session right after its last answer).
pub const CLOSE_GRACE: Duration = Duration::from_secs(1);

/// The slots of a semaphore free now, taken (and how many), so that none is left to take.
fn take_free_slots(slots: &Arc<Semaphore>) -> (Option<tokio::sync::OwnedSemaphorePermit>, usize) {
    loop {
        let n = slots.available_permits();
        if n == 0 {
            return (None, 0);
        }
        // Fails only if a request took one meanwhile: count again.
        if let Ok(p) = slots.clone().try_acquire_many_owned(n as u32) {
            return (Some(p), n);
        }
    }
}

/// What [`Fleet::shut_down`] found and left.
#[derive(Debug)]
pub struct Drained {
    /// Requests in flight when it began.
    pub in_flight: usize,
    /// Of those, the ones still unanswered at the deadline.
    pub unanswered: usize,
    /// Sessions still open at the end, closed by the shutdown.
    pub sessions: usize,
}

struct Entry {
    /// The address it was configured to serve on.
    listen: SocketAddr,
    /// Where its own Redfish service listens, if configured.
    redfish_listen: Option<SocketAddr>,
    running: Arc<Running>,
    /// What the configuration says of it, for the admin API.
    info: Arc<status::BmcInfo>,
    task: tokio::task::AbortHandle,
    console_task: crate::console::ConsoleTask,
    span: tracing::Span,
}

impl Fleet {
    /// A fleet whose BMCs get their backends from `factory`.
    pub fn new(factory: Arc<Mutex<BackendFactory>>) -> Fleet {
        Fleet {
            bmcs: Mutex::default(),
            factory,
            sel: std::sync::OnceLock::new(),
            console_logs: std::sync::OnceLock::new(),
            media: std::sync::OnceLock::new(),
            membership: tokio::sync::Mutex::new(()),
            audit: std::sync::OnceLock::new(),
            retired: Mutex::default(),
            changed: tokio::sync::watch::Sender::new(()),
        }
    }

    /// Sends the audit records of every BMC started from now on to `sink`.
    pub fn keep_audit_in(&self, sink: Arc<dyn ipmi_bmc::AuditSink>) {
        let _ = self.audit.set(sink);
    }

    /// Why the audit log's writes fail, while they do, and whether requests are refused
    /// meanwhile (it fails closed).
    pub fn audit_failing(&self) -> Option<(String, bool)> {
        let sink = self.audit.get()?;
        sink.failing().map(|why| (why, sink.fails_closed()))
    }

    /// Keeps the console log of every BMC started from now on in `dir` (unless its own
    /// `[bmc.console] log` says otherwise).
    pub fn keep_console_logs_in(&self, dir: std::path::PathBuf) {
        let _ = self.console_logs.set(dir);
    }

    /// Keeps the virtual media state of every BMC started from now on as `settings` say.
    pub fn keep_media_as(&self, settings: ipmi_bmc::MediaSettings) {
        let _ = self.media.set(Arc::new(settings));
    }

    /// Keeps every BMC started from now on's SEL in `store`, `capacity` records each.
    pub fn keep_sel_in(&self, store: sel_store::SelStore, capacity: u16) {
        let _ = self.sel.set((store, capacity));
    }

    /// Binds the BMC's socket and starts serving it. A name already served is refused.
    pub fn start(&self, c: BmcConfig) -> std::io::Result<()> {
        let name = c.settings.name.clone();
        if self.serves(&name) {
            return Err(std::io::Error::new(
                std::io::ErrorKind::AlreadyExists,
                format!("bmc {name:?} is already served"),
            ));
        }
        let ready = self.prepare(c, None)?;
        self.commit(ready);
        Ok(())
    }

    /// Stops serving a BMC (its socket closes once its last request is answered).
    pub fn stop(&self, name: &str) -> bool {
        let entry = self
            .bmcs
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .remove(name);
        match entry {
            Some(e) => {
                self.changed.send_replace(());
                e.task.abort();
                e.console_task.abort();
                self.retire(&e.running);
                e.span.in_scope(|| tracing::info!("stopped serving"));
                true
            }
            None => false,
        }
    }

    /// The model of the BMC named `name`, and `f` run on its session server (for the logins of
    /// the Redfish service, counted in the same limiter as the BMC's IPMI logins).
    pub fn with_bmc<T>(
        &self,
        name: &str,
        f: impl FnOnce(&mut Server) -> T,
    ) -> Option<(Arc<Bmc>, T)> {
        // The fleet's lock only to find the entry; the server's only for `f`.
        let running = {
            let bmcs = self.bmcs.lock().unwrap_or_else(|e| e.into_inner());
            bmcs.get(name)?.running.clone()
        };
        let out = f(&mut running.server());
        Some((running.bmc.clone(), out))
    }

    /// The model of the BMC named `name`, if it is served.
    pub fn bmc(&self, name: &str) -> Option<Arc<Bmc>> {
        let bmcs = self.bmcs.lock().unwrap_or_else(|e| e.into_inner());
        bmcs.get(name).map(|e| e.running.bmc.clone())
    }

    /// The names of the BMCs served.
    pub fn names(&self) -> Vec<String> {
        self.bmcs
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .keys()
            .cloned()
            .collect()
    }

    /// Shuts every BMC down. At once: no new sessions (datagrams outside a session are
    /// dropped) and no new requests (answered busy, 0xC0), while the sessions open may still
    /// close. Then it waits until `deadline` for the requests in flight to be answered, and up to
    /// [`CLOSE_GRACE`] more for their clients to close their sessions, and closes the BMCs and
    /// the sessions left. The BMCs are gone from the fleet from the first moment.
    pub async fn shut_down(&self, deadline: Duration) -> Drained {
        let until = tokio::time::Instant::now() + deadline;
        let entries: Vec<Box<Entry>> = self
            .bmcs
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .drain()
            .map(|(_, e)| e)
            .collect();
        // Every free slot taken: a request that comes now finds none and is answered busy.
        let mut free = Vec::new();
        for e in &entries {
            e.running.draining.store(true, Ordering::Relaxed);
            free.push(take_free_slots(&e.running.slots));
        }
        let in_flight = free.iter().map(|(_, n)| MAX_IN_FLIGHT - n).sum();
        tracing::info!(
            bmcs = entries.len(),
            in_flight,
            "no new sessions or requests; waiting up to {deadline:?} for the requests in flight"
        );
        // A request holds its slot until its answer is sent: all slots back means all answered.
        // The slots are held to the end: no backend call starts during the shutdown.
        let mut unanswered = 0;
        let mut returned = Vec::new();
        for (e, (_, taken)) in entries.iter().zip(&free) {
            let rest = (MAX_IN_FLIGHT - taken) as u32;
            let all = e.running.slots.clone().acquire_many_owned(rest);
            match tokio::time::timeout_at(until, all).await {
                Ok(permits) => returned.push(permits),
                Err(_) => unanswered += MAX_IN_FLIGHT - taken - e.running.slots.available_permits(),
            }
        }
        let open = || -> usize {
            entries
                .iter()
                .map(|e| e.running.server().active_sessions())
                .sum()
        };
        let grace = tokio::time::Instant::now() + CLOSE_GRACE;
        while open() > 0 && tokio::time::Instant::now() < grace {
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        let sessions = open();
        for e in entries {
            e.task.abort();
            self.retire(&e.running);
            e.span.in_scope(|| tracing::info!("stopped serving"));
        }
        Drained {
            in_flight,
            unanswered,
            sessions,
        }
    }

    /// Every BMC served now, taken out of the fleet's lock so that the caller can lock each.
    /// Each comes with its log span.
    fn running(&self) -> Vec<(Arc<Running>, tracing::Span)> {
        self.bmcs
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .values()
            .map(|e| (e.running.clone(), e.span.clone()))
            .collect()
    }

    /// Closes the sessions of every BMC that have been idle too long and ends its logins in
    /// progress that took too long, each in the BMC's span: the lines about them (a login
    /// abandoned after RAKP 2 counts as failed, and may lock a user out) name the BMC.
    pub fn expire(&self, now: Instant) {
        for (r, span) in self.running() {
            let mut server = r.server();
            span.in_scope(|| server.expire(now));
            if server.sol_dirty() {
                r.console.notify();
            }
        }
    }
}

impl Running {
    /// A BMC served on `socket` (bound); must run inside the runtime.
    fn new(socket: UdpSocket, server: Server, bmc: Bmc, slots: usize) -> std::io::Result<Running> {
        socket.set_nonblocking(true)?;
        // SAFETY: the socket owns its file descriptor and is neither closed nor replaced while
        // registered: the AsyncFd owns it until it is dropped.
        let socket =
            unsafe { AsyncFd::register_with_interest(Arc::new(socket), Interest::READABLE) }
                .map_err(|e| e.into_parts().1)?;
        let class = bmc.backend().kind();
        // Before the first table is made (once per process; a check afterwards).
        metrics::name_commands();
        Ok(Running {
            socket,
            server: Arc::new(Mutex::new(server)),
            class,
            requests: telemetry::requests::for_class(class),
            bmc: Arc::new(bmc),
            slots: Arc::new(Semaphore::new(slots)),
            draining: AtomicBool::new(false),
            console: crate::console::ConsoleLink::default(),
        })
    }

    fn server(&self) -> std::sync::MutexGuard<'_, Server> {
        self.server.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Reads and handles the datagrams waiting on the socket, at most [`BURST`] of them, without
    /// awaiting: `cx` is the receive task's, for the first poll of each request.
    fn drain(self: &Arc<Self>, cx: &mut Context<'_>) -> DrainStep {
        let mut buf = [0u8; MAX_DATAGRAM];
        for _ in 0..BURST {
            let received = self
                .socket
                .try_io(Interest::READABLE, |s| s.recv_from(&mut buf));
            let (n, peer) = match received {
                Ok(x) => x,
                Err(e) if e.kind() == ErrorKind::WouldBlock => return DrainStep::Empty,
                // ICMP errors from earlier sends surface here on some systems; keep serving.
                Err(e)
                    if matches!(
                        e.kind(),
                        ErrorKind::ConnectionRefused | ErrorKind::ConnectionReset
                    ) =>
                {
                    continue
                }
                Err(e) => return DrainStep::Failed(e),
            };
            if self.draining.load(Ordering::Relaxed) && !crate::shutdown::in_session(&buf[..n]) {
                continue;
            }
            let now = Instant::now();
            let action = {
                let mut server = self.server();
                let action = server.handle(now, peer, &buf[..n]);
                if server.sol_dirty() {
                    self.console.notify();
                }
                action
            };
            match action {
                Action::Reply(bytes) => self.send_now(bytes, peer),
                Action::Drop(why) => tracing::debug!(%peer, why, "datagram dropped"),
                Action::Dispatch(req) => {
                    // A request carried out here must not take the receive task down with it
                    // if something in it panics: as a request task did, it loses its answer only.
                    let carried = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
                        self.dispatch(req, now, cx)
                    }));
                    if carried.is_err() {
                        tracing::error!(%peer, "a request panicked: it gets no answer");
                    }
                }
            }
        }
        DrainStep::Burst
    }

    /// Carries out a request: answered here if its answer is ready at the first poll, else in a
    /// task of its own holding one of the BMC's slots. Without a free slot, a request the model
    /// refuses outright still gets its refusal (0xD4, 0xC1...); any other gets 0xC0 without its
    /// backend being asked, as before: one that cannot be carried to the end is not started.
    fn dispatch(self: &Arc<Self>, req: Request, now: Instant, cx: &mut Context<'_>) {
        let span = spans::request_span(self, &req);
        let Ok(permit) = self.slots.clone().try_acquire_owned() else {
            let ccode = self.bmc.refusal(&req).unwrap_or_else(|| {
                span.in_scope(|| tracing::warn!("too many requests in flight: answering busy"));
                CompletionCode::NODE_BUSY
            });
            self.answer(&req, ccode, &[]);
            return;
        };
        let mut fut = Box::pin(carry_out(self.bmc.clone(), req, now + REQUEST_DEADLINE));
        // With the receive task's waker: a handler that registers it and then finishes in a
        // task of its own only costs the receive task a spurious wake-up.
        match span.in_scope(|| fut.as_mut().poll(cx)) {
            Poll::Ready((resp, req)) => {
                span.in_scope(|| self.answer(&req, resp.ccode, &resp.data));
                // Only now: a shutdown waits for every slot to know all answers are sent.
                drop(permit);
            }
            Poll::Pending => {
                let r = self.clone();
                let task = async move {
                    let (resp, req) = fut.await;
                    r.answer(&req, resp.ccode, &resp.data);
                    drop(permit);
                };
                tokio::spawn(task.instrument(span));
            }
        }
    }

    /// Counts the answer to `req` for the metrics, then seals and sends it.
    fn answer(self: &Arc<Self>, req: &Request, ccode: CompletionCode, data: &[u8]) {
        self.requests.count(req.netfn.0, req.cmd, ccode.0);
        self.answer_now(&req.context, ccode, data);
    }

    /// Seals the answer to a request and sends it (nothing if its session has gone since).
    fn answer_now(self: &Arc<Self>, ctx: &RequestContext, ccode: CompletionCode, data: &[u8]) {
        let sealed = self.server().seal(Instant::now(), ctx, ccode, data);
        if let Some(bytes) = sealed {
            self.send_now(bytes, ctx.peer);
        }
    }

    /// Sends at once if the socket takes it, else from a task that tries again a few times.
    fn send_now(self: &Arc<Self>, bytes: Vec<u8>, peer: SocketAddr) {
        match self.socket.get_ref().send_to(&bytes, peer) {
            Ok(_) => {}
            Err(e) if e.kind() == ErrorKind::WouldBlock => {
                let r = self.clone();
                tokio::spawn(async move { r.send_later(&bytes, peer).await }.in_current_span());
            }
            Err(e) => tracing::debug!(%peer, error = %e, "send failed"),
        }
    }

    async fn send_later(&self, bytes: &[u8], peer: SocketAddr) {
        match crate::udp_send::send_after_full(self.socket.get_ref(), bytes, peer).await {
            Err(e) if e.kind() == ErrorKind::WouldBlock => {
                tracing::debug!(%peer, "send failed: the socket stayed full")
            }
            Err(e) => tracing::debug!(%peer, error = %e, "send failed"),
            Ok(()) => {}
        }
    }
}

/// How [`Running::drain`] stopped.
enum DrainStep {
    /// Nothing more to read.
    Empty,
    /// [`BURST`] datagrams handled; there may be more.
    Burst,
    /// An unexpected receive error.
    Failed(std::io::Error),
}

/// A request carried out by the BMC model within its deadline, owning what it needs so that it
/// can move into a task. It gives the request back with the response, for sealing.
async fn carry_out(bmc: Arc<Bmc>, req: Request, deadline: Instant) -> (Response, Request) {
    let deadline = tokio::time::Instant::from_std(deadline);
    let resp = match tokio::time::timeout_at(deadline, bmc.handle(&req)).await {
        Ok(resp) => resp,
        Err(_) => {
            tracing::warn!("request timed out in the backend");
            Response::error(CompletionCode::TIMEOUT)
        }
    };
    (resp, req)
}

/// Serves one BMC until aborted: waits for its socket to be readable, then drains it. The
/// back-off timer of the error paths is boxed, so that the task of an idle BMC keeps no room
/// for it.
async fn receive_loop(r: Arc<Running>) -> std::io::Result<()> {
    loop {
        if let Err(e) = r.socket.readable().await.map(drop) {
            tracing::warn!(error = %e, "receive error");
            Box::pin(tokio::time::sleep(Duration::from_millis(50))).await;
            continue;
        }
        match std::future::poll_fn(|cx| Poll::Ready(r.drain(cx))).await {
            DrainStep::Empty => {}
            DrainStep::Burst => tokio::task::yield_now().await,
            DrainStep::Failed(e) => {
                // Unexpected: log it and back off rather than spin.
                tracing::warn!(error = %e, "receive error");
                Box::pin(tokio::time::sleep(Duration::from_millis(50))).await;
            }
        }
    }
}

mod metrics;
mod process;
mod spans;
mod status;
mod swap;

pub use process::{files_needed, raise_open_file_limit, release_free_memory};
pub use status::BmcView;
pub use swap::Ready;

#[cfg(test)]
mod tests;
