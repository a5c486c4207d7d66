//! The admin server's token check, over a real socket.

use super::*;
use crate::factory::BackendFactory;
use std::sync::Mutex;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

const TOKEN: &str = "0123456789abcdef-secret";

fn config(open: &[&str]) -> AdminConfig {
    AdminConfig {
        listen: "127.0.0.1:0".parse().unwrap(),
        token: Secret::new(TOKEN),
        viewer_token: None,
        console_input: false,
        refresh: Default::default(),
        open: open.iter().map(|s| s.to_string()).collect(),
        hosts: Vec::new(),
        warnings: Vec::new(),
    }
}

async fn server(open: &[&str]) -> AdminServer {
    let c = config(open);
    let fleet = Arc::new(Fleet::new(Arc::new(Mutex::new(BackendFactory::default()))));
    start(
        &c,
        AdminState::new(&c, fleet),
        http_server::ConnectionBudget::new(16),
    )
    .await
    .unwrap()
}

/// Status line and whole response of a GET with an optional `Authorization` header value.
async fn get(addr: SocketAddr, path: &str, authorization: Option<&str>) -> (u16, String) {
    let mut s = tokio::net::TcpStream::connect(addr).await.unwrap();
    let auth = authorization
        .map(|a| format!("Authorization: {a}\r\n"))
        .unwrap_or_default();
    let req = format!("GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\n{auth}Connection: close\r\n\r\n");
    s.write_all(req.as_bytes()).await.unwrap();
    let mut out = String::new();
    s.read_to_string(&mut out).await.unwrap();
    let status = out[9..12].parse().unwrap();
    (status, out)
}

#[tokio::test]
async fn the_token_is_required_unless_the_path_is_open() {
    let closed = server(&[]).await;
    let (status, text) = get(closed.addr, "/healthz", None).await;
    assert_eq!(status, 401, "{text}");
    assert!(
        text.to_ascii_lowercase()
            .contains("www-authenticate: bearer"),
        "{text}"
    );
    let wrong = [
        "Bearer 0123456789abcdef-secreT".to_string(),
        format!("Bearer {TOKEN}x"),
        format!("Basic {TOKEN}"),
        TOKEN.to_string(),
        "Bearer ".to_string(),
    ];
    for w in &wrong {
        let (status, text) = get(closed.addr, "/healthz", Some(w)).await;
        assert_eq!(status, 401, "{w}: {text}");
    }
    let (status, text) = get(closed.addr, "/healthz", Some(&format!("Bearer {TOKEN}"))).await;
    assert_eq!(status, 200, "{text}");
    assert!(text.ends_with("ok: 0 BMCs served\n"), "{text}");
    // The scheme's case does not matter.
    let (status, _) = get(closed.addr, "/healthz", Some(&format!("bearer {TOKEN}"))).await;
    assert_eq!(status, 200);
    closed.stop().await;

    let open = server(&["healthz"]).await;
    let (status, text) = get(open.addr, "/healthz", None).await;
    assert_eq!(status, 200, "{text}");
    // Only the path named: another one still needs the token.
    let (status, _) = get(open.addr, "/healthz/", None).await;
    assert_eq!(status, 401);
    open.stop().await;
}

#[tokio::test]
async fn a_stopped_server_takes_no_more_connections() {
    let s = server(&["healthz"]).await;
    let addr = s.addr;
    s.stop().await;
    assert!(tokio::net::TcpStream::connect(addr).await.is_err());
}
