//! Routes a request to its handler after checking the privilege the command requires
//! (IPMI 2.0 appendix G) and decoding its body.
//!
//! Every command the model answers is declared once, in the table at the end of this file: its
//! type and its handler. From that one declaration come the (NetFn, Cmd) match, the privilege
//! check (the type's [`Command::PRIVILEGE`]), the decoding of the body into the type's
//! [`Command::Request`] handed to the handler, and the listing [`commands`] from which the
//! guide's command table (docs/ipmi-commands.md) is checked. A handler cannot be paired with another command's
//! privilege or body: the type is named only once. Declaring a command twice leaves an
//! unreachable match arm, which the lint (denied in CI) reports.

use crate::sensors::Reserver;
use crate::Bmc;
use ipmi_proto::cmd::{app, chassis, dcmi, sensor, storage, transport, Body, Command};
use ipmi_proto::session::Request;
use ipmi_proto::types::{CompletionCode, NetFn, Privilege};

/// The outcome of a handler: the response body, or a completion code.
pub(crate) type Outcome = Result<Vec<u8>, CompletionCode>;

/// A command the BMC model answers itself, as its command file in `ipmi_proto::cmd` declares it.
/// Commands a backend relays to the BMC behind it, and the session commands the session layer
/// answers, are not among them.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct CommandInfo {
    /// The request NetFn.
    pub netfn: NetFn,
    /// The command code.
    pub cmd: u8,
    /// The command's name as the specification writes it.
    pub name: &'static str,
    /// The section of the IPMI 2.0 specification that defines it.
    pub section: &'static str,
    /// The session privilege it requires (`None`: allowed outside a session).
    pub privilege: Option<Privilege>,
}

impl CommandInfo {
    /// The listing entry of command `C`.
    const fn of<C: Command>() -> CommandInfo {
        CommandInfo {
            netfn: C::NETFN,
            cmd: C::CMD,
            name: C::NAME,
            section: C::SECTION,
            privilege: C::PRIVILEGE,
        }
    }
}

/// The commands the BMC model answers itself, in the order the dispatch table declares them.
pub fn commands() -> &'static [CommandInfo] {
    COMMANDS
}

/// Checks the session privilege against what `C` requires, then decodes the request body.
/// Outside a session every command is refused with 0xD4.
fn parse<C: Command>(req: &Request) -> Result<C::Request, CompletionCode> {
    let allowed = match (C::PRIVILEGE, req.context.privilege) {
        (None, _) => true,
        (Some(need), Some(have)) => have >= need,
        (Some(_), None) => false,
    };
    if !allowed {
        return Err(CompletionCode::INSUFFICIENT_PRIVILEGE);
    }
    C::Request::parse(&req.data).map_err(CompletionCode::from)
}

/// Encodes a response body.
pub(crate) fn ok<B: Body>(body: B) -> Outcome {
    Ok(body.to_bytes())
}

/// Builds `handle` and `COMMANDS` from one list of `CommandType => handler` declarations. In
/// each handler, `$bmc` is the [`Bmc`], `$req` the [`Request`] and `$body` the decoded
/// `CommandType::Request`, whose privilege has been checked.
macro_rules! dispatch_table {
    (|$bmc:ident, $req:ident, $body:ident| { $($command:ty => $handler:expr,)+ }) => {
        /// Answers a request: relayed whole if the backend relays it, else by the handler its
        /// NetFn and Cmd select (0xC1 if none does).
        pub(crate) async fn handle($bmc: &Bmc, $req: &Request) -> Outcome {
            // Relaying comes first: a backend relaying a command answers it instead of the model.
            if let Some(need) = $bmc.backend.relays($req.netfn, $req.cmd) {
                return $bmc.relay($req, need).await;
            }
            match ($req.netfn, $req.cmd) {
                $(
                    (<$command as Command>::NETFN, <$command as Command>::CMD) => {
                        // Commands with an empty body have nothing for their handler.
                        #[allow(unused_variables)]
                        let $body = parse::<$command>($req)?;
                        $handler
                    }
                )+
                _ => Err(CompletionCode::INVALID_COMMAND),
            }
        }

        /// The completion code `$req` gets without its backend being asked, if any: the checks
        /// `handle` makes before anything else (unknown command, privilege, malformed body),
        /// made the same way, so that an answer decided by them is known without a handler.
        pub(crate) fn refusal($bmc: &Bmc, $req: &Request) -> Option<CompletionCode> {
            if let Some(need) = $bmc.backend.relays($req.netfn, $req.cmd) {
                return $bmc.relay_refusal($req, need);
            }
            match ($req.netfn, $req.cmd) {
                $(
                    (<$command as Command>::NETFN, <$command as Command>::CMD) => {
                        parse::<$command>($req).err()
                    }
                )+
                _ => Some(CompletionCode::INVALID_COMMAND),
            }
        }

        /// The listing of the declared commands, for [`commands`].
        const COMMANDS: &[CommandInfo] = &[$(CommandInfo::of::<$command>(),)+];
    };
}

dispatch_table!(|bmc, req, body| {
    app::GetDeviceId => bmc.device_id(),
    app::GetSelfTestResults => ok(app::SelfTestResponse::PASSED),
    app::GetDeviceGuid => ok(bmc.settings.guid),
    app::GetSystemGuid => bmc.system_guid().await,
    app::ColdReset => bmc.bmc_reset(req, "cold"),
    app::WarmReset => bmc.bmc_reset(req, "warm"),
    app::GetChannelInfo => bmc.channel_info(req, body),
    app::GetChannelAccess => bmc.channel_access(body),
    app::GetUserAccess => bmc.user_access(body),
    app::GetUserName => bmc.user_name(body),
    chassis::GetChassisCapabilities => bmc.chassis_capabilities(),
    chassis::GetChassisStatus => bmc.chassis_status().await,
    chassis::ChassisControl => bmc.chassis_control(req, body).await,
    chassis::ChassisIdentify => bmc.chassis_identify(req, body).await,
    chassis::SetSystemBootOptions => bmc.set_boot_option(req, body).await,
    chassis::GetSystemBootOptions => bmc.get_boot_option(body).await,
    transport::GetLanConfigParams => bmc.lan_config(body),
    storage::GetFruInventoryAreaInfo => bmc.fru_area_info(body).await,
    storage::ReadFruData => bmc.read_fru(body).await,
    storage::GetSelInfo => bmc.sel_info(),
    storage::GetSelAllocationInfo => bmc.sel_allocation_info(),
    storage::ReserveSel => bmc.reserve_sel(),
    storage::GetSelEntry => bmc.get_sel_entry(body),
    storage::AddSelEntry => bmc.add_sel_entry(req, body).await,
    storage::DeleteSelEntry => bmc.delete_sel_entry(req, body).await,
    storage::ClearSel => bmc.clear_sel(req, body).await,
    storage::GetSelTime => bmc.get_sel_time(),
    storage::SetSelTime => bmc.set_sel_time(req, body).await,
    storage::GetSelTimeUtcOffset => bmc.get_sel_utc_offset(),
    storage::GetSdrRepositoryInfo => bmc.sdr_repository_info().await,
    storage::GetSdrRepositoryAllocationInfo => bmc.sdr_allocation_info().await,
    storage::ReserveSdrRepository => bmc.reserve_sdr(Reserver::Repository).await,
    storage::GetSdr => bmc.get_sdr(Reserver::Repository, body).await,
    sensor::GetDeviceSdrInfo => bmc.device_sdr_info(body).await,
    sensor::GetDeviceSdr => bmc.get_sdr(Reserver::Device, body).await,
    sensor::ReserveDeviceSdrRepository => bmc.reserve_sdr(Reserver::Device).await,
    sensor::GetSensorReadingFactors => bmc.sensor_reading_factors(body).await,
    sensor::GetSensorHysteresis => bmc.sensor_hysteresis(body).await,
    sensor::GetSensorThresholds => bmc.sensor_thresholds(body).await,
    sensor::GetSensorEventEnable => bmc.sensor_event_enable(body).await,
    sensor::GetSensorEventStatus => bmc.sensor_event_status(body).await,
    sensor::GetSensorReading => bmc.sensor_reading(body).await,
    dcmi::GetDcmiCapabilities => bmc.dcmi_capabilities(req, body).await,
    dcmi::GetPowerReading => bmc.dcmi_power_reading(body).await,
});
