//! The Redfish service of the process: [`redfish_service`]'s router over the running fleet,
//! served over TLS (a configured certificate, or a self-signed one generated at the first start
//! and kept in the state directory) or, when allowed, plain HTTP.
//!
//! The HTTP serving is one small function ([`serve_connections`]): the hardened server crate
//! of the project replaces it when it lands.

use crate::config::RedfishConfig;
use crate::runtime::Fleet;
use ipmi_bmc::Bmc;
use ipmi_proto::session::PasswordLogin;
use redfish_service::{Service, Settings};
use std::net::{IpAddr, SocketAddr};
use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant};

mod tls;

/// The most connections served at once; more wait in the listen queue.
const MAX_CONNECTIONS: usize = 512;
/// A client has this long to send a request's headers (and to finish the TLS handshake).
const HEADER_TIMEOUT: Duration = Duration::from_secs(10);

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

/// The running Redfish service: stops when dropped.
pub struct RedfishServer {
    task: tokio::task::JoinHandle<()>,
}

impl RedfishServer {
    /// Stops taking connections (the connections open end with the process).
    pub fn stop(self) {
        self.task.abort();
    }
}

/// Starts the Redfish service of `fleet` as `config` says; `state_dir` keeps the self-signed
/// certificate.
pub async fn start(
    config: &RedfishConfig,
    fleet: Arc<Fleet>,
    state_dir: &Path,
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
    let task = tokio::spawn(serve_connections(listener, acceptor, app));
    Ok(RedfishServer { task })
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

/// Serves every connection: at most [`MAX_CONNECTIONS`] at once, each with [`HEADER_TIMEOUT`]
/// for its TLS handshake and request headers, HTTP/1.1 with keep-alive.
async fn serve_connections(
    listener: tokio::net::TcpListener,
    acceptor: Option<tokio_rustls::TlsAcceptor>,
    app: axum::Router,
) {
    let slots = Arc::new(tokio::sync::Semaphore::new(MAX_CONNECTIONS));
    loop {
        let Ok(permit) = slots.clone().acquire_owned().await else {
            return;
        };
        let (stream, peer) = match listener.accept().await {
            Ok(c) => c,
            Err(e) => {
                tracing::warn!(error = %e, "redfish: accept failed");
                tokio::time::sleep(Duration::from_millis(50)).await;
                continue;
            }
        };
        let _ = stream.set_nodelay(true);
        let app = app.clone();
        let acceptor = acceptor.clone();
        tokio::spawn(async move {
            let _permit = permit;
            match acceptor {
                Some(a) => match tokio::time::timeout(HEADER_TIMEOUT, a.accept(stream)).await {
                    Ok(Ok(tls)) => serve_one(tls, peer, app).await,
                    Ok(Err(e)) => {
                        tracing::debug!(%peer, error = ?e.to_string(), "redfish: TLS handshake failed")
                    }
                    Err(_) => tracing::debug!(%peer, "redfish: TLS handshake timed out"),
                },
                None => serve_one(stream, peer, app).await,
            }
        });
    }
}

/// Serves one connection's requests.
async fn serve_one<S>(stream: S, peer: SocketAddr, app: axum::Router)
where
    S: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin + Send + 'static,
{
    use tower::ServiceExt;
    let service =
        hyper::service::service_fn(move |mut req: hyper::Request<hyper::body::Incoming>| {
            req.extensions_mut()
                .insert(axum::extract::ConnectInfo(peer));
            app.clone().oneshot(req.map(axum::body::Body::new))
        });
    let conn = hyper::server::conn::http1::Builder::new()
        .timer(hyper_util::rt::TokioTimer::new())
        .header_read_timeout(HEADER_TIMEOUT)
        .max_buf_size(64 * 1024)
        .keep_alive(true)
        .serve_connection(hyper_util::rt::TokioIo::new(stream), service);
    if let Err(e) = conn.await {
        tracing::debug!(%peer, error = ?e.to_string(), "redfish: connection ended");
    }
}
