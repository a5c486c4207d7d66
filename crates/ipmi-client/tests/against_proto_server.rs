//! The async client and the load generator against ipmi-proto's server on a loopback socket,
//! including lost datagrams (retransmission with a fresh sequence number) and a BMC restart
//! (re-login).

use ipmi_client::bench::{self, BenchConfig, Mode};
use ipmi_client::{Retry, Session};
use ipmi_proto::session::{Action, ClientConfig, Secret, Server, ServerConfig, User};
use ipmi_proto::types::{CompletionCode, NetFn, Privilege};
use std::net::SocketAddr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};
use tokio::net::UdpSocket;

/// Serves a BMC answering Get Chassis Status; loses the answer to the `drop_nth` dispatched
/// request (1-based), as if the network dropped it.
async fn bmc(drop_nth: usize) -> (SocketAddr, tokio::task::JoinHandle<()>) {
    bmc_at("127.0.0.1:0".parse().unwrap(), drop_nth, 1).await
}

/// Like [`bmc`], on a given address, answering chassis status with power state `power`.
async fn bmc_at(
    at: SocketAddr,
    drop_nth: usize,
    power: u8,
) -> (SocketAddr, tokio::task::JoinHandle<()>) {
    let socket = UdpSocket::bind(at).await.unwrap();
    let addr = socket.local_addr().unwrap();
    let task = tokio::spawn(async move {
        let mut server = Server::new(ServerConfig {
            users: vec![User {
                id: 2,
                name: "admin".into(),
                password: Secret::new(b"pw".to_vec()),
                privilege: Privilege::Administrator,
                enabled: true,
            }],
            // Every suite the client speaks, the weak ones included (off by default).
            cipher_suites: vec![3, 17, 1, 2, 15, 16],
            ..ServerConfig::default()
        });
        let seen = AtomicUsize::new(0);
        let mut buf = [0u8; 2048];
        loop {
            let (n, peer) = socket.recv_from(&mut buf).await.unwrap();
            let out = match server.handle(Instant::now(), peer, &buf[..n]) {
                Action::Reply(b) => Some(b),
                Action::Drop(_) => None,
                Action::Dispatch(req) => {
                    let sealed = server.seal(
                        Instant::now(),
                        &req.context,
                        CompletionCode::OK,
                        &[power, 0, 0],
                    );
                    if seen.fetch_add(1, Ordering::SeqCst) + 1 == drop_nth {
                        None
                    } else {
                        sealed
                    }
                }
            };
            if let Some(b) = out {
                socket.send_to(&b, peer).await.unwrap();
            }
        }
    });
    (addr, task)
}

fn config() -> ClientConfig {
    ClientConfig {
        username: "admin".into(),
        password: Secret::new(b"pw".to_vec()),
        kg: None,
        privilege: Privilege::Administrator,
        cipher_suites: vec![17, 3],
        interface: Default::default(),
    }
}

fn retry() -> Retry {
    Retry {
        timeout: Duration::from_millis(200),
        retries: 2,
    }
}

#[tokio::test]
async fn request_survives_a_lost_datagram() {
    let (addr, _task) = bmc(1).await;
    let mut s = Session::open(addr, config(), retry()).await.unwrap();
    assert_eq!(s.cipher_suite(), Some(17));
    let r = s.request(NetFn::CHASSIS, 0x01, &[]).await.unwrap();
    assert_eq!((r.ccode, r.data), (CompletionCode::OK, vec![1, 0, 0]));
}

#[tokio::test]
async fn logs_in_again_after_the_bmc_restarts() {
    let (addr, task) = bmc(0).await;
    let mut s = Session::open(addr, config(), retry()).await.unwrap();
    s.request(NetFn::CHASSIS, 0x01, &[]).await.unwrap();
    task.abort();
    let _ = task.await;
    // A restarted BMC on the same port knows nothing of the old session.
    let (addr2, _task2) = bmc_at(addr, 0, 0).await;
    assert_eq!(addr, addr2);
    let r = s.request_relogin(NetFn::CHASSIS, 0x01, &[]).await.unwrap();
    assert_eq!(r.data, vec![0, 0, 0], "answered by the restarted BMC");
}

#[tokio::test]
async fn bench_counts_requests_and_logins() {
    let (addr, _task) = bmc(0).await;
    let report = bench::run(BenchConfig {
        targets: vec![addr],
        sessions: 4,
        duration: Duration::from_secs(5),
        count: Some(200),
        request: (NetFn::CHASSIS, 0x01, Vec::new()),
        client: config(),
        retry: retry(),
        mode: Mode::Requests,
        progress: false,
    })
    .await;
    assert!(report.ok >= 200, "{report:?}");
    assert_eq!(report.errors, 0, "{:?}", report.error_samples);
    assert_eq!(report.logins, 4);
    assert!(report.percentile(50.0) <= report.percentile(99.0));
    let logins = bench::run(BenchConfig {
        count: Some(20),
        mode: Mode::Logins,
        sessions: 2,
        targets: vec![addr],
        duration: Duration::from_secs(5),
        request: (NetFn::CHASSIS, 0x01, Vec::new()),
        client: config(),
        retry: retry(),
        progress: false,
    })
    .await;
    assert!(logins.logins >= 20, "{logins:?}");
}

#[tokio::test]
async fn ipmi15_session_with_a_lost_datagram_and_every_cipher_suite() {
    let (addr, _task) = bmc(2).await;
    let lan = ClientConfig {
        interface: ipmi_proto::session::Interface::Lan,
        ..config()
    };
    let mut s = Session::open(addr, lan, retry()).await.unwrap();
    assert_eq!(s.cipher_suite(), None, "IPMI 1.5 has no cipher suite");
    for _ in 0..3 {
        // The second dispatched request's answer is lost: resent under a new sequence number.
        let r = s.request(NetFn::CHASSIS, 0x01, &[]).await.unwrap();
        assert_eq!((r.ccode, r.data), (CompletionCode::OK, vec![1, 0, 0]));
    }
    s.close().await;
    for suite in [17u8, 16, 15, 3, 2, 1] {
        let c = ClientConfig {
            cipher_suites: vec![suite],
            ..config()
        };
        let mut s = Session::open(addr, c, retry()).await.unwrap();
        assert_eq!(s.cipher_suite(), Some(suite));
        let r = s.request(NetFn::CHASSIS, 0x01, &[]).await.unwrap();
        assert_eq!(r.ccode, CompletionCode::OK, "suite {suite}");
        s.close().await;
    }
}

#[tokio::test]
async fn wrong_password_fails_the_login_on_both_interfaces() {
    let (addr, _task) = bmc(0).await;
    for interface in [
        ipmi_proto::session::Interface::Lanplus,
        ipmi_proto::session::Interface::Lan,
    ] {
        let c = ClientConfig {
            password: Secret::new(b"not-it".to_vec()),
            interface,
            ..config()
        };
        let err = Session::open(addr, c, retry())
            .await
            .err()
            .expect("refused");
        assert!(
            matches!(err, ipmi_client::Error::Login(_)),
            "{interface:?}: {err}"
        );
    }
}
