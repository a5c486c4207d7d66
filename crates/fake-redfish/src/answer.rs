//! The fake's answers: a status, a JSON body (a resource, a collection, or a Redfish error of
//! the Base message registry) and extra headers.

use axum::http::{header, StatusCode};
use serde_json::{json, Value};

/// An answer: status, JSON body, extra headers.
pub(crate) struct Answer {
    pub(crate) status: StatusCode,
    pub(crate) body: Option<Value>,
    pub(crate) headers: Vec<(header::HeaderName, String)>,
}

/// 200 with `body`.
pub(crate) fn ok(body: Value) -> Answer {
    Answer {
        status: StatusCode::OK,
        body: Some(body),
        headers: Vec::new(),
    }
}

/// `status` without a body.
pub(crate) fn status(status: StatusCode) -> Answer {
    Answer {
        status,
        body: None,
        headers: Vec::new(),
    }
}

/// A Redfish error body (Base message registry).
pub(crate) fn error(status: StatusCode, id: &str, message: &str) -> Answer {
    Answer {
        status,
        body: Some(json!({"error": {
            "code": format!("Base.1.16.{id}"),
            "message": message,
            "@Message.ExtendedInfo": [{
                "@odata.type": "#Message.v1_1_1.Message",
                "MessageId": format!("Base.1.16.{id}"),
                "Message": message,
                "Severity": "Critical",
            }]
        }})),
        headers: Vec::new(),
    }
}

/// A resource collection of `kind` at `path` with these members.
pub(crate) fn collection(path: &str, kind: &str, members: Vec<String>) -> Value {
    json!({
        "@odata.id": path, "@odata.type": kind, "Name": "Collection",
        "Members@odata.count": members.len(),
        "Members": members.iter().map(|m| json!({"@odata.id": m})).collect::<Vec<_>>()
    })
}
