//! The parts of Redfish resources the backend reads (a ComputerSystem's power state, boot
//! override, identity and Reset action), and how IPMI's verbs and boot devices map onto them.
//! Services differ in what they include, so everything is read leniently from JSON: a property
//! that is missing is `None`, never an error.

use ipmi_bmc::{BootDevice, BootOverride, PowerAction, PowerState};
use serde_json::Value;

/// A ComputerSystem as read.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct System {
    /// Its path (`@odata.id`).
    pub path: String,
    /// The `ETag` header, else the `@odata.etag` property.
    pub etag: Option<String>,
    /// `PowerState`: `On`, `Off`, `PoweringOn`, `PoweringOff`, ...
    pub power_state: Option<String>,
    /// `Boot`.
    pub boot: Boot,
    /// `Actions.#ComputerSystem.Reset`.
    pub reset: Option<ResetAction>,
    /// `Manufacturer`, `Model`, `SerialNumber`, `PartNumber`, `AssetTag`, `UUID`.
    pub identity: Identity,
    /// `Links.Chassis`.
    pub chassis: Vec<String>,
    /// `LogServices`: the system's logs.
    pub log_services: Option<String>,
    /// `Links.ManagedBy`: the managers (BMCs) of the system, whose logs are read where the
    /// system has no SEL.
    pub managers: Vec<String>,
}

/// The boot override of a system.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Boot {
    /// `BootSourceOverrideTarget`.
    pub target: Option<String>,
    /// `BootSourceOverrideEnabled`: `Once`, `Continuous`, `Disabled`.
    pub enabled: Option<String>,
    /// `BootSourceOverrideMode`: `UEFI`, `Legacy`; `None` if the service has no such property.
    pub mode: Option<String>,
    /// `BootSourceOverrideTarget@Redfish.AllowableValues`, if given.
    pub allowed_targets: Option<Vec<String>>,
}

/// The Reset action of a system.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ResetAction {
    /// Where to `POST` it.
    pub target: String,
    /// `ResetType@Redfish.AllowableValues`, if given.
    pub allowed: Option<Vec<String>>,
    /// `@Redfish.ActionInfo`, if given: its `ResetType` parameter lists the allowed values.
    pub action_info: Option<String>,
}

/// Who made the system and which it is.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Identity {
    /// `Manufacturer`.
    pub manufacturer: String,
    /// `Model`.
    pub model: String,
    /// `SerialNumber`.
    pub serial: String,
    /// `PartNumber`.
    pub part_number: String,
    /// `AssetTag`.
    pub asset_tag: String,
    /// `UUID`.
    pub uuid: String,
}

fn text(v: &Value, key: &str) -> Option<String> {
    v.get(key)?.as_str().map(str::to_string)
}

fn texts(v: Option<&Value>) -> Option<Vec<String>> {
    Some(
        v?.as_array()?
            .iter()
            .filter_map(|x| x.as_str().map(str::to_string))
            .collect(),
    )
}

/// The `@odata.id` of each member of a collection (or of a list of links).
pub fn links(v: Option<&Value>) -> Vec<String> {
    v.and_then(Value::as_array)
        .map(|a| {
            a.iter()
                .filter_map(|m| m.get("@odata.id")?.as_str().map(str::to_string))
                .collect()
        })
        .unwrap_or_default()
}

/// The `@odata.id` of a link property (`"Thermal": {"@odata.id": ...}`).
pub fn link(v: &Value, key: &str) -> Option<String> {
    v.get(key)?.get("@odata.id")?.as_str().map(str::to_string)
}

impl System {
    /// A system from its JSON, read at `path` with the `ETag` header `etag`.
    pub fn parse(path: &str, v: &Value, etag: Option<String>) -> System {
        let boot = v.get("Boot").cloned().unwrap_or(Value::Null);
        let reset = v
            .pointer("/Actions/#ComputerSystem.Reset")
            .map(|r| ResetAction {
                target: text(r, "target")
                    .unwrap_or_else(|| format!("{path}/Actions/ComputerSystem.Reset")),
                allowed: texts(r.get("ResetType@Redfish.AllowableValues")),
                action_info: text(r, "@Redfish.ActionInfo"),
            });
        System {
            path: text(v, "@odata.id").unwrap_or_else(|| path.to_string()),
            etag: etag.or_else(|| text(v, "@odata.etag")),
            power_state: text(v, "PowerState"),
            boot: Boot {
                target: text(&boot, "BootSourceOverrideTarget"),
                enabled: text(&boot, "BootSourceOverrideEnabled"),
                mode: text(&boot, "BootSourceOverrideMode"),
                allowed_targets: texts(
                    boot.get("BootSourceOverrideTarget@Redfish.AllowableValues"),
                ),
            },
            reset,
            identity: Identity {
                manufacturer: text(v, "Manufacturer").unwrap_or_default(),
                model: text(v, "Model").unwrap_or_default(),
                serial: text(v, "SerialNumber").unwrap_or_default(),
                part_number: text(v, "PartNumber").unwrap_or_default(),
                asset_tag: text(v, "AssetTag").unwrap_or_default(),
                uuid: text(v, "UUID").unwrap_or_default(),
            },
            chassis: links(v.pointer("/Links/Chassis")),
            log_services: link(v, "LogServices"),
            managers: links(v.pointer("/Links/ManagedBy")),
        }
    }

    /// The power state: `On` and `PoweringOn` (and `Paused`) read as on, `Off` and
    /// `PoweringOff` as off; `None` if the service gives none this backend knows.
    pub fn power(&self) -> Option<PowerState> {
        match self.power_state.as_deref()? {
            "On" | "PoweringOn" | "Paused" => Some(PowerState::On),
            "Off" | "PoweringOff" => Some(PowerState::Off),
            _ => None,
        }
    }

    /// The boot override the service holds: `None` when disabled or with target `None`.
    /// `efi_if_unknown` is used for a service that does not report the mode.
    pub fn boot_override(&self, efi_if_unknown: bool) -> Option<BootOverride> {
        let persistent = match self.boot.enabled.as_deref()? {
            "Once" => false,
            "Continuous" => true,
            _ => return None,
        };
        let device = device_of(self.boot.target.as_deref()?)?;
        let efi = match self.boot.mode.as_deref() {
            Some("UEFI") => true,
            Some("Legacy") => false,
            _ => efi_if_unknown,
        };
        Some(BootOverride {
            device,
            persistent,
            efi,
        })
    }
}

/// The ResetType values in `ActionInfo` JSON (the `ResetType` parameter's `AllowableValues`).
pub fn action_info_reset_types(v: &Value) -> Option<Vec<String>> {
    v.get("Parameters")?
        .as_array()?
        .iter()
        .find(|p| p.get("Name").and_then(Value::as_str) == Some("ResetType"))
        .and_then(|p| texts(p.get("AllowableValues")))
}

/// How an IPMI power verb is carried out with the reset types the system offers.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Plan {
    /// One `ComputerSystem.Reset` with this type.
    Reset(&'static str),
    /// A power cycle without `PowerCycle`: this type to power off, then once the system is
    /// off, that one to power on.
    OffThenOn(&'static str, &'static str),
    /// The system offers no way to do it (0xD6).
    NotOffered,
}

/// The plan for `action`; `allowed` lists the reset types offered (`None`: the service does
/// not say, so every type of the schema may be used).
pub fn plan(action: PowerAction, allowed: Option<&[String]>) -> Plan {
    let offered = |t: &str| allowed.is_none_or(|a| a.iter().any(|x| x == t));
    let first = |types: &[&'static str]| types.iter().copied().find(|t| offered(t));
    let one = |types: &[&'static str]| first(types).map_or(Plan::NotOffered, Plan::Reset);
    match action {
        PowerAction::On => one(&["On", "ForceOn"]),
        PowerAction::Off => one(&["ForceOff"]),
        PowerAction::Soft => one(&["GracefulShutdown"]),
        PowerAction::Reset => one(&["ForceRestart"]),
        PowerAction::Diag => one(&["Nmi"]),
        PowerAction::Cycle if offered("PowerCycle") => Plan::Reset("PowerCycle"),
        PowerAction::Cycle => match (first(&["ForceOff"]), first(&["On", "ForceOn"])) {
            (Some(off), Some(on)) => Plan::OffThenOn(off, on),
            _ => Plan::NotOffered,
        },
    }
}

/// The `BootSourceOverrideTarget` of an IPMI boot device, if Redfish has one.
pub fn target_of(device: BootDevice) -> Option<&'static str> {
    device.redfish_target()
}

/// The IPMI boot device of a `BootSourceOverrideTarget` (`None`: no override, or a target IPMI
/// cannot show).
pub fn device_of(target: &str) -> Option<BootDevice> {
    BootDevice::from_redfish_target(target)
}

/// The `PATCH` body that sets (or, for `None`, clears) the boot override; `with_mode` when the
/// system reports `BootSourceOverrideMode`.
pub fn boot_patch(boot: Option<BootOverride>, target: &str, with_mode: bool) -> Value {
    let mut b = serde_json::Map::new();
    b.insert("BootSourceOverrideTarget".into(), target.into());
    let enabled = match boot {
        None => "Disabled",
        Some(o) if o.persistent => "Continuous",
        Some(_) => "Once",
    };
    b.insert("BootSourceOverrideEnabled".into(), enabled.into());
    if let (Some(o), true) = (boot, with_mode) {
        b.insert(
            "BootSourceOverrideMode".into(),
            if o.efi { "UEFI" } else { "Legacy" }.into(),
        );
    }
    serde_json::json!({ "Boot": b })
}

/// The UUID as an IPMI GUID (wire order: the text's bytes reversed, so that clients show the
/// UUID as the service writes it); see [`ipmi_bmc::guid_from_uuid`].
pub use ipmi_bmc::guid_from_uuid as guid_of;

#[cfg(test)]
mod tests {
    use super::*;

    fn types(v: &[&str]) -> Vec<String> {
        v.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn verbs_follow_what_the_system_offers() {
        let sushy = types(&[
            "On",
            "ForceOff",
            "GracefulShutdown",
            "GracefulRestart",
            "ForceRestart",
            "Nmi",
            "ForceOn",
        ]);
        let a = Some(sushy.as_slice());
        assert_eq!(plan(PowerAction::On, a), Plan::Reset("On"));
        assert_eq!(plan(PowerAction::Off, a), Plan::Reset("ForceOff"));
        assert_eq!(plan(PowerAction::Soft, a), Plan::Reset("GracefulShutdown"));
        assert_eq!(plan(PowerAction::Reset, a), Plan::Reset("ForceRestart"));
        assert_eq!(plan(PowerAction::Diag, a), Plan::Reset("Nmi"));
        assert_eq!(
            plan(PowerAction::Cycle, a),
            Plan::OffThenOn("ForceOff", "On")
        );
        let small = types(&["ForceOn", "ForceOff", "PowerCycle"]);
        let a = Some(small.as_slice());
        assert_eq!(plan(PowerAction::On, a), Plan::Reset("ForceOn"));
        assert_eq!(plan(PowerAction::Cycle, a), Plan::Reset("PowerCycle"));
        assert_eq!(plan(PowerAction::Diag, a), Plan::NotOffered);
        assert_eq!(plan(PowerAction::Soft, a), Plan::NotOffered);
        assert_eq!(plan(PowerAction::Cycle, None), Plan::Reset("PowerCycle"));
        let no_on = types(&["ForceOff"]);
        assert_eq!(plan(PowerAction::Cycle, Some(&no_on)), Plan::NotOffered);
    }

    #[test]
    fn a_system_and_its_boot_override() {
        let v = serde_json::json!({
            "@odata.id": "/redfish/v1/Systems/system",
            "@odata.etag": "\"7\"",
            "PowerState": "PoweringOn",
            "Manufacturer": "Contoso", "Model": "3500", "SerialNumber": "S1",
            "PartNumber": "P1", "UUID": "38947555-7742-3448-3784-823347823834",
            "Boot": {
                "BootSourceOverrideTarget": "Pxe",
                "BootSourceOverrideEnabled": "Once",
                "BootSourceOverrideMode": "UEFI",
                "BootSourceOverrideTarget@Redfish.AllowableValues": ["None", "Pxe", "Hdd"]
            },
            "Actions": {"#ComputerSystem.Reset": {
                "target": "/redfish/v1/Systems/system/Actions/ComputerSystem.Reset",
                "@Redfish.ActionInfo": "/redfish/v1/Systems/system/ResetActionInfo"
            }},
            "LogServices": {"@odata.id": "/redfish/v1/Systems/system/LogServices"},
            "Links": {"Chassis": [{"@odata.id": "/redfish/v1/Chassis/chassis"}],
                      "ManagedBy": [{"@odata.id": "/redfish/v1/Managers/bmc"}]}
        });
        let s = System::parse("/redfish/v1/Systems/system", &v, None);
        assert_eq!(
            s.log_services.as_deref(),
            Some("/redfish/v1/Systems/system/LogServices")
        );
        assert_eq!(s.managers, ["/redfish/v1/Managers/bmc"]);
        assert_eq!(s.etag.as_deref(), Some("\"7\""));
        assert_eq!(s.power(), Some(PowerState::On));
        assert_eq!(
            s.boot_override(false),
            Some(BootOverride {
                device: BootDevice::Pxe,
                persistent: false,
                efi: true
            })
        );
        assert_eq!(s.chassis, ["/redfish/v1/Chassis/chassis"]);
        let r = s.reset.unwrap();
        assert_eq!(r.allowed, None);
        assert_eq!(
            r.action_info.as_deref(),
            Some("/redfish/v1/Systems/system/ResetActionInfo")
        );
        let info = serde_json::json!({"Parameters": [{"Name": "ResetType", "AllowableValues": ["On", "ForceOff"]}]});
        assert_eq!(
            action_info_reset_types(&info),
            Some(types(&["On", "ForceOff"]))
        );
        let off = System::parse(
            "/x",
            &serde_json::json!({"PowerState": "PoweringOff", "Boot": {"BootSourceOverrideEnabled": "Disabled", "BootSourceOverrideTarget": "Pxe"}}),
            Some("W/\"1\"".into()),
        );
        assert_eq!(off.power(), Some(PowerState::Off));
        assert_eq!(off.boot_override(true), None);
        assert_eq!(off.etag.as_deref(), Some("W/\"1\""));
    }

    #[test]
    fn boot_patches() {
        let once = BootOverride {
            device: BootDevice::Pxe,
            persistent: false,
            efi: true,
        };
        assert_eq!(
            boot_patch(Some(once), "Pxe", true),
            serde_json::json!({"Boot": {"BootSourceOverrideTarget": "Pxe", "BootSourceOverrideEnabled": "Once", "BootSourceOverrideMode": "UEFI"}})
        );
        assert_eq!(
            boot_patch(None, "None", true),
            serde_json::json!({"Boot": {"BootSourceOverrideTarget": "None", "BootSourceOverrideEnabled": "Disabled"}})
        );
        for d in [
            BootDevice::Pxe,
            BootDevice::Disk,
            BootDevice::Cdrom,
            BootDevice::BiosSetup,
        ] {
            assert_eq!(device_of(target_of(d).unwrap()), Some(d));
        }
        assert_eq!(target_of(BootDevice::DiskSafe), None);
    }

    #[test]
    fn guid_is_the_uuid_reversed() {
        let g = guid_of("01234567-89ab-cdef-0123-456789abcdef").unwrap();
        assert_eq!((g[0], g[15]), (0xef, 0x01));
        assert_eq!(guid_of("nope"), None);
    }
}
