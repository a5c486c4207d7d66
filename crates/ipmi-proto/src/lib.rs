//! # ipmi-proto
//!
//! A sans-IO implementation of IPMI over LAN (IPMI v2.0 rev. 1.1, sections 13 and 22): no sockets,
//! no async, no clock of its own. Bytes and the current time go in, bytes and decisions come out, so
//! that every part can be tested against known vectors and fuzzed.
//!
//! Layers, bottom up:
//! - [`wire`]: checked views over bytes and parsed representations that can be emitted: the RMCP
//!   header, ASF presence ping/pong, the IPMI 1.5 and 2.0 (RMCP+) session wrappers, and IPMI messages.
//! - [`crypto`]: the IPMI 1.5 authentication codes, RAKP key exchange, integrity (HMAC-SHA1-96,
//!   HMAC-SHA256-128, HMAC-MD5-128, MD5-128) and confidentiality (AES-CBC-128).
//! - [`session`]: cipher suites, sequence-number windows, and the server's session state machine
//!   ([`session::server::Server`]) that answers session set-up itself and hands every other request
//!   up to the BMC model.
//! - [`cmd`]: typed request and response bodies of IPMI commands, one file per command, grouped by
//!   network function.
//! - [`sdr`]: the sensor data records of an SDR repository and the linear conversion of readings.

#![forbid(unsafe_code)]
#![warn(missing_docs)]

pub mod cmd;
pub mod crypto;
pub mod sdr;
pub mod session;
pub mod types;
pub mod wire;
