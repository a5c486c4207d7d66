//! The I/O around the sans-IO session layer: one UDP socket per BMC and one task receiving on it,
//! which answers every request whose answer is ready at once itself, and gives a task only to
//! requests that wait on their backend. Each BMC's tasks run in its tracing span
//! (`bmc{name backend}`) and each request in its own (`request{peer user netfn cmd}`), so that
//! every log line says whose it is.
//!
//! A request the BMC model can answer without waiting (a refusal, the sim backend, a cached
//! state) costs a receive, one poll of its handler and a send: no task, no timer, no slot. Only a
//! request whose handler is still pending after that first poll takes one of the BMC's
//! [`MAX_IN_FLIGHT`] slots and a task bounded by [`REQUEST_DEADLINE`], counted from its arrival.

use crate::config::BmcConfig;
use crate::factory::BackendFactory;
use backend_config::REQUEST_DEADLINE;
use ipmi_bmc::{Bmc, Response};
use ipmi_proto::session::{Action, Request, RequestContext, Server};
use ipmi_proto::types::CompletionCode;
use std::collections::HashMap;
use std::future::Future;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::task::Poll;
use std::time::{Duration, Instant};
use tokio::net::UdpSocket;
use tokio::sync::Semaphore;
use tracing::Instrument;

/// Requests of one BMC waiting on their backend at the same time; beyond that the client gets
/// 0xC0 (busy).
const MAX_IN_FLIGHT: usize = 32;
/// The largest datagram we accept; RMCP+ packets are far smaller.
const MAX_DATAGRAM: usize = 1500;

/// One running BMC.
struct Running {
    socket: UdpSocket,
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
        let socket = UdpSocket::bind(c.listen).await.map_err(|e| {
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
        ));
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
    fn new(socket: UdpSocket, server: Server, bmc: Bmc, slots: usize) -> Running {
        Running {
            socket,
            server: Mutex::new(server),
            bmc: Arc::new(bmc),
            slots: Arc::new(Semaphore::new(slots)),
        }
    }

    fn server(&self) -> std::sync::MutexGuard<'_, Server> {
        self.server.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Seals the answer to a request and sends it (nothing if its session has gone since).
    async fn answer(&self, ctx: &RequestContext, ccode: CompletionCode, data: &[u8]) {
        let sealed = self.server().seal(Instant::now(), ctx, ccode, data);
        if let Some(bytes) = sealed {
            self.send(&bytes, ctx.peer).await;
        }
    }

    async fn send(&self, bytes: &[u8], peer: SocketAddr) {
        if let Err(e) = self.socket.send_to(bytes, peer).await {
            tracing::debug!(%peer, error = %e, "send failed");
        }
    }
}

/// The span of one request (inside its BMC's).
fn request_span(req: &Request) -> tracing::Span {
    let user = req
        .context
        .user
        .as_ref()
        .map_or("-", |(_, name)| name.as_str());
    tracing::info_span!(
        "request",
        peer = %req.context.peer,
        user = %user,
        netfn = format_args!("0x{:02x}", req.netfn.0),
        cmd = format_args!("0x{:02x}", req.cmd),
    )
}

/// A request carried out by the BMC model within its deadline, owning what it needs so that it
/// can move into a task. It gives the request back with the response, for sealing.
fn carry_out(
    bmc: Arc<Bmc>,
    req: Request,
    deadline: Instant,
) -> impl Future<Output = (Response, Request)> + Send {
    async move {
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
}

/// A boxed [`carry_out`] whose box is used again for the next request when the answer was ready
/// at once (the usual case), so that such a request allocates no future.
type Carried<F> = Option<Pin<Box<F>>>;

async fn receive_loop(r: Arc<Running>) -> std::io::Result<()> {
    let mut buf = vec![0u8; MAX_DATAGRAM];
    let mut spare = None;
    loop {
        let (n, peer) = match r.socket.recv_from(&mut buf).await {
            Ok(x) => x,
            Err(e) => {
                // ICMP errors from earlier sends surface here on some systems; keep serving.
                // Anything else is unexpected: log it and back off rather than spin.
                use std::io::ErrorKind;
                if !matches!(
                    e.kind(),
                    ErrorKind::ConnectionRefused | ErrorKind::ConnectionReset
                ) {
                    tracing::warn!(error = %e, "receive error");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                }
                continue;
            }
        };
        let now = Instant::now();
        let action = r.server().handle(now, peer, &buf[..n]);
        match action {
            Action::Reply(bytes) => r.send(&bytes, peer).await,
            Action::Drop(why) => tracing::debug!(%peer, why, "datagram dropped"),
            Action::Dispatch(req) => dispatch(&r, req, now, &mut spare, carry_out).await,
        }
    }
}

/// Carries out a request (its future made by `make`, [`carry_out`]): answered here if its answer
/// is ready at the first poll, else in a task of its own holding one of the BMC's slots. Without
/// a free slot, a request the model refuses outright still gets its refusal (0xD4, 0xC1...);
/// any other gets 0xC0 without its backend being asked, as before: one that cannot be carried
/// to the end must not be started.
async fn dispatch<F>(
    r: &Arc<Running>,
    req: Request,
    now: Instant,
    spare: &mut Carried<F>,
    make: fn(Arc<Bmc>, Request, Instant) -> F,
) where
    F: Future<Output = (Response, Request)> + Send + 'static,
{
    let span = request_span(&req);
    let Ok(permit) = r.slots.clone().try_acquire_owned() else {
        let ccode = r.bmc.refusal(&req).unwrap_or_else(|| {
            span.in_scope(|| tracing::warn!("too many requests in flight: answering busy"));
            CompletionCode::NODE_BUSY
        });
        r.answer(&req.context, ccode, &[]).await;
        return;
    };
    let carried = make(r.bmc.clone(), req, now + REQUEST_DEADLINE);
    let mut fut = match spare.take() {
        Some(mut boxed) => {
            boxed.set(carried);
            boxed
        }
        None => Box::pin(carried),
    };
    // One poll, in the request's span, with this task's waker: a handler that registers it and
    // then finishes in a task of its own only costs this loop a spurious wake-up.
    let first = std::future::poll_fn(|cx| Poll::Ready(span.in_scope(|| fut.as_mut().poll(cx))))
        .await;
    match first {
        Poll::Ready((resp, req)) => {
            drop(permit);
            *spare = Some(fut);
            r.answer(&req.context, resp.ccode, &resp.data)
                .instrument(span)
                .await;
        }
        Poll::Pending => {
            let r = r.clone();
            let task = async move {
                let (resp, req) = fut.await;
                drop(permit);
                r.answer(&req.context, resp.ccode, &resp.data).await;
            };
            tokio::spawn(task.instrument(span));
        }
    }
}

#[cfg(test)]
mod tests;
