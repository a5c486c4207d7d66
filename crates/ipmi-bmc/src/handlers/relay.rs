//! Commands the backend relays whole to the machine's own BMC (the ipmi backend), under the
//! privilege its allow-list gives each one, and never below what IPMI 2.0 appendix G requires
//! ([`privilege_floor`]).

use super::chassis::requested_override;
use crate::dispatch::Outcome;
use crate::events::Event;
use crate::privilege_floor::privilege_floor;
use crate::Bmc;
use ipmi_proto::cmd::chassis::{
    boot_param, BootFlags, SetBootOptionsRequest, SetSystemBootOptions,
};
use ipmi_proto::cmd::{Body, Command};
use ipmi_proto::session::Request;
use ipmi_proto::types::{CompletionCode, Privilege};

impl Bmc {
    /// Relays `req` if its session has `rule` (the backend's allow-list entry) or the command's
    /// appendix G floor, whichever is higher: a rule can raise the requirement, never lower it.
    pub(crate) async fn relay(&self, req: &Request, rule: Privilege) -> Outcome {
        let need = rule.max(privilege_floor(req.netfn, req.cmd));
        if req.context.privilege.is_none_or(|have| have < need) {
            return Err(CompletionCode::INSUFFICIENT_PRIVILEGE);
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
        if matches!(&result, Ok((cc, _)) if *cc == CompletionCode::OK) {
            self.record_relayed(req).await;
        }
        match result {
            Ok((cc, data)) if cc == CompletionCode::OK => Ok(data),
            Ok((cc, _)) => Err(cc),
            Err(e) => Err(self.backend_failed("relay", &e)),
        }
    }

    /// Records the boot actions among the commands the BMC behind carried out (Set System Boot
    /// Options, boot flags), as the model records those it carries out itself.
    async fn record_relayed(&self, req: &Request) {
        if (req.netfn, req.cmd) != (SetSystemBootOptions::NETFN, SetSystemBootOptions::CMD) {
            return;
        }
        let Ok(r) = SetBootOptionsRequest::parse(&req.data) else {
            return;
        };
        if r.parameter != boot_param::BOOT_FLAGS {
            return;
        }
        if let Some(boot) = BootFlags::parse(&r.data)
            .ok()
            .as_ref()
            .and_then(requested_override)
        {
            self.record(Event::Boot(boot), Some(req)).await;
        }
    }
}
