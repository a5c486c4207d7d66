//! The live console: `GET /console-live`, a WebSocket carrying one BMC's serial console to the
//! status page's terminal. A browser cannot put a header on a WebSocket, and the token must
//! never be in an address, so the upgrade itself is open (like the page's static files) and
//! the token comes in the first message, within [`AUTH_DEADLINE`]:
//!
//! ```json
//! {"token": "...", "bmc": "node1"}
//! ```
//!
//! Refused (a wrong token, no such BMC, nothing in time, anything else first), the socket gets
//! `{"type":"error","error":"..."}` and is closed. Accepted, it gets `{"type":"ready","bmc":...,
//! "can_type":bool}`, the end of the console log ([`REPLAY`]) and then the output as it comes,
//! as binary messages. It is read-only: `{"type":"take"}` asks for the keyboard, given only if
//! `[admin] console_input` is on, the token is the admin token (not the viewer's), and no SOL
//! session or other browser types ([`crate::console_watch`]); then binary messages are typed
//! into the console, until `{"type":"release"}` or the socket closes. Taking and giving back
//! are audited as `live console` by `admin-api` from the browser's address. Answers:
//! `{"type":"keyboard","held":bool,"error":...}`.
//!
//! Limits: [`MAX_SOCKETS`] sockets at once (503 beyond, before any upgrade), messages and
//! frames of at most [`MAX_MESSAGE`] bytes (the socket is closed on a bigger one), an `Origin`
//! other than the server's own refused (403).

use super::{AdminState, Role};
use crate::console_watch::Keyboard;
use axum::extract::ws::{CloseFrame, Message, WebSocket, WebSocketUpgrade};
use axum::extract::{ConnectInfo, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Router;
use ipmi_bmc::Requester;
use serde::Deserialize;
use serde_json::json;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::broadcast::error::RecvError;

/// The socket's path.
pub const PATH: &str = "/console-live";
/// Live consoles open at once at most, across all browsers.
pub const MAX_SOCKETS: usize = 64;
/// The largest message (and frame) taken from a browser: keys typed and control messages are
/// small; a bigger one closes the socket.
pub const MAX_MESSAGE: usize = 4096;
/// The first message, with the token, must come within this.
pub const AUTH_DEADLINE: Duration = Duration::from_secs(5);
/// The end of the console log sent first.
const REPLAY: usize = 16 * 1024;
/// How often a socket checks that its BMC is still served (a reload may stop it).
const STILL_SERVED: Duration = Duration::from_secs(2);
/// Keys typed into a console that does not take them in this long are dropped.
const TYPE_DEADLINE: Duration = Duration::from_secs(2);

/// The route.
pub fn routes() -> Router<AdminState> {
    Router::new().route(PATH, get(upgrade))
}

/// The live consoles open, and the server's stop, which ends them.
#[derive(Default)]
pub struct Sockets {
    open: AtomicUsize,
    closing: tokio::sync::Notify,
    closed: std::sync::atomic::AtomicBool,
}

impl Sockets {
    /// A place for one more socket, if there is one.
    fn take(self: &Arc<Self>) -> Option<Slot> {
        let n = self.open.fetch_add(1, Ordering::AcqRel);
        if n >= MAX_SOCKETS || self.closed.load(Ordering::Acquire) {
            self.open.fetch_sub(1, Ordering::AcqRel);
            return None;
        }
        Some(Slot(self.clone()))
    }

    /// Ends every socket (the server stops).
    pub fn close(&self) {
        self.closed.store(true, Ordering::Release);
        self.closing.notify_waiters();
    }
}

/// One socket's place, given back when dropped.
struct Slot(Arc<Sockets>);

impl Drop for Slot {
    fn drop(&mut self) {
        self.0.open.fetch_sub(1, Ordering::AcqRel);
    }
}

/// Whether the `Origin`, if the browser sent one, is this server's (the `Host` asked for).
fn same_origin(headers: &HeaderMap) -> bool {
    let Some(origin) = headers.get(header::ORIGIN) else {
        return true;
    };
    let host = headers.get(header::HOST).map(|h| h.as_bytes());
    let origin = origin.as_bytes();
    let rest = origin
        .strip_prefix(b"http://")
        .or_else(|| origin.strip_prefix(b"https://"));
    rest.is_some() && rest == host
}

async fn upgrade(
    State(state): State<AdminState>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    ws: WebSocketUpgrade,
) -> Response {
    if !same_origin(&headers) {
        tracing::info!(%peer, origin = ?headers.get(header::ORIGIN), "live console refused: another origin");
        return (StatusCode::FORBIDDEN, "another origin\n").into_response();
    }
    let Some(slot) = state.live.take() else {
        tracing::info!(%peer, "live console refused: {MAX_SOCKETS} open already");
        return (StatusCode::SERVICE_UNAVAILABLE, "too many live consoles\n").into_response();
    };
    ws.max_message_size(MAX_MESSAGE)
        .max_frame_size(MAX_MESSAGE)
        .on_upgrade(move |socket| async move {
            let span = tracing::info_span!(parent: None, "live_console", %peer);
            let live = state.live.clone();
            let closing = live.closing.notified();
            // Stopped between the upgrade's answer and now: nothing to serve.
            if live.closed.load(Ordering::Acquire) {
                return;
            }
            let serve = tracing::Instrument::instrument(serve(socket, state, peer), span);
            tokio::select! {
                () = serve => {}
                () = closing => {}
            }
            drop(slot);
        })
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Hello {
    token: String,
    bmc: String,
}

#[derive(Deserialize)]
#[serde(tag = "type", rename_all = "lowercase")]
enum Control {
    Take,
    Release,
}

fn text(v: serde_json::Value) -> Message {
    Message::Text(v.to_string())
}

/// Sends an error and closes the socket (policy violation).
async fn refuse(socket: &mut WebSocket, why: &str) {
    tracing::info!(why = ?why, "live console refused");
    let _ = socket
        .send(text(json!({ "type": "error", "error": why })))
        .await;
    let close = CloseFrame {
        code: 1008,
        reason: "refused".into(),
    };
    let _ = socket.send(Message::Close(Some(close))).await;
}

async fn serve(mut socket: WebSocket, state: AdminState, peer: SocketAddr) {
    let hello = match tokio::time::timeout(AUTH_DEADLINE, socket.recv()).await {
        Ok(Some(Ok(Message::Text(t)))) => serde_json::from_str::<Hello>(&t).ok(),
        Ok(Some(Ok(_))) => None,
        // Closed, or a protocol error (a message or frame too big): nothing to answer.
        Ok(None | Some(Err(_))) => return tracing::info!("live console closed before its token"),
        Err(_) => return refuse(&mut socket, "no token in time").await,
    };
    let Some(hello) = hello else {
        return refuse(
            &mut socket,
            "the first message must be {\"token\", \"bmc\"}",
        )
        .await;
    };
    let Some(role) = state.auth().role(hello.token.as_bytes()) else {
        return refuse(&mut socket, "the token was refused").await;
    };
    let name = hello.bmc;
    let Some(view) = state.fleet.view(&name) else {
        return refuse(&mut socket, &format!("no BMC {name:?}")).await;
    };
    let can_type = role == Role::Operator && state.auth().console_input;
    tracing::info!(bmc = ?name, ?role, can_type, "live console opened");
    let mut output = view.console.subscribe();
    let ready = json!({ "type": "ready", "bmc": name, "can_type": can_type });
    if socket.send(text(ready)).await.is_err() {
        return;
    }
    if let Some((path, keep)) = view.info.console_log.clone() {
        let tail =
            tokio::task::spawn_blocking(move || crate::console_log::tail_at(&path, keep, REPLAY))
                .await
                .unwrap_or_default();
        if !tail.is_empty() && socket.send(Message::Binary(tail)).await.is_err() {
            return;
        }
    }
    let who = Requester {
        user: super::bmcs::API_USER.into(),
        peer,
        bmc: name.clone(),
    };
    let mut keyboard: Option<Keyboard> = None;
    let mut check = tokio::time::interval(STILL_SERVED);
    loop {
        tokio::select! {
            out = output.recv() => {
                let data = match out {
                    Ok(d) => d.to_vec(),
                    Err(RecvError::Lagged(n)) => format!("\r\n[{n} chunks of output lost: this browser fell behind]\r\n").into_bytes(),
                    Err(RecvError::Closed) => break,
                };
                if socket.send(Message::Binary(data)).await.is_err() {
                    break;
                }
            }
            msg = socket.recv() => {
                let answer = match msg {
                    Some(Ok(Message::Text(t))) => match serde_json::from_str::<Control>(&t) {
                        Ok(Control::Take) => take(&view, can_type, &mut keyboard, &who).await,
                        Ok(Control::Release) => {
                            if keyboard.take().is_some() {
                                // Given back either way: a failure is the sink's to log.
                                let _ = audit(&view, &who, "keyboard given back").await;
                            }
                            json!({ "type": "keyboard", "held": false })
                        }
                        Err(_) => json!({ "type": "error", "error": "unknown message" }),
                    },
                    Some(Ok(Message::Binary(keys))) => match &keyboard {
                        Some(k) => match tokio::time::timeout(TYPE_DEADLINE, k.type_keys(&keys)).await {
                            Ok(Ok(())) => continue,
                            Ok(Err(e)) => json!({ "type": "error", "error": format!("not typed: {e}") }),
                            Err(_) => json!({ "type": "error", "error": "not typed: the console did not take the keys in time" }),
                        },
                        None => json!({ "type": "error", "error": "read-only: take the keyboard first" }),
                    },
                    Some(Ok(Message::Ping(_) | Message::Pong(_))) => continue,
                    // Closed, or a protocol error (a message or frame too big).
                    Some(Ok(Message::Close(_))) | Some(Err(_)) | None => break,
                };
                if socket.send(text(answer)).await.is_err() {
                    break;
                }
            }
            _ = check.tick() => {
                let served = state.fleet.view(&name).is_some_and(|v| Arc::ptr_eq(&v.bmc, &view.bmc));
                if !served {
                    let _ = socket.send(text(json!({ "type": "error", "error": "the BMC is no longer served" }))).await;
                    break;
                }
            }
        }
    }
    if keyboard.take().is_some() {
        let _ = audit(&view, &who, "keyboard given back (socket closed)").await;
    }
    tracing::info!(bmc = ?name, "live console closed");
}

/// Asks for the keyboard: the answer for the browser.
async fn take(
    view: &crate::runtime::BmcView,
    can_type: bool,
    keyboard: &mut Option<Keyboard>,
    who: &Requester,
) -> serde_json::Value {
    if keyboard.is_some() {
        return json!({ "type": "keyboard", "held": true });
    }
    if !can_type {
        let why =
            "typing is not allowed: it needs [admin] console_input = true and the admin token";
        return json!({ "type": "keyboard", "held": false, "error": why });
    }
    match view.console.take_keyboard() {
        // Typed keys change the machine: no keyboard unless its taking is on record.
        Ok(k) => match audit(view, who, "keyboard taken").await {
            Ok(()) => {
                *keyboard = Some(k);
                json!({ "type": "keyboard", "held": true })
            }
            Err(e) => {
                let why = format!("the audit log cannot be written: {e}");
                json!({ "type": "keyboard", "held": false, "error": why })
            }
        },
        Err(busy) => json!({ "type": "keyboard", "held": false, "error": busy.to_string() }),
    }
}

/// Audits `call`; an error if the record could not be written where the audit fails closed.
async fn audit(view: &crate::runtime::BmcView, who: &Requester, call: &str) -> Result<(), String> {
    tracing::info!(who = %who, call, "live console");
    let Some(sink) = view.bmc.audit_sink() else {
        return Ok(());
    };
    let record = crate::audit::done_record(
        who.clone(),
        ipmi_bmc::Protocol::AdminApi,
        None,
        "live console",
        call.to_string(),
    );
    match sink.record(record, ipmi_bmc::Durability::Written).await {
        Err(e) if sink.fails_closed() => Err(e),
        _ => Ok(()),
    }
}
