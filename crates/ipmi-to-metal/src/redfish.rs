//! The Redfish service of the process: [`redfish_service`]'s router over the running fleet,
//! served over TLS (a configured certificate, or a self-signed one generated at the first start
//! and kept in the state directory) or, when allowed, plain HTTP.
//!
//! It is served by the process's one HTTP server ([`http_server::serve`]), within its limits and
//! from the connection budget it shares with the admin server.

use crate::config::RedfishConfig;
use crate::runtime::Fleet;
use ipmi_bmc::Bmc;
use ipmi_proto::session::PasswordLogin;
use redfish_service::{Service, Settings};
use std::net::IpAddr;
use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant};

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

/// The running Redfish service.
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

/// Starts the Redfish service of `fleet` as `config` says, its connections drawn from `budget`;
/// `state_dir` keeps the self-signed certificate.
pub async fn start(
    config: &RedfishConfig,
    fleet: Arc<Fleet>,
    state_dir: &Path,
    budget: http_server::ConnectionBudget,
) -> std::io::Result<RedfishServer> {
    let acceptor = if config.allow_http {
        tracing::warn!(listen = %config.listen, "the Redfish service is plain HTTP (allow_http = true): passwords and tokens cross the network in clear");
        None
    } else {
        Some(tls::acceptor(config.tls.as_ref(), state_dir)?)
    };
    let settings = Settings {
        uuid: service_uuid(state_dir),
        session_timeout: Duration::from_secs(config.session_timeout),
        max_sessions: config.max_sessions,
        only: None,
    };
    let service =
        Service::new(Arc::new(FleetView(fleet)), settings).with_metrics(Arc::new(Metrics));
    let app = redfish_service::router(Arc::new(service));
    let listener = tokio::net::TcpListener::bind(config.listen)
        .await
        .map_err(|e| {
            std::io::Error::new(
                e.kind(),
                format!("redfish: cannot listen on {}: {e}", config.listen),
            )
        })?;
    let addr = listener.local_addr()?;
    let scheme = if acceptor.is_some() { "https" } else { "http" };
    tracing::info!(listen = %addr, "Redfish service at {scheme}://{addr}/redfish/v1");
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let limits = http_server::Limits::new(budget);
    let task = tokio::spawn(http_server::serve(
        "redfish",
        listener,
        acceptor,
        app,
        limits,
        async {
            let _ = stopped.await;
        },
    ));
    Ok(RedfishServer { stop, task })
}

/// A UUID for the service, the same at every start of the same state directory (derived from
/// its path: the ServiceRoot's UUID names the service, not a machine).
fn service_uuid(state_dir: &Path) -> [u8; 16] {
    use sha2::Digest;
    let h = sha2::Sha256::digest(format!("ipmi-to-metal redfish {}", state_dir.display()));
    let mut u = [0u8; 16];
    u.copy_from_slice(&h[..16]);
    u
}
