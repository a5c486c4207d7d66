//! `/redfish`, the service root, the OData service document, `$metadata` and the CSDL schema
//! files it references, served from the DMTF bundle embedded at build time.

use super::{on_service, Page as Family, GET};
use crate::{reply, Ctx, Route, V1};
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use serde_json::json;

mod embedded {
    include!(concat!(env!("OUT_DIR"), "/schemas.rs"));
}

/// The Redfish specification version the service follows.
pub(crate) const REDFISH_VERSION: &str = "1.11.0";

/// Each schema file the service's resources use, with the versioned namespace they use of it.
pub(crate) const TYPES: &[(&str, &str)] = &[
    ("ServiceRoot", "ServiceRoot.v1_11_0"),
    ("ComputerSystemCollection", ""),
    ("ComputerSystem", "ComputerSystem.v1_13_0"),
    ("ManagerCollection", ""),
    ("Manager", "Manager.v1_10_0"),
    ("ChassisCollection", ""),
    ("Chassis", "Chassis.v1_14_0"),
    ("Thermal", "Thermal.v1_7_0"),
    ("Power", "Power.v1_7_0"),
    ("EthernetInterfaceCollection", ""),
    ("EthernetInterface", "EthernetInterface.v1_6_0"),
    ("LogServiceCollection", ""),
    ("LogService", "LogService.v1_2_0"),
    ("LogEntryCollection", ""),
    ("LogEntry", "LogEntry.v1_8_0"),
    ("SessionService", "SessionService.v1_1_8"),
    ("SessionCollection", ""),
    ("Session", "Session.v1_3_0"),
    ("AccountService", "AccountService.v1_10_0"),
    ("ManagerAccountCollection", ""),
    ("ManagerAccount", "ManagerAccount.v1_8_0"),
    ("RoleCollection", ""),
    ("Role", "Role.v1_3_1"),
    ("ActionInfo", "ActionInfo.v1_1_2"),
    ("Message", "Message.v1_1_1"),
];

/// What this family serves.
pub(crate) enum Page {
    Redfish,
    Root,
    OData,
    Metadata,
    Schema(String),
}

/// The routes of this family (on the whole path).
pub(crate) fn route(path: &str) -> Option<Route> {
    let page = |p| Family::Root(p);
    match path {
        "/redfish" => on_service("/redfish", GET, true, page(Page::Redfish)),
        V1 => on_service("/redfish/v1", GET, true, page(Page::Root)),
        "/redfish/v1/odata" => on_service("/redfish/v1/odata", GET, true, page(Page::OData)),
        "/redfish/v1/$metadata" => {
            on_service("/redfish/v1/$metadata", GET, true, page(Page::Metadata))
        }
        _ => {
            let file = path.strip_prefix("/redfish/v1/Schemas/")?;
            if file.contains('/') {
                return None;
            }
            on_service(
                "/redfish/v1/Schemas/{file}",
                GET,
                true,
                page(Page::Schema(file.to_string())),
            )
        }
    }
}

/// Serves this family's pages.
pub(crate) fn serve(ctx: &Ctx<'_>, page: Page) -> Response {
    match page {
        Page::Redfish => reply::json_response(StatusCode::OK, &json!({ "v1": "/redfish/v1/" })),
        Page::Root => reply::resource(&ctx.headers, root(ctx)),
        Page::OData => reply::json_response(StatusCode::OK, &odata()),
        Page::Metadata => xml(metadata()),
        Page::Schema(file) => match embedded::SCHEMAS.iter().find(|(n, _)| *n == file) {
            Some((_, bytes)) => xml(bytes.to_vec()),
            None => reply::not_found(&ctx.path),
        },
    }
}

fn xml(body: impl Into<axum::body::Body>) -> Response {
    let mut r = (StatusCode::OK, body.into()).into_response();
    reply::set(&mut r, header::CONTENT_TYPE, "application/xml");
    r
}

fn root(ctx: &Ctx<'_>) -> serde_json::Value {
    json!({
        "@odata.type": "#ServiceRoot.v1_11_0.ServiceRoot",
        "@odata.id": "/redfish/v1/",
        "Id": "RootService",
        "Name": "Root Service",
        "RedfishVersion": REDFISH_VERSION,
        "UUID": crate::uuid_string(&ctx.svc.settings.uuid),
        "Product": "ipmi-to-metal",
        "Systems": { "@odata.id": "/redfish/v1/Systems" },
        "Managers": { "@odata.id": "/redfish/v1/Managers" },
        "Chassis": { "@odata.id": "/redfish/v1/Chassis" },
        "SessionService": { "@odata.id": "/redfish/v1/SessionService" },
        "AccountService": { "@odata.id": "/redfish/v1/AccountService" },
        "Links": { "Sessions": { "@odata.id": "/redfish/v1/SessionService/Sessions" } },
        "ProtocolFeaturesSupported": {
            "ExcerptQuery": false,
            "ExpandQuery": {
                "ExpandAll": true,
                "Levels": true,
                "Links": true,
                "NoLinks": true,
                "MaxLevels": crate::MAX_EXPAND_LEVELS,
            },
            "FilterQuery": false,
            "OnlyMemberQuery": false,
            "SelectQuery": false,
        },
    })
}

fn odata() -> serde_json::Value {
    let singletons = [
        ("Service", "/redfish/v1/"),
        ("Systems", "/redfish/v1/Systems"),
        ("Managers", "/redfish/v1/Managers"),
        ("Chassis", "/redfish/v1/Chassis"),
        ("SessionService", "/redfish/v1/SessionService"),
        ("AccountService", "/redfish/v1/AccountService"),
    ];
    json!({
        "@odata.context": "/redfish/v1/$metadata",
        "value": singletons.iter().map(|(n, u)| json!({ "name": n, "kind": "Singleton", "url": u })).collect::<Vec<_>>(),
    })
}

/// The `$metadata` document: a reference to each schema file used, with its namespaces.
fn metadata() -> String {
    let mut out = String::from(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<edmx:Edmx xmlns:edmx=\"http://docs.oasis-open.org/odata/ns/edmx\" Version=\"4.0\">\n",
    );
    for (file, versioned) in TYPES {
        out.push_str(&format!(
            "  <edmx:Reference Uri=\"/redfish/v1/Schemas/{file}_v1.xml\">\n    <edmx:Include Namespace=\"{file}\"/>\n"
        ));
        if !versioned.is_empty() {
            out.push_str(&format!("    <edmx:Include Namespace=\"{versioned}\"/>\n"));
        }
        out.push_str("  </edmx:Reference>\n");
    }
    out.push_str("  <edmx:Reference Uri=\"/redfish/v1/Schemas/RedfishExtensions_v1.xml\">\n    <edmx:Include Namespace=\"RedfishExtensions.v1_0_0\" Alias=\"Redfish\"/>\n  </edmx:Reference>\n");
    out.push_str("  <edmx:DataServices>\n    <Schema xmlns=\"http://docs.oasis-open.org/odata/ns/edm\" Namespace=\"Service\">\n      <EntityContainer Name=\"Service\" Extends=\"ServiceRoot.v1_0_0.ServiceContainer\"/>\n    </Schema>\n  </edmx:DataServices>\n</edmx:Edmx>\n");
    out
}

#[cfg(test)]
mod tests {
    #[test]
    fn every_schema_metadata_references_is_embedded() {
        for (file, _) in super::TYPES {
            let name = format!("{file}_v1.xml");
            assert!(
                super::embedded::SCHEMAS.iter().any(|(n, _)| *n == name),
                "{name} not embedded"
            );
        }
    }
}
