//! A client of the Equinix Metal API v1, as much as the backend and discovery use: read a device,
//! perform an action, update a device, list a project's devices by tag.
//!
//! Every call has a timeout; 5xx answers and transport errors are retried with exponential
//! backoff within the caller's deadline; a 429 is waited out when its `Retry-After` fits in the
//! deadline, and otherwise makes every call on this client fail at once as busy until the limit
//! resets (so a thousand BMCs do not hammer a rate-limited API). `X-RateLimit-Remaining: 0` is
//! honoured the same way before the API has to say 429. The token goes in `X-Auth-Token` and
//! nowhere else: not in a URL, an error or a log line. Answers are read up to a size limit
//! ([`MAX_DEVICE_BODY`], [`MAX_LIST_BODY`]): past it the call fails, whatever the endpoint sends.

use http_support::paths::{is_dot_segment, path_segment};
use http_support::{header_u64, rate_limit_wait, read_capped, RateGate};
use serde::{Deserialize, Serialize};
use std::time::Duration;
use tokio::time::Instant;
use zeroize::Zeroizing;

/// The largest answer read for one device, an action or an update: a device with all its
/// addresses, ports and plan is tens of KiB.
pub const MAX_DEVICE_BODY: usize = 1 << 20;
/// The largest answer read for one page of a project's devices: 1000 devices (the most
/// `per_page` asks for) of up to 32 KiB each.
pub const MAX_LIST_BODY: usize = 32 << 20;
/// The largest error answer read (only its message is used).
const MAX_ERROR_BODY: usize = 64 << 10;

/// The parts of the spec's `Device` that the backend uses.
#[derive(Clone, Debug, Default, Deserialize, PartialEq, Eq)]
pub struct Device {
    /// Device UUID.
    pub id: String,
    /// Short ID.
    #[serde(default)]
    pub short_id: Option<String>,
    /// Host name.
    #[serde(default)]
    pub hostname: Option<String>,
    /// `active`, `inactive`, `powering_on`, `powering_off`, `provisioning`, ...
    #[serde(default)]
    pub state: Option<String>,
    /// Whether the device boots from iPXE every time.
    #[serde(default)]
    pub always_pxe: Option<bool>,
    /// The iPXE script URL.
    #[serde(default)]
    pub ipxe_script_url: Option<String>,
    /// The plan.
    #[serde(default)]
    pub plan: Option<Named>,
    /// The facility.
    #[serde(default)]
    pub facility: Option<Named>,
    /// The metro.
    #[serde(default)]
    pub metro: Option<Named>,
    /// Tags.
    #[serde(default)]
    pub tags: Vec<String>,
}

/// A plan, facility or metro: its slug or code and name.
#[derive(Clone, Debug, Default, Deserialize, PartialEq, Eq)]
pub struct Named {
    /// Plan slug.
    #[serde(default)]
    pub slug: Option<String>,
    /// Facility or metro code.
    #[serde(default)]
    pub code: Option<String>,
    /// Display name.
    #[serde(default)]
    pub name: Option<String>,
}

impl Named {
    /// The slug, else the code, else the name.
    pub fn key(&self) -> Option<&str> {
        self.slug
            .as_deref()
            .or(self.code.as_deref())
            .or(self.name.as_deref())
    }
}

/// The spec's `DeviceUpdateInput`, with the fields the backend sets.
#[derive(Clone, Debug, Default, Serialize, PartialEq, Eq)]
pub struct DeviceUpdate {
    /// Boot from iPXE every time.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub always_pxe: Option<bool>,
    /// The iPXE script to boot.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ipxe_script_url: Option<String>,
}

#[derive(Deserialize)]
struct DeviceList {
    #[serde(default)]
    devices: Vec<Device>,
    #[serde(default)]
    meta: Option<Meta>,
}

#[derive(Deserialize)]
struct Meta {
    #[serde(default)]
    last_page: Option<u64>,
}

#[derive(Deserialize)]
struct ErrorBody {
    #[serde(default)]
    error: Option<String>,
    #[serde(default)]
    errors: Option<Vec<String>>,
}

/// Why an API call failed.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum ApiError {
    /// 401/403: the token is wrong or lacks access.
    #[error("unauthorized ({status}): {message}")]
    Unauthorized {
        /// HTTP status.
        status: u16,
        /// The API's error message.
        message: String,
    },
    /// 404.
    #[error("not found: {0}")]
    NotFound(String),
    /// 422: the request is not possible (e.g. an action the device's state does not allow).
    #[error("unprocessable: {0}")]
    Unprocessable(String),
    /// 429, or a rate limit known to be exhausted.
    #[error("rate limited for {0:?}")]
    RateLimited(Duration),
    /// 5xx after every retry, or another unexpected status.
    #[error("API error {status}: {message}")]
    Server {
        /// HTTP status.
        status: u16,
        /// The API's error message.
        message: String,
    },
    /// No answer in time.
    #[error("no answer in time: {0}")]
    Timeout(String),
    /// The connection could not be made: the request was never sent.
    #[error("cannot connect: {0}")]
    Connect(String),
    /// Reset, TLS, a broken answer...: the request may have been carried out.
    #[error("transport error: {0}")]
    Transport(String),
    /// The answer was not the JSON the spec describes.
    #[error("unexpected answer: {0}")]
    Decode(String),
    /// The answer was longer than the call reads: a broken or hostile endpoint.
    #[error("answer larger than {limit} bytes")]
    TooLarge {
        /// The most the call reads.
        limit: usize,
    },
}

/// Timeouts and retries of each call (retries for 5xx and transport errors).
pub use http_support::Policy;

/// The HTTP client shared by every BMC of a process (one connection pool), with rustls, no
/// redirects (they would carry X-Auth-Token along) and a User-Agent naming the project.
pub fn http_client() -> reqwest::Client {
    http_support::client_builder(http_support::USER_AGENT)
        .build()
        .expect("a TLS backend is compiled in")
}

/// A client of one API endpoint with one token.
pub struct MetalApi {
    http: reqwest::Client,
    base: String,
    token: Zeroizing<String>,
    policy: Policy,
    /// Calls fail at once as rate-limited while it is closed.
    rate_gate: RateGate,
}

impl std::fmt::Debug for MetalApi {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MetalApi")
            .field("base", &self.base)
            .field("token", &"<redacted>")
            .finish()
    }
}

impl MetalApi {
    /// A client of `base` (e.g. `https://api.equinix.com/metal/v1`).
    pub fn new(
        http: reqwest::Client,
        base: &str,
        token: Zeroizing<String>,
        policy: Policy,
    ) -> Self {
        MetalApi {
            http,
            base: base.trim_end_matches('/').to_string(),
            token,
            policy,
            rate_gate: RateGate::for_api("metal"),
        }
    }

    /// Whether this is the client of `base` with `token` (one is shared by every BMC that uses
    /// the same account, so that a rate limit seen by one holds back all).
    pub fn serves(&self, base: &str, token: &str) -> bool {
        self.base == base.trim_end_matches('/') && self.token.as_str() == token
    }

    /// The URL of `/devices/{id}` plus `rest`: the id percent-encoded as one path segment, and
    /// refused if it is empty or a dot segment (`..` would make `/devices/..` the API's root).
    /// Device ids come from the configuration or from a project's listing (the API itself).
    fn device_url(&self, id: &str, rest: &str) -> Result<String, ApiError> {
        if id.is_empty() || is_dot_segment(id) {
            return Err(ApiError::Decode(format!(
                "{id:?} is not a device id: not sent"
            )));
        }
        Ok(format!("{}/devices/{}{rest}", self.base, path_segment(id)))
    }

    /// `GET /devices/{id}`.
    pub async fn device(&self, id: &str, deadline: Instant) -> Result<Device, ApiError> {
        let url = self.device_url(id, "")?;
        let body = self
            .call(reqwest::Method::GET, &url, None, MAX_DEVICE_BODY, deadline)
            .await?;
        parse_device(&body)
    }

    /// `POST /devices/{id}/actions` with `{"type": action}`.
    pub async fn action(&self, id: &str, action: &str, deadline: Instant) -> Result<(), ApiError> {
        let url = self.device_url(id, "/actions")?;
        let body = serde_json::json!({ "type": action });
        self.call(
            reqwest::Method::POST,
            &url,
            Some(body),
            MAX_DEVICE_BODY,
            deadline,
        )
        .await
        .map(|_| ())
    }

    /// `PUT /devices/{id}`.
    pub async fn update(
        &self,
        id: &str,
        update: &DeviceUpdate,
        deadline: Instant,
    ) -> Result<Device, ApiError> {
        let url = self.device_url(id, "")?;
        let body = serde_json::to_value(update).map_err(|e| ApiError::Decode(e.to_string()))?;
        let out = self
            .call(
                reqwest::Method::PUT,
                &url,
                Some(body),
                MAX_DEVICE_BODY,
                deadline,
            )
            .await?;
        parse_device(&out)
    }

    /// Every device of a project with `tag`, following the pages (`GET /projects/{id}/devices`),
    /// at most `max_devices` of them: a listing with more is an error (a partial list would
    /// make the devices after it look gone), so that what one listing holds stays bounded.
    pub async fn project_devices(
        &self,
        project: &str,
        tag: &str,
        (per_page, max_devices): (u32, usize),
        deadline: Instant,
    ) -> Result<Vec<Device>, ApiError> {
        let mut out = Vec::new();
        let mut page = 1u64;
        loop {
            let url = format!(
                "{}/projects/{}/devices?tag={}&page={page}&per_page={per_page}",
                self.base,
                path_segment(project),
                path_segment(tag)
            );
            let body = self
                .call(reqwest::Method::GET, &url, None, MAX_LIST_BODY, deadline)
                .await?;
            let (devices, last) = parse_page(&body)?;
            let n = devices.len();
            if out.len() + n > max_devices {
                return Err(ApiError::Decode(format!(
                    "the listing holds more than max_devices = {max_devices} devices: refused (raise max_devices if the project is that large)"
                )));
            }
            out.extend(devices);
            let last = last.unwrap_or(page);
            if page >= last || n == 0 {
                return Ok(out);
            }
            if page >= 1000 {
                // A partial list would make the devices after it look gone.
                return Err(ApiError::Decode(format!(
                    "more than 1000 pages of devices ({last}): raise per_page"
                )));
            }
            page += 1;
        }
    }

    /// One call with retries; the answer's body (at most `limit` bytes) on success.
    async fn call(
        &self,
        method: reqwest::Method,
        url: &str,
        body: Option<serde_json::Value>,
        limit: usize,
        deadline: Instant,
    ) -> Result<Vec<u8>, ApiError> {
        let mut attempt = 0u32;
        loop {
            if let Some(left) = self.rate_gate.closed_for() {
                return Err(ApiError::RateLimited(left));
            }
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                return Err(ApiError::Timeout(format!("{method} {}", path_of(url))));
            }
            let result = self
                .once(
                    &method,
                    url,
                    body.as_ref(),
                    limit,
                    left.min(self.policy.timeout),
                )
                .await;
            // An action (POST) may have been carried out when its answer was lost or was a 5xx:
            // sending it again could reboot a machine twice. It is retried only when it surely
            // was not (no connection, or 429).
            let idempotent = method != reqwest::Method::POST;
            let retry_in = match &result {
                Ok(_) => return result,
                Err(ApiError::RateLimited(wait)) => {
                    // Wait it out if the deadline allows; else every call fails fast until then.
                    if Instant::now() + *wait < deadline {
                        Some(*wait)
                    } else {
                        self.rate_gate.close_for(*wait);
                        None
                    }
                }
                Err(ApiError::Server { status, .. }) if *status >= 500 && idempotent => {
                    Some(self.policy.backoff(attempt))
                }
                Err(ApiError::Transport(_)) | Err(ApiError::Timeout(_)) if idempotent => {
                    Some(self.policy.backoff(attempt))
                }
                Err(ApiError::Connect(_)) => Some(self.policy.backoff(attempt)),
                Err(_) => None,
            };
            match retry_in {
                Some(wait) if attempt < self.policy.retries && Instant::now() + wait < deadline => {
                    tracing::info!(url = %path_of(url), error = ?result.as_ref().err().map(ToString::to_string).unwrap_or_default(), retry_in = ?wait, "Metal API call failed: retrying");
                    tokio::time::sleep(wait).await;
                    attempt += 1;
                }
                _ => {
                    // Out of retries on a rate limit: the others should not keep asking either.
                    if let Err(ApiError::RateLimited(wait)) = &result {
                        self.rate_gate.close_for(*wait);
                    }
                    return result;
                }
            }
        }
    }

    /// Counts a 429 for the metrics; gives its wait back.
    fn rate_limited(&self, wait: Duration) -> Duration {
        self.rate_gate.limited();
        wait
    }

    async fn once(
        &self,
        method: &reqwest::Method,
        url: &str,
        body: Option<&serde_json::Value>,
        limit: usize,
        timeout: Duration,
    ) -> Result<Vec<u8>, ApiError> {
        let mut req = self
            .http
            .request(method.clone(), url)
            .header("X-Auth-Token", self.token.as_str())
            .header("Accept", "application/json")
            .timeout(timeout);
        if let Some(b) = body {
            req = req.json(b);
        }
        let resp = req.send().await.map_err(transport)?;
        let status = resp.status();
        let headers = resp.headers().clone();
        if status.is_success() {
            let bytes = read_limited(resp, limit).await?;
            // Stop before the API has to refuse: an exhausted limit blocks until it resets.
            if header_u64(&headers, "x-ratelimit-remaining") == Some(0) {
                let reset = header_u64(&headers, "x-ratelimit-reset").unwrap_or(1);
                self.rate_gate
                    .close_for(Duration::from_secs(reset.min(3600)));
            }
            return Ok(bytes);
        }
        // An error's body only gives its message: what fits in a small limit is enough, and
        // the status decides the error whatever the body.
        let bytes = read_limited(resp, MAX_ERROR_BODY).await.unwrap_or_default();
        let message = error_message(&bytes);
        tracing::warn!(method = %method, url = %path_of(url), status = status.as_u16(), error = ?message, "Metal API error");
        Err(match status.as_u16() {
            401 | 403 => ApiError::Unauthorized {
                status: status.as_u16(),
                message,
            },
            404 => ApiError::NotFound(message),
            422 => ApiError::Unprocessable(message),
            429 => ApiError::RateLimited(
                self.rate_limited(rate_limit_wait(
                    header_u64(&headers, "retry-after")
                        .or_else(|| header_u64(&headers, "x-ratelimit-reset")),
                )),
            ),
            s => ApiError::Server { status: s, message },
        })
    }
}

/// The body of `resp`, refused as soon as it is known to pass `limit` bytes: from its
/// `Content-Length`, or while it is read.
async fn read_limited(mut resp: reqwest::Response, limit: usize) -> Result<Vec<u8>, ApiError> {
    let too_large = ApiError::TooLarge { limit };
    if resp.content_length().is_some_and(|n| n > limit as u64) {
        return Err(too_large);
    }
    read_capped(&mut resp, limit, || too_large, transport).await
}

fn decode<T: serde::de::DeserializeOwned>(bytes: &[u8]) -> Result<T, ApiError> {
    serde_json::from_slice(bytes).map_err(|e| ApiError::Decode(e.to_string()))
}

/// A device as the API answers it (`GET /devices/{id}`, `PUT /devices/{id}`).
pub fn parse_device(bytes: &[u8]) -> Result<Device, ApiError> {
    decode(bytes)
}

/// One page of a project's listing: its devices and the last page's number, if given.
pub fn parse_page(bytes: &[u8]) -> Result<(Vec<Device>, Option<u64>), ApiError> {
    let list: DeviceList = decode(bytes)?;
    Ok((list.devices, list.meta.and_then(|m| m.last_page)))
}

fn transport(e: reqwest::Error) -> ApiError {
    let timeout = e.is_timeout();
    let connect = e.is_connect();
    // Without the URL: it holds nothing secret, but the message is for a log line.
    let msg = e.without_url().to_string();
    if connect {
        ApiError::Connect(msg)
    } else if timeout {
        ApiError::Timeout(msg)
    } else {
        ApiError::Transport(msg)
    }
}

/// The API's `error` or `errors` message, or the start of the body.
pub fn error_message(bytes: &[u8]) -> String {
    match serde_json::from_slice::<ErrorBody>(bytes) {
        Ok(ErrorBody { error: Some(e), .. }) => e,
        Ok(ErrorBody {
            errors: Some(list), ..
        }) if !list.is_empty() => list.join("; "),
        _ => String::from_utf8_lossy(&bytes[..bytes.len().min(200)]).into_owned(),
    }
}

/// The path of a URL, for log lines.
fn path_of(url: &str) -> &str {
    url.split_once("://")
        .and_then(|(_, rest)| rest.find('/').map(|i| &rest[i..]))
        .unwrap_or(url)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn error_messages_and_paths() {
        assert_eq!(error_message(br#"{"error":"bad token"}"#), "bad token");
        assert_eq!(error_message(br#"{"errors":["a","b"]}"#), "a; b");
        assert_eq!(error_message(b"oops"), "oops");
        assert_eq!(
            path_of("https://api.equinix.com/metal/v1/devices/x"),
            "/metal/v1/devices/x"
        );
        assert_eq!(path_segment("ipmi to-metal/x"), "ipmi%20to-metal%2Fx");
    }

    /// Issue 19 (found by reading): a device id goes into the URL as one segment, and a dot
    /// segment is no device id (`/devices/..` would be the API's root).
    #[test]
    fn device_ids_are_one_encoded_segment() {
        let api = MetalApi::new(
            reqwest::Client::new(),
            "https://api.example/metal/v1",
            Zeroizing::new("t".into()),
            Policy::default(),
        );
        assert_eq!(
            api.device_url("a/b?c", "/actions").unwrap(),
            "https://api.example/metal/v1/devices/a%2Fb%3Fc/actions"
        );
        for bad in ["", ".", "..", "%2e%2E"] {
            assert!(api.device_url(bad, "").is_err(), "{bad:?}");
        }
    }
}
