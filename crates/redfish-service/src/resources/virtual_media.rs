//! `VirtualMedia`: the slots the BMC model offers ([`ipmi_bmc::Bmc::media_slots`]) under each
//! Manager (`/redfish/v1/Managers/{id}/VirtualMedia/{Cd,UsbStick}`) and, the same resources,
//! under each System (sushy and Metal3 look in both places): `Image`, `Inserted`,
//! `WriteProtected`, `ConnectedVia`, `TransferProtocolType`; the `InsertMedia` and `EjectMedia`
//! actions and a PATCH of `Image`/`Inserted`, carried out by the model's media methods (audited
//! as Redfish requests, recorded in the SEL). A backend without media has no members.

use super::{asker, json_object, on_bmc, precondition, Page as Family, GET, GET_PATCH, POST};
use crate::roles::Needs;
use crate::{reply, Ctx, Route};
use axum::http::{HeaderMap, Method, StatusCode};
use axum::response::{IntoResponse, Response};
use ipmi_bmc::{Bmc, MediaError, MediaInsert, MediaSlot, TransferProtocol};
use serde_json::{json, Map, Value};

/// What this family serves.
pub(crate) enum Page {
    Collection(Parent),
    Slot(Parent, MediaSlot),
    Insert(Parent, MediaSlot),
    Eject(Parent, MediaSlot),
}

/// Which resource the collection hangs under.
#[derive(Clone, Copy)]
pub(crate) enum Parent {
    Manager,
    System,
}

/// The route patterns: under a Manager, then under a System; each the collection, a slot, its
/// InsertMedia and its EjectMedia.
const PATTERNS: [[&str; 4]; 2] = [
    [
        "/redfish/v1/Managers/{id}/VirtualMedia",
        "/redfish/v1/Managers/{id}/VirtualMedia/{slot}",
        "/redfish/v1/Managers/{id}/VirtualMedia/{slot}/Actions/VirtualMedia.InsertMedia",
        "/redfish/v1/Managers/{id}/VirtualMedia/{slot}/Actions/VirtualMedia.EjectMedia",
    ],
    [
        "/redfish/v1/Systems/{id}/VirtualMedia",
        "/redfish/v1/Systems/{id}/VirtualMedia/{slot}",
        "/redfish/v1/Systems/{id}/VirtualMedia/{slot}/Actions/VirtualMedia.InsertMedia",
        "/redfish/v1/Systems/{id}/VirtualMedia/{slot}/Actions/VirtualMedia.EjectMedia",
    ],
];

/// The routes of this family.
pub(crate) fn route(segs: &[&str]) -> Option<Route> {
    let (parent, id, rest) = match segs {
        ["Managers", id, "VirtualMedia", rest @ ..] => (Parent::Manager, id, rest),
        ["Systems", id, "VirtualMedia", rest @ ..] => (Parent::System, id, rest),
        _ => return None,
    };
    let slot = |s: &str| MediaSlot::from_id(s);
    let (which, allow, page) = match rest {
        [] => (0, GET, Page::Collection(parent)),
        [s] => (1, GET_PATCH, Page::Slot(parent, slot(s)?)),
        [s, "Actions", "VirtualMedia.InsertMedia"] => (2, POST, Page::Insert(parent, slot(s)?)),
        [s, "Actions", "VirtualMedia.EjectMedia"] => (3, POST, Page::Eject(parent, slot(s)?)),
        _ => return None,
    };
    on_bmc(
        PATTERNS[parent as usize][which],
        allow,
        id,
        Family::Media(page),
    )
}

/// The collection's URI of BMC `name` under `parent`.
pub(crate) fn collection_uri(parent: Parent, name: &str) -> String {
    match parent {
        Parent::Manager => format!("/redfish/v1/Managers/{name}/VirtualMedia"),
        Parent::System => format!("/redfish/v1/Systems/{name}/VirtualMedia"),
    }
}

/// Serves this family's pages.
pub(crate) async fn serve(ctx: &Ctx<'_>, name: &str, page: Page) -> Response {
    let bmc = match super::model(ctx, name) {
        Ok(b) => b,
        Err(r) => return r,
    };
    let (parent, slot) = match page {
        Page::Collection(parent) => {
            let base = collection_uri(parent, name);
            let uris = bmc
                .media_slots()
                .into_iter()
                .map(|s| format!("{base}/{}", s.id()))
                .collect();
            let body = reply::collection(
                "#VirtualMediaCollection.VirtualMediaCollection",
                &base,
                "Virtual Media Collection",
                uris,
            );
            return reply::resource(&ctx.headers, body);
        }
        Page::Slot(p, s) | Page::Insert(p, s) | Page::Eject(p, s) => (p, s),
    };
    let base = collection_uri(parent, name);
    let Some(current) = resource(&base, &bmc, slot) else {
        return reply::not_found(&ctx.path);
    };
    let patching = ctx.method == Method::PATCH;
    if let Page::Slot(..) = page {
        if !patching {
            return reply::resource(&ctx.headers, current);
        }
    }
    if !ctx.who().may(name, Needs::ConfigureComponents) {
        return reply::forbidden();
    }
    let body = match json_object(ctx) {
        Ok(b) => b,
        Err(r) => return r,
    };
    let asker = asker(ctx, name);
    let done = match page {
        Page::Slot(..) => {
            if let Some(r) = precondition(ctx, &current) {
                return r;
            }
            match patch_change(&body, &current) {
                Ok(Change::Insert(m)) => bmc.insert_media(slot, m, &asker).await,
                Ok(Change::Eject) => bmc.eject_media(slot, &asker).await,
                Ok(Change::Nothing) => Ok(()),
                Err(r) => return r,
            }
        }
        Page::Insert(..) => match media_of(&body, "VirtualMedia.InsertMedia") {
            Ok(m) => bmc.insert_media(slot, m, &asker).await,
            Err(r) => return r,
        },
        Page::Eject(..) => bmc.eject_media(slot, &asker).await,
        Page::Collection(_) => unreachable!("answered above"),
    };
    match done {
        Ok(()) if patching => match resource(&base, &bmc, slot) {
            Some(now) => reply::resource(&HeaderMap::new(), now),
            None => reply::not_found(&ctx.path),
        },
        Ok(()) => StatusCode::NO_CONTENT.into_response(),
        Err(e) => failed(ctx, e),
    }
}

/// The answer to a media method's error.
fn failed(ctx: &Ctx<'_>, e: MediaError) -> Response {
    match e {
        MediaError::NotOffered => reply::not_found(&ctx.path),
        MediaError::Invalid(why) => reply::error(
            StatusCode::BAD_REQUEST,
            "ActionParameterValueFormatError",
            why.clone(),
            &[&why],
        ),
        MediaError::Failed { ccode, error } => reply::model_failed(ccode, &error),
    }
}

/// One slot as a VirtualMedia resource (`None`: not offered).
fn resource(base: &str, bmc: &Bmc, slot: MediaSlot) -> Option<Value> {
    let m = bmc.media_status(slot)?;
    let uri = format!("{base}/{}", slot.id());
    let image_name = m
        .image
        .as_deref()
        .and_then(|i| i.rsplit('/').next())
        .map(str::to_string);
    let (types, name): (&[&str], _) = match slot {
        MediaSlot::Cd => (&["CD", "DVD"], "Virtual CD"),
        MediaSlot::UsbStick => (&["USBStick"], "Virtual USB stick"),
    };
    Some(json!({
        "@odata.type": "#VirtualMedia.v1_6_0.VirtualMedia",
        "@odata.id": uri,
        "Id": slot.id(),
        "Name": name,
        "MediaTypes": types,
        "Image": m.image,
        "ImageName": image_name,
        "Inserted": m.inserted,
        "WriteProtected": m.write_protected,
        "ConnectedVia": m.connected_via(),
        "TransferProtocolType": m.protocol.map(TransferProtocol::name),
        "TransferMethod": "Stream",
        "Status": { "State": "Enabled", "Health": "OK" },
        "Actions": {
            "#VirtualMedia.InsertMedia": {
                "target": format!("{uri}/Actions/VirtualMedia.InsertMedia"),
                "Inserted@Redfish.AllowableValues": [true],
                "WriteProtected@Redfish.AllowableValues": [true, false],
                "TransferProtocolType@Redfish.AllowableValues": ["HTTP", "HTTPS"],
                "TransferMethod@Redfish.AllowableValues": ["Stream"],
            },
            "#VirtualMedia.EjectMedia": {
                "target": format!("{uri}/Actions/VirtualMedia.EjectMedia"),
            },
        },
    }))
}

/// The parameters InsertMedia takes (a PATCH too).
const INSERT_KEYS: &[&str] = &[
    "Image",
    "Inserted",
    "WriteProtected",
    "TransferProtocolType",
    "TransferMethod",
];

/// The media to insert from an InsertMedia (or PATCH) body, or the 400 it earns.
fn media_of(body: &Map<String, Value>, action: &str) -> Result<MediaInsert, Response> {
    let Some(image) = body.get("Image").and_then(Value::as_str) else {
        return Err(reply::error(
            StatusCode::BAD_REQUEST,
            "ActionParameterMissing",
            format!("The action {action} requires the parameter Image to be present in the request body."),
            &[action, "Image"],
        ));
    };
    if let Some(key) = body.keys().find(|k| !INSERT_KEYS.contains(&k.as_str())) {
        return Err(reply::error(
            StatusCode::BAD_REQUEST,
            "ActionParameterNotSupported",
            format!("The parameter {key} for the action {action} is not supported on the target resource."),
            &[key, action],
        ));
    }
    if let Some(v) = body.get("Inserted").filter(|v| **v != Value::Bool(true)) {
        return Err(reply::not_in_list("Inserted", &v.to_string()));
    }
    if let Some(v) = body.get("TransferMethod").filter(|v| *v != "Stream") {
        return Err(reply::not_in_list("TransferMethod", &v.to_string()));
    }
    let write_protected = match body.get("WriteProtected") {
        None => true,
        Some(Value::Bool(b)) => *b,
        Some(v) => return Err(reply::not_in_list("WriteProtected", &v.to_string())),
    };
    let protocol = match body.get("TransferProtocolType") {
        None => TransferProtocol::of_url(image),
        Some(v) if v == "HTTP" => Some(TransferProtocol::Http),
        Some(v) if v == "HTTPS" => Some(TransferProtocol::Https),
        Some(v) => return Err(reply::not_in_list("TransferProtocolType", &v.to_string())),
    };
    let Some(protocol) = protocol else {
        return Err(reply::not_in_list("Image", image));
    };
    Ok(MediaInsert {
        image: image.to_string(),
        write_protected,
        protocol,
    })
}

/// What a PATCH asks for.
enum Change {
    Insert(MediaInsert),
    Eject,
    Nothing,
}

/// A PATCH of `Image` (a URL inserts it, `null` or `""` ejects), `Inserted` (`false` ejects;
/// `true` inserts the `Image` given or shown) and `WriteProtected` with an insert.
fn patch_change(body: &Map<String, Value>, current: &Value) -> Result<Change, Response> {
    if let Some(key) = body.keys().find(|k| !INSERT_KEYS.contains(&k.as_str())) {
        return Err(super::actions::unknown_property(key));
    }
    let ejects = matches!(body.get("Image"), Some(Value::Null))
        || body.get("Image").is_some_and(|v| v == "")
        || body.get("Inserted") == Some(&Value::Bool(false));
    if ejects {
        return Ok(if current["Inserted"] == true {
            Change::Eject
        } else {
            Change::Nothing
        });
    }
    if body.is_empty() {
        return Ok(Change::Nothing);
    }
    let mut wanted = body.clone();
    if !wanted.contains_key("Image") {
        wanted.insert("Image".into(), current["Image"].clone());
    }
    media_of(&wanted, "PATCH").map(Change::Insert)
}
