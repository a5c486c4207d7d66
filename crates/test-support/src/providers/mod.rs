//! Fakes of the providers' power APIs, for the http backend's tests: Hetzner Robot, Latitude.sh,
//! Scaleway Elastic Metal (each written from the provider's public documentation and official
//! SDK's models, which each module names), and a made-up API for custom configurations.
//!
//! Every fake records each request it gets ([`Exchange`]: method, path, query, headers, body,
//! and the status it answered), checks it against the shape its provider documents (method,
//! path, content type, auth, form or JSON fields), answers a request that deviates as the real
//! API would (400, 401, 404) and notes the deviation ([`ProviderFake::violations`]), and keeps
//! each machine's power state with short transitions. Faults can be injected for the next
//! request ([`Fault`]): a status with `Retry-After`, or an answer held back after the request
//! was carried out.

mod generic;
mod hetzner;
mod latitude;
mod scaleway;

pub use generic::Generic;
pub use hetzner::Hetzner;
pub use latitude::Latitude;
pub use scaleway::Scaleway;

use axum::body::Body;
use axum::http::{HeaderMap, Request, Response, StatusCode};
use std::collections::{BTreeMap, VecDeque};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// One request the fake got, and its answer's status.
#[derive(Clone, Debug)]
pub struct Exchange {
    /// `GET`, `POST`, ...
    pub method: String,
    /// The path.
    pub path: String,
    /// The raw query, if any.
    pub query: Option<String>,
    /// The headers, names in lower case.
    pub headers: BTreeMap<String, String>,
    /// The body as text.
    pub body: String,
    /// The status answered (0 until answered).
    pub status: u16,
}

impl Exchange {
    /// Header `name` (lower case).
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).map(String::as_str)
    }
}

/// A fault for the next request (of a method, if given).
#[derive(Clone, Debug)]
pub enum Fault {
    /// Answer this status (with `Retry-After` if given) without carrying the request out.
    Status {
        /// The HTTP status.
        code: u16,
        /// The `Retry-After` header's value.
        retry_after: Option<String>,
    },
    /// Carry the request out, then hold the answer back this long (a lost answer, when the
    /// client gives up first).
    Slow(Duration),
}

/// A machine behind a fake: its power, the transition under way, and what was done to it.
#[derive(Clone, Debug)]
pub struct Machine {
    /// Powered on (once the transition under way ends).
    pub on: bool,
    /// A transition: when it ends, and what it was (`starting`, `stopping`, `resetting`).
    pub transition: Option<(Instant, &'static str)>,
    /// The actions asked for, in the provider's words.
    pub actions: Vec<String>,
    /// Boots (power on, reset, reboot).
    pub boots: u32,
    /// Provider-specific settings (Hetzner's active rescue system, the made-up API's boot
    /// device).
    pub extra: BTreeMap<String, String>,
}

impl Machine {
    /// A machine that is on or off.
    pub fn new(on: bool) -> Machine {
        Machine {
            on,
            transition: None,
            actions: Vec::new(),
            boots: 0,
            extra: BTreeMap::new(),
        }
    }

    /// The transition under way, if it has not ended.
    pub fn in_transition(&self) -> Option<&'static str> {
        self.transition
            .filter(|(until, _)| Instant::now() < *until)
            .map(|(_, what)| what)
    }

    /// Starts a transition to `on` that ends after `t`.
    pub fn go(&mut self, on: bool, what: &'static str, t: Duration) {
        if on && (!self.on || what == "resetting") {
            self.boots += 1;
        }
        self.on = on;
        self.transition = Some((Instant::now() + t, what));
    }
}

/// What a provider's logic sees of a request.
pub struct Incoming<'a> {
    /// The method.
    pub method: &'a str,
    /// The path.
    pub path: &'a str,
    /// The raw query.
    pub query: Option<&'a str>,
    /// The headers.
    pub headers: &'a HeaderMap,
    /// The body.
    pub body: &'a [u8],
}

impl Incoming<'_> {
    /// Header `name`, if valid text.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }

    /// The path's segments after `prefix`, if it starts with it.
    pub fn segments(&self, prefix: &str) -> Option<Vec<&str>> {
        self.path
            .strip_prefix(prefix)
            .map(|rest| rest.split('/').filter(|s| !s.is_empty()).collect())
    }
}

/// What the provider's logic answers.
pub struct Reply {
    /// The status.
    pub status: u16,
    /// The JSON body.
    pub body: serde_json::Value,
}

/// A provider's API.
pub trait Provider: Send + 'static {
    /// Answers one request, changing `machines`; pushes to `violations` what deviates from the
    /// provider's documented shape.
    fn handle(
        &mut self,
        req: &Incoming,
        machines: &mut BTreeMap<String, Machine>,
        violations: &mut Vec<String>,
    ) -> Reply;
}

struct State {
    provider: Box<dyn Provider>,
    machines: BTreeMap<String, Machine>,
    exchanges: Vec<Exchange>,
    violations: Vec<String>,
    faults: VecDeque<(Option<String>, Fault)>,
}

/// A running fake.
pub struct ProviderFake {
    state: Arc<Mutex<State>>,
    /// Its port on 127.0.0.1.
    pub port: u16,
    _server: crate::thread_server::ThreadServer,
}

impl ProviderFake {
    /// Serves `provider` with these machines (by id) on a free loopback port.
    pub fn start(provider: impl Provider, machines: &[(&str, bool)]) -> ProviderFake {
        let state = Arc::new(Mutex::new(State {
            provider: Box::new(provider),
            machines: machines
                .iter()
                .map(|(id, on)| (id.to_string(), Machine::new(*on)))
                .collect(),
            exchanges: Vec::new(),
            violations: Vec::new(),
            faults: VecDeque::new(),
        }));
        let served = state.clone();
        let app =
            axum::Router::new().fallback(move |req: Request<Body>| handle(served.clone(), req));
        let server = crate::thread_server::ThreadServer::start(app);
        ProviderFake {
            state,
            port: server.port,
            _server: server,
        }
    }

    /// The base URL.
    pub fn url(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    /// Every request so far.
    pub fn exchanges(&self) -> Vec<Exchange> {
        self.state.lock().expect("fake lock").exchanges.clone()
    }

    /// The requests so far with this method.
    pub fn requests(&self, method: &str) -> Vec<Exchange> {
        self.exchanges()
            .into_iter()
            .filter(|e| e.method == method)
            .collect()
    }

    /// What deviated from the provider's documented shape.
    pub fn violations(&self) -> Vec<String> {
        self.state.lock().expect("fake lock").violations.clone()
    }

    /// Panics, listing them, if any request deviated from the documented shape.
    pub fn assert_valid(&self) {
        let v = self.violations();
        assert!(
            v.is_empty(),
            "requests deviating from the provider's documented shape:\n{}\nall exchanges:\n{:#?}",
            v.join("\n"),
            self.exchanges()
        );
    }

    /// Machine `id` as it is now.
    pub fn machine(&self, id: &str) -> Machine {
        self.state.lock().expect("fake lock").machines[id].clone()
    }

    /// Sets machine `id`'s power without a transition.
    pub fn set_power(&self, id: &str, on: bool) {
        let mut s = self.state.lock().expect("fake lock");
        let m = s.machines.get_mut(id).expect("machine");
        m.on = on;
        m.transition = None;
    }

    /// Drops the faults not used yet.
    pub fn clear_faults(&self) {
        self.state.lock().expect("fake lock").faults.clear();
    }

    /// Queues a fault for the next request (with `method`, if given).
    pub fn inject(&self, method: Option<&str>, fault: Fault) {
        self.state
            .lock()
            .expect("fake lock")
            .faults
            .push_back((method.map(str::to_string), fault));
    }
}

fn reply(status: u16, body: &serde_json::Value, retry_after: Option<&str>) -> Response<Body> {
    let mut r = Response::builder()
        .status(StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR))
        .header("content-type", "application/json");
    if let Some(ra) = retry_after {
        r = r.header("retry-after", ra);
    }
    let body = match body {
        serde_json::Value::Null => Body::empty(),
        b => Body::from(b.to_string()),
    };
    r.body(body).expect("response")
}

async fn handle(state: Arc<Mutex<State>>, req: Request<Body>) -> Response<Body> {
    let (parts, body) = req.into_parts();
    let body = axum::body::to_bytes(body, 1 << 20)
        .await
        .unwrap_or_default();
    let method = parts.method.as_str().to_string();
    let path = parts.uri.path().to_string();
    let query = parts.uri.query().map(str::to_string);
    let (index, fault) = {
        let mut s = state.lock().expect("fake lock");
        s.exchanges.push(Exchange {
            method: method.clone(),
            path: path.clone(),
            query: query.clone(),
            headers: parts
                .headers
                .iter()
                .map(|(k, v)| {
                    (
                        k.as_str().to_string(),
                        v.to_str().unwrap_or("<binary>").to_string(),
                    )
                })
                .collect(),
            body: String::from_utf8_lossy(&body).into_owned(),
            status: 0,
        });
        let index = s.exchanges.len() - 1;
        let pos = s
            .faults
            .iter()
            .position(|(m, _)| m.as_deref().is_none_or(|m| m == method));
        (index, pos.and_then(|p| s.faults.remove(p)).map(|(_, f)| f))
    };
    let finish = |status: u16| state.lock().expect("fake lock").exchanges[index].status = status;
    if let Some(Fault::Status { code, retry_after }) = &fault {
        finish(*code);
        let body = serde_json::json!({ "message": "injected fault", "status": code });
        return reply(*code, &body, retry_after.as_deref());
    }
    let answer = {
        let mut guard = state.lock().expect("fake lock");
        let s = &mut *guard;
        let incoming = Incoming {
            method: &method,
            path: &path,
            query: query.as_deref(),
            headers: &parts.headers,
            body: &body,
        };
        s.provider
            .handle(&incoming, &mut s.machines, &mut s.violations)
    };
    if let Some(Fault::Slow(d)) = fault {
        tokio::time::sleep(d).await;
    }
    finish(answer.status);
    reply(answer.status, &answer.body, None)
}

/// The pairs of an `application/x-www-form-urlencoded` body, decoded.
pub fn form_pairs(body: &[u8]) -> Vec<(String, String)> {
    let decode = |s: &str| {
        let s = s.replace('+', " ");
        let bytes = s.as_bytes();
        let mut out = Vec::with_capacity(bytes.len());
        let mut i = 0;
        while i < bytes.len() {
            if bytes[i] == b'%' && i + 2 < bytes.len() {
                let hex = std::str::from_utf8(&bytes[i + 1..i + 3]).unwrap_or("");
                if let Ok(b) = u8::from_str_radix(hex, 16) {
                    out.push(b);
                    i += 3;
                    continue;
                }
            }
            out.push(bytes[i]);
            i += 1;
        }
        String::from_utf8_lossy(&out).into_owned()
    };
    String::from_utf8_lossy(body)
        .split('&')
        .filter(|p| !p.is_empty())
        .map(|p| {
            let (k, v) = p.split_once('=').unwrap_or((p, ""));
            (decode(k), decode(v))
        })
        .collect()
}

/// Whether the content type is `want` (parameters such as `charset` allowed).
pub fn content_type_is(req: &Incoming, want: &str) -> bool {
    req.header("content-type")
        .and_then(|c| c.split(';').next())
        .is_some_and(|c| c.trim().eq_ignore_ascii_case(want))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn form_bodies_decode() {
        assert_eq!(
            form_pairs(b"type=power_long&authorized_key%5B%5D=a%3Ab+c"),
            [
                ("type".to_string(), "power_long".to_string()),
                ("authorized_key[]".to_string(), "a:b c".to_string())
            ]
        );
    }
}
