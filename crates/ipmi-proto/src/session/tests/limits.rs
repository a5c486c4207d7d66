//! Configuration values at and past their limits: more sessions than 8-bit handles can name, and
//! lockouts too long for the clock.

use super::{client15_login, client_login, peer, rakp12, rakp34, server_with};
use crate::cmd::app::{SessionInfoRequest, SessionInfoResponse};
use crate::cmd::Body;
use crate::session::action::Action;
use crate::session::config::{LoginPolicy, ServerConfig};
use crate::session::server::Server;
use crate::session::{ClientError, ClientEvent};
use crate::types::{CompletionCode, NetFn};
use crate::wire::rakp::Status;
use std::collections::BTreeSet;
use std::time::{Duration, Instant};

/// The handle Get Session Info reports for the session `c` is in.
fn own_handle(s: &mut Server, c: &mut crate::session::Client) -> u8 {
    let pkt = c
        .request(NetFn::APP, 0x3d, &SessionInfoRequest::Current.to_bytes())
        .unwrap();
    let Action::Reply(back) = s.handle(Instant::now(), peer(), &pkt) else {
        panic!("Get Session Info not answered")
    };
    let Ok(ClientEvent::Response(r)) = c.handle(&back) else {
        panic!("no answer to Get Session Info")
    };
    assert_eq!(r.ccode, CompletionCode::OK);
    SessionInfoResponse::parse(&r.data).unwrap().handle
}

#[test]
fn sessions_past_255_are_refused_and_handles_stay_unique() {
    let mut s = server_with(|c| ServerConfig {
        max_sessions: 4096,
        ..c
    });
    let mut handles = BTreeSet::new();
    let mut clients = Vec::new();
    for n in 0..255 {
        let mut c = client_login(&mut s, &[3], "admin", b"secret")
            .unwrap_or_else(|e| panic!("login {n}: {e}"));
        let h = own_handle(&mut s, &mut c);
        assert!(h != 0 && handles.insert(h), "session {n} got handle {h}");
        clients.push(c);
    }
    assert_eq!(s.active_sessions(), 255);
    assert!(
        matches!(
            client_login(&mut s, &[3], "admin", b"secret"),
            Err(ClientError::Status {
                step: "Open Session",
                status: 0x01
            })
        ),
        "a 256th session has no handle to name it by"
    );
    // A closed session's handle goes to the next one.
    let mut c = clients.swap_remove(100);
    let freed = own_handle(&mut s, &mut c);
    let close = c.close().unwrap();
    assert!(matches!(
        s.handle(Instant::now(), peer(), &close),
        Action::Reply(_)
    ));
    let mut c = client_login(&mut s, &[3], "admin", b"secret").unwrap();
    assert_eq!(own_handle(&mut s, &mut c), freed);
}

#[test]
fn a_lockout_too_long_for_the_clock_locks_without_panicking() {
    for lockout in [Duration::MAX, Duration::from_secs(u64::MAX / 2)] {
        let policy = LoginPolicy {
            max_failures: 2,
            lockout,
            ..LoginPolicy::default()
        };
        let mut s = server_with(|c| ServerConfig {
            login_policy: policy,
            ..c
        });
        for _ in 0..2 {
            let (r2, x) = rakp12(&mut s, 17, "admin", 0x14);
            assert_eq!(r2.status, Status::OK);
            let r4 = rakp34(&mut s, 17, &x, b"wrong");
            assert_eq!(r4.status, Status::INVALID_INTEGRITY_CHECK);
        }
        let (r2, _) = rakp12(&mut s, 17, "admin", 0x14);
        assert_eq!(r2.status, Status::INSUFFICIENT_RESOURCES, "locked out");
        // IPMI 1.5 too: the wrong password twice, then even the right one is refused.
        let mut s = server_with(|c| ServerConfig {
            login_policy: policy,
            ..c
        });
        for _ in 0..2 {
            assert!(client15_login(&mut s, b"wrong").is_err());
        }
        assert!(matches!(
            client15_login(&mut s, b"secret"),
            Err(ClientError::Completion {
                step: "Get Session Challenge",
                ..
            })
        ));
        s.expire(Instant::now() + Duration::from_secs(3600));
    }
}
