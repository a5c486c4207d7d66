//! The span of each request, `request{peer user netfn cmd}` inside its BMC's span.
//!
//! Making a span costs more than the rest of an in-session request but its crypto: the log
//! subscriber formats its fields when it is made. A session sends the same few requests over and
//! over, so the spans of in-session requests are kept per thread and handed out again to a
//! request of the same BMC, peer address, user, NetFn and command: its fields would be the same,
//! so the log lines are too. The span names the console's address without its port: Ironic and
//! MAAS run one ipmitool process per operation, each from a new port, and a span per port cost
//! every whole session four new spans (a ninth of its instructions); the session's own lines
//! ("session opened", "session closed") and the audit name the port. At most [`KEPT`] are kept per thread (the lot is dropped when full), so
//! memory does not grow with the number of BMCs. Requests outside a session (unauthenticated,
//! from anyone) always get a new span and never push out the kept ones.

use super::Running;
use ipmi_proto::session::Request;
use std::cell::RefCell;
use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::{Arc, Weak};
use tracing::Span;

/// The most spans kept per thread.
const KEPT: usize = 1024;

/// What a kept span is for, but the user name (compared apart, to look up without allocating).
#[derive(PartialEq, Eq, Hash)]
struct Key {
    /// The BMC's address in memory, held by [`Kept::bmc`] so that no other BMC can take it.
    bmc: usize,
    peer: IpAddr,
    user_id: u8,
    netfn: u8,
    cmd: u8,
}

struct Kept {
    /// Keeps the BMC's allocation (not the BMC) alive while its spans are kept.
    _bmc: Weak<Running>,
    user: String,
    span: Span,
}

thread_local! {
    static KEPT_SPANS: RefCell<HashMap<Key, Kept>> = RefCell::new(HashMap::new());
}

/// The span of `req`, a request to `bmc`; to be called inside the BMC's span.
pub(super) fn request_span(bmc: &Arc<Running>, req: &Request) -> Span {
    let Some((user_id, user)) = &req.context.user else {
        return new_span(req, "-");
    };
    let key = Key {
        bmc: Arc::as_ptr(bmc) as usize,
        peer: req.context.peer.ip(),
        user_id: *user_id,
        netfn: req.netfn.0,
        cmd: req.cmd,
    };
    KEPT_SPANS.with_borrow_mut(|kept| {
        if let Some(k) = kept.get(&key).filter(|k| k.user == *user) {
            return k.span.clone();
        }
        let span = new_span(req, user);
        if span.is_disabled() {
            return span;
        }
        if kept.len() >= KEPT {
            kept.clear();
        }
        let k = Kept {
            _bmc: Arc::downgrade(bmc),
            user: user.clone(),
            span: span.clone(),
        };
        kept.insert(key, k);
        span
    })
}

fn new_span(req: &Request, user: &str) -> Span {
    tracing::info_span!(
        "request",
        peer = %req.context.peer.ip(),
        user = %user,
        netfn = format_args!("0x{:02x}", req.netfn.0),
        cmd = format_args!("0x{:02x}", req.cmd),
    )
}

/// How many spans this thread keeps (for tests).
#[cfg(test)]
pub(super) fn kept() -> usize {
    KEPT_SPANS.with_borrow(|k| k.len())
}
