//! The server over real loopback sockets, with limits short enough for a test.

use super::*;
use axum::routing::{get, post};
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

fn app() -> Router {
    Router::new()
        .route(
            "/peer",
            get(|ConnectInfo(peer): ConnectInfo<SocketAddr>| async move { peer.to_string() }),
        )
        .route(
            "/echo",
            post(|body: String| async move { body.len().to_string() }),
        )
}

fn short_limits(budget: usize) -> Limits {
    Limits {
        header_read_timeout: Duration::from_millis(500),
        request_timeout: Duration::from_millis(800),
        send_timeout: Duration::from_millis(500),
        max_header_bytes: 8192,
        max_headers: 16,
        max_body_bytes: 1000,
        budget: ConnectionBudget::new(budget),
    }
}

/// A server on a loopback port; dropping the sender stops it.
async fn start(
    limits: Limits,
) -> (
    SocketAddr,
    tokio::sync::oneshot::Sender<()>,
    tokio::task::JoinHandle<std::io::Result<()>>,
) {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let task = tokio::spawn(serve("test", listener, None, app(), limits, async {
        let _ = stopped.await;
    }));
    (addr, stop, task)
}

/// Sends `request` and reads the answer until the server closes the connection.
async fn exchange(addr: SocketAddr, request: &[u8]) -> String {
    let mut s = TcpStream::connect(addr).await.unwrap();
    s.write_all(request).await.unwrap();
    let mut out = Vec::new();
    let _ = tokio::time::timeout(Duration::from_secs(10), s.read_to_end(&mut out)).await;
    String::from_utf8_lossy(&out).into_owned()
}

#[tokio::test]
async fn handlers_see_the_clients_address() {
    let (addr, _stop, _task) = start(short_limits(4)).await;
    let mut s = TcpStream::connect(addr).await.unwrap();
    let ours = s.local_addr().unwrap();
    s.write_all(b"GET /peer HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
        .await
        .unwrap();
    let mut out = String::new();
    s.read_to_string(&mut out).await.unwrap();
    assert!(out.starts_with("HTTP/1.1 200"), "{out}");
    assert!(out.ends_with(&ours.to_string()), "{out}");
}

#[tokio::test]
async fn half_a_header_is_closed_at_the_header_timeout() {
    let (addr, _stop, _task) = start(short_limits(4)).await;
    let mut s = TcpStream::connect(addr).await.unwrap();
    s.write_all(b"GET /peer HTTP/1.1\r\nHost: x\r\nX-Slow: ")
        .await
        .unwrap();
    let mut out = Vec::new();
    // The server ends the connection (hyper answers 408 first, or nothing): it does not wait.
    let read = tokio::time::timeout(Duration::from_secs(10), s.read_to_end(&mut out)).await;
    assert!(read.is_ok(), "the connection was still open after 10 s");
    let out = String::from_utf8_lossy(&out);
    assert!(!out.contains("200 OK"), "{out}");
}

#[tokio::test]
async fn an_idle_kept_alive_connection_is_closed() {
    let (addr, _stop, _task) = start(short_limits(4)).await;
    let mut s = TcpStream::connect(addr).await.unwrap();
    s.write_all(b"GET /peer HTTP/1.1\r\nHost: x\r\n\r\n")
        .await
        .unwrap();
    let mut out = Vec::new();
    let read = tokio::time::timeout(Duration::from_secs(10), s.read_to_end(&mut out)).await;
    assert!(
        read.is_ok(),
        "the idle connection was still open after 10 s"
    );
    assert!(String::from_utf8_lossy(&out).starts_with("HTTP/1.1 200"));
}

#[tokio::test]
async fn heads_and_bodies_beyond_the_limits_are_refused() {
    let (addr, _stop, _task) = start(short_limits(4)).await;
    let long = format!(
        "GET /peer HTTP/1.1\r\nHost: x\r\nX-Long: {}\r\n\r\n",
        "a".repeat(9000)
    );
    let out = exchange(addr, long.as_bytes()).await;
    assert!(out.starts_with("HTTP/1.1 431"), "{out}");
    let many: String = (0..20).map(|i| format!("X-{i}: y\r\n")).collect();
    let out = exchange(
        addr,
        format!("GET /peer HTTP/1.1\r\nHost: x\r\n{many}\r\n").as_bytes(),
    )
    .await;
    assert!(out.starts_with("HTTP/1.1 431"), "{out}");
    let body = "b".repeat(1001);
    let req = format!(
        "POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 1001\r\nConnection: close\r\n\r\n{body}"
    );
    let out = exchange(addr, req.as_bytes()).await;
    assert!(out.starts_with("HTTP/1.1 413"), "{out}");
    let body = "b".repeat(1000);
    let req = format!(
        "POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 1000\r\nConnection: close\r\n\r\n{body}"
    );
    let out = exchange(addr, req.as_bytes()).await;
    assert!(
        out.starts_with("HTTP/1.1 200") && out.ends_with("1000"),
        "{out}"
    );
}

#[tokio::test]
async fn a_body_that_never_ends_gets_408() {
    let (addr, _stop, _task) = start(short_limits(4)).await;
    let out = exchange(
        addr,
        b"POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\nonly this",
    )
    .await;
    assert!(out.starts_with("HTTP/1.1 408"), "{out}");
}

#[tokio::test]
async fn a_spent_budget_closes_the_oldest_slow_connection_for_a_new_one() {
    let mut limits = short_limits(2);
    // Longer than the test: only the budget can close the slow connections.
    limits.header_read_timeout = Duration::from_secs(600);
    let (addr, _stop, _task) = start(limits).await;
    let mut slow = Vec::new();
    for _ in 0..2 {
        let mut s = TcpStream::connect(addr).await.unwrap();
        s.write_all(b"GET /peer HTTP/1.1\r\nHost: x\r\n")
            .await
            .unwrap();
        slow.push(s);
        // Accepted in this order.
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let out = exchange(
        addr,
        b"GET /peer HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
    )
    .await;
    assert!(out.starts_with("HTTP/1.1 200"), "{out}");
    // The first slow one was closed, the second still waits.
    let mut buf = [0u8; 64];
    let first = tokio::time::timeout(Duration::from_secs(5), slow[0].read(&mut buf)).await;
    assert!(matches!(first, Ok(Ok(0)) | Ok(Err(_))), "{first:?}");
    let second = tokio::time::timeout(Duration::from_millis(300), slow[1].read(&mut buf)).await;
    assert!(second.is_err(), "{second:?}");
}

#[tokio::test]
async fn shutdown_stops_taking_connections_and_ends_the_server() {
    let (addr, stop, task) = start(short_limits(4)).await;
    let mut idle = TcpStream::connect(addr).await.unwrap();
    idle.write_all(b"GET /peer HTTP/1.1\r\nHost: x\r\n\r\n")
        .await
        .unwrap();
    let mut buf = [0u8; 12];
    idle.read_exact(&mut buf).await.unwrap();
    drop(stop);
    let ended = tokio::time::timeout(Duration::from_secs(5), task).await;
    assert!(matches!(ended, Ok(Ok(Ok(())))), "{ended:?}");
    assert!(TcpStream::connect(addr).await.is_err());
}
