//! Instruction count under callgrind (gungraun) of one Redfish GET of a ComputerSystem, as
//! Ironic's and sushy's power polling makes it: the service's axum router takes the request in
//! memory (no socket, no HTTP parsing: hyper's work, the same for every route, is left out), and
//! the count covers the routing, the session-token check, the resource's reads of the BMC model
//! and its rendering to the JSON body. `bench/instructions.sh` runs this with the session
//! layer's cases and compares the count with `bench/instructions.baseline` (CI fails on growth
//! above 10%).
//!
//! The setup (not counted) builds the service over one BMC model whose backend answers at once
//! (on, no boot override, an inventory), opens a session, and makes a current-thread tokio
//! runtime; a first GET warms what later ones find ready (the model's caches). The session
//! token is random, but a lookup of a token of fixed length costs the same each run.

use axum::body::Body;
use axum::extract::ConnectInfo;
use axum::http::{Request, StatusCode};
use gungraun::{library_benchmark, library_benchmark_group, main};
use ipmi_bmc::{
    Backend, BackendResult, Bmc, BmcSettings, BootOverride, LanInfo, PowerAction, PowerState,
    Requester, UserInfo,
};
use ipmi_proto::session::PasswordLogin;
use ipmi_proto::types::Privilege;
use redfish_service::auth::Grant;
use redfish_service::roles::Role;
use redfish_service::{router, Fleet, Service, Settings};
use std::collections::BTreeMap;
use std::hint::black_box;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::sync::Arc;
use std::time::Instant;
use tower_service::Service as _;

/// A backend that answers at once: powered on, no boot override.
struct Quick;

#[async_trait::async_trait]
impl Backend for Quick {
    fn kind(&self) -> &'static str {
        "bench"
    }
    async fn power_state(&self) -> BackendResult<PowerState> {
        Ok(PowerState::On)
    }
    async fn power(&self, _action: PowerAction, _who: &Requester) -> BackendResult<()> {
        Ok(())
    }
    async fn set_boot_override(
        &self,
        _boot: Option<BootOverride>,
        _who: &Requester,
    ) -> BackendResult<()> {
        Ok(())
    }
    async fn boot_override(&self) -> BackendResult<Option<BootOverride>> {
        Ok(None)
    }
}

/// One BMC, `node-1`, with one administrator.
struct OneBmc(Arc<Bmc>);

impl Fleet for OneBmc {
    fn names(&self) -> Vec<String> {
        vec!["node-1".into()]
    }
    fn bmc(&self, name: &str) -> Option<Arc<Bmc>> {
        (name == "node-1").then(|| self.0.clone())
    }
    fn check_password(&self, _: &str, _: Instant, _: IpAddr, _: &str, _: &[u8]) -> PasswordLogin {
        PasswordLogin::Refused
    }
    fn count_login(&self, _: &str, _: Instant, _: IpAddr, _: &str, _: PasswordLogin) {}
}

/// What each GET is made from: the router, the runtime that drives it, the session's token.
struct Setup {
    app: axum::Router,
    runtime: tokio::runtime::Runtime,
    token: String,
}

fn get(token: &str) -> Request<Body> {
    let mut req = Request::get("/redfish/v1/Systems/node-1")
        .header("host", "127.0.0.1:8000")
        .header("accept", "application/json")
        .header("x-auth-token", token)
        .body(Body::empty())
        .expect("a request");
    let peer = SocketAddr::from((Ipv4Addr::LOCALHOST, 40000));
    req.extensions_mut().insert(ConnectInfo(peer));
    req
}

/// The GET, answered and its body read whole.
fn serve(s: &mut Setup, req: Request<Body>) -> usize {
    let app = &mut s.app;
    s.runtime.block_on(async {
        let res = app.call(req).await.expect("infallible");
        assert_eq!(res.status(), StatusCode::OK);
        let body = axum::body::to_bytes(res.into_body(), usize::MAX)
            .await
            .expect("a body");
        body.len()
    })
}

fn system_get_setup() -> (Setup, Request<Body>) {
    let settings = BmcSettings {
        name: "node-1".into(),
        guid: [0x42; 16],
        channel: 1,
        users: vec![UserInfo {
            id: 2,
            name: "admin".into(),
            privilege: Privilege::Administrator,
            enabled: true,
        }],
        lan: LanInfo {
            ip: Ipv4Addr::LOCALHOST,
            dhcp: false,
            netmask: Ipv4Addr::new(255, 0, 0, 0),
            gateway: Ipv4Addr::UNSPECIFIED,
            mac: [2, 0, 0, 0, 0, 1],
        },
        cipher_suites: vec![3, 17],
        auth_types: 0,
    };
    let bmc = Arc::new(Bmc::new(settings, Arc::new(Quick)));
    let service = Arc::new(Service::new(Arc::new(OneBmc(bmc)), Settings::default()));
    let grants = BTreeMap::from([(
        "node-1".to_string(),
        Grant {
            user_id: 2,
            privilege: Privilege::Administrator,
            role: Role::Administrator,
        },
    )]);
    let (_, token) = service.sessions().open("admin", grants).expect("a session");
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("a runtime");
    let mut s = Setup {
        app: router(service),
        runtime,
        token: token.to_string(),
    };
    // Warm: the first GET fills what later ones find ready.
    for _ in 0..2 {
        let req = get(&s.token);
        serve(&mut s, req);
    }
    let req = get(&s.token);
    (s, req)
}

/// Drops the service and its runtime outside the count.
fn teardown(done: (Setup, usize)) {
    drop(black_box(done));
}

#[library_benchmark]
#[bench::system(setup = system_get_setup, teardown = teardown)]
fn redfish_get((mut s, req): (Setup, Request<Body>)) -> (Setup, usize) {
    let n = serve(&mut s, black_box(req));
    (s, black_box(n))
}

library_benchmark_group!(name = redfish, benchmarks = [redfish_get]);
main!(library_benchmark_groups = redfish);
