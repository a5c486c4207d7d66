//! The Redfish services of the process: [`redfish_service`]'s router over the running fleet,
//! as one aggregate service (every BMC) and as each BMC's own service (that BMC only, on its
//! own address: [`per_bmc`]), served over TLS (a configured certificate, or a self-signed one generated at the first start
//! and kept in the state directory) or, when allowed, plain HTTP.
//!
//! It is served by the process's one HTTP server ([`http_server::serve`]), within its limits and
//! from the connection budget it shares with the admin server.

use crate::config::RedfishConfig;
use crate::runtime::Fleet;
use ipmi_bmc::Bmc;
use ipmi_proto::session::PasswordLogin;
use redfish_service::{Service, Settings};
use std::net::{IpAddr, SocketAddr};
use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant};

mod per_bmc;
mod tls;

/// How long a stop waits for the requests in progress.
const STOP_GRACE: Duration = Duration::from_secs(5);

/// The running fleet as the Redfish service sees it.
struct FleetView(Arc<Fleet>);

impl redfish_service::Fleet for FleetView {
    fn names(&self) -> Vec<String> {
        let mut v = self.0.names();
        v.sort();
        v
    }

    fn bmc(&self, name: &str) -> Option<Arc<Bmc>> {
        self.0.bmc(name)
    }

    fn check_password(
        &self,
        bmc: &str,
        now: Instant,
        ip: IpAddr,
        user: &str,
        password: &[u8],
    ) -> PasswordLogin {
        self.0
            .with_bmc(bmc, |s| s.check_password(now, ip, user, password))
            .map_or(PasswordLogin::Refused, |(_, r)| r)
    }

    fn count_login(&self, bmc: &str, now: Instant, ip: IpAddr, user: &str, outcome: PasswordLogin) {
        self.0
            .with_bmc(bmc, |s| s.count_password_login(now, ip, user, outcome));
    }
}

/// The service's requests, counted in the process's metrics.
struct Metrics;

impl redfish_service::RequestMetrics for Metrics {
    fn observe(
        &self,
        route: &'static str,
        method: &axum::http::Method,
        status: axum::http::StatusCode,
        _took: Duration,
    ) {
        telemetry::http::observe(route, method.as_str(), status.as_u16());
    }
}

/// One running Redfish service (the aggregate one, or a BMC's own).
pub struct RedfishServer {
    stop: tokio::sync::oneshot::Sender<()>,
    task: tokio::task::JoinHandle<std::io::Result<()>>,
}

impl RedfishServer {
    /// Stops taking connections and waits up to [`STOP_GRACE`] for the requests in progress.
    pub async fn stop(self) {
        let _ = self.stop.send(());
        let abort = self.task.abort_handle();
        if tokio::time::timeout(STOP_GRACE, self.task).await.is_err() {
            abort.abort();
            tracing::warn!("redfish: requests still in progress dropped");
        }
    }
}

/// What every Redfish service of the process shares: the fleet, the TLS acceptor (one
/// certificate), the settings, the connection budget.
#[derive(Clone)]
pub(crate) struct Common {
    fleet: Arc<Fleet>,
    acceptor: Option<tokio_rustls::TlsAcceptor>,
    settings: Settings,
    budget: http_server::ConnectionBudget,
    state_dir: std::path::PathBuf,
}

impl Common {
    /// Binds `listen` and serves the service of `only` (one BMC) or, without, the aggregate one.
    pub(crate) async fn serve(
        &self,
        listen: SocketAddr,
        only: Option<String>,
    ) -> std::io::Result<RedfishServer> {
        let settings = Settings {
            uuid: service_uuid(&self.state_dir, only.as_deref()),
            only: only.clone(),
            ..self.settings.clone()
        };
        let service = Service::new(Arc::new(FleetView(self.fleet.clone())), settings)
            .with_metrics(Arc::new(Metrics));
        let app = redfish_service::router(Arc::new(service));
        let listener = tokio::net::TcpListener::bind(listen).await.map_err(|e| {
            std::io::Error::new(e.kind(), format!("redfish: cannot listen on {listen}: {e}"))
        })?;
        let addr = listener.local_addr()?;
        let scheme = if self.acceptor.is_some() {
            "https"
        } else {
            "http"
        };
        match &only {
            Some(bmc) => {
                tracing::info!(listen = %addr, bmc = %bmc, "Redfish service of bmc {bmc:?} at {scheme}://{addr}/redfish/v1")
            }
            None => {
                tracing::info!(listen = %addr, "Redfish service at {scheme}://{addr}/redfish/v1")
            }
        }
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        let limits = http_server::Limits::new(self.budget.clone());
        let task = tokio::spawn(http_server::serve(
            "redfish",
            listener,
            self.acceptor.clone(),
            app,
            limits,
            async {
                let _ = stopped.await;
            },
        ));
        Ok(RedfishServer { stop, task })
    }
}

/// The running Redfish services: the aggregate one and the BMCs' own.
pub struct RedfishServers {
    aggregate: Option<RedfishServer>,
    per_bmc: per_bmc::PerBmc,
}

impl RedfishServers {
    /// Stops every service, each waiting up to [`STOP_GRACE`] for its requests in progress.
    pub async fn stop(self) {
        let per_bmc = self.per_bmc.stop();
        match self.aggregate {
            Some(a) => drop(tokio::join!(a.stop(), per_bmc)),
            None => per_bmc.await,
        }
    }
}

/// Starts the Redfish services of `fleet` as `config` says, their connections drawn from
/// `budget`: the aggregate service if `listen` is set, and each BMC's own service, which follow
/// the BMCs as they start and stop; `state_dir` keeps the self-signed certificate.
pub async fn start(
    config: &RedfishConfig,
    fleet: Arc<Fleet>,
    state_dir: &Path,
    budget: http_server::ConnectionBudget,
) -> std::io::Result<RedfishServers> {
    let acceptor = if config.allow_http {
        let on = config
            .listen
            .map_or("the BMCs' own addresses".to_string(), |a| a.to_string());
        tracing::warn!(listen = %on, "the Redfish service is plain HTTP (allow_http = true): passwords and tokens cross the network in clear");
        None
    } else {
        Some(tls::acceptor(config.tls.as_ref(), state_dir)?)
    };
    let common = Common {
        fleet,
        acceptor,
        settings: Settings {
            uuid: [0; 16],
            session_timeout: Duration::from_secs(config.session_timeout),
            max_sessions: config.max_sessions,
            only: None,
        },
        budget,
        state_dir: state_dir.to_path_buf(),
    };
    let aggregate = match config.listen {
        Some(listen) => Some(common.serve(listen, None).await?),
        None => None,
    };
    let per_bmc = per_bmc::PerBmc::start(common, config.per_bmc_port).await;
    Ok(RedfishServers { aggregate, per_bmc })
}

/// A UUID for the service, the same at every start of the same state directory (derived from
/// its path, and the BMC's name for a BMC's own service: the ServiceRoot's UUID names the
/// service, not a machine).
fn service_uuid(state_dir: &Path, only: Option<&str>) -> [u8; 16] {
    use sha2::Digest;
    let text = match only {
        Some(bmc) => format!("ipmi-to-metal redfish {} bmc {bmc}", state_dir.display()),
        None => format!("ipmi-to-metal redfish {}", state_dir.display()),
    };
    let h = sha2::Sha256::digest(text);
    let mut u = [0u8; 16];
    u.copy_from_slice(&h[..16]);
    u
}
