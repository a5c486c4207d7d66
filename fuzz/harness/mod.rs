//! Fuzz harnesses for ipmi-proto, written against its public API only.
//!
//! Each harness is a plain function from bytes to `()` that panics when a property fails. The
//! cargo-fuzz targets in `fuzz/fuzz_targets/` call them under libFuzzer (nightly), and the proptest
//! twins in `crates/ipmi-proto/tests/fuzz_twins.rs` include this module by path and call the same
//! functions on stable in CI. So this code must build in both places: it names ipmi-proto as
//! `ipmi_proto`, its sibling modules through `super::`, and uses nothing but ipmi-proto and rand.
//!
//! - [`server_datagrams`]: a server fed datagram sequences from several peers with the clock
//!   advancing, in every handshake state.
//! - [`server_in_session`]: a real client logged in, fuzzing what it sends inside the session (the
//!   plaintext request, raw message bytes sealed with the real keys, mutated sealed packets,
//!   replays), and what the server sends back.
//! - [`client_login`]: the RMCP+ and IPMI 1.5 clients fed genuine, mutated and arbitrary answers
//!   in each login phase.
//! - [`cmd_bodies`]: every `cmd::` body and the wire formats parsed from arbitrary bytes and
//!   emitted again.
//!
//! [`seeds`] builds the deterministic seed inputs (full logins in each form) from the same code.

pub mod checks;
pub mod client_login;
pub mod cmd_bodies;
pub mod console;
pub mod fixtures;
pub mod input;
pub mod real;
pub mod seeds;
pub mod server_datagrams;
pub mod server_in_session;
