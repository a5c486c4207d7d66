//! Instruction counts of the session layer's server side under callgrind (gungraun): one
//! in-session request, and one whole session as ipmitool makes it, for cipher suites 3 and 17
//! and for IPMI 1.5. `bench/instructions.sh` runs this and compares each count with the baseline
//! committed in `bench/instructions.baseline` (CI fails on growth above 10%).
//!
//! Only the server's work is counted: each case's setup (not counted) records what a client
//! sends in a whole session against one server, and the benchmark replays those datagrams into
//! a second server made with the same seed, which therefore answers exactly as the first did;
//! a dispatched request is answered as the runtime answers it (`Server::seal`, with the sim's
//! answer bytes). Everything is seeded: the counts are the same on every run of the same build.
//!
//! What this leaves out is the runtime above the session layer (tokio, the log subscriber, the
//! BMC model): `bench/profile-request-path.sh` measures the whole server with ipmitool.

use gungraun::{library_benchmark, library_benchmark_group, main};
use ipmi_proto::session::{
    Action, Client, Client15, ClientConfig, ClientEvent, Interface, Secret, Server, ServerConfig,
    User,
};
use ipmi_proto::types::{CompletionCode, NetFn, Privilege};
use rand::SeedableRng;
use std::hint::black_box;
use std::net::SocketAddr;
use std::time::Instant;

/// The requests of ipmitool's `chassis power status` after Set Session Privilege Level (its
/// PICMG and DCMI probes, NetFn 0x2C commands 0x00, 0x3E and 0x00, then Get Device ID and Get
/// Chassis Status), each with the answer the bench gives.
const SESSION_REQUESTS: [(NetFn, u8, &[u8], &[u8]); 5] = [
    (NetFn::GROUP_EXTENSION, 0x00, &[0x00], &[]),
    (NetFn::GROUP_EXTENSION, 0x3E, &[0xDC], &[]),
    (NetFn::GROUP_EXTENSION, 0x00, &[0x00], &[]),
    (
        NetFn::APP,
        0x01,
        &[],
        &[
            0x20, 0x01, 0x00, 0x48, 0x02, 0x9F, 0x91, 0x12, 0x00, 0x02, 0x0F,
        ],
    ),
    (NetFn::CHASSIS, 0x01, &[], &[0x01, 0x00, 0x40, 0x00]),
];

fn peer() -> SocketAddr {
    "127.0.0.1:40000".parse().expect("an address")
}

/// A server with one administrator, its random numbers from a fixed seed.
fn server() -> Server {
    Server::with_rng(
        ServerConfig {
            guid: [0x42; 16],
            users: vec![User {
                id: 2,
                name: "admin".into(),
                password: Secret::new(b"bench-password".to_vec()),
                privilege: Privilege::Administrator,
                enabled: true,
            }],
            cipher_suites: vec![3, 17],
            ..ServerConfig::default()
        },
        rand::rngs::StdRng::seed_from_u64(7),
    )
}

fn client_config(suite: u8, interface: Interface) -> ClientConfig {
    ClientConfig {
        username: "admin".into(),
        password: Secret::new(b"bench-password".to_vec()),
        kg: None,
        privilege: Privilege::Administrator,
        cipher_suites: vec![suite],
        interface,
    }
}

/// The server's part of one datagram: its answer, or for a dispatched request the sealed
/// answer the runtime would send (`answer`).
fn serve(s: &mut Server, datagram: &[u8], answer: &[u8]) -> Vec<u8> {
    let now = Instant::now();
    match s.handle(now, peer(), datagram) {
        Action::Reply(bytes) => bytes,
        Action::Dispatch(req) => s
            .seal(now, &req.context, CompletionCode::OK, answer)
            .expect("the session is open"),
        Action::Drop(why) => panic!("dropped: {why}"),
    }
}

/// Either client, for the recording.
trait Console {
    fn start(&mut self) -> Vec<u8>;
    fn handle(&mut self, datagram: &[u8]) -> ClientEvent;
    fn request(&mut self, netfn: NetFn, cmd: u8, data: &[u8]) -> Vec<u8>;
    fn close(&mut self) -> Vec<u8>;
}

macro_rules! console {
    ($t:ty) => {
        impl Console for $t {
            fn start(&mut self) -> Vec<u8> {
                <$t>::start(self)
            }
            fn handle(&mut self, d: &[u8]) -> ClientEvent {
                <$t>::handle(self, d).expect("the client takes the server's answer")
            }
            fn request(&mut self, netfn: NetFn, cmd: u8, data: &[u8]) -> Vec<u8> {
                <$t>::request(self, netfn, cmd, data).expect("a request")
            }
            fn close(&mut self) -> Vec<u8> {
                <$t>::close(self).expect("a close")
            }
        }
    };
}
console!(Client);
console!(Client15);

/// One datagram a client sent, with the answer bytes if the server dispatches it.
type Sent = (Vec<u8>, &'static [u8]);

/// Records a whole session of `c` against a server: login, [`SESSION_REQUESTS`], close.
fn record(mut c: impl Console) -> Vec<Sent> {
    let mut s = server();
    let mut sent = Vec::new();
    let mut out = c.start();
    loop {
        let back = serve(&mut s, &out, &[]);
        sent.push((out, &[][..]));
        match c.handle(&back) {
            ClientEvent::Send(next) => out = next,
            ClientEvent::Established => break,
            other => panic!("login: {other:?}"),
        }
    }
    for (netfn, cmd, data, answer) in SESSION_REQUESTS {
        let out = c.request(netfn, cmd, data);
        let back = serve(&mut s, &out, answer);
        sent.push((out, answer));
        match c.handle(&back) {
            ClientEvent::Response(_) => {}
            other => panic!("request: {other:?}"),
        }
    }
    let out = c.close();
    let _ = serve(&mut s, &out, &[]);
    sent.push((out, &[][..]));
    sent
}

/// A fresh server (seeded as the recording's) and what the client sent in a whole session.
fn whole_session_setup(case: &str) -> (Server, Vec<Sent>) {
    let sent = match case {
        "suite-3" => record(Client::new(client_config(3, Interface::Lanplus))),
        "suite-17" => record(Client::new(client_config(17, Interface::Lanplus))),
        "ipmi-1.5" => record(Client15::new(client_config(0, Interface::Lan))),
        other => panic!("no case {other}"),
    };
    (server(), sent)
}

/// A server with a session open (logged in through the whole login), and one in-session Get
/// Chassis Status for it; the login and the first requests are not counted.
fn request_setup(suite: u8) -> (Server, Vec<u8>) {
    let mut s = server();
    let mut c = Client::new(client_config(suite, Interface::Lanplus));
    let mut out = c.start();
    loop {
        let back = serve(&mut s, &out, &[]);
        match c.handle(&back).expect("login") {
            ClientEvent::Send(next) => out = next,
            ClientEvent::Established => break,
            other => panic!("login: {other:?}"),
        }
    }
    // Warm: the first requests of a session touch what later ones find ready.
    for _ in 0..3 {
        let out = c.request(NetFn::CHASSIS, 0x01, &[]).expect("a request");
        let back = serve(&mut s, &out, &[0x01, 0x00, 0x40, 0x00]);
        let _ = c.handle(&back).expect("an answer");
    }
    let out = c.request(NetFn::CHASSIS, 0x01, &[]).expect("a request");
    (s, out)
}

#[library_benchmark]
#[bench::suite_3(setup = request_setup, args = (3))]
#[bench::suite_17(setup = request_setup, args = (17))]
fn in_session_request((mut s, datagram): (Server, Vec<u8>)) -> Vec<u8> {
    black_box(serve(
        &mut s,
        black_box(&datagram),
        &[0x01, 0x00, 0x40, 0x00],
    ))
}

#[library_benchmark]
#[bench::suite_3(setup = whole_session_setup, args = ("suite-3"))]
#[bench::suite_17(setup = whole_session_setup, args = ("suite-17"))]
#[bench::ipmi_1_5(setup = whole_session_setup, args = ("ipmi-1.5"))]
fn whole_session((mut s, sent): (Server, Vec<Sent>)) -> usize {
    let mut bytes = 0;
    for (datagram, answer) in &sent {
        bytes += black_box(serve(&mut s, black_box(datagram), answer)).len();
    }
    black_box(bytes)
}

// Other layers' cases go in their own crates' benches (a "per Redfish GET" in the Redfish
// service's crate, calling its handler in memory), listed in bench/instructions.sh.
library_benchmark_group!(
    name = session_layer,
    benchmarks = [in_session_request, whole_session]
);
main!(library_benchmark_groups = session_layer);
