//! What the server makes of a datagram ([`Action`]), and the request it hands up to the BMC model
//! with what is needed to answer it ([`Request`], [`RequestContext`]).

use super::seal::Form;
use crate::types::{NetFn, Privilege};
use crate::wire::message;
use std::net::SocketAddr;

/// What to do with a datagram.
#[derive(Debug)]
pub enum Action {
    /// Send these bytes back to the sender.
    Reply(Vec<u8>),
    /// An authenticated (or allowed pre-session) request for the BMC model; answer it with
    /// [`Server::seal`](super::Server::seal).
    Dispatch(Request),
    /// Drop the datagram silently; the reason is for debug logs.
    Drop(&'static str),
}

/// An IPMI request handed up to the BMC model.
#[derive(Debug, Clone)]
pub struct Request {
    /// The request NetFn.
    pub netfn: NetFn,
    /// The command code.
    pub cmd: u8,
    /// The request data after the command byte.
    pub data: Vec<u8>,
    /// Who sent it and how to answer.
    pub context: RequestContext,
}

/// Where a request came from: its session, privilege and user, and what is needed to answer it.
#[derive(Debug, Clone)]
pub struct RequestContext {
    /// The client's address.
    pub peer: SocketAddr,
    /// The session's current privilege level; `None` outside a session.
    pub privilege: Option<Privilege>,
    /// The session's user ID and name; `None` outside a session.
    pub user: Option<(u8, String)>,
    /// How many sessions are active on the channel (for Get Channel Info).
    pub active_sessions: u8,
    pub(crate) reply: ReplyInfo,
}

impl RequestContext {
    /// A context for tests of a BMC model: not tied to any session; responses to it cannot be
    /// sealed into a session (they are sealed as sessionless IPMI 1.5 responses).
    #[cfg(feature = "test-support")]
    pub fn for_test(
        peer: SocketAddr,
        privilege: Option<Privilege>,
        user: Option<(u8, String)>,
    ) -> Self {
        RequestContext {
            peer,
            privilege,
            user,
            active_sessions: 0,
            reply: ReplyInfo {
                form: Form::V15,
                session_id: 0,
                request: message::Request {
                    rs_addr: message::BMC_SLAVE_ADDR,
                    netfn: NetFn::APP,
                    rs_lun: 0,
                    rq_addr: message::REMOTE_CONSOLE_SWID,
                    rq_seq: 0,
                    rq_lun: 0,
                    cmd: 0,
                    data: Vec::new(),
                },
            },
        }
    }
}

/// What is needed to build the response to a dispatched request.
#[derive(Debug, Clone)]
pub(crate) struct ReplyInfo {
    /// The wrapper the request came in.
    pub(crate) form: Form,
    /// The BMC's session ID; 0 outside a session.
    pub(crate) session_id: u32,
    /// The request's message header (its data emptied).
    pub(crate) request: message::Request,
}

impl ReplyInfo {
    /// The reply information of `req`, keeping its header only.
    pub(crate) fn new(form: Form, session_id: u32, req: message::Request) -> Self {
        ReplyInfo {
            form,
            session_id,
            request: message::Request {
                data: Vec::new(),
                ..req
            },
        }
    }
}
