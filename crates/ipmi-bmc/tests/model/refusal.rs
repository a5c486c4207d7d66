//! [`Bmc::refusal`] agrees with [`Bmc::handle`]: a request it refuses gets that code from
//! `handle` at the first poll, without the backend being asked. The server relies on it to
//! answer such requests inline, never spending a task or an in-flight slot on them.

use super::{settings, Response};
use async_trait::async_trait;
use ipmi_bmc::{
    commands, Backend, BackendResult, Bmc, BootOverride, PowerAction, PowerState, Requester,
};
use ipmi_proto::session::{Request, RequestContext};
use ipmi_proto::types::{CompletionCode, NetFn, Privilege};
use std::future::Future;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::task::{Context, Poll, Wake, Waker};

/// A backend that counts the calls made to it and never answers them.
#[derive(Default)]
struct Untouched {
    calls: AtomicUsize,
    relayed: Option<(NetFn, u8, Privilege)>,
}

impl Untouched {
    fn asked<T>(&self) -> std::future::Pending<T> {
        self.calls.fetch_add(1, Ordering::SeqCst);
        std::future::pending()
    }
}

#[async_trait]
impl Backend for Untouched {
    fn kind(&self) -> &'static str {
        "untouched"
    }
    async fn power_state(&self) -> BackendResult<PowerState> {
        self.asked().await
    }
    async fn power(&self, _: PowerAction, _: &Requester) -> BackendResult<()> {
        self.asked().await
    }
    async fn set_boot_override(&self, _: Option<BootOverride>, _: &Requester) -> BackendResult<()> {
        self.asked().await
    }
    async fn boot_override(&self) -> BackendResult<Option<BootOverride>> {
        self.asked().await
    }
    fn relays(&self, netfn: NetFn, cmd: u8) -> Option<Privilege> {
        self.relayed
            .filter(|(n, c, _)| *n == netfn && *c == cmd)
            .map(|(_, _, need)| need)
    }
    async fn relay(
        &self,
        _: NetFn,
        _: u8,
        _: &[u8],
        _: &Requester,
    ) -> BackendResult<(CompletionCode, Vec<u8>)> {
        self.asked().await
    }
}

struct NoWake;
impl Wake for NoWake {
    fn wake(self: Arc<Self>) {}
}

/// `handle` polled once.
fn first_poll(bmc: &Bmc, req: &Request) -> Poll<Response> {
    let waker = Waker::from(Arc::new(NoWake));
    let mut fut = std::pin::pin!(bmc.handle(req));
    fut.as_mut().poll(&mut Context::from_waker(&waker))
}

fn request(privilege: Option<Privilege>, netfn: NetFn, cmd: u8, data: &[u8]) -> Request {
    Request {
        netfn,
        cmd,
        data: data.to_vec(),
        context: RequestContext::for_test(
            "127.0.0.1:5000".parse().unwrap(),
            privilege,
            privilege.map(|_| (2, "admin".to_string())),
        ),
    }
}

/// Checks `refusal` against `handle` for `req`; returns whether it was refused.
fn agrees(bmc: &Bmc, backend: &Untouched, req: &Request) -> bool {
    let before = backend.calls.load(Ordering::SeqCst);
    let refused = bmc.refusal(req);
    assert_eq!(
        backend.calls.load(Ordering::SeqCst),
        before,
        "refusal asked the backend"
    );
    if let Some(cc) = refused {
        assert_eq!(
            first_poll(bmc, req),
            Poll::Ready(Response::error(cc)),
            "NetFn {:02X} Cmd {:02X} {:?} at {:?}",
            req.netfn.0,
            req.cmd,
            req.data,
            req.context.privilege
        );
        assert_eq!(
            backend.calls.load(Ordering::SeqCst),
            before,
            "a refused request asked the backend"
        );
    }
    refused.is_some()
}

const PRIVILEGES: [Option<Privilege>; 5] = [
    None,
    Some(Privilege::Callback),
    Some(Privilege::User),
    Some(Privilege::Operator),
    Some(Privilege::Administrator),
];

const BODIES: [&[u8]; 5] = [&[], &[0], &[1, 2], &[0, 0, 0, 8], &[0xff; 24]];

#[test]
fn refused_requests_are_answered_at_the_first_poll_without_the_backend() {
    let backend = Arc::new(Untouched::default());
    let bmc = Bmc::new(settings(), backend.clone());
    let mut refused = 0;
    let mut carried_out = 0;
    for netfn in [
        NetFn::CHASSIS,
        NetFn::APP,
        NetFn::STORAGE,
        NetFn::TRANSPORT,
        NetFn(0x2e),
    ] {
        for cmd in 0..=u8::MAX {
            for privilege in PRIVILEGES {
                for body in BODIES {
                    if agrees(&bmc, &backend, &request(privilege, netfn, cmd, body)) {
                        refused += 1;
                    } else {
                        carried_out += 1;
                    }
                }
            }
        }
    }
    assert!(
        refused > 0 && carried_out > 0,
        "{refused} refused, {carried_out} carried out"
    );
    // Outside a session every command is refused; unknown commands are refused at any privilege.
    for c in commands() {
        for body in BODIES {
            assert_eq!(
                bmc.refusal(&request(None, c.netfn, c.cmd, body)),
                Some(CompletionCode::INSUFFICIENT_PRIVILEGE),
                "{}",
                c.name
            );
        }
    }
    assert_eq!(
        bmc.refusal(&request(
            Some(Privilege::Administrator),
            NetFn::APP,
            0xff,
            &[]
        )),
        Some(CompletionCode::INVALID_COMMAND)
    );
    // A request that is carried out is the backend's business: Get Chassis Status asks it.
    let status = request(Some(Privilege::User), NetFn::CHASSIS, 0x01, &[]);
    assert_eq!(bmc.refusal(&status), None);
    assert!(first_poll(&bmc, &status).is_pending());
    assert_eq!(backend.calls.load(Ordering::SeqCst), 1);
}

#[test]
fn relayed_requests_are_refused_below_the_relay_privilege_only() {
    let backend = Arc::new(Untouched {
        relayed: Some((NetFn::CHASSIS, 0x01, Privilege::Operator)),
        ..Untouched::default()
    });
    let bmc = Bmc::new(settings(), backend.clone());
    for privilege in PRIVILEGES {
        for body in BODIES {
            let req = request(privilege, NetFn::CHASSIS, 0x01, body);
            let refused = agrees(&bmc, &backend, &req);
            assert_eq!(refused, privilege.is_none_or(|p| p < Privilege::Operator));
        }
    }
}
