//! The HTTP side: one client per API account (base URL and credentials), shared by every BMC
//! that uses it, so that a rate limit one BMC meets holds the others back too.
//!
//! Every try has a timeout and the whole call a deadline. Reads (`GET`, and the idempotent
//! `PUT` and `DELETE`) are retried on 5xx and transport errors with backoff; a `POST` or `PATCH`
//! only when it surely was not sent (no connection) or was refused by a rate limit, since a lost
//! answer to a reset must not reset the machine twice. A rate limit (429, or any status mapped to
//! 0xC0) is waited out when its `Retry-After` ends before the deadline; otherwise every call on
//! this account answers 0xC0 at once, without asking the API, until it does. Redirects are not
//! followed (one would carry the credentials along), and answers are read up to a size limit.
//! The secret goes into one header, marked sensitive, and into no URL, error or log line.

use crate::codes::{self, Codes};
use http_support::{read_capped, RateGate};
use ipmi_bmc::BackendError;
use std::time::Duration;
use tokio::time::Instant;
use zeroize::Zeroizing;

/// How the API knows who is asking.
#[derive(Clone, PartialEq, Eq)]
pub enum Auth {
    /// No credentials.
    None,
    /// `Authorization: Bearer SECRET`.
    Bearer(Zeroizing<String>),
    /// `Authorization: Basic base64(USER:SECRET)`.
    Basic {
        /// The user name (not secret).
        user: String,
        /// The password.
        secret: Zeroizing<String>,
    },
    /// `NAME: SECRET`.
    Header {
        /// The header's name.
        name: String,
        /// Its value.
        secret: Zeroizing<String>,
    },
}

impl std::fmt::Debug for Auth {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.describe())
    }
}

impl Auth {
    /// For `check-config`: the kind, the user or header name, never the secret.
    pub fn describe(&self) -> String {
        match self {
            Auth::None => "no auth".into(),
            Auth::Bearer(_) => "bearer token".into(),
            Auth::Basic { user, .. } => format!("basic auth as {user}"),
            Auth::Header { name, .. } => format!("{name} header"),
        }
    }

    /// The header carrying the credentials, marked sensitive (kept out of debug output).
    fn header(&self) -> Option<(String, reqwest::header::HeaderValue)> {
        use base64::Engine;
        let (name, value) = match self {
            Auth::None => return None,
            Auth::Bearer(t) => (
                "authorization".to_string(),
                Zeroizing::new(format!("Bearer {}", t.as_str())),
            ),
            Auth::Basic { user, secret } => {
                let plain = Zeroizing::new(format!("{user}:{}", secret.as_str()));
                let encoded = Zeroizing::new(
                    base64::engine::general_purpose::STANDARD.encode(plain.as_bytes()),
                );
                (
                    "authorization".to_string(),
                    Zeroizing::new(format!("Basic {}", encoded.as_str())),
                )
            }
            Auth::Header { name, secret } => {
                (name.clone(), Zeroizing::new(secret.as_str().to_string()))
            }
        };
        // Checked printable when the configuration was loaded.
        let mut v = reqwest::header::HeaderValue::from_str(&value).ok()?;
        v.set_sensitive(true);
        Some((name, v))
    }
}

/// Timeouts, retries and limits of each call.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Policy {
    /// The time limit of one HTTP exchange.
    pub timeout: Duration,
    /// Retries after the first try (for what may be retried).
    pub retries: u32,
    /// The first backoff; it doubles with each retry.
    pub backoff: Duration,
    /// Answers longer than this many bytes are refused.
    pub max_body: usize,
}

/// A request, its placeholders expanded.
#[derive(Clone, Debug)]
pub struct Request {
    /// `GET`, `POST`, ...
    pub method: reqwest::Method,
    /// The path below the base URL (starting with `/`), already encoded.
    pub path: String,
    /// Query pairs.
    pub query: Vec<(String, String)>,
    /// The body.
    pub body: Body,
}

/// A request body.
#[derive(Clone, Debug, PartialEq)]
pub enum Body {
    /// None.
    Empty,
    /// `application/json`.
    Json(serde_json::Value),
    /// `application/x-www-form-urlencoded`.
    Form(Vec<(String, String)>),
}

enum TryError {
    /// The connection could not be made: nothing was sent.
    Connect(String),
    /// No answer in time: the request may have been carried out.
    Timeout(String),
    /// Reset, TLS, a broken answer: the request may have been carried out.
    Transport(String),
    /// The answer was larger than the limit.
    TooLarge,
}

struct Answer {
    status: u16,
    retry_after: Option<Duration>,
    body: Vec<u8>,
}

/// The HTTP client shared by the http backends of a process (one connection pool), with rustls,
/// no redirects, and a User-Agent naming the project.
pub struct SharedHttp(pub reqwest::Client);

impl SharedHttp {
    /// The client.
    pub fn new() -> SharedHttp {
        SharedHttp(
            http_support::client_builder(http_support::USER_AGENT)
                .build()
                .expect("a TLS backend is compiled in"),
        )
    }
}

impl Default for SharedHttp {
    fn default() -> Self {
        SharedHttp::new()
    }
}

/// A client of one API account.
pub struct HttpApi {
    http: reqwest::Client,
    base: String,
    auth: Auth,
    headers: Vec<(String, String)>,
    policy: Policy,
    /// Calls fail at once as rate-limited while it is closed.
    rate_gate: RateGate,
}

impl HttpApi {
    /// A client of `base` (no trailing `/`) with these credentials, extra headers and policy.
    pub fn new(
        http: reqwest::Client,
        base: &str,
        auth: Auth,
        headers: Vec<(String, String)>,
        policy: Policy,
    ) -> HttpApi {
        HttpApi {
            http,
            base: base.trim_end_matches('/').to_string(),
            auth,
            headers,
            policy,
            rate_gate: RateGate::for_api("http"),
        }
    }

    /// Whether this is the client of that account with those settings.
    pub fn serves(
        &self,
        base: &str,
        auth: &Auth,
        headers: &[(String, String)],
        policy: &Policy,
    ) -> bool {
        self.base == base.trim_end_matches('/')
            && &self.auth == auth
            && self.headers == headers
            && &self.policy == policy
    }

    /// Sends `req` until it succeeds, fails for good, or `deadline` comes; the answer's body on
    /// success (by `codes`).
    pub async fn call(
        &self,
        req: &Request,
        codes: &Codes,
        deadline: Instant,
    ) -> Result<Vec<u8>, BackendError> {
        let what = format!("{} {}", req.method, req.path);
        // RFC 9110: GET, HEAD, PUT and DELETE are idempotent; POST and PATCH are not.
        let idempotent = matches!(
            req.method,
            reqwest::Method::GET
                | reqwest::Method::HEAD
                | reqwest::Method::PUT
                | reqwest::Method::DELETE
        );
        let mut attempt = 0u32;
        loop {
            if let Some(left) = self.rate_gate.closed_for() {
                return Err(BackendError::Busy(format!("API rate limit, {left:?} left")));
            }
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                return Err(BackendError::Timeout(format!(
                    "{what}: no answer by the deadline"
                )));
            }
            let backoff = http_support::backoff(self.policy.backoff, attempt);
            let may_retry = attempt < self.policy.retries;
            let outcome = self.once(req, left.min(self.policy.timeout)).await;
            let (retry_in, err) = match outcome {
                Ok(a) => {
                    let cc = codes.of(a.status);
                    if cc == codes::OK {
                        return Ok(a.body);
                    }
                    let message = error_message(&a.body);
                    tracing::warn!(request = %what, status = a.status, error = ?message, ccode = format_args!("{cc:#04x}"), "API error");
                    let err = codes::error_of(cc, format!("{what}: HTTP {}: {message}", a.status));
                    if cc == codes::BUSY {
                        self.rate_gate.limited();
                        // Refused by a rate limit: surely not carried out, so even a POST may go
                        // again, if the limit ends in time.
                        let wait = a.retry_after.unwrap_or(Duration::from_secs(1));
                        if Instant::now() + wait < deadline {
                            (Some(wait), err)
                        } else {
                            self.rate_gate.close_for(wait);
                            return Err(err);
                        }
                    } else if a.status >= 500 && cc == codes::FAILED && idempotent && may_retry {
                        (Some(backoff), err)
                    } else {
                        return Err(err);
                    }
                }
                Err(TryError::Connect(m)) => (
                    may_retry.then_some(backoff),
                    BackendError::Timeout(format!("{what}: API unreachable: {m}")),
                ),
                Err(TryError::Timeout(m)) => (
                    (idempotent && may_retry).then_some(backoff),
                    BackendError::Timeout(format!("{what}: no answer in time: {m}")),
                ),
                Err(TryError::Transport(m)) => (
                    (idempotent && may_retry).then_some(backoff),
                    BackendError::Timeout(format!("{what}: transport error: {m}")),
                ),
                Err(TryError::TooLarge) => {
                    return Err(BackendError::Failed(format!(
                        "{what}: the answer is larger than {} bytes",
                        self.policy.max_body
                    )))
                }
            };
            match retry_in {
                Some(wait) if Instant::now() + wait < deadline => {
                    tracing::info!(request = %what, error = ?err.to_string(), retry_in = ?wait, "API call failed: retrying");
                    tokio::time::sleep(wait).await;
                    attempt += 1;
                }
                _ => {
                    if !idempotent && matches!(err, BackendError::Timeout(_)) {
                        tracing::warn!(request = %what, error = ?err.to_string(), "not retried: the request may have been carried out");
                    }
                    return Err(err);
                }
            }
        }
    }

    async fn once(&self, req: &Request, timeout: Duration) -> Result<Answer, TryError> {
        let url = format!("{}{}", self.base, req.path);
        // The configured headers replace the defaults (Accept); checked valid at load time.
        let mut headers = reqwest::header::HeaderMap::new();
        headers.insert(
            reqwest::header::ACCEPT,
            reqwest::header::HeaderValue::from_static("application/json"),
        );
        for (k, v) in &self.headers {
            if let (Ok(k), Ok(v)) = (
                reqwest::header::HeaderName::from_bytes(k.as_bytes()),
                reqwest::header::HeaderValue::from_str(v),
            ) {
                headers.insert(k, v);
            }
        }
        if let Some((name, value)) = self.auth.header() {
            if let Ok(name) = reqwest::header::HeaderName::from_bytes(name.as_bytes()) {
                headers.insert(name, value);
            }
        }
        let mut r = self
            .http
            .request(req.method.clone(), &url)
            .headers(headers)
            .timeout(timeout);
        if !req.query.is_empty() {
            r = r.query(&req.query);
        }
        r = match &req.body {
            Body::Empty => r,
            Body::Json(v) => r.json(v),
            Body::Form(f) => r.form(f),
        };
        let mut resp = r.send().await.map_err(transport)?;
        let status = resp.status().as_u16();
        let retry_after = resp
            .headers()
            .get("retry-after")
            .and_then(|v| v.to_str().ok())
            .and_then(parse_retry_after);
        let body = read_capped(
            &mut resp,
            self.policy.max_body,
            || TryError::TooLarge,
            transport,
        )
        .await?;
        Ok(Answer {
            status,
            retry_after,
            body,
        })
    }
}

fn transport(e: reqwest::Error) -> TryError {
    // Without the URL: it holds nothing secret, but the message is for a log line.
    let (connect, timeout) = (e.is_connect(), e.is_timeout());
    let msg = e.without_url().to_string();
    if connect {
        TryError::Connect(msg)
    } else if timeout {
        TryError::Timeout(msg)
    } else {
        TryError::Transport(msg)
    }
}

/// `Retry-After`: seconds, or an HTTP date; at most an hour.
pub fn parse_retry_after(v: &str) -> Option<Duration> {
    let v = v.trim();
    let d = match v.parse::<u64>() {
        Ok(secs) => Duration::from_secs(secs),
        Err(_) => httpdate::parse_http_date(v)
            .ok()?
            .duration_since(std::time::SystemTime::now())
            .unwrap_or(Duration::ZERO),
    };
    Some(d.min(Duration::from_secs(3600)))
}

/// The API's error message, from the usual places (`error.message`, `message`,
/// `errors[0].detail`/`title`, `error`), else the start of the body, without control characters.
pub fn error_message(body: &[u8]) -> String {
    if let Ok(v) = serde_json::from_slice::<serde_json::Value>(body) {
        for p in [
            "/error/message",
            "/message",
            "/errors/0/detail",
            "/errors/0/title",
            "/error",
            "/detail",
            "/title",
        ] {
            if let Some(serde_json::Value::String(s)) = v.pointer(p) {
                return clean(s);
            }
        }
    }
    let text = String::from_utf8_lossy(&body[..body.len().min(200)]).into_owned();
    clean(&text)
}

fn clean(s: &str) -> String {
    s.chars()
        .take(300)
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect::<String>()
        .trim()
        .to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn error_messages_from_each_provider() {
        assert_eq!(
            error_message(br#"{"error":{"status":409,"code":"RESET_MANUAL_ACTIVE","message":"There is already a running manual reset"}}"#),
            "There is already a running manual reset"
        );
        assert_eq!(
            error_message(
                br#"{"message":"resource is in a transient state","type":"transient_state"}"#
            ),
            "resource is in a transient state"
        );
        assert_eq!(
            error_message(
                br#"{"errors":[{"code":"not_found","detail":"Specified Record Not Found"}]}"#
            ),
            "Specified Record Not Found"
        );
        assert_eq!(error_message(b"bad\ngateway"), "bad gateway");
    }

    #[test]
    fn retry_after_in_seconds_or_as_a_date() {
        assert_eq!(parse_retry_after("3"), Some(Duration::from_secs(3)));
        assert_eq!(parse_retry_after("99999"), Some(Duration::from_secs(3600)));
        assert_eq!(
            parse_retry_after("Wed, 21 Oct 2015 07:28:00 GMT"),
            Some(Duration::ZERO)
        );
        let later =
            httpdate::fmt_http_date(std::time::SystemTime::now() + Duration::from_secs(120));
        let d = parse_retry_after(&later).unwrap();
        assert!(
            d > Duration::from_secs(110) && d <= Duration::from_secs(120),
            "{d:?}"
        );
        assert_eq!(parse_retry_after("soon"), None);
    }

    #[test]
    fn the_secret_is_not_in_debug_output() {
        let a = Auth::Basic {
            user: "ws".into(),
            secret: Zeroizing::new("hunter2".into()),
        };
        assert_eq!(format!("{a:?}"), "basic auth as ws");
        let (name, v) = a.header().unwrap();
        assert_eq!(name, "authorization");
        assert!(v.is_sensitive());
        assert!(!format!("{v:?}").contains("d3M6aHVudGVyMg"), "{v:?}");
    }
}
