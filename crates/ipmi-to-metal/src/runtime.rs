//! The I/O around the sans-IO session layer: one UDP socket per BMC, a task per request carried
//! out by the BMC model, and one timer that expires idle sessions of every BMC.

use crate::backends::BackendFactory;
use crate::config::BmcConfig;
use ipmi_bmc::{Bmc, Response};
use ipmi_proto::session::{Action, Server};
use ipmi_proto::types::CompletionCode;
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

/// Binds every BMC's socket (all or none), then serves them until the process ends.
pub async fn serve(configs: Vec<BmcConfig>) -> std::io::Result<()> {
    let mut running = Vec::new();
    let mut factory = BackendFactory::default();
    for c in configs {
        let socket = UdpSocket::bind(c.listen).await.map_err(|e| {
            std::io::Error::new(
                e.kind(),
                format!(
                    "bmc {:?}: cannot listen on {}: {e}",
                    c.settings.name, c.listen
                ),
            )
        })?;
        let backend = factory.build(&c.backend);
        tracing::info!(bmc = %c.settings.name, listen = %socket.local_addr()?, backend = backend.kind(), users = c.server.users.len(), "serving");
        running.push(Arc::new(Running {
            name: c.settings.name.clone(),
            socket: Arc::new(socket),
            server: Arc::new(Mutex::new(Server::new(c.server))),
            bmc: Arc::new(Bmc::new(c.settings, backend)),
            slots: Arc::new(Semaphore::new(MAX_IN_FLIGHT)),
        }));
    }
    let all = running.clone();
    tokio::spawn(async move {
        let mut tick = tokio::time::interval(Duration::from_secs(1));
        loop {
            tick.tick().await;
            let now = Instant::now();
            for r in &all {
                lock(&r.server).expire(now);
            }
        }
    });
    let mut tasks = tokio::task::JoinSet::new();
    for r in running {
        tasks.spawn(receive_loop(r));
    }
    while let Some(res) = tasks.join_next().await {
        res.map_err(std::io::Error::other)??;
    }
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
                tracing::debug!(bmc = %r.name, error = %e, "receive error");
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
