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

use crate::config::BmcConfig;
use crate::factory::BackendFactory;
use backend_config::REQUEST_DEADLINE;
use ipmi_bmc::{Bmc, Response};
use ipmi_proto::session::{Action, Request, RequestContext, Server};
use ipmi_proto::types::CompletionCode;
use std::collections::HashMap;
use std::future::Future;
use std::io::ErrorKind;
use std::net::SocketAddr;
use std::net::UdpSocket;
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
/// A send the socket refused (its buffer full) is tried again after these pauses, then dropped
/// as a lost datagram would be (the client sends its request again).
const SEND_RETRIES: [Duration; 4] = [
    Duration::from_millis(1),
    Duration::from_millis(5),
    Duration::from_millis(20),
    Duration::from_millis(100),
];

/// One running BMC.
struct Running {
    socket: AsyncFd<UdpSocket>,
    server: Mutex<Server>,
    bmc: Arc<Bmc>,
    slots: Arc<Semaphore>,
}

/// Every BMC the process serves, by name; discovery adds and removes them while it runs.
pub struct Fleet {
    bmcs: Mutex<HashMap<String, Entry>>,
    factory: Arc<Mutex<BackendFactory>>,
}

struct Entry {
    running: Arc<Running>,
    task: tokio::task::AbortHandle,
    span: tracing::Span,
}

impl Fleet {
    /// A fleet whose BMCs get their backends from `factory`.
    pub fn new(factory: Arc<Mutex<BackendFactory>>) -> Fleet {
        Fleet {
            bmcs: Mutex::default(),
            factory,
        }
    }

    /// Binds the BMC's socket and starts serving it. A name already served is refused.
    pub async fn start(&self, c: BmcConfig) -> std::io::Result<()> {
        let name = c.settings.name.clone();
        if self
            .bmcs
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .contains_key(&name)
        {
            return Err(std::io::Error::new(
                std::io::ErrorKind::AlreadyExists,
                format!("bmc {name:?} is already served"),
            ));
        }
        let socket = UdpSocket::bind(c.listen).map_err(|e| {
            std::io::Error::new(
                e.kind(),
                format!("bmc {name:?}: cannot listen on {}: {e}", c.listen),
            )
        })?;
        // A root span: a BMC started by a discovery is no part of the discovery's work.
        let span =
            tracing::info_span!(parent: None, "bmc", name = %name, backend = tracing::field::Empty);
        // The backend is built in the span, so that the tasks it starts log in it too.
        let backend = span
            .in_scope(|| {
                self.factory
                    .lock()
                    .unwrap_or_else(|e| e.into_inner())
                    .bmc(&c)
            })
            .map_err(|e| std::io::Error::other(format!("bmc {name:?}: {e}")))?;
        span.record("backend", tracing::field::display(backend.kind()));
        span.in_scope(|| {
            tracing::info!(listen = %c.listen, users = c.server.users.len(), "serving");
        });
        let running = Arc::new(Running::new(
            socket,
            Server::new(c.server),
            Bmc::new(c.settings, backend),
            MAX_IN_FLIGHT,
        )?);
        let task =
            tokio::spawn(receive_loop(running.clone()).instrument(span.clone())).abort_handle();
        self.bmcs.lock().unwrap_or_else(|e| e.into_inner()).insert(
            name,
            Entry {
                running,
                task,
                span,
            },
        );
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
                e.task.abort();
                e.span.in_scope(|| tracing::info!("stopped serving"));
                true
            }
            None => false,
        }
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

    /// Closes the sessions of every BMC that have been idle too long.
    pub fn expire(&self, now: Instant) {
        let all: Vec<Arc<Running>> = self
            .bmcs
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .values()
            .map(|e| e.running.clone())
            .collect();
        for r in all {
            r.server().expire(now);
        }
    }
}

impl Running {
    /// A BMC served on `socket` (bound); must run inside the runtime.
    fn new(socket: UdpSocket, server: Server, bmc: Bmc, slots: usize) -> std::io::Result<Running> {
        socket.set_nonblocking(true)?;
        // SAFETY: the socket owns its file descriptor and is neither closed nor replaced while
        // registered: the AsyncFd owns it until it is dropped.
        let socket = unsafe { AsyncFd::register_with_interest(socket, Interest::READABLE) }
            .map_err(|e| e.into_parts().1)?;
        Ok(Running {
            socket,
            server: Mutex::new(server),
            bmc: Arc::new(bmc),
            slots: Arc::new(Semaphore::new(slots)),
        })
    }

    fn server(&self) -> std::sync::MutexGuard<'_, Server> {
        self.server.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Reads and handles the datagrams waiting on the socket, at most [`BURST`] of them, without
    /// awaiting: `cx` is the receive task's, for the first poll of each request.
    fn drain(self: &Arc<Self>, cx: &mut Context<'_>) -> Drained {
        let mut buf = [0u8; MAX_DATAGRAM];
        for _ in 0..BURST {
            let received = self
                .socket
                .try_io(Interest::READABLE, |s| s.recv_from(&mut buf));
            let (n, peer) = match received {
                Ok(x) => x,
                Err(e) if e.kind() == ErrorKind::WouldBlock => return Drained::Empty,
                // ICMP errors from earlier sends surface here on some systems; keep serving.
                Err(e)
                    if matches!(
                        e.kind(),
                        ErrorKind::ConnectionRefused | ErrorKind::ConnectionReset
                    ) =>
                {
                    continue
                }
                Err(e) => return Drained::Failed(e),
            };
            let now = Instant::now();
            let action = self.server().handle(now, peer, &buf[..n]);
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
        Drained::Burst
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
            self.answer_now(&req.context, ccode, &[]);
            return;
        };
        let mut fut = Box::pin(carry_out(self.bmc.clone(), req, now + REQUEST_DEADLINE));
        // With the receive task's waker: a handler that registers it and then finishes in a
        // task of its own only costs the receive task a spurious wake-up.
        match span.in_scope(|| fut.as_mut().poll(cx)) {
            Poll::Ready((resp, req)) => {
                drop(permit);
                span.in_scope(|| self.answer_now(&req.context, resp.ccode, &resp.data));
            }
            Poll::Pending => {
                let r = self.clone();
                let task = async move {
                    let (resp, req) = fut.await;
                    drop(permit);
                    r.answer_now(&req.context, resp.ccode, &resp.data);
                };
                tokio::spawn(task.instrument(span));
            }
        }
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
        for pause in SEND_RETRIES {
            tokio::time::sleep(pause).await;
            match self.socket.get_ref().send_to(bytes, peer) {
                Err(e) if e.kind() == ErrorKind::WouldBlock => continue,
                Err(e) => tracing::debug!(%peer, error = %e, "send failed"),
                Ok(_) => {}
            }
            return;
        }
        tracing::debug!(%peer, "send failed: the socket stayed full");
    }
}

/// How [`Running::drain`] stopped.
enum Drained {
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

/// Serves one BMC until aborted: waits for its socket to be readable, then drains it.
async fn receive_loop(r: Arc<Running>) -> std::io::Result<()> {
    loop {
        if let Err(e) = r.socket.readable().await.map(drop) {
            tracing::warn!(error = %e, "receive error");
            tokio::time::sleep(Duration::from_millis(50)).await;
            continue;
        }
        match std::future::poll_fn(|cx| Poll::Ready(r.drain(cx))).await {
            Drained::Empty => {}
            Drained::Burst => tokio::task::yield_now().await,
            Drained::Failed(e) => {
                // Unexpected: log it and back off rather than spin.
                tracing::warn!(error = %e, "receive error");
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
        }
    }
}

mod process;
mod spans;

pub use process::{raise_open_file_limit, release_free_memory};

#[cfg(test)]
mod tests;
