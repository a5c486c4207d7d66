//! Commands the backend relays whole to the machine's own BMC (the ipmi backend), under the
//! privilege its allow-list gives each one.

use crate::dispatch::Outcome;
use crate::Bmc;
use ipmi_proto::session::Request;
use ipmi_proto::types::{CompletionCode, Privilege};

impl Bmc {
    /// What a relayed request gets without the backend being asked: 0xD4 below `need`.
    pub(crate) fn relay_refusal(&self, req: &Request, need: Privilege) -> Option<CompletionCode> {
        req.context
            .privilege
            .is_none_or(|have| have < need)
            .then_some(CompletionCode::INSUFFICIENT_PRIVILEGE)
    }

    pub(crate) async fn relay(&self, req: &Request, need: Privilege) -> Outcome {
        if let Some(cc) = self.relay_refusal(req, need) {
            return Err(cc);
        }
        let who = self.requester(req);
        let result = self
            .backend
            .relay(req.netfn, req.cmd, &req.data, &who)
            .await;
        // Commands that change something are logged with who asked, like power actions.
        if need >= Privilege::Operator {
            tracing::info!(%who, ok = result.is_ok(), "command relayed to the BMC behind");
        }
        match result {
            Ok((cc, data)) if cc == CompletionCode::OK => Ok(data),
            Ok((cc, _)) => Err(cc),
            Err(e) => Err(self.backend_failed("relay", &e)),
        }
    }
}
