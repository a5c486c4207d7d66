//! The command handlers of the BMC model, grouped by network function as in `ipmi_proto::cmd`.

mod app;
mod chassis;
mod dcmi;
mod fru;
mod relay;
mod sdr;
mod sel;
mod sensor;
mod transport;

pub(crate) use chassis::requested_override;

use crate::audit::Asker;
use crate::{Bmc, Requester};
use ipmi_proto::cmd::app::CURRENT_CHANNEL;
use ipmi_proto::session::Request;

impl Bmc {
    /// Who asked, for the backend and the log line every action leaves.
    pub(crate) fn requester(&self, req: &Request) -> Requester {
        Requester {
            user: req
                .context
                .user
                .as_ref()
                .map(|(_, n)| n.clone())
                .unwrap_or_default(),
            peer: req.context.peer,
            bmc: self.settings.name.clone(),
        }
    }

    /// Who asked, with the session's user ID and privilege, for the SEL record and the audit.
    pub(crate) fn asker(&self, req: &Request) -> Asker {
        Asker {
            who: self.requester(req),
            user_id: req.context.user.as_ref().map(|(id, _)| *id),
            privilege: req.context.privilege,
            protocol: crate::Protocol::Ipmi,
        }
    }

    /// Whether a channel number field names this BMC's LAN channel.
    pub(crate) fn is_our_channel(&self, ch: u8) -> bool {
        let ch = ch & 0x0f;
        ch == CURRENT_CHANNEL || ch == self.settings.channel
    }
}
