//! Session state: cipher suites, sequence-number windows, secrets, and the server's session table.

pub mod cipher_suite;
pub mod seqwin;
pub mod server;


pub use server::{Action, AuthTypes, Request, RequestContext, Secret, Server, ServerConfig, User};
