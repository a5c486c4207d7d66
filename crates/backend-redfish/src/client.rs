//! A client of one Redfish service with one account: authentication (a SessionService session,
//! or basic auth where the service offers no sessions), one HTTP exchange at a time with its
//! own timeout inside the caller's deadline, retries, rate limits, bounded answers, and task
//! monitors followed to their end.
//!
//! - **Sessions**: the service root (readable without credentials) names the sessions
//!   collection; `POST` there with the user name and password gives the `X-Auth-Token` and the
//!   session's `Location`. A 401 on a token means the service forgot the session (it restarted,
//!   or timed the session out): the client logs in again, once per lost session however many
//!   calls saw it, and repeats the call (a 401 was surely not carried out). A service without
//!   sessions gets basic auth on every call.
//! - **Retries**: reads (`GET`, `DELETE`) after 5xx and transport errors, with backoff; actions
//!   and updates (`POST`, `PATCH`) only when surely not sent (no connection, 401, 429), since a
//!   lost answer to a `ForceRestart` must not restart the machine twice.
//! - **429**: waited out when its `Retry-After` fits in the deadline; otherwise every call
//!   fails at once as busy until it passes.
//! - The password and the token go in headers only (marked sensitive), never in a URL, an
//!   error or a log line; no redirect is followed (it would carry them along); an answer of
//!   more than [`MAX_BODY`] bytes is refused.
//! - **Links**: every path the client requests passes [`crate::links::service_url`] (a path
//!   on the configured origin, nothing else), so the login and the token go to this service
//!   only, wherever its links point.

use crate::errors::{error_message, transport, ApiError};
use http_support::{header_u64, rate_limit_wait, read_capped, RateGate};
use reqwest::header::{HeaderMap, HeaderValue};
use reqwest::Method;
use std::sync::Mutex;
use std::time::Duration;
use tokio::time::Instant;
use zeroize::Zeroizing;

/// The largest answer read; a service that sends more is refused (a BMC's resources are a few
/// kilobytes).
pub const MAX_BODY: usize = 1 << 20;

/// Where sessions are made when the service root does not say (the Redfish specification's
/// fixed URI).
const DEFAULT_SESSIONS: &str = "/redfish/v1/SessionService/Sessions";

pub use http_support::Policy;

/// An answer with a 2xx status.
#[derive(Clone, Debug, Default)]
pub struct Reply {
    /// The HTTP status.
    pub status: u16,
    /// The `ETag` header.
    pub etag: Option<String>,
    /// The `Location` header, as a path of this service.
    pub location: Option<String>,
    /// The `Retry-After` header (task monitors).
    pub retry_after: Option<Duration>,
    /// The body (at most [`MAX_BODY`] bytes).
    pub body: Vec<u8>,
}

impl Reply {
    /// The body as JSON (`null` if empty).
    pub fn json(&self) -> Result<serde_json::Value, ApiError> {
        if self.body.iter().all(u8::is_ascii_whitespace) {
            return Ok(serde_json::Value::Null);
        }
        serde_json::from_slice(&self.body).map_err(|e| ApiError::Decode(e.to_string()))
    }
}

/// How the client proves who it is.
#[derive(Clone, Debug, PartialEq, Eq)]
enum Mode {
    /// Not known until the service root is read.
    Unknown,
    /// Basic auth on every call: the service offers no sessions.
    Basic,
    /// A session made at this path.
    Session(String),
}

/// The credentials of one call.
enum Cred {
    /// None: the service root, and the login itself.
    Anonymous,
    Basic,
    /// A session token and the login it came from.
    Token(Zeroizing<String>, u64),
}

struct Token {
    value: Zeroizing<String>,
    /// The session resource, to delete at logout.
    location: Option<String>,
    /// Counts logins, so that many calls that see one session lost log in once.
    login: u64,
}

struct Auth {
    mode: Mode,
    token: Option<Token>,
    logins: u64,
}

/// A client of one Redfish service (`https://host[:port]`) with one account.
pub struct RedfishClient {
    http: reqwest::Client,
    origin: String,
    user: String,
    password: Zeroizing<String>,
    policy: Policy,
    auth: Mutex<Auth>,
    /// One login at a time.
    login_flight: tokio::sync::Mutex<()>,
    /// Calls fail at once as rate-limited while it is closed.
    rate_gate: RateGate,
}

impl std::fmt::Debug for RedfishClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RedfishClient")
            .field("origin", &self.origin)
            .field("user", &self.user)
            .field("password", &"<redacted>")
            .finish()
    }
}

impl RedfishClient {
    /// A client of `origin` (`https://host[:port]`, no path) as `user`.
    pub fn new(
        http: reqwest::Client,
        origin: &str,
        user: &str,
        password: Zeroizing<String>,
        policy: Policy,
    ) -> Self {
        RedfishClient {
            http,
            origin: origin.trim_end_matches('/').to_string(),
            user: user.to_string(),
            password,
            policy,
            auth: Mutex::new(Auth {
                mode: Mode::Unknown,
                token: None,
                logins: 0,
            }),
            login_flight: tokio::sync::Mutex::new(()),
            rate_gate: RateGate::for_api("redfish"),
        }
    }

    /// Whether this is the client of `origin` as `user` with `password` (one is shared by
    /// every BMC with the same service and account: one session, one rate limit).
    pub fn serves(&self, origin: &str, user: &str, password: &str) -> bool {
        self.origin == origin.trim_end_matches('/')
            && self.user == user
            && self.password.as_str() == password
    }

    /// The service's origin, for logs.
    pub fn origin(&self) -> &str {
        &self.origin
    }

    /// How many times the client has logged in (tests and logs).
    pub fn logins(&self) -> u64 {
        self.auth.lock().expect("auth lock").logins
    }

    /// `GET path`.
    pub async fn get(&self, path: &str, deadline: Instant) -> Result<Reply, ApiError> {
        self.call(Method::GET, path, None, None, deadline).await
    }

    /// `POST path` with a JSON body.
    pub async fn post(
        &self,
        path: &str,
        body: &serde_json::Value,
        deadline: Instant,
    ) -> Result<Reply, ApiError> {
        self.call(Method::POST, path, Some(body), None, deadline)
            .await
    }

    /// `PATCH path` with a JSON body, and `If-Match: etag` when one is given.
    pub async fn patch(
        &self,
        path: &str,
        body: &serde_json::Value,
        etag: Option<&str>,
        deadline: Instant,
    ) -> Result<Reply, ApiError> {
        self.call(Method::PATCH, path, Some(body), etag, deadline)
            .await
    }

    /// Follows the task monitor at `location` (the `Location` of a 202) until the task ends,
    /// within `deadline`: a 202 means still running; a Task resource says its `TaskState`;
    /// any other success is the operation's own answer.
    pub async fn follow_task(&self, location: &str, deadline: Instant) -> Result<(), ApiError> {
        loop {
            let reply = self.get(location, deadline).await?;
            let state = reply
                .json()
                .ok()
                .and_then(|v| v.get("TaskState")?.as_str().map(str::to_string));
            match (reply.status, state.as_deref()) {
                (_, Some("Completed")) => return Ok(()),
                (_, Some(s @ ("Exception" | "Killed" | "Cancelled" | "Interrupted"))) => {
                    return Err(ApiError::Refused {
                        status: reply.status,
                        message: format!("the task ended {s}: {}", error_message(&reply.body)),
                    })
                }
                (202, _) | (_, Some(_)) => {
                    let wait = reply
                        .retry_after
                        .unwrap_or(Duration::from_millis(250))
                        .clamp(Duration::from_millis(50), Duration::from_secs(2));
                    if Instant::now() + wait >= deadline {
                        return Err(ApiError::Timeout(format!(
                            "the task at {location} did not end in time"
                        )));
                    }
                    tokio::time::sleep(wait).await;
                }
                _ => return Ok(()),
            }
        }
    }

    /// Deletes the session, if there is one (at shutdown); errors are only logged.
    pub async fn logout(&self) {
        let token = self.auth.lock().expect("auth lock").token.take();
        let Some(Token {
            value,
            location: Some(location),
            ..
        }) = token
        else {
            return;
        };
        let url = match crate::links::service_url(&self.origin, &location) {
            Ok(u) => u,
            Err(e) => {
                tracing::warn!(service = %self.origin, error = %e, "the Redfish session is not deleted");
                return;
            }
        };
        let sent = self
            .http
            .delete(url)
            .header("X-Auth-Token", sensitive(&value))
            .timeout(Duration::from_secs(2))
            .send()
            .await;
        match sent {
            Ok(r) => {
                tracing::info!(service = %self.origin, status = r.status().as_u16(), "Redfish session deleted")
            }
            Err(e) => {
                tracing::info!(service = %self.origin, error = %transport(e), "could not delete the Redfish session")
            }
        }
    }

    /// One call with its retries and, on a lost session, one fresh login.
    async fn call(
        &self,
        method: Method,
        path: &str,
        body: Option<&serde_json::Value>,
        if_match: Option<&str>,
        deadline: Instant,
    ) -> Result<Reply, ApiError> {
        let mut attempt = 0u32;
        let mut logged_in_again = false;
        loop {
            if let Some(left) = self.rate_gate.closed_for() {
                return Err(ApiError::RateLimited(left));
            }
            let cred = self.credentials(deadline).await?;
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                return Err(ApiError::Timeout(format!("{method} {path}")));
            }
            let result = self
                .once(
                    &method,
                    path,
                    body,
                    if_match,
                    &cred,
                    left.min(self.policy.timeout),
                )
                .await;
            if let (Err(ApiError::Unauthorized(_)), Cred::Token(_, login)) = (&result, &cred) {
                if !logged_in_again {
                    // The service forgot the session: log in again (once for every call that
                    // saw this session refused) and repeat the call, which was refused unseen.
                    logged_in_again = true;
                    self.forget_session(*login);
                    tracing::info!(service = %self.origin, ?path, "Redfish session refused (401): logging in again");
                    continue;
                }
            }
            let idempotent = method == Method::GET || method == Method::DELETE;
            let backoff = self.policy.backoff(attempt);
            let retry_in =
                match &result {
                    Ok(_) => return result,
                    Err(ApiError::RateLimited(wait)) => Some(*wait),
                    Err(
                        ApiError::Server { .. } | ApiError::Transport(_) | ApiError::Timeout(_),
                    ) if idempotent => Some(backoff),
                    Err(ApiError::Connect(_)) => Some(backoff),
                    Err(_) => None,
                };
            match retry_in {
                Some(wait) if attempt < self.policy.retries && Instant::now() + wait < deadline => {
                    tracing::info!(service = %self.origin, ?path, error = ?result.as_ref().err().map(ToString::to_string).unwrap_or_default(), retry_in = ?wait, "Redfish call failed: retrying");
                    tokio::time::sleep(wait).await;
                    attempt += 1;
                }
                _ => {
                    // A rate limit not waited out: the others should not keep asking either.
                    if let Err(ApiError::RateLimited(wait)) = &result {
                        self.rate_gate.close_for(*wait);
                    }
                    return result;
                }
            }
        }
    }

    /// The credentials of the next call: basic auth, or the session's token (logging in if
    /// there is none, one login at a time).
    async fn credentials(&self, deadline: Instant) -> Result<Cred, ApiError> {
        if let Some(c) = self.current() {
            return Ok(c);
        }
        let _flight = self.login_flight.lock().await;
        if let Some(c) = self.current() {
            return Ok(c); // another caller logged in meanwhile
        }
        let mode = self.auth.lock().expect("auth lock").mode.clone();
        let sessions = match mode {
            Mode::Unknown => match self.sessions_path(deadline).await? {
                Some(p) => p,
                None => {
                    tracing::info!(service = %self.origin, "the Redfish service offers no sessions: basic auth");
                    self.auth.lock().expect("auth lock").mode = Mode::Basic;
                    return Ok(Cred::Basic);
                }
            },
            Mode::Session(p) => p,
            Mode::Basic => return Ok(Cred::Basic),
        };
        match self.login(&sessions, deadline).await {
            Ok((value, location)) => {
                let mut a = self.auth.lock().expect("auth lock");
                a.logins += 1;
                a.mode = Mode::Session(sessions);
                a.token = Some(Token {
                    value: value.clone(),
                    location,
                    login: a.logins,
                });
                tracing::info!(service = %self.origin, user = %self.user, "Redfish session opened");
                Ok(Cred::Token(value, a.logins))
            }
            Err(ApiError::NotFound(_)) | Err(ApiError::Refused { .. })
                if self.auth.lock().expect("auth lock").mode == Mode::Unknown =>
            {
                tracing::info!(service = %self.origin, "the Redfish service refuses sessions: basic auth");
                self.auth.lock().expect("auth lock").mode = Mode::Basic;
                Ok(Cred::Basic)
            }
            Err(e) => Err(e),
        }
    }

    fn current(&self) -> Option<Cred> {
        let a = self.auth.lock().expect("auth lock");
        match (&a.mode, &a.token) {
            (Mode::Basic, _) => Some(Cred::Basic),
            (Mode::Session(_), Some(t)) => Some(Cred::Token(t.value.clone(), t.login)),
            _ => None,
        }
    }

    fn forget_session(&self, login: u64) {
        let mut a = self.auth.lock().expect("auth lock");
        if a.token.as_ref().is_some_and(|t| t.login == login) {
            a.token = None;
        }
    }

    /// The sessions collection named by the service root (`Links.Sessions`), or `None` if the
    /// root names no SessionService.
    async fn sessions_path(&self, deadline: Instant) -> Result<Option<String>, ApiError> {
        let timeout = deadline
            .saturating_duration_since(Instant::now())
            .min(self.policy.timeout);
        let root = self
            .once(
                &Method::GET,
                "/redfish/v1/",
                None,
                None,
                &Cred::Anonymous,
                timeout,
            )
            .await;
        let root = match root {
            Ok(r) => r.json()?,
            // A root behind authentication: try the specification's sessions URI.
            Err(ApiError::Unauthorized(_)) => return Ok(Some(DEFAULT_SESSIONS.to_string())),
            Err(e) => return Err(e),
        };
        let linked = root
            .pointer("/Links/Sessions/@odata.id")
            .and_then(|v| v.as_str())
            .map(str::to_string);
        Ok(match linked {
            Some(p) => Some(p),
            None if root.get("SessionService").is_some() => Some(DEFAULT_SESSIONS.to_string()),
            None => None,
        })
    }

    /// Logs in: the token and the session's path.
    async fn login(
        &self,
        sessions: &str,
        deadline: Instant,
    ) -> Result<(Zeroizing<String>, Option<String>), ApiError> {
        let body = serde_json::json!({
            "UserName": self.user,
            "Password": self.password.as_str(),
        });
        let mut attempt = 0;
        let reply = loop {
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                return Err(ApiError::Timeout("login".into()));
            }
            let r = self
                .exchange(
                    &Method::POST,
                    sessions,
                    Some(&body),
                    None,
                    &Cred::Anonymous,
                    left.min(self.policy.timeout),
                )
                .await;
            match r {
                // Not sent at all: a retry cannot open two sessions.
                Err(ApiError::Connect(_)) if attempt < self.policy.retries => {
                    attempt += 1;
                    tokio::time::sleep(self.policy.backoff).await;
                }
                Err(ApiError::Unauthorized(m)) => {
                    return Err(ApiError::Unauthorized(format!(
                        "login as {:?} refused: {m}",
                        self.user
                    )))
                }
                other => break other?,
            }
        };
        let token = reply
            .token
            .ok_or_else(|| ApiError::Decode("the login answer has no X-Auth-Token".into()))?;
        let location = reply.reply.location.clone().or_else(|| {
            reply
                .reply
                .json()
                .ok()
                .and_then(|v| v.get("@odata.id")?.as_str().map(str::to_string))
        });
        Ok((token, location))
    }

    /// One HTTP exchange.
    async fn once(
        &self,
        method: &Method,
        path: &str,
        body: Option<&serde_json::Value>,
        if_match: Option<&str>,
        cred: &Cred,
        timeout: Duration,
    ) -> Result<Reply, ApiError> {
        self.exchange(method, path, body, if_match, cred, timeout)
            .await
            .map(|r| r.reply)
    }

    async fn exchange(
        &self,
        method: &Method,
        path: &str,
        body: Option<&serde_json::Value>,
        if_match: Option<&str>,
        cred: &Cred,
        timeout: Duration,
    ) -> Result<Exchange, ApiError> {
        // Every request goes through here: the one place a link from the service is checked.
        let url = crate::links::service_url(&self.origin, path).inspect_err(|e| {
            tracing::warn!(service = %self.origin, %method, error = %e, "Redfish link refused");
        })?;
        let mut req = self
            .http
            .request(method.clone(), url)
            .header("Accept", "application/json")
            .header("OData-Version", "4.0")
            .timeout(timeout);
        req = match cred {
            Cred::Basic => req.basic_auth(&self.user, Some(self.password.as_str())),
            Cred::Token(t, _) => req.header("X-Auth-Token", sensitive(t)),
            Cred::Anonymous => req,
        };
        if let Some(tag) = if_match {
            req = req.header("If-Match", tag);
        }
        if let Some(b) = body {
            req = req.json(b);
        }
        let mut resp = req.send().await.map_err(transport)?;
        let status = resp.status().as_u16();
        let headers = resp.headers().clone();
        let too_large = || {
            ApiError::Decode(format!(
                "{method} {path}: the answer is larger than {MAX_BODY} bytes"
            ))
        };
        let bytes = read_capped(&mut resp, MAX_BODY, too_large, transport).await?;
        if (200..300).contains(&status) {
            let token = header(&headers, "x-auth-token").map(Zeroizing::new);
            return Ok(Exchange {
                reply: Reply {
                    status,
                    etag: header(&headers, "etag"),
                    location: header(&headers, "location").and_then(|l| self.path_of(&l)),
                    retry_after: header_u64(&headers, "retry-after").map(Duration::from_secs),
                    body: bytes,
                },
                token,
            });
        }
        let message = error_message(&bytes);
        tracing::warn!(service = %self.origin, %method, ?path, status, error = ?message, "Redfish error");
        Err(match status {
            401 => ApiError::Unauthorized(message),
            404 => ApiError::NotFound(message),
            412 | 428 => ApiError::Precondition { status, message },
            429 => {
                self.rate_gate.limited();
                ApiError::RateLimited(rate_limit_wait(header_u64(&headers, "retry-after")))
            }
            s if s >= 500 && s != 501 => ApiError::Server { status, message },
            _ => ApiError::Refused { status, message },
        })
    }

    /// A `Location` as a path of this service; one that points elsewhere is dropped (the
    /// credentials go to this service only).
    fn path_of(&self, location: &str) -> Option<String> {
        crate::links::service_path(&self.origin, location).ok()
    }
}

/// A successful exchange, with the token a login returns.
struct Exchange {
    reply: Reply,
    token: Option<Zeroizing<String>>,
}

fn sensitive(v: &str) -> HeaderValue {
    let mut h = HeaderValue::from_str(v).unwrap_or_else(|_| HeaderValue::from_static(""));
    h.set_sensitive(true);
    h
}

fn header(h: &HeaderMap, name: &str) -> Option<String> {
    h.get(name)?.to_str().ok().map(str::to_string)
}
