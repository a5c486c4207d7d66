//! The manager's virtual CD, as BMCs have long kept it (`Managers/bmc/VirtualMedia/Cd`, found
//! by clients through the system's `Links.ManagedBy`): `InsertMedia` (an `Image` string
//! required; `Inserted`, `WriteProtected`, `TransferProtocolType` HTTP or HTTPS optional) and
//! `EjectMedia` actions, 204 each. A boot with the override target `Cd` and a medium in counts
//! as a boot from it ([`crate::SystemView::cd_boots`]).

use crate::answer::{collection, error, ok, status, Answer};
use crate::logs::MANAGER;
use crate::World;
use axum::http::{Method, StatusCode};
use serde_json::{json, Value};

/// The collection under the manager (its `VirtualMedia` link, which `logs` serves).
pub(crate) const COLLECTION: &str = "/redfish/v1/Managers/bmc/VirtualMedia";
const CD: &str = "/redfish/v1/Managers/bmc/VirtualMedia/Cd";

/// The CD's state.
#[derive(Debug, Default)]
pub(crate) struct Media {
    pub image: Option<String>,
    pub inserted: bool,
    pub write_protected: bool,
    pub protocol: Option<String>,
}

/// Answers the virtual media paths; `None` for any other.
pub(crate) fn route(
    w: &mut World,
    method: &Method,
    path: &str,
    body: Option<&Value>,
) -> Option<Answer> {
    let get = *method == Method::GET;
    let post = *method == Method::POST;
    Some(match path {
        COLLECTION if get => ok(collection(
            COLLECTION,
            "#VirtualMediaCollection.VirtualMediaCollection",
            vec![CD.into()],
        )),
        CD if get => ok(cd(&w.media)),
        p if post && p == format!("{CD}/Actions/VirtualMedia.InsertMedia") => insert(w, body),
        p if post && p == format!("{CD}/Actions/VirtualMedia.EjectMedia") => {
            if !w.media.inserted {
                return Some(error(
                    StatusCode::BAD_REQUEST,
                    "ActionNotSupported",
                    "no medium inserted",
                ));
            }
            w.media.inserted = false;
            status(StatusCode::NO_CONTENT)
        }
        _ => return None,
    })
}

fn cd(m: &Media) -> Value {
    json!({
        "@odata.id": CD,
        "@odata.type": "#VirtualMedia.v1_6_0.VirtualMedia",
        "Id": "Cd", "Name": "Virtual CD",
        "MediaTypes": ["CD", "DVD"],
        "Image": m.image,
        "Inserted": m.inserted,
        "WriteProtected": m.write_protected,
        "ConnectedVia": if m.inserted { "URI" } else { "NotConnected" },
        "TransferProtocolType": m.protocol,
        "Actions": {
            "#VirtualMedia.InsertMedia": {
                "target": format!("{CD}/Actions/VirtualMedia.InsertMedia"),
                "TransferProtocolType@Redfish.AllowableValues": ["HTTP", "HTTPS"]
            },
            "#VirtualMedia.EjectMedia": {"target": format!("{CD}/Actions/VirtualMedia.EjectMedia")}
        },
        "Links": {"Manager": {"@odata.id": MANAGER}}
    })
}

fn insert(w: &mut World, body: Option<&Value>) -> Answer {
    let body = body.cloned().unwrap_or(Value::Null);
    let Some(image) = body.get("Image").and_then(Value::as_str) else {
        return error(
            StatusCode::BAD_REQUEST,
            "PropertyMissing",
            "Image is required",
        );
    };
    let protocol = match body.get("TransferProtocolType") {
        None => None,
        Some(Value::String(p)) if p == "HTTP" || p == "HTTPS" => Some(p.clone()),
        Some(_) => {
            return error(
                StatusCode::BAD_REQUEST,
                "ActionParameterValueNotInList",
                "TransferProtocolType: HTTP or HTTPS",
            )
        }
    };
    w.media = Media {
        image: Some(image.to_string()),
        inserted: body
            .get("Inserted")
            .and_then(Value::as_bool)
            .unwrap_or(true),
        write_protected: body
            .get("WriteProtected")
            .and_then(Value::as_bool)
            .unwrap_or(true),
        protocol,
    };
    status(StatusCode::NO_CONTENT)
}
