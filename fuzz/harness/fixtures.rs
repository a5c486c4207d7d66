//! The fixed world every harness runs in: the server's configuration and accounts, the peers,
//! the clock, and the BMC model's canned answers to dispatched requests.

use ipmi_proto::cmd::app::GetDeviceId;
use ipmi_proto::cmd::chassis::{ChassisControl, GetChassisStatus, SetSystemBootOptions};
use ipmi_proto::cmd::{Body, Command};
use ipmi_proto::session::{AuthTypes, Request, Secret, Server, ServerConfig, User};
use ipmi_proto::types::{CompletionCode, NetFn, Privilege};
use rand::rngs::StdRng;
use rand::SeedableRng;
use std::net::SocketAddr;
use std::time::{Duration, Instant};

/// The BMC's GUID (it goes into RAKP 2).
pub const GUID: [u8; 16] = *b"ipmi-to-metal-fz";

/// The administrator account. Its password is the one `fuzz/tools/capture.sh` was run with, so
/// that the captured real-client logins replay against [`server`] (at most 16 bytes: IPMI 1.5).
pub const ADMIN: (&str, &[u8]) = ("admin", b"fuzz-seed-pw-26");

/// The accounts: (id, name, password, privilege, enabled). They cover every privilege, a disabled
/// account, the null user (empty name), and a 20-byte password (too long for IPMI 1.5).
pub const ACCOUNTS: &[(u8, &str, &[u8], Privilege, bool)] = &[
    (1, "", b"anonymous-pw", Privilege::User, true),
    (2, ADMIN.0, ADMIN.1, Privilege::Administrator, true),
    (3, "operator", b"operator-pw-fz", Privilege::Operator, true),
    (4, "user", b"user-password", Privilege::User, true),
    (5, "callback", b"callback-pw", Privilege::Callback, true),
    (
        6,
        "disabled",
        b"disabled-pw",
        Privilege::Administrator,
        false,
    ),
    (
        7,
        "twenty",
        b"twenty-byte-password",
        Privilege::Operator,
        true,
    ),
];

/// Cipher suites the server enables: 3 and 17 first, and the others clients may ask for (15 is
/// left out so that refusing a known suite is reachable too).
pub const SUITES: &[u8] = &[3, 17, 0, 1, 2, 16];

/// At most this many sessions (small, so that a few datagrams reach "full" and eviction).
pub const MAX_SESSIONS: usize = 4;

/// The server's configuration: every account above, IPMI 1.5 with MD5, straight password and none
/// (MD2 off, so that a refused auth type is reachable), no Kg, the default timeouts and limiter.
pub fn server_config() -> ServerConfig {
    ServerConfig {
        guid: GUID,
        users: ACCOUNTS
            .iter()
            .map(|&(id, name, password, privilege, enabled)| User {
                id,
                name: name.into(),
                password: Secret::new(password.to_vec()),
                privilege,
                enabled,
            })
            .collect(),
        cipher_suites: SUITES.to_vec(),
        auth_types: AuthTypes {
            none: true,
            md2: false,
            md5: true,
            straight: true,
        },
        ipmi15: true,
        max_sessions: MAX_SESSIONS,
        ..ServerConfig::default()
    }
}

/// A server with [`server_config`] and a fixed RNG: the same datagrams give the same session IDs,
/// challenges and RAKP randoms every run, so recorded logins replay.
pub fn server() -> Server {
    Server::with_rng(server_config(), StdRng::seed_from_u64(0x1f_f2_f3))
}

/// The peers datagrams come from: two ports of one address (sessions are bound to the address)
/// and another address.
pub fn peers() -> [SocketAddr; 3] {
    [
        "127.0.0.1:40001".parse().unwrap(),
        "127.0.0.1:40002".parse().unwrap(),
        "10.9.8.7:623".parse().unwrap(),
    ]
}

/// Clock steps an input can choose: around the 15 s in-flight, 30 s handshake and 60 s session
/// timeouts.
pub const STEPS: [Duration; 8] = [
    Duration::ZERO,
    Duration::from_millis(10),
    Duration::from_secs(1),
    Duration::from_secs(5),
    Duration::from_secs(16),
    Duration::from_secs(31),
    Duration::from_secs(61),
    Duration::from_secs(301),
];

/// The BMC model of the harness: canned answers, with the request bodies the model acts on
/// parsed by their `cmd::` types (a body that does not parse gets 0xC7, as the real model does).
/// Deterministic, so that the server's RNG use (IVs of sealed answers) replays too.
pub fn answer(req: &Request) -> (CompletionCode, Vec<u8>) {
    const LENGTH: CompletionCode = CompletionCode(0xc7);
    let parses = |ok: bool, data: Vec<u8>| {
        if ok {
            (CompletionCode::OK, data)
        } else {
            (LENGTH, Vec::new())
        }
    };
    match (req.netfn, req.cmd) {
        (GetChassisStatus::NETFN, GetChassisStatus::CMD) => parses(
            <GetChassisStatus as Command>::Request::parse(&req.data).is_ok(),
            vec![0x01, 0x00, 0x00, 0x00],
        ),
        (ChassisControl::NETFN, ChassisControl::CMD) => parses(
            <ChassisControl as Command>::Request::parse(&req.data).is_ok(),
            Vec::new(),
        ),
        (SetSystemBootOptions::NETFN, SetSystemBootOptions::CMD) => parses(
            <SetSystemBootOptions as Command>::Request::parse(&req.data).is_ok(),
            Vec::new(),
        ),
        (GetDeviceId::NETFN, GetDeviceId::CMD) => parses(
            req.data.is_empty(),
            vec![
                0x20, 0x81, 0x01, 0x23, 0x02, 0xbf, 0xf2, 0x1b, 0x00, 0x34, 0x12,
            ],
        ),
        (NetFn::APP, 0x04) => (CompletionCode::OK, vec![0x55, 0x00]),
        (NetFn::APP, 0x08 | 0x37) => (CompletionCode::OK, GUID.to_vec()),
        LONG_ANSWER => match req.data[..] {
            [n] => (CompletionCode::OK, vec![0xa5; usize::from(n) + 45]),
            _ => (LENGTH, Vec::new()),
        },
        _ => (CompletionCode::INVALID_COMMAND, Vec::new()),
    }
}

/// `[n]`: the BMC model answers with `n + 45` bytes of data (45 to 300), around the most an
/// IPMI 1.5 answer carries (247), so that the server's 0xCA for answers too long for that
/// wrapper is exercised.
pub const LONG_ANSWER: (NetFn, u8) = (NetFn(0x30), 0x01);

/// A monotonic clock that inputs advance.
pub struct Clock {
    now: Instant,
}

impl Clock {
    /// A clock at the current instant.
    pub fn new() -> Self {
        Clock {
            now: Instant::now(),
        }
    }
    /// The current time.
    pub fn now(&self) -> Instant {
        self.now
    }
    /// Moves the clock forward by `STEPS[step % 8]`; returns the step.
    pub fn advance(&mut self, step: u8) -> Duration {
        let d = STEPS[usize::from(step) % STEPS.len()];
        self.now += d;
        d
    }
}

impl Default for Clock {
    fn default() -> Self {
        Clock::new()
    }
}
