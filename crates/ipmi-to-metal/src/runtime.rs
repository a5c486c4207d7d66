//! The I/O around the sans-IO session layer: one UDP socket per BMC, a task per request carried
//! out by the BMC model, and one timer that expires idle sessions of every BMC.

use crate::backends::BackendFactory;
use crate::config::{BmcConfig, Config};
use ipmi_bmc::{Bmc, Response};
use ipmi_proto::session::{Action, Server};
use ipmi_proto::types::CompletionCode;
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tokio::net::UdpSocket;
use tokio::sync::Semaphore;

/// How long a backend operation may take before the client gets 0xC3 (the client's own timeout
/// is usually shorter; it retransmits, and the session layer drops the repeats meanwhile).
const REQUEST_DEADLINE: Duration = Duration::from_secs(10);
/// Requests of one BMC carried out at the same time; beyond that the client gets 0xC0 (busy).
const MAX_IN_FLIGHT: usize = 32;
/// The largest datagram we accept; RMCP+ packets are far smaller.
const MAX_DATAGRAM: usize = 1500;

/// One running BMC.
struct Running {
    name: String,
    socket: Arc<UdpSocket>,
    server: Arc<Mutex<Server>>,
    bmc: Arc<Bmc>,
    slots: Arc<Semaphore>,
}

/// Every BMC the process serves, by name; discovery adds and removes them while it runs.
#[derive(Default)]
pub struct Fleet {
    bmcs: Mutex<HashMap<String, Entry>>,
    factory: Mutex<BackendFactory>,
    /// The SEL database and each log's capacity; without it each BMC's SEL is in memory.
    sel: std::sync::OnceLock<(sel_store::SelStore, u16)>,
}

struct Entry {
    running: Arc<Running>,
    task: tokio::task::AbortHandle,
}

impl Fleet {
    /// Binds the BMC's socket and starts serving it. A name already served is refused.
    pub async fn start(&self, c: BmcConfig) -> std::io::Result<()> {
        if self
            .bmcs
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .contains_key(&c.settings.name)
        {
            return Err(std::io::Error::new(
                std::io::ErrorKind::AlreadyExists,
                format!("bmc {:?} is already served", c.settings.name),
            ));
        }
        let socket = UdpSocket::bind(c.listen).await.map_err(|e| {
            std::io::Error::new(
                e.kind(),
                format!(
                    "bmc {:?}: cannot listen on {}: {e}",
                    c.settings.name, c.listen
                ),
            )
        })?;
        let backend = self
            .factory
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .bmc(&c)
            .map_err(|e| std::io::Error::other(format!("bmc {:?}: {e}", c.settings.name)))?;
        tracing::info!(bmc = %c.settings.name, listen = %socket.local_addr()?, backend = backend.kind(), users = c.server.users.len(), "serving");
        let running = Arc::new(Running {
            name: c.settings.name.clone(),
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
        });
        let task = tokio::spawn(receive_loop(running.clone())).abort_handle();
        self.bmcs
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .insert(running.name.clone(), Entry { running, task });
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
                tracing::info!(bmc = name, "stopped serving");
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

    /// The Metal API client for a discovery (shared with its BMCs).
    pub fn metal_api(
        &self,
        m: &crate::config::MetalBackendConfig,
    ) -> Arc<backend_metal::api::MetalApi> {
        self.factory
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .metal_api(m)
    }

    fn expire(&self, now: Instant) {
        let all: Vec<Arc<Running>> = self
            .bmcs
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .values()
            .map(|e| e.running.clone())
            .collect();
        for r in all {
            lock(&r.server).expire(now);
        }
    }
}

/// Binds every configured BMC's socket (all or none), starts the discoveries, then serves until
/// the process ends.
pub async fn serve(config: Config) -> std::io::Result<()> {
    let fleet = Arc::new(Fleet::default());
    let sel = crate::state::open_sel(&config.state)?;
    let _ = fleet.sel.set((sel, config.state.sel_capacity));
    for c in config.bmcs {
        fleet.start(c).await?;
    }
    let f = fleet.clone();
    tokio::spawn(async move {
        let mut tick = tokio::time::interval(Duration::from_secs(1));
        loop {
            tick.tick().await;
            f.expire(Instant::now());
        }
    });
    for d in config.discovery {
        tokio::spawn(crate::discovery::run(fleet.clone(), d));
    }
    std::future::pending::<()>().await;
    Ok(())
}

fn lock(m: &Mutex<Server>) -> std::sync::MutexGuard<'_, Server> {
    m.lock().unwrap_or_else(|e| e.into_inner())
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
                    tracing::warn!(bmc = %r.name, error = %e, "receive error");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                }
                continue;
            }
        };
        let now = Instant::now();
        let action = lock(&r.server).handle(now, peer, &buf[..n]);
        match action {
            Action::Reply(bytes) => send(&r, &bytes, peer).await,
            Action::Drop(why) => tracing::debug!(bmc = %r.name, %peer, why, "datagram dropped"),
            Action::Dispatch(req) => {
                let Ok(permit) = r.slots.clone().try_acquire_owned() else {
                    tracing::warn!(bmc = %r.name, %peer, "too many requests in flight: answering busy");
                    let sealed =
                        lock(&r.server).seal(now, &req.context, CompletionCode::NODE_BUSY, &[]);
                    if let Some(bytes) = sealed {
                        send(&r, &bytes, peer).await;
                    }
                    continue;
                };
                let r = r.clone();
                tokio::spawn(async move {
                    let resp = match tokio::time::timeout(REQUEST_DEADLINE, r.bmc.handle(&req))
                        .await
                    {
                        Ok(resp) => resp,
                        Err(_) => {
                            tracing::warn!(bmc = %r.name, netfn = req.netfn.0, cmd = req.cmd, "request timed out in the backend");
                            Response::error(CompletionCode::TIMEOUT)
                        }
                    };
                    drop(permit);
                    let sealed =
                        lock(&r.server).seal(Instant::now(), &req.context, resp.ccode, &resp.data);
                    if let Some(bytes) = sealed {
                        send(&r, &bytes, req.context.peer).await;
                    }
                });
            }
        }
    }
}

async fn send(r: &Running, bytes: &[u8], peer: std::net::SocketAddr) {
    if let Err(e) = r.socket.send_to(bytes, peer).await {
        tracing::debug!(bmc = %r.name, %peer, error = %e, "send failed");
    }
}
