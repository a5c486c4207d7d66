//! The I/O around the sans-IO session layer: one UDP socket per BMC, a task per request carried
//! out by the BMC model. Each BMC's tasks run in its tracing span (`bmc{name backend}`) and each
//! request in its own (`request{peer user netfn cmd}`), so that every log line says whose it is.

use crate::config::BmcConfig;
use crate::factory::BackendFactory;
use backend_config::REQUEST_DEADLINE;
use ipmi_bmc::{Bmc, Response};
use ipmi_proto::session::{Action, Request, Server};
use ipmi_proto::types::CompletionCode;
use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tokio::net::UdpSocket;
use tokio::sync::Semaphore;
use tracing::Instrument;

/// Requests of one BMC carried out at the same time; beyond that the client gets 0xC0 (busy).
const MAX_IN_FLIGHT: usize = 32;
/// The largest datagram we accept; RMCP+ packets are far smaller.
const MAX_DATAGRAM: usize = 1500;

/// One running BMC.
struct Running {
    socket: Arc<UdpSocket>,
    server: Arc<Mutex<Server>>,
    bmc: Arc<Bmc>,
    slots: Arc<Semaphore>,
    /// Shutting down: only datagrams of open sessions are still taken.
    draining: AtomicBool,
    /// The console tasks (Serial over LAN, the console log).
    console: crate::console::ConsoleLink,
}

/// Every BMC the process serves, by name; discovery adds and removes them while it runs.
pub struct Fleet {
    bmcs: Mutex<HashMap<String, Entry>>,
    factory: Arc<Mutex<BackendFactory>>,
    /// The SEL database and each log's capacity; without it each BMC's SEL is in memory.
    sel: std::sync::OnceLock<(sel_store::SelStore, u16)>,
    /// Where the console logs go by default (`NAME.log` in it).
    console_logs: std::sync::OnceLock<std::path::PathBuf>,
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
    running: Arc<Running>,
    task: tokio::task::AbortHandle,
    console_task: tokio::task::AbortHandle,
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
        }
    }

    /// Keeps the console log of every BMC started from now on in `dir` (unless its own
    /// `[bmc.console] log` says otherwise).
    pub fn keep_console_logs_in(&self, dir: std::path::PathBuf) {
        let _ = self.console_logs.set(dir);
    }

    /// Keeps every BMC started from now on's SEL in `store`, `capacity` records each.
    pub fn keep_sel_in(&self, store: sel_store::SelStore, capacity: u16) {
        let _ = self.sel.set((store, capacity));
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
        let log_path = c.console.log.clone().or_else(|| {
            self.console_logs
                .get()
                .map(|d| d.join(format!("{name}.log")))
        });
        let console_settings = c.console.clone();
        let running = Arc::new(Running {
            socket: Arc::new(socket),
            server: Arc::new(Mutex::new(Server::new(c.server))),
            bmc: Arc::new(match self.sel.get() {
                Some((store, capacity)) => {
                    let log = store.log(&c.settings.name, *capacity);
                    Bmc::with_sel(c.settings, backend, log)
                }
                None => Bmc::new(c.settings, backend),
            }),
            slots: Arc::new(Semaphore::new(MAX_IN_FLIGHT)),
            draining: AtomicBool::new(false),
            console: crate::console::ConsoleLink {
                wake: Arc::default(),
            },
        });
        let console_task = span.in_scope(|| {
            crate::console::spawn(
                &name,
                running.server.clone(),
                running.socket.clone(),
                running.bmc.backend().clone(),
                console_settings,
                log_path,
                &running.console,
            )
        });
        let task =
            tokio::spawn(receive_loop(running.clone()).instrument(span.clone())).abort_handle();
        self.bmcs.lock().unwrap_or_else(|e| e.into_inner()).insert(
            name,
            Entry {
                running,
                task,
                console_task,
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
                e.console_task.abort();
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

    /// Shuts every BMC down. At once: no new sessions (datagrams outside a session are
    /// dropped) and no new requests (answered busy, 0xC0), while the sessions open may still
    /// close. Then it waits until `deadline` for the requests in flight to be answered, and up to
    /// [`CLOSE_GRACE`] more for their clients to close their sessions, and closes the BMCs and
    /// the sessions left. The BMCs are gone from the fleet from the first moment.
    pub async fn shut_down(&self, deadline: Duration) -> Drained {
        let until = tokio::time::Instant::now() + deadline;
        let entries: Vec<Entry> = self
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
                .map(|e| lock(&e.running.server).active_sessions())
                .sum()
        };
        let grace = tokio::time::Instant::now() + CLOSE_GRACE;
        while open() > 0 && tokio::time::Instant::now() < grace {
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        let sessions = open();
        for e in entries {
            e.task.abort();
            e.span.in_scope(|| tracing::info!("stopped serving"));
        }
        Drained {
            in_flight,
            unanswered,
            sessions,
        }
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
            let mut server = lock(&r.server);
            server.expire(now);
            if server.sol_dirty() {
                r.console.wake.notify_one();
            }
        }
    }
}

fn lock(m: &Mutex<Server>) -> std::sync::MutexGuard<'_, Server> {
    m.lock().unwrap_or_else(|e| e.into_inner())
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

async fn receive_loop(r: Arc<Running>) -> std::io::Result<()> {
    let mut buf = vec![0u8; MAX_DATAGRAM];
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
        if r.draining.load(Ordering::Relaxed) && !crate::shutdown::in_session(&buf[..n]) {
            continue;
        }
        let now = Instant::now();
        let action = {
            let mut server = lock(&r.server);
            let action = server.handle(now, peer, &buf[..n]);
            if server.sol_dirty() {
                r.console.wake.notify_one();
            }
            action
        };
        match action {
            Action::Reply(bytes) => send(&r, &bytes, peer).await,
            Action::Drop(why) => tracing::debug!(%peer, why, "datagram dropped"),
            Action::Dispatch(req) => {
                let span = request_span(&req);
                let Ok(permit) = r.slots.clone().try_acquire_owned() else {
                    span.in_scope(|| {
                        tracing::warn!("too many requests in flight: answering busy");
                    });
                    let sealed =
                        lock(&r.server).seal(now, &req.context, CompletionCode::NODE_BUSY, &[]);
                    if let Some(bytes) = sealed {
                        send(&r, &bytes, peer).await;
                    }
                    continue;
                };
                let r = r.clone();
                let task = async move {
                    let resp =
                        match tokio::time::timeout(REQUEST_DEADLINE, r.bmc.handle(&req)).await {
                            Ok(resp) => resp,
                            Err(_) => {
                                tracing::warn!("request timed out in the backend");
                                Response::error(CompletionCode::TIMEOUT)
                            }
                        };
                    let sealed =
                        lock(&r.server).seal(Instant::now(), &req.context, resp.ccode, &resp.data);
                    if let Some(bytes) = sealed {
                        send(&r, &bytes, req.context.peer).await;
                    }
                    // Only now: a shutdown waits for every slot to know all answers are sent.
                    drop(permit);
                };
                tokio::spawn(task.instrument(span));
            }
        }
    }
}

async fn send(r: &Running, bytes: &[u8], peer: std::net::SocketAddr) {
    if let Err(e) = r.socket.send_to(bytes, peer).await {
        tracing::debug!(%peer, error = %e, "send failed");
    }
}
