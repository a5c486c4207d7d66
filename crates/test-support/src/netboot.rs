//! [`NetbootServer`]: a loopback HTTP server for netboot tests. It serves files **with Range
//! requests** (`HEAD`, `GET` with one `bytes=` range answered 206 with `Content-Range`, 416 for
//! a range past the end), as iPXE's `sanboot` of an ISO over HTTP needs (Python's `http.server`
//! answers 200 to every GET, and iPXE then gives up), and plays a provider with a "custom iPXE
//! URL" feature, as the http backend's `insert_media` templates drive one:
//!
//! - `PUT /provider/M/ipxe` with `{"ipxe_url": URL, "image_url": URL}` sets machine M's custom
//!   iPXE URL, `DELETE /provider/M/ipxe` removes it;
//! - `PUT /provider/M/boot` with `{"device": WORD}` records the boot device asked;
//! - `GET /provider/M/boot.ipxe` is what the machine's firmware loads at every netboot:
//!   `chain` of its custom URL, or `exit` without one.
//!
//! Every request is recorded ([`NetbootServer::requests`]).

use axum::body::{to_bytes, Body};
use axum::http::{header, Method, Request, Response, StatusCode};
use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};

/// One request as the server saw it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Served {
    /// `GET`, `HEAD`, `PUT`, ...
    pub method: String,
    /// The path.
    pub path: String,
    /// The `Range` header, if any.
    pub range: Option<String>,
    /// The status answered.
    pub status: u16,
}

#[derive(Default)]
struct World {
    files: BTreeMap<String, Vec<u8>>,
    custom_ipxe: BTreeMap<String, String>,
    boot: BTreeMap<String, String>,
    log: Vec<Served>,
}

/// Debian's `ipxe` package's bootable ISO, the image the virtual media tests boot.
pub const IPXE_ISO: &str = "/usr/lib/ipxe/ipxe.iso";

/// The bytes of [`IPXE_ISO`], or a panic that says which package to install (no test skips).
pub fn ipxe_iso() -> Vec<u8> {
    std::fs::read(IPXE_ISO).unwrap_or_else(|e| {
        panic!("{IPXE_ISO}: {e}: install the Debian package ipxe (.ci/run does); this test does not skip itself")
    })
}

/// A running server (on its own thread and runtime, so that synchronous tests can use it).
pub struct NetbootServer {
    /// Its port on 127.0.0.1.
    pub port: u16,
    world: Arc<Mutex<World>>,
    _server: crate::thread_server::ThreadServer,
}

impl NetbootServer {
    /// Serves `files` (name, content) under `/files/NAME`.
    pub fn start(files: Vec<(String, Vec<u8>)>) -> NetbootServer {
        let world = Arc::new(Mutex::new(World {
            files: files.into_iter().collect(),
            ..World::default()
        }));
        let w = world.clone();
        let app = axum::Router::new().fallback(move |req: Request<Body>| {
            let w = w.clone();
            async move { handle(&w, req).await }
        });
        let server = crate::thread_server::ThreadServer::start(app);
        NetbootServer {
            port: server.port,
            world,
            _server: server,
        }
    }

    /// The URL of a file as a QEMU guest on the user-mode network reaches it (10.0.2.2 is the
    /// host's loopback there).
    pub fn guest_url(&self, path: &str) -> String {
        format!("http://10.0.2.2:{}{path}", self.port)
    }

    /// The URL of a path from this host.
    pub fn url(&self, path: &str) -> String {
        format!("http://127.0.0.1:{}{path}", self.port)
    }

    /// The requests so far.
    pub fn requests(&self) -> Vec<Served> {
        self.world.lock().unwrap().log.clone()
    }

    /// Machine `m`'s custom iPXE URL, if set.
    pub fn custom_ipxe(&self, m: &str) -> Option<String> {
        self.world.lock().unwrap().custom_ipxe.get(m).cloned()
    }

    /// The boot device last asked for machine `m`.
    pub fn boot_device(&self, m: &str) -> Option<String> {
        self.world.lock().unwrap().boot.get(m).cloned()
    }
}

fn answer(status: StatusCode, body: impl Into<Body>) -> Response<Body> {
    Response::builder()
        .status(status)
        .body(body.into())
        .expect("response")
}

async fn handle(world: &Mutex<World>, req: Request<Body>) -> Response<Body> {
    let method = req.method().clone();
    let path = req.uri().path().to_string();
    let range = req
        .headers()
        .get(header::RANGE)
        .and_then(|v| v.to_str().ok())
        .map(str::to_string);
    let body = to_bytes(req.into_body(), 1 << 20).await.unwrap_or_default();
    let resp = {
        let mut w = world.lock().unwrap();
        route(&mut w, &method, &path, range.as_deref(), &body)
    };
    world.lock().unwrap().log.push(Served {
        method: method.to_string(),
        path,
        range,
        status: resp.status().as_u16(),
    });
    resp
}

fn route(
    w: &mut World,
    method: &Method,
    path: &str,
    range: Option<&str>,
    body: &[u8],
) -> Response<Body> {
    if let Some(name) = path.strip_prefix("/files/") {
        let Some(data) = w.files.get(name) else {
            return answer(StatusCode::NOT_FOUND, "");
        };
        return match *method {
            Method::GET | Method::HEAD => file(data, range, *method == Method::HEAD),
            _ => answer(StatusCode::METHOD_NOT_ALLOWED, ""),
        };
    }
    let Some(rest) = path.strip_prefix("/provider/") else {
        return answer(StatusCode::NOT_FOUND, "");
    };
    let Some((machine, what)) = rest.split_once('/') else {
        return answer(StatusCode::NOT_FOUND, "");
    };
    let json: serde_json::Value = serde_json::from_slice(body).unwrap_or_default();
    match (method.as_str(), what) {
        ("PUT", "ipxe") => match json["ipxe_url"].as_str() {
            Some(u) if u.starts_with("http") => {
                w.custom_ipxe.insert(machine.to_string(), u.to_string());
                answer(StatusCode::NO_CONTENT, "")
            }
            _ => answer(StatusCode::BAD_REQUEST, "ipxe_url: an http(s) URL"),
        },
        ("DELETE", "ipxe") => {
            w.custom_ipxe.remove(machine);
            answer(StatusCode::NO_CONTENT, "")
        }
        ("PUT", "boot") => match json["device"].as_str() {
            Some(d) => {
                w.boot.insert(machine.to_string(), d.to_string());
                answer(StatusCode::NO_CONTENT, "")
            }
            None => answer(StatusCode::BAD_REQUEST, "device"),
        },
        ("GET", "boot.ipxe") => {
            let script = match w.custom_ipxe.get(machine) {
                Some(u) => format!("#!ipxe\necho provider: custom iPXE\nchain --autofree {u}\n"),
                None => "#!ipxe\necho provider: no custom iPXE\nexit\n".to_string(),
            };
            answer(StatusCode::OK, script)
        }
        _ => answer(StatusCode::NOT_FOUND, ""),
    }
}

/// A file, whole or the one range asked (`head`: without its body).
pub(crate) fn file(data: &[u8], range: Option<&str>, head: bool) -> Response<Body> {
    let len = data.len();
    let builder = Response::builder()
        .header(header::ACCEPT_RANGES, "bytes")
        .header(header::CONTENT_TYPE, "application/octet-stream");
    let Some(spec) = range.and_then(|r| r.strip_prefix("bytes=")) else {
        let body = if head { Vec::new() } else { data.to_vec() };
        return builder
            .header(header::CONTENT_LENGTH, len)
            .body(Body::from(body))
            .expect("response");
    };
    let parsed = spec.split_once('-').and_then(|(a, b)| {
        let (a, b) = match (a.trim(), b.trim()) {
            ("", suffix) => {
                let n: usize = suffix.parse().ok()?;
                (len.checked_sub(n)?, len.checked_sub(1)?)
            }
            (a, "") => (a.parse().ok()?, len.checked_sub(1)?),
            (a, b) => (
                a.parse().ok()?,
                b.parse::<usize>().ok()?.min(len.checked_sub(1)?),
            ),
        };
        (a <= b && b < len).then_some((a, b))
    });
    match parsed {
        Some((a, b)) => {
            let body = if head {
                Vec::new()
            } else {
                data[a..=b].to_vec()
            };
            builder
                .status(StatusCode::PARTIAL_CONTENT)
                .header(header::CONTENT_RANGE, format!("bytes {a}-{b}/{len}"))
                .header(header::CONTENT_LENGTH, b - a + 1)
                .body(Body::from(body))
                .expect("response")
        }
        None => builder
            .status(StatusCode::RANGE_NOT_SATISFIABLE)
            .header(header::CONTENT_RANGE, format!("bytes */{len}"))
            .body(Body::empty())
            .expect("response"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn ranges() {
        let data: Vec<u8> = (0..100u8).collect();
        let r = file(&data, Some("bytes=10-19"), false);
        assert_eq!(r.status(), 206);
        assert_eq!(r.headers()[header::CONTENT_RANGE], "bytes 10-19/100");
        let b = to_bytes(r.into_body(), 1000).await.unwrap();
        assert_eq!(&b[..], &data[10..20]);
        assert_eq!(
            file(&data, Some("bytes=-5"), false).headers()[header::CONTENT_RANGE],
            "bytes 95-99/100"
        );
        assert_eq!(
            file(&data, Some("bytes=90-"), false).headers()[header::CONTENT_LENGTH],
            "10"
        );
        assert_eq!(file(&data, Some("bytes=100-"), false).status(), 416);
        assert_eq!(
            file(&data, None, true).headers()[header::CONTENT_LENGTH],
            "100"
        );
    }
}
