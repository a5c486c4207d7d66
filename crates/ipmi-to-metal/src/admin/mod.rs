//! The admin HTTP server (`[admin]` in the configuration, off unless `listen` is set): health
//! ([`health`]), the BMCs' status and power and console ([`bmcs`]), the status page ([`page`]),
//! and whatever other submodules serve. Every request carries `Authorization: Bearer TOKEN`
//! (compared in constant time; 401 with `WWW-Authenticate: Bearer` otherwise), except those
//! to the paths the configuration leaves open (`open = ["healthz", "metrics"]`, from
//! [`crate::config::admin::OPENABLE`]) and the status page's static files ([`page::STATIC`]),
//! which hold no data.
//!
//! # Adding routes
//!
//! Each submodule serves its own paths from one function,
//!
//! ```ignore
//! pub fn routes() -> axum::Router<AdminState> {
//!     axum::Router::new().route("/things", axum::routing::get(list_things))
//! }
//! ```
//!
//! whose handlers take `State(state): State<AdminState>` for the fleet and the rest; the
//! submodule is declared below (`mod things;`) and merged in [`router`] with ONE line
//! (`.merge(things::routes())`). The token check wraps every route merged there. A path that
//! may be served without the token is added to [`crate::config::admin::OPENABLE`] (by its name without
//! the `/`); what the state needs goes into [`AdminState`] (a field, set in [`AdminState::new`]
//! or by the caller before [`start`]).

mod bmcs;
mod details;
mod health;
mod host;
mod live_console;
mod media;
mod metrics;
mod page;
mod reload;

use crate::config::AdminConfig;
use crate::reload::Reloader;
use crate::runtime::Fleet;
use axum::extract::{Request, State};
use axum::http::{header, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum::Router;
use ipmi_proto::session::Secret;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

/// What every admin handler may use; cloned per request (all behind `Arc`s).
#[derive(Clone)]
pub struct AdminState {
    /// Every BMC served.
    pub fleet: Arc<Fleet>,
    /// Reloads the configuration (`POST /reload`); `None` where there is none to reload.
    pub reloader: Option<Arc<Reloader>>,
    /// The audit log's file, for the status page's last actions (`None`: not in a file).
    pub audit_log: Option<std::path::PathBuf>,
    /// The tokens, the open paths and the host names, swapped whole by a reload.
    auth: Arc<std::sync::RwLock<Arc<Auth>>>,
    /// The live consoles open, against their limit.
    live: Arc<live_console::Sockets>,
}

/// The bearer tokens, the paths served without them, and the host names served.
struct Auth {
    token: Secret,
    /// The read-only token, if there is one.
    viewer: Option<Secret>,
    /// Whether the operator may type into a console from the page.
    console_input: bool,
    /// Full paths (`/healthz`).
    open: Vec<String>,
    /// What `Host` may say ([`host`]).
    hosts: host::AllowedHosts,
}

/// What a request's token allows: everything, or to look ([`Role::Viewer`]: `GET` only, the
/// live console without typing). Handlers find it in the request's extensions.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Role {
    /// The admin token.
    Operator,
    /// The viewer token.
    Viewer,
}

impl Auth {
    fn new(config: &AdminConfig) -> Auth {
        Auth {
            token: config.token.clone(),
            viewer: config.viewer_token.clone(),
            console_input: config.console_input,
            open: config.open.iter().map(|p| format!("/{p}")).collect(),
            hosts: host::AllowedHosts::new(&config.hosts),
        }
    }

    /// The role of a token given, if it is one of ours (constant-time compares).
    fn role(&self, given: &[u8]) -> Option<Role> {
        let given = Secret::new(given);
        if given == self.token {
            Some(Role::Operator)
        } else if self.viewer.as_ref().is_some_and(|v| given == *v) {
            Some(Role::Viewer)
        } else {
            None
        }
    }
}

impl AdminState {
    /// The state of an admin server configured by `config`, over `fleet`.
    pub fn new(config: &AdminConfig, fleet: Arc<Fleet>) -> AdminState {
        AdminState {
            fleet,
            reloader: None,
            audit_log: None,
            auth: Arc::new(std::sync::RwLock::new(Arc::new(Auth::new(config)))),
            live: Arc::default(),
        }
    }

    /// Takes the token, open paths and host names of `config` (a reloaded `[admin]` table) for
    /// every request from now on: the old token is refused at once.
    pub fn update(&self, config: &AdminConfig) {
        *self.auth.write().unwrap_or_else(|e| e.into_inner()) = Arc::new(Auth::new(config));
        tracing::info!("admin: the token, open paths and host names of the reloaded [admin] table are in force");
    }

    /// The token, open paths and host names in force.
    fn auth(&self) -> Arc<Auth> {
        self.auth.read().unwrap_or_else(|e| e.into_inner()).clone()
    }
}

/// Every route of the admin server, behind the token check, behind the `Host` check; every
/// answer marked not to be cached nor sniffed.
pub fn router(state: AdminState) -> Router {
    Router::new()
        .merge(health::routes())
        .merge(reload::routes())
        .merge(bmcs::routes())
        .merge(media::routes())
        .merge(page::routes())
        .merge(metrics::routes())
        .merge(details::routes())
        .merge(live_console::routes())
        // One line per submodule above this one.
        .layer(axum::middleware::from_fn_with_state(
            state.clone(),
            require_token,
        ))
        .layer(axum::middleware::from_fn_with_state(
            state.clone(),
            host::check_host,
        ))
        .layer(axum::middleware::map_response(no_store_no_sniff))
        .with_state(state)
}

/// Every answer, errors included: never stored by a browser or a proxy (they carry the fleet's
/// state, the console's text, what a reload did), and never read as another type than the one
/// it says (a console line that looks like HTML stays text).
async fn no_store_no_sniff(mut answer: Response) -> Response {
    let headers = answer.headers_mut();
    headers.insert(
        header::CACHE_CONTROL,
        header::HeaderValue::from_static("no-store"),
    );
    headers.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        header::HeaderValue::from_static("nosniff"),
    );
    answer
}

/// Lets a request through if it carries a token (its [`Role`] in its extensions; the viewer's
/// for `GET` only, 403 otherwise) or its path is open; 401 otherwise.
async fn require_token(State(state): State<AdminState>, mut req: Request, next: Next) -> Response {
    let auth = state.auth();
    let path = req.uri().path();
    // The status page's static files hold no data: the script they make asks for the token;
    // the live console's socket takes the token in its first message.
    let open = page::STATIC.contains(&path)
        || path == live_console::PATH
        || auth.open.iter().any(|p| p == path);
    match bearer(&req).and_then(|t| auth.role(t)) {
        Some(Role::Viewer) if req.method() != axum::http::Method::GET => {
            return (
                StatusCode::FORBIDDEN,
                "the viewer token may look, not act\n",
            )
                .into_response()
        }
        Some(role) => {
            req.extensions_mut().insert(role);
            return next.run(req).await;
        }
        None if open => return next.run(req).await,
        None => {}
    }
    (
        StatusCode::UNAUTHORIZED,
        [(header::WWW_AUTHENTICATE, "Bearer")],
        "a bearer token is required\n",
    )
        .into_response()
}

/// The request's `Authorization: Bearer` token, if it has one.
fn bearer(req: &Request) -> Option<&[u8]> {
    let value = req.headers().get(header::AUTHORIZATION)?.as_bytes();
    // The scheme is case-insensitive (RFC 9110 section 11.1).
    value
        .get(..7)
        .filter(|s| s.eq_ignore_ascii_case(b"bearer "))
        .map(|_| &value[7..])
}

/// A running admin server; [`AdminServer::stop`] ends it.
pub struct AdminServer {
    stop: tokio::sync::oneshot::Sender<()>,
    task: tokio::task::JoinHandle<std::io::Result<()>>,
    /// Where it listens (the port chosen if the configuration said 0).
    pub addr: SocketAddr,
    /// The live consoles, ended by the stop (their sockets outlive the server's task).
    live: Arc<live_console::Sockets>,
}

/// How long a stop waits for the requests in progress (then it drops them).
const STOP_GRACE: Duration = Duration::from_secs(2);

/// Binds the admin server's socket and serves `state` on it until stopped, within the
/// [`http_server::Limits`] over `budget` (the process's HTTP connections).
pub async fn start(
    config: &AdminConfig,
    state: AdminState,
    budget: http_server::ConnectionBudget,
) -> std::io::Result<AdminServer> {
    let listener = tokio::net::TcpListener::bind(config.listen)
        .await
        .map_err(|e| {
            std::io::Error::new(
                e.kind(),
                format!("admin: cannot listen on {}: {e}", config.listen),
            )
        })?;
    let addr = listener.local_addr()?;
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let live = state.live.clone();
    let limits = http_server::Limits::new(budget);
    let task = tokio::spawn(http_server::serve(
        "admin",
        listener,
        None,
        router(state),
        limits,
        async {
            let _ = stopped.await;
        },
    ));
    let server = AdminServer {
        stop,
        task,
        addr,
        live,
    };
    tracing::info!(listen = %server.addr, "admin server listening");
    Ok(server)
}

impl AdminServer {
    /// Stops taking connections and waits up to [`STOP_GRACE`] for the requests in progress.
    pub async fn stop(self) {
        self.live.close();
        let _ = self.stop.send(());
        let abort = self.task.abort_handle();
        match tokio::time::timeout(STOP_GRACE, self.task).await {
            Ok(Ok(Ok(()))) => {}
            Ok(Ok(Err(e))) => tracing::warn!(error = %e, "admin server failed"),
            Ok(Err(_)) => {}
            Err(_) => {
                abort.abort();
                tracing::warn!("admin server: requests still in progress dropped");
            }
        }
    }
}

#[cfg(test)]
mod tests;
