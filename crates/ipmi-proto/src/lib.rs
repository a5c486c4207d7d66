//! # ipmi-proto
//!
//! A sans-IO implementation of IPMI over LAN (IPMI v2.0 rev. 1.1, sections 13 and 22): no sockets,
//! no async, no clock of its own. Bytes and the current time go in, bytes and decisions come out, so
//! that every part can be tested against known vectors and fuzzed.
//!
//! Layers, bottom up; each names only the layers below it, and [`types`] (network functions,
//! privilege levels, completion codes) is a leaf that every layer may use:
//! - [`wire`]: checked views over bytes and parsed representations that can be emitted: the RMCP
//!   header, ASF presence ping/pong, the IPMI 1.5 and 2.0 (RMCP+) session wrappers, IPMI messages
//!   and the RMCP+ set-up messages. Only this layer reads a datagram by offset.
//! - [`crypto`]: the algorithms of RMCP+ ([`crypto::algorithm`]), the IPMI 1.5 authentication
//!   codes, the RAKP key exchange, integrity (HMAC-SHA1-96, HMAC-SHA256-128) and confidentiality
//!   (AES-CBC-128), and [`crypto::Secret`] for passwords and keys.
//! - [`cmd`]: typed request and response bodies of IPMI commands, one file per command, grouped by
//!   network function, the session commands among them. Bodies only: this layer names nothing
//!   but [`wire`] and [`types`].
//! - [`session`]: cipher suites, sequence-number windows, sealing and opening of session packets,
//!   the server's session state machine ([`session::Server`]) that answers session set-up and the
//!   session commands itself and hands every other request up to the BMC model, and the clients
//!   ([`session::Client`], [`session::Client15`]).
//!
//! `tests/module_layers.rs` reads the source and fails if a module names a higher layer or two
//! files name each other.
//! - [`sdr`]: the sensor data records of an SDR repository and the linear conversion of readings
//!   (below [`cmd`], whose sensor commands carry its thresholds and factors).

#![forbid(unsafe_code)]
#![warn(missing_docs)]

pub mod cmd;
pub mod crypto;
pub mod sdr;
pub mod session;
pub mod types;
pub mod wire;
