//! Starting a BMC in two steps, so that a reload can make every new BMC ready (its socket
//! bound, its backend built) before it changes anything, and give up without a trace when one
//! cannot be: [`Fleet::prepare`], then [`Fleet::commit`], which cannot fail. A BMC that takes
//! over an address the fleet serves already (the same BMC restarted with new settings, or
//! another BMC moving onto the address of one that goes) is given that BMC's socket
//! ([`Fleet::socket_of`]) instead of binding its own: the address is never without a socket,
//! and nothing waits for the old BMC's last answers before the new one can serve.

use super::status::BmcInfo;
use super::{receive_loop, Entry, Fleet, Running, MAX_IN_FLIGHT};
use crate::config::{BmcConfig, ConsoleSettings};
use ipmi_bmc::Bmc;
use ipmi_proto::session::Server;
use std::collections::HashMap;
use std::net::{SocketAddr, UdpSocket};
use std::path::PathBuf;
use std::sync::Arc;
use tracing::Instrument;

/// Where the BMCs' own Redfish services listen ([`Fleet::redfish_listens`]).
#[derive(Default)]
pub struct RedfishListens {
    /// The address of each one, with its BMC's name.
    pub own: HashMap<SocketAddr, String>,
    /// The addresses several BMCs would share (none of them gets one), with their names.
    pub shared: HashMap<SocketAddr, Vec<String>>,
}

/// A BMC ready to serve: its socket bound or taken over, its backend built, nothing of it
/// running yet. Dropping it closes its socket (a copy, if taken over) and drops its backend.
pub struct Ready {
    name: String,
    listen: SocketAddr,
    redfish_listen: Option<SocketAddr>,
    users: usize,
    running: Arc<Running>,
    console: ConsoleSettings,
    log_path: Option<PathBuf>,
    /// What the configuration says of it, for the admin API.
    info: Arc<BmcInfo>,
    span: tracing::Span,
}

impl Ready {
    /// The BMC's name.
    pub fn name(&self) -> &str {
        &self.name
    }
}

impl Fleet {
    /// Makes a BMC ready to serve on `socket` if given (bound to `c.listen`, see
    /// [`Fleet::socket_of`]), else on a socket bound now; whether its name is served already is
    /// [`Fleet::commit`]'s business.
    pub fn prepare(&self, c: BmcConfig, socket: Option<UdpSocket>) -> std::io::Result<Ready> {
        let name = c.settings.name.clone();
        let socket = match socket {
            Some(s) => s,
            None => UdpSocket::bind(c.listen).map_err(|e| {
                std::io::Error::new(
                    e.kind(),
                    format!("bmc {name:?}: cannot listen on {}: {e}", c.listen),
                )
            })?,
        };
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
        let users = c.server.users.len();
        let log_path = c.console.log.clone().or_else(|| {
            self.console_logs
                .get()
                .map(|d| d.join(format!("{name}.log")))
        });
        let info = Arc::new(BmcInfo::of(&c, log_path.clone()));
        let bmc = match self.sel.get() {
            Some((store, capacity)) => {
                let log = store.log(&c.settings.name, *capacity);
                Bmc::with_sel(c.settings, backend, log)
            }
            None => Bmc::new(c.settings, backend),
        };
        let bmc = match self.media.get() {
            Some(m) => bmc.with_media(m.clone()),
            None => bmc,
        };
        let bmc = match self.audit.get() {
            Some(sink) => bmc.with_audit(sink.clone()),
            None => bmc,
        };
        let running = Arc::new(Running::new(
            socket,
            Server::new(c.server),
            bmc,
            MAX_IN_FLIGHT,
        )?);
        Ok(Ready {
            name,
            listen: c.listen,
            redfish_listen: c.redfish_listen,
            users,
            running,
            console: c.console,
            log_path,
            info,
            span,
        })
    }

    /// Starts serving a ready BMC. A BMC served under the same name stops (its sessions with
    /// it; its socket closes once its last request is answered, unless the new one took it
    /// over): returns whether there was one.
    pub fn commit(&self, r: Ready) -> bool {
        r.span.in_scope(|| {
            tracing::info!(listen = %r.listen, users = r.users, "serving");
        });
        let console_task = r.span.in_scope(|| {
            crate::console::spawn(
                &r.running.bmc,
                r.running.server.clone(),
                r.running.socket.get_ref().clone(),
                r.console,
                r.log_path.map(|p| (p, r.info.console_log_health.clone())),
                &r.running.console,
            )
        });
        let task =
            tokio::spawn(receive_loop(r.running.clone()).instrument(r.span.clone())).abort_handle();
        let old = self.bmcs.lock().unwrap_or_else(|e| e.into_inner()).insert(
            r.name,
            Box::new(Entry {
                listen: r.listen,
                redfish_listen: r.redfish_listen,
                running: r.running,
                info: r.info,
                task,
                console_task,
                span: r.span,
            }),
        );
        self.changed.send_replace(());
        match old {
            Some(e) => {
                e.task.abort();
                e.console_task.abort();
                self.retire(&e.running);
                e.span
                    .in_scope(|| tracing::info!("stopped serving: restarted with new settings"));
                true
            }
            None => false,
        }
    }

    /// A copy of the socket of the BMC served as `name` (the same socket under a new
    /// descriptor), for a BMC that takes its address over; `None` if no BMC has that name.
    pub fn socket_of(&self, name: &str) -> Option<std::io::Result<UdpSocket>> {
        let bmcs = self.bmcs.lock().unwrap_or_else(|e| e.into_inner());
        let e = bmcs.get(name)?;
        Some(e.running.socket.get_ref().try_clone())
    }

    /// The address each BMC was configured to serve on, with its name.
    pub fn listens(&self) -> HashMap<SocketAddr, String> {
        self.bmcs
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .iter()
            .map(|(name, e)| (e.listen, name.clone()))
            .collect()
    }

    /// The address of each BMC's own Redfish service, with its name: its `redfish_listen`, else
    /// with `per_bmc_port` the IP address of its IPMI `listen` at that port. Addresses that
    /// several BMCs would share (BMCs on one IP address) are left out: none of them gets one;
    /// they are the second part, with the names of the BMCs that share each.
    pub fn redfish_listens(&self, per_bmc_port: Option<u16>) -> RedfishListens {
        let mut by_addr: HashMap<SocketAddr, Vec<String>> = HashMap::new();
        let bmcs = self.bmcs.lock().unwrap_or_else(|e| e.into_inner());
        for (name, e) in bmcs.iter() {
            let addr = e
                .redfish_listen
                .or_else(|| per_bmc_port.map(|p| SocketAddr::new(e.listen.ip(), p)));
            if let Some(addr) = addr {
                by_addr.entry(addr).or_default().push(name.clone());
            }
        }
        let mut out = RedfishListens::default();
        for (addr, mut names) in by_addr {
            if names.len() == 1 {
                out.own.insert(addr, names.remove(0));
            } else {
                names.sort();
                out.shared.insert(addr, names);
            }
        }
        out
    }

    /// A receiver marked changed whenever a BMC starts, restarts or stops.
    pub fn watch_changes(&self) -> tokio::sync::watch::Receiver<()> {
        self.changed.subscribe()
    }

    /// Whether a BMC of that name is served.
    pub fn serves(&self, name: &str) -> bool {
        self.bmcs
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .contains_key(name)
    }

    /// Restarts a BMC with new settings, or starts it if it is not served: on the socket it
    /// has if its address stays, else on a new one. If the new one cannot be made ready, the
    /// old one keeps serving as it was.
    pub fn restart(&self, c: BmcConfig) -> std::io::Result<()> {
        let same_address = self
            .bmcs
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .get(&c.settings.name)
            .is_some_and(|e| e.listen == c.listen);
        let socket = if same_address {
            self.socket_of(&c.settings.name).transpose()?
        } else {
            None
        };
        let ready = self.prepare(c, socket)?;
        self.commit(ready);
        Ok(())
    }

    /// Keeps every other holder from changing which BMCs are served until the guard is
    /// dropped. A discovery holds it while it applies a listing, and a reload while it applies
    /// a configuration, so that neither sees the other's work half done. Plain
    /// [`Fleet::start`] and [`Fleet::stop`] do not take it.
    pub async fn lock_membership(&self) -> tokio::sync::MutexGuard<'_, ()> {
        self.membership.lock().await
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config;
    use crate::factory::BackendFactory;
    use std::path::Path;
    use std::sync::Mutex;

    fn sim(name: &str, listen: SocketAddr) -> BmcConfig {
        let text = format!("[[bmc]]\nname = \"{name}\"\nlisten = \"{listen}\"\nbackend = \"sim\"\n[[bmc.users]]\nname = \"admin\"\npassword = \"swap-pass\"\nprivilege = \"administrator\"\n");
        config::parse("t.toml", &text, Path::new("."))
            .unwrap()
            .remove(0)
    }

    /// Whether an ASF presence ping to `addr` is answered.
    async fn pong(addr: SocketAddr) -> bool {
        let s = tokio::net::UdpSocket::bind("127.0.0.1:0").await.unwrap();
        let ping = [
            0x06, 0x00, 0xff, 0x06, 0x00, 0x00, 0x11, 0xbe, 0x80, 0x01, 0x00, 0x00,
        ];
        s.send_to(&ping, addr).await.unwrap();
        let mut buf = [0u8; 64];
        let got = tokio::time::timeout(std::time::Duration::from_millis(500), s.recv(&mut buf));
        matches!(got.await, Ok(Ok(n)) if n >= 9 && buf[8] == 0x40)
    }

    #[tokio::test]
    async fn a_restart_keeps_the_socket_and_a_dropped_ready_bmc_leaves_nothing_bound() {
        let fleet = Fleet::new(Arc::new(Mutex::new(BackendFactory::default())));
        let probe = UdpSocket::bind("127.0.0.1:0").unwrap();
        let addr = probe.local_addr().unwrap();
        drop(probe);
        fleet.start(sim("a", addr)).unwrap();
        assert!(pong(addr).await);
        // The address is in use: a second BMC cannot bind it, but can take it over.
        let err = fleet.prepare(sim("b", addr), None).err().unwrap();
        assert!(err.to_string().contains("cannot listen"), "{err}");
        fleet.restart(sim("a", addr)).unwrap();
        assert!(
            pong(addr).await,
            "the restarted BMC answers on the same socket"
        );
        assert_eq!(fleet.names(), vec!["a".to_string()]);
        // Made ready on a fresh address, then given up: that address is free again.
        let probe = UdpSocket::bind("127.0.0.1:0").unwrap();
        let other = probe.local_addr().unwrap();
        drop(probe);
        let ready = fleet.prepare(sim("c", other), None).unwrap();
        assert_eq!(ready.name(), "c");
        drop(ready);
        UdpSocket::bind(other).expect("the address of a dropped ready BMC is free");
        assert!(!fleet.serves("c"));
        // Taken over by another name: the old one stops, the address keeps answering.
        let socket = fleet.socket_of("a").unwrap().unwrap();
        let ready = fleet.prepare(sim("d", addr), Some(socket)).unwrap();
        assert!(!fleet.commit(ready));
        assert!(fleet.stop("a"));
        assert!(pong(addr).await);
        assert_eq!(fleet.listens().get(&addr).map(String::as_str), Some("d"));
    }
}
