//! What several resource families do alike: an operation of the model within the request
//! deadline, the identify light from a PATCH body (a System's and a Chassis' alike), the answer
//! to a property that cannot be written.

use crate::reply;
use axum::http::StatusCode;
use axum::response::Response;
use ipmi_bmc::Bmc;
use serde_json::Value;

/// Runs an operation of the model within the request deadline the IPMI front-end has too.
pub(crate) async fn deadline(
    op: impl std::future::Future<Output = Result<(), ipmi_bmc::Refusal>>,
) -> Result<(), ipmi_bmc::Refusal> {
    match tokio::time::timeout(REQUEST_DEADLINE, op).await {
        Ok(r) => r,
        Err(_) => Err((
            ipmi_proto::types::CompletionCode::TIMEOUT,
            "no answer from the backend in time (the action may still be carried out)".into(),
        )),
    }
}

/// How long an action may take before the client is told it timed out.
const REQUEST_DEADLINE: std::time::Duration = std::time::Duration::from_secs(30);

/// 400 for a property the resource does not have or that cannot be written.
pub(crate) fn unknown_property(key: &str) -> Response {
    reply::error(
        StatusCode::BAD_REQUEST,
        "PropertyNotWritable",
        format!("The property {key} is a read only property and cannot be assigned a value."),
        &[key],
    )
}

/// Applies `LocationIndicatorActive` or `IndicatorLED` of a PATCH body, if given, as Chassis
/// Identify does (on until turned off, or off).
pub(crate) async fn set_indicator(
    bmc: &Bmc,
    body: &serde_json::Map<String, Value>,
    asker: &ipmi_bmc::Asker,
    command: &'static str,
) -> Option<Response> {
    let on = match (
        body.get("LocationIndicatorActive"),
        body.get("IndicatorLED"),
    ) {
        (Some(Value::Bool(b)), _) => *b,
        (Some(v), _) => {
            return Some(reply::not_in_list(
                "LocationIndicatorActive",
                &v.to_string(),
            ))
        }
        (None, Some(Value::String(s))) if s == "Lit" || s == "Blinking" => true,
        (None, Some(Value::String(s))) if s == "Off" => false,
        (None, Some(v)) => return Some(reply::not_in_list("IndicatorLED", &v.to_string())),
        (None, None) => return None,
    };
    deadline(bmc.set_identify_as(on, asker, command))
        .await
        .err()
        .map(|(cc, why)| reply::model_failed(cc, &why))
}
