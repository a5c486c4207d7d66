//! `Managers`: one per BMC (the BMC itself): its type, firmware version, the system and chassis
//! it manages, and its LAN settings as an EthernetInterface. Its `LogServices` are in
//! [`super::log_service`].

use super::{on_bmc, on_service, Page as Family, GET};
use crate::{reply, Ctx, Route};
use axum::response::Response;
use ipmi_bmc::Bmc;
use serde_json::{json, Value};

/// The ID of the BMC's one EthernetInterface.
const NIC: &str = "1";

/// What this family serves.
pub(crate) enum Page {
    Collection,
    Manager,
    Interfaces,
    Interface,
}

/// The routes of this family.
pub(crate) fn route(segs: &[&str]) -> Option<Route> {
    let page = Family::Managers;
    match segs {
        ["Managers"] => on_service("/redfish/v1/Managers", GET, false, page(Page::Collection)),
        ["Managers", id] => on_bmc("/redfish/v1/Managers/{id}", GET, id, page(Page::Manager)),
        ["Managers", id, "EthernetInterfaces"] => on_bmc(
            "/redfish/v1/Managers/{id}/EthernetInterfaces",
            GET,
            id,
            page(Page::Interfaces),
        ),
        ["Managers", id, "EthernetInterfaces", NIC] => on_bmc(
            "/redfish/v1/Managers/{id}/EthernetInterfaces/{nic}",
            GET,
            id,
            page(Page::Interface),
        ),
        _ => None,
    }
}

/// Serves this family's pages.
pub(crate) async fn serve(ctx: &Ctx<'_>, name: &str, page: Page) -> Response {
    if let Page::Collection = page {
        return super::bmc_collection(ctx, "Managers", "ManagerCollection", "Manager Collection");
    }
    let bmc = match super::model(ctx, name) {
        Ok(b) => b,
        Err(r) => return r,
    };
    let uri = format!("/redfish/v1/Managers/{name}");
    let body = match page {
        Page::Collection => unreachable!("answered above"),
        Page::Manager => {
            let mut m = manager(name, &bmc);
            if !bmc.media_slots().is_empty() {
                let media = super::virtual_media::collection_uri(
                    super::virtual_media::Parent::Manager,
                    name,
                );
                m["VirtualMedia"] = json!({ "@odata.id": media });
            }
            m
        }
        Page::Interfaces => reply::collection(
            "#EthernetInterfaceCollection.EthernetInterfaceCollection",
            &format!("{uri}/EthernetInterfaces"),
            "Ethernet Interface Collection",
            vec![format!("{uri}/EthernetInterfaces/{NIC}")],
        ),
        Page::Interface => interface(&uri, &bmc),
    };
    reply::resource(&ctx.headers, body)
}

fn manager(name: &str, bmc: &Bmc) -> Value {
    let uri = format!("/redfish/v1/Managers/{name}");
    json!({
        "@odata.type": "#Manager.v1_10_0.Manager",
        "@odata.id": uri,
        "Id": name,
        "Name": format!("BMC of {name}"),
        "ManagerType": "BMC",
        "FirmwareVersion": env!("CARGO_PKG_VERSION"),
        "Model": "ipmi-to-metal",
        "UUID": crate::uuid_string(&bmc.settings().guid),
        "PowerState": "On",
        "Status": { "State": "Enabled", "Health": "OK" },
        "EthernetInterfaces": { "@odata.id": format!("{uri}/EthernetInterfaces") },
        "LogServices": { "@odata.id": format!("{uri}/LogServices") },
        "Links": {
            "ManagerForServers": [{ "@odata.id": format!("/redfish/v1/Systems/{name}") }],
            "ManagerForChassis": [{ "@odata.id": format!("/redfish/v1/Chassis/{name}") }],
        },
    })
}

fn interface(manager_uri: &str, bmc: &Bmc) -> Value {
    let lan = &bmc.settings().lan;
    let m = lan.mac;
    let mac = format!(
        "{:02X}:{:02X}:{:02X}:{:02X}:{:02X}:{:02X}",
        m[0], m[1], m[2], m[3], m[4], m[5]
    );
    json!({
        "@odata.type": "#EthernetInterface.v1_6_0.EthernetInterface",
        "@odata.id": format!("{manager_uri}/EthernetInterfaces/{NIC}"),
        "Id": NIC,
        "Name": "Manager Ethernet Interface",
        "MACAddress": mac,
        "PermanentMACAddress": mac,
        "InterfaceEnabled": true,
        "Status": { "State": "Enabled", "Health": "OK" },
        "DHCPv4": { "DHCPEnabled": lan.dhcp },
        "IPv4Addresses": [{
            "Address": lan.ip.to_string(),
            "SubnetMask": lan.netmask.to_string(),
            "Gateway": lan.gateway.to_string(),
            "AddressOrigin": if lan.dhcp { "DHCP" } else { "Static" },
        }],
    })
}
