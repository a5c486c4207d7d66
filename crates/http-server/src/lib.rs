//! The one HTTP server of ipmi-to-metal: every HTTP service the process runs (the admin API,
//! the Redfish service) is an axum [`Router`] served by [`serve`], over TCP or TLS, within
//! [`Limits`] that no client can get round, with or without credentials:
//!
//! - a header read timeout (a connection sending half a header is closed; the same timer closes
//!   an idle kept-alive connection), a request timeout (a body sent a byte at a time), a send
//!   timeout (a client that reads nothing of its answer);
//! - a bounded request head (size and field count: each connection's read buffer is that size,
//!   so a thousand long partial headers hold a bounded amount of memory) and a bounded body;
//! - a [`ConnectionBudget`] shared by every server of the process, derived from the descriptors
//!   the process may open so that the rest of it (the BMCs' sockets, console logs, a reload)
//!   always finds descriptors; when it is spent, a new connection closes the one that has
//!   waited longest for a request, so that a thousand slow clients cannot keep out one with a
//!   whole request to send;
//! - graceful shutdown: when `shutdown` completes, no more connections are taken, idle ones are
//!   closed and the requests in progress are answered (the caller bounds how long it waits).
//!
//! HTTP/1.1 only: every client of these services (curl, browsers, Prometheus, sushy, Ironic)
//! speaks it, and it keeps one protocol's limits to get right.
//!
//! ```no_run
//! # async fn example(router: axum::Router) -> std::io::Result<()> {
//! use http_server::{serve, ConnectionBudget, Limits};
//! let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
//! // One budget for every server of the process, with room for 300 more descriptors.
//! let limits = Limits::new(ConnectionBudget::from_descriptors(300));
//! let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
//! tokio::spawn(serve("admin", listener, None, router, limits, async {
//!     let _ = stopped.await;
//! }));
//! # drop(stop);
//! # Ok(())
//! # }
//! ```
//!
//! Handlers get the client's address as axum's `ConnectInfo<SocketAddr>`.

mod limits;
mod send_deadline;

pub use limits::{open_descriptors, soft_nofile, ConnectionBudget, Limits, BUDGET_RANGE};

use axum::body::Body;
use axum::extract::ConnectInfo;
use axum::http::{header, Request, Response, StatusCode};
use axum::Router;
use hyper::body::Incoming;
use hyper_util::rt::{TokioIo, TokioTimer};
use limits::Slot;
use send_deadline::SendDeadline;
use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::watch;
use tokio::task::JoinSet;
use tokio_rustls::TlsAcceptor;
use tower_service::Service;

/// How long the accept loop pauses after an error such as "too many open files" (the next
/// accept would fail the same way at once).
const ACCEPT_PAUSE: Duration = Duration::from_millis(100);

/// Serves `app` on `listener` (through `tls` if given) within `limits` until `shutdown`
/// completes, then closes the idle connections and waits for the requests in progress (a caller
/// that will not wait for ever drops or aborts this future: every connection ends with it).
/// `name` names the server in the log.
pub async fn serve(
    name: &'static str,
    listener: TcpListener,
    tls: Option<TlsAcceptor>,
    app: Router,
    limits: Limits,
    shutdown: impl Future<Output = ()> + Send,
) -> std::io::Result<()> {
    tokio::pin!(shutdown);
    let (closing, closed) = watch::channel(false);
    let mut connections = JoinSet::new();
    let mut budget_full = false;
    loop {
        while connections.try_join_next().is_some() {}
        let (stream, peer) = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok(accepted) => accepted,
                Err(e) => {
                    accept_failed(name, &e);
                    tokio::select! {
                        () = tokio::time::sleep(ACCEPT_PAUSE) => continue,
                        () = &mut shutdown => break,
                    }
                }
            },
            () = &mut shutdown => break,
        };
        // Taken once a connection is there, so that room is not made for one that never comes.
        let slot = match limits.budget.try_take() {
            Some(slot) => {
                budget_full = false;
                slot
            }
            None => {
                if !budget_full {
                    budget_full = true;
                    tracing::warn!(
                        server = name,
                        budget = limits.budget.size(),
                        "every HTTP connection the process allows is held: the connections \
                         waiting longest for a request are closed to make room"
                    );
                }
                tokio::select! {
                    slot = limits.budget.take() => slot,
                    () = &mut shutdown => break,
                }
            }
        };
        let connection = Connection {
            app: app.clone(),
            limits: limits.clone(),
            peer,
            closed: closed.clone(),
            slot: Arc::new(slot),
        };
        let tls = tls.clone();
        connections.spawn(connection.run(stream, tls));
    }
    drop(listener);
    let _ = closing.send(true);
    while connections.join_next().await.is_some() {}
    Ok(())
}

/// Logs an accept that failed: the descriptors running out is worth a warning (the budget was
/// meant to prevent it); a connection reset before it was taken is not.
fn accept_failed(name: &str, e: &std::io::Error) {
    use std::io::ErrorKind::*;
    match e.kind() {
        ConnectionAborted | ConnectionReset | ConnectionRefused => {
            tracing::debug!(server = name, error = %e, "a connection ended before it was taken")
        }
        _ => tracing::warn!(server = name, error = %e, "cannot take a connection"),
    }
}

/// One accepted connection, with its share of the budget.
struct Connection {
    app: Router,
    limits: Limits,
    peer: SocketAddr,
    closed: watch::Receiver<bool>,
    /// Its share of the budget, given back when the connection ends; says whether a request
    /// is being handled.
    slot: Arc<Slot>,
}

impl Connection {
    /// The TLS handshake if any (within the header read timeout: it comes before the head), then
    /// the requests.
    async fn run(self, stream: TcpStream, tls: Option<TlsAcceptor>) {
        let _ = stream.set_nodelay(true);
        let slot = self.slot.clone();
        let peer = self.peer;
        tokio::select! {
            () = self.serve(stream, tls) => {}
            () = slot.closing() => {
                tracing::debug!(%peer, "an HTTP connection waiting for a request closed to make room");
            }
        }
    }

    async fn serve(self, stream: TcpStream, tls: Option<TlsAcceptor>) {
        match tls {
            None => self.http(stream).await,
            Some(acceptor) => {
                let handshake = acceptor.accept(stream);
                match tokio::time::timeout(self.limits.header_read_timeout, handshake).await {
                    Ok(Ok(stream)) => self.http(stream).await,
                    Ok(Err(e)) => {
                        tracing::debug!(peer = %self.peer, error = %e, "TLS handshake failed")
                    }
                    Err(_) => tracing::debug!(peer = %self.peer, "TLS handshake timed out"),
                }
            }
        }
    }

    /// HTTP/1.1 over `io` until the client closes, a limit ends the connection, or the server
    /// shuts down (then the request in progress is answered first).
    async fn http<I>(self, io: I)
    where
        I: AsyncRead + AsyncWrite + Unpin + Send + 'static,
    {
        let limits = &self.limits;
        let mut http = hyper::server::conn::http1::Builder::new();
        http.timer(TokioTimer::new())
            .header_read_timeout(limits.header_read_timeout)
            .max_buf_size(limits.max_header_bytes.max(limits::MIN_BUFFER))
            .max_header_size(limits.max_header_bytes)
            .max_headers(limits.max_headers);
        let service = RequestService {
            app: self.app.clone(),
            slot: self.slot.clone(),
            peer: self.peer,
            request_timeout: limits.request_timeout,
            max_body_bytes: limits.max_body_bytes,
        };
        let io = TokioIo::new(SendDeadline::new(io, limits.send_timeout));
        // Upgrades (the admin server's live console is a WebSocket) take the connection over
        // once answered: it leaves this server's limits, and the handler that takes it keeps
        // its own (the admin server bounds its sockets and ends them at its stop).
        let conn = http
            .serve_connection(io, hyper::service::service_fn(move |req| service.call(req)))
            .with_upgrades();
        tokio::pin!(conn);
        let mut closed = self.closed.clone();
        let shut = async move {
            // The watch's guard is dropped here, before the connection is awaited again.
            let _ = closed.wait_for(|c| *c).await;
        };
        let ended = tokio::select! {
            ended = conn.as_mut() => ended,
            () = shut => {
                conn.as_mut().graceful_shutdown();
                conn.await
            }
        };
        if let Err(e) = ended {
            // Timeouts, limits and clients going away: the client's doing, not worth more.
            tracing::debug!(peer = %self.peer, error = %e, "HTTP connection ended");
        }
    }
}

/// What each request goes through before the router: the client's address for `ConnectInfo`,
/// the body limit, and the request timeout; the connection is not closed for room meanwhile.
#[derive(Clone)]
struct RequestService {
    app: Router,
    slot: Arc<Slot>,
    peer: SocketAddr,
    request_timeout: Duration,
    max_body_bytes: usize,
}

impl RequestService {
    fn call(
        &self,
        req: Request<Incoming>,
    ) -> impl Future<Output = Result<Response<Body>, std::convert::Infallible>> + Send + 'static
    {
        let mut req =
            req.map(|body| Body::new(http_body_util::Limited::new(body, self.max_body_bytes)));
        req.extensions_mut().insert(ConnectInfo(self.peer));
        let mut app = self.app.clone();
        let timeout = self.request_timeout;
        let slot = self.slot.clone();
        slot.busy();
        async move {
            let answer = match tokio::time::timeout(timeout, app.call(req)).await {
                Ok(answer) => answer,
                Err(_) => Ok(timed_out()),
            };
            // The answer is being sent; then the connection waits for the next request.
            slot.waiting();
            answer
        }
    }
}

/// 408 and the connection closed: the request (most likely its body) took too long.
fn timed_out() -> Response<Body> {
    let mut answer = Response::new(Body::from("the request took too long\n"));
    *answer.status_mut() = StatusCode::REQUEST_TIMEOUT;
    answer.headers_mut().insert(
        header::CONNECTION,
        header::HeaderValue::from_static("close"),
    );
    answer
}

#[cfg(test)]
mod tests;
