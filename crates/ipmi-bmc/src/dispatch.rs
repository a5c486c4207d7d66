//! Routes a request to its handler after checking the privilege the command requires
//! (IPMI 2.0 appendix G) and decoding its body.

use crate::Bmc;
use ipmi_proto::cmd::{app, chassis, storage, transport, Body, Command};
use ipmi_proto::session::Request;
use ipmi_proto::types::CompletionCode;

/// The outcome of a handler: the response body, or a completion code.
pub(crate) type Outcome = Result<Vec<u8>, CompletionCode>;

/// Whether `req` is command `C`.
fn is<C: Command>(req: &Request) -> bool {
    req.netfn == C::NETFN && req.cmd == C::CMD
}

/// Checks the session privilege against what `C` requires, then decodes the request body.
/// Outside a session every command is refused with 0xD4.
pub(crate) fn parse<C: Command>(req: &Request) -> Result<C::Request, CompletionCode> {
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

pub(crate) async fn handle(bmc: &Bmc, req: &Request) -> Outcome {
    if let Some(need) = bmc.backend.relays(req.netfn, req.cmd) {
        return bmc.relay(req, need).await;
    }
    if is::<app::GetDeviceId>(req) {
        parse::<app::GetDeviceId>(req)?;
        bmc.device_id()
    } else if is::<app::GetSelfTestResults>(req) {
        parse::<app::GetSelfTestResults>(req)?;
        ok(app::SelfTestResponse::PASSED)
    } else if is::<app::GetDeviceGuid>(req) {
        parse::<app::GetDeviceGuid>(req)?;
        ok(bmc.settings.guid)
    } else if is::<app::GetSystemGuid>(req) {
        parse::<app::GetSystemGuid>(req)?;
        bmc.system_guid().await
    } else if is::<app::ColdReset>(req) {
        parse::<app::ColdReset>(req)?;
        bmc.bmc_reset(req, "cold")
    } else if is::<app::WarmReset>(req) {
        parse::<app::WarmReset>(req)?;
        bmc.bmc_reset(req, "warm")
    } else if is::<app::GetChannelInfo>(req) {
        bmc.channel_info(req, parse::<app::GetChannelInfo>(req)?)
    } else if is::<app::GetChannelAccess>(req) {
        bmc.channel_access(parse::<app::GetChannelAccess>(req)?)
    } else if is::<app::GetUserAccess>(req) {
        bmc.user_access(parse::<app::GetUserAccess>(req)?)
    } else if is::<app::GetUserName>(req) {
        bmc.user_name(parse::<app::GetUserName>(req)?)
    } else if is::<chassis::GetChassisCapabilities>(req) {
        parse::<chassis::GetChassisCapabilities>(req)?;
        bmc.chassis_capabilities()
    } else if is::<chassis::GetChassisStatus>(req) {
        parse::<chassis::GetChassisStatus>(req)?;
        bmc.chassis_status().await
    } else if is::<chassis::ChassisControl>(req) {
        let action = parse::<chassis::ChassisControl>(req)?;
        bmc.chassis_control(req, action).await
    } else if is::<chassis::ChassisIdentify>(req) {
        let r = parse::<chassis::ChassisIdentify>(req)?;
        bmc.chassis_identify(req, r).await
    } else if is::<chassis::SetSystemBootOptions>(req) {
        let r = parse::<chassis::SetSystemBootOptions>(req)?;
        bmc.set_boot_option(req, r).await
    } else if is::<chassis::GetSystemBootOptions>(req) {
        let r = parse::<chassis::GetSystemBootOptions>(req)?;
        bmc.get_boot_option(r).await
    } else if is::<transport::GetLanConfigParams>(req) {
        bmc.lan_config(parse::<transport::GetLanConfigParams>(req)?)
    } else if is::<storage::GetFruInventoryAreaInfo>(req) {
        let id = parse::<storage::GetFruInventoryAreaInfo>(req)?;
        bmc.fru_area_info(id).await
    } else if is::<storage::ReadFruData>(req) {
        let r = parse::<storage::ReadFruData>(req)?;
        bmc.read_fru(r).await
    } else {
        Err(CompletionCode::INVALID_COMMAND)
    }
}
