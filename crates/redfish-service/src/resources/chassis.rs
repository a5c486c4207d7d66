//! `Chassis`: one per BMC, its identify light (`LocationIndicatorActive`, `IndicatorLED` =
//! Chassis Identify) and its `Thermal` and `Power` from the same sensor readings as the SDR.

use super::actions::{set_indicator, unknown_property};
use super::{asker, json_object, on_bmc, on_service, precondition, Page as Family, GET, GET_PATCH};
use crate::roles::Needs;
use crate::{reply, Ctx, Route};
use axum::response::Response;
use ipmi_bmc::{Bmc, DiscreteKind, SensorKind, SensorReading};
use ipmi_proto::cmd::chassis::ChassisIdentify;
use ipmi_proto::cmd::Command;
use serde_json::{json, Value};

/// What this family serves.
pub(crate) enum Page {
    Collection,
    Chassis,
    Thermal,
    Power,
}

/// The routes of this family.
pub(crate) fn route(segs: &[&str]) -> Option<Route> {
    let page = Family::Chassis;
    match segs {
        ["Chassis"] => on_service("/redfish/v1/Chassis", GET, false, page(Page::Collection)),
        ["Chassis", id] => on_bmc(
            "/redfish/v1/Chassis/{id}",
            GET_PATCH,
            id,
            page(Page::Chassis),
        ),
        ["Chassis", id, "Thermal"] => on_bmc(
            "/redfish/v1/Chassis/{id}/Thermal",
            GET,
            id,
            page(Page::Thermal),
        ),
        ["Chassis", id, "Power"] => {
            on_bmc("/redfish/v1/Chassis/{id}/Power", GET, id, page(Page::Power))
        }
        _ => None,
    }
}

/// Serves this family's pages.
pub(crate) async fn serve(ctx: &Ctx<'_>, name: &str, page: Page) -> Response {
    if let Page::Collection = page {
        return super::bmc_collection(ctx, "Chassis", "ChassisCollection", "Chassis Collection");
    }
    let bmc = match super::model(ctx, name) {
        Ok(b) => b,
        Err(r) => return r,
    };
    match page {
        Page::Collection => unreachable!("answered above"),
        Page::Chassis if ctx.method == axum::http::Method::PATCH => patch(ctx, name, &bmc).await,
        Page::Chassis => reply::resource(&ctx.headers, chassis(name, &bmc).await),
        Page::Thermal => reply::resource(&ctx.headers, thermal(name, &readings(&bmc).await)),
        Page::Power => reply::resource(&ctx.headers, power(name, &readings(&bmc).await)),
    }
}

async fn readings(bmc: &Bmc) -> Vec<SensorReading> {
    bmc.sensor_readings().await.unwrap_or_default()
}

async fn chassis(name: &str, bmc: &Bmc) -> Value {
    let inv = bmc.inventory().await.unwrap_or_default();
    let lit = bmc.identify_on();
    let uri = format!("/redfish/v1/Chassis/{name}");
    json!({
        "@odata.type": "#Chassis.v1_14_0.Chassis",
        "@odata.id": uri,
        "Id": name,
        "Name": name,
        "ChassisType": "RackMount",
        "Manufacturer": inv.manufacturer,
        "Model": inv.product,
        "SerialNumber": inv.serial,
        "PartNumber": inv.part_number,
        "IndicatorLED": if lit { "Lit" } else { "Off" },
        "LocationIndicatorActive": lit,
        "Status": { "State": "Enabled", "Health": "OK" },
        "Thermal": { "@odata.id": format!("{uri}/Thermal") },
        "Power": { "@odata.id": format!("{uri}/Power") },
        "Links": {
            "ComputerSystems": [{ "@odata.id": format!("/redfish/v1/Systems/{name}") }],
            "ManagedBy": [{ "@odata.id": format!("/redfish/v1/Managers/{name}") }],
        },
    })
}

async fn patch(ctx: &Ctx<'_>, name: &str, bmc: &Bmc) -> Response {
    if !ctx.who().may(name, Needs::ConfigureComponents) {
        return reply::forbidden();
    }
    let body = match json_object(ctx) {
        Ok(b) => b,
        Err(r) => return r,
    };
    if let Some(r) = precondition(ctx, &chassis(name, bmc).await) {
        return r;
    }
    if let Some(key) = body
        .keys()
        .find(|k| !["IndicatorLED", "LocationIndicatorActive"].contains(&k.as_str()))
    {
        return unknown_property(key);
    }
    if let Some(r) = set_indicator(bmc, &body, &asker(ctx, name), ChassisIdentify::NAME).await {
        return r;
    }
    reply::resource(&axum::http::HeaderMap::new(), chassis(name, bmc).await)
}

/// A number for JSON (`null` if unreadable or not finite).
fn number(v: Option<f64>) -> Value {
    v.filter(|x| x.is_finite())
        .map(Value::from)
        .unwrap_or(Value::Null)
}

fn of_kind(
    readings: &[SensorReading],
    kind: SensorKind,
) -> impl Iterator<Item = (usize, &SensorReading)> {
    readings.iter().filter(move |r| r.kind == kind).enumerate()
}

fn status(r: &SensorReading) -> Value {
    if r.value.is_some() {
        json!({ "State": "Enabled", "Health": "OK" })
    } else {
        json!({ "State": "UnavailableOffline" })
    }
}

fn thermal(name: &str, readings: &[SensorReading]) -> Value {
    let uri = format!("/redfish/v1/Chassis/{name}/Thermal");
    let temps: Vec<Value> = of_kind(readings, SensorKind::Temperature)
        .map(|(i, r)| {
            json!({
                "@odata.id": format!("{uri}#/Temperatures/{i}"),
                "MemberId": i.to_string(),
                "Name": r.name,
                "ReadingCelsius": number(r.value),
                "UpperThresholdCritical": number(r.thresholds.upper_critical),
                "Status": status(r),
            })
        })
        .collect();
    let fans: Vec<Value> = of_kind(readings, SensorKind::Fan)
        .map(|(i, r)| {
            json!({
                "@odata.id": format!("{uri}#/Fans/{i}"),
                "MemberId": i.to_string(),
                "Name": r.name,
                "Reading": r.value.filter(|x| x.is_finite()).map(|x| Value::from(x.round() as i64)).unwrap_or(Value::Null),
                "ReadingUnits": "RPM",
                "Status": status(r),
            })
        })
        .collect();
    json!({
        "@odata.type": "#Thermal.v1_7_0.Thermal",
        "@odata.id": uri,
        "Id": "Thermal",
        "Name": "Thermal",
        "Temperatures": temps,
        "Fans": fans,
    })
}

fn power(name: &str, readings: &[SensorReading]) -> Value {
    let uri = format!("/redfish/v1/Chassis/{name}/Power");
    let control: Vec<Value> = of_kind(readings, SensorKind::Power)
        .map(|(i, r)| {
            json!({
                "@odata.id": format!("{uri}#/PowerControl/{i}"),
                "MemberId": i.to_string(),
                "Name": r.name,
                "PowerConsumedWatts": number(r.value),
                "Status": status(r),
            })
        })
        .collect();
    let volts: Vec<Value> = of_kind(readings, SensorKind::Voltage)
        .map(|(i, r)| {
            json!({
                "@odata.id": format!("{uri}#/Voltages/{i}"),
                "MemberId": i.to_string(),
                "Name": r.name,
                "ReadingVolts": number(r.value),
                "Status": status(r),
            })
        })
        .collect();
    let supplies: Vec<Value> = of_kind(readings, SensorKind::Discrete(DiscreteKind::PowerSupply))
        .map(|(i, r)| {
            let bit = |b: u8| r.states.map(|s| s & (1 << b) != 0);
            let (state, health) = match (
                bit(DiscreteKind::PRESENCE_DETECTED),
                bit(DiscreteKind::SUPPLY_FAILURE),
                bit(DiscreteKind::INPUT_LOST),
            ) {
                (None, _, _) => ("UnavailableOffline", None),
                (Some(false), _, _) => ("Absent", None),
                (Some(true), Some(true), _) | (Some(true), _, Some(true)) => {
                    ("Enabled", Some("Critical"))
                }
                (Some(true), _, _) => ("Enabled", Some("OK")),
            };
            let mut status = json!({ "State": state });
            if let Some(h) = health {
                status["Health"] = h.into();
            }
            json!({
                "@odata.id": format!("{uri}#/PowerSupplies/{i}"),
                "MemberId": i.to_string(),
                "Name": r.name,
                "Status": status,
            })
        })
        .collect();
    json!({
        "@odata.type": "#Power.v1_7_0.Power",
        "@odata.id": uri,
        "Id": "Power",
        "Name": "Power",
        "PowerControl": control,
        "Voltages": volts,
        "PowerSupplies": supplies,
    })
}
