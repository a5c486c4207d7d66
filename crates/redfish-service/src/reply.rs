//! The answers of the service: resources as JSON with their ETag, and errors in Redfish's form
//! (`error.@Message.ExtendedInfo`, messages of DMTF's Base registry).

use axum::http::{header, HeaderMap, HeaderValue, Method, StatusCode};
use axum::response::{IntoResponse, Response};
use serde_json::{json, Value};
use std::hash::Hasher;

/// The Base message registry the errors cite.
const BASE: &str = "Base.1.18";

/// A resource's ETag: a weak validator over its JSON without the `@odata.etag` property.
pub fn etag_of(body: &Value) -> String {
    let mut h = std::collections::hash_map::DefaultHasher::new();
    // Written into room for a usual resource (a ComputerSystem is 1.3 KB) rather than a String
    // grown from nothing (with the same for the body, 5,000 of a GET's 131,000 instructions).
    // Hashed as the whole text's `str` was (its bytes, then 0xFF): the ETags are as before.
    let mut text = Vec::with_capacity(2048);
    if serde_json::to_writer(&mut text, body).is_err() {
        text.clear();
    }
    h.write(&text);
    h.write_u8(0xff);
    format!("W/\"{:016x}\"", h.finish())
}

/// Whether an `If-Match` or `If-None-Match` header lists `etag` (or `*`).
pub fn lists(headers: &HeaderMap, name: header::HeaderName, etag: &str) -> Option<bool> {
    let v = headers.get(name)?.to_str().ok()?;
    let strong = etag.trim_start_matches("W/");
    Some(
        v.split(',')
            .map(str::trim)
            .any(|t| t == "*" || t == etag || t.trim_start_matches("W/") == strong),
    )
}

/// A resource answered to a GET (or HEAD): its JSON with `@odata.etag`, the `ETag` header, and
/// 304 if `If-None-Match` lists it.
pub fn resource(req_headers: &HeaderMap, mut body: Value) -> Response {
    let etag = etag_of(&body);
    if lists(req_headers, header::IF_NONE_MATCH, &etag) == Some(true) {
        let mut r = StatusCode::NOT_MODIFIED.into_response();
        set(&mut r, header::ETAG, &etag);
        return r;
    }
    if let Some(obj) = body.as_object_mut() {
        obj.insert("@odata.etag".into(), Value::String(etag.clone()));
    }
    let link = body
        .get("@odata.type")
        .and_then(Value::as_str)
        .and_then(describedby);
    let mut r = json_response(StatusCode::OK, &body);
    set(&mut r, header::ETAG, &etag);
    if let Some(link) = link {
        set(&mut r, header::LINK, &link);
    }
    r
}

/// `Link: <schema>; rel=describedby` for an `@odata.type` (`#ComputerSystem.v1_20_0.ComputerSystem`).
fn describedby(odata_type: &str) -> Option<String> {
    let t = odata_type.strip_prefix('#')?;
    let (ns, _) = t.rsplit_once('.')?;
    Some(format!(
        "<http://redfish.dmtf.org/schemas/v1/{ns}.json>; rel=describedby"
    ))
}

/// JSON with its content type.
pub fn json_response(status: StatusCode, body: &Value) -> Response {
    // Room for a usual resource at once (a ComputerSystem is 1.3 KB), not grown from 128 bytes.
    let mut bytes = Vec::with_capacity(2048);
    if serde_json::to_writer(&mut bytes, body).is_err() {
        bytes.clear();
    }
    let mut r = (status, bytes).into_response();
    set(
        &mut r,
        header::CONTENT_TYPE,
        "application/json;charset=utf-8",
    );
    r
}

/// Sets a header whose value is known to be valid.
pub fn set(r: &mut Response, name: header::HeaderName, value: &str) {
    if let Ok(v) = HeaderValue::from_str(value) {
        r.headers_mut().insert(name, v);
    }
}

/// An error: `status` with one Base message (`key`, its text, its arguments).
pub fn error(status: StatusCode, key: &str, message: impl Into<String>, args: &[&str]) -> Response {
    let message = message.into();
    let resolution = resolution(key);
    let body = json!({
        "error": {
            "code": format!("{BASE}.{key}"),
            "message": message,
            "@Message.ExtendedInfo": [{
                "@odata.type": "#Message.v1_1_1.Message",
                "MessageId": format!("{BASE}.{key}"),
                "Message": message,
                "MessageArgs": args,
                "Severity": if status.is_server_error() || status.is_client_error() { "Critical" } else { "OK" },
                "MessageSeverity": if status.is_server_error() || status.is_client_error() { "Critical" } else { "OK" },
                "Resolution": resolution,
            }]
        }
    });
    json_response(status, &body)
}

/// The Base registry's resolution for the messages cited.
fn resolution(key: &str) -> &'static str {
    match key {
        "ResourceNotFound" => "Provide a valid resource identifier and resubmit the request.",
        "InsufficientPrivilege" => "Either abandon the operation or change the associated access rights and resubmit the request if the operation failed.",
        "NoValidSession" => "Establish a session before attempting any operations.",
        "PropertyValueNotInList" | "ActionParameterValueNotInList" => "Choose a value from the enumeration list that the implementation can support and resubmit the request if the operation failed.",
        "PreconditionFailed" => "Try the operation again using the appropriate ETag.",
        "ServiceTemporarilyUnavailable" => "Wait for the indicated retry duration and retry the operation.",
        "OperationNotAllowed" | "ActionNotSupported" => "Remove the action or property from the request body and resubmit the request if the operation failed.",
        "SessionLimitExceeded" => "Reduce the number of other sessions before trying to establish the session or increase the limit of simultaneous sessions, if supported.",
        _ => "None.",
    }
}

/// 404 for a URI that names nothing.
pub fn not_found(uri: &str) -> Response {
    error(
        StatusCode::NOT_FOUND,
        "ResourceNotFound",
        format!("The requested resource of type Resource named '{uri}' was not found."),
        &["Resource", uri],
    )
}

/// 405 with `Allow` for a method the resource does not take.
pub fn method_not_allowed(method: &Method, allow: &[Method]) -> Response {
    let mut r = error(
        StatusCode::METHOD_NOT_ALLOWED,
        "OperationNotAllowed",
        format!("The HTTP method {method} is not allowed on this resource."),
        &[],
    );
    set(&mut r, header::ALLOW, &allow_value(allow));
    r
}

/// The value of an `Allow` header.
pub fn allow_value(allow: &[Method]) -> String {
    allow
        .iter()
        .map(Method::as_str)
        .collect::<Vec<_>>()
        .join(", ")
}

/// 401 with `WWW-Authenticate` (no credentials, wrong ones, or locked out).
pub fn unauthorized() -> Response {
    let mut r = error(
        StatusCode::UNAUTHORIZED,
        "NoValidSession",
        "There is no valid session established with the implementation.",
        &[],
    );
    set(
        &mut r,
        header::WWW_AUTHENTICATE,
        "Basic realm=\"Redfish\", charset=\"UTF-8\"",
    );
    r
}

/// 403: authenticated, but the role lacks the privilege.
pub fn forbidden() -> Response {
    error(
        StatusCode::FORBIDDEN,
        "InsufficientPrivilege",
        "There are insufficient privileges for the account or credentials associated with the current session to perform the requested operation.",
        &[],
    )
}

/// 400 for a body that is not the JSON object expected.
pub fn malformed(why: &str) -> Response {
    error(
        StatusCode::BAD_REQUEST,
        "MalformedJSON",
        format!("The request body submitted was malformed JSON and could not be parsed by the receiving service: {why}"),
        &[],
    )
}

/// 400 for a property value outside the allowable values.
pub fn not_in_list(property: &str, value: &str) -> Response {
    error(
        StatusCode::BAD_REQUEST,
        "PropertyValueNotInList",
        format!("The value '{value}' for the property {property} is not in the list of acceptable values."),
        &[value, property],
    )
}

/// The answer to a failed operation of the model: 503 with `Retry-After` when the backend is
/// busy or rate limited, 501 where it cannot do it, 400 where the machine's state forbids it,
/// 504 on a timeout, 502 otherwise.
pub fn model_failed(cc: ipmi_proto::types::CompletionCode, why: &str) -> Response {
    use ipmi_proto::types::CompletionCode as C;
    let (status, key) = match cc {
        C::NODE_BUSY => (
            StatusCode::SERVICE_UNAVAILABLE,
            "ServiceTemporarilyUnavailable",
        ),
        C::INVALID_COMMAND => (StatusCode::NOT_IMPLEMENTED, "ActionNotSupported"),
        C::INVALID_STATE => (StatusCode::BAD_REQUEST, "OperationFailed"),
        C::TIMEOUT => (StatusCode::GATEWAY_TIMEOUT, "OperationTimeout"),
        _ => (StatusCode::BAD_GATEWAY, "OperationFailed"),
    };
    let mut r = error(status, key, format!("The operation failed: {why}"), &[]);
    if status == StatusCode::SERVICE_UNAVAILABLE {
        set(&mut r, header::RETRY_AFTER, "5");
    }
    r
}

/// `@odata.id` references for a list of URIs.
pub fn members(uris: impl IntoIterator<Item = String>) -> Value {
    Value::Array(
        uris.into_iter()
            .map(|u| json!({ "@odata.id": u }))
            .collect(),
    )
}

/// A collection resource.
pub fn collection(odata_type: &str, id: &str, name: &str, uris: Vec<String>) -> Value {
    json!({
        "@odata.type": odata_type,
        "@odata.id": id,
        "Name": name,
        "Members@odata.count": uris.len(),
        "Members": members(uris),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::hash::Hash;

    /// The ETag hashed while the JSON is written is the one of the whole text as a `str` (what
    /// it was when the text was gathered first): clients holding one see no change.
    #[test]
    fn the_etag_is_the_hash_of_the_whole_json_text() {
        let body = json!({
            "@odata.id": "/redfish/v1/Systems/node-1",
            "Name": "node-1",
            "Boot": { "BootSourceOverrideTarget": "Pxe", "List": ["a".repeat(5000), "b".to_string()] },
            "PowerState": "On",
        });
        let mut h = std::collections::hash_map::DefaultHasher::new();
        serde_json::to_string(&body).unwrap().hash(&mut h);
        assert_eq!(etag_of(&body), format!("W/\"{:016x}\"", h.finish()));
        let other = json!({ "PowerState": "Off" });
        assert_ne!(etag_of(&body), etag_of(&other));
    }
}
