//! Session state: cipher suites, sequence-number windows, the session table, and the server's
//! state machine ([`Server`]).

mod action;
mod channel;
pub mod cipher_suite;
pub mod client;
pub mod client15;
pub mod config;
mod login15;
mod rmcpplus;
mod seal;
pub mod seqwin;
pub mod server;
mod table;

pub use crate::crypto::Secret;
pub use action::{Action, Request, RequestContext};
pub use cipher_suite::CipherSuite;
pub use client::{Client, ClientConfig, ClientError, ClientEvent, Interface};
pub use client15::Client15;
pub use config::{AuthTypes, LoginPolicy, ServerConfig, User};
pub use server::Server;

#[cfg(test)]
mod tests;
