//! Commands the backend relays whole to the machine's own BMC (the ipmi backend), under the
//! privilege its allow-list gives each one, and never below what IPMI 2.0 appendix G requires
//! ([`privilege_floor`]).

use super::chassis::requested_override;
use crate::audit::Audit;
use crate::dispatch::Outcome;
use crate::events::Event;
use crate::privilege_floor::privilege_floor;
use crate::{Bmc, Durability};
use ipmi_proto::cmd::chassis::{
    boot_param, BootFlags, ChassisControl, SetBootOptionsRequest, SetSystemBootOptions,
};
use ipmi_proto::cmd::{Body, Command};
use ipmi_proto::session::Request;
use ipmi_proto::types::{CompletionCode, Privilege};

impl Bmc {
    /// What a relayed request gets without the backend being asked: 0xD4 below `rule` (the
    /// backend's allow-list entry) or the command's appendix G floor, whichever is higher.
    pub(crate) fn relay_refusal(&self, req: &Request, rule: Privilege) -> Option<CompletionCode> {
        below(req, relay_need(req, rule))
    }

    /// Relays `req` to the BMC behind if [`Self::relay_refusal`] lets it through.
    pub(crate) async fn relay(&self, req: &Request, rule: Privilege) -> Outcome {
        let need = relay_need(req, rule);
        if let Some(cc) = below(req, need) {
            return Err(cc);
        }
        // Commands that change something are audited and logged with who asked, like power
        // actions; reads cost nothing more.
        let asker = (need >= Privilege::Operator).then(|| self.asker(req));
        let mut audit = asker.as_ref().map(|a| {
            let call = format!(
                "relay netfn 0x{:02x} cmd 0x{:02x} ({} bytes)",
                req.netfn.0,
                req.cmd,
                req.data.len()
            );
            Audit::start(self, a, command_name(req), call)
        });
        // A power action relayed is as durable as one carried out here.
        let durability = if (req.netfn, req.cmd) == (ChassisControl::NETFN, ChassisControl::CMD) {
            Durability::Synced
        } else {
            Durability::Written
        };
        if let Some(audit) = audit.as_mut() {
            audit.admit(durability).await.map_err(|(cc, _)| cc)?;
        }
        let who = match &asker {
            Some(a) => a.who.clone(),
            None => self.requester(req),
        };
        let result = self
            .backend
            .relay(req.netfn, req.cmd, &req.data, &who)
            .await;
        if asker.is_some() {
            tracing::info!(%who, ok = result.is_ok(), "command relayed to the BMC behind");
        }
        if matches!(&result, Ok((cc, _)) if *cc == CompletionCode::OK) {
            self.record_relayed(req).await;
        }
        let result = match result {
            Ok((cc, data)) if cc == CompletionCode::OK => Ok(data),
            Ok((cc, _)) => Err((cc, format!("completion code {cc} from the BMC behind"))),
            Err(e) => Err((self.backend_failed("relay", &e), e.to_string())),
        };
        if let Some(audit) = audit {
            audit.finish_with(&result, durability).await;
        }
        result.map_err(|(cc, _)| cc)
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

/// The command's name if the model knows it, else its NetFn and code.
fn command_name(req: &Request) -> std::borrow::Cow<'static, str> {
    match crate::commands()
        .iter()
        .find(|c| (c.netfn, c.cmd) == (req.netfn, req.cmd))
    {
        Some(c) => c.name.into(),
        None => format!("NetFn 0x{:02x} Cmd 0x{:02x}", req.netfn.0, req.cmd).into(),
    }
}

/// The privilege a relayed request needs: its allow-list `rule` or the command's appendix G
/// floor, whichever is higher (a rule can raise the requirement, never lower it).
fn relay_need(req: &Request, rule: Privilege) -> Privilege {
    rule.max(privilege_floor(req.netfn, req.cmd))
}

/// 0xD4 if `req`'s session is below `need` (or it has none).
fn below(req: &Request, need: Privilege) -> Option<CompletionCode> {
    req.context
        .privilege
        .is_none_or(|have| have < need)
        .then_some(CompletionCode::INSUFFICIENT_PRIVILEGE)
}
