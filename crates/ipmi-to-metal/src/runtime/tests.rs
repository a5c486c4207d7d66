//! The receive loop with a scripted backend and real clients on loopback: answers ready at once
//! are given by the loop itself, waiting ones by a task holding a slot, busy and deadline answers
//! as before, and refusals never take a slot.

use super::{receive_loop, Running};
use crate::config;
use async_trait::async_trait;
use ipmi_bmc::{Backend, BackendResult, Bmc, BootOverride, PowerAction, PowerState, Requester};
use ipmi_client::{Retry, Session};
use ipmi_proto::session::{ClientConfig, Interface, Secret, Server};
use ipmi_proto::types::{CompletionCode, NetFn, Privilege};
use ipmi_proto::wire::{ipmi15, message, rmcp};
use std::net::SocketAddr;
use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::net::UdpSocket;
use tokio::sync::Notify;
use tokio::task::Id;

const GET_CHASSIS_STATUS: u8 = 0x01;

/// A machine whose power state is ready at once, or held until released; it records the task
/// each call started in, and for a held one also the task it was released in.
#[derive(Default)]
struct Scripted {
    hold: AtomicBool,
    panic: AtomicBool,
    release: Notify,
    tasks: Mutex<Vec<Option<Id>>>,
}

#[async_trait]
impl Backend for Scripted {
    fn kind(&self) -> &'static str {
        "scripted"
    }
    async fn power_state(&self) -> BackendResult<PowerState> {
        tracing::info!("power state asked");
        assert!(
            !self.panic.load(Ordering::SeqCst),
            "the scripted backend panics"
        );
        self.tasks.lock().unwrap().push(tokio::task::try_id());
        if self.hold.load(Ordering::SeqCst) {
            self.release.notified().await;
            self.tasks.lock().unwrap().push(tokio::task::try_id());
        }
        Ok(PowerState::On)
    }
    async fn power(&self, _: PowerAction, _: &Requester) -> BackendResult<()> {
        Ok(())
    }
    async fn set_boot_override(&self, _: Option<BootOverride>, _: &Requester) -> BackendResult<()> {
        Ok(())
    }
    async fn boot_override(&self) -> BackendResult<Option<BootOverride>> {
        Ok(None)
    }
}

/// Serves one BMC over `backend` with `slots` in-flight slots; returns its address.
async fn serve(backend: Arc<Scripted>, slots: usize) -> SocketAddr {
    let text = "[[bmc]]\nname = \"t\"\nlisten = \"127.0.0.1:0\"\nbackend = \"sim\"\n[[bmc.users]]\nname = \"admin\"\npassword = \"runtime-pass\"\nprivilege = \"administrator\"\n";
    let c = config::parse("t.toml", text, Path::new("."))
        .unwrap()
        .remove(0);
    let socket = std::net::UdpSocket::bind("127.0.0.1:0").unwrap();
    let addr = socket.local_addr().unwrap();
    let r = Running::new(
        socket,
        Server::new(c.server),
        Bmc::new(c.settings, backend),
        slots,
    )
    .unwrap();
    tokio::spawn(receive_loop(Arc::new(r)));
    addr
}

async fn login(addr: SocketAddr) -> Session {
    login_with(
        addr,
        Retry {
            timeout: Duration::from_secs(30),
            retries: 0,
        },
    )
    .await
}

async fn login_with(addr: SocketAddr, retry: Retry) -> Session {
    let client = ClientConfig {
        username: "admin".into(),
        password: Secret::new(b"runtime-pass".to_vec()),
        kg: None,
        privilege: Privilege::Administrator,
        cipher_suites: vec![3],
        interface: Interface::Lanplus,
    };
    Session::open(addr, client, retry).await.unwrap()
}

/// Get Chassis Status outside any session (IPMI 1.5, no authentication): its completion code.
async fn sessionless_status(addr: SocketAddr) -> CompletionCode {
    let mut msg = Vec::new();
    message::Request {
        rs_addr: message::BMC_SLAVE_ADDR,
        netfn: NetFn::CHASSIS,
        rs_lun: 0,
        rq_addr: message::REMOTE_CONSOLE_SWID,
        rq_seq: 1,
        rq_lun: 0,
        cmd: GET_CHASSIS_STATUS,
        data: Vec::new(),
    }
    .emit(&mut msg);
    let mut datagram = Vec::new();
    rmcp::Repr::ipmi().emit(&mut datagram);
    ipmi15::Repr {
        auth_type: ipmi15::AuthType::None,
        sequence: 0,
        session_id: 0,
        auth_code: None,
    }
    .emit(&msg, &mut datagram)
    .expect("a short message fits the IPMI 1.5 wrapper");
    let sock = UdpSocket::bind("127.0.0.1:0").await.unwrap();
    sock.send_to(&datagram, addr).await.unwrap();
    let mut buf = [0u8; 512];
    let n = tokio::time::timeout(Duration::from_secs(30), sock.recv(&mut buf))
        .await
        .expect("an answer")
        .unwrap();
    let packet =
        ipmi15::Packet::new_checked(rmcp::Packet::new_checked(&buf[..n]).unwrap().payload())
            .unwrap();
    message::Response::parse(packet.payload()).unwrap().ccode
}

/// Waits (up to 10 s) until `done`.
async fn until(done: impl Fn() -> bool) {
    for _ in 0..10_000 {
        if done() {
            return;
        }
        tokio::time::sleep(Duration::from_millis(1)).await;
    }
    panic!("timed out waiting");
}

#[tokio::test]
async fn answers_ready_at_once_are_given_by_the_receive_loop_and_waiting_ones_by_a_task() {
    let backend = Arc::new(Scripted::default());
    let addr = serve(backend.clone(), 4).await;
    let mut s = login(addr).await;
    for _ in 0..3 {
        let r = s
            .request(NetFn::CHASSIS, GET_CHASSIS_STATUS, &[])
            .await
            .unwrap();
        assert_eq!(r.ccode, CompletionCode::OK);
    }
    backend.hold.store(true, Ordering::SeqCst);
    let waiting = tokio::spawn(async move {
        s.request(NetFn::CHASSIS, GET_CHASSIS_STATUS, &[])
            .await
            .unwrap()
    });
    until(|| backend.tasks.lock().unwrap().len() == 4).await;
    backend.release.notify_waiters();
    assert_eq!(waiting.await.unwrap().ccode, CompletionCode::OK);
    let tasks = backend.tasks.lock().unwrap().clone();
    // Three answers from one task (the receive loop); the held one started there too (its first
    // poll), then moved to a task of its own, where it was released.
    assert_eq!(tasks.len(), 5, "{tasks:?}");
    assert!(tasks.iter().all(Option::is_some));
    assert!(tasks[..4].iter().all(|t| *t == tasks[0]), "{tasks:?}");
    assert_ne!(tasks[4], tasks[0], "{tasks:?}");
}

/// Defect 11: a request refused outright (here: unauthenticated, 0xD4) is answered even when
/// every slot is taken, and never takes one; a request that needs the backend gets 0xC0 then,
/// as before, and its backend is not asked.
#[tokio::test]
async fn refusals_are_answered_when_every_slot_is_taken_and_others_get_busy() {
    let backend = Arc::new(Scripted::default());
    let addr = serve(backend.clone(), 1).await;
    backend.hold.store(true, Ordering::SeqCst);
    let mut first = login(addr).await;
    let holding = tokio::spawn(async move {
        let r = first.request(NetFn::CHASSIS, GET_CHASSIS_STATUS, &[]).await;
        (first, r.unwrap())
    });
    until(|| backend.tasks.lock().unwrap().len() == 1).await;
    assert_eq!(
        sessionless_status(addr).await,
        CompletionCode::INSUFFICIENT_PRIVILEGE
    );
    let mut second = login(addr).await;
    let busy = second
        .request(NetFn::CHASSIS, GET_CHASSIS_STATUS, &[])
        .await
        .unwrap();
    assert_eq!(busy.ccode, CompletionCode::NODE_BUSY);
    assert_eq!(
        backend.tasks.lock().unwrap().len(),
        1,
        "the busy request was not started"
    );
    backend.release.notify_waiters();
    let (_first, held) = holding.await.unwrap();
    assert_eq!(held.ccode, CompletionCode::OK);
    backend.hold.store(false, Ordering::SeqCst);
    let again = second
        .request(NetFn::CHASSIS, GET_CHASSIS_STATUS, &[])
        .await
        .unwrap();
    assert_eq!(again.ccode, CompletionCode::OK, "the slot came back");
}

/// A request still waiting on its backend at the deadline (counted from its arrival) gets 0xC3.
#[tokio::test(start_paused = true)]
async fn a_request_past_its_deadline_gets_0xc3() {
    let backend = Arc::new(Scripted::default());
    let addr = serve(backend.clone(), 1).await;
    let mut s = login(addr).await;
    backend.hold.store(true, Ordering::SeqCst);
    let start = tokio::time::Instant::now();
    let r = s
        .request(NetFn::CHASSIS, GET_CHASSIS_STATUS, &[])
        .await
        .unwrap();
    assert_eq!(r.ccode, CompletionCode::TIMEOUT);
    let took = start.elapsed();
    assert!(
        took >= backend_config::REQUEST_DEADLINE
            && took < backend_config::REQUEST_DEADLINE + Duration::from_secs(1),
        "{took:?}"
    );
    // The slot is free again.
    backend.hold.store(false, Ordering::SeqCst);
    let r = s
        .request(NetFn::CHASSIS, GET_CHASSIS_STATUS, &[])
        .await
        .unwrap();
    assert_eq!(r.ccode, CompletionCode::OK);
}

use crate::captured_log::Captured;

/// Requests alike in a session, or in another session from the same address, log in one span,
/// kept and handed out again; its fields are the request's, so every line reads as with a span
/// of its own.
#[tokio::test]
async fn requests_alike_log_in_a_kept_span_with_their_own_fields() {
    let log = Captured::default();
    let writer = log.clone();
    let subscriber = tracing_subscriber::fmt()
        .with_writer(move || writer.clone())
        .with_ansi(false)
        .finish();
    let _default = tracing::subscriber::set_default(subscriber);
    // Tests on other threads run without a subscriber; callsites they hit first may have cached
    // "never": have every callsite ask again, now that this thread has one.
    tracing::callsite::rebuild_interest_cache();
    let backend = Arc::new(Scripted::default());
    let addr = serve(backend.clone(), 4).await;
    let before = super::spans::kept();
    let mut s = login(addr).await;
    for _ in 0..5 {
        let r = s
            .request(NetFn::CHASSIS, GET_CHASSIS_STATUS, &[])
            .await
            .unwrap();
        assert_eq!(r.ccode, CompletionCode::OK);
    }
    assert_eq!(super::spans::kept(), before + 1, "one span for the five");
    // Another session from the same address (from another port, as each ipmitool process is)
    // logs in the same span.
    let mut again = login(addr).await;
    let r = again
        .request(NetFn::CHASSIS, GET_CHASSIS_STATUS, &[])
        .await
        .unwrap();
    assert_eq!(r.ccode, CompletionCode::OK);
    assert_eq!(
        super::spans::kept(),
        before + 1,
        "one span for both sessions"
    );
    let r = s.request(NetFn::APP, 0x01, &[]).await.unwrap();
    assert_eq!(r.ccode, CompletionCode::OK);
    assert_eq!(
        super::spans::kept(),
        before + 2,
        "another command, another span"
    );
    assert_eq!(
        sessionless_status(addr).await,
        CompletionCode::INSUFFICIENT_PRIVILEGE
    );
    assert_eq!(
        super::spans::kept(),
        before + 2,
        "none kept outside a session"
    );
    let text = String::from_utf8(log.0.lock().unwrap().clone()).unwrap();
    let lines: Vec<&str> = text
        .lines()
        .filter(|l| l.contains("power state asked"))
        .collect();
    assert_eq!(lines.len(), 6, "{text}");
    for l in &lines {
        let fields = l
            .split("request{")
            .nth(1)
            .unwrap()
            .split('}')
            .next()
            .unwrap();
        assert_eq!(
            fields, "peer=127.0.0.1 user=admin netfn=0x00 cmd=0x01",
            "{l}"
        );
    }
}

/// A request that panics while carried out in the receive task loses its answer, as it did in a
/// task of its own; the BMC goes on serving.
#[tokio::test]
async fn a_panicking_request_loses_its_answer_and_the_bmc_goes_on() {
    let backend = Arc::new(Scripted::default());
    let addr = serve(backend.clone(), 4).await;
    let short = Retry {
        timeout: Duration::from_millis(300),
        retries: 0,
    };
    let mut s = login_with(addr, short).await;
    backend.panic.store(true, Ordering::SeqCst);
    let lost = s.request(NetFn::CHASSIS, GET_CHASSIS_STATUS, &[]).await;
    assert!(
        matches!(lost, Err(ipmi_client::Error::Timeout(..))),
        "{lost:?}"
    );
    backend.panic.store(false, Ordering::SeqCst);
    let r = s
        .request(NetFn::CHASSIS, GET_CHASSIS_STATUS, &[])
        .await
        .unwrap();
    assert_eq!(r.ccode, CompletionCode::OK);
    let mut other = login(addr).await;
    let r = other
        .request(NetFn::CHASSIS, GET_CHASSIS_STATUS, &[])
        .await
        .unwrap();
    assert_eq!(r.ccode, CompletionCode::OK);
}
