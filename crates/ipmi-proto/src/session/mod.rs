//! Sessions: cipher suites, sequence-number windows, the server's state machine ([`Server`]) and
//! the clients ([`Client`] for RMCP+, [`Client15`] for IPMI 1.5).
//!
//! Inside, bottom up: [`config`] (what the server is configured with), `seal` (sealing and opening
//! of v1.5 and RMCP+ packets, shared by the server and the clients), `pending` (logins in
//! progress, bounded per source address), `limiter` (failed logins) and `log_budget` (how many
//! lines about them a flood may cause), `stats` (what the session layer did, for metrics),
//! `table` (active sessions and those), `action` (what the server makes of a datagram), then the login steps (`login15`, `rmcpplus`) and the session
//! commands (`channel`) as functions of the state they touch, Serial over LAN (`sol` with
//! [`sol_config`], its payload commands in `payload`), and [`server`], which owns that
//! state and routes each datagram. `outstanding` is the request a client waits for, which only
//! its own answer ends.

mod action;
mod channel;
pub mod cipher_suite;
pub mod client;
pub mod client15;
pub mod config;
mod id_map;
mod lazy_rng;
mod limiter;
mod log_budget;
mod login15;
mod outstanding;
mod password_login;
mod payload;
mod pending;
mod rmcpplus;
mod seal;
pub mod seqwin;
pub mod server;
pub use password_login::PasswordLogin;
mod sol;
pub mod sol_config;
mod stats;
mod table;

pub use crate::crypto::Secret;
pub use action::{Action, Request, RequestContext};
pub use cipher_suite::CipherSuite;
pub use client::{Client, ClientConfig, ClientError, ClientEvent, Interface};
pub use client15::Client15;
pub use config::{AuthTypes, LoginPolicy, ServerConfig, User};
pub use server::Server;
pub use sol::{SolEvent, SolPoll, SolSession};
pub use sol_config::SolConfig;
pub use stats::{LoginFailure, ServerStats};

#[cfg(test)]
mod sol_tests;
#[cfg(test)]
mod tests;
