//! The iPXE script endpoint (`[ipxe]`): the machines' boot scripts, on a listener of their own.
//! `GET /ipxe/NAME/SECRET` answers BMC NAME's script ([`ipmi_bmc::Bmc::ipxe_script`]) when
//! SECRET is its current one; anything else (an unknown name, a wrong or old secret, another
//! path or method) gets the same empty 404, so that nothing tells a name that exists from one
//! that does not. The secret is never logged: a fetch's log line names the BMC, the client's
//! address and what the script does.

use crate::config::IpxeConfig;
use crate::runtime::Fleet;
use axum::extract::{ConnectInfo, Request, State};
use axum::http::{header, Method, StatusCode};
use axum::response::{IntoResponse, Response};
use std::net::SocketAddr;
use std::sync::Arc;

/// A running endpoint.
pub struct IpxeServer {
    stop: tokio::sync::oneshot::Sender<()>,
    task: tokio::task::JoinHandle<std::io::Result<()>>,
}

impl IpxeServer {
    /// Stops taking connections and drops those open (a script is a few hundred bytes: none
    /// is worth waiting for at a shutdown).
    pub fn stop(self) {
        let _ = self.stop.send(());
        self.task.abort();
    }
}

/// Binds the endpoint's socket and serves the fleet's scripts on it, with the hardened HTTP
/// server's limits over `budget` (the process's HTTP connections).
pub async fn start(
    config: &IpxeConfig,
    fleet: Arc<Fleet>,
    budget: http_server::ConnectionBudget,
) -> std::io::Result<IpxeServer> {
    let listener = tokio::net::TcpListener::bind(config.listen)
        .await
        .map_err(|e| {
            std::io::Error::new(
                e.kind(),
                format!("ipxe: cannot listen on {}: {e}", config.listen),
            )
        })?;
    let addr = listener.local_addr()?;
    let app = axum::Router::new().fallback(script).with_state(fleet);
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let task = tokio::spawn(http_server::serve(
        "ipxe",
        listener,
        None,
        app,
        http_server::Limits::new(budget),
        async {
            let _ = stopped.await;
        },
    ));
    tracing::info!(listen = %addr, public_url = %config.public_url, "iPXE endpoint listening");
    Ok(IpxeServer { stop, task })
}

/// `/ipxe/NAME/SECRET` split, NAME percent-decoded.
fn parse_path(path: &str) -> Option<(String, &str)> {
    let rest = path.strip_prefix("/ipxe/")?;
    let (name, secret) = rest.split_once('/')?;
    if secret.is_empty() || secret.contains('/') {
        return None;
    }
    Some((percent_decode(name)?, secret))
}

fn percent_decode(s: &str) -> Option<String> {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'%' {
            let hex = std::str::from_utf8(b.get(i + 1..i + 3)?).ok()?;
            out.push(u8::from_str_radix(hex, 16).ok()?);
            i += 3;
        } else {
            out.push(b[i]);
            i += 1;
        }
    }
    String::from_utf8(out).ok()
}

fn not_found() -> Response {
    StatusCode::NOT_FOUND.into_response()
}

async fn script(
    State(fleet): State<Arc<Fleet>>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    req: Request,
) -> Response {
    if req.method() != Method::GET && req.method() != Method::HEAD {
        return not_found();
    }
    let Some((name, secret)) = parse_path(req.uri().path()) else {
        tracing::info!(%peer, "iPXE endpoint: not a script path: 404");
        return not_found();
    };
    let script = match fleet.view(&name) {
        Some(v) => v.bmc.ipxe_script(secret).await,
        None => None,
    };
    match script {
        Some(s) => {
            tracing::info!(bmc = ?name, %peer, answer = s.name(), "iPXE script served");
            (
                [
                    (header::CONTENT_TYPE, "text/plain; charset=utf-8"),
                    (header::CACHE_CONTROL, "no-store"),
                ],
                s.text(),
            )
                .into_response()
        }
        None => {
            // The name asked for may not exist: logged escaped, never the secret.
            tracing::info!(bmc = ?name, %peer, "iPXE endpoint: unknown BMC or secret: 404");
            not_found()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths() {
        assert_eq!(
            parse_path("/ipxe/rack%201%2Fn/abc"),
            Some(("rack 1/n".to_string(), "abc"))
        );
        for bad in [
            "/ipxe/n",
            "/ipxe/n/",
            "/ipxe/n/a/b",
            "/x/n/a",
            "/ipxe/%zz/a",
        ] {
            assert_eq!(parse_path(bad), None, "{bad}");
        }
    }
}
