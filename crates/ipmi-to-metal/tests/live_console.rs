//! The admin server's live console WebSocket (`/console-live`) under attack and in use, with a
//! real WebSocket client (tokio-tungstenite) against the real binary: no token, a wrong token,
//! anything but the token first, oversized frames, too many sockets, another origin; the
//! viewer token reads and never types; the keyboard has one writer, shared with SOL (ipmitool's
//! Activate Payload is refused while a browser types).

mod common;

use common::admin::*;
use common::*;
use futures_util::{SinkExt, StreamExt};
use std::time::Duration;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::protocol::frame::coding::CloseCode;
use tokio_tungstenite::tungstenite::{Error as WsError, Message};

type Socket =
    tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>;

/// The socket's limits, as the server has them (`admin::live_console`).
const MAX_SOCKETS: usize = 64;
const MAX_MESSAGE: usize = 4096;

fn url(s: &Served) -> String {
    format!("ws://127.0.0.1:{}/console-live", s.admin_port)
}

async fn connect(s: &Served) -> Socket {
    tokio_tungstenite::connect_async(url(s)).await.unwrap().0
}

/// The next text message (binary ones, console output, skipped), within 10 s; `None` if the
/// socket closed or failed first.
async fn next_text(ws: &mut Socket) -> Option<serde_json::Value> {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    loop {
        match tokio::time::timeout_at(deadline, ws.next()).await.ok()?? {
            Ok(Message::Text(t)) => return Some(serde_json::from_str(&t).unwrap()),
            Ok(Message::Close(_)) | Err(_) => return None,
            Ok(_) => {}
        }
    }
}

/// Whether the socket ends (a close frame, an error, the end) within 10 s, skipping the rest.
async fn ends(ws: &mut Socket) -> Option<Option<CloseCode>> {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    loop {
        match tokio::time::timeout_at(deadline, ws.next()).await.ok()? {
            Some(Ok(Message::Close(frame))) => return Some(frame.map(|f| f.code)),
            Some(Err(_)) | None => return Some(None),
            Some(Ok(_)) => {}
        }
    }
}

async fn hello(ws: &mut Socket, token: &str, bmc: &str) -> serde_json::Value {
    let msg = serde_json::json!({ "token": token, "bmc": bmc }).to_string();
    ws.send(Message::Text(msg)).await.unwrap();
    next_text(ws).await.expect("an answer to the first message")
}

async fn control(ws: &mut Socket, what: &str) -> serde_json::Value {
    let msg = serde_json::json!({ "type": what }).to_string();
    ws.send(Message::Text(msg)).await.unwrap();
    next_text(ws).await.expect("an answer")
}

fn served(console_input: bool) -> Served {
    let admin = format!("viewer_token_file = \"viewer.token\"\nconsole_input = {console_input}\n");
    Served::start_admin("", "", &admin)
}

#[tokio::test(flavor = "multi_thread")]
async fn the_live_console_wants_the_token_first_and_refuses_anything_else() {
    let s = served(true);
    // Nothing at all: refused when the 5 s are up.
    let mut ws = connect(&s).await;
    let answer = next_text(&mut ws).await.unwrap();
    assert_eq!(answer["error"], "no token in time", "{answer}");
    assert_eq!(ends(&mut ws).await, Some(Some(CloseCode::Policy)));
    // A wrong token, the token's case changed, the viewer token with a byte more.
    for wrong in [
        "wrong".to_string(),
        ADMIN_TOKEN.to_uppercase(),
        format!("{VIEWER_TOKEN}x"),
        String::new(),
    ] {
        let mut ws = connect(&s).await;
        let answer = hello(&mut ws, &wrong, "node1").await;
        assert_eq!(
            answer["error"], "the token was refused",
            "{wrong}: {answer}"
        );
        assert_eq!(ends(&mut ws).await, Some(Some(CloseCode::Policy)));
    }
    // Something else first: binary, another shape, the token in a field of its own.
    let firsts = [
        Message::Binary(ADMIN_TOKEN.as_bytes().to_vec()),
        Message::Text(ADMIN_TOKEN.into()),
        Message::Text(format!(
            r#"{{"token":"{ADMIN_TOKEN}","bmc":"node1","type":"take"}}"#
        )),
    ];
    for first in firsts {
        let mut ws = connect(&s).await;
        ws.send(first.clone()).await.unwrap();
        let answer = next_text(&mut ws).await.unwrap();
        assert!(
            answer["error"]
                .as_str()
                .unwrap()
                .starts_with("the first message must be"),
            "{first:?}: {answer}"
        );
        assert!(ends(&mut ws).await.is_some());
    }
    // The right token for a BMC not served.
    let mut ws = connect(&s).await;
    let answer = hello(&mut ws, ADMIN_TOKEN, "node9").await;
    assert_eq!(answer["error"], "no BMC \"node9\"", "{answer}");
    // Another origin: refused before the upgrade.
    let mut req = url(&s).into_client_request().unwrap();
    req.headers_mut()
        .insert("Origin", "http://evil.example".parse().unwrap());
    match tokio_tungstenite::connect_async(req).await {
        Err(WsError::Http(r)) => assert_eq!(r.status(), 403),
        Err(e) => panic!("another origin: {e}"),
        Ok(_) => panic!("another origin was upgraded"),
    }
    // The right token: ready, read-only.
    let mut ws = connect(&s).await;
    let answer = hello(&mut ws, ADMIN_TOKEN, "node1").await;
    assert_eq!(answer["type"], "ready", "{answer}");
    assert_eq!(answer["can_type"], true);
    // Keys before the keyboard is taken are not typed.
    ws.send(Message::Binary(b"echo nope\r".to_vec()))
        .await
        .unwrap();
    let answer = next_text(&mut ws).await.unwrap();
    assert_eq!(
        answer["error"], "read-only: take the keyboard first",
        "{answer}"
    );
    let log = s.bmc.server_log();
    assert!(!log.contains(ADMIN_TOKEN) && !log.contains(VIEWER_TOKEN));
}

#[tokio::test(flavor = "multi_thread")]
async fn oversized_frames_close_the_socket_and_the_server_stays() {
    let s = served(true);
    let big = vec![b'x'; 64 * 1024];
    // Before the token, and after it.
    // A first message that would be answered "no BMC" if it were read: it is not, the socket
    // is closed without an answer.
    let mut ws = connect(&s).await;
    let name = String::from_utf8(big.clone()).unwrap();
    let first = serde_json::json!({ "token": ADMIN_TOKEN, "bmc": name }).to_string();
    let _ = ws.send(Message::Text(first)).await;
    assert_eq!(next_text(&mut ws).await, None, "a 64 KiB first message");
    let mut ws = connect(&s).await;
    assert_eq!(hello(&mut ws, ADMIN_TOKEN, "node1").await["type"], "ready");
    assert_eq!(control(&mut ws, "take").await["held"], true);
    let _ = ws.send(Message::Binary(big)).await;
    assert!(ends(&mut ws).await.is_some(), "64 KiB of keys");
    // Just at the limit is fine.
    let mut ws = connect(&s).await;
    assert_eq!(hello(&mut ws, ADMIN_TOKEN, "node1").await["type"], "ready");
    // The keyboard came back when the socket that held it closed.
    assert_eq!(control(&mut ws, "take").await["held"], true);
    ws.send(Message::Binary(vec![b'a'; MAX_MESSAGE]))
        .await
        .unwrap();
    assert_eq!(control(&mut ws, "release").await["held"], false);
    let (status, _) = s.http("GET", "/healthz", None, "");
    assert_eq!(status, 200);
}

#[tokio::test(flavor = "multi_thread")]
async fn many_sockets_are_refused_beyond_the_limit_and_come_back() {
    let s = served(false);
    let mut open = Vec::new();
    for _ in 0..MAX_SOCKETS {
        open.push(connect(&s).await);
    }
    match tokio_tungstenite::connect_async(url(&s)).await {
        Err(WsError::Http(r)) => assert_eq!(r.status(), 503),
        Err(e) => panic!("socket {}: {e}", MAX_SOCKETS + 1),
        Ok(_) => panic!("socket {} was upgraded", MAX_SOCKETS + 1),
    }
    // The rest of the admin server still answers.
    let (status, body) = s.http("GET", "/bmcs", Some(ADMIN_TOKEN), "");
    assert_eq!(status, 200, "{body}");
    drop(open);
    // The places come back once the server sees the sockets closed.
    let mut back = false;
    for _ in 0..50 {
        if let Ok((mut ws, _)) = tokio_tungstenite::connect_async(url(&s)).await {
            assert_eq!(hello(&mut ws, ADMIN_TOKEN, "node1").await["type"], "ready");
            back = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(back, "no socket after the others closed");
}

#[tokio::test(flavor = "multi_thread")]
async fn typing_needs_console_input_and_the_admin_token_and_has_one_writer() {
    // console_input off: the admin token reads only.
    let off = served(false);
    let mut ws = connect(&off).await;
    assert_eq!(
        hello(&mut ws, ADMIN_TOKEN, "node1").await["can_type"],
        false
    );
    let answer = control(&mut ws, "take").await;
    assert_eq!(answer["held"], false, "{answer}");
    assert!(answer["error"]
        .as_str()
        .unwrap()
        .contains("console_input = true"));
    drop(off);

    let s = served(true);
    // The viewer reads and never types; its token acts on nothing.
    let mut viewer = connect(&s).await;
    let ready = hello(&mut viewer, VIEWER_TOKEN, "node1").await;
    assert_eq!(
        (ready["type"].as_str(), ready["can_type"].as_bool()),
        (Some("ready"), Some(false))
    );
    assert_eq!(control(&mut viewer, "take").await["held"], false);
    let (status, _) = s.http(
        "POST",
        "/bmcs/node1/power",
        Some(VIEWER_TOKEN),
        r#"{"action":"off"}"#,
    );
    assert_eq!(status, 403);
    let (status, body) = s.http("GET", "/bmcs", Some(VIEWER_TOKEN), "");
    assert_eq!(status, 200);
    let you: serde_json::Value = serde_json::from_str(&body).unwrap();
    assert_eq!(you["you"]["act"], false, "{you}");

    // One writer: the first browser holds the keyboard, the second is refused, and so is SOL.
    let mut first = connect(&s).await;
    assert_eq!(
        hello(&mut first, ADMIN_TOKEN, "node1").await["can_type"],
        true
    );
    assert_eq!(control(&mut first, "take").await["held"], true);
    let mut second = connect(&s).await;
    hello(&mut second, ADMIN_TOKEN, "node1").await;
    let answer = control(&mut second, "take").await;
    assert_eq!(
        answer["error"], "another browser types into this console",
        "{answer}"
    );
    // Activate Payload (SOL, instance 1, encrypted and authenticated): 0x80, already active.
    let activate = "raw 0x06 0x48 0x01 0x01 0xc6 0x00 0x00 0x00";
    let r = admin_run(&s.bmc, activate);
    assert!(
        !r.ok && r.stderr.contains("rsp=0x80"),
        "{} {}",
        r.stdout,
        r.stderr
    );
    // What the first types reaches the console: the sim echoes it (its output is watched).
    first
        .send(Message::Binary(b"typedoverthesocket".to_vec()))
        .await
        .unwrap();
    let mut seen = Vec::new();
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    while !String::from_utf8_lossy(&seen).contains("typedoverthesocket") {
        match tokio::time::timeout_at(deadline, second.next()).await {
            Ok(Some(Ok(Message::Binary(b)))) => seen.extend(b),
            Ok(Some(Ok(_))) => {}
            other => panic!(
                "no echo: {other:?}; seen {:?}",
                String::from_utf8_lossy(&seen)
            ),
        }
    }
    // Given back: SOL may activate (its session then ends at once, and with it the instance).
    assert_eq!(control(&mut first, "release").await["held"], false);
    let r = admin_run(&s.bmc, activate);
    assert!(r.ok, "{} {}", r.stdout, r.stderr);
    let calls: Vec<String> = s
        .audit()
        .iter()
        .filter(|r| r["command"] == "live console")
        .map(|r| r["call"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(calls, ["keyboard taken", "keyboard given back"]);
}
