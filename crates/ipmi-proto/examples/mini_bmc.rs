//! A minimal BMC on a blocking UDP socket, to show how the sans-IO [`Server`] is driven: it
//! answers session set-up itself and hands every other request to the caller, here a tiny
//! command table (Get Device ID, Get Chassis Status); everything else gets 0xC1.
//!
//! ```sh
//! MINI_BMC_PASSWORD=secret cargo run -p ipmi-proto --example mini_bmc -- 127.0.0.1:6231
//! IPMI_PASSWORD=secret ipmitool -I lanplus -H 127.0.0.1 -p 6231 -U admin -E mc info
//! ```

use ipmi_proto::session::{Action, Secret, Server, ServerConfig, User};
use ipmi_proto::types::{CompletionCode, NetFn, Privilege};
use std::net::UdpSocket;
use std::time::Instant;

fn main() -> std::io::Result<()> {
    let addr = std::env::args()
        .nth(1)
        .unwrap_or_else(|| "127.0.0.1:6231".into());
    let password = std::env::var("MINI_BMC_PASSWORD").unwrap_or_else(|_| "password".into());
    let socket = UdpSocket::bind(&addr)?;
    let mut server = Server::new(ServerConfig {
        users: vec![User {
            id: 2,
            name: "admin".into(),
            password: Secret::new(password.into_bytes()),
            privilege: Privilege::Administrator,
            enabled: true,
        }],
        ..ServerConfig::default()
    });
    eprintln!("mini_bmc listening on {addr}");
    let mut buf = [0u8; 2048];
    loop {
        let (n, peer) = socket.recv_from(&mut buf)?;
        let now = Instant::now();
        server.expire(now);
        let reply = match server.handle(now, peer, &buf[..n]) {
            Action::Reply(bytes) => Some(bytes),
            Action::Drop(why) => {
                eprintln!("dropped a datagram from {peer}: {why}");
                None
            }
            Action::Dispatch(req) => {
                let (cc, data) = match (req.netfn, req.cmd) {
                    (NetFn::APP, 0x01) => (
                        CompletionCode::OK,
                        vec![0x20, 0x01, 0x01, 0x00, 0x02, 0x80, 0, 0, 0, 0x01, 0x00],
                    ),
                    (NetFn::CHASSIS, 0x01) if req.context.privilege.is_some() => {
                        (CompletionCode::OK, vec![0x01, 0x00, 0x40])
                    }
                    _ => (CompletionCode::INVALID_COMMAND, Vec::new()),
                };
                server.seal(now, &req.context, cc, &data)
            }
        };
        if let Some(bytes) = reply {
            socket.send_to(&bytes, peer)?;
        }
    }
}
