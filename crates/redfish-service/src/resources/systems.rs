//! `Systems`: one ComputerSystem per BMC, its power state, boot override and reset action, each
//! carried out by the BMC model's operations (the same as Chassis Control and Set System Boot
//! Options).

use super::{
    asker, json_object, on_bmc, on_service, precondition, Page as Family, GET, GET_PATCH, POST,
};
use crate::roles::Needs;
use crate::{reply, Ctx, Route};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use ipmi_bmc::{Bmc, BootDevice, BootOverride, PowerAction, PowerState};
use ipmi_proto::cmd::chassis::{ChassisControl, ChassisIdentify, SetSystemBootOptions};
use ipmi_proto::cmd::Command;
use serde_json::{json, Value};

/// What this family serves.
pub(crate) enum Page {
    Collection,
    System,
    ResetActionInfo,
    Reset,
}

/// The boot targets a client may set (and `None`).
const TARGETS: &[&str] = &[
    "None",
    "Pxe",
    "Hdd",
    "Cd",
    "BiosSetup",
    "Diags",
    "Floppy",
    "RemoteDrive",
];
/// The boot target of an HTTP boot (with `HttpBootUri`), where the backend can chain one.
const UEFI_HTTP: &str = "UefiHttp";
const ENABLED: &[&str] = &["Disabled", "Once", "Continuous"];
const MODES: &[&str] = &["Legacy", "UEFI"];

/// The reset types and the power actions they are (`None`: `GracefulRestart`, a soft off then
/// an on: [`super::graceful_restart`]).
const RESETS: &[(&str, Option<PowerAction>)] = &[
    ("On", Some(PowerAction::On)),
    ("ForceOff", Some(PowerAction::Off)),
    ("GracefulShutdown", Some(PowerAction::Soft)),
    ("GracefulRestart", None),
    ("ForceRestart", Some(PowerAction::Reset)),
    ("PowerCycle", Some(PowerAction::Cycle)),
    ("Nmi", Some(PowerAction::Diag)),
];

/// The reset types this BMC's backends and routes can carry out (`GracefulRestart`: a soft off
/// and an on), in [`RESETS`]' order.
fn resets(bmc: &Bmc) -> Vec<&'static str> {
    let offers = |a: PowerAction| bmc.backend().offers(a);
    RESETS
        .iter()
        .filter(|(_, a)| match a {
            Some(a) => offers(*a),
            None => offers(PowerAction::Soft) && offers(PowerAction::On),
        })
        .map(|(n, _)| *n)
        .collect()
}

/// The routes of this family.
pub(crate) fn route(segs: &[&str]) -> Option<Route> {
    let page = Family::Systems;
    match segs {
        ["Systems"] => on_service("/redfish/v1/Systems", GET, false, page(Page::Collection)),
        ["Systems", id] => on_bmc(
            "/redfish/v1/Systems/{id}",
            GET_PATCH,
            id,
            page(Page::System),
        ),
        ["Systems", id, "ResetActionInfo"] => on_bmc(
            "/redfish/v1/Systems/{id}/ResetActionInfo",
            GET,
            id,
            page(Page::ResetActionInfo),
        ),
        ["Systems", id, "Actions", "ComputerSystem.Reset"] => on_bmc(
            "/redfish/v1/Systems/{id}/Actions/ComputerSystem.Reset",
            POST,
            id,
            page(Page::Reset),
        ),
        _ => None,
    }
}

/// Serves this family's pages.
pub(crate) async fn serve(ctx: &Ctx<'_>, bmc_name: &str, page: Page) -> Response {
    if let Page::Collection = page {
        return super::bmc_collection(
            ctx,
            "Systems",
            "ComputerSystemCollection",
            "Computer System Collection",
        );
    }
    let bmc = match super::model(ctx, bmc_name) {
        Ok(b) => b,
        Err(r) => return r,
    };
    match page {
        Page::Collection => unreachable!("answered above"),
        Page::System if ctx.method == axum::http::Method::PATCH => patch(ctx, bmc_name, &bmc).await,
        Page::System => reply::resource(&ctx.headers, system(bmc_name, &bmc).await),
        Page::ResetActionInfo => reply::resource(&ctx.headers, reset_info(bmc_name, &bmc)),
        Page::Reset => reset(ctx, bmc_name, &bmc).await,
    }
}

/// The `PowerState` shown: the action in progress if a slow backend is carrying one out, else
/// the state read (`None`: unreadable).
async fn power_state(bmc: &Bmc) -> Option<&'static str> {
    match bmc.power_in_progress() {
        Some(PowerAction::On | PowerAction::Cycle | PowerAction::Reset) => {
            return Some("PoweringOn")
        }
        Some(PowerAction::Off | PowerAction::Soft) => return Some("PoweringOff"),
        _ => {}
    }
    match bmc.power_state().await {
        Ok(PowerState::On) => Some("On"),
        Ok(PowerState::Off) => Some("Off"),
        Err(_) => None,
    }
}

/// The ComputerSystem resource of a BMC.
pub(crate) async fn system(name: &str, bmc: &Bmc) -> Value {
    let uri = format!("/redfish/v1/Systems/{name}");
    let power = power_state(bmc).await;
    let inv = bmc.inventory().await.unwrap_or_default();
    let guid = inv.guid.unwrap_or(bmc.settings().guid);
    let boot = bmc.boot_override_now().await;
    let efi = boot.map(|b| b.efi).unwrap_or(bmc.boot_efi().await);
    let (enabled, target) = match boot {
        None => ("Disabled", "None"),
        Some(b) => (
            if b.persistent { "Continuous" } else { "Once" },
            b.device.redfish_target().unwrap_or("None"),
        ),
    };
    let http_boot = bmc.http_boot();
    let target = if http_boot.is_some() {
        "UefiHttp"
    } else {
        target
    };
    let mut targets = TARGETS.to_vec();
    if bmc.http_boot_offered() {
        targets.push(UEFI_HTTP);
    }
    let lit = bmc.identify_on();
    let mut v = json!({
        "@odata.type": "#ComputerSystem.v1_13_0.ComputerSystem",
        "@odata.id": uri,
        "Id": name,
        "Name": name,
        "SystemType": "Physical",
        "Manufacturer": inv.manufacturer,
        "Model": inv.product,
        "SerialNumber": inv.serial,
        "PartNumber": inv.part_number,
        "UUID": crate::uuid_string(&guid),
        "Status": {
            "State": "Enabled",
            "Health": if power.is_some() { "OK" } else { "Critical" },
        },
        "IndicatorLED": if lit { "Lit" } else { "Off" },
        "LocationIndicatorActive": lit,
        "Boot": {
            "BootSourceOverrideEnabled": enabled,
            "BootSourceOverrideEnabled@Redfish.AllowableValues": ENABLED,
            "BootSourceOverrideTarget": target,
            "BootSourceOverrideTarget@Redfish.AllowableValues": targets,
            "BootSourceOverrideMode": if efi { "UEFI" } else { "Legacy" },
            "BootSourceOverrideMode@Redfish.AllowableValues": MODES,
        },
        "Actions": {
            "#ComputerSystem.Reset": {
                "target": format!("{uri}/Actions/ComputerSystem.Reset"),
                "@Redfish.ActionInfo": format!("{uri}/ResetActionInfo"),
                "ResetType@Redfish.AllowableValues": resets(bmc),
            }
        },
        "Links": {
            "ManagedBy": [{ "@odata.id": format!("/redfish/v1/Managers/{name}") }],
            "Chassis": [{ "@odata.id": format!("/redfish/v1/Chassis/{name}") }],
        },
    });
    if let Some(p) = power {
        v["PowerState"] = p.into();
    }
    if bmc.http_boot_offered() {
        v["Boot"]["HttpBootUri"] = http_boot.into();
    }
    if !bmc.media_slots().is_empty() {
        let media =
            super::virtual_media::collection_uri(super::virtual_media::Parent::System, name);
        v["VirtualMedia"] = json!({ "@odata.id": media });
    }
    v
}

fn reset_info(name: &str, bmc: &Bmc) -> Value {
    json!({
        "@odata.type": "#ActionInfo.v1_1_2.ActionInfo",
        "@odata.id": format!("/redfish/v1/Systems/{name}/ResetActionInfo"),
        "Id": "ResetActionInfo",
        "Name": "Reset Action Info",
        "Parameters": [{
            "Name": "ResetType",
            "Required": true,
            "DataType": "String",
            "AllowableValues": resets(bmc),
        }],
    })
}

async fn reset(ctx: &Ctx<'_>, name: &str, bmc: &Bmc) -> Response {
    if !ctx.who().may(name, Needs::ConfigureComponents) {
        return reply::forbidden();
    }
    let body = match json_object(ctx) {
        Ok(b) => b,
        Err(r) => return r,
    };
    let Some(kind) = body.get("ResetType") else {
        return reply::error(
            StatusCode::BAD_REQUEST,
            "ActionParameterMissing",
            "The action ComputerSystem.Reset requires the parameter ResetType to be present in the request body.",
            &["ComputerSystem.Reset", "ResetType"],
        );
    };
    let kind = kind.as_str().unwrap_or_default();
    let offered = resets(bmc).contains(&kind);
    let Some((_, action)) = RESETS.iter().find(|(n, _)| offered && *n == kind) else {
        return reply::error(
            StatusCode::BAD_REQUEST,
            "ActionParameterValueNotInList",
            format!("The value '{kind}' for the parameter ResetType in the action ComputerSystem.Reset is not in the list of acceptable values."),
            &[kind, "ResetType", "ComputerSystem.Reset"],
        );
    };
    let asker = asker(ctx, name);
    let Some(action) = action else {
        let fleet = ctx.svc.fleet.clone();
        return match super::graceful_restart::start(fleet, name, bmc, asker, ChassisControl::NAME)
            .await
        {
            Ok(()) => StatusCode::NO_CONTENT.into_response(),
            Err((cc, why)) => reply::model_failed(cc, &why),
        };
    };
    // A restart or a power cycle of a machine that is off brings it up, as on BMCs that speak
    // Redfish natively (IPMI's Chassis Control refuses them: 0xD5).
    let action = match action {
        PowerAction::Reset | PowerAction::Cycle
            if matches!(bmc.power_state().await, Ok(PowerState::Off)) =>
        {
            PowerAction::On
        }
        a => *a,
    };
    match super::actions::deadline(bmc.power_as(action, &asker, ChassisControl::NAME)).await {
        Ok(()) => StatusCode::NO_CONTENT.into_response(),
        Err((cc, why)) => reply::model_failed(cc, &why),
    }
}

/// A string property of a PATCH body, checked against its allowable values.
fn pick<'a>(
    obj: &'a serde_json::Map<String, Value>,
    key: &str,
    allowed: &[&str],
) -> Result<Option<&'a str>, Response> {
    match obj.get(key) {
        None => Ok(None),
        Some(Value::String(s)) if allowed.contains(&s.as_str()) => Ok(Some(s.as_str())),
        Some(v) => Err(reply::not_in_list(key, &v.to_string())),
    }
}

async fn patch(ctx: &Ctx<'_>, name: &str, bmc: &Bmc) -> Response {
    if !ctx.who().may(name, Needs::ConfigureComponents) {
        return reply::forbidden();
    }
    let body = match json_object(ctx) {
        Ok(b) => b,
        Err(r) => return r,
    };
    let current = system(name, bmc).await;
    if let Some(r) = precondition(ctx, &current) {
        return r;
    }
    for key in body.keys() {
        if !["Boot", "IndicatorLED", "LocationIndicatorActive"].contains(&key.as_str()) {
            return super::actions::unknown_property(key);
        }
    }
    let asker = asker(ctx, name);
    if let Some(boot) = body.get("Boot") {
        let Some(boot) = boot.as_object() else {
            return reply::malformed("Boot is not an object");
        };
        if let Some(r) = set_boot(bmc, boot, &asker).await {
            return r;
        }
    }
    if let Some(r) = super::actions::set_indicator(bmc, &body, &asker, ChassisIdentify::NAME).await
    {
        return r;
    }
    reply::resource(&axum::http::HeaderMap::new(), system(name, bmc).await)
}

/// Applies a PATCH of `Boot`: the properties given over the override pending now.
async fn set_boot(
    bmc: &Bmc,
    boot: &serde_json::Map<String, Value>,
    asker: &ipmi_bmc::Asker,
) -> Option<Response> {
    for key in boot.keys() {
        if ![
            "BootSourceOverrideTarget",
            "BootSourceOverrideEnabled",
            "BootSourceOverrideMode",
            "HttpBootUri",
        ]
        .contains(&key.as_str())
        {
            return Some(super::actions::unknown_property(key));
        }
    }
    let mut targets = TARGETS.to_vec();
    if bmc.http_boot_offered() {
        targets.push(UEFI_HTTP);
    }
    let (target, enabled, mode) = match (
        pick(boot, "BootSourceOverrideTarget", &targets),
        pick(boot, "BootSourceOverrideEnabled", ENABLED),
        pick(boot, "BootSourceOverrideMode", MODES),
    ) {
        (Ok(t), Ok(e), Ok(m)) => (t, e, m),
        (Err(r), _, _) | (_, Err(r), _) | (_, _, Err(r)) => return Some(r),
    };
    let uri = boot.get("HttpBootUri");
    if target == Some(UEFI_HTTP) || (target.is_none() && uri.is_some_and(Value::is_string)) {
        let Some(uri) = uri
            .and_then(Value::as_str)
            .map(str::to_string)
            .or(bmc.http_boot())
        else {
            return Some(reply::error(
                StatusCode::BAD_REQUEST,
                "PropertyMissing",
                "The property HttpBootUri is a required property and must be included in the request.",
                &["HttpBootUri"],
            ));
        };
        let persistent = enabled == Some("Continuous");
        return match bmc.set_http_boot(&uri, persistent, asker).await {
            Ok(()) => None,
            Err(ipmi_bmc::MediaError::Invalid(why)) => {
                Some(reply::not_in_list("HttpBootUri", &why))
            }
            Err(ipmi_bmc::MediaError::NotOffered) => {
                Some(reply::not_in_list("BootSourceOverrideTarget", UEFI_HTTP))
            }
            Err(ipmi_bmc::MediaError::Failed { ccode, error }) => {
                Some(reply::model_failed(ccode, &error))
            }
        };
    }
    let now = bmc.boot_override_now().await;
    let efi = match mode {
        Some(m) => m == "UEFI",
        None => now.map(|b| b.efi).unwrap_or(bmc.boot_efi().await),
    };
    let device = match target {
        Some("None") => None,
        Some(t) => BootDevice::from_redfish_target(t),
        None => now.map(|b| b.device),
    };
    // A target set while the override is disabled is for the next boot, as BMCs take it.
    let enabled = enabled.unwrap_or(match now {
        Some(b) if b.persistent => "Continuous",
        Some(_) => "Once",
        None if target.is_some() => "Once",
        None => "Disabled",
    });
    let wanted = match (enabled, device) {
        ("Disabled", _) | (_, None) => None,
        (e, Some(device)) => Some(BootOverride {
            device,
            persistent: e == "Continuous",
            efi,
        }),
    };
    let result = super::actions::deadline(bmc.set_boot_override_as(
        wanted,
        efi,
        asker,
        SetSystemBootOptions::NAME,
    ))
    .await;
    result.err().map(|(cc, why)| reply::model_failed(cc, &why))
}
