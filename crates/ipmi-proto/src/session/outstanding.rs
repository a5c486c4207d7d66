//! The request a client waits for an answer to, shared by both clients: a response is taken only
//! if it answers that request (same requester sequence number, the request's NetFn plus one, the
//! same command). Anything else that passes the session's checks is a late answer to an earlier
//! try (the BMC answered both a request and its retransmission) and is dropped, so that it cannot
//! pass for the answer to the next request.

use crate::types::NetFn;
use crate::wire::message;

/// A request from the remote console to the BMC under the next requester sequence number, and
/// what its answer must carry.
pub(crate) fn request_message(
    rq_seq: &mut u8,
    netfn: NetFn,
    cmd: u8,
    data: &[u8],
) -> (Vec<u8>, Outstanding) {
    *rq_seq = (*rq_seq + 1) & 0x3f;
    let mut v = Vec::with_capacity(7 + data.len());
    message::Request {
        rs_addr: message::BMC_SLAVE_ADDR,
        netfn,
        rs_lun: 0,
        rq_addr: message::REMOTE_CONSOLE_SWID,
        rq_seq: *rq_seq,
        rq_lun: 0,
        cmd,
        data: data.to_vec(),
    }
    .emit(&mut v);
    let outstanding = Outstanding {
        rq_seq: *rq_seq,
        netfn,
        cmd,
    };
    (v, outstanding)
}

/// The request a client has sent and not yet had answered.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Outstanding {
    rq_seq: u8,
    netfn: NetFn,
    cmd: u8,
}

impl Outstanding {
    /// Whether `r` is the answer to this request.
    pub(crate) fn answered_by(&self, r: &message::Response) -> bool {
        r.rq_seq == self.rq_seq && r.netfn == self.netfn.response() && r.cmd == self.cmd
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::types::CompletionCode;

    #[test]
    fn only_the_answer_to_the_request_matches() {
        let mut seq = 0x3f;
        let (bytes, o) = request_message(&mut seq, NetFn::CHASSIS, 0x02, &[0]);
        assert_eq!(seq, 0, "the sequence number wraps at 6 bits");
        let req = message::Request::parse(&bytes).unwrap();
        let good = req.response(CompletionCode::OK, &[]);
        assert!(o.answered_by(&good));
        for bad in [
            message::Response {
                rq_seq: 1,
                ..good.clone()
            },
            message::Response {
                netfn: NetFn::CHASSIS,
                ..good.clone()
            },
            message::Response {
                netfn: NetFn::APP.response(),
                ..good.clone()
            },
            message::Response {
                cmd: 0x01,
                ..good.clone()
            },
        ] {
            assert!(!o.answered_by(&bad), "{bad:?}");
        }
    }
}
